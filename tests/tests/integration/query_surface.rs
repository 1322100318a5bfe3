//! One query surface for every collection kind: `search` / `search_batch` with vectors,
//! token matrices and texts, `upsert` with any record type, `create_index` with either
//! index's parameters — and the kind checked once, whatever the entry point.

use quiver::{
    CollectionConfig, CollectionKind, Database, Embedder, Error, IndexInfo, IndexParams,
    IvfPqParams, Metric, ModelIdentity, MultiIndexParams, MultiRecord, Pooling, Query, Record,
    SearchOptions, TextRecord,
};
use std::sync::Arc;

/// A late-interaction "model": one 8-d row per word (1 at a hash of the word, 0.5 beside it).
struct WordRows(ModelIdentity);

impl WordRows {
    fn new() -> Arc<Self> {
        Arc::new(WordRows(ModelIdentity {
            name: "word-rows".into(),
            dim: 8,
            pooling: Pooling::Tokens,
            normalize: true,
            max_tokens: 1000,
            weights_sha256: "v1".into(),
            query_prefix: String::new(),
            document_prefix: String::new(),
            late_interaction: None,
        }))
    }

    fn rows(text: &str) -> Vec<Vec<f32>> {
        text.split_whitespace()
            .map(|w| {
                let h = w.bytes().fold(7u32, |h, b| h.wrapping_mul(31) ^ b as u32) % 8;
                let mut v = vec![0.0f32; 8];
                v[h as usize] = 1.0;
                v[(h as usize + 1) % 8] = 0.5;
                v
            })
            .collect()
    }
}

impl Embedder for WordRows {
    fn identity(&self) -> &ModelIdentity {
        &self.0
    }
    fn embed_documents(&self, _texts: &[&str]) -> quiver::Result<Vec<Vec<f32>>> {
        Err(Error::Inference {
            detail: "token outputs only".into(),
        })
    }
    fn embed_query(&self, _text: &str) -> quiver::Result<Vec<f32>> {
        Err(Error::Inference {
            detail: "token outputs only".into(),
        })
    }
    fn token_outputs(&self) -> bool {
        true
    }
    fn embed_document_tokens(&self, texts: &[&str]) -> quiver::Result<Vec<Vec<Vec<f32>>>> {
        Ok(texts.iter().map(|t| Self::rows(t)).collect())
    }
    fn embed_query_tokens(&self, text: &str) -> quiver::Result<Vec<Vec<f32>>> {
        Ok(Self::rows(text))
    }
}

fn wrong_kind<T: std::fmt::Debug>(r: quiver::Result<T>, multi_vector: bool) {
    match r {
        Err(Error::WrongCollectionKind {
            multi_vector: m, ..
        }) => assert_eq!(m, multi_vector),
        other => panic!("expected WrongCollectionKind, got {other:?}"),
    }
}

fn ids(hits: &[quiver::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

#[test]
fn one_vector_collections_take_every_query_form() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("q.qvr")).unwrap();
    let c = db
        .create_collection("v", CollectionConfig::new(4, Metric::Cosine))
        .unwrap();
    assert_eq!(c.info().unwrap().kind, CollectionKind::Vectors);
    let records: Vec<Record> = (0..300)
        .map(|i| {
            let x = i as f32;
            Record::new(
                format!("r{i}"),
                vec![x.sin(), x.cos(), (x * 0.3).sin(), 1.0],
            )
        })
        .collect();
    c.upsert(&records).unwrap();
    assert_eq!(
        c.memory_bytes().unwrap(),
        0,
        "nothing loaded before a search"
    );
    let array = [0.2f32, 0.9, -0.1, 1.0];
    let vec = array.to_vec();
    let by_array = c.search(&array, 5).unwrap();
    assert_eq!(by_array, c.search(&vec, SearchOptions::new(5)).unwrap());
    assert_eq!(
        by_array,
        c.search(Query::Vector(&vec), SearchOptions::new(5))
            .unwrap()
    );
    assert!(c.memory_bytes().unwrap() >= 300 * 16);
    // A batch answers as the single queries do (same ids; scores to rounding).
    let queries: Vec<Vec<f32>> = records
        .iter()
        .step_by(15)
        .map(|r| r.vector.clone())
        .collect();
    let batch = c.search_batch(&queries, 3).unwrap();
    assert_eq!(batch.len(), queries.len());
    for (q, hits) in queries.iter().zip(&batch) {
        let single = c.search(q, 3).unwrap();
        assert_eq!(ids(hits), ids(&single));
        for (a, b) in hits.iter().zip(&single) {
            assert!((a.score - b.score).abs() < 1e-5);
        }
    }
    // Data and indexes of the other kind are refused, before anything is written.
    wrong_kind(c.search(&[vec![1.0; 4]], 3), false);
    wrong_kind(
        c.upsert(&[MultiRecord::new("m", vec![vec![1.0; 4]])]),
        false,
    );
    wrong_kind(c.create_index(MultiIndexParams::default()), false);
    assert_eq!(c.count().unwrap(), 300);
    // Texts need a model.
    assert!(matches!(
        c.search("words", 3),
        Err(Error::NoEmbedder { .. })
    ));
    let info = c
        .create_index(IndexParams::IvfPq(IvfPqParams::default().nlist(4)))
        .unwrap();
    let ivf = info.as_ivf_pq().expect("an IVF-PQ index").clone();
    assert_eq!((ivf.nlist, info.indexed()), (4, 300));
    assert_eq!(c.index_info().unwrap(), Some(info));
    // Exhaustive probing with every candidate re-ranked is exact search.
    let everything = SearchOptions::new(5).nprobe(4).refine(60);
    assert_eq!(ids(&c.search(&array, &everything).unwrap()), ids(&by_array));
    assert_eq!(c.check().unwrap(), 300);
}

