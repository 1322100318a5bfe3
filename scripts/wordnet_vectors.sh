#!/usr/bin/env bash
# Embeds the 117,659 WordNet definitions (scripts/fetch_wordnet.sh) with all-MiniLM-L6-v2
# (scripts/fetch_model.sh) using `quiver embed`, giving a real 117,659 x 384 vector set for
# ANN benchmarks: $QUIVER_CACHE/wordnet/minilm.npy (float32, row i = line i of
# definitions.txt). Idempotent. About 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"
OUT="$CACHE/wordnet/minilm.npy"
if [[ -s "$OUT" ]]; then
  echo "$OUT"
  exit 0
fi
MODEL=$(scripts/fetch_model.sh)
DEFS=$(scripts/fetch_wordnet.sh)
cargo build --release --quiet -p quiver-cli
target/release/quiver embed --model "$MODEL" --npy "$OUT.tmp.npy" "$DEFS"
mv "$OUT.tmp.npy" "$OUT"
echo "$OUT"
