"""Plots from a quiver-bench results JSON, PNGs beside it.

Usage: plot.py RESULTS.json
- IVF-PQ sweeps (results of --ivf): recall@10 vs QPS, Quiver / FAISS / hnswlib, one PNG per
  data set (RESULTS-<dataset>-ivf.png).
- Embedded stores (results of --stores): recall@10 vs QPS of every engine
  (RESULTS-<dataset>-recall.png) and bars of ingest rate, file size, memory and cold open
  (RESULTS-<dataset>-costs.png).
Each curve is the Pareto frontier over the engine's settings (the best QPS at each recall).
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def frontier(points):
    best = []
    for recall, qps in sorted(points, key=lambda p: (-p[0], -p[1])):
        if not best or qps > best[-1][1]:
            best.append((recall, qps))
    return sorted(best)


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(path)


def ivf_plots(path, data):
    for result in data.get("results", []):
        ivf = result.get("ivf")
        if not ivf:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        quiver = frontier([(p["recall_at_10"], p["qps"]) for p in ivf["points"]])
        ax.plot(*zip(*quiver), "o-", label=f"Quiver IVF-PQ (nlist {ivf['nlist']}, m {ivf['m']})")
        faiss = [(p["faiss_recall_at_10"], p["faiss_qps"]) for p in ivf["points"] if p.get("faiss_qps")]
        if faiss:
            ax.plot(*zip(*frontier(faiss)), "s--", label="FAISS IndexIVFPQ + IndexRefineFlat")
        hnsw = [(p["recall_at_10"], p["qps"]) for p in ivf.get("hnsw_points", [])]
        if hnsw:
            ax.plot(*zip(*frontier(hnsw)), "^:", label="hnswlib (M 16, efC 200)")
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per second (one at a time)")
        ax.set_title(f"{result['dataset']}: {data['machine']}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        save(fig, path.with_name(f"{path.stem}-{result['dataset']}-ivf.png"))


def stores_plots(path, data):
    for result in data.get("stores", []):
        engines = result["engines"]
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        for e, marker in zip(engines, "osD^vP"):
            points = [(p["recall_at_10"], p["qps"]["median"]) for p in e["ann"]]
            if e.get("flat"):
                points.append((e["flat"]["recall_at_10"], e["flat"]["qps"]["median"]))
            if points:
                ax.plot(*zip(*frontier(points)), marker + "-", label=e["version"])
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries per second (one query at a time)")
        ax.set_title(f"{result['dataset']} ({result['rows']} x {result['dim']})", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, path.with_name(f"{path.stem}-{result['dataset']}-recall.png"))

        names = [e["engine"] for e in engines]
        panels = [
            ("durable ingest, vectors/s", [e["ingest_vectors_per_s"] for e in engines], True),
            ("file bytes per vector", [e["file_bytes_per_vector"] for e in engines], False),
            ("RSS after all queries, MB", [e["cold_rss_mb"]["median"] for e in engines], False),
            ("cold open + first query, ms",
             [e["cold_open_first_query_ms"]["median"] for e in engines], True),
        ]
        fig, axes = plt.subplots(1, len(panels), figsize=(14, 3.6))
        for ax, (title, values, log) in zip(axes, panels):
            ax.bar(names, values, color=["#1f77b4" if n == "quiver" else "#999999" for n in names])
            if log:
                ax.set_yscale("log")
            ax.set_title(title, fontsize=10)
            ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        fig.suptitle(f"{result['dataset']}: {data['machine']}", fontsize=10)
        save(fig, path.with_name(f"{path.stem}-{result['dataset']}-costs.png"))


def main() -> None:
    path = Path(sys.argv[1])
    data = json.loads(path.read_text())
    ivf_plots(path, data)
    stores_plots(path, data)


if __name__ == "__main__":
    main()
