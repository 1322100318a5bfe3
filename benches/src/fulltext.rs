//! The full-text scenario (`--fulltext`): BM25 indexing and single-query latency of Quiver
//! against tantivy and bm25s (benches/peers/fulltext.py) on the same texts and queries in
//! the same run, plus hybrid latency against dense-only and the index's size per document.
//!
//! Quiver indexes as records arrive: the text index is declared on the empty collection and
//! every batch of `COMMIT_EVERY` records is one durable transaction (records, postings,
//! lengths, statistics); tantivy commits (fsyncs) every `COMMIT_EVERY` documents; bm25s
//! indexes in memory. Also timed: declaring the index on the populated collection (bulk).
//! Hybrid and dense latencies use random unit vectors of 384 dimensions (their cost does not
//! depend on their values): labelled as such.

use crate::measure::Stats;
use quiver::{
    CollectionConfig, Database, Hybrid, Metric, Query, Record, SearchOptions, TextIndexParams,
};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const COMMIT_EVERY: usize = 1000;
const K: usize = 10;
const DIM: usize = 384;

#[derive(Clone)]
pub struct Corpus {
    pub name: String,
    pub docs: PathBuf,
    pub queries: PathBuf,
}

pub fn parse(s: &str) -> Result<Corpus, String> {
    let (name, rest) = s.split_once('=').ok_or("NAME=DOCS,QUERIES")?;
    let (docs, queries) = rest.split_once(',').ok_or("NAME=DOCS,QUERIES")?;
    Ok(Corpus {
        name: name.into(),
        docs: docs.into(),
        queries: queries.into(),
    })
}

fn lines(path: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::to_owned)
        .collect())
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64() * 1e3)
}

fn unit_vector(rng: &mut impl Rng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.random::<f32>() - 0.5).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

