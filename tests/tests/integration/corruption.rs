//! Corruption: random damage to a closed database file (bytes flipped, a page zeroed or
//! overwritten, the file truncated). Opening — with or without verification
//! (`verify_on_open`) — and reading everything gives the original data or a typed error, never
//! a panic and never different data: redb checks page checksums only when verifying, so every
//! stored value carries its own checksum (format version 2, `quiver_storage::seal`), and
//! redb's panics on damaged pages become `Corrupted`.

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
            Record::new(format!("r{i}"), vector(i)).with_payload(
                json!({"g": i % 5, "s": "y".repeat(i % 50), "t": format!("w{i} common")}),
            )
        })
        .collect();
    c.upsert(&records).unwrap();
    c.create_index(IvfPqParams::default().nlist(8)).unwrap();
    c.create_text_index(&quiver::TextIndexParams::fields(["t"]))
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
    // The full-text index: postings, lengths and statistics as written.
    let hits = c.search(quiver::Query::Keywords("w10"), 5)?;
    if hits.len() != 1 || hits[0].id != "r10" {
        return Ok(Read::Differs("keyword search".into()));
    }
    if c.search(quiver::Query::Keywords("common"), 1000)?.len() != 597 {
        return Ok(Read::Differs("keyword count".into()));
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
    let (mut refused, mut intact, mut verify_refused) = (0, 0, 0);
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
                    panic!("case {case} (verify {verify}): damaged data read silently: {what}")
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
        "corruption: 150 damaged files x 2 opens: {refused} refused ({verify_refused} by verification), {intact} read back intact, none read wrong"
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

/// `fuzz/seeds/open_file/small.qvr`, the fuzzer's starting database, is built by this test
/// (both collection kinds, payloads, a payload index, an IVF-PQ and a token index) and must
/// open and check with this build, so a format change cannot leave the fuzzer starting from
/// files it refuses at the header. `QUIVER_BLESS=1` rewrites it.
#[test]
fn fuzz_seed_database_is_current() {
    use quiver::{MultiIndexParams, MultiRecord};
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/open_file/small.qvr");
    if std::env::var_os("QUIVER_BLESS").is_some() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small.qvr");
        {
            let db = Database::create(&path).unwrap();
            let c = db
                .create_collection("v", CollectionConfig::new(4, Metric::Cosine))
                .unwrap();
            c.create_payload_index("g", PayloadIndexKind::Integer)
                .unwrap();
            let records: Vec<Record> = (0..40)
                .map(|i| {
                    Record::new(format!("v{i}"), vector(i)[..4].to_vec())
                        .with_payload(json!({"g": i % 3, "t": "x".repeat(i % 7)}))
                })
                .collect();
            c.upsert(&records).unwrap();
            c.create_index(IvfPqParams::default().nlist(4)).unwrap();
            let m = db
                .create_collection("m", CollectionConfig::multi_vector(4, Metric::Dot))
                .unwrap();
            let docs: Vec<MultiRecord> = (0..12)
                .map(|i| {
                    let tokens = (0..1 + i % 4).map(|t| vector(i * 5 + t)[..4].to_vec());
                    MultiRecord::new(format!("m{i}"), tokens.collect())
                })
                .collect();
            m.upsert_multi(&docs).unwrap();
            m.create_multi_index(&MultiIndexParams::default().centroids(4))
                .unwrap();
        }
        // Compacted, so the seed is small.
        Database::compact(&path).unwrap();
        std::fs::copy(&path, &seed).unwrap();
    }
    // Read-only: checking the committed seed must not change a byte of it.
    let before = std::fs::read(&seed).unwrap();
    let db = Database::open_read_only(&seed).unwrap_or_else(|e| {
        panic!(
            "{} does not open ({e}); rerun with QUIVER_BLESS=1",
            seed.display()
        )
    });
    for name in ["v", "m"] {
        db.collection(name).unwrap().check().unwrap();
    }
    drop(db);
    assert!(
        std::fs::read(&seed).unwrap() == before,
        "a read-only open wrote to the file"
    );
}
