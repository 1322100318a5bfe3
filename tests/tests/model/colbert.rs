//! The ColBERT encoder against PyTorch (`fixtures/colbert_reference`: the MiniLM trunk with a
//! seeded 384→128 head), and multi-vector collections that embed their own text.

use super::{fixture, floats, max_diff, model_dir};
use quiver::{CollectionConfig, Database, Embedder, Error, MultiSearchRequest, TextRecord};
use quiver_embed::{ColbertEmbedder, ColbertOptions};
use serde_json::Value;
use std::sync::Arc;

fn reference() -> Value {
    let text =
        std::fs::read_to_string(fixture("colbert_reference/reference.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn colbert(attend: Option<bool>) -> ColbertEmbedder {
    ColbertEmbedder::load_with(
        model_dir(),
        &ColbertOptions {
            projection: Some(fixture("colbert_reference/projection.safetensors")),
            attend_to_expansion: attend,
            ..ColbertOptions::default()
        },
    )
    .expect("ColBERT on the MiniLM trunk loads")
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f32>> {
    v.as_array().unwrap().iter().map(floats).collect()
}

/// MaxSim with plain loops: Σ over query rows of the best dot product with a document row.
fn maxsim(q: &[Vec<f32>], d: &[Vec<f32>]) -> f32 {
    q.iter()
        .map(|qi| {
            d.iter()
                .map(|dj| qi.iter().zip(dj).map(|(a, b)| a * b).sum::<f32>())
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .sum()
}

fn assert_rows_close(got: &[Vec<f32>], want: &[Vec<f32>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: row count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let d = max_diff(g, w);
        assert!(d < 1e-4, "{what} row {i}: max difference {d}");
    }
}

/// Checks the queries of `side` (the main set or the unattended variant) and returns their
/// matrices.
fn check_queries(m: &ColbertEmbedder, side: &Value, what: &str) -> Vec<Vec<Vec<f32>>> {
    let queries = side.as_array().unwrap();
    let texts: Vec<&str> = queries
        .iter()
        .map(|q| q["text"].as_str().unwrap())
        .collect();
    let got = m.embed_queries_tokens(&texts).unwrap();
    for (i, q) in queries.iter().enumerate() {
        assert_eq!(m.query_token_ids(texts[i]).unwrap(), ids(&q["token_ids"]));
        assert_rows_close(
            &got[i],
            &matrix(&q["embeddings"]),
            &format!("{what} query {i}"),
        );
        // One query alone equals the same query in a batch.
        let alone = m.embed_query_tokens(texts[i]).unwrap();
        assert_rows_close(&alone, &got[i], &format!("{what} query {i} alone"));
    }
    got
}

fn check_scores(queries: &[Vec<Vec<f32>>], docs: &[Vec<Vec<f32>>], want: &Value, what: &str) {
    for (i, row) in want.as_array().unwrap().iter().enumerate() {
        for (j, w) in floats(row).iter().enumerate() {
            let s = maxsim(&queries[i], &docs[j]);
            assert!((s - w).abs() < 1e-3, "{what} score q{i} d{j}: {s} vs {w}");
        }
    }
}

#[test]
fn colbert_matches_pytorch_in_both_query_conventions() {
    let r = reference();
    let m = colbert(None);
    let li = m.identity().late_interaction.clone().unwrap();
    assert_eq!(m.identity().dim, 128);
    assert_eq!((li.query_length, li.document_length), (32, 180));
    assert_eq!((li.query_marker, li.document_marker), (1, 2));
    assert!(
        li.attend_to_expansion,
        "the default attends to [MASK] expansion"
    );
    assert_eq!(
        li.projection_sha256,
        r["projection"]["sha256"].as_str().unwrap()
    );

    let docs = r["documents"].as_array().unwrap();
    let texts: Vec<&str> = docs.iter().map(|d| d["text"].as_str().unwrap()).collect();
    // All five in one padded batch.
    let doc_matrices = m.embed_document_tokens(&texts).unwrap();
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(
            m.document_token_ids(texts[i]).unwrap(),
            ids(&d["token_ids"])
        );
        assert_eq!(
            doc_matrices[i].len(),
            d["kept_rows"].as_array().unwrap().len()
        );
        assert_rows_close(
            &doc_matrices[i],
            &matrix(&d["embeddings"]),
            &format!("document {i}"),
        );
    }
    let queries = check_queries(&m, &r["queries"], "attended");
    check_scores(&queries, &doc_matrices, &r["scores"], "attended");

    let variant = &r["variant_attend_to_expansion_false"];
    let unattended = colbert(Some(false));
    assert!(
        !unattended
            .identity()
            .late_interaction
            .as_ref()
            .unwrap()
            .attend_to_expansion
    );
    assert_ne!(
        unattended.identity(),
        m.identity(),
        "the convention is pinned"
    );
    let queries = check_queries(&unattended, &variant["queries"], "unattended");
    check_scores(&queries, &doc_matrices, &variant["scores"], "unattended");
}

#[test]
fn colbert_truncates_queries_and_documents_like_pytorch() {
    let r = reference();
    let t = &r["truncation_cases"];
    let m = colbert(None);
    let (q, d) = (&t["query"], &t["document"]);
    let q_ids = m.query_token_ids(q["text"].as_str().unwrap()).unwrap();
    assert_eq!(q_ids, ids(&q["token_ids"]));
    assert_eq!(q_ids.len(), 32);
    assert!(
        !q_ids.contains(&103),
        "a long query has no [MASK] expansion"
    );
    let d_ids = m.document_token_ids(d["text"].as_str().unwrap()).unwrap();
    assert_eq!(d_ids, ids(&d["token_ids"]));
    assert_eq!(d_ids.len(), 180);
    let qm = m.embed_query_tokens(q["text"].as_str().unwrap()).unwrap();
    let dm = m
        .embed_document_tokens(&[d["text"].as_str().unwrap()])
        .unwrap();
    assert_rows_close(&qm, &matrix(&q["embeddings"]), "truncated query");
    assert_rows_close(&dm[0], &matrix(&d["embeddings"]), "truncated document");
    let want = t["score_query_vs_document"].as_f64().unwrap() as f32;
    let s = maxsim(&qm, &dm[0]);
    assert!((s - want).abs() < 1e-3, "{s} vs {want}");
}

#[test]
fn colbert_collections_take_text_and_pin_the_conventions() {
    let r = reference();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("colbert.qvr");
    let docs = r["documents"].as_array().unwrap();
    let query = r["queries"][0]["text"].as_str().unwrap();
    // The reference scores of query 0 decide the expected order.
    let scores = floats(&r["scores"][0]);
    let best = (0..scores.len())
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
        .unwrap();
    let first = {
        let db = Database::create(&path).unwrap();
        let m: Arc<dyn Embedder> = Arc::new(colbert(None));
        // A token model cannot serve a single-vector collection.
        assert!(matches!(
            db.create_collection("bad", CollectionConfig::with_embedder(m.clone())),
            Err(Error::InvalidParameter { name: "model", .. })
        ));
        let c = db
            .create_collection("docs", CollectionConfig::multi_vector_with_embedder(m))
            .unwrap();
        let records: Vec<TextRecord> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| TextRecord::new(format!("d{i}"), d["text"].as_str().unwrap()))
            .collect();
        c.upsert_texts(&records).unwrap();
        let stored = c.get_multi("d0").unwrap().unwrap();
        assert_eq!(stored.text.as_deref(), docs[0]["text"].as_str());
        assert_eq!(
            stored.vectors.len(),
            docs[0]["kept_rows"].as_array().unwrap().len()
        );
        let hits = c.search_text(query, 5).unwrap();
        assert_eq!(hits[0].id, format!("d{best}"));
        assert!((hits[0].score - scores[best]).abs() < 1e-3);
        assert_eq!(hits[0].text.as_deref(), docs[best]["text"].as_str());
        hits
    };
    // Reopened: the model and its separate head are found again from the pinned paths.
    let db = Database::open(&path).unwrap();
    let c = db.collection("docs").unwrap();
    let again = c
        .search_multi_text_with(query, &MultiSearchRequest::new(&[], 5).exact(true))
        .unwrap();
    assert_eq!(again, first);
    // The same trunk and head with the other query convention is another model.
    assert!(matches!(
        c.attach_embedder(Arc::new(colbert(Some(false)))),
        Err(Error::ModelMismatch { .. })
    ));
}
