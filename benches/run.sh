#!/usr/bin/env bash
# Runs Quiver's benchmark suite with its peers on the same data in the same run.
#   benches/run.sh [--quick] [--all] [other quiver-bench flags]
# Sets up a private venv with the pinned peers (benches/peers/requirements.txt), fetches GloVe
# (scripts/fetch_glove.sh), builds the runner in release mode and writes results/<date>.{json,md}.
# Scenario sets: none = flat search vs FAISS; --ivf adds the IVF-PQ sweep (FAISS, hnswlib);
# --filters; --stores (usearch, sqlite-vec, LanceDB, Chroma); --all = all of these, one after
# the other (--quick --all: every scenario at small sizes, est. 20 min on 2 cores; --quick alone ~1 min).
# The embedding benchmark is separate: benches/run.sh --embed; so are ANN (--ann), full-text (--fulltext)
# and re-ranking (--rerank), the Matryoshka funnel (--matryoshka), the Python binding
# (--python-binding) and many processes on one file (--processes).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"

# --embed: only the embedding benchmark (Quiver's BertEmbedder vs sentence-transformers on
# Cranfield abstracts and WordNet definitions), in its own venv.
if [[ "${1:-}" == "--embed" ]]; then
  shift
  STVENV="$CACHE/venv-st"
  [[ -x "$STVENV/bin/python" ]] || python3 -m venv "$STVENV"
  "$STVENV/bin/pip" install --quiet -r benches/peers/requirements-embed.txt
  MODEL=$(scripts/fetch_model.sh)
  WORDNET=$(scripts/fetch_wordnet.sh)
  python3 -c 'import json,sys; [print(json.loads(l)["text"]) for l in sys.stdin]' \
    < <(python3 scripts/cranfield_jsonl.py) > "$CACHE/cranfield-abstracts.txt"
  # WordNet in a fixed shuffled order (definitions are sorted by part of speech and offset).
  python3 -c 'import random,sys; l=sys.stdin.read().splitlines(); random.Random(7).shuffle(l); print("\n".join(l))' \
    < "$WORDNET" > "$CACHE/wordnet-shuffled.txt"
  cargo build --release --quiet -p quiver-benches
  exec target/release/quiver-bench --embed-only --embed-model "$MODEL" --st-python "$STVENV/bin/python" \
    --embed-texts "cranfield=$CACHE/cranfield-abstracts.txt" \
    --embed-texts "wordnet=$CACHE/wordnet-shuffled.txt" --out results "$@"
fi
# --rerank: only the re-ranking benchmark (Quiver's BertCrossEncoder vs sentence-transformers'
# CrossEncoder on the MiniLM trunk with the fixture's random head; a Cranfield pipeline).
if [[ "${1:-}" == "--rerank" ]]; then
  shift
  STVENV="$CACHE/venv-st"
  [[ -x "$STVENV/bin/python" ]] || python3 -m venv "$STVENV"
  "$STVENV/bin/pip" install --quiet -r benches/peers/requirements-embed.txt
  MODEL=$(scripts/fetch_model.sh)
  CE="$CACHE/models/minilm-cross-encoder-random-head"
  "$STVENV/bin/python" benches/peers/st_rerank.py join "$MODEL" \
    tests/fixtures/cross_encoder_reference/minilm_head "$CE"
  cargo build --release --quiet -p quiver-benches
  exec target/release/quiver-bench --rerank-model "$CE" --embed-model "$MODEL" \
    --st-python "$STVENV/bin/python" --out results "$@"
fi
# --mining: only the hard-negative mining benchmark (Quiver vs sentence-transformers'
# util.mine_hard_negatives on Cranfield; false negatives by filter).
if [[ "${1:-}" == "--mining" ]]; then
  shift
  STVENV="$CACHE/venv-st"
  [[ -x "$STVENV/bin/python" ]] || python3 -m venv "$STVENV"
  "$STVENV/bin/pip" install --quiet -r benches/peers/requirements-embed.txt
  MODEL=$(scripts/fetch_model.sh)
  cargo build --release --quiet -p quiver-benches
  exec target/release/quiver-bench --mining --embed-model "$MODEL" \
    --st-python "$STVENV/bin/python" --out results "$@"
fi
# --space: only the embedding-space tools (outlier ROC AUC on WordNet x MiniLM with injected
# outliers, cluster/score/map times, cluster-packed Cranfield batches); keeps the database at
# results/space.qvr for `quiver map` (docs/space.md has the commands of the pictures).
if [[ "${1:-}" == "--space" ]]; then
  shift
  MODEL=$(scripts/fetch_model.sh)
  WORDNET_NPY=$(scripts/wordnet_vectors.sh)
  cargo build --release --quiet -p quiver-benches
  exec target/release/quiver-bench --space --wordnet "$WORDNET_NPY" --embed-model "$MODEL" \
    --space-db results/space.qvr --out results "$@"
fi
# --matryoshka: only the Matryoshka funnel (dims) benchmark: a prefix-heavy synthetic set and
# WordNet x MiniLM (held-out definitions and embedded usage examples as queries).
if [[ "${1:-}" == "--matryoshka" ]]; then
  shift
  MODEL=$(scripts/fetch_model.sh)
  WORDNET_NPY=$(scripts/wordnet_vectors.sh)
  scripts/fetch_wordnet.sh > /dev/null
  python3 benches/peers/wordnet_examples.py "$(ls "$CACHE"/wordnet/dl/wordnet-base_*.deb | head -n 1)" \
    "$CACHE/wordnet/examples.txt" 1000
  cargo build --release --quiet -p quiver-benches
  exec target/release/quiver-bench --matryoshka --wordnet "$WORDNET_NPY" --embed-model "$MODEL" \
    --matryoshka-examples "$CACHE/wordnet/examples.txt" --out results "$@"
