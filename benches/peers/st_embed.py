"""sentence-transformers (PyTorch, CPU) as the reference and peer for Quiver's embedder.

  st_embed.py cranfield MODEL_DIR CRANFIELD_DIR   -> nDCG@10 / recall@100 as JSON
  st_embed.py throughput MODEL_DIR TEXTS_FILE N   -> sentences/s at batch 1, 32, 128 as JSON

Cranfield is read exactly as quiver-tests' `ir::cranfield` reads it (document text = .W field,
queries by position, gain 5 - code for codes 1..4); documents with an empty text are skipped,
as Quiver refuses to embed empty text (both numbers are printed).
"""
import json, math, os, sys, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
from sentence_transformers import SentenceTransformer


def records(text):
    out, field = [], None
    for line in text.splitlines():
        if line.startswith(".I "):
            out.append((line[3:].strip(), {}))
            field = None
        elif len(line) == 2 and line.startswith("."):
            field = line[1]
        elif field and out:
            f = out[-1][1]
            f[field] = (f.get(field, "") + " " + line.strip()) if f.get(field) else line.strip()
    return [(i, {k: v.strip() for k, v in f.items()}) for i, f in out]


def evaluate(rankings, qrels):
    judged = [q for q in range(len(qrels)) if qrels[q]]
    nd, rc = 0.0, 0.0
    for q in judged:
        g = qrels[q]
        dcg = sum(g.get(d, 0) / math.log2(i + 2) for i, d in enumerate(rankings[q][:10]))
        ideal = sorted(g.values(), reverse=True)[:10]
        idcg = sum(x / math.log2(i + 2) for i, x in enumerate(ideal))
        nd += dcg / idcg
        rc += sum(1 for d in rankings[q][:100] if d in g) / len(g)
    return nd / len(judged), rc / len(judged), len(judged)


def cranfield(model_dir, data):
    model = SentenceTransformer(model_dir, device="cpu")
    docs = [(i, f.get("W", "")) for i, f in records(open(f"{data}/cran.all.1400").read())]
    queries = [f.get("W", "") for _, f in records(open(f"{data}/cran.qry").read())]
    qrels = [dict() for _ in queries]
    for line in open(f"{data}/cranqrel"):
        p = line.split()
        if len(p) == 3 and 1 <= int(p[2]) <= 4:
            qrels[int(p[0]) - 1][p[1]] = 5 - int(p[2])
    qv = model.encode(queries, batch_size=32, normalize_embeddings=True)
    out = {}
    for name, keep in [("all_docs", docs), ("nonempty_docs", [d for d in docs if d[1].strip()])]:
        dv = model.encode([t for _, t in keep], batch_size=32, normalize_embeddings=True)
        scores = qv @ dv.T
        rankings = [[keep[j][0] for j in np.argsort(-s, kind="stable")[:100]] for s in scores]
        nd, rc, n = evaluate(rankings, qrels)
        out[name] = {"ndcg@10": round(nd, 4), "recall@100": round(rc, 4), "queries": n, "docs": len(keep)}
    print(json.dumps(out))


def throughput(model_dir, texts_file, n):
    torch.set_num_threads(os.cpu_count())
    model = SentenceTransformer(model_dir, device="cpu")
    texts = [l.rstrip("\n") for l in open(texts_file, encoding="utf-8") if l.strip()][:n]
    out = {"threads": torch.get_num_threads(), "texts": len(texts)}
    for bs in (1, 32, 128):
        sample = texts[: min(len(texts), 200)] if bs == 1 else texts
        model.encode(sample[:64], batch_size=bs)  # warm-up
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            model.encode(sample, batch_size=bs)
            runs.append(len(sample) / (time.perf_counter() - t))
        out[f"batch_{bs}"] = {"median": sorted(runs)[1], "min": min(runs), "max": max(runs), "texts": len(sample)}
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve, so a child started by the
    # Rust runner would report the runner's peak.
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
    out["peak_rss_mb"] = int(hwm.split()[1]) / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "cranfield":
        cranfield(sys.argv[2], sys.argv[3])
    else:
        throughput(sys.argv[2], sys.argv[3], int(sys.argv[4]))
