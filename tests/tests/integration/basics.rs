use quiver::{CollectionConfig, Database, ElementType, Error, Metric, Record, SearchRequest};
use quiver_tests::random_vectors;
use serde_json::json;

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.qvr");
    (dir, path)
}

#[test]
fn write_close_reopen_gives_identical_results() {
    let (_dir, path) = temp_db();
    let vectors = random_vectors(2000, 24, 1);
    let queries = random_vectors(10, 24, 2);
    let before = {
        let db = Database::create(&path).unwrap();
        let c = db
            .create_collection("v", CollectionConfig::new(24, Metric::Cosine))
            .unwrap();
        let records: Vec<Record> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| Record::new(format!("id{i}"), v.clone()).with_payload(json!({"i": i})))
            .collect();
        for chunk in records.chunks(300) {
            c.upsert(chunk).unwrap();
        }
        queries
            .iter()
            .map(|q| c.search(q, 7).unwrap())
            .collect::<Vec<_>>()
    };
    let db = Database::open(&path).unwrap();
    let c = db.collection("v").unwrap();
    assert_eq!(c.count().unwrap(), 2000);
    let after: Vec<_> = queries.iter().map(|q| c.search(q, 7).unwrap()).collect();
    assert_eq!(before, after);
    assert_eq!(after[0].len(), 7);
    let batch = c.search_batch(&queries, 7).unwrap();
    for (a, b) in after.iter().zip(&batch) {
        let ids_a: Vec<_> = a.iter().map(|h| &h.id).collect();
        let ids_b: Vec<_> = b.iter().map(|h| &h.id).collect();
        assert_eq!(ids_a, ids_b);
        for (x, y) in a.iter().zip(b) {
            assert!((x.score - y.score).abs() < 1e-4);
        }
    }
    let got = c.get("id5").unwrap().unwrap();
    assert_eq!(got.vector, vectors[5]);
    assert_eq!(got.payload, Some(json!({"i": 5})));
}

#[test]
fn upsert_overwrites_and_delete_removes() {
    let (_dir, path) = temp_db();
    let db = Database::create(&path).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::L2))
        .unwrap();
    c.upsert(&[
        Record::new("a", vec![0.0, 0.0]).with_payload(json!({"v": 1})),
        Record::new("b", vec![5.0, 5.0]),
    ])
    .unwrap();
    assert_eq!(c.search(&[0.0, 0.0], 1).unwrap()[0].id, "a");
    // Overwrite a: new vector, no payload.
    c.upsert(&[Record::new("a", vec![10.0, 10.0])]).unwrap();
    assert_eq!(c.count().unwrap(), 2);
    let hits = c.search(&[0.0, 0.0], 2).unwrap();
    assert_eq!(hits[0].id, "b");
    assert_eq!(hits[0].score, 50.0);
    assert_eq!(hits[1].id, "a");
    assert_eq!(c.get("a").unwrap().unwrap().payload, None);
    // Same id twice in one batch: the later one wins.
    c.upsert(&[
        Record::new("d", vec![1.0, 1.0]),
        Record::new("d", vec![2.0, 2.0]),
    ])
    .unwrap();
    assert_eq!(c.get("d").unwrap().unwrap().vector, vec![2.0, 2.0]);
    assert_eq!(c.delete(&["a", "zzz"]).unwrap(), 1);
    assert_eq!(c.count().unwrap(), 2);
    assert!(c.get("a").unwrap().is_none());
    let ids: Vec<String> = c
        .search(&[0.0, 0.0], 10)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, vec!["d", "b"]);
    assert_eq!(c.check().unwrap(), 2);
    drop(c);
    drop(db);
    let db = Database::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(c.ids().unwrap(), vec!["b", "d"]);
    assert_eq!(c.check().unwrap(), 2);
}

