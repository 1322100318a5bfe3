//! A tour of the API: create, upsert, search, overwrite, delete, reopen.
//! Run: cargo run -p quiver --example quickstart

use quiver::{CollectionConfig, Database, ElementType, Metric, Record, SearchOptions};
use serde_json::json;

fn main() -> quiver::Result<()> {
    let dir = std::env::temp_dir().join(format!("quiver-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| quiver::Error::Io { source })?;
    let path = dir.join("quickstart.qvr");

    let db = Database::create(&path)?;
    let config = CollectionConfig::new(4, Metric::Cosine).element_type(ElementType::F32);
    let animals = db.create_collection("animals", config)?;
    animals.upsert(&[
        Record::new("cat", vec![0.9, 0.1, 0.0, 0.2])
            .with_payload(json!({"legs": 4, "sound": "meow"})),
        Record::new("dog", vec![0.8, 0.2, 0.1, 0.3])
            .with_payload(json!({"legs": 4, "sound": "woof"})),
        Record::new("eagle", vec![0.0, 0.9, 0.8, 0.1]).with_payload(json!({"legs": 2})),
        Record::new("shark", vec![0.1, 0.0, 0.2, 0.95]),
    ])?;
    println!("{} records", animals.count()?);

    for hit in animals.search(&[0.85, 0.15, 0.05, 0.25], 2)? {
        println!("  {:<6} {:.4} {:?}", hit.id, hit.score, hit.payload);
    }

    // Overwrite (same id), delete, and search without payloads.
    animals.upsert(&[Record::new("shark", vec![0.7, 0.1, 0.1, 0.6])])?;
    animals.delete(&["eagle"])?;
    let q = [0.85, 0.15, 0.05, 0.25];
    let hits = animals.search(&q, SearchOptions::new(10).include_payload(false))?;
    println!(
        "after changes: {:?}",
        hits.iter().map(|h| &h.id).collect::<Vec<_>>()
    );

    drop(animals);
    drop(db);
    let db = Database::open(&path)?;
    for info in db.collections()? {
        println!(
            "reopened: {} ({} x {}-d, {})",
            info.name, info.count, info.dim, info.metric
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
