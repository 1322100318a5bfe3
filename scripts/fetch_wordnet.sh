#!/usr/bin/env bash
# Fetches WordNet 3.0 (Debian package wordnet-base) and writes its 117k synset definitions as
# plain text, one per line, to $QUIVER_CACHE/wordnet/definitions.txt (default ~/.cache/quiver):
# "lemma, lemma: gloss" with the gloss cut before its first quoted usage example. Prints the
# file's path. Idempotent. The definitions are checked against a pinned sha256 (of the text,
# not the .deb, so a rebuilt Debian package with the same WordNet data still passes).
set -euo pipefail
CACHE="${QUIVER_CACHE:-$HOME/.cache/quiver}"
OUT="$CACHE/wordnet"
SHA256=2cdbb5ab44fbf9ad61ee91cd26c2117111b84ee3e864a7727589242995af0c72
verify() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [[ "$got" != "$SHA256" ]]; then
    echo "fetch_wordnet.sh: $1 has sha256 $got, expected $SHA256" >&2
    exit 1
  fi
}
if [[ -s "$OUT/definitions.txt" ]]; then
  verify "$OUT/definitions.txt"
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
verify "$OUT/definitions.txt.tmp"
mv "$OUT/definitions.txt.tmp" "$OUT/definitions.txt"
rm -rf "$OUT/x"
echo "$OUT/definitions.txt"