fi
# --processes: only the many-processes benchmark (shared vs exclusive handles; ingest with 0
# and 4 reader processes beside it, and their query latency). No peers, no downloads.
if [[ "${1:-}" == "--processes" ]]; then
  shift
  cargo build --release --quiet -p quiver-benches
  exec target/release/quiver-bench --processes --out results "$@"
fi
VENV="$CACHE/venv-bench"
# --ann: only the ANN scenario (benches/src/ann.rs, docs/ann.md): Quiver's IVF-PQ with 8-bit
# and 4-bit fast-scan codes against hnswlib and FAISS's fast scan, on Cranfield (its questions),
# WordNet x MiniLM (usage examples; "what does the word X mean?" questions) and GloVe.
if [[ "${1:-}" == "--ann" ]]; then
  shift
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r benches/peers/requirements.txt
  MODEL=$(scripts/fetch_model.sh)
  WORDNET=$(scripts/fetch_wordnet.sh)
  WORDNET_NPY=$(scripts/wordnet_vectors.sh)
  scripts/fetch_glove.sh
  python3 benches/peers/wordnet_examples.py "$(ls "$CACHE"/wordnet/dl/wordnet-base_*.deb | head -n 1)" \
    "$CACHE/wordnet/examples.txt" 1000
  cargo build --release --quiet -p quiver-benches
  exec target/release/quiver-bench --ann --no-synthetic --python "$VENV/bin/python" \
    --glove "$CACHE/glove" --wordnet "$WORDNET_NPY" --embed-model "$MODEL" \
    --ann-examples "$CACHE/wordnet/examples.txt" --ann-definitions "$WORDNET" --out results "$@"
fi
# --fulltext: only the BM25 scenario (Quiver vs tantivy and bm25s) on Cranfield (its 225
# queries) and the 117k WordNet definitions (1000 usage examples as queries).
if [[ "${1:-}" == "--fulltext" ]]; then
  shift
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r benches/peers/requirements.txt
  WORDNET=$(scripts/fetch_wordnet.sh)
  python3 benches/peers/wordnet_examples.py "$(ls "$CACHE"/wordnet/dl/wordnet-base_*.deb | head -n 1)" \
    "$CACHE/wordnet/examples.txt" 1000
  python3 -c 'import json,sys; [print(json.loads(l)["text"]) for l in sys.stdin]' \
    < <(python3 scripts/cranfield_jsonl.py) > "$CACHE/cranfield-abstracts.txt"
  awk '/^\.I/{if (q != "") print q; q=""; w=0; next} /^\.W/{w=1; next} w{q = q (q == "" ? "" : " ") $0} END{print q}' \
    tests/fixtures/cranfield/cran.qry > "$CACHE/cranfield-queries.txt"
  cargo build --release --quiet -p quiver-benches
  exec target/release/quiver-bench --python "$VENV/bin/python" \
    --fulltext "cranfield=$CACHE/cranfield-abstracts.txt,$CACHE/cranfield-queries.txt" \
    --fulltext "wordnet=$WORDNET,$CACHE/wordnet/examples.txt" --out results "$@"
fi
# --python-binding: Quiver from Rust and through `import quiver` (the release build of the
# module), and sqlite-vec, LanceDB, Chroma through their Python APIs, on WordNet x MiniLM.
if [[ "${1:-}" == "--python-binding" ]]; then
  shift
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r benches/peers/requirements.txt
  WORDNET_NPY=$(scripts/wordnet_vectors.sh)
  cargo build --release --quiet -p quiver-python -p quiver-benches
  ln -sf ../../target/release/lib_quiver.so python/quiver/_quiver.abi3.so
  PYTHONPATH="$PWD/python" exec target/release/quiver-bench --python-binding --python "$VENV/bin/python" \
    --wordnet "$WORDNET_NPY" --out results "$@"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet -r benches/peers/requirements.txt
scripts/fetch_glove.sh
cargo build --release --quiet -p quiver-benches
out=results
# The WordNet x MiniLM vectors join when scripts/wordnet_vectors.sh has made them (~13 min).
wordnet=()
[[ -s "$CACHE/wordnet/minilm.npy" ]] && wordnet=(--wordnet "$CACHE/wordnet/minilm.npy")
bench() {
  target/release/quiver-bench --python "$VENV/bin/python" --glove "$CACHE/glove" "${wordnet[@]}" \
    --out "$out" "$@"
  # Plots (recall/QPS curves, costs) from the results file this scenario just wrote.
  "$VENV/bin/python" benches/peers/plot.py "$(ls -t "$out"/*.json | head -n 1)"
}
args=()
all=false
for a in "$@"; do
  if [[ "$a" == "--all" ]]; then all=true; else args+=("$a"); fi
done
if $all; then
  bench --ivf "${args[@]}"
  bench --filters "${args[@]}"
  bench --stores "${args[@]}"
else
  bench "${args[@]}"
fi
