//! Child program for the crash test: writes batches forever into a database and prints
//! `ack N` after batch N's upsert returned. The parent kills it with SIGKILL at a random
//! moment and checks that every acknowledged batch is whole.
//!
//! Usage: crash_writer DB_PATH FIRST_BATCH

use quiver::{
    CollectionConfig, Database, IvfPqParams, Metric, MultiIndexParams, MultiRecord,
    PayloadIndexKind, Record, TextIndexParams,
};
use quiver_tests::crash_matrix;
use quiver_tests::{CRASH_BATCH, CRASH_DIM, crash_vector};
use serde_json::json;
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: crash_writer DB_PATH FIRST_BATCH")?;
    let first: u64 = args.next().ok_or("missing FIRST_BATCH")?.parse()?;
    let db = Database::create(&path)?;
    let coll = match db.collection("crash") {
        Ok(c) => c,
        Err(quiver::Error::CollectionNotFound { .. }) => {
            db.create_collection("crash", CollectionConfig::new(CRASH_DIM, Metric::L2))?
        }
        Err(e) => return Err(e.into()),
    };
    // A multi-vector collection gets one record per batch, with a token index.
    let tokens = match db.collection("tokens") {
        Ok(c) => c,
        Err(quiver::Error::CollectionNotFound { .. }) => db.create_collection(
            "tokens",
            CollectionConfig::multi_vector(CRASH_DIM, Metric::Cosine),
        )?,
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    for b in first.. {
        let records: Vec<Record> = (0..CRASH_BATCH)
            .map(|i| {
                Record::new(format!("b{b}-{i}"), crash_vector(b, i, CRASH_DIM))
                    .with_payload(json!({"batch": b, "i": i, "pad": "x".repeat(200),
                        "words": format!("w{b} item{i} shared crash words")}))
            })
            .collect();
        coll.upsert(&records)?;
        tokens
            .upsert_multi(&[MultiRecord::new(format!("t{b}"), crash_matrix(b))
                .with_payload(json!({"batch": b}))])?;
        // The first run indexes the collection after its first batch: from then on every
        // batch also maintains the IVF-PQ postings, and the parent's check covers them.
        if b == 0 {
            coll.create_index(IvfPqParams::default().nlist(4).m(4))?;
            // And a payload index, maintained by every later upsert and delete.
            coll.create_payload_index("batch", PayloadIndexKind::Integer)?;
            // And a full-text index over a string field: postings, lengths and statistics
            // in every later batch's transaction.
            coll.create_text_index(&TextIndexParams::fields(["words"]))?;
            tokens.create_multi_index(&MultiIndexParams::default().centroids(4))?;
        }
        // Every 20 batches (from batch 10) the index is rebuilt, alternately with 4-bit
        // (fast-scan) and 8-bit codes: a kill may land in the swap, and both code sizes are
        // maintained by later batches.
        if b % 20 == 10 {
            let bits = if (b / 20) % 2 == 0 { 4 } else { 8 };
            coll.create_index(IvfPqParams::default().nlist(4).m(4).bits(bits))?;
        }
        // Every third batch also deletes half of the batch before it.
        if b % 3 == 2 && b > first {
            let ids: Vec<String> = (0..CRASH_BATCH / 2)
                .map(|i| format!("b{}-{i}", b - 1))
                .collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            coll.delete(&refs)?;
            tokens.delete(&[format!("t{}", b - 1).as_str()])?;
            writeln!(out, "del {}", b - 1)?;
        }
        writeln!(out, "ack {b}")?;
        out.flush()?;
    }
    Ok(())
}
