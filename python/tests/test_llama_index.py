"""The LlamaIndex adapter: add, query with metadata filters, get, delete by document and by
node, clear — and an index built through LlamaIndex's own VectorStoreIndex."""

import numpy as np
import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

import quiver
from quiver.llama_index import QuiverLlamaVectorStore, to_quiver_filter


def node(i, doc, year, vec):
    n = TextNode(text=f"text {i}", id_=f"n{i}", metadata={"year": year, "tag": "ab"[i % 2]}, embedding=vec)
    n.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc)
    return n


@pytest.fixture
def store(tmp_path):
    db = quiver.create(str(tmp_path / "li.qvr"))
    s = QuiverLlamaVectorStore(db.create_collection("li", dim=8))
    vecs = np.random.default_rng(0).standard_normal((10, 8)).astype(np.float32)
    s.add([node(i, "doc1" if i < 5 else "doc2", 2015 + i, list(map(float, vecs[i]))) for i in range(10)])
    yield s, vecs
    db.close()


def test_query_returns_whole_nodes_best_first(store):
    s, vecs = store
    r = s.query(VectorStoreQuery(query_embedding=list(map(float, vecs[3])), similarity_top_k=3))
    assert r.ids[0] == "n3" and r.similarities[0] == pytest.approx(1.0, abs=1e-5)
    assert r.nodes[0].get_content() == "text 3" and r.nodes[0].metadata == {"year": 2018, "tag": "b"}
    assert r.nodes[0].ref_doc_id == "doc1"
    assert r.similarities == sorted(r.similarities, reverse=True)


def test_metadata_filters(store):
    s, vecs = store
    f = MetadataFilters(filters=[MetadataFilter(key="year", value=2020, operator=FilterOperator.GTE),
                                 MetadataFilter(key="tag", value="a")])
    r = s.query(VectorStoreQuery(query_embedding=list(map(float, vecs[0])), similarity_top_k=10, filters=f))
    assert sorted(r.ids) == ["n6", "n8"]
    either = MetadataFilters(
        filters=[MetadataFilter(key="year", value=[2015, 2016], operator=FilterOperator.IN),
                 MetadataFilter(key="year", value=2024)],
        condition=FilterCondition.OR,
    )
    assert sorted(n.node_id for n in s.get_nodes(filters=either)) == ["n0", "n1", "n9"]
    assert to_quiver_filter(either) == {"$or": [{"year": {"$in": [2015, 2016]}}, {"year": {"$eq": 2024}}]}
    only = VectorStoreQuery(query_embedding=list(map(float, vecs[0])), similarity_top_k=5, node_ids=["n7", "n2"])
    assert sorted(s.query(only).ids) == ["n2", "n7"]
    with pytest.raises(ValueError):
        to_quiver_filter(MetadataFilters(filters=[MetadataFilter(key="t", value="x", operator=FilterOperator.TEXT_MATCH)]))


def test_delete_by_document_node_and_clear(store):
    s, _ = store
    s.delete("doc1")
    assert s.client.count() == 5 and all(n.ref_doc_id == "doc2" for n in s.get_nodes())
    s.delete_nodes(["n5", "n6"])
    assert sorted(n.node_id for n in s.get_nodes()) == ["n7", "n8", "n9"]
    s.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="tag", value="b")]))
    assert [n.node_id for n in s.get_nodes(["n7", "n8", "n9"])] == ["n8"]
    s.clear()
    assert s.client.count() == 0


def test_vector_store_index_over_quiver(tmp_path):
    from llama_index.core import Document, MockEmbedding, StorageContext, VectorStoreIndex

    db = quiver.create(str(tmp_path / "idx.qvr"))
    s = QuiverLlamaVectorStore(db.create_collection("idx", dim=8))
    ctx = StorageContext.from_defaults(vector_store=s)
    docs = [Document(text=f"document number {i}", metadata={"i": i}) for i in range(4)]
    index = VectorStoreIndex.from_documents(docs, storage_context=ctx, embed_model=MockEmbedding(embed_dim=8))
    assert s.client.count() == 4
    retrieved = index.as_retriever(similarity_top_k=2).retrieve("document")
    assert len(retrieved) == 2 and all("document number" in r.node.get_content() for r in retrieved)
    db.close()
