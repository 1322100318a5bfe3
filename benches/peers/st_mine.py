"""sentence-transformers' util.mine_hard_negatives (PyTorch, CPU) as the peer for Quiver's
Collection::mine_hard_negatives.

  st_mine.py MODEL_DIR JOB RUNS   -> JSON: seconds per run of the whole call from texts
                                     (corpus and queries embedded), and of the call with
                                     both embeddings cached (cache_folder warm: only the
                                     similarity, top-k and filters run)
JOB is a JSON file {"corpus": [texts], "queries": [texts], "positives": [texts],
"params": {mine_hard_negatives keyword arguments}}.
"""
import json, os, sys, tempfile, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(model_dir, job_file, runs):
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives
    torch.set_num_threads(os.cpu_count())
    job = json.load(open(job_file, encoding="utf-8"))
    model = SentenceTransformer(model_dir, device="cpu")
    ds = Dataset.from_dict({"query": job["queries"], "answer": job["positives"]})

    def call(cache):
        t = time.perf_counter()
        mine_hard_negatives(ds, model, corpus=job["corpus"], sampling_strategy="top",
                            output_format="triplet", batch_size=32, verbose=False,
                            cache_folder=cache, **job["params"])
        return time.perf_counter() - t

    call(None)  # warm-up
    from_texts = [call(None) for _ in range(runs)]
    with tempfile.TemporaryDirectory() as cache:
        call(cache)  # fills the cache
        cached = [call(cache) for _ in range(runs)]
    print(json.dumps({"threads": torch.get_num_threads(), "pairs": len(job["queries"]),
                      "from_texts_s": from_texts, "cached_s": cached}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
