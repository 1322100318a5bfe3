"""Embedded vector stores on the data Quiver's benchmark wrote: the `--stores` scenario.

Usage:
  stores.py ENGINE WORKDIR BASE.npy QUERIES.npy TRUTH.json METRIC K ROUNDS NLIST M
            BUCKETS.npy LIMIT FILTERED_TRUTH.json
      Runs every scenario for one engine and prints one JSON object on stdout (progress on
      stderr): durable ingest in batches of 1000 (each vector with an integer attribute
      `bucket` from BUCKETS.npy), file size, flat (exact) search, index build and a recall/QPS
      sweep of the engine's own search knob, filtered search (`bucket < LIMIT`, at the engine's
      default settings), then cold opens in fresh processes.
  stores.py ENGINE --cold WORKDIR QUERIES.npy METRIC K
      (internal) one cold open: open the stored database, run the first query, then the rest;
      prints {"open_ms", "open_first_query_ms", "rss_mb"}.

ENGINE: usearch | sqlite-vec | lancedb | chroma (usearch has no attributes: it stores the
vectors only and skips filtered search). TRUTH.json holds the exact top-K row numbers of every
query (FILTERED_TRUTH.json: among rows with bucket < LIMIT) ({"ids": [[...], ...]}, computed once by Quiver's runner and cached).
NLIST and M are Quiver's IVF-PQ defaults for the data; LanceDB's IVF-PQ gets the same.
Every search is one query at a time, as an application asks (usearch pinned to one thread).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

BATCH = 1000


def log(msg: str) -> None:
    print(f"    [{ENGINE}] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def dir_bytes(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


class Usearch:
    """USearch HNSW (connectivity 16, expansion_add 128) kept in memory and saved to one file.
    It has no per-write durability: save() after the last batch is its persistent mode."""

    knob = "expansion_search"
    sweep = [16, 32, 64, 128, 256, 512]
    durability = "in memory, one save() after the last batch (no per-batch durability)"

    def __init__(self, workdir, dim, metric):
        from usearch.index import Index

        self.path = os.path.join(workdir, "usearch.index")
        self.metric = {"cosine": "cos", "dot": "ip", "l2": "l2sq"}[metric]
        self.dim = dim
        self.index = None
        if dim:
            self.index = Index(ndim=dim, metric=self.metric, dtype="f32", connectivity=16,
                               expansion_add=128, expansion_search=64)

    @staticmethod
    def version():
        import usearch

        return "usearch " + usearch.__version__

    def add(self, first, vectors, buckets):
        self.index.add(np.arange(first, first + len(vectors), dtype=np.uint64), vectors,
                       threads=0)

    def finish_ingest(self):
        self.index.save(self.path)

    def flat(self, q, k):
        m = self.index.search(q, k, exact=True, threads=1)
        return m.keys.tolist()

    def build(self, nlist, m):
        return None  # the graph is built during ingest

    def set_knob(self, value):
        self.index.expansion_search = value

    def ann(self, q, k):
        return self.index.search(q, k, threads=1).keys.tolist()

    def open(self):
        from usearch.index import Index

        self.index = Index.restore(self.path)

    def first(self, q, k):
        return self.ann(q, k)


class SqliteVec:
    """sqlite-vec `vec0` virtual table (brute force only), WAL with synchronous=FULL, every
    batch one transaction: durable like Quiver's batches."""

    knob = None
    sweep = []
    durability = "one SQLite transaction per batch, journal_mode=WAL, synchronous=FULL"

    def __init__(self, workdir, dim, metric):
        self.path = os.path.join(workdir, "vec.sqlite")
        if metric not in ("cosine", "l2"):
            raise SystemExit(f"sqlite-vec: metric {metric} not benchmarked")
        self.metric = metric
        self.dim = dim
        self.db = None
        if dim:
            self.db = self._connect()
            # `bucket` is a vec0 metadata column: filterable inside the KNN query.
            self.db.execute(
                f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{dim}] "
                f"distance_metric={metric}, bucket integer)"
            )

    def _connect(self):
        import apsw
        import sqlite_vec

        db = apsw.Connection(self.path)
        db.enable_load_extension(True)
        db.load_extension(sqlite_vec.loadable_path())
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    @staticmethod
    def version():
        import apsw
        import sqlite_vec

        return f"sqlite-vec {sqlite_vec.__version__} (SQLite {apsw.sqlite_lib_version()})"

    def add(self, first, vectors, buckets):
        with self.db:
            self.db.executemany(
                "INSERT INTO v(rowid, embedding, bucket) VALUES (?, ?, ?)",
                ((first + i, vectors[i].tobytes(), int(buckets[i])) for i in range(len(vectors))),
            )

    def finish_ingest(self):
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def flat(self, q, k):
        rows = self.db.execute(
            "SELECT rowid FROM v WHERE embedding MATCH ? AND k = ? ORDER BY distance",
            (q.tobytes(), k),
        ).fetchall()
        return [r[0] for r in rows]

    def filtered(self, q, k, limit):
        rows = self.db.execute(
            "SELECT rowid FROM v WHERE embedding MATCH ? AND k = ? AND bucket < ? "
            "ORDER BY distance",
            (q.tobytes(), k, limit),
        ).fetchall()
        return [r[0] for r in rows]

    def open(self):
        self.db = self._connect()

    def first(self, q, k):
        return self.flat(q, k)