#[test]
fn collections_are_listed_dropped_and_isolated() {
    let (_dir, path) = temp_db();
    let db = Database::create(&path).unwrap();
    let a = db
        .create_collection("a", CollectionConfig::new(3, Metric::Dot))
        .unwrap();
    db.create_collection(
        "b",
        CollectionConfig::new(4, Metric::L2).element_type(ElementType::Bf16),
    )
    .unwrap();
    assert!(matches!(
        db.create_collection("a", CollectionConfig::new(3, Metric::Dot)),
        Err(Error::CollectionExists { .. })
    ));
    a.upsert(&[Record::new("x", vec![1.0, 2.0, 3.0])]).unwrap();
    let infos = db.collections().unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(
        (infos[0].name.as_str(), infos[0].count, infos[0].dim),
        ("a", 1, 3)
    );
    assert_eq!(infos[1].element_type, ElementType::Bf16);
    db.drop_collection("a").unwrap();
    assert!(matches!(a.count(), Err(Error::CollectionNotFound { .. })));
    assert!(matches!(
        db.collection("a"),
        Err(Error::CollectionNotFound { .. })
    ));
    assert!(matches!(
        db.drop_collection("a"),
        Err(Error::CollectionNotFound { .. })
    ));
    // Re-created under the same name: empty, new shape.
    let a2 = db
        .create_collection("a", CollectionConfig::new(2, Metric::Dot))
        .unwrap();
    assert_eq!(a2.count().unwrap(), 0);
    assert!(a2.search(&[1.0, 0.0], 3).unwrap().is_empty());
}

#[test]
fn half_precision_collections_round_trip_and_search() {
    for et in [ElementType::F16, ElementType::Bf16] {
        let (_dir, path) = temp_db();
        let db = Database::create(&path).unwrap();
        let c = db
            .create_collection(
                "h",
                CollectionConfig::new(8, Metric::Cosine).element_type(et),
            )
            .unwrap();
        let vs = random_vectors(300, 8, 3);
        let recs: Vec<Record> = vs
            .iter()
            .enumerate()
            .map(|(i, v)| Record::new(i.to_string(), v.clone()))
            .collect();
        c.upsert(&recs).unwrap();
        let hits = c.search(&vs[17], 1).unwrap();
        assert_eq!(hits[0].id, "17", "{et}");
        assert!(hits[0].score > 0.99);
        let stored = c.get("17").unwrap().unwrap().vector;
        for (s, o) in stored.iter().zip(&vs[17]) {
            assert!((s - o).abs() <= 0.01, "{et}: {s} vs {o}");
        }
        drop(c);
        drop(db);
        let db = Database::open(&path).unwrap();
        assert_eq!(
            db.collection("h")
                .unwrap()
                .get("17")
                .unwrap()
                .unwrap()
                .vector,
            stored
        );
    }
}

#[test]
fn search_request_options() {
    let (_dir, path) = temp_db();
    let db = Database::create(&path).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::Dot))
        .unwrap();
    c.upsert(&[Record::new("a", vec![1.0, 2.0]).with_payload(json!({"k": "v"}))])
        .unwrap();
    let q = [1.0, 1.0];
    let h = c
        .search_with(
            &SearchRequest::new(&q, 5)
                .include_payload(false)
                .include_vector(true),
        )
        .unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].score, 3.0);
    assert_eq!(h[0].payload, None);
    assert_eq!(h[0].vector, Some(vec![1.0, 2.0]));
}

#[test]
fn large_payloads_are_stored_compressed_and_read_back() {
    let (_dir, path) = temp_db();
    let db = Database::create(&path).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::L2))
        .unwrap();
    let text = "lorem ipsum dolor sit amet ".repeat(2000);
    c.upsert(&[Record::new("a", vec![1.0, 2.0]).with_payload(json!({"text": text}))])
        .unwrap();
    assert_eq!(
        c.get("a").unwrap().unwrap().payload,
        Some(json!({"text": text}))
    );
    assert!(db.file_size().unwrap() < 1 << 20);
}
