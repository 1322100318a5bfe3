"""LlamaIndex integration: :class:`QuiverLlamaVectorStore`, a ``BasePydanticVectorStore`` on a
Quiver collection. Needs ``llama-index-core``.

Each node is a record: its id, its embedding, and a payload of its metadata plus LlamaIndex's
own fields (``_node_content``, ``ref_doc_id``, …, from ``node_to_metadata_dict``), so nodes
come back whole. ``MetadataFilters`` become Quiver filters over the payload.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

from . import Collection

NODE_ID_KEY = "_node_id"

_OPERATORS = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
    FilterOperator.CONTAINS: "$contains",
}


def to_quiver_filter(filters: Optional[MetadataFilters]) -> Optional[dict]:
    """LlamaIndex ``MetadataFilters`` as a Quiver filter dict (docs/filters.md); ValueError
    for operators Quiver has no exact equivalent of (text_match, any, all)."""
    if filters is None or not filters.filters:
        return None
    parts = []
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            parts.append(to_quiver_filter(f))
        elif f.operator == FilterOperator.IS_EMPTY:
            parts.append({"$or": [{f.key: {"$exists": False}}, {f.key: {"$eq": None}}]})
        elif f.operator in _OPERATORS:
            parts.append({f.key: {_OPERATORS[f.operator]: f.value}})
        else:
            raise ValueError(f"filter operator {f.operator.value!r} has no Quiver equivalent")
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.NOT:
        return {"$not": {"$and": parts}}
    return {"$or" if condition == FilterCondition.OR else "$and": parts}


class QuiverLlamaVectorStore(BasePydanticVectorStore):
    """A LlamaIndex vector store on a Quiver collection (one-vector, any metric)."""

    stores_text: bool = True
    flat_metadata: bool = False

    _collection: Collection = PrivateAttr()

    def __init__(self, collection: Collection, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._collection = collection

    @classmethod
    def class_name(cls) -> str:
        return "QuiverLlamaVectorStore"

    @property
    def client(self) -> Collection:
        return self._collection

    def add(self, nodes: list[BaseNode], **kwargs: Any) -> list[str]:
        if not nodes:
            return []
        ids = [n.node_id for n in nodes]
        vectors = np.asarray([n.get_embedding() for n in nodes], dtype=np.float32)
        payloads = []
        for n in nodes:
            payload = node_to_metadata_dict(n, remove_text=False, flat_metadata=False)
            payload[NODE_ID_KEY] = n.node_id  # lets filters name records by node id
            payloads.append(payload)
        self._collection.upsert(ids, vectors=vectors, payloads=payloads)
        return ids

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        self._collection.delete_where({"ref_doc_id": ref_doc_id})

    def delete_nodes(
        self,
        node_ids: Optional[list[str]] = None,
        filters: Optional[MetadataFilters] = None,
        **delete_kwargs: Any,
    ) -> None:
        if node_ids is not None:
            if filters is None:
                self._collection.delete(list(node_ids))
                return
            only = {NODE_ID_KEY: {"$in": list(node_ids)}}
            given = to_quiver_filter(filters)
            self._collection.delete_where(only if given is None else {"$and": [given, only]})
        elif filters is not None:
            self._collection.delete_where(to_quiver_filter(filters))

    def clear(self) -> None:
        self._collection.delete(self._collection.ids())

    def get_nodes(
        self,
        node_ids: Optional[list[str]] = None,
        filters: Optional[MetadataFilters] = None,
    ) -> list[BaseNode]:
        quiver_filter = to_quiver_filter(filters)
        if node_ids is None:
            if quiver_filter is None:
                records = [self._collection.get(i) for i in self._collection.ids()]
            else:
                records = self._collection.get_where(
                    quiver_filter, limit=max(1, self._collection.count())
                )
        else:
            only = {NODE_ID_KEY: {"$in": list(node_ids)}}
            both = only if quiver_filter is None else {"$and": [quiver_filter, only]}
            records = self._collection.get_where(both, limit=max(1, len(node_ids)))
        return [metadata_dict_to_node(r["payload"]) for r in records if r is not None]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        if query.query_embedding is None:
            raise ValueError("QuiverLlamaVectorStore answers embedding queries")
        q = np.asarray(query.query_embedding, dtype=np.float32)
        quiver_filter = to_quiver_filter(query.filters)
        if query.node_ids:
            only = {NODE_ID_KEY: {"$in": list(query.node_ids)}}
            quiver_filter = only if quiver_filter is None else {"$and": [quiver_filter, only]}
        hits = self._collection.search(q, k=query.similarity_top_k, filter=quiver_filter)
        nodes = [metadata_dict_to_node(h.payload) for h in hits]
        return VectorStoreQueryResult(
            nodes=nodes, similarities=[h.score for h in hits], ids=[h.id for h in hits]
        )
