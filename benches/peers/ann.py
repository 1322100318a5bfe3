"""ANN peers for Quiver's `--ann` scenario: hnswlib's HNSW graph or FAISS's IVF-PQ fast scan
(4-bit codes, `IndexIVFPQFastScan`) with exact refinement, on the data Quiver's runner wrote,
scored against the same exact answers Quiver is scored against.

Usage: ann.py hnsw BASE.npy METRIC K SET=QUERIES.npy,TRUTH.json ...
       ann.py faiss-fs BASE.npy METRIC K NLIST M SET=QUERIES.npy,TRUTH.json ...
Builds (hnswlib: M 16, ef_construction 200, all cores; FAISS: nlist and m given, 4-bit codes,
by-residual, all cores), prints {"ready": ..., "build_s": ..., "bytes": ...}, then answers:
  sweep SET EF             (hnsw)  -> {"recall": r, "qps": q}
  sweep SET NPROBE REFINE  (faiss) -> {"recall": r, "qps": q}
  batch SET NPROBE REFINE  (faiss) -> {"qps": q}   all queries in one call
  quit
Single queries run one at a time on one thread; recall@K is against TRUTH (row numbers).
"""
import json
import sys
import time

import numpy as np


def say(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def load_sets(specs):
    sets = {}
    for spec in specs:
        name, files = spec.split("=", 1)
        qpath, tpath = files.split(",")
        queries = np.ascontiguousarray(np.load(qpath), dtype=np.float32)
        with open(tpath) as f:
            truth = [set(row) for row in json.load(f)]
        sets[name] = (queries, truth)
    return sets


def recall_qps(search, queries, truth, k):
    found = 0
    t = time.perf_counter()
    for i in range(len(queries)):
        ids = search(queries[i : i + 1])
        found += len(set(ids.tolist()) & truth[i])
    elapsed = time.perf_counter() - t
    return {"recall": found / (len(queries) * k), "qps": len(queries) / elapsed}


def hnsw(argv):
    import hnswlib

    base_path, metric, k = argv[:3]
    k = int(k)
    base = np.ascontiguousarray(np.load(base_path), dtype=np.float32)
    sets = load_sets(argv[3:])
    space = {"cosine": "cosine", "dot": "ip", "l2": "l2"}[metric]
    t0 = time.perf_counter()
    index = hnswlib.Index(space=space, dim=base.shape[1])
    index.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=7)
    index.add_items(base, np.arange(len(base)))
    build_s = time.perf_counter() - t0
    index.set_num_threads(1)
    # Links: M * 2 at level 0 plus the upper levels, 4 bytes each (hnswlib's own layout).
    say({"ready": True, "version": "hnswlib 0.8.0", "build_s": build_s,
         "bytes": int(len(base) * (16 * 2 * 4 + 8))})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "sweep":
            queries, truth = sets[cmd[1]]
            index.set_ef(max(int(cmd[2]), k))
            say(recall_qps(lambda q: index.knn_query(q, k=k)[0][0], queries, truth, k))
        else:
            say({"error": f"unknown command {cmd[0]}"})


def faiss_fs(argv):
    import faiss

    base_path, metric, k, nlist, m = argv[:5]
    k, nlist, m = int(k), int(nlist), int(m)
    base = np.ascontiguousarray(np.load(base_path), dtype=np.float32)
    sets = load_sets(argv[5:])
    d = base.shape[1]
    if metric == "cosine":
        base = base.copy()
        faiss.normalize_L2(base)
        for name, (q, t) in list(sets.items()):
            q = q.copy()
            faiss.normalize_L2(q)
            sets[name] = (q, t)
    mt = faiss.METRIC_INNER_PRODUCT if metric == "dot" else faiss.METRIC_L2
    t0 = time.perf_counter()
    quantizer = faiss.IndexFlat(d, mt)
    ivf = faiss.IndexIVFPQFastScan(quantizer, d, nlist, m, 4, mt)
    index = faiss.IndexRefineFlat(ivf)
    index.train(base)
    index.add(base)
    build_s = time.perf_counter() - t0
    threads = faiss.omp_get_max_threads()
    say({"ready": True, "version": "faiss " + faiss.__version__, "build_s": build_s,
         "threads": threads,
         "bytes": int(faiss.serialize_index(ivf).size)})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        queries, truth = sets[cmd[1]]
        ivf.nprobe = int(cmd[2])
        index.k_factor = float(cmd[3])
        if cmd[0] == "sweep":
            faiss.omp_set_num_threads(1)
            say(recall_qps(lambda q: index.search(q, k)[1][0], queries, truth, k))
            faiss.omp_set_num_threads(threads)
        elif cmd[0] == "batch":
            t = time.perf_counter()
            index.search(queries, k)
            say({"qps": len(queries) / (time.perf_counter() - t)})
        else:
            say({"error": f"unknown command {cmd[0]}"})


if __name__ == "__main__":
    {"hnsw": hnsw, "faiss-fs": faiss_fs}[sys.argv[1]](sys.argv[2:])
