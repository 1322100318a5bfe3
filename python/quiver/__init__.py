"""Quiver: an embedded vector database — one file, no server (the SQLite of semantic search).

>>> import numpy as np, quiver, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "demo.qvr")
>>> with quiver.create(path) as db:
...     docs = db.create_collection("docs", dim=3, metric="cosine")
...     docs.upsert(["a", "b"], vectors=np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32),
...                 payloads=[{"tag": "x"}, {"tag": "y"}])
...     [h.id for h in docs.search([0.9, 0.1, 0.0], k=1)]
['a']

The guide is docs/python.md; every error is a subclass of :class:`quiver.Error`.
"""

from ._quiver import (
    AlreadyExists,
    Collection,
    Corrupted,
    Database,
    DimensionMismatch,
    Error,
    Hit,
    InternalError,
    InvalidArgument,
    IoError,
    Locked,
    ModelError,
    NotADatabase,
    NotFound,
    ReadOnly,
    Reranker,
    VersionError,
    __version__,
    create,
    open,
)

__all__ = [
    "AlreadyExists",
    "Collection",
    "Corrupted",
    "Database",
    "DimensionMismatch",
    "Error",
    "Hit",
    "InternalError",
    "InvalidArgument",
    "IoError",
    "Locked",
    "ModelError",
    "NotADatabase",
    "NotFound",
    "ReadOnly",
    "Reranker",
    "VersionError",
    "__version__",
    "create",
    "open",
]
