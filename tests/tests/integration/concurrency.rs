//! Readers never see half a batch while a writer commits.

use quiver::{CollectionConfig, Database, Metric, Record};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[test]
fn readers_see_whole_batches_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("c.qvr")).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(4, Metric::L2))
        .unwrap();
    const GROUP: usize = 10;
    let batch = |version: u64| -> Vec<Record> {
        (0..GROUP)
            .map(|i| {
                Record::new(format!("r{i}"), vec![i as f32, version as f32, 0.0, 1.0])
                    .with_payload(json!({"version": version}))
            })
            .collect()
    };
    c.upsert(&batch(0)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let c = c.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let hits = c.search(&[0.0, 0.0, 0.0, 0.0], GROUP).unwrap();
                    assert_eq!(hits.len(), GROUP);
                    let versions: Vec<_> = hits
                        .iter()
                        .map(|h| h.payload.as_ref().unwrap()["version"].clone())
                        .collect();
                    assert!(
                        versions.iter().all(|v| *v == versions[0]),
                        "mixed versions {versions:?}"
                    );
                    // Vector and payload come from the same commit.
                    let v = versions[0].as_u64().unwrap() as f32;
                    let stored = c.get("r3").unwrap().unwrap();
                    assert!(stored.vector[1] >= v, "get went back in time");
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    let start = Instant::now();
    let mut version = 1;
    while start.elapsed() < Duration::from_millis(1500) {
        c.upsert(&batch(version)).unwrap();
        if version % 5 == 0 {
            c.delete(&["gone"]).unwrap();
        }
        version += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let checks: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(checks > 10, "readers made only {checks} checks");
    assert!(version > 5);
}

/// The same for a multi-vector collection with a token index kept current by the writes:
/// exact and indexed searches, and reads by id, all see one commit.
#[test]
fn multi_vector_readers_see_whole_batches_only() {
    use quiver::{MultiIndexParams, MultiRecord, MultiSearchRequest};
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("m.qvr")).unwrap();
    let c = db
        .create_collection("m", CollectionConfig::multi_vector(4, Metric::Dot))
        .unwrap();
    const GROUP: usize = 10;
    // Record i of version v: two tokens carrying v, so a read can tell its commit.
    let batch = |version: u64| -> Vec<MultiRecord> {
        (0..GROUP)
            .map(|i| {
                let v = version as f32;
                MultiRecord::new(
                    format!("r{i}"),
                    vec![vec![1.0, v, i as f32, 0.5], vec![0.5, v, 0.0, 1.0]],
                )
                .with_payload(json!({"version": version}))
            })
            .collect()
    };
    c.upsert_multi(&batch(0)).unwrap();
    c.create_multi_index(&MultiIndexParams::default().centroids(4))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|reader| {
            let c = c.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let query = vec![vec![1.0, 0.0, 0.0, 0.0]];
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let exact = reader % 2 == 0;
                    let req = MultiSearchRequest::new(&query, GROUP).exact(exact);
                    let hits = c.search_multi_with(&req).unwrap();
                    if exact {
                        // 9 only between the delete of r9 and its re-insert.
                        assert!(hits.len() >= GROUP - 1, "{} hits", hits.len());
                    }
                    let versions: Vec<u64> = hits
                        .iter()
                        .map(|h| h.payload.as_ref().unwrap()["version"].as_u64().unwrap())
                        .collect();
                    assert!(
                        versions.iter().all(|v| *v == versions[0]),
                        "mixed versions {versions:?}"
                    );
                    // Matrix and payload of one record come from one commit.
                    let r = c.get_multi("r3").unwrap().unwrap();
                    let version = r.payload.as_ref().unwrap()["version"].as_u64().unwrap();
                    assert_eq!(
                        r.vectors[0][1], version as f32,
                        "matrix and payload disagree"
                    );
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    let start = Instant::now();
    let mut version = 1;
    while start.elapsed() < Duration::from_millis(1500) {
        c.upsert_multi(&batch(version)).unwrap();
        if version % 7 == 0 {
            // A delete and a re-insert in separate commits: readers see 9 or 10, never a mix.
            c.delete(&["r9"]).unwrap();
            c.upsert_multi(&batch(version)[9..]).unwrap();
        }
        version += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let checks: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(checks > 10, "readers made only {checks} checks");
    assert_eq!(c.check().unwrap(), GROUP as u64);
}
