//! The Python binding's cost (`--python-binding`): the same engine called from Rust and
//! through `import quiver`, and the embedded stores through their own Python APIs, on the
//! same vectors in the same run: durable ingest (batches of 1000), exact search one query at a
//! time, and the same call on a 10-vector collection (what remains there is per-call cost).
//! Python runs `benches/peers/python_binding.py`; `quiver` must be importable there (the run
//! script links the release build of the module). Writes `results/<date>-python.{json,md}`.

use crate::measure::Stats;
use quiver::{CollectionConfig, Database, Metric, Record, SearchOptions};
use quiver_vecfile::{Matrix, write_npy};
use serde::Serialize;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const K: usize = 10;
const ROUNDS: usize = 3;

#[derive(Serialize)]
pub struct EngineRun {
    pub engine: String,
    pub version: String,
    pub ingest_vectors_per_s: f64,
    pub qps: Vec<f64>,
    pub median_us: f64,
    pub tiny_median_us: f64,
}

fn rust_run(
    dir: &Path,
    base: &Matrix,
    queries: &Matrix,
) -> Result<(f64, Vec<f64>, f64), Box<dyn std::error::Error>> {
    let db = Database::create(dir.join(format!("rust-{}.qvr", base.rows)))?;
    let c = db.create_collection("bench", CollectionConfig::new(base.dim, Metric::Cosine))?;
    let t0 = Instant::now();
    for (b, rows) in base.data.chunks(1000 * base.dim).enumerate() {
        let recs: Vec<Record> = rows
            .chunks_exact(base.dim)
            .enumerate()
            .map(|(i, v)| Record::new((b * 1000 + i).to_string(), v.to_vec()))
            .collect();
        c.upsert(&recs)?;
    }
    let ingest = base.rows as f64 / t0.elapsed().as_secs_f64();
    let options = SearchOptions::new(K.min(base.rows)).include_payload(false);
    let q0 = &queries.data[..queries.dim];
    c.search(q0, options.clone())?;
    let (mut qps, mut lat) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for q in queries.data.chunks_exact(queries.dim) {
            let s = Instant::now();
            std::hint::black_box(c.search(q, options.clone())?);
            lat.push(s.elapsed().as_secs_f64() * 1e6);
        }
        qps.push(queries.rows as f64 / t.elapsed().as_secs_f64());
    }
    Ok((ingest, qps, Stats::of(lat).median))
}

pub fn run(
    base: Matrix,
    queries: Matrix,
    python: Option<&Path>,
    peers: &[&str],
) -> Result<Vec<EngineRun>, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    eprintln!("   quiver (rust)");
    let (ingest, qps, median_us) = rust_run(dir.path(), &base, &queries)?;
    let tiny = Matrix {
        rows: 10,
        dim: base.dim,
        data: base.data[..10 * base.dim].to_vec(),
    };
    let (_, _, tiny_median_us) = rust_run(dir.path(), &tiny, &queries)?;
    let mut runs = vec![EngineRun {
        engine: "quiver (rust)".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ingest_vectors_per_s: ingest,
        qps,
        median_us,
        tiny_median_us,
    }];
    let Some(python) = python else {
        return Ok(runs);
    };
    let base_path = dir.path().join("base.npy");
    let queries_path = dir.path().join("queries.npy");
    write_npy(&base_path, &base)?;
    write_npy(&queries_path, &queries)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/python_binding.py");
    for engine in peers {
        eprintln!("   {engine} (python)");
        let work = dir.path().join(format!("work-{engine}"));
        let out = Command::new(python)
            .arg(&script)
            .args([
                *engine,
                &work.to_string_lossy(),
                &base_path.to_string_lossy(),
            ])
            .args([
                &*queries_path.to_string_lossy(),
                &K.to_string(),
                &ROUNDS.to_string(),
            ])
            .output()?;
        if !out.status.success() {
            eprintln!(
                "   {engine} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let num = |key: &str| v[key].as_f64().unwrap_or(f64::NAN);
        runs.push(EngineRun {
            engine: format!("{engine} (python)"),
            version: v["version"].as_str().unwrap_or("?").into(),
            ingest_vectors_per_s: num("ingest_vectors_per_s"),
            qps: v["qps"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default(),
            median_us: num("median_us"),
            tiny_median_us: num("tiny_median_us"),
        });
    }
    Ok(runs)
}

pub fn markdown(rows: usize, dim: usize, runs: &[EngineRun]) -> String {
    let median = |v: &[f64]| Stats::of(v.to_vec()).median;
    let rust = runs.first();
    let mut md = format!(
        "{rows} x {dim} (cosine), exact search one query at a time, k = {K}\n\n\
         | engine | version | durable ingest vec/s | QPS | median µs | 10-vector call µs | call overhead vs Rust µs |\n\
         |---|---|---:|---:|---:|---:|---:|\n"
    );
    for r in runs {
        let over = rust.map_or(f64::NAN, |x| r.tiny_median_us - x.tiny_median_us);
        md.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {:+.1} |\n",
            r.engine,
            r.version,
            r.ingest_vectors_per_s,
            median(&r.qps),
            r.median_us,
            r.tiny_median_us,
            over
        ));
    }
    md
}
