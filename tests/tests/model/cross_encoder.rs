//! The BERT cross-encoder against PyTorch (tests/fixtures/cross_encoder_reference, made by its
//! generate.py): a random-initialised sentence-transformers CrossEncoder folder and the real
//! MiniLM trunk with a random classifier head, on 55 Cranfield pairs (most of them truncated).

use super::{fixture, model_dir};
use quiver::CrossEncoder;
use quiver::embed::ScoreActivation;
use quiver_embed::{BertCrossEncoder, CrossEncoderOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn reference() -> Value {
    let text =
        std::fs::read_to_string(fixture("cross_encoder_reference").join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn pairs(r: &Value) -> Vec<(String, String)> {
    r["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["query"].as_str().unwrap().to_owned(),
                p["document"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn ints(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Checks tokens, logits (through an identity view of the scores) and predict's scores.
fn check(model: &BertCrossEncoder, r: &Value, name: &str) {
    let pairs = pairs(r);
    let outputs = r["models"][name]["outputs"].as_array().unwrap();
    assert!(pairs.len() >= 50 && outputs.len() == pairs.len());
    for ((q, d), want) in pairs.iter().zip(outputs) {
        let (ids, types) = model.pair_tokens(q, d).unwrap();
        assert_eq!(ids, ints(&want["token_ids"]), "{name}: token ids of {q:?}");
        assert_eq!(
            types,
            ints(&want["token_type_ids"]),
            "{name}: types of {q:?}"
        );
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect();
    let got = model.predict(&refs).unwrap();
    let activation = model.identity().activation;
    let mut worst = 0f32;
    for (i, (g, want)) in got.iter().zip(outputs).enumerate() {
        let logit = want["logits"][0].as_f64().unwrap() as f32;
        let score = want["score"].as_f64().unwrap() as f32;
        assert_eq!(g.len(), 1);
        let d = (g[0] - activation.apply(logit))
            .abs()
            .max((g[0] - score).abs());
        worst = worst.max(d);
        assert!(
            d < 1e-4,
            "{name}: pair {i}: {} vs logit {logit} / score {score}",
            g[0]
        );
    }
    eprintln!("{name}: max |Δ| {worst:.2e} over {} pairs", got.len());
    // Scoring through the trait gives the same, one query at a time.
    let (q, _) = &pairs[0];
    let same_q: Vec<&str> = pairs
        .iter()
        .filter(|(pq, _)| pq == q)
        .map(|(_, d)| d.as_str())
        .collect();
    let scores = model.score(q, &same_q).unwrap();
    assert!((scores[0] - got[0][0]).abs() < 1e-5);
}

#[test]
fn random_cross_encoder_matches_pytorch() {
    let r = reference();
    let dir = fixture("cross_encoder_reference").join("tiny");
    let model = BertCrossEncoder::load(&dir).unwrap();
    let id = model.identity();
    assert_eq!((id.max_tokens, id.labels), (64, 1));
    assert_eq!(id.activation, ScoreActivation::Sigmoid);
    assert_eq!(
        id.weights_sha256,
        r["models"]["tiny"]["weights_sha256"].as_str().unwrap()
    );
    check(&model, &r, "tiny");
    // A batch of one equals the same pair inside a padded batch of many.
    let small = BertCrossEncoder::load_with(
        &dir,
        &CrossEncoderOptions {
            batch_size: Some(1),
            ..CrossEncoderOptions::default()
        },
    )
    .unwrap();
    let pairs = pairs(&r);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect();
    let (a, b) = (small.predict(&refs).unwrap(), model.predict(&refs).unwrap());
    for (x, y) in a.iter().zip(&b) {
        assert!((x[0] - y[0]).abs() < 1e-5);
    }
}

/// The MiniLM trunk and pooler with the fixture's head, as one HF folder (the generator
/// does the same in PyTorch).
pub(crate) fn minilm_head_folder(into: &Path) -> PathBuf {
    let src = model_dir();
    let here = fixture("cross_encoder_reference").join("minilm_head");
    let dir = into.join("minilm-cross-encoder");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["tokenizer.json", "vocab.txt", "special_tokens_map.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let mut tc: Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("tokenizer_config.json")).unwrap())
            .unwrap();
    tc["model_max_length"] = 256.into();
    std::fs::write(dir.join("tokenizer_config.json"), tc.to_string()).unwrap();
    std::fs::copy(here.join("config.json"), dir.join("config.json")).unwrap();
    let trunk = std::fs::read(src.join("model.safetensors")).unwrap();
    let head = std::fs::read(here.join("head.safetensors")).unwrap();
    let (trunk, head) = (
        safetensors::SafeTensors::deserialize(&trunk).unwrap(),
        safetensors::SafeTensors::deserialize(&head).unwrap(),
    );
    let mut all: Vec<(String, safetensors::tensor::TensorView<'_>)> = trunk.tensors();
    all.extend(head.tensors());
    let bytes = safetensors::serialize(all, None).unwrap();
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    dir
}

#[test]
fn minilm_trunk_with_a_random_head_matches_pytorch() {
    let r = reference();
    let tmp = tempfile::tempdir().unwrap();
    let model = BertCrossEncoder::load(minilm_head_folder(tmp.path())).unwrap();
    let id = model.identity();
    assert_eq!((id.max_tokens, id.labels), (256, 1));
    assert_eq!(
        id.activation,
        ScoreActivation::Identity,
        "config.json's sentence_transformers"
    );
    check(&model, &r, "minilm_head");
}

#[test]
fn folders_that_are_not_cross_encoders_are_refused() {
    // all-MiniLM-L6-v2 is a BertModel: no classifier.
    let err = BertCrossEncoder::load(model_dir()).unwrap_err();
    assert!(matches!(err, quiver::Error::InvalidModel { .. }), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = minilm_head_folder(tmp.path());
    let err = BertCrossEncoder::load_with(
        &dir,
        &CrossEncoderOptions {
            max_tokens: Some(513),
            ..CrossEncoderOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, quiver::Error::InvalidParameter { .. }),
        "{err}"
    );
}

#[test]
fn a_pinned_cross_encoder_reranks_text_searches_and_reloads_after_reopening() {
    use quiver::{CollectionConfig, Database, Rerank, SearchOptions, Stage, TextRecord};
    let r = reference();
    let docs: Vec<String> = pairs(&r).into_iter().map(|(_, d)| d).take(12).collect();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ce.qvr");
    let ce = std::sync::Arc::new(
        BertCrossEncoder::load(fixture("cross_encoder_reference").join("tiny")).unwrap(),
    );
    let query = "how is the lift of a wing in a slipstream computed?";
    let first = {
        let db = Database::create(&path).unwrap();
        let c = db
            .create_collection("cran", CollectionConfig::with_embedder(super::model()))
            .unwrap();
        let records: Vec<TextRecord> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| TextRecord::new(format!("d{i}"), d.clone()))
            .collect();
        c.upsert_texts(&records).unwrap();
        c.pin_reranker(ce.clone()).unwrap();
        c.search(query, SearchOptions::new(5).rerank(Rerank::pinned()))
            .unwrap()
    };
    // The stored texts were the documents; the scores are the model's own.
    let texts: Vec<&str> = first.iter().map(|h| h.text.as_deref().unwrap()).collect();
    let direct = ce.score(query, &texts).unwrap();
    for (h, s) in first.iter().zip(&direct) {
        assert!((h.score - s).abs() < 1e-6);
        assert_eq!(h.stages.last().unwrap().stage, Stage::Rerank);
    }
    assert!(first.windows(2).all(|w| w[0].score >= w[1].score));
    // Reopened: the pinned folder is loaded again by the registered loader.
    let db = Database::open(&path).unwrap();
    let c = db.collection("cran").unwrap();
    assert_eq!(c.reranker_identity().unwrap().unwrap(), *ce.identity());
    let again = c
        .search(query, SearchOptions::new(5).rerank(Rerank::pinned()))
        .unwrap();
    let ids = |h: &[quiver::Hit]| h.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(c.check().unwrap(), 12);
}