class Lance:
    """LanceDB table (id, vector); every batch one `add()` = one committed table version.
    Flat search before the index exists; then IVF-PQ with Quiver's nlist and m."""

    knob = "nprobes, refine_factor"
    sweep = [(p, r) for r in (1, 4) for p in (1, 2, 4, 8, 16, 32, 64, 128, 256)]
    durability = ("one add() per batch, each a new committed table version; optimize() after "
                  "the last batch (in the ingest time)")

    def __init__(self, workdir, dim, metric):
        self.path = os.path.join(workdir, "lance")
        self.metric = {"cosine": "cosine", "dot": "dot", "l2": "l2"}[metric]
        self.dim = dim
        self.table = None
        self.knob_value = (1, 1)
        if dim:
            import lancedb
            import pyarrow as pa

            schema = pa.schema([pa.field("id", pa.int64()),
                                pa.field("vector", pa.list_(pa.float32(), dim)),
                                pa.field("bucket", pa.int64())])
            self.table = lancedb.connect(self.path).create_table("bench", schema=schema)

    @staticmethod
    def version():
        import lancedb

        return "lancedb " + lancedb.__version__

    def add(self, first, vectors, buckets):
        import pyarrow as pa

        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        self.table.add(pa.table({
            "id": pa.array(np.arange(first, first + len(vectors), dtype=np.int64)),
            "vector": pa.FixedSizeListArray.from_arrays(flat, self.dim),
            "bucket": pa.array(buckets.astype(np.int64)),
        }))

    def finish_ingest(self):
        # What a LanceDB user runs after many small appends: merges the per-batch fragments.
        self.table.optimize()

    def _ids(self, query):
        # Selecting _distance too keeps Lance from warning on every query.
        return query.limit(self.k).select(["id", "_distance"]).to_arrow()["id"].to_pylist()

    def flat(self, q, k):
        self.k = k
        return self._ids(self.table.search(q).distance_type(self.metric))

    def build(self, nlist, m):
        from lancedb.index import IvfPq

        t = time.perf_counter()
        self.table.create_index("vector", config=IvfPq(distance_type=self.metric,
                                                       num_partitions=nlist,
                                                       num_sub_vectors=m))
        return time.perf_counter() - t

    def set_knob(self, value):
        self.knob_value = value

    def ann(self, q, k):
        self.k = k
        nprobes, refine = self.knob_value
        query = self.table.search(q).distance_type(self.metric).nprobes(nprobes)
        if refine > 1:
            query = query.refine_factor(refine)
        return self._ids(query)

    def filtered(self, q, k, limit):
        # LanceDB's defaults (nprobes 20, no refine), the filter applied before the search.
        self.k = k
        query = self.table.search(q).distance_type(self.metric).where(f"bucket < {limit}",
                                                                       prefilter=True)
        return self._ids(query)

    def open(self):
        import lancedb

        self.table = lancedb.connect(self.path).open_table("bench")
        self.knob_value = (20, 1)  # LanceDB's default nprobes

    def first(self, q, k):
        return self.ann(q, k)


class Chroma:
    """Chroma PersistentClient, HNSW (max_neighbors 16, ef_construction 200); every batch one
    add(), which returns once Chroma's SQLite log holds it."""

    knob = "ef_search"
    sweep = [16, 32, 64, 128, 256, 512]
    durability = "one add() per batch into Chroma's SQLite write-ahead log"

    def __init__(self, workdir, dim, metric):
        self.path = os.path.join(workdir, "chroma")
        self.space = {"cosine": "cosine", "dot": "ip", "l2": "l2"}[metric]
        self.col = None
        if dim:
            client = self._client()
            self.col = client.create_collection(
                "bench",
                embedding_function=None,
                configuration={"hnsw": {"space": self.space, "ef_construction": 200,
                                        "max_neighbors": 16}},
            )

    def _client(self):
        import chromadb
        from chromadb.config import Settings

        return chromadb.PersistentClient(path=self.path,
                                         settings=Settings(anonymized_telemetry=False))

    @staticmethod
    def version():
        import chromadb

        return "chromadb " + chromadb.__version__

    def add(self, first, vectors, buckets):
        self.col.add(ids=[str(i) for i in range(first, first + len(vectors))],
                     embeddings=vectors, metadatas=[{"bucket": int(b)} for b in buckets])

    def finish_ingest(self):
        pass

    def build(self, nlist, m):
        return None  # the graph is built during ingest

    def set_knob(self, value):
        self.col.modify(configuration={"hnsw": {"ef_search": value}})

    def ann(self, q, k):
        r = self.col.query(query_embeddings=[q], n_results=k, include=[])
        return [int(i) for i in r["ids"][0]]

    def filtered(self, q, k, limit):
        r = self.col.query(query_embeddings=[q], n_results=k, include=[],
                           where={"bucket": {"$lt": limit}})
        return [int(i) for i in r["ids"][0]]

    def open(self):
        self.col = self._client().get_collection("bench", embedding_function=None)

    def first(self, q, k):
        return self.ann(q, k)


