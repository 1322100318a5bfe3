"""Hard-negative mining from Python: pairs as dicts (text, list or NumPy queries), options as
keyword arguments, rows as dicts; bad input raises InvalidArgument."""

import numpy as np
import pytest

import quiver


def test_mine_hard_negatives(db_path):
    with quiver.create(db_path) as db:
        c = db.create_collection("docs", dim=2, metric="cosine")
        c.upsert(
            ["a", "b", "c", "d"],
            vectors=np.array([[1, 0], [0, 1], [0.7, 0.7], [0.9, 0.3]], dtype=np.float32),
            payloads=[{"title": t} for t in ["wing flow", "heat plates", "wing flutter", "flow"]],
        )
        pairs = [
            {"query": np.array([1.0, 0.05], dtype=np.float32), "positive": "a"},
            {"query": [0.1, 1.0], "positive": ["b"]},
        ]
        rows = c.mine_hard_negatives(pairs, negatives=2)
        assert [r["negative"] for r in rows] == ["d", "c", "c", "d"]
        assert rows[0]["positive"] == "a" and rows[0]["anchor"][0] == pytest.approx(1.0)
        # TopK-PercPos at 95%: "d" (cosine 0.96 against the positive's 0.999) goes.
        flag = c.mine_hard_negatives(pairs[:1], negatives=1, relative_margin=0.05,
                                     format="flag", scores=True)
        assert flag[0]["neg"] == ["c"] and flag[0]["pos_scores"][0] > flag[0]["neg_scores"][0]
        seeded = dict(negatives=2, sample="random", seed=3, format="ntuple")
        assert c.mine_hard_negatives(pairs, **seeded) == c.mine_hard_negatives(pairs, **seeded)
        c.create_text_index(fields=["title"])
        bm25 = c.mine_hard_negatives([{"query": "wing flow", "positive": "a"}],
                                     teachers=["bm25"], negatives=5)
        assert {r["negative"] for r in bm25} == {"c", "d"}
        with pytest.raises(quiver.InvalidArgument, match="'zz' is not in the collection"):
            c.mine_hard_negatives([{"query": [1.0, 0.0], "positive": "zz"}])
        with pytest.raises(quiver.InvalidArgument, match="not an option"):
            c.mine_hard_negatives(pairs, nope=1)
        with pytest.raises(quiver.InvalidArgument, match="pair 0"):
            c.mine_hard_negatives([{"positive": "a"}])
