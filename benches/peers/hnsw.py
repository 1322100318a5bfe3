"""hnswlib (HNSW graph) on the data Quiver's benchmark wrote, for the ANN comparison.

Usage: hnsw.py BASE.npy QUERIES.npy METRIC K
Builds with M=16, ef_construction=200 on all cores, prints {"ready": ..., "build_s": ...}, then
answers on stdin:
  sweep EF -> {"recall": r, "qps": q}  queries one at a time, recall@K against exact search
  quit
"""
import json
import sys
import time

import hnswlib
import numpy as np


def say(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    base_path, queries_path, metric, k = sys.argv[1:5]
    k = int(k)
    base = np.ascontiguousarray(np.load(base_path), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(queries_path), dtype=np.float32)
    space = {"cosine": "cosine", "dot": "ip", "l2": "l2"}[metric]
    # Exact ground truth with numpy, in the metric's own terms.
    if metric == "cosine":
        b = base / np.linalg.norm(base, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        scores = q @ b.T
    elif metric == "dot":
        scores = queries @ base.T
    else:
        scores = -((queries**2).sum(1)[:, None] + (base**2).sum(1)[None, :] - 2 * queries @ base.T)
    truth = np.argsort(-scores, axis=1)[:, :k]
    del scores

    t0 = time.perf_counter()
    index = hnswlib.Index(space=space, dim=base.shape[1])
    index.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=7)
    index.add_items(base, np.arange(len(base)))
    build_s = time.perf_counter() - t0
    index.set_num_threads(1)
    say({"ready": True, "version": "hnswlib " + getattr(hnswlib, "__version__", "0.8.0"),
         "threads": 1, "build_s": build_s})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "sweep":
            index.set_ef(max(int(cmd[1]), k))
            found = 0
            t = time.perf_counter()
            for i in range(len(queries)):
                labels, _ = index.knn_query(queries[i : i + 1], k=k)
                found += len(set(labels[0].tolist()) & set(truth[i].tolist()))
            elapsed = time.perf_counter() - t
            say({"recall": found / (len(queries) * k), "qps": len(queries) / elapsed})
        else:
            say({"error": f"unknown command {cmd[0]}"})


if __name__ == "__main__":
    main()
