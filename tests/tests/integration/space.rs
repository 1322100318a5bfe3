//! Space: rewriting the same records many times reuses freed pages (the file does not grow
//! without bound), and `Database::compact` gives the free space back, data intact.

use quiver::{CollectionConfig, Database, Error, IvfPqParams, Metric, Record};
use serde_json::json;

fn round(c: &quiver::Collection, round: usize) {
    let records: Vec<Record> = (0..500)
        .map(|i| {
            let v: Vec<f32> = (0..32)
                .map(|j| ((i * 31 + j * 7 + round) % 97) as f32 + 1.0)
                .collect();
            Record::new(format!("r{i}"), v)
                .with_payload(json!({"round": round, "pad": "x".repeat(200)}))
        })
        .collect();
    c.upsert(&records).unwrap();
    let odd: Vec<String> = (1..500).step_by(2).map(|i| format!("r{i}")).collect();
    let odd: Vec<&str> = odd.iter().map(String::as_str).collect();
    c.delete(&odd).unwrap();
}

#[test]
fn rewrites_reuse_space_and_compact_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("space.qvr");
    let size = || std::fs::metadata(&path).unwrap().len();
    let early;
    {
        let db = Database::create(&path).unwrap();
        let c = db
            .create_collection("s", CollectionConfig::new(32, Metric::L2))
            .unwrap();
        for r in 0..5 {
            round(&c, r);
        }
        c.create_index(IvfPqParams::default().nlist(8)).unwrap();
        early = size();
        for r in 5..60 {
            round(&c, r);
        }
        // 55 more rounds of the same records: pages freed by each are reused by the next.
        assert!(
            size() <= early * 2,
            "file grew from {early} to {} bytes",
            size()
        );
        // Compaction needs the file to itself.
        assert!(matches!(
            Database::builder()
                .busy_timeout(std::time::Duration::ZERO)
                .compact(&path),
            Err(Error::Locked { .. })
        ));
    }
    let before = size();
    let (reported_before, after) = Database::compact(&path).unwrap();
    assert_eq!(reported_before, before);
    assert_eq!(after, size());
    assert!(after < before, "compaction left {after} of {before} bytes");
    eprintln!("space: {early} bytes after 5 rounds, {before} after 60, {after} compacted");
    let db = Database::open(&path).unwrap();
    let c = db.collection("s").unwrap();
    assert_eq!(c.check().unwrap(), 250);
    let r = c.get("r4").unwrap().unwrap();
    assert_eq!(r.payload.unwrap()["round"], 59);
    assert_eq!(c.search(&r.vector, 1).unwrap()[0].id, "r4");
}
