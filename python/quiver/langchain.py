"""LangChain integration: :class:`QuiverVectorStore`, a ``langchain_core`` ``VectorStore`` on a
Quiver collection (one file, in process). Needs ``langchain-core`` (``pip install
quiver[langchain]``).

Documents are stored as records: the id is the document's id (a new UUID when it has none),
the vector comes from the ``Embeddings`` given — or, with ``embedding=None``, from the
collection's own model (a collection created with ``model=``) — and the payload is the
document's metadata plus its text under ``text_key``. Metadata filters are Quiver filters
(docs/filters.md) over that payload: ``{"source": "a.md"}``, ``{"year": {"$gte": 2020}}``.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from . import Collection, Database, create

DEFAULT_TEXT_KEY = "_text"


class QuiverVectorStore(VectorStore):
    """A LangChain vector store on a Quiver collection.

    >>> import quiver, tempfile, os
    >>> from langchain_core.embeddings import DeterministicFakeEmbedding
    >>> db = quiver.create(os.path.join(tempfile.mkdtemp(), "lc.qvr"))
    >>> store = QuiverVectorStore.create(db, "notes", DeterministicFakeEmbedding(size=8))
    >>> ids = store.add_texts(["apples", "pears"], metadatas=[{"n": 1}, {"n": 2}], ids=["a", "p"])
    >>> [d.id for d in store.similarity_search("pears", k=1)]
    ['p']
    >>> [d.id for d in store.similarity_search("pears", k=2, filter={"n": 1})]
    ['a']
    """

    def __init__(
        self,
        collection: Collection,
        embedding: Optional[Embeddings] = None,
        *,
        text_key: str = DEFAULT_TEXT_KEY,
    ) -> None:
        self.collection = collection
        self._embedding = embedding
        self.text_key = text_key

    @classmethod
    def create(
        cls,
        db: Database,
        name: str,
        embedding: Optional[Embeddings] = None,
        *,
        metric: str = "cosine",
        model: Optional[str] = None,
        text_key: str = DEFAULT_TEXT_KEY,
    ) -> "QuiverVectorStore":
        """A store on collection ``name`` of ``db``, created if missing: with ``embedding``
        its dimension is the embedding's (probed once); with ``model`` (a model folder) Quiver
        embeds the texts itself."""
        existing = {c["name"] for c in db.collections()}
        if name in existing:
            return cls(db.collection(name), embedding, text_key=text_key)
        if model is not None:
            coll = db.create_collection(name, model=model, metric=metric)
        elif embedding is not None:
            dim = len(embedding.embed_query("dimension probe"))
            coll = db.create_collection(name, dim=dim, metric=metric)
        else:
            raise ValueError("give embedding= or model=")
        return cls(coll, embedding, text_key=text_key)

    @property
    def embeddings(self) -> Optional[Embeddings]:
        return self._embedding

    # -- writes ---------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: Optional[list[dict]] = None,
        *,
        ids: Optional[list[str]] = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"{len(metadatas)} metadatas for {len(texts)} texts")
        ids = [i if i else str(uuid.uuid4()) for i in (ids or [None] * len(texts))]
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        payloads = []
        for text, meta in zip(texts, metadatas or [{}] * len(texts)):
            payload = dict(meta or {})
            payload[self.text_key] = text
            payloads.append(payload)
        if not texts:
            return []
        if self._embedding is None:
            self.collection.upsert(ids, texts=texts, payloads=payloads)
        else:
            vectors = np.asarray(self._embedding.embed_documents(texts), dtype=np.float32)
            self.collection.upsert(ids, vectors=vectors, payloads=payloads)
        return ids

    def delete(self, ids: Optional[list[str]] = None, **kwargs: Any) -> Optional[bool]:
        if ids is None:
            ids = self.collection.ids()
        self.collection.delete(list(ids))
        return True

    # -- reads ----------------------------------------------------------------------------

    def _document(self, id: str, payload: Optional[dict], text: Optional[str]) -> Document:
        meta = dict(payload or {})
        content = meta.pop(self.text_key, None)
        if content is None:
            content = text or ""
        return Document(page_content=content, metadata=meta, id=id)

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        found = []
        for i in ids:
            r = self.collection.get(i)
            if r is not None:
                found.append(self._document(r["id"], r["payload"], r["text"]))
        return found

    def _query(self, query: str) -> Any:
        if self._embedding is None:
            return query  # the collection's model embeds it
        return np.asarray(self._embedding.embed_query(query), dtype=np.float32)

    def _search(self, query: Any, k: int, filter: Optional[dict], **kwargs: Any) -> list:
        return self.collection.search(query, k=k, filter=filter, **kwargs)

    def similarity_search(
        self, query: str, k: int = 4, filter: Optional[dict] = None, **kwargs: Any
    ) -> list[Document]:
        return [d for d, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: Optional[dict] = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        hits = self._search(self._query(query), k, filter, **kwargs)
        return [(self._document(h.id, h.payload, h.text), h.score) for h in hits]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: Optional[dict] = None, **kwargs: Any
    ) -> list[Document]:
        hits = self._search(np.asarray(embedding, dtype=np.float32), k, filter, **kwargs)
        return [self._document(h.id, h.payload, h.text) for h in hits]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Optional[dict] = None,
        **kwargs: Any,
    ) -> list[Document]:
        q = self._query(query)
        if isinstance(q, str):
            raise ValueError("MMR needs query vectors: give the store an embedding")
        return self.max_marginal_relevance_search_by_vector(
            list(q), k, fetch_k, lambda_mult, filter=filter, **kwargs
        )

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Optional[dict] = None,
        **kwargs: Any,
    ) -> list[Document]:
        q = np.asarray(embedding, dtype=np.float32)
        hits = self._search(q, fetch_k, filter, include_vector=True, **kwargs)
        if not hits:
            return []
        chosen = maximal_marginal_relevance(
            q, [h.vector for h in hits], lambda_mult=lambda_mult, k=min(k, len(hits))
        )
        return [self._document(hits[i].id, hits[i].payload, hits[i].text) for i in chosen]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        metric = self.collection.metric
        if metric == "cosine":
            return lambda s: (1.0 + s) / 2.0  # similarity in [-1, 1] to [0, 1]
        if metric == "l2":
            return lambda d: 1.0 - float(np.sqrt(max(d, 0.0))) / np.sqrt(2.0)
        return lambda s: s  # dot: as LangChain's max-inner-product stores

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: Optional[list[dict]] = None,
        *,
        ids: Optional[list[str]] = None,
        path: Optional[str] = None,
        collection_name: str = "langchain",
        metric: str = "cosine",
        **kwargs: Any,
    ) -> "QuiverVectorStore":
        """A store in the database file ``path`` (created if missing) holding ``texts``."""
        if path is None:
            raise ValueError("give path= (the database file)")
        store = cls.create(create(path), collection_name, embedding, metric=metric)
        store.add_texts(texts, metadatas, ids=ids)
        return store