#[test]
fn multi_vector_collections_take_matrices_and_texts() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("m.qvr")).unwrap();
    let model = WordRows::new();
    let c = db
        .create_collection("m", CollectionConfig::multi_vector_with_embedder(model))
        .unwrap();
    assert_eq!(c.info().unwrap().kind, CollectionKind::MultiVector);
    let words = [
        "wing", "stall", "lift", "drag", "shock", "wave", "heat", "flow", "mach",
    ];
    let texts: Vec<TextRecord> = (0..120)
        .map(|i| {
            let text = format!(
                "{} {} {}",
                words[i % 9],
                words[(i / 9) % 9],
                words[(i * 7) % 9]
            );
            TextRecord::new(format!("t{i}"), text)
        })
        .collect();
    c.upsert(&texts).unwrap();
    assert_eq!(c.count().unwrap(), 120);
    // A text query is the model's matrix of it.
    let query = "shock wave heat";
    let by_text = c.search(query, 5).unwrap();
    let matrix = WordRows::rows(query);
    assert_eq!(by_text, c.search(&matrix, 5).unwrap());
    assert!(by_text[0].text.is_some());
    // Texts in a batch are embedded together and answer as one by one.
    let batch = c
        .search_batch(["wing lift", "mach flow", query], 5)
        .unwrap();
    assert_eq!(batch[2], by_text);
    assert_eq!(batch[0], c.search("wing lift", 5).unwrap());
    // The stored matrix reads back as the model made it.
    let stored = c.get_multi("t0").unwrap().unwrap();
    assert_eq!(stored.vectors, WordRows::rows(&texts[0].text));
    wrong_kind(c.search(&[1.0f32; 8], 5), true);
    wrong_kind(c.upsert(&[Record::new("x", vec![1.0; 8])]), true);
    wrong_kind(c.create_index(IvfPqParams::default()), true);
    wrong_kind(c.get("t0"), true);
    let info = c
        .create_index(MultiIndexParams::default().centroids(4))
        .unwrap();
    assert!(matches!(&info, IndexInfo::Tokens(t) if t.centroids == 4));
    assert_eq!(info.indexed(), 120);
    assert_eq!(c.index_info().unwrap(), Some(info));
    // Probing every centroid and re-ranking every record is exact MaxSim.
    let exhaustive = SearchOptions::new(5).nprobe(4).candidates(120);
    assert_eq!(c.search(query, &exhaustive).unwrap(), by_text);
    // Writes after the index keep it whole.
    c.upsert(&[TextRecord::new("late", "mach mach wave")])
        .unwrap();
    assert_eq!(c.check().unwrap(), 121);
    assert!(c.drop_index().unwrap());
    assert_eq!(c.index_info().unwrap(), None);
}

#[test]
fn columns_upsert_like_records_and_refuse_bad_shapes() {
    use quiver::{Records, VectorColumns};
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("cols.qvr")).unwrap();
    let by_records = db
        .create_collection("r", CollectionConfig::new(3, Metric::L2))
        .unwrap();
    let by_columns = db
        .create_collection("c", CollectionConfig::new(3, Metric::L2))
        .unwrap();
    let ids: Vec<String> = (0..4).map(|i| format!("x{i}")).collect();
    let vectors: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let payloads = vec![
        Some(serde_json::json!({"n": 1})),
        None,
        None,
        Some(serde_json::json!({"n": 4})),
    ];
    let records: Vec<Record> = ids
        .iter()
        .zip(vectors.chunks(3))
        .zip(&payloads)
        .map(|((id, v), p)| Record::new(id.clone(), v.to_vec()).with_payload(p.clone()))
        .collect();
    by_records.upsert(&records).unwrap();
    let columns = VectorColumns {
        ids: &ids,
        vectors: &vectors,
        payloads: Some(&payloads),
    };
    by_columns.upsert(columns).unwrap();
    for id in &ids {
        assert_eq!(by_columns.get(id).unwrap(), by_records.get(id).unwrap());
    }
    let short = VectorColumns {
        ids: &ids,
        vectors: &vectors[..11],
        payloads: None,
    };
    assert!(matches!(
        by_columns.upsert(short),
        Err(Error::DimensionMismatch { expected: 3, .. })
    ));
    let few = VectorColumns {
        ids: &ids,
        vectors: &vectors,
        payloads: Some(&payloads[..2]),
    };
    assert!(matches!(
        by_columns.upsert(Records::from(few)),
        Err(Error::InvalidParameter {
            name: "payloads",
            ..
        })
    ));
    let mv = db
        .create_collection("m", CollectionConfig::multi_vector(3, Metric::Cosine))
        .unwrap();
    wrong_kind(mv.upsert(columns), true);
    assert_eq!(by_columns.count().unwrap(), 4);
}
