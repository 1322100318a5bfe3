"""The Python binding's cost: Quiver through `import quiver` against the embedded stores'
own Python APIs, on the same vectors in the same run (`quiver-bench --python-binding`).

Usage: python_binding.py ENGINE WORKDIR BASE.npy QUERIES.npy K ROUNDS
  ENGINE: quiver | sqlite-vec | lancedb | chroma. Prints one JSON object on stdout:
  durable ingest (batches of 1000, one transaction / commit each), exact search one query at
  a time (QPS per round, and the median latency in µs), and the same call on a collection of
  10 vectors — what is left there is the per-call cost of the API and its binding.
  Chroma has no exact search: its default HNSW answers (on 10 vectors it is exact).
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import stores  # noqa: E402  (the peers' adapters: the same settings as the stores scenario)

BATCH = 1000


class QuiverPython:
    durability = "one transaction per batch (fsync), the engine's default"

    def __init__(self, workdir, dim, metric):
        import quiver

        self.db = quiver.create(os.path.join(workdir, "bench.qvr"))
        self.coll = self.db.create_collection("bench", dim=dim, metric=metric)

    @staticmethod
    def version():
        import quiver

        return "quiver (python) " + quiver.__version__

    def add(self, first, vectors, buckets):
        ids = [str(i) for i in range(first, first + len(vectors))]
        self.coll.upsert(ids, vectors=vectors)

    def finish_ingest(self):
        pass

    def flat(self, q, k):
        return [int(h.id) for h in self.coll.search(q, k=k, include_payload=False)]


ENGINES = {"quiver": QuiverPython, "sqlite-vec": stores.SqliteVec, "lancedb": stores.Lance,
           "chroma": stores.Chroma}


def search_fn(engine):
    if hasattr(engine, "flat"):
        return engine.flat
    engine.set_knob(stores.Chroma.sweep[2])  # ef_search 64
    return engine.ann


def run(cls, workdir, base, queries, k, rounds):
    os.makedirs(workdir, exist_ok=True)
    engine = cls(workdir, base.shape[1], "cosine")
    t0 = time.perf_counter()
    for first in range(0, len(base), BATCH):
        engine.add(first, base[first:first + BATCH], np.zeros(min(BATCH, len(base) - first)))
    engine.finish_ingest()
    ingest = len(base) / (time.perf_counter() - t0)
    search = search_fn(engine)
    search(queries[0], k)
    qps, lat = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for q in queries:
            s = time.perf_counter()
            search(q, k)
            lat.append((time.perf_counter() - s) * 1e6)
        qps.append(len(queries) / (time.perf_counter() - t))
    return ingest, qps, float(np.median(lat))


def main():
    name, workdir, base_path, queries_path, k, rounds = sys.argv[1:7]
    stores.ENGINE = name
    k, rounds = int(k), int(rounds)
    base = np.ascontiguousarray(np.load(base_path), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(queries_path), dtype=np.float32)
    cls = ENGINES[name]
    ingest, qps, median_us = run(cls, os.path.join(workdir, "big"), base, queries, k, rounds)
    _, tiny_qps, tiny_us = run(cls, os.path.join(workdir, "tiny"), base[:10], queries, min(k, 10), rounds)
    print(json.dumps({
        "engine": name, "version": cls.version(), "durability": cls.durability,
        "rows": len(base), "ingest_vectors_per_s": ingest, "qps": qps,
        "median_us": median_us, "tiny_median_us": tiny_us, "tiny_qps": tiny_qps,
    }))


if __name__ == "__main__":
    main()
