//! Many processes on one file (`--processes`): what sharing costs and what a reader sees
//! beside a writer, on synthetic vectors (`BASE` × `DIM`, cosine), all in one run:
//! - the per-call cost of a shared handle (it checks for other processes' commits) against an
//!   exclusive one: `count()` and an exact top-10 search, one call at a time, in rounds that
//!   alternate between the two;
//! - durable ingest (batches of `BATCH`), shared against exclusive (a shared commit syncs
//!   twice and saves the allocator state);
//! - durable ingest of `WRITES` batches with 0 and with 4 reader processes searching in a
//!   loop, and those readers' query latency (p50/p99) while the writer works and with no
//!   writer. Readers are this program (`--processes-reader DB SECONDS`), one query at a time.
//!
//! Writes `results/<date>-processes.{json,md}`.

use crate::measure::Stats;
use quiver::{CollectionConfig, Database, Metric, Record, SearchOptions};
use serde::Serialize;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DIM: usize = 128;
const BATCH: usize = 100;
const K: usize = 10;
const ROUNDS: usize = 3;

#[derive(Serialize)]
pub struct Report {
    pub base_rows: usize,
    pub dim: usize,
    pub batch: usize,
    /// Median microseconds of one call: (shared, exclusive).
    pub count_us: (f64, f64),
    pub search_us: (f64, f64),
    /// Durable ingest, vectors per second: (shared, exclusive).
    pub ingest_per_s: (f64, f64),
    pub beside: Vec<Beside>,
}

#[derive(Serialize)]
pub struct Beside {
    pub readers: usize,
    /// The writer's durable ingest while the readers ran (none when `writes` is 0).
    pub ingest_per_s: Option<f64>,
    pub writes: usize,
    /// Every reader query's latency, milliseconds.
    pub reader_ms: Option<Latency>,
}

#[derive(Serialize)]
pub struct Latency {
    pub queries: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    quiver_tests::random_vectors(n, DIM, seed)
}

fn records(vs: &[Vec<f32>], first: usize) -> Vec<Record> {
    vs.iter()
        .enumerate()
        .map(|(i, v)| Record::new((first + i).to_string(), v.clone()))
        .collect()
}

fn fill(db: &Database, base: &[Vec<f32>]) -> Result<(), Box<dyn std::error::Error>> {
    let c = db.create_collection("bench", CollectionConfig::new(DIM, Metric::Cosine))?;
    for (b, chunk) in base.chunks(10_000).enumerate() {
        c.upsert(&records(chunk, b * 10_000))?;
    }
    Ok(())
}

/// Median microseconds of `f` over `n` calls (after one warm-up call).
fn median_us(n: usize, mut f: impl FnMut() -> quiver::Result<()>) -> quiver::Result<f64> {
    f()?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok(Stats::of(v).median)
}

/// Durable ingest of `batches` batches of `BATCH` new vectors, vectors per second.
fn ingest(c: &quiver::Collection, batches: usize, seed: u64) -> quiver::Result<f64> {
    let first = c.count()? as usize;
    let vs = vectors(batches * BATCH, seed);
    let t = Instant::now();
    for (b, chunk) in vs.chunks(BATCH).enumerate() {
        c.upsert(&records(chunk, first + b * BATCH))?;
    }
    Ok((batches * BATCH) as f64 / t.elapsed().as_secs_f64())
}

pub fn run(
    dir: &Path,
    base_rows: usize,
    writes: usize,
) -> Result<Report, Box<dyn std::error::Error>> {
    let base = vectors(base_rows, 1);
    let query = vectors(1, 99).remove(0);
    let path = dir.join("processes.qvr");
    fill(&Database::create(&path)?, &base)?;
    let options = SearchOptions::new(K).exact(true).include_payload(false);
    // Each handle: calls on the same collection, then ingest into a fresh one of its own.
    let per_call = |db: &Database, name: &str| -> quiver::Result<(f64, f64, f64)> {
        let c = db.collection("bench")?;
        let count = median_us(2000, || c.count().map(|_| ()))?;
        let search = median_us(200, || c.search(&query[..], options.clone()).map(|_| ()))?;
        let fresh = db.create_collection(name, CollectionConfig::new(DIM, Metric::Cosine))?;
        let ingest = ingest(&fresh, 50, 7)?;
        db.drop_collection(name)?;
        Ok((count, search, ingest))
    };
    // Rounds alternate between the two kinds of handle (they cannot be open together), so a
    // drift in the machine's speed hits both; each figure is the median of the rounds.
    let (mut shared_runs, mut exclusive_runs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        shared_runs.push(per_call(&Database::open(&path)?, "ingest-shared")?);
        exclusive_runs.push(per_call(
            &Database::builder().exclusive(true).open(&path)?,
            "ingest-exclusive",
        )?);
    }
    let median = |runs: &[(f64, f64, f64)]| {
        (
            Stats::of(runs.iter().map(|r| r.0).collect()).median,
            Stats::of(runs.iter().map(|r| r.1).collect()).median,
            Stats::of(runs.iter().map(|r| r.2).collect()).median,
        )
    };
    let (shared, exclusive) = (median(&shared_runs), median(&exclusive_runs));
    eprintln!("processes: per call shared {shared:?}, exclusive {exclusive:?}");
    let mut beside = Vec::new();
    for readers in [0usize, 1, 4] {
        // Readers alone first (no writer), then beside the writer.
        if readers > 0 {
            let idle = spawn_readers(&path, readers, 3.0)?;
            beside.push(Beside {
                readers,
                ingest_per_s: None,
                writes: 0,
                reader_ms: Some(collect(idle)?),
            });
        }
        let db = Database::open(&path)?;
        let c = db.collection("bench")?;
        // Readers run for as long as the writer does, give or take.
        let running = spawn_readers(&path, readers, 0.0)?;
        let rate = ingest(&c, writes, 1000 + readers as u64)?;
        let reader_ms = if readers > 0 {
            Some(collect(running)?)
        } else {
            None
        };
        eprintln!("processes: {readers} readers: ingest {rate:.0}/s, readers {reader_ms:?}");
        beside.push(Beside {
            readers,
            ingest_per_s: Some(rate),
            writes,
            reader_ms,
        });
    }
    Ok(Report {
        base_rows,
        dim: DIM,
        batch: BATCH,
        count_us: (shared.0, exclusive.0),
        search_us: (shared.1, exclusive.1),
        ingest_per_s: (shared.2, exclusive.2),
        beside,
    })
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} queries p50 {:.2} ms p99 {:.2} ms max {:.1} ms",
            self.queries, self.p50, self.p99, self.max
        )
    }
}

