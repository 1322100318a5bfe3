"""Writes the Cranfield abstracts (tests/fixtures/cranfield) as JSONL for `quiver import`:
{"id": "<.I>", "text": "<.W abstract>", "payload": {"title": "<.T>", "source": "<.B>"}} per line.
Documents without an abstract are skipped (Quiver refuses to embed empty text)."""
import json, sys

path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/cranfield/cran.all.1400"
records, field = [], None
for line in open(path, encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith(".I "):
        records.append({"id": line[3:].strip()})
        field = None
    elif len(line) == 2 and line.startswith("."):
        field = line[1]
    elif field and records:
        r = records[-1]
        r[field] = (r.get(field, "") + " " + line.strip()).strip()
for r in records:
    if r.get("W"):
        print(json.dumps({"id": r["id"], "text": r["W"],
                          "payload": {"title": r.get("T", ""), "source": r.get("B", "")}}))
