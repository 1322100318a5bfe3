//! Text collections with an application-defined embedder (no model files needed): texts are
//! stored with their vectors, the model is pinned, and bad input changes nothing.

use quiver::{
    CollectionConfig, Database, Embedder, Error, Metric, ModelIdentity, Pooling, Record, TextRecord,
};
use serde_json::json;
use std::sync::Arc;

/// A bag-of-words "model": each word adds 1 to one of 8 components (by a hash of the word).
struct BagOfWords {
    identity: ModelIdentity,
}

impl BagOfWords {
    fn new(version: &str) -> Arc<Self> {
        Arc::new(BagOfWords {
            identity: ModelIdentity {
                name: "bag-of-words".into(),
                dim: 8,
                pooling: Pooling::Mean,
                normalize: false,
                max_tokens: 1000,
                weights_sha256: version.into(),
                query_prefix: String::new(),
                document_prefix: String::new(),
                late_interaction: None,
            },
        })
    }

    fn vector(text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; 8];
        for w in text.split_whitespace() {
            let h = w
                .bytes()
                .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
            v[(h % 8) as usize] += 1.0;
        }
        v
    }
}

impl Embedder for BagOfWords {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }
    fn embed_documents(&self, texts: &[&str]) -> quiver::Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| Self::vector(t)).collect())
    }
    fn embed_query(&self, text: &str) -> quiver::Result<Vec<f32>> {
        Ok(Self::vector(text))
    }
}

/// An embedder that returns one vector too few.
struct Broken(ModelIdentity);

impl Embedder for Broken {
    fn identity(&self) -> &ModelIdentity {
        &self.0
    }
    fn embed_documents(&self, texts: &[&str]) -> quiver::Result<Vec<Vec<f32>>> {
        Ok(vec![vec![1.0; 8]; texts.len().saturating_sub(1)])
    }
    fn embed_query(&self, _: &str) -> quiver::Result<Vec<f32>> {
        Ok(vec![1.0; 8])
    }
}

/// A new database with collection "notes" on the bag-of-words model (keep the dir alive).
fn notes_db() -> (tempfile::TempDir, Database, quiver::Collection) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("t.qvr")).unwrap();
    let c = db
        .create_collection(
            "notes",
            CollectionConfig::with_embedder(BagOfWords::new("v1")),
        )
        .unwrap();
    (dir, db, c)
}

#[test]
fn texts_are_embedded_stored_and_searched() {
    let (_dir, _db, c) = notes_db();
    let long = "lorem ipsum dolor ".repeat(100);
    c.upsert_texts(&[
        TextRecord::new("a", "red apples and green pears").with_payload(json!({"n": 1})),
        TextRecord::new("b", "stock markets fell"),
        TextRecord::new("c", long.clone()),
    ])
    .unwrap();
    let info = c.info().unwrap();
    assert_eq!((info.dim, info.metric, info.count), (8, Metric::Cosine, 3));
    assert_eq!(c.model().unwrap().unwrap().weights_sha256, "v1");

    let hits = c.search_text("stock markets fell", 1).unwrap();
    assert_eq!(hits[0].id, "b");
    assert_eq!(hits[0].text.as_deref(), Some("stock markets fell"));
    assert!((hits[0].score - 1.0).abs() < 1e-6);
    let a = c.get("a").unwrap().unwrap();
    assert_eq!(a.text.as_deref(), Some("red apples and green pears"));
    assert_eq!(a.payload, Some(json!({"n": 1})));
    assert_eq!(a.vector, BagOfWords::vector("red apples and green pears"));
    // Long texts are stored whole (compressed).
    assert_eq!(c.get("c").unwrap().unwrap().text, Some(long));

    // A plain vector upsert of the same id drops its text; deleting drops the rest.
    c.upsert(&[Record::new("a", vec![1.0; 8])]).unwrap();
    assert_eq!(c.get("a").unwrap().unwrap().text, None);
    assert_eq!(c.delete(&["b"]).unwrap(), 1);
    assert!(c.get("b").unwrap().is_none());
    assert_eq!(c.check().unwrap(), 2);

    // Text search goes through an IVF-PQ index like any search; exhaustive parameters give
    // the exact answer.
    let words = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
    ];
    let many: Vec<TextRecord> = (0..300)
        .map(|i| {
            let text = format!(
                "{} {} {}",
                words[i % 8],
                words[(i / 8) % 8],
                words[(i / 64) % 8]
            );
            TextRecord::new(format!("w{i}"), text)
        })
        .collect();
    c.upsert_texts(&many).unwrap();
    let exact = c
        .search_text_with(
            "alpha beta gamma",
            &quiver::SearchRequest::new(&[], 5).exact(true),
        )
        .unwrap();
    let info = c
        .create_index(quiver::IvfPqParams::default().nlist(4).m(4))
        .unwrap();
    let info = info.as_ivf_pq().unwrap().clone();
    let via_index = c
        .search_text_with(
            "alpha beta gamma",
            &quiver::SearchRequest::new(&[], 5)
                .nprobe(info.nlist)
                .refine(1000),
        )
        .unwrap();
    // (The toy model maps many texts to one vector: ties break by insertion order in both.)
    assert_eq!(exact, via_index);
    assert!((via_index[0].score - 1.0).abs() < 1e-6);
    // Rows written after the index was built are indexed on insert and found.
    c.upsert_texts(&[TextRecord::new("late", "theta theta theta")])
        .unwrap();
    let hits = c
        .search_text_with(
            "theta theta theta",
            &quiver::SearchRequest::new(&[], 303)
                .nprobe(info.nlist)
                .refine(1000),
        )
        .unwrap();
    let late = hits.iter().find(|h| h.id == "late").expect("new row found");
    assert!((late.score - 1.0).abs() < 1e-6);
    assert_eq!(c.check().unwrap(), 303);

    // Batched text queries give the same answers as single ones.
    let many = c
        .search_texts_with(
            &["lorem ipsum", "apples"],
            &quiver::SearchRequest::new(&[], 2),
        )
        .unwrap();
    assert_eq!(many[0], c.search_text("lorem ipsum", 2).unwrap());
}

