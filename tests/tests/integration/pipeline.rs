//! Staged retrieval: a first stage (dense, keywords, hybrid), MaxSim re-scoring in a
//! multi-vector collection of the same ids, and cross-encoder re-ranking, with every stage's
//! score on each hit; a collection's pinned default re-ranker.

use quiver::embed::{CrossEncoder, RerankerIdentity, ScoreActivation};
use quiver::{
    CollectionConfig, Database, Error, Hybrid, Metric, MultiRecord, Query, Record, Rerank, Rescore,
    SearchOptions, Stage, TextIndexParams,
};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Scores a text by how many times it contains the query's first word; counts its calls.
struct WordCount {
    identity: RerankerIdentity,
    pairs: AtomicUsize,
}

impl CrossEncoder for WordCount {
    fn identity(&self) -> &RerankerIdentity {
        &self.identity
    }
    fn score(&self, query: &str, texts: &[&str]) -> quiver::Result<Vec<f32>> {
        self.pairs.fetch_add(texts.len(), Ordering::Relaxed);
        let word = query.split_whitespace().next().unwrap_or("");
        Ok(texts
            .iter()
            .map(|t| t.matches(word).count() as f32)
            .collect())
    }
}

fn word_count(labels: usize) -> Arc<WordCount> {
    Arc::new(WordCount {
        identity: RerankerIdentity {
            name: "word-count".into(),
            weights_sha256: "v1".into(),
            max_tokens: 512,
            activation: ScoreActivation::Identity,
            labels,
        },
        pairs: AtomicUsize::new(0),
    })
}

/// 30 records on a line of angles; record i mentions "wing" (i % 7) times in `body`.
fn corpus(db: &Database) -> quiver::Collection {
    let c = db
        .create_collection("docs", CollectionConfig::new(2, Metric::Cosine))
        .unwrap();
    let records: Vec<Record> = (0..30)
        .map(|i| {
            let a = i as f32 * 0.02;
            let body = format!("{} flow", "wing ".repeat(i % 7));
            Record::new(format!("d{i}"), vec![a.cos(), a.sin()])
                .with_payload(json!({"body": body, "n": i}))
        })
        .collect();
    c.upsert(&records).unwrap();
    c
}

#[test]
fn rerank_reorders_the_top_candidates_and_keeps_every_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::create(tmp.path().join("p.qvr")).unwrap();
    let c = corpus(&db);
    let model = word_count(1);
    let q = [1.0f32, 0.0];
    let options = SearchOptions::new(3).rerank(
        Rerank::with(model.clone())
            .query("wing")
            .text_field("body")
            .top(10),
    );
    let hits = c.search(&q, options).unwrap();
    // The 10 nearest are d0..d9; by "wing" count: d6 (6), then d5 (5), d4 (4).
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["d6", "d5", "d4"]);
    assert_eq!(model.pairs.load(Ordering::Relaxed), 10);
    let h = &hits[0];
    assert_eq!(h.score, 6.0);
    assert_eq!(h.stages.len(), 2);
    assert_eq!((h.stages[0].stage, h.stages[0].rank), (Stage::Retrieve, 7));
    assert_eq!((h.stages[1].stage, h.stages[1].rank), (Stage::Rerank, 1));
    assert!(h.payload.is_some());

    // Paging cuts the re-ranked list; ties keep the first stage's order.
    let page = c
        .search(
            &q,
            SearchOptions::new(3)
                .offset(6)
                .include_payload(false)
                .rerank(
                    Rerank::with(model.clone())
                        .query("wing")
                        .text_field("body")
                        .top(10),
                ),
        )
        .unwrap();
    let ids: Vec<&str> = page.iter().map(|h| h.id.as_str()).collect();
    // Re-ranked: d6 d5 d4 d3 d2 d9 | d1 d8 d0 d7 (ties in cosine order).
    assert_eq!(ids, ["d1", "d8", "d0"]);
    assert!(page[0].payload.is_none() && page[0].text.is_none());

    // A filter applies in the first stage.
    let odd = quiver::Filter::parse(r#"{"n": {"$in": [1, 3, 5, 13]}}"#).unwrap();
    let hits = c
        .search(
            &q,
            SearchOptions::new(10)
                .filter(&odd)
                .rerank(Rerank::with(model.clone()).query("wing").text_field("body")),
        )
        .unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["d13", "d5", "d3", "d1"]);
}

#[test]
fn keyword_and_hybrid_queries_give_the_reranker_their_text() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::create(tmp.path().join("p.qvr")).unwrap();
    let c = corpus(&db);
    c.create_text_index(&TextIndexParams::fields(["body"]))
        .unwrap();
    let model = word_count(1);
    // No text_field: the full-text index's fields are the documents' text.
    let hits = c
        .search(
            Query::Keywords("wing"),
            SearchOptions::new(2).rerank(Rerank::with(model.clone())),
        )
        .unwrap();
    assert_eq!(hits[0].score, 6.0);
    assert_eq!(hits[0].stages[0].stage, Stage::Retrieve);
    let v = [1.0f32, 0.0];
    let hits = c
        .search(
            Hybrid::new(&v[..], "wing flow"),
            SearchOptions::new(2).rerank(Rerank::with(model)),
        )
        .unwrap();
    assert_eq!(
        hits[0].score, 6.0,
        "the hybrid query's keywords are its text"
    );
    assert!(hits[0].explain.is_some(), "the hybrid explanation stays");
}

