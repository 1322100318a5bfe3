"""sentence-transformers' CrossEncoder (PyTorch, CPU) as the peer for Quiver's BertCrossEncoder.

  st_rerank.py join MODEL_DIR HEAD_DIR OUT   -> the MiniLM trunk + the fixture's random head as
                                                one HF folder (what the reference test builds)
  st_rerank.py throughput FOLDER PAIRS N     -> pairs/s of CrossEncoder.predict at batch 32
                                                (its default) as JSON; PAIRS is JSONL
                                                {"query", "document"}
The head is untrained: these are speed figures, not quality.
"""
import json, os, shutil, sys, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def join(model_dir, head_dir, out):
    import safetensors.torch
    os.makedirs(out, exist_ok=True)
    tensors = safetensors.torch.load_file(os.path.join(model_dir, "model.safetensors"))
    tensors.update(safetensors.torch.load_file(os.path.join(head_dir, "head.safetensors")))
    safetensors.torch.save_file(tensors, os.path.join(out, "model.safetensors"))
    for f in ["tokenizer.json", "vocab.txt", "special_tokens_map.json"]:
        shutil.copy(os.path.join(model_dir, f), os.path.join(out, f))
    cfg = json.load(open(os.path.join(model_dir, "tokenizer_config.json")))
    cfg["model_max_length"] = 256
    json.dump(cfg, open(os.path.join(out, "tokenizer_config.json"), "w"))
    shutil.copy(os.path.join(head_dir, "config.json"), os.path.join(out, "config.json"))


def throughput(folder, pairs_file, n):
    import torch
    from sentence_transformers import CrossEncoder
    torch.set_num_threads(os.cpu_count())
    model = CrossEncoder(folder, device="cpu")
    pairs = [json.loads(l) for l in open(pairs_file, encoding="utf-8")][:n]
    pairs = [(p["query"], p["document"]) for p in pairs]
    model.predict(pairs[:64], batch_size=32)  # warm-up
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        model.predict(pairs, batch_size=32)
        runs.append(len(pairs) / (time.perf_counter() - t))
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
    print(json.dumps({"threads": torch.get_num_threads(), "pairs": len(pairs),
                      "median": sorted(runs)[1], "min": min(runs), "max": max(runs),
                      "peak_rss_mb": int(hwm.split()[1]) / 1024}))


if __name__ == "__main__":
    if sys.argv[1] == "join":
        join(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        throughput(sys.argv[2], sys.argv[3], int(sys.argv[4]))