#[test]
fn bad_texts_change_nothing() {
    let (_dir, db, c) = notes_db();
    for (bad, pos) in [
        (
            vec![TextRecord::new("a", "fine"), TextRecord::new("b", "")],
            1,
        ),
        (vec![TextRecord::new("a", " \n\t ")], 0),
    ] {
        match c.upsert_texts(&bad) {
            Err(Error::InvalidText { position, .. }) => assert_eq!(position, Some(pos)),
            other => panic!("expected InvalidText, got {other:?}"),
        }
    }
    assert!(matches!(
        c.upsert_texts(&[TextRecord::new("", "text")]),
        Err(Error::InvalidId { position: 0, .. })
    ));
    assert!(matches!(
        c.upsert_texts(&[TextRecord::new("x", "text").with_payload(json!([1]))]),
        Err(Error::InvalidPayload { position: 0, .. })
    ));
    assert!(matches!(
        c.search_text("", 3),
        Err(Error::InvalidText { position: None, .. })
    ));
    assert_eq!(c.count().unwrap(), 0);

    // A model returning the wrong number of vectors is an inference error, not a panic.
    let mut id = BagOfWords::new("broken").identity.clone();
    id.name = "broken".into();
    let b = db
        .create_collection(
            "broken",
            CollectionConfig::with_embedder(Arc::new(Broken(id))),
        )
        .unwrap();
    assert!(matches!(
        b.upsert_texts(&[TextRecord::new("a", "x"), TextRecord::new("b", "y")]),
        Err(Error::Inference { .. })
    ));
    assert_eq!(b.count().unwrap(), 0);
}

#[test]
fn the_model_is_pinned_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.qvr");
    {
        let db = Database::create(&path).unwrap();
        let c = db
            .create_collection(
                "notes",
                CollectionConfig::with_embedder(BagOfWords::new("v1")),
            )
            .unwrap();
        c.upsert_texts(&[TextRecord::new("a", "alpha beta")])
            .unwrap();
        let plain = db
            .create_collection("plain", CollectionConfig::new(8, Metric::Cosine))
            .unwrap();
        assert!(matches!(
            plain.upsert_texts(&[TextRecord::new("a", "alpha")]),
            Err(Error::NoEmbedder { .. })
        ));
        assert_eq!(plain.model().unwrap(), None);
    }
    let db = Database::open(&path).unwrap();
    let c = db.collection("notes").unwrap();
    // An application's own embedder is not stored: it must be attached again.
    assert!(matches!(
        c.search_text("alpha", 1),
        Err(Error::NoEmbedder { .. })
    ));
    match c.attach_embedder(BagOfWords::new("v2")) {
        Err(Error::ModelMismatch { pinned, found, .. }) => {
            assert!(pinned.contains("sha256 v1"), "{pinned}");
            assert!(found.contains("sha256 v2"), "{found}");
        }
        other => panic!("expected ModelMismatch, got {other:?}"),
    }
    c.attach_embedder(BagOfWords::new("v1")).unwrap();
    assert_eq!(c.search_text("alpha beta", 1).unwrap()[0].id, "a");
    // The texts survive without any model.
    assert_eq!(
        c.get("a").unwrap().unwrap().text.as_deref(),
        Some("alpha beta")
    );

    // A dropped and re-created collection does not inherit the attached model.
    db.drop_collection("notes").unwrap();
    let again = db
        .create_collection("notes", CollectionConfig::new(8, Metric::Cosine))
        .unwrap();
    assert!(matches!(
        again.search_text("alpha", 1),
        Err(Error::NoEmbedder { .. })
    ));
    // A model whose dimension differs from the collection's is refused at creation.
    let mut config = CollectionConfig::with_embedder(BagOfWords::new("v1"));
    config.dim = 9;
    assert!(matches!(
        db.create_collection("wrong", config),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn cluster_labels_keep_texts_and_the_text_index_and_texts_get_outlier_scores() {
    let (_dir, _db, c) = notes_db();
    c.upsert(&[
        TextRecord::new("a", "red apples and green pears").with_payload(json!({"n": 1})),
        TextRecord::new("b", "stock markets fell"),
        TextRecord::new("c", "apples pears plums"),
    ])
    .unwrap();
    c.create_text_index(&quiver::TextIndexParams::text())
        .unwrap();
    let clustering = c.cluster(2, 0).unwrap();
    assert_eq!(c.label_clusters(&clustering, "topic").unwrap(), 3);
    let a = c.get("a").unwrap().unwrap();
    assert_eq!(a.text.as_deref(), Some("red apples and green pears"));
    assert_eq!(a.payload.as_ref().unwrap()["n"], json!(1));
    assert!(a.payload.as_ref().unwrap()["topic"].is_u64());
    let hits = c.search(quiver::Query::Keywords("markets"), 3).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "b");
    assert_eq!(c.check().unwrap(), 3);

    let scorer = c
        .outlier_scorer(
            &quiver::space::OutlierParams::default()
                .neighbours(1)
                .exact(true),
        )
        .unwrap();
    let same = scorer.score_text("stock markets fell").unwrap();
    assert!(same.neighbour_distance.abs() < 1e-6, "{same:?}");
    assert!(
        scorer
            .score_text("quantum chromodynamics")
            .unwrap()
            .neighbour_distance
            > 0.5
    );
}
