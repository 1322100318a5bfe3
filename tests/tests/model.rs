//! The built-in BERT embedder against PyTorch, and text collections on the real model
//! (all-MiniLM-L6-v2). Needs the model (`scripts/fetch_model.sh`) and `QUIVER_MODEL_DIR`;
//! fails without them rather than passing silently. CI runs it (see .ci/run).

use quiver::{CollectionConfig, Database, Embedder, Error, SearchRequest, TextRecord};
use quiver_embed::BertEmbedder;
use quiver_tests::ir;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

#[path = "model/colbert.rs"]
mod colbert;
#[path = "model/cross_encoder.rs"]
mod cross_encoder;
#[path = "model/mining.rs"]
mod mining;
#[path = "model/multi_vector.rs"]
mod multi_vector;

// As the CLI does: inference churns through large tensors (see quiver_embed::BertOptions).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn model_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("QUIVER_MODEL_DIR").expect("set QUIVER_MODEL_DIR (scripts/fetch_model.sh)"),
    )
}

/// One loaded model shared by the tests of this binary.
fn model() -> Arc<BertEmbedder> {
    static MODEL: OnceLock<Arc<BertEmbedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| Arc::new(BertEmbedder::load(model_dir()).expect("model loads")))
        .clone()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn matches_pytorch_golden_outputs() {
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("minilm_reference.json")).unwrap())
            .unwrap();
    let m = model();
    let id = m.identity();
    assert_eq!((id.dim, id.max_tokens, id.normalize), (384, 256, true));
    assert_eq!(
        id.weights_sha256,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    );
    let sentences: Vec<&str> = golden["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for (s, ids) in sentences
        .iter()
        .zip(golden["token_ids"].as_array().unwrap())
    {
        let want: Vec<u32> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(m.token_ids(s).unwrap(), want, "token ids of {s:?}");
    }
    let rows = m.token_vectors(sentences[0]).unwrap();
    assert_eq!(rows.len(), 8);
    for (i, want) in golden["token_embeddings_sentence0_first3rows"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let d = max_diff(&rows[i], &floats(want));
        assert!(d < 1e-4, "token row {i}: max difference {d}");
    }
    // One batch of all five (padding and masking exercised), compared with PyTorch.
    let got = m.embed_documents(&sentences).unwrap();
    for (i, want) in golden["embeddings"].as_array().unwrap().iter().enumerate() {
        let d = max_diff(&got[i], &floats(want));
        assert!(d < 1e-4, "embedding {i}: max difference {d}");
    }
    for (i, row) in golden["cosine"].as_array().unwrap().iter().enumerate() {
        for (j, want) in floats(row).iter().enumerate() {
            let cos: f32 = got[i].iter().zip(&got[j]).map(|(a, b)| a * b).sum();
            assert!((cos - want).abs() < 1e-4, "cosine {i},{j}: {cos} vs {want}");
        }
    }
    // A query alone equals the same text inside a padded batch.
    let alone = m.embed_query(sentences[2]).unwrap();
    assert!(max_diff(&alone, &got[2]) < 1e-5);
}

#[test]
fn long_texts_are_truncated_to_the_window() {
    let m = model();
    let long = "the wing was tested in a wind tunnel ".repeat(200);
    assert_eq!(m.token_ids(&long).unwrap().len(), 256);
    let v = m.embed_query(&long).unwrap();
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
}

