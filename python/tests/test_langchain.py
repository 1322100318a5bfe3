"""LangChain's own standard suite for vector stores, unmodified, plus filters, retrievers,
MMR and from_texts."""

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_tests.integration_tests import VectorStoreIntegrationTests

import quiver
from quiver.langchain import QuiverVectorStore


class TestQuiverStandard(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self, tmp_path):
        db = quiver.create(str(tmp_path / "lc.qvr"))
        store = QuiverVectorStore.create(db, "lc", self.get_embeddings())
        try:
            yield store
        finally:
            db.close()


@pytest.fixture
def store(tmp_path):
    db = quiver.create(str(tmp_path / "lc.qvr"))
    s = QuiverVectorStore.create(db, "lc", DeterministicFakeEmbedding(size=16))
    s.add_texts(
        ["alpha", "beta", "gamma", "delta"],
        metadatas=[{"year": 2019, "src": "a"}, {"year": 2021, "src": "b"}, {"year": 2023, "src": "a"}, {}],
        ids=["1", "2", "3", "4"],
    )
    yield s
    db.close()


def test_metadata_filters_are_quiver_filters(store):
    got = store.similarity_search("alpha", k=4, filter={"src": "a"})
    assert sorted(d.id for d in got) == ["1", "3"]
    got = store.similarity_search("alpha", k=4, filter={"year": {"$gte": 2021}})
    assert sorted(d.id for d in got) == ["2", "3"]
    assert store.similarity_search("gamma", k=1)[0] == Document(
        page_content="gamma", metadata={"year": 2023, "src": "a"}, id="3"
    )


def test_scores_retriever_and_mmr(store):
    pairs = store.similarity_search_with_score("beta", k=2)
    assert pairs[0][0].id == "2" and pairs[0][1] == pytest.approx(1.0, abs=1e-5)
    rel = store.similarity_search_with_relevance_scores("beta", k=4)
    assert all(0.0 <= s <= 1.0 for _, s in rel)
    retriever = store.as_retriever(search_kwargs={"k": 2, "filter": {"src": "b"}})
    assert [d.id for d in retriever.invoke("anything")] == ["2"]
    mmr = store.max_marginal_relevance_search("beta", k=2, fetch_k=4)
    assert mmr[0].id == "2" and len({d.id for d in mmr}) == 2


def test_from_texts_makes_a_file_a_later_process_reopens(tmp_path):
    path = str(tmp_path / "ft.qvr")
    emb = DeterministicFakeEmbedding(size=8)
    s = QuiverVectorStore.from_texts(["x", "y"], emb, [{"k": 1}, {"k": 2}], ids=["a", "b"], path=path)
    s.collection.count()
    del s
    import gc

    gc.collect()
    with quiver.open(path) as db:
        again = QuiverVectorStore(db.collection("langchain"), emb)
        assert [d.id for d in again.similarity_search("y", k=1)] == ["b"]
