//! Upgrading a format-1 file (values without checksums) with `Database::upgrade`: the copy
//! holds the same records, indexes and payload indexes, answers the same searches and passes
//! `check`. Format-1 files are made here by rewriting a current one table by table (the
//! inverse of the upgrade, written against docs/file-format.md rather than the storage code).

use quiver::{
    CollectionConfig, Database, Error, Filter, IvfPqParams, Metric, MultiIndexParams, MultiRecord,
    MultiSearchRequest, PayloadIndexKind, Record,
};
use redb::{ReadableTable, TableDefinition, TableHandle};
use serde_json::json;
use std::path::Path;

fn vector(i: usize) -> Vec<f32> {
    (0..8)
        .map(|j| ((i * 7 + j * 3) % 13) as f32 - 6.0)
        .collect()
}

fn build(path: &Path) {
    let db = Database::create(path).unwrap();
    let c = db
        .create_collection("v", CollectionConfig::new(8, Metric::Cosine))
        .unwrap();
    c.create_payload_index("g", PayloadIndexKind::Integer)
        .unwrap();
    let records: Vec<Record> = (0..300)
        .map(|i| Record::new(format!("r{i}"), vector(i)).with_payload(json!({"g": i % 4})))
        .collect();
    c.upsert(&records).unwrap();
    c.create_index(IvfPqParams::default().nlist(8)).unwrap();
    c.delete(&["r5"]).unwrap();
    let m = db
        .create_collection("m", CollectionConfig::multi_vector(8, Metric::Dot))
        .unwrap();
    let docs: Vec<MultiRecord> = (0..40)
        .map(|i| {
            MultiRecord::new(
                format!("d{i}"),
                (0..1 + i % 3).map(|t| vector(i + t)).collect(),
            )
        })
        .collect();
    m.upsert_multi(&docs).unwrap();
    m.create_multi_index(&MultiIndexParams::default().centroids(4))
        .unwrap();
}

/// Rewrites every table of a current file in format 1: trailers dropped, the `ids`, `keys`
/// and `fields` tables back to their old value types, header version 1.
fn downgrade_to_v1(path: &Path) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    let names: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_owned())
        .collect();
    let strip = |v: &[u8]| v[..v.len() - 4].to_vec();
    for name in names {
        let str_bytes: TableDefinition<&str, &[u8]> = TableDefinition::new(&name);
        let u64_bytes: TableDefinition<u64, &[u8]> = TableDefinition::new(&name);
        if name == "quiver.meta"
            || name == "quiver.catalog"
            || name.ends_with(".index")
            || name.ends_with(".settings")
        {
            let mut t = txn.open_table(str_bytes).unwrap();
            let entries: Vec<(String, Vec<u8>)> = t
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.value().to_owned(), v.value().to_vec())
                })
                .collect();
            for (k, v) in entries {
                let v = if k == "header" {
                    let mut h = v.clone();
                    h[8..12].copy_from_slice(&1u32.to_le_bytes());
                    h
                } else {
                    strip(&v)
                };
                t.insert(k.as_str(), v.as_slice()).unwrap();
            }
        } else if name.ends_with(".ids") {
            let entries: Vec<(String, u64)> = txn
                .open_table(str_bytes)
                .unwrap()
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    let row = u64::from_le_bytes(v.value()[..8].try_into().unwrap());
                    (k.value().to_owned(), row)
                })
                .collect();
            txn.delete_table(str_bytes).unwrap();
            let mut t = txn
                .open_table(TableDefinition::<&str, u64>::new(&name))
                .unwrap();
            for (k, row) in entries {
                t.insert(k.as_str(), row).unwrap();
            }
        } else if name.ends_with(".keys") {
            let entries: Vec<(u64, String)> = txn
                .open_table(u64_bytes)
                .unwrap()
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.value(), String::from_utf8(strip(v.value())).unwrap())
                })
                .collect();
            txn.delete_table(u64_bytes).unwrap();
            let mut t = txn
                .open_table(TableDefinition::<u64, &str>::new(&name))
                .unwrap();
            for (row, id) in entries {
                t.insert(row, id.as_str()).unwrap();
            }
        } else if name.ends_with(".fields") {
            let def: TableDefinition<&[u8], u32> = TableDefinition::new(&name);
            let keys: Vec<Vec<u8>> = txn
                .open_table(def)
                .unwrap()
                .iter()
                .unwrap()
                .map(|e| e.unwrap().0.value().to_vec())
                .collect();
            txn.delete_table(def).unwrap();
            let mut t = txn
                .open_table(TableDefinition::<&[u8], ()>::new(&name))
                .unwrap();
            for k in keys {
                t.insert(k.as_slice(), ()).unwrap();
            }
        } else {
            let mut t = txn.open_table(u64_bytes).unwrap();
            let entries: Vec<(u64, Vec<u8>)> = t
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.value(), strip(v.value()))
                })
                .collect();
            for (k, v) in entries {
                t.insert(k, v.as_slice()).unwrap();
            }
        }
    }
    txn.commit().unwrap();
}

#[test]
fn format_1_files_upgrade_to_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let (current, v1, upgraded) = (
        dir.path().join("current.qvr"),
        dir.path().join("v1.qvr"),
        dir.path().join("upgraded.qvr"),
    );
    build(&current);
    std::fs::copy(&current, &v1).unwrap();
    downgrade_to_v1(&v1);
    assert!(matches!(
        Database::open(&v1),
        Err(Error::UpgradeRequired {
            found: 1,
            supported: 2
        })
    ));

    let report = Database::upgrade(&v1, &upgraded).unwrap();
    assert!(!report.already_current);
    assert_eq!(report.collections, 2);
    assert!(report.values > 300, "{report:?}");

    let (a, b) = (
        Database::open(&current).unwrap(),
        Database::open(&upgraded).unwrap(),
    );
    let (va, vb) = (a.collection("v").unwrap(), b.collection("v").unwrap());
    assert_eq!(vb.check().unwrap(), 299);
    assert_eq!(va.ids().unwrap(), vb.ids().unwrap());
    for id in va.ids().unwrap() {
        assert_eq!(va.get(&id).unwrap(), vb.get(&id).unwrap());
    }
    assert_eq!(va.index_info().unwrap(), vb.index_info().unwrap());
    let g2 = Filter::field("g").eq(2);
    assert_eq!(va.count_where(&g2).unwrap(), vb.count_where(&g2).unwrap());
    for i in [0, 17, 123] {
        let ids = |c: &quiver::Collection| -> Vec<String> {
            c.search(&vector(i), 10)
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect()
        };
        assert_eq!(ids(&va), ids(&vb));
    }
    let (ma, mb) = (a.collection("m").unwrap(), b.collection("m").unwrap());
    assert_eq!(mb.check().unwrap(), 40);
    let query = vec![vector(3), vector(9)];
    let hits = |c: &quiver::Collection| -> Vec<String> {
        c.search_multi_with(&MultiSearchRequest::new(&query, 5))
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    assert_eq!(hits(&ma), hits(&mb));
    drop((va, vb, ma, mb, a, b));

    // A current file is left alone; an existing destination is refused.
    let again = Database::upgrade(&upgraded, dir.path().join("again.qvr")).unwrap();
    assert!(again.already_current);
    assert!(!dir.path().join("again.qvr").exists());
    assert!(matches!(
        Database::upgrade(&v1, &upgraded),
        Err(Error::InvalidParameter { .. })
    ));
}
