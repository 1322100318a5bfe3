//! Quiver's BM25 against an outside implementation: bm25s (`method="lucene"`, k1 1.2,
//! b 0.75) fed the terms `quiver analyze` prints, on Cranfield (fixture made by
//! `tests/fixtures/bm25_reference/generate.py`). Every top-10 score within 1e-5 relative,
//! the same documents (up to ties at the cut), and the same terms for every query.

use quiver::{CollectionConfig, Database, Metric, Query, Record, Stemming, TextIndexParams};
use quiver_tests::ir;
use serde_json::{Value, json};
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The Cranfield documents as records with their text in payload field `w`.
fn records(data: &ir::TestCollection) -> Vec<Record> {
    data.docs
        .iter()
        .map(|(id, text)| Record::new(id.clone(), vec![1.0]).with_payload(json!({ "w": text })))
        .collect()
}

/// A query with leading '+'/'-' stripped from its words (Cranfield has "-dash"), as the
/// fixture's generator does.
fn plain_words(q: &str) -> String {
    q.split_whitespace()
        .map(|w| w.trim_start_matches(['+', '-']))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn scores_equal_bm25s_on_cranfield() {
    let data = ir::cranfield(&fixtures().join("cranfield")).unwrap();
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("bm25_reference/bm25_reference.json")).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("c.qvr")).unwrap();
    let records = records(&data);
    for config in reference["configs"].as_array().unwrap() {
        let stem = config["stemming"].as_str().unwrap();
        let c = db
            .create_collection(
                &format!("c_{stem}"),
                CollectionConfig::new(1, Metric::Cosine),
            )
            .unwrap();
        c.upsert(&records).unwrap();
        let stemming = if stem == "english" {
            Stemming::English
        } else {
            Stemming::None
        };
        let info = c
            .create_text_index(&TextIndexParams::fields(["w"]).stemming(stemming))
            .unwrap();
        let total = (info.avg_len * info.rows as f64).round() as u64;
        assert_eq!(
            total,
            config["doc_terms_total"].as_u64().unwrap(),
            "{stem}: document terms"
        );
        let mut compared = 0;
        for (q, want) in data
            .queries
            .iter()
            .zip(config["queries"].as_array().unwrap())
        {
            let q = plain_words(q);
            let terms: Vec<String> = serde_json::from_value(want["terms"].clone()).unwrap();
            assert_eq!(c.analyze(&q).unwrap(), terms, "{stem}: terms of {q:?}");
            let top: Vec<(String, f64)> = serde_json::from_value(want["top10"].clone()).unwrap();
            let hits = c.search(Query::Keywords(&q), 10).unwrap();
            assert_eq!(hits.len(), top.len(), "{stem}: {q:?}");
            for (h, (_, score)) in hits.iter().zip(&top) {
                let rel = (f64::from(h.score) - score).abs() / score.abs();
                assert!(rel < 1e-5, "{stem}: {q:?}: {} vs {score}", h.score);
            }
            // The same documents, except where a tie straddles the cut.
            let last = top.last().map_or(0.0, |t| t.1);
            let clear = |id: &str, s: f64| (s - last).abs() / last > 1e-5 || id.is_empty();
            for (h, (id, s)) in hits.iter().zip(&top) {
                if clear(id, *s) {
                    assert!(
                        top.iter().any(|(t, _)| *t == h.id) || !clear(&h.id, f64::from(h.score)),
                        "{stem}: {q:?}: {} not in bm25s' top 10",
                        h.id
                    );
                }
            }
            compared += hits.len();
        }
        assert_eq!(compared, 2250, "{stem}");
    }
}

/// BM25 retrieval quality on Cranfield (graded gain 5 − code, `.W` text, queries by
/// position): the bm25s reference figures (its own tokenizer and stop words) are nDCG@10
/// 0.3597 stemmed and 0.3359 not; Quiver's analyzer (UAX #29 words, Lucene's stop words)
/// must be as good.
#[test]
fn cranfield_bm25_quality() {
    let data = ir::cranfield(&fixtures().join("cranfield")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("c.qvr")).unwrap();
    let records = records(&data);
    for (stemming, floor) in [(Stemming::English, 0.355), (Stemming::None, 0.328)] {
        let c = db
            .create_collection(
                &format!("c{stemming:?}"),
                CollectionConfig::new(1, Metric::Cosine),
            )
            .unwrap();
        c.upsert(&records).unwrap();
        c.create_text_index(&TextIndexParams::fields(["w"]).stemming(stemming))
            .unwrap();
        let rankings: Vec<Vec<String>> = data
            .queries
            .iter()
            .map(|q| {
                let q = plain_words(q);
                c.search(Query::Keywords(&q), 100)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.id)
                    .collect()
            })
            .collect();
        let (ndcg, recall, judged) = ir::evaluate(&rankings, &data.qrels);
        println!(
            "cranfield BM25 {stemming:?}: nDCG@10 {ndcg:.4}, recall@100 {recall:.4} over {judged} queries"
        );
        assert!(ndcg >= floor, "{stemming:?}: nDCG@10 {ndcg}");
    }
}
