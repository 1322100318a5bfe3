//! The embedded-stores scenario (`--stores`): Quiver and the stores an application would link
//! instead of it — usearch, sqlite-vec, LanceDB, Chroma (`benches/peers/stores.py`) — on the
//! same data, back to back: durable ingest in batches of 1000, file size, flat (exact) search,
//! each engine's ANN index swept over its own knob, filtered search (every vector carries an
//! integer attribute `bucket`, `filters::bucket` of its position; the filter `bucket < 100`
//! keeps 10%), and cold open + first query in a fresh process with the memory that process
//! holds after answering every query.
//!
//! Ground truth (exact top-10 row numbers) is computed once per dataset and query set and kept
//! in `$QUIVER_CACHE/truth/` so every engine and every run is scored against the same answer.

use crate::Args;
use crate::datasets::Dataset;
use crate::filters::bucket;
use crate::measure::{Stats, proc_status_mb};
use quiver::filter::Filter;
use quiver::{CollectionConfig, Database, IvfPqParams, PayloadIndexKind, Record, SearchRequest};
use quiver_vecfile::{Matrix, read_npy, write_npy};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const K: usize = 10;
const BATCH: usize = 1000;
/// Filtered search keeps rows with `bucket < FILTER_LIMIT` (buckets are 0..1000): 10%.
const FILTER_LIMIT: i64 = 100;
pub const PEERS: [&str; 4] = ["usearch", "sqlite-vec", "lancedb", "chroma"];

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// One setting of an engine's search knob (or its flat search): recall@10 and single-query QPS
/// over the rounds.
#[derive(Serialize)]
pub struct Point {
    pub param: String,
    pub recall_at_10: f64,
    pub qps: Stats,
}

#[derive(Serialize)]
pub struct EngineRun {
    pub engine: String,
    pub version: String,
    /// What "committed" means for this engine's ingest.
    pub durability: String,
    pub ingest_vectors_per_s: f64,
    /// Vectors per second of each batch of 1000 (median, p90, min, max).
    pub ingest_batch_rate: Stats,
    pub file_bytes_per_vector: f64,
    /// Quiver only: the file after `Database::compact` (redb keeps the pages a big index
    /// build freed until then).
    pub compacted_bytes_per_vector: Option<f64>,
    pub flat: Option<Point>,
    pub index_build_s: Option<f64>,
    pub knob: Option<String>,
    pub ann: Vec<Point>,
    /// Search with the filter `bucket < 100` at the engine's default settings.
    pub filtered: Option<Point>,
    /// Fresh process: open the stored database (what the engine does before a first query).
    pub cold_open_ms: Stats,
    /// Fresh process: open the stored database and answer the first query.
    pub cold_open_first_query_ms: Stats,
    /// Resident memory that process gained by opening and answering every query.
    pub cold_rss_mb: Stats,
}

#[derive(Serialize)]
pub struct StoresResult {
    pub dataset: String,
    pub rows: usize,
    pub dim: usize,
    pub metric: String,
    pub queries: usize,
    pub rounds: usize,
    pub nlist: usize,
    pub m: usize,
    pub engines: Vec<EngineRun>,
}

/// Runs Quiver and every peer of `engines` on `d` (its first `rows` vectors).
pub fn run(d: &Dataset, args: &Args, engines: &[String]) -> Res<StoresResult> {
    let rows = args.stores_rows.unwrap_or(d.base.rows).min(d.base.rows);
    let nq = args.ivf_queries.min(d.queries.rows);
    let rounds = if args.quick { 2 } else { 3 };
    let dir = tempfile::tempdir()?;
    let base = Matrix {
        rows,
        dim: d.base.dim,
        data: d.base.data[..rows * d.base.dim].to_vec(),
    };
    let queries = Matrix {
        rows: nq,
        dim: d.queries.dim,
        data: d.queries.data[..nq * d.queries.dim].to_vec(),
    };
    let base_path = dir.path().join("base.npy");
    let queries_path = dir.path().join("queries.npy");
    let buckets_path = dir.path().join("buckets.npy");
    write_npy(&base_path, &base)?;
    write_npy(&queries_path, &queries)?;
    // Buckets are below 1000, exact in f32.
    write_npy(
        &buckets_path,
        &Matrix {
            rows,
            dim: 1,
            data: (0..rows).map(|i| bucket(i) as f32).collect(),
        },
    )?;

    let name = if rows == d.base.rows {
        d.name.clone()
    } else {
        format!("{}-first{}k", d.name, rows / 1000)
    };
    let (quiver, [truth, ftruth], nlist, m) =
        quiver_run(&base, &queries, d, &name, dir.path(), rounds)?;
    let truth_path = dir.path().join("truth.json");
    std::fs::write(
        &truth_path,
        serde_json::to_string(&TruthFile { ids: truth })?,
    )?;
    let ftruth_path = dir.path().join("filtered-truth.json");
    std::fs::write(
        &ftruth_path,
        serde_json::to_string(&TruthFile { ids: ftruth })?,
    )?;
    let mut runs = vec![quiver];
    for engine in engines {
        let Some(py) = &args.python else { break };
        eprintln!("  {engine}:");
        match peer_run(
            py,
            engine,
            &dir.path().join(engine),
            [
                &base_path,
                &queries_path,
                &truth_path,
                &buckets_path,
                &ftruth_path,
            ],
            d,
            rounds,
            (nlist, m),
        ) {
            Ok(r) => runs.push(r),
            Err(e) => eprintln!("  {engine} failed, left out: {e}"),
        }
    }
    Ok(StoresResult {
        dataset: name,
        rows,
        dim: d.base.dim,
        metric: d.metric.name().into(),
        queries: nq,
        rounds,
        nlist,
        m,
        engines: runs,
    })
}

