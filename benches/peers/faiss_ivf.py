"""FAISS IVF-PQ + exact refinement (IndexIVFPQ wrapped in IndexRefineFlat), driven by Quiver's
benchmark runner on the same data, with the same nlist and m.

Usage: faiss_ivf.py BASE.npy QUERIES.npy METRIC K NLIST M
Prints {"ready": ..., "build_s": ...} after training and adding, then answers on stdin:
  sweep NPROBE REFINE -> {"recall": r, "qps": q}  queries one at a time (one thread each),
                         recall@K against FAISS's exact search on the same vectors
  batch NPROBE REFINE -> {"qps": q}  all queries in one call (OpenMP threads)
  size               -> {"bytes": n}  the serialised IndexIVFPQ (codes, ids, quantizers)
  quit
Cosine is run as L2 on unit-normalised vectors (the same ranking).
"""
import json
import sys
import time

import faiss
import numpy as np


def say(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    base_path, queries_path, metric, k, nlist, m = sys.argv[1:7]
    k, nlist, m = int(k), int(nlist), int(m)
    base = np.ascontiguousarray(np.load(base_path), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(queries_path), dtype=np.float32)
    d = base.shape[1]
    if metric == "cosine":
        base, queries = base.copy(), queries.copy()
        faiss.normalize_L2(base)
        faiss.normalize_L2(queries)
    mt = faiss.METRIC_INNER_PRODUCT if metric == "dot" else faiss.METRIC_L2
    exact = faiss.IndexFlat(d, mt)
    exact.add(base)
    _, truth = exact.search(queries, k)
    del exact

    t0 = time.perf_counter()
    quantizer = faiss.IndexFlat(d, mt)
    ivfpq = faiss.IndexIVFPQ(quantizer, d, nlist, m, 8, mt)
    index = faiss.IndexRefineFlat(ivfpq)
    index.train(base)
    index.add(base)
    build_s = time.perf_counter() - t0
    say({"ready": True, "version": faiss.__version__, "threads": faiss.omp_get_max_threads(),
         "build_s": build_s})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "sweep":
            ivfpq.nprobe = int(cmd[1])
            index.k_factor = float(cmd[2])
            found = 0
            t = time.perf_counter()
            for i in range(len(queries)):
                _, ids = index.search(queries[i : i + 1], k)
                found += len(set(ids[0].tolist()) & set(truth[i].tolist()))
            elapsed = time.perf_counter() - t
            say({"recall": found / (len(queries) * k), "qps": len(queries) / elapsed})
        elif cmd[0] == "batch":
            ivfpq.nprobe = int(cmd[1])
            index.k_factor = float(cmd[2])
            t = time.perf_counter()
            index.search(queries, k)
            say({"qps": len(queries) / (time.perf_counter() - t)})
        elif cmd[0] == "size":
            say({"bytes": int(faiss.serialize_index(ivfpq).size)})
        else:
            say({"error": f"unknown command {cmd[0]}"})


if __name__ == "__main__":
    main()
