"""Recall@10 vs QPS curves (IVF-PQ sweep) from a quiver-bench results JSON, one PNG per data set.

Usage: plot.py RESULTS.json  -> RESULTS-<dataset>-ivf.png beside it
Each curve is the Pareto frontier over nprobe x refine (the best QPS at each recall).
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


def main() -> None:
    path = Path(sys.argv[1])
    data = json.loads(path.read_text())
    for result in data["results"]:
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
        out = path.with_name(f"{path.stem}-{result['dataset']}-ivf.png")
        fig.tight_layout()
        fig.savefig(out, dpi=110)
        print(out)


if __name__ == "__main__":
    main()