#[test]
fn rescore_with_maxsim_then_rerank() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::create(tmp.path().join("p.qvr")).unwrap();
    let c = corpus(&db);
    let tokens = db
        .create_collection("tokens", CollectionConfig::multi_vector(2, Metric::Cosine))
        .unwrap();
    // Token matrices that put d20 first for the query matrix below; d0 is missing.
    let records: Vec<MultiRecord> = (1..30)
        .map(|i| {
            let a = (i as f32 - 20.0).abs() * 0.05;
            MultiRecord::new(
                format!("d{i}"),
                vec![vec![a.cos(), a.sin()], vec![0.0, 1.0]],
            )
        })
        .collect();
    tokens.upsert(&records).unwrap();
    let qm = vec![vec![1.0f32, 0.0]];
    let v = [1.0f32, 0.0];
    let hits = c
        .search(
            &v,
            SearchOptions::new(4).rescore(Rescore::new(&tokens).query(&qm).top(30)),
        )
        .unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["d20", "d19", "d21", "d18"]);
    assert_eq!(hits[0].stages[1].stage, Stage::Rescore);
    assert!((hits[0].score - 1.0).abs() < 1e-6);
    // The id the multi-vector collection lacks comes last.
    let all = c
        .search(
            &v,
            SearchOptions::new(30).rescore(Rescore::new(&tokens).query(&qm).top(30)),
        )
        .unwrap();
    assert_eq!(all.last().unwrap().id, "d0");
    assert_eq!(all.last().unwrap().score, f32::NEG_INFINITY);
    // Then a cross-encoder on what MaxSim ordered: three stages per hit.
    let hits = c
        .search(
            &v,
            SearchOptions::new(2)
                .rescore(Rescore::new(&tokens).query(&qm).top(30))
                .rerank(
                    Rerank::with(word_count(1))
                        .query("wing")
                        .text_field("body")
                        .top(5),
                ),
        )
        .unwrap();
    // MaxSim's top 5: d20, d19, d21, d18, d22 → wings 6, 5, 0, 4, 1.
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["d20", "d19"]);
    let stages: Vec<Stage> = hits[0].stages.iter().map(|s| s.stage).collect();
    assert_eq!(stages, [Stage::Retrieve, Stage::Rescore, Stage::Rerank]);
}

#[test]
fn misuse_is_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::create(tmp.path().join("p.qvr")).unwrap();
    let c = corpus(&db);
    let v = [1.0f32, 0.0];
    let cases = [
        // A vector query has no text for the re-ranker.
        SearchOptions::new(3).rerank(Rerank::with(word_count(1)).text_field("body")),
        // No model and none pinned.
        SearchOptions::new(3).rerank(Rerank::pinned().query("wing")),
        // A three-label model is not a re-ranker.
        SearchOptions::new(3).rerank(Rerank::with(word_count(3)).query("wing")),
        SearchOptions::new(3).rerank(Rerank::with(word_count(1)).query("wing").top(0)),
        SearchOptions::new(3).rerank(Rerank::with(word_count(1)).query("w").text_field("")),
    ];
    for options in cases {
        let err = c.search(&v, options).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
    }
    // Re-scoring in a collection of the other kind.
    let other = db
        .create_collection("other", CollectionConfig::new(2, Metric::Cosine))
        .unwrap();
    let m = vec![vec![1.0f32, 0.0]];
    let err = c
        .search(
            &v,
            SearchOptions::new(3).rescore(Rescore::new(&other).query(&m)),
        )
        .unwrap_err();
    assert!(!matches!(err, Error::Internal { .. }), "{err}");
    let err = c
        .search(&v, SearchOptions::new(3).rescore(Rescore::new(&other)))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
}

#[test]
fn a_pinned_reranker_is_stored_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p.qvr");
    let model = word_count(1);
    {
        let db = Database::create(&path).unwrap();
        let c = corpus(&db);
        assert!(c.reranker_identity().unwrap().is_none());
        c.pin_reranker(model.clone()).unwrap();
        assert_eq!(c.reranker_identity().unwrap().unwrap(), model.identity);
        let hits = c
            .search(
                &[1.0f32, 0.0],
                SearchOptions::new(1).rerank(Rerank::pinned().query("wing").text_field("body")),
            )
            .unwrap();
        assert_eq!(hits[0].id, "d6");
        assert!(c.pin_reranker(word_count(2)).is_err(), "two labels");
    }
    let db = Database::open(&path).unwrap();
    let c = db.collection("docs").unwrap();
    assert_eq!(c.reranker_identity().unwrap().unwrap(), model.identity);
    // The application's own model is not loaded by itself after reopening...
    let err = c
        .search(
            &[1.0f32, 0.0],
            SearchOptions::new(1).rerank(Rerank::pinned().query("wing").text_field("body")),
        )
        .unwrap_err();
    assert!(matches!(err, Error::NoEmbedder { .. }), "{err}");
    // ...it is pinned again, and unpinning forgets it.
    c.pin_reranker(model).unwrap();
    assert!(c.reranker().unwrap().is_some());
    assert!(c.unpin_reranker().unwrap());
    assert!(!c.unpin_reranker().unwrap());
    assert!(c.reranker().unwrap().is_none());
}