#[test]
fn cranfield_retrieval_quality() {
    let data = ir::cranfield(&fixture("cranfield")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::create(tmp.path().join("cran.qvr")).unwrap();
    let c = db
        .create_collection("cran", CollectionConfig::with_embedder(model()))
        .unwrap();
    // Documents 471 and 995 have no text; Quiver refuses to embed empty text (the
    // sentence-transformers reference scores the same with or without them).
    let records: Vec<TextRecord> = data
        .docs
        .iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(id, text)| TextRecord::new(id.clone(), text.clone()))
        .collect();
    for chunk in records.chunks(200) {
        c.upsert_texts(chunk).unwrap();
    }
    assert_eq!(c.count().unwrap(), 1398);
    let queries: Vec<&str> = data.queries.iter().map(String::as_str).collect();
    let req = SearchRequest::new(&[], 100).include_payload(false);
    let rankings: Vec<Vec<String>> = c
        .search_texts_with(&queries, &req)
        .unwrap()
        .into_iter()
        .map(|hits| hits.into_iter().map(|h| h.id).collect())
        .collect();
    let (ndcg, recall, judged) = ir::evaluate(&rankings, &data.qrels);
    println!("cranfield: nDCG@10 {ndcg:.4}, recall@100 {recall:.4} over {judged} queries");
    // sentence-transformers on the same data: nDCG@10 0.3736, recall@100 0.776.
    assert!((ndcg - 0.3736).abs() < 0.002, "nDCG@10 {ndcg}");
    assert!((recall - 0.776).abs() < 0.005, "recall@100 {recall}");
    hybrid_quality(&c, &data, ndcg);
    // The stored text comes back with hits and records.
    let hit = &c.search_text(&data.queries[0], 1).unwrap()[0];
    let doc = &data.docs.iter().find(|(id, _)| *id == hit.id).unwrap().1;
    assert_eq!(hit.text.as_deref(), Some(doc.as_str()));
    assert_eq!(
        c.get("1").unwrap().unwrap().text.as_deref(),
        Some(data.docs[0].1.as_str())
    );
}

/// Copies the model folder (weights included) so a test can change it.
fn copy_model(to: &Path) {
    let from = model_dir();
    for entry in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
    ] {
        std::fs::copy(from.join(entry), to.join(entry)).unwrap();
    }
    std::fs::create_dir_all(to.join("1_Pooling")).unwrap();
    std::fs::copy(
        from.join("1_Pooling/config.json"),
        to.join("1_Pooling/config.json"),
    )
    .unwrap();
}

#[test]
fn reopening_loads_the_pinned_model_and_refuses_another() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("minilm");
    std::fs::create_dir(&folder).unwrap();
    copy_model(&folder);
    let path = tmp.path().join("t.qvr");
    {
        let db = Database::create(&path).unwrap();
        let embedder = Arc::new(BertEmbedder::load(&folder).unwrap());
        let c = db
            .create_collection("notes", CollectionConfig::with_embedder(embedder))
            .unwrap();
        c.upsert_texts(&[
            TextRecord::new("a", "The cat sat on the mat."),
            TextRecord::new("b", "Stock markets fell sharply today."),
        ])
        .unwrap();
    }
    {
        // Reopened: the model is found again from the pinned folder, lazily.
        let db = Database::open(&path).unwrap();
        let c = db.collection("notes").unwrap();
        assert_eq!(c.model().unwrap().unwrap().dim, 384);
        let hits = c.search_text("a kitten on a rug", 1).unwrap();
        assert_eq!(hits[0].id, "a");
    }
    // Another model at the same path (here: changed weights) is refused, naming both.
    let weights = folder.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&weights, bytes).unwrap();
    let db = Database::open(&path).unwrap();
    let c = db.collection("notes").unwrap();
    match c.search_text("cats", 1) {
        Err(Error::ModelMismatch { pinned, found, .. }) => {
            assert!(pinned.contains("53aa51172d14"), "{pinned}");
            assert!(!found.contains("53aa51172d14"), "{found}");
        }
        other => panic!("expected ModelMismatch, got {other:?}"),
    }
    // Vectors and texts are still readable without the model.
    assert_eq!(
        c.get("b").unwrap().unwrap().text.as_deref(),
        Some("Stock markets fell sharply today.")
    );
}

