"""Writes WordNet usage examples as keyword queries for quiver-bench --fulltext: each
synset's first quoted example of at least 20 characters (the known-item task of
../shared/README.md), in a fixed shuffled order, one per line.

Usage: python wordnet_examples.py WORDNET_DEB OUT [N]
"""

import os
import random
import subprocess
import sys
import tempfile


def main():
    deb, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    examples = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        src = os.path.join(tmp, "usr/share/wordnet")
        for pos in ("noun", "verb", "adj", "adv"):
            for line in open(f"{src}/data.{pos}", encoding="latin-1"):
                if line.startswith("  "):
                    continue
                gloss = line.partition(" | ")[2]
                for part in gloss.split('; "')[1:]:
                    ex = part.split('"')[0].strip()
                    if len(ex) >= 20:
                        examples.append(ex)
                        break
    random.Random(7).shuffle(examples)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(examples[:n]) + "\n")


if __name__ == "__main__":
    main()