#[derive(Serialize, Deserialize)]
struct TruthFile {
    ids: Vec<Vec<usize>>,
}

fn cache_dir() -> PathBuf {
    std::env::var_os("QUIVER_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/quiver")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
}

/// Exact top-K row numbers of every query (among the rows `filter` keeps): read from the
/// cache, or computed by Quiver's exact search and cached under `key`.
pub fn ground_truth(
    c: &quiver::Collection,
    key: &str,
    queries: &Matrix,
    filter: Option<&Filter>,
) -> Res<Vec<Vec<usize>>> {
    let path = cache_dir()
        .join("truth")
        .join(format!("{key}-{}q-k{K}.json", queries.rows));
    if let Ok(text) = std::fs::read_to_string(&path) {
        let t: TruthFile = serde_json::from_str(&text)?;
        if t.ids.len() == queries.rows {
            return Ok(t.ids);
        }
    }
    let t = Instant::now();
    let ids = (0..queries.rows)
        .map(|i| {
            let mut req = SearchRequest::new(queries.row(i), K)
                .exact(true)
                .include_payload(false);
            if let Some(f) = filter {
                req = req.filter(f);
            }
            c.search_with(&req)?
                .into_iter()
                .map(|h| Ok(h.id.parse::<usize>()?))
                .collect::<Res<Vec<usize>>>()
        })
        .collect::<Res<Vec<_>>>()?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(
        &path,
        serde_json::to_string(&TruthFile { ids: ids.clone() })?,
    )?;
    eprintln!(
        "  ground truth computed in {:.1} s, cached in {}",
        t.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(ids)
}

/// Single-query passes over `queries`: recall@K against `truth` and QPS per round.
fn measure(
    rounds: usize,
    queries: &Matrix,
    truth: &[Vec<usize>],
    search: impl Fn(&[f32]) -> Res<Vec<usize>>,
    param: String,
) -> Res<Point> {
    search(queries.row(0))?;
    let mut qps = Vec::new();
    let mut found = 0;
    for round in 0..rounds {
        let t = Instant::now();
        for (i, truth) in truth.iter().enumerate() {
            let ids = search(queries.row(i))?;
            if round == 0 {
                let truth: HashSet<&usize> = truth.iter().collect();
                found += ids.iter().filter(|id| truth.contains(id)).count();
            }
        }
        qps.push(queries.rows as f64 / t.elapsed().as_secs_f64());
    }
    Ok(Point {
        param,
        recall_at_10: found as f64 / (queries.rows * K) as f64,
        qps: Stats::of(qps),
    })
}

fn row_ids(hits: Vec<quiver::Hit>) -> Res<Vec<usize>> {
    hits.into_iter().map(|h| Ok(h.id.parse()?)).collect()
}

/// Quiver's figures, the ground truth (unfiltered, filtered), nlist and m.
type QuiverRun = (EngineRun, [Vec<Vec<usize>>; 2], usize, usize);

fn quiver_run(
    base: &Matrix,
    queries: &Matrix,
    d: &Dataset,
    name: &str,
    dir: &Path,
    rounds: usize,
) -> Res<QuiverRun> {
    eprintln!("  quiver:");
    let path = dir.join("quiver.qvr");
    Database::create(&path)?
        .create_collection("bench", CollectionConfig::new(base.dim, d.metric))?
        .create_payload_index("bucket", PayloadIndexKind::Integer)?;
    let mut rates = Vec::new();
    let t = Instant::now();
    {
        let db = Database::open(&path)?;
        let c = db.collection("bench")?;
        for first in (0..base.rows).step_by(BATCH) {
            let batch: Vec<Record> = (first..(first + BATCH).min(base.rows))
                .map(|i| {
                    Record::new(i.to_string(), base.row(i).to_vec())
                        .with_payload(serde_json::json!({ "bucket": bucket(i) }))
                })
                .collect();
            let tb = Instant::now();
            c.upsert(&batch)?;
            rates.push(batch.len() as f64 / tb.elapsed().as_secs_f64());
        }
    }
    let ingest = base.rows as f64 / t.elapsed().as_secs_f64();
    eprintln!("    ingest {ingest:.0} vectors/s");

    let db = Database::open(&path)?;
    let c = db.collection("bench")?;
    let truth = ground_truth(&c, name, queries, None)?;
    let filter = Filter::field("bucket").lt(FILTER_LIMIT);
    let ftruth = ground_truth(
        &c,
        &format!("{name}-bucket-lt{FILTER_LIMIT}"),
        queries,
        Some(&filter),
    )?;
    let flat = measure(
        rounds,
        queries,
        &truth,
        |q| {
            let req = SearchRequest::new(q, K).exact(true).include_payload(false);
            row_ids(c.search_with(&req)?)
        },
        "exact".into(),
    )?;
    eprintln!(
        "    flat recall {:.3} QPS {:.0}",
        flat.recall_at_10, flat.qps.median
    );
    let t = Instant::now();
    let info = c
        .create_index(IvfPqParams::default())?
        .as_ivf_pq()
        .cloned()
        .ok_or("the build returned another index")?;
    let build_s = t.elapsed().as_secs_f64();
    let mut ann = Vec::new();
    for refine in [2usize, 4] {
        for nprobe in [1usize, 2, 4, 8, 16, 32, 64, 128, 256] {
            if nprobe > info.nlist {
                continue;
            }
            let p = measure(
                rounds,
                queries,
                &truth,
                |q| {
                    let req = SearchRequest::new(q, K)
                        .include_payload(false)
                        .nprobe(nprobe)
                        .refine(refine);
                    row_ids(c.search_with(&req)?)
                },
                format!("({nprobe}, {refine})"),
            )?;
            eprintln!(
                "    nprobe, refine = {}: recall {:.3} QPS {:.0}",
                p.param, p.recall_at_10, p.qps.median
            );
            ann.push(p);
        }
    }
    let filtered = measure(
        rounds,
        queries,
        &ftruth,
        |q| {
            let req = SearchRequest::new(q, K)
                .include_payload(false)
                .filter(&filter);
            row_ids(c.search_with(&req)?)
        },
        "defaults".into(),
    )?;
    eprintln!(
        "    filtered bucket < {FILTER_LIMIT}: recall {:.3} QPS {:.0}",
        filtered.recall_at_10, filtered.qps.median
    );
    drop(c);
    drop(db);
    let file_bytes = std::fs::metadata(&path)?.len() as f64;
    let (_, compacted) = Database::compact(&path)?;
    let queries_path = dir.join("queries.npy");
    let cold_one = || -> Res<Cold> {
        let out = Command::new(std::env::current_exe()?)
            .arg("--cold-open")
            .arg(&path)
            .arg("--cold-queries")
            .arg(&queries_path)
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let cold = ColdStats::of(
        &(0..rounds + 2)
            .map(|_| cold_one())
            .collect::<Res<Vec<_>>>()?,
    );
    eprintln!(
        "    cold open {:.2} ms, + first query {:.1} ms",
        cold.open_ms.median, cold.open_first_query_ms.median
    );
    let run = EngineRun {
        engine: "quiver".into(),
        version: format!("quiver {}", env!("CARGO_PKG_VERSION")),
        durability: "one redb transaction per batch, fsynced (Durability::Immediate)".into(),
        ingest_vectors_per_s: ingest,
        ingest_batch_rate: Stats::of(rates),
        file_bytes_per_vector: file_bytes / base.rows as f64,
        compacted_bytes_per_vector: Some(compacted as f64 / base.rows as f64),
        flat: Some(flat),
        index_build_s: Some(build_s),
        knob: Some("nprobe, refine".into()),
        ann,
        filtered: Some(filtered),
        cold_open_ms: cold.open_ms,
        cold_open_first_query_ms: cold.open_first_query_ms,
        cold_rss_mb: cold.rss_mb,
    };
    Ok((run, [truth, ftruth], info.nlist, info.m))
}

#[derive(Serialize, Deserialize)]
struct Cold {
    open_ms: f64,
    open_first_query_ms: f64,
    rss_mb: f64,
}

/// Medians (and spread) of cold runs.
struct ColdStats {
    open_ms: Stats,
    open_first_query_ms: Stats,
    rss_mb: Stats,
}

impl ColdStats {
    fn of(runs: &[Cold]) -> ColdStats {
        ColdStats {
            open_ms: Stats::of(runs.iter().map(|c| c.open_ms).collect()),
            open_first_query_ms: Stats::of(runs.iter().map(|c| c.open_first_query_ms).collect()),
            rss_mb: Stats::of(runs.iter().map(|c| c.rss_mb).collect()),
        }
    }
}

/// `quiver-bench --cold-open DB --cold-queries Q.npy` (run by `quiver_run` in a fresh process):
/// open, first query at default search parameters, then the other queries; prints a `Cold`.
pub fn cold_open(db_path: &Path, queries_path: &Path) -> Res<()> {
    let queries = read_npy(queries_path)?;
    let base_rss = proc_status_mb("VmRSS:");
    let t = Instant::now();
    let db = Database::open(db_path)?;
    let c = db.collection("bench")?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    c.search_with(&SearchRequest::new(queries.row(0), K).include_payload(false))?;
    let open_first_query_ms = t.elapsed().as_secs_f64() * 1e3;
    for i in 1..queries.rows {
        c.search_with(&SearchRequest::new(queries.row(i), K).include_payload(false))?;
    }
    let cold = Cold {
        open_ms,
        open_first_query_ms,
        rss_mb: proc_status_mb("VmRSS:") - base_rss,
    };
    println!("{}", serde_json::to_string(&cold)?);
    Ok(())
}

#[derive(Deserialize)]
struct PeerPoint {
    recall: f64,
    qps: Vec<f64>,
    #[serde(default)]
    param: serde_json::Value,
}

#[derive(Deserialize)]
struct PeerOut {
    version: String,
    durability: String,
    rows: usize,
    ingest_s: f64,
    ingest_batch_rates: Vec<f64>,
    file_bytes: u64,
    flat: Option<PeerPoint>,
    build_s: Option<f64>,
    knob: Option<String>,
    #[serde(default)]
    ann: Vec<PeerPoint>,
    filtered: Option<PeerPoint>,
    cold: Vec<Cold>,
}

fn point(p: PeerPoint) -> Point {
    let param = match p.param {
        serde_json::Value::Null => "exact".into(),
        serde_json::Value::Array(v) => format!(
            "({})",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        v => v.to_string(),
    };
    Point {
        param,
        recall_at_10: p.recall,
        qps: Stats::of(p.qps),
    }
}

fn peer_run(
    python: &Path,
    engine: &str,
    workdir: &Path,
    [base, queries, truth, buckets, ftruth]: [&PathBuf; 5],
    d: &Dataset,
    rounds: usize,
    (nlist, m): (usize, usize),
) -> Res<EngineRun> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/stores.py");
    let out = Command::new(python)
        .arg(script)
        .arg(engine)
        .arg(workdir)
        .args([base, queries, truth])
        .arg(d.metric.name())
        .args([K, rounds, nlist, m].map(|x| x.to_string()))
        .arg(buckets)
        .arg(FILTER_LIMIT.to_string())
        .arg(ftruth)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("{engine} peer exited with {}", out.status).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().ok_or("peer printed nothing")?;
    let p: PeerOut = serde_json::from_str(line)?;
    let cold = ColdStats::of(&p.cold);
    Ok(EngineRun {
        engine: engine.into(),
        version: p.version,
        durability: p.durability,
        ingest_vectors_per_s: p.rows as f64 / p.ingest_s,
        ingest_batch_rate: Stats::of(p.ingest_batch_rates),
        file_bytes_per_vector: p.file_bytes as f64 / p.rows as f64,
        compacted_bytes_per_vector: None,
        flat: p.flat.map(point),
        index_build_s: p.build_s,
        knob: p.knob,
        ann: p.ann.into_iter().map(point).collect(),
        filtered: p.filtered.map(|f| Point {
            param: "defaults".into(),
            ..point(f)
        }),
        cold_open_ms: cold.open_ms,
        cold_open_first_query_ms: cold.open_first_query_ms,
        cold_rss_mb: cold.rss_mb,
    })
}
