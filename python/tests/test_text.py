"""A text collection with the real all-MiniLM-L6-v2 (scripts/fetch_model.sh), keyword and
hybrid search, and a cross-encoder re-rank with the committed random fixture."""

import pathlib

import pytest

import quiver

FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/cross_encoder_reference/tiny"

TEXTS = [
    "The cat sat on the mat and purred.",
    "Stock markets fell sharply on Monday.",
    "A kitten is a young cat.",
    "The central bank raised interest rates.",
]


def test_text_collection_embeds_and_searches(db_path, model_dir):
    with quiver.create(db_path) as db:
        c = db.create_collection("notes", model=model_dir)
        assert c.dim == 384
        c.upsert([f"t{i}" for i in range(4)], texts=TEXTS, payloads=[{"i": i} for i in range(4)])
        hits = c.search("young feline animals", k=2)
        assert {h.id for h in hits} == {"t0", "t2"}
        assert hits[0].text in (TEXTS[0], TEXTS[2])
        c.create_text_index()
        kw = c.search(keywords="interest rates", k=1)
        assert kw[0].id == "t3"
        hybrid = c.search("money and finance", keywords="bank", k=2, fusion="rrf")
        assert hybrid[0].id == "t3" and hybrid[0].explain
    # Reopened, the pinned model folder is found again.
    with quiver.open(db_path) as db:
        assert db.collection("notes").search("stock exchange", k=1)[0].id == "t1"


def test_rerank_with_a_cross_encoder(db_path, model_dir):
    reranker = quiver.Reranker(FIXTURE)
    assert reranker.identity["labels"] == 1
    scores = reranker.score("cats", TEXTS)
    assert len(scores) == 4 and len(set(scores)) == 4
    with quiver.create(db_path) as db:
        c = db.create_collection("notes", model=model_dir)
        c.upsert([f"t{i}" for i in range(4)], texts=TEXTS)
        hits = c.search("cats", k=4, rerank=reranker)
        assert [h.score for h in hits] == sorted(scores, reverse=True)
        assert [s[0] for s in hits[0].stages] == ["retrieve", "rerank"]
        c.pin_reranker(reranker)
        assert [h.id for h in c.search("cats", k=4, rerank=True)] == [h.id for h in hits]
    with pytest.raises(quiver.ModelError):
        quiver.Reranker(FIXTURE.parent / "missing")
