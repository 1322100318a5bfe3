//! Opening files that are missing, foreign, newer, damaged, shared or locked.

use quiver::{CollectionConfig, Database, Error, Metric, Record};
use redb::ReadableTable;
use std::path::Path;

fn make_db(path: &std::path::Path) {
    let db = Database::create(path).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(4, Metric::L2))
        .unwrap();
    let recs: Vec<Record> = (0..500)
        .map(|i| Record::new(i.to_string(), vec![i as f32; 4]))
        .collect();
    c.upsert(&recs).unwrap();
}

#[test]
fn missing_file_is_not_found_and_create_makes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.qvr");
    assert!(matches!(Database::open(&path), Err(Error::NotFound { .. })));
    Database::create(&path).unwrap();
    assert!(Database::open(&path).is_ok());
}

#[test]
fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello, this is not a database").unwrap();
    assert!(matches!(
        Database::open(&text),
        Err(Error::NotAQuiverDatabase { .. })
    ));
    assert!(matches!(
        Database::create(&text),
        Err(Error::NotAQuiverDatabase { .. })
    ));
    // A redb file some other program wrote.
    let other = dir.path().join("other.redb");
    {
        let db = redb::Database::create(&other).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<u64, u64>::new("stuff"))
            .unwrap()
            .insert(1, 2)
            .unwrap();
        txn.commit().unwrap();
    }
    assert!(matches!(
        Database::open(&other),
        Err(Error::NotAQuiverDatabase { .. })
    ));
}

/// Rewrites the format version in a closed database's header.
fn set_format_version(path: &Path, version: u32) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let def = redb::TableDefinition::<&str, &[u8]>::new("quiver.meta");
        let mut meta = txn.open_table(def).unwrap();
        let mut header = meta.get("header").unwrap().unwrap().value().to_vec();
        header[8..12].copy_from_slice(&version.to_le_bytes());
        meta.insert("header", header.as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn newer_format_version_is_unsupported_not_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.qvr");
    make_db(&path);
    set_format_version(&path, 99);
    match Database::open(&path) {
        Err(Error::UnsupportedVersion {
            found: 99,
            supported: 2,
        }) => {}
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

/// Version 1 files (before per-value checksums) are refused with UpgradeRequired, not read as
/// if their values were checked.
#[test]
fn format_version_1_requires_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.qvr");
    make_db(&path);
    set_format_version(&path, 1);
    match Database::open(&path) {
        Err(Error::UpgradeRequired {
            found: 1,
            supported: 2,
        }) => {}
        other => panic!("expected UpgradeRequired, got {other:?}"),
    }
}

#[test]
fn damaged_files_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.qvr");
    make_db(&path);
    let original = std::fs::read(&path).unwrap();
    // Truncated to a few sizes, and with pages overwritten in the middle.
    for cut in [10, 100, 4096, original.len() / 2] {
        std::fs::write(&path, &original[..cut.min(original.len())]).unwrap();
        let r = Database::open(&path).and_then(|db| db.collection("c")?.check());
        assert!(
            r.is_err(),
            "truncated to {cut} bytes yet opened and checked fine"
        );
    }
    let mut damaged = original.clone();
    for b in damaged.iter_mut().skip(4096).take(original.len() - 8192) {
        *b = 0xAB;
    }
    std::fs::write(&path, &damaged).unwrap();
    let r = Database::builder().verify_on_open(true).open(&path);
    assert!(
        matches!(r, Err(Error::Corrupted { .. })),
        "damaged file opened with verification: {r:?}"
    );
}

#[test]
fn handles_share_a_file_unless_one_is_exclusive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.qvr");
    // Two shared handles in one process (each is its own open of the file, as another
    // process's would be): a write through one is seen by the other's next call.
    let a = Database::create(&path).unwrap();
    let b = Database::open(&path).unwrap();
    let ca = a
        .create_collection("c", CollectionConfig::new(4, Metric::L2))
        .unwrap();
    ca.upsert(&[Record::new("x", vec![1.0; 4])]).unwrap();
    let cb = b.collection("c").unwrap();
    assert_eq!(cb.count().unwrap(), 1);
    cb.upsert(&[Record::new("y", vec![2.0; 4])]).unwrap();
    assert_eq!(ca.search(&[2.0f32; 4][..], 1).unwrap()[0].id, "y");
    // An exclusive open needs the file to itself.
    let r = Database::builder()
        .exclusive(true)
        .busy_timeout(std::time::Duration::ZERO)
        .open(&path);
    assert!(matches!(r, Err(Error::Locked { .. })), "got {r:?}");
    drop((ca, cb, a, b));
    let x = Database::builder().exclusive(true).open(&path).unwrap();
    let r = Database::builder()
        .busy_timeout(std::time::Duration::ZERO)
        .open(&path);
    assert!(
        matches!(
            r,
            Err(Error::Locked {
                holder: quiver::LockHolder::Exclusive,
                ..
            })
        ),
        "got {r:?}"
    );
    drop(x);
    assert!(Database::open(&path).is_ok());
    // Options that contradict each other are refused before the file is touched.
    let r = Database::builder().exclusive(true).open_read_only(&path);
    assert!(
        matches!(
            r,
            Err(Error::InvalidParameter {
                name: "exclusive",
                ..
            })
        ),
        "got {r:?}"
    );
    let r = Database::builder()
        .durability(quiver::Durability::Relaxed)
        .exclusive(false)
        .open(&path);
    assert!(
        matches!(
            r,
            Err(Error::InvalidParameter {
                name: "durability",
                ..
            })
        ),
        "got {r:?}"
    );
    // Relaxed durability alone makes the handle exclusive.
    let relaxed = Database::builder()
        .durability(quiver::Durability::Relaxed)
        .open(&path)
        .unwrap();
    let r = Database::builder()
        .busy_timeout(std::time::Duration::ZERO)
        .open_read_only(&path);
    assert!(matches!(r, Err(Error::Locked { .. })), "got {r:?}");
    drop(relaxed);
    // A read-only open of a missing file is NotFound; it never creates one.
    let missing = dir.path().join("absent.qvr");
    assert!(matches!(
        Database::open_read_only(&missing),
        Err(Error::NotFound { .. })
    ));
    assert!(!missing.exists());
}