#[test]
fn incomplete_model_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("m");
    std::fs::create_dir(&folder).unwrap();
    copy_model(&folder);
    std::fs::remove_file(folder.join("tokenizer.json")).unwrap();
    match BertEmbedder::load(&folder) {
        Err(Error::InvalidModel { reason, .. }) => assert!(reason.contains("tokenizer.json")),
        other => panic!("expected InvalidModel, got {other:?}"),
    }
    copy_model(&folder);
    std::fs::write(folder.join("model.safetensors"), b"not weights").unwrap();
    assert!(matches!(
        BertEmbedder::load(&folder),
        Err(Error::InvalidModel { .. })
    ));
    copy_model(&folder);
    std::fs::write(folder.join("config.json"), b"{").unwrap();
    assert!(matches!(
        BertEmbedder::load(&folder),
        Err(Error::InvalidModel { .. })
    ));
    assert!(matches!(
        BertEmbedder::load(tmp.path().join("nowhere")),
        Err(Error::InvalidModel { .. })
    ));
}

/// BM25 over the stored text and hybrid BM25 + dense on Cranfield: every fusion method at
/// its defaults and a sweep of weights; the default hybrid must beat both branches alone.
fn hybrid_quality(c: &quiver::Collection, data: &ir::TestCollection, dense_ndcg: f64) {
    use quiver::{Fusion, Hybrid, Query, SearchOptions, TextIndexParams};
    c.create_text_index(&TextIndexParams::text()).unwrap();
    let keywords: Vec<String> = data
        .queries
        .iter()
        .map(|q| {
            q.split_whitespace()
                .map(|w| w.trim_start_matches(['+', '-']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let vectors: Vec<Vec<f32>> = data
        .queries
        .iter()
        .map(|q| model().embed_query(q).unwrap())
        .collect();
    let options = SearchOptions::new(100).include_payload(false);
    let n = data.queries.len();
    let run = |queries: Vec<Query<'_>>| {
        let rankings: Vec<Vec<String>> = queries
            .into_iter()
            .map(|q| {
                c.search(q, &options)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.id)
                    .collect()
            })
            .collect();
        ir::evaluate(&rankings, &data.qrels)
    };
    let (bm25, bm25_recall, _) = run((0..n).map(|i| Query::Keywords(&keywords[i])).collect());
    println!("cranfield BM25 (stored text): nDCG@10 {bm25:.4}, recall@100 {bm25_recall:.4}");
    let mut best = (0.0, String::new());
    let mut default_ndcg = 0.0;
    for fusion in [Fusion::default(), Fusion::Dbsf, Fusion::Relative] {
        for w in [0.3, 0.4, 0.5, 0.6, 0.7] {
            let (ndcg, recall, _) = run((0..n)
                .map(|i| {
                    Query::Hybrid(
                        Hybrid::new(&vectors[i], &keywords[i])
                            .fusion(fusion)
                            .weights(w, 1.0 - w),
                    )
                })
                .collect());
            println!(
                "cranfield hybrid {} weights {w:.1}/{:.1}: nDCG@10 {ndcg:.4}, recall@100 {recall:.4}",
                fusion.name(),
                1.0 - w
            );
            if ndcg > best.0 {
                best = (ndcg, format!("{} {w:.1}/{:.1}", fusion.name(), 1.0 - w));
            }
        }
        let (ndcg, recall, _) = run((0..n)
            .map(|i| Query::Hybrid(Hybrid::new(&vectors[i], &keywords[i]).fusion(fusion)))
            .collect());
        println!(
            "cranfield hybrid {} default weights: nDCG@10 {ndcg:.4}, recall@100 {recall:.4}",
            fusion.name()
        );
        if fusion == Fusion::default() {
            default_ndcg = ndcg;
        }
    }
    println!("cranfield hybrid best: {} nDCG@10 {:.4}", best.1, best.0);
    assert!(
        default_ndcg >= bm25.max(dense_ndcg),
        "hybrid at its defaults {default_ndcg:.4} below BM25 {bm25:.4} / dense {dense_ndcg:.4}"
    );
}
