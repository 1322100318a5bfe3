"""BM25 peers for quiver-bench --fulltext: tantivy (Python bindings of the Rust engine) and
bm25s, on the same corpus and queries as Quiver, in the same run.

Usage: python fulltext.py CORPUS QUERIES COMMIT_EVERY   (one text per line each)
Prints one JSON object: per engine, indexing time and docs/s, index bytes, and single-query
latencies (ms, k = 10) for every query.

- tantivy: the analyzer closest to Quiver's — simple tokenizer, lowercase, English stop words,
  English stemmer (registered as "quiver_like") — a commit (durable: tantivy fsyncs its
  segment files) every COMMIT_EVERY documents, one indexing thread; queries through
  `Index.parse_query` over the field, with words only (the parser's syntax characters
  removed), timed with the parse; `search(query, 10, count=False)` (top-k only, as Quiver;
  counting every match would force tantivy to score them all).
- bm25s: method "lucene", its tokenizer with English stop words and PyStemmer's English
  stemmer; indexing in memory (then saved, to measure its size); queries tokenised and
  retrieved one at a time (k = 10), timed with the tokenising.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time

WORD = re.compile(r"\w+")


def words_only(q):
    return " ".join(WORD.findall(q))


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def bench_tantivy(docs, queries, commit_every):
    import tantivy

    tmp = tempfile.mkdtemp()
    try:
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("row", stored=True, indexed=False)
        builder.add_text_field("body", stored=False, tokenizer_name="quiver_like")
        schema = builder.build()
        index = tantivy.Index(schema, path=tmp)
        analyzer = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.stopword("english"))
            .filter(tantivy.Filter.stemmer("english"))
            .build()
        )
        index.register_tokenizer("quiver_like", analyzer)
        writer = index.writer(heap_size=200_000_000, num_threads=1)
        t = time.perf_counter()
        for i, text in enumerate(docs):
            writer.add_document(tantivy.Document(row=i, body=text))
            if (i + 1) % commit_every == 0:
                writer.commit()
        writer.commit()
        writer.wait_merging_threads()
        indexing = time.perf_counter() - t
        index.reload()
        searcher = index.searcher()
        lat = []
        for q in queries:
            q = words_only(q)
            t = time.perf_counter()
            query = index.parse_query(q, ["body"])
            hits = searcher.search(query, 10, count=False).hits
            lat.append((time.perf_counter() - t) * 1e3)
            assert len(hits) <= 10
        return {"engine": "tantivy " + getattr(tantivy, "__version__", ""), "index_s": indexing,
                "docs_per_s": len(docs) / indexing, "index_bytes": dir_bytes(tmp), "single_ms": lat}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_bm25s(docs, queries):
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    t = time.perf_counter()
    tokens = bm25s.tokenize(docs, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    retriever.index(tokens, show_progress=False)
    indexing = time.perf_counter() - t
    tmp = tempfile.mkdtemp()
    try:
        retriever.save(tmp)
        size = dir_bytes(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lat = []
    for q in queries:
        t = time.perf_counter()
        qt = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        if len(qt.vocab) > 0:
            retriever.retrieve(qt, k=min(10, len(docs)), show_progress=False)
        lat.append((time.perf_counter() - t) * 1e3)
    return {"engine": "bm25s " + bm25s.__version__, "index_s": indexing,
            "docs_per_s": len(docs) / indexing, "index_bytes": size, "single_ms": lat,
            "durable": False}


def main():
    corpus, queries, commit_every = sys.argv[1], sys.argv[2], int(sys.argv[3])
    docs = open(corpus, encoding="utf-8").read().splitlines()
    qs = open(queries, encoding="utf-8").read().splitlines()
    print(json.dumps({"peers": [bench_tantivy(docs, qs, commit_every), bench_bm25s(docs, qs)]}))


if __name__ == "__main__":
    main()
