//! Child program for the many-process tests (`tests/integration/processes.rs`): one process
//! of several sharing a database file.
//!
//! Usage:
//! - `share_worker write DB BATCHES` — opens DB shared (creating it and collection
//!   `shared` if needed), upserts BATCHES batches of `SHARE_BATCH` records, printing
//!   `ack B` after each.
//! - `share_worker read DB TARGET` — opens DB read-only and searches and counts until the
//!   collection holds TARGET records, checking on every round that it holds whole batches
//!   only and never fewer records than before; prints `ok ROUNDS` (exit 0) or the first
//!   violation (exit 1).
//! - `share_worker hold DB shared|read-only|exclusive` — opens DB so, prints `held`, and
//!   keeps it open until its stdin closes.
//! - `share_worker watch DB` — opens DB read-only (waiting for it to exist) and, until its
//!   stdin closes, counts, searches and checks every collection's latest state; exits 1 at
//!   the first error. The crash loop runs it beside the writer it kills.

use quiver::{CollectionConfig, Database, Error, Metric, Record, SearchOptions};
use quiver_tests::{SHARE_BATCH, SHARE_DIM, share_vector};
use serde_json::json;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", db, batches] => write(db, batches.parse()?),
        ["read", db, target] => read(db, target.parse()?),
        ["hold", db, mode] => hold(db, mode),
        ["watch", db] => watch(db),
        _ => Err("usage: share_worker write DB BATCHES | read DB TARGET | hold DB MODE".into()),
    }
}

fn write(path: &str, batches: u64) -> Result<()> {
    let db = Database::create(path)?;
    let coll = match db.collection("shared") {
        Ok(c) => c,
        Err(Error::CollectionNotFound { .. }) => {
            db.create_collection("shared", CollectionConfig::new(SHARE_DIM, Metric::L2))?
        }
        Err(e) => return Err(e.into()),
    };
    let first = coll.count()? / SHARE_BATCH;
    let mut out = std::io::stdout().lock();
    for b in first..first + batches {
        let records: Vec<Record> = (0..SHARE_BATCH)
            .map(|i| {
                Record::new(format!("b{b}-{i}"), share_vector(b, i))
                    .with_payload(json!({"batch": b}))
            })
            .collect();
        coll.upsert(&records)?;
        writeln!(out, "ack {b}")?;
        out.flush()?;
    }
    Ok(())
}

fn read(path: &str, target: u64) -> Result<()> {
    let db = Database::open_read_only(path)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = 0;
    let mut rounds = 0u64;
    while last < target {
        if Instant::now() > deadline {
            return Err(format!("gave up at {last} of {target} records").into());
        }
        let coll = match db.collection("shared") {
            Ok(c) => c,
            Err(Error::CollectionNotFound { .. }) => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let count = coll.count()?;
        if count < last || !count.is_multiple_of(SHARE_BATCH) {
            return Err(format!("count {count} after {last}: not whole batches").into());
        }
        if count > 0 {
            // The newest batch this view holds is whole: its last record is there, and an
            // exact search for it finds it first.
            let b = count / SHARE_BATCH - 1;
            let id = format!("b{b}-{}", SHARE_BATCH - 1);
            let hits = coll.search(
                &share_vector(b, SHARE_BATCH - 1)[..],
                SearchOptions::new(3).exact(true).include_payload(true),
            )?;
            if hits.first().map(|h| h.id.as_str()) != Some(id.as_str()) {
                return Err(format!("search for {id} at count {count} found {hits:?}").into());
            }
        }
        last = count;
        rounds += 1;
    }
    println!("ok {rounds}");
    Ok(())
}

fn hold(path: &str, mode: &str) -> Result<()> {
    let db = match mode {
        "shared" => Database::open(path)?,
        "read-only" => Database::open_read_only(path)?,
        "exclusive" => Database::builder().exclusive(true).open(path)?,
        other => return Err(format!("unknown mode {other}").into()),
    };
    println!("held");
    std::io::stdout().flush()?;
    // Until the parent closes our stdin (or dies).
    for line in std::io::stdin().lock().lines() {
        line?;
    }
    drop(db);
    Ok(())
}

fn watch(path: &str) -> Result<()> {
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = closed.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
        }
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let stop = || closed.load(std::sync::atomic::Ordering::SeqCst);
    // The writer creates the file: until it has, there is nothing to read.
    let db = loop {
        match Database::open_read_only(path) {
            Ok(db) => break db,
            Err(Error::NotFound { .. } | Error::NotAQuiverDatabase { .. }) if !stop() => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut rounds = 0u64;
    while !stop() {
        for info in db.collections()? {
            let coll = match db.collection(&info.name) {
                Ok(c) => c,
                // Dropped between the listing and here: a later commit.
                Err(Error::CollectionNotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            // One view: stored tables, memory, indexes and counters agree.
            coll.check()?;
            if info.kind == quiver::CollectionKind::Vectors {
                coll.search(&vec![0.5f32; info.dim][..], 3)?;
            }
        }
        rounds += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("ok {rounds}");
    Ok(())
}