struct Readers(Vec<std::process::Child>);

/// `n` reader processes; each searches until `seconds` pass (0: until its stdin closes).
/// Returns once each has opened the file and answered its first query.
fn spawn_readers(path: &Path, n: usize, seconds: f64) -> std::io::Result<Readers> {
    let exe = std::env::current_exe()?;
    let mut children = (0..n)
        .map(|_| {
            Command::new(&exe)
                .arg("--processes-reader")
                .arg(path)
                .arg("--processes-reader-seconds")
                .arg(seconds.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    for child in &mut children {
        if let Some(err) = child.stderr.take() {
            let mut line = String::new();
            BufReader::new(err).read_line(&mut line)?;
            if line.trim() != "ready" {
                return Err(std::io::Error::other(format!("reader said {line:?}")));
            }
        }
    }
    Ok(Readers(children))
}

/// Waits for the readers (closing their stdin first) and pools their latencies.
fn collect(mut readers: Readers) -> Result<Latency, Box<dyn std::error::Error>> {
    let mut all = Vec::new();
    for child in &mut readers.0 {
        drop(child.stdin.take());
    }
    for child in readers.0 {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err("a reader process failed".into());
        }
        for line in BufReader::new(&out.stdout[..]).lines() {
            all.push(line?.parse::<f64>()?);
        }
    }
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
    if all.is_empty() {
        return Err("the readers ran no query".into());
    }
    Ok(Latency {
        queries: all.len(),
        p50: at(0.5),
        p99: at(0.99),
        max: all[all.len() - 1],
    })
}

/// The reader process: opens `db` read-only and runs exact top-10 searches one at a time,
/// printing each one's milliseconds, for `seconds` (0: until stdin closes).
pub fn reader(db: &Path, seconds: f64) -> Result<(), Box<dyn std::error::Error>> {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if seconds <= 0.0 {
        let flag = done.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
            }
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let db = Database::open_read_only(db)?;
    let c = db.collection("bench")?;
    let queries = vectors(64, 5);
    let options = SearchOptions::new(K).exact(true).include_payload(false);
    // The first query loads the collection: not part of the measured loop.
    c.search(&queries[0][..], options.clone())?;
    eprintln!("ready");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds.max(0.0));
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let finished = if seconds > 0.0 {
            Instant::now() >= deadline
        } else {
            done.load(std::sync::atomic::Ordering::SeqCst)
        };
        if finished {
            break;
        }
        let t = Instant::now();
        c.search(&queries[i % queries.len()][..], options.clone())?;
        out.push(t.elapsed().as_secs_f64() * 1e3);
        i += 1;
    }
    let text: String = out.iter().map(|ms| format!("{ms:.4}\n")).collect();
    print!("{text}");
    Ok(())
}

pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "## Many processes on one file ({} × {}, cosine; batches of {}; durable)\n\n\
         | | shared handle | exclusive handle |\n|---|---|---|\n\
         | `count()` median | {:.2} µs | {:.2} µs |\n\
         | exact top-{K} search median | {:.0} µs | {:.0} µs |\n\
         | durable ingest | {:.0} vec/s | {:.0} vec/s |\n\n\
         | readers | writer's ingest | reader queries | reader p50 | reader p99 | max |\n\
         |---|---|---|---|---|---|\n",
        r.base_rows,
        r.dim,
        r.batch,
        r.count_us.0,
        r.count_us.1,
        r.search_us.0,
        r.search_us.1,
        r.ingest_per_s.0,
        r.ingest_per_s.1
    );
    for b in &r.beside {
        let ingest = b
            .ingest_per_s
            .map_or("— (no writer)".to_owned(), |v| format!("{v:.0} vec/s"));
        match &b.reader_ms {
            Some(l) => s.push_str(&format!(
                "| {} | {ingest} | {} | {:.2} ms | {:.2} ms | {:.1} ms |\n",
                b.readers, l.queries, l.p50, l.p99, l.max
            )),
            None => s.push_str(&format!("| {} | {ingest} | — | — | — | — |\n", b.readers)),
        }
    }
    s
}