ENGINES = {"usearch": Usearch, "sqlite-vec": SqliteVec, "lancedb": Lance, "chroma": Chroma}
ENGINE = "?"


def timed_pass(search, queries, truth, k):
    """One pass over the queries, one at a time: (recall@k, QPS)."""
    found = 0
    t = time.perf_counter()
    for i in range(len(queries)):
        ids = search(queries[i], k)
        found += len(set(ids) & truth[i])
    elapsed = time.perf_counter() - t
    return found / (len(queries) * k), len(queries) / elapsed


def measure(search, queries, truth, k, rounds):
    search(queries[0], k)  # warm-up
    runs = [timed_pass(search, queries, truth, k) for _ in range(rounds)]
    return {"recall": runs[0][0], "qps": [q for _, q in runs]}


def cold(argv):
    workdir, queries_path, metric, k = argv
    k = int(k)
    queries = np.ascontiguousarray(np.load(queries_path), dtype=np.float32)
    engine = ENGINES[ENGINE](workdir, 0, metric)
    base_rss = rss_mb()
    t = time.perf_counter()
    engine.open()
    open_ms = (time.perf_counter() - t) * 1e3
    engine.first(queries[0], k)
    first_ms = (time.perf_counter() - t) * 1e3
    for q in queries[1:]:
        engine.first(q, k)
    print(json.dumps({"open_ms": open_ms, "open_first_query_ms": first_ms,
                      "rss_mb": rss_mb() - base_rss}))


def main():
    global ENGINE
    ENGINE = sys.argv[1]
    if sys.argv[2] == "--cold":
        cold(sys.argv[3:])
        return
    (workdir, base_path, queries_path, truth_path, metric, k, rounds, nlist, m, buckets_path,
     limit, ftruth_path) = sys.argv[2:14]
    k, rounds, nlist, m, limit = int(k), int(rounds), int(nlist), int(m), int(limit)
    buckets = np.load(buckets_path).reshape(-1).astype(np.int64)
    base = np.ascontiguousarray(np.load(base_path), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(queries_path), dtype=np.float32)
    with open(truth_path) as f:
        truth = [set(row) for row in json.load(f)["ids"]]
    with open(ftruth_path) as f:
        ftruth = [set(row) for row in json.load(f)["ids"]]
    cls = ENGINES[ENGINE]
    out = {"engine": ENGINE, "version": cls.version(), "durability": cls.durability}

    os.makedirs(workdir, exist_ok=True)
    engine = cls(workdir, base.shape[1], metric)
    batch_rates = []
    t0 = time.perf_counter()
    for first in range(0, len(base), BATCH):
        part = base[first : first + BATCH]
        t = time.perf_counter()
        engine.add(first, part, buckets[first : first + BATCH])
        batch_rates.append(len(part) / (time.perf_counter() - t))
    engine.finish_ingest()
    out["ingest_s"] = time.perf_counter() - t0
    out["ingest_batch_rates"] = batch_rates
    out["rows"] = len(base)
    log(f"ingest {len(base) / out['ingest_s']:.0f} vectors/s")

    if hasattr(engine, "flat"):
        out["flat"] = measure(engine.flat, queries, truth, k, rounds)
        log(f"flat recall {out['flat']['recall']:.3f} QPS {np.median(out['flat']['qps']):.0f}")
    if cls.sweep:
        out["build_s"] = engine.build(nlist, m)
        out["knob"] = cls.knob
        points = []
        for value in cls.sweep:
            engine.set_knob(value)
            p = measure(engine.ann, queries, truth, k, rounds)
            p["param"] = value
            points.append(p)
            log(f"{cls.knob}={value}: recall {p['recall']:.3f} QPS {np.median(p['qps']):.0f}")
        out["ann"] = points
    if hasattr(engine, "filtered"):
        out["filtered"] = measure(lambda q, k: engine.filtered(q, k, limit), queries, ftruth, k,
                                  rounds)
        log(f"filtered bucket < {limit}: recall {out['filtered']['recall']:.3f} "
            f"QPS {np.median(out['filtered']['qps']):.0f}")
    del engine
    out["file_bytes"] = dir_bytes(workdir)

    colds = []
    for _ in range(rounds + 2):
        r = subprocess.run(
            [sys.executable, __file__, ENGINE, "--cold", workdir, queries_path, metric, str(k)],
            check=True, capture_output=True, text=True,
        )
        colds.append(json.loads(r.stdout.strip().splitlines()[-1]))
    out["cold"] = colds
    log(f"cold open + first query {np.median([c['open_first_query_ms'] for c in colds]):.1f} ms")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