pub fn run(c: &Corpus, python: Option<&Path>) -> Result<Value, Box<dyn std::error::Error>> {
    let docs = lines(&c.docs)?;
    let queries: Vec<String> = lines(&c.queries)?
        .into_iter()
        .map(|q| {
            // Quiver's syntax reads a leading '-' as "exclude": plain words, as the peers get.
            q.split_whitespace()
                .map(|w| w.trim_start_matches(['+', '-']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|q| !q.trim().is_empty())
        .collect();
    let tmp = tempfile::tempdir()?;
    let db = Database::create(tmp.path().join("ft.qvr"))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let records: Vec<Record> = docs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Record::new(format!("d{i}"), unit_vector(&mut rng)).with_payload(json!({ "t": t }))
        })
        .collect();
    // Incremental: index declared first, durable batches.
    let coll = db.create_collection("inc", CollectionConfig::new(DIM, Metric::Cosine))?;
    coll.create_text_index(&TextIndexParams::fields(["t"]))?;
    let (r, ingest_ms) = timed(|| {
        records
            .chunks(COMMIT_EVERY)
            .try_for_each(|chunk| coll.upsert(chunk))
    });
    r?;
    // The same records without the text index, to separate its cost from the records'.
    let plain = db.create_collection("plain", CollectionConfig::new(DIM, Metric::Cosine))?;
    let (r, plain_ms) = timed(|| {
        records
            .chunks(COMMIT_EVERY)
            .try_for_each(|chunk| plain.upsert(chunk))
    });
    r?;
    let (info, bulk_ms) = timed(|| plain.create_text_index(&TextIndexParams::fields(["t"])));
    let info = info?;
    coll.load()?;
    // Single keyword queries; one warm-up pass first.
    let options = SearchOptions::new(K).include_payload(false);
    for q in queries.iter().take(50) {
        coll.search(Query::Keywords(q), &options)?;
    }
    let mut keyword_ms = Vec::new();
    let mut answered = 0;
    for q in &queries {
        let (hits, ms) = timed(|| coll.search(Query::Keywords(q), &options));
        match hits {
            Ok(h) => {
                answered += usize::from(!h.is_empty());
                keyword_ms.push(ms);
            }
            // Queries of stop words only: refused, not timed (the peers return nothing).
            Err(quiver::Error::InvalidKeywords { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let vectors: Vec<Vec<f32>> = (0..queries.len()).map(|_| unit_vector(&mut rng)).collect();
    let mut dense_ms = Vec::new();
    let mut hybrid_ms = Vec::new();
    for (q, v) in queries.iter().zip(&vectors) {
        let (r, ms) = timed(|| coll.search(v, &options));
        r?;
        dense_ms.push(ms);
        let (r, ms) = timed(|| coll.search(Hybrid::new(v, q), &options));
        match r {
            Ok(_) => hybrid_ms.push(ms),
            Err(quiver::Error::InvalidKeywords { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let quiver = json!({
        "engine": "quiver",
        "ingest_docs_per_s": docs.len() as f64 / (ingest_ms / 1e3),
        "ingest_without_text_index_docs_per_s": docs.len() as f64 / (plain_ms / 1e3),
        "bulk_index_s": bulk_ms / 1e3,
        "bulk_docs_per_s": docs.len() as f64 / (bulk_ms / 1e3),
        "index_bytes": info.bytes,
        "index_bytes_per_doc": info.bytes as f64 / docs.len() as f64,
        "blocks": info.blocks,
        "keyword_ms": Stats::of(keyword_ms.clone()),
        "keyword_qps": keyword_ms.len() as f64 / (keyword_ms.iter().sum::<f64>() / 1e3),
        "queries_with_hits": answered,
        "dense_ms_random_384d": Stats::of(dense_ms),
        "hybrid_ms_random_384d": Stats::of(hybrid_ms),
    });
    let mut peers = Vec::new();
    if let Some(py) = python {
        let queries_file = tmp.path().join("queries.txt");
        std::fs::write(&queries_file, queries.join("\n") + "\n")?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/fulltext.py");
        let out = Command::new(py)
            .arg(script)
            .arg(&c.docs)
            .arg(&queries_file)
            .arg(COMMIT_EVERY.to_string())
            .output()?;
        if !out.status.success() {
            return Err(format!("fulltext.py: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        let v: Value = serde_json::from_slice(&out.stdout)?;
        for p in v["peers"].as_array().cloned().unwrap_or_default() {
            let lat: Vec<f64> = serde_json::from_value(p["single_ms"].clone())?;
            let qps = lat.len() as f64 / (lat.iter().sum::<f64>() / 1e3);
            peers.push(json!({
                "engine": p["engine"],
                "ingest_docs_per_s": p["docs_per_s"],
                "durable": p.get("durable").cloned().unwrap_or(json!(true)),
                "index_bytes": p["index_bytes"],
                "index_bytes_per_doc": p["index_bytes"].as_f64().unwrap_or(0.0) / docs.len() as f64,
                "keyword_ms": Stats::of(lat),
                "keyword_qps": qps,
            }));
        }
    }
    Ok(json!({
        "corpus": c.name,
        "docs": docs.len(),
        "queries": queries.len(),
        "commit_every": COMMIT_EVERY,
        "k": K,
        "quiver": quiver,
        "peers": peers,
    }))
}

pub fn markdown(results: &[Value]) -> String {
    let mut md = String::from(
        "| corpus | engine | ingest docs/s | keyword p50 ms | p90 ms | QPS | index B/doc |\n|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let row = |e: &Value| {
            format!(
                "| {} ({} docs, {} queries) | {} | {:.0} | {:.3} | {:.3} | {:.0} | {:.0} |\n",
                r["corpus"].as_str().unwrap_or(""),
                r["docs"],
                r["queries"],
                e["engine"].as_str().unwrap_or(""),
                e["ingest_docs_per_s"].as_f64().unwrap_or(0.0),
                e["keyword_ms"]["median"].as_f64().unwrap_or(0.0),
                e["keyword_ms"]["p90"].as_f64().unwrap_or(0.0),
                e["keyword_qps"].as_f64().unwrap_or(0.0),
                e["index_bytes_per_doc"].as_f64().unwrap_or(0.0),
            )
        };
        md.push_str(&row(&r["quiver"]));
        for p in r["peers"].as_array().into_iter().flatten() {
            md.push_str(&row(p));
        }
        let q = &r["quiver"];
        md.push_str(&format!(
            "| | quiver: bulk index {:.2} s; ingest without the text index {:.0} docs/s; dense p50 {:.3} ms, hybrid p50 {:.3} ms (random 384-d vectors, flat) | | | | | |\n",
            q["bulk_index_s"].as_f64().unwrap_or(0.0),
            q["ingest_without_text_index_docs_per_s"].as_f64().unwrap_or(0.0),
            q["dense_ms_random_384d"]["median"].as_f64().unwrap_or(0.0),
            q["hybrid_ms_random_384d"]["median"].as_f64().unwrap_or(0.0),
        ));
    }
    md
}
