"""The embedding space from Python: clusters (and labels in payloads), outlier scores of
records and of new vectors, the 2-D map, cluster-packed batches; bad input raises
InvalidArgument."""

import numpy as np
import pytest

import quiver


def blobs():
    rng = np.random.default_rng(0)
    centres = np.eye(4, dtype=np.float32) * 3
    vectors = np.concatenate([c + rng.uniform(-0.05, 0.05, (25, 4)) for c in centres])
    return vectors.astype(np.float32), [f"b{i // 25}-{i % 25}" for i in range(100)]


def test_cluster_outliers_map_and_pack(db_path):
    vectors, ids = blobs()
    with quiver.create(db_path) as db:
        c = db.create_collection("c", dim=4, metric="l2")
        c.upsert(ids, vectors=vectors, payloads=[{"n": i} for i in range(100)])
        c.upsert(["odd"], vectors=np.array([[-3, -3, -3, -3]], dtype=np.float32))

        got = c.cluster(5, seed=1, into_payload="group")
        assert got["ids"][:2] == ["b0-0", "b0-1"] and got["clusters"].dtype == np.uint32
        assert got["centroids"].shape == (5, 4) and sum(got["sizes"]) == 101
        blob0 = {int(k) for k in got["clusters"][:25]}
        assert len(blob0) == 1
        assert c.get("b0-3")["payload"] == {"n": 3, "group": blob0.pop()}

        scores = c.outlier_scores(neighbours=3, exact=True)
        worst = scores["ids"][int(np.argmax(scores["neighbour_distance"]))]
        assert worst == "odd"
        new = c.outlier_scores(neighbours=3, vectors=np.array([[9, 9, 9, 9], vectors[0]]))
        assert new["neighbour_distance"][0] > 10 * new["neighbour_distance"][1]
        assert "ids" not in new

        m = c.map(sample=None)
        assert m["points"].shape == (101, 2) and m["ids"][-1] == "odd"
        assert 0 < m["explained"][1] <= m["explained"][0] <= 1

        pairs = [{"query": vectors[i] + 0.01, "positive": ids[i]} for i in range(100)]
        packed = c.pack_batches(pairs, 10, clusters=4)
        assert sorted(i for b in packed["batches"] for i in b) == list(range(100))
        assert packed["hardness"] > packed["random_hardness"]

        with pytest.raises(quiver.InvalidArgument):
            c.cluster(0)
        with pytest.raises(quiver.InvalidArgument):
            c.outlier_scores(neighbours=0)
        with pytest.raises(quiver.InvalidArgument):
            c.map(sample=0)
        with pytest.raises(quiver.InvalidArgument):
            c.pack_batches([{"query": [1, 0, 0, 0], "positive": "nope"}], 2)
