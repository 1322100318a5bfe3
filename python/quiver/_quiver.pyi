"""Type stubs for the extension module (python/src). Keep in step with the Rust signatures."""

from os import PathLike
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

VectorLike = Union[npt.NDArray[np.float32], Sequence[float]]
MatrixLike = Union[npt.NDArray[np.float32], Sequence[Sequence[float]]]
Payload = Optional[dict[str, Any]]
FilterLike = Union[dict[str, Any], str]

class Error(Exception): ...
class NotFound(Error): ...
class AlreadyExists(Error): ...
class InvalidArgument(Error): ...
class DimensionMismatch(Error): ...
class Corrupted(Error): ...
class NotADatabase(Error): ...
class VersionError(Error): ...
class Locked(Error): ...
class ReadOnly(Error): ...
class IoError(Error): ...
class ModelError(Error): ...
class InternalError(Error): ...

def open(
    path: Union[str, PathLike[str]],
    *,
    read_only: bool = False,
    exclusive: bool = False,
    busy_timeout: Optional[float] = None,
) -> Database:
    """Opens an existing database file (NotFound if there is none). read_only=True only
    reads, beside other readers and writers (writes raise ReadOnly); exclusive=True keeps the
    file to this handle; busy_timeout (seconds, default 5) is how long to wait for a file
    another process holds before Locked."""

def create(
    path: Union[str, PathLike[str]],
    *,
    exclusive: bool = False,
    busy_timeout: Optional[float] = None,
) -> Database:
    """Opens a database file, creating it if it does not exist (options as open)."""

class Database:
    @property
    def path(self) -> str: ...
    def create_collection(
        self,
        name: str,
        dim: Optional[int] = None,
        metric: Literal["cosine", "dot", "l2"] = "cosine",
        dtype: Literal["f32", "f16", "bf16"] = "f32",
        model: Optional[Union[str, PathLike[str]]] = None,
        multi_vector: bool = False,
        colbert: bool = False,
    ) -> Collection: ...
    def collection(self, name: str) -> Collection: ...
    def collections(self) -> list[dict[str, Any]]: ...
    def drop_collection(self, name: str) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Database: ...
    def __exit__(self, *args: object) -> bool: ...

class Hit:
    id: str
    score: float
    payload: Payload
    text: Optional[str]
    vector: Optional[npt.NDArray[np.float32]]
    stages: list[tuple[str, int, float]]
    explain: list[tuple[str, Optional[int], Optional[float]]]

class Reranker:
    def __init__(self, path: Union[str, PathLike[str]]) -> None: ...
    def score(self, query: str, texts: list[str]) -> list[float]: ...
    @property
    def identity(self) -> dict[str, Any]: ...

class Collection:
    @property
    def name(self) -> str: ...
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def multi_vector(self) -> bool: ...
    def count(self, filter: Optional[FilterLike] = None) -> int: ...
    def mine_hard_negatives(
        self, pairs: Sequence[dict[str, Any]], **options: Any
    ) -> list[dict[str, Any]]: ...
    def cluster(
        self, k: int, seed: int = 0, into_payload: Optional[str] = None
    ) -> dict[str, Any]: ...
    def outlier_scores(
        self,
        neighbours: int = 10,
        clusters: Optional[int] = None,
        seed: int = 0,
        exact: bool = False,
        vectors: Optional[MatrixLike] = None,
        texts: Optional[Sequence[str]] = None,
    ) -> dict[str, Any]: ...
    def map(self, sample: Optional[int] = 20000, seed: int = 0) -> dict[str, Any]: ...
    def pack_batches(
        self,
        pairs: Sequence[dict[str, Any]],
        batch_size: int,
        clusters: Optional[int] = None,
        seed: int = 0,
    ) -> dict[str, Any]: ...
    def delete_where(self, filter: FilterLike) -> int: ...
    def get_where(self, filter: FilterLike, limit: int = 100) -> list[dict[str, Any]]: ...
    def __len__(self) -> int: ...
    def upsert(
        self,
        ids: Sequence[str],
        vectors: Optional[Union[MatrixLike, Sequence[MatrixLike]]] = None,
        payloads: Optional[Sequence[Payload]] = None,
        texts: Optional[Sequence[str]] = None,
    ) -> None: ...
    def delete(self, ids: Sequence[str]) -> int: ...
    def get(self, id: str) -> Optional[dict[str, Any]]: ...
    def ids(self) -> list[str]: ...
    def search(
        self,
        query: Optional[Union[VectorLike, MatrixLike, str]] = None,
        k: int = 10,
        *,
        keywords: Optional[str] = None,
        filter: Optional[FilterLike] = None,
        exact: bool = False,
        nprobe: Optional[int] = None,
        refine: Optional[int] = None,
        candidates: Optional[int] = None,
        dims: Optional[int] = None,
        offset: int = 0,
        include_payload: bool = True,
        include_vector: bool = False,
        fusion: Literal["rrf", "dbsf", "relative"] = "rrf",
        weights: tuple[float, float] = (1.0, 1.0),
        depth: Optional[int] = None,
        rerank: Optional[Union[Reranker, bool]] = None,
        rerank_top: Optional[int] = None,
        rerank_field: Optional[str] = None,
        rerank_query: Optional[str] = None,
        rescore: Optional[Collection] = None,
        rescore_top: Optional[int] = None,
        rescore_query: Optional[Union[VectorLike, MatrixLike, str]] = None,
    ) -> list[Hit]: ...
    def search_batch(
        self,
        queries: MatrixLike,
        k: int = 10,
        *,
        filter: Optional[FilterLike] = None,
        exact: bool = False,
        nprobe: Optional[int] = None,
        refine: Optional[int] = None,
        dims: Optional[int] = None,
    ) -> tuple[list[list[str]], npt.NDArray[np.float32]]: ...
    def create_index(
        self,
        nlist: Optional[int] = None,
        m: Optional[int] = None,
        sample: Optional[int] = None,
        seed: Optional[int] = None,
        centroids: Optional[int] = None,
        bits: Optional[int] = None,
    ) -> dict[str, Any]: ...
    def drop_index(self) -> bool: ...
    def create_payload_index(
        self, field: str, kind: Literal["keyword", "integer", "float", "bool"]
    ) -> None: ...
    def create_text_index(self, fields: Optional[list[str]] = None) -> int: ...
    def pin_reranker(self, reranker: Reranker) -> None: ...
    def check(self) -> int: ...
