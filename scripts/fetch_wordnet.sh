#!/usr/bin/env bash
# Fetches WordNet 3.0 (Debian package wordnet-base) and writes its 117k synset definitions as
# plain text, one per line, to $QUIVER_CACHE/wordnet/definitions.txt (default ~/.cache/quiver):
# "lemma, lemma: gloss" with the gloss cut before its first quoted usage example. Prints the
# file's path. Idempotent.
set -euo pipefail
CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"
OUT="$CACHE/wordnet"
if [[ -s "$OUT/definitions.txt" ]]; then
  echo "$OUT/definitions.txt"
  exit 0
fi
mkdir -p "$OUT/dl"
( cd "$OUT/dl" && { ls wordnet-base_*.deb >/dev/null 2>&1 || apt-get download wordnet-base >&2; } )
deb=$(ls "$OUT/dl"/wordnet-base_*.deb | head -n 1)
rm -rf "$OUT/x" && dpkg-deb -x "$deb" "$OUT/x"
python3 - "$OUT/x/usr/share/wordnet" "$OUT/definitions.txt.tmp" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
n = 0
with open(dst, "w", encoding="utf-8") as out:
    for pos in ("noun", "verb", "adj", "adv"):
        for line in open(f"{src}/data.{pos}", encoding="latin-1"):
            if line.startswith("  "):
                continue  # licence header
            head, _, gloss = line.partition(" | ")
            f = head.split()
            words = [f[4 + 2 * i].replace("_", " ") for i in range(int(f[3], 16))]
            definition = gloss.split('; "')[0].strip()
            if definition:
                out.write(f"{', '.join(words)}: {definition}\n")
                n += 1
print(n, file=sys.stderr)
PY
mv "$OUT/definitions.txt.tmp" "$OUT/definitions.txt"
rm -rf "$OUT/x"
echo "$OUT/definitions.txt"
