"""FAISS exact (flat) search, driven by Quiver's benchmark runner so that the two engines'
measurements can be interleaved on the same data in the same run.

Usage: faiss_flat.py BASE.npy QUERIES.npy METRIC K
After loading it prints one JSON line {"ready": ...}, then answers commands on stdin, one JSON
line each:
  single N   -> {"single_ms": [...]}   N queries, one at a time
  batch      -> {"batch_s": s}         all queries in one call
  ids        -> {"ids": [[...], ...]}  the top-K ids of every query (for agreement checks)
  quit
"""
import json
import sys
import time

import faiss
import numpy as np


def main() -> None:
    base_path, queries_path, metric, k = sys.argv[1:5]
    k = int(k)
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
    index.search(queries[:1], k)  # warm-up
    say({"ready": True, "version": faiss.__version__, "threads": faiss.omp_get_max_threads(),
         "build_s": time.perf_counter() - t0})
    single_at = 0
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "single":
            lat = []
            for _ in range(int(cmd[1])):
                q = queries[single_at % len(queries)][None, :]
                single_at += 1
                t = time.perf_counter()
                index.search(q, k)
                lat.append((time.perf_counter() - t) * 1e3)
            say({"single_ms": lat})
        elif cmd[0] == "batch":
            t = time.perf_counter()
            index.search(queries, k)
            say({"batch_s": time.perf_counter() - t})
        elif cmd[0] == "ids":
            _, ids = index.search(queries, k)
            say({"ids": ids.tolist()})
        else:
            say({"error": f"unknown command {cmd[0]}"})


def say(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
