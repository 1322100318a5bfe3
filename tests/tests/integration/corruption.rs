//! Corruption: random damage to a closed database file (bytes flipped, a page zeroed or
//! overwritten, the file truncated). Opening with verification (`verify_on_open`) and reading
//! everything gives the original data or a typed error. Without verification it never
//! panics (redb's panics on damaged pages become `Corrupted`), but pages are read unchecked,
//! so damage inside a data page can go unnoticed: counted and reported, a known gap.

use quiver::{CollectionConfig, Database, Error, IvfPqParams, Metric, PayloadIndexKind, Record};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

fn vector(i: usize) -> Vec<f32> {
    (0..16)
        .map(|j| ((i * 13 + j * 5) % 23) as f32 - 11.0)
        .collect()
}

fn build(path: &Path) {
    let db = Database::create(path).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(16, Metric::L2))
        .unwrap();
    c.create_payload_index("g", PayloadIndexKind::Integer)
        .unwrap();
    let records: Vec<Record> = (0..600)
        .map(|i| {
            Record::new(format!("r{i}"), vector(i))
                .with_payload(json!({"g": i % 5, "s": "y".repeat(i % 50)}))
        })
        .collect();
    c.upsert(&records).unwrap();
    c.create_index(&IvfPqParams {
        nlist: Some(8),
        ..Default::default()
    })
    .unwrap();
    c.delete(&["r1", "r2", "r3"]).unwrap();
}

/// What reading everything gave.
#[derive(Debug, PartialEq)]
enum Read {
    Intact,
    /// Some record read back different from what was written, without an error.
    Differs(String),
}

/// Reads everything and compares it with what `build` wrote.
fn read_all(path: &Path, verify: bool) -> Result<Read, Error> {
    let db = Database::builder().verify_on_open(verify).open(path)?;
    let c = db.collection("c")?;
    c.check()?;
    let ids = c.ids()?;
    if ids.len() != 597 {
        return Ok(Read::Differs(format!("{} records", ids.len())));
    }
    for i in (0..600).filter(|i| ![1, 2, 3].contains(i)) {
        let Some(r) = c.get(&format!("r{i}"))? else {
            return Ok(Read::Differs(format!("r{i} missing")));
        };
        if r.vector != vector(i) || r.payload.as_ref().map(|p| p["g"].clone()) != Some(json!(i % 5))
        {
            return Ok(Read::Differs(format!("r{i} changed")));
        }
    }
    if c.search(&vector(10), 1)?[0].id != "r10" {
        return Ok(Read::Differs("search".into()));
    }
    // 120 records have g = 2, minus the deleted r2.
    if c.count_where(&quiver::Filter::field("g").eq(2))? != 119 {
        return Ok(Read::Differs("filter count".into()));
    }
    Ok(Read::Intact)
}

#[test]
fn damaged_files_are_refused_or_read_correctly_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.qvr");
    build(&clean);
    let original = std::fs::read(&clean).unwrap();
    let path = dir.path().join("damaged.qvr");
    let mut rng = StdRng::seed_from_u64(3);
    let (mut refused, mut intact, mut verify_refused, mut unverified_wrong) = (0, 0, 0, 0);
    for case in 0..150 {
        let mut bytes = original.clone();
        let page = 4096;
        match case % 4 {
            0 => {
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => {
                let p = rng.random_range(0..bytes.len() / page);
                bytes[p * page..(p + 1) * page].fill(0);
            }
            2 => {
                let p = rng.random_range(0..bytes.len() / page);
                let junk: Vec<u8> = (0..page).map(|_| rng.random()).collect();
                bytes[p * page..(p + 1) * page].copy_from_slice(&junk);
            }
            _ => bytes.truncate(rng.random_range(0..bytes.len())),
        }
        std::fs::write(&path, &bytes).unwrap();
        for verify in [true, false] {
            match catch_unwind(AssertUnwindSafe(|| read_all(&path, verify))) {
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    panic!("case {case} (verify {verify}): panicked: {what}");
                }
                Ok(Ok(Read::Intact)) => intact += 1,
                Ok(Ok(Read::Differs(what))) => {
                    // With verification on, damage is refused; without it, redb reads pages
                    // unchecked (a known gap: see the reliability issue's note).
                    assert!(
                        !verify,
                        "case {case}: verified open read damaged data: {what}"
                    );
                    unverified_wrong += 1;
                }
                Ok(Err(e)) => {
                    if verify {
                        verify_refused += 1;
                    }
                    refused += 1;
                    assert!(
                        matches!(
                            e,
                            Error::Corrupted { .. }
                                | Error::NotAQuiverDatabase { .. }
                                | Error::Io { .. }
                                | Error::CollectionNotFound { .. }
                        ),
                        "case {case}: unexpected error {e:?}"
                    );
                }
            }
        }
    }
    eprintln!(
        "corruption: 150 damaged files x 2 opens: {refused} refused ({verify_refused} by verification), {intact} read back intact, {unverified_wrong} read wrong without verification"
    );
}

/// Files the fuzzer (fuzz/, target `open_file`) once crashed on, replayed: opening, reading
/// and writing each returns values or errors, never a panic or an abort.
#[test]
fn fuzz_regressions_of_open_file() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/open_file");
    let inputs: Vec<_> = std::fs::read_dir(&dir)
        .expect("fuzz/regressions/open_file")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(!inputs.is_empty());
    for input in inputs {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.qvr");
        std::fs::copy(&input, &path).unwrap();
        let Ok(db) = Database::open(&path) else {
            continue;
        };
        for info in db.collections().unwrap_or_default() {
            if let Ok(c) = db.collection(&info.name) {
                let _ = c.check();
                let _ = c.count();
            }
        }
        // The write that once left redb's locks poisoned and aborted the process on rollback.
        let created = db.create_collection("new", CollectionConfig::new(2, Metric::L2));
        if let Ok(c) = created {
            let _ = c.upsert(&[Record::new("x", vec![1.0, 2.0])]);
        }
        let _ = db.create_collection("again", CollectionConfig::new(2, Metric::L2));
    }
}
