#!/usr/bin/env bash
# Runs Quiver's benchmark suite with its peers on the same data in the same run.
#   benches/run.sh [--quick] [other quiver-bench flags]
# Sets up a private venv with the pinned peers (benches/peers/requirements.txt), fetches GloVe
# (scripts/fetch_glove.sh), builds the runner in release mode and writes results/<date>.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"
VENV="$CACHE/venv-bench"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet -r benches/peers/requirements.txt
scripts/fetch_glove.sh
cargo build --release --quiet -p quiver-benches
out=results
target/release/quiver-bench --python "$VENV/bin/python" --glove "$CACHE/glove" --out "$out" "$@"
# Recall/QPS plots for IVF-PQ sweeps (--ivf), from the newest results file.
latest=$(ls -t "$out"/*.json | head -n 1)
"$VENV/bin/python" benches/peers/plot.py "$latest"
