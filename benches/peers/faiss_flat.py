"""FAISS exact (flat) search on the data Quiver's benchmark wrote, timed the same way.

Usage: faiss_flat.py BASE.npy QUERIES.npy METRIC K SINGLE_QUERIES
Prints one JSON object: single-query latencies (ms), batched QPS, and the ids found (for
checking that both engines agree).
"""
import json
import statistics
import sys
import time

import faiss
import numpy as np


def main() -> None:
    base_path, queries_path, metric, k, n_single = sys.argv[1:6]
    k, n_single = int(k), int(n_single)
    base = np.ascontiguousarray(np.load(base_path), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(queries_path), dtype=np.float32)
    t0 = time.perf_counter()
    if metric == "cosine":
        base = base.copy()
        queries = queries.copy()
        faiss.normalize_L2(base)
        faiss.normalize_L2(queries)
        index = faiss.IndexFlatIP(base.shape[1])
    elif metric == "dot":
        index = faiss.IndexFlatIP(base.shape[1])
    else:
        index = faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    build_s = time.perf_counter() - t0

    # Warm-up, then one query at a time.
    index.search(queries[:1], k)
    lat = []
    for i in range(min(n_single, len(queries))):
        q = queries[i : i + 1]
        t = time.perf_counter()
        index.search(q, k)
        lat.append((time.perf_counter() - t) * 1e3)

    batch_times = []
    ids = None
    for _ in range(3):
        t = time.perf_counter()
        _, ids = index.search(queries, k)
        batch_times.append(time.perf_counter() - t)
    batch_s = statistics.median(batch_times)
    print(
        json.dumps(
            {
                "engine": "faiss",
                "version": faiss.__version__,
                "threads": faiss.omp_get_max_threads(),
                "build_s": build_s,
                "single_ms": lat,
                "batch_queries": int(len(queries)),
                "batch_s": batch_s,
                "batch_s_all": batch_times,
                "ids": ids.tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
