//! Runs one dataset through Quiver and FAISS.

use crate::Args;
use crate::datasets::Dataset;
use quiver::vecfile::{Matrix, write_npy};
use quiver::{CollectionConfig, Database, Record, SearchRequest};
use serde::Serialize;
use std::process::Command;
use std::time::Instant;

#[derive(Serialize, Default)]
pub struct Stats {
    pub median: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(mut v: Vec<f64>) -> Stats {
        if v.is_empty() {
            return Stats::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Stats {
            median: at(0.5),
            p90: at(0.9),
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

#[derive(Serialize)]
pub struct EngineResult {
    pub engine: String,
    pub single_ms: Stats,
    pub batch_qps: f64,
    pub batch_qps_runs: Vec<f64>,
}

#[derive(Serialize)]
pub struct DatasetResult {
    pub dataset: String,
    pub rows: usize,
    pub dim: usize,
    pub metric: String,
    pub ingest_vectors_per_s: f64,
    pub file_bytes_per_vector: f64,
    pub open_ms: f64,
    pub load_ms: f64,
    pub rss_mb_after_load: f64,
    pub quiver: EngineResult,
    pub faiss: Option<EngineResult>,
    /// Mean overlap of Quiver's and FAISS's top-10 ids over the batched queries (1.0 = the
    /// same neighbours; both are exact, so anything lower means ties or a bug).
    pub agreement_at_10: Option<f64>,
}

const K: usize = 10;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn run(d: &Dataset, args: &Args) -> Result<DatasetResult, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.qvr");
    let n = d.base.rows;

    // Durable ingest: batches of 1000, each its own fsynced transaction, into a collection
    // created beforehand (the `quiver create` + `quiver import` flow). redb's file size after
    // close depends on allocation history: ingesting through the handle that created the
    // collection leaves ~1.6x more file behind until compaction (see docs/benchmarks.md).
    Database::create(&path)?
        .create_collection("bench", CollectionConfig::new(d.base.dim, d.metric))?;
    let t = Instant::now();
    {
        let db = Database::open(&path)?;
        let c = db.collection("bench")?;
        let mut batch = Vec::with_capacity(1000);
        for i in 0..n {
            batch.push(Record::new(i.to_string(), d.base.row(i).to_vec()));
            if batch.len() == 1000 || i + 1 == n {
                c.upsert(&batch)?;
                batch.clear();
            }
        }
    }
    let ingest = n as f64 / t.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(&path)?.len() as f64;
    eprintln!(
        "  ingest: {ingest:.0} vectors/s, {:.0} bytes/vector",
        file_bytes / n as f64
    );

    let t = Instant::now();
    let db = Database::open(&path)?;
    let c = db.collection("bench")?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    c.load()?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss = rss_mb();

    let nq_single = args.single.min(d.queries.rows);
    let mut lat = Vec::with_capacity(nq_single);
    c.search_with(&SearchRequest::new(d.queries.row(0), K).include_payload(false))?;
    for i in 0..nq_single {
        let t = Instant::now();
        c.search_with(&SearchRequest::new(d.queries.row(i), K).include_payload(false))?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let nb = args.batch.min(d.queries.rows);
    let batch_queries: Vec<&[f32]> = (0..nb).map(|i| d.queries.row(i)).collect();
    let mut qps_runs = Vec::new();
    let mut quiver_ids = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let res = c.search_batch(&batch_queries, K)?;
        qps_runs.push(nb as f64 / t.elapsed().as_secs_f64());
        quiver_ids = res;
    }
    let quiver = EngineResult {
        engine: "quiver".into(),
        single_ms: Stats::of(lat),
        batch_qps: Stats::of(qps_runs.clone()).median,
        batch_qps_runs: qps_runs,
    };
    eprintln!(
        "  quiver: single {:.3} ms median, batched {:.0} QPS",
        quiver.single_ms.median, quiver.batch_qps
    );

    let (faiss, agreement) = match &args.python {
        Some(py) => {
            let base = dir.path().join("base.npy");
            let queries = dir.path().join("queries.npy");
            write_npy(&base, &d.base)?;
            write_npy(
                &queries,
                &Matrix {
                    rows: nb,
                    dim: d.queries.dim,
                    data: d.queries.data[..nb * d.queries.dim].to_vec(),
                },
            )?;
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/faiss_flat.py");
            let out = Command::new(py)
                .arg(script)
                .arg(&base)
                .arg(&queries)
                .arg(d.metric.name())
                .arg(K.to_string())
                .arg(nq_single.to_string())
                .output()?;
            if !out.status.success() {
                return Err(format!(
                    "faiss peer failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
            let lat: Vec<f64> = serde_json::from_value(v["single_ms"].clone())?;
            let batch_s: Vec<f64> = v["batch_s_all"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_f64())
                        .map(|s| nb as f64 / s)
                        .collect()
                })
                .unwrap_or_default();
            let ids: Vec<Vec<i64>> = serde_json::from_value(v["ids"].clone())?;
            let agree = quiver_ids
                .iter()
                .zip(&ids)
                .map(|(q, f)| {
                    q.iter()
                        .filter(|h| f.iter().any(|&x| x.to_string() == h.id))
                        .count() as f64
                        / K as f64
                })
                .sum::<f64>()
                / nb as f64;
            let r = EngineResult {
                engine: format!(
                    "faiss {} ({} threads)",
                    v["version"].as_str().unwrap_or("?"),
                    v["threads"]
                ),
                single_ms: Stats::of(lat),
                batch_qps: Stats::of(batch_s.clone()).median,
                batch_qps_runs: batch_s,
            };
            eprintln!(
                "  faiss: single {:.3} ms median, batched {:.0} QPS, agreement@10 {agree:.4}",
                r.single_ms.median, r.batch_qps
            );
            (Some(r), Some(agree))
        }
        None => (None, None),
    };
    Ok(DatasetResult {
        dataset: d.name.clone(),
        rows: n,
        dim: d.base.dim,
        metric: d.metric.name().into(),
        ingest_vectors_per_s: ingest,
        file_bytes_per_vector: file_bytes / n as f64,
        open_ms,
        load_ms,
        rss_mb_after_load: rss,
        quiver,
        faiss,
        agreement_at_10: agreement,
    })
}
