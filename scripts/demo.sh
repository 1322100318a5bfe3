#!/usr/bin/env bash
# The main job: import GloVe 6B 50d (400,000 real word vectors) into a Quiver database file and
# answer nearest-word queries, with timings.
#   QUIVER_CACHE   where data and the database go (default ~/.cache/quiver)
#   QUIVER_WORDS   words to query (default: "king france computer frog tokyo")
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"
WORDS="${QUIVER_WORDS:-king france computer frog tokyo}"

scripts/fetch_glove.sh
cargo build --release --quiet -p quiver-cli
Q=target/release/quiver
DB="$CACHE/glove.qvr"
rm -f "$DB"

echo "== create and import (every batch of 1000 committed durably)"
"$Q" create "$DB" glove --dim 50 --metric cosine
"$Q" import "$DB" glove "$CACHE/glove/glove_6B_50d_emb.npy" --ids "$CACHE/glove/words.txt"
"$Q" info "$DB"

echo "== nearest words, exact search (cosine; the word itself comes first with score 1)"
like=()
for w in $WORDS; do like+=(--like "$w"); done
"$Q" search "$DB" glove "${like[@]}" -k 8

echo "== build the IVF-PQ index (parameters derived from the collection), search through it"
"$Q" index "$DB" glove
"$Q" info "$DB"
"$Q" search "$DB" glove "${like[@]}" -k 8
