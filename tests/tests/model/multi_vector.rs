//! Multi-vector search on real token vectors: all-MiniLM-L6-v2's normalised token outputs of
//! the Cranfield abstracts (their first 64 tokens, to keep CI short), stored as f16
//! matrices, searched with the Cranfield queries.

use super::{fixture, model_dir};
use quiver::MultiIndexParams;
use quiver::{CollectionConfig, Database, ElementType};
use quiver::{MultiSearchRequest, TextRecord};
use quiver_embed::{BertEmbedder, BertOptions};
use quiver_tests::ir;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

fn recall(exact: &[Vec<String>], approx: &[Vec<String>], k: usize) -> f64 {
    let hits: usize = exact
        .iter()
        .zip(approx)
        .map(|(e, a)| {
            let truth: HashSet<&String> = e.iter().take(k).collect();
            a.iter().take(k).filter(|id| truth.contains(id)).count()
        })
        .sum();
    hits as f64 / (exact.len() * k) as f64
}

#[test]
fn token_index_recall_on_cranfield_token_vectors() {
    let data = ir::cranfield(&fixture("cranfield")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::create(tmp.path().join("tokens.qvr")).unwrap();
    let options = BertOptions {
        max_tokens: Some(64),
        ..BertOptions::default()
    };
    let model = Arc::new(BertEmbedder::load_with(model_dir(), &options).unwrap());
    let config = CollectionConfig::multi_vector_with_embedder(model).element_type(ElementType::F16);
    let t = Instant::now();
    let c = db.create_collection("cran", config).unwrap();
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
    let embedded = t.elapsed();
    let t = Instant::now();
    let info = c.create_multi_index(&MultiIndexParams::default()).unwrap();
    let indexed = t.elapsed();
    let t = Instant::now();

    let embedder = c.embedder().unwrap();
    let queries: Vec<Vec<Vec<f32>>> = data
        .queries
        .iter()
        .map(|q| embedder.embed_query_tokens(q).unwrap())
        .collect();
    let run = |req: &dyn Fn(&[Vec<f32>]) -> MultiSearchRequest<'_>| -> Vec<Vec<String>> {
        queries
            .iter()
            .map(|q| {
                let hits = c.search_multi_with(&req(q)).unwrap();
                hits.into_iter().map(|h| h.id).collect()
            })
            .collect()
    };
    let exact = run(&|q| {
        MultiSearchRequest::new(q, 100)
            .exact(true)
            .include_payload(false)
    });
    let defaults = run(&|q| MultiSearchRequest::new(q, 10).include_payload(false));
    // At 1398 records the default budget (1024 candidates) re-ranks most of the collection;
    // a tight budget shows what the centroid probing itself finds.
    let tight = run(&|q| {
        MultiSearchRequest::new(q, 10)
            .candidates(100)
            .include_payload(false)
    });
    let searched = t.elapsed();
    println!(
        "embedded and stored in {embedded:?}, indexed in {indexed:?}, searched in {searched:?}"
    );
    let (r_default, r_tight) = (recall(&exact, &defaults, 10), recall(&exact, &tight, 10));
    let (ndcg, recall100, judged) = ir::evaluate(&exact, &data.qrels);
    println!(
        "cranfield token vectors: {} centroids; recall@10 vs exact MaxSim: defaults {r_default:.4}, \
         100 candidates {r_tight:.4}; exact MaxSim nDCG@10 {ndcg:.4}, recall@100 {recall100:.4} \
         over {judged} queries",
        info.centroids
    );
    assert!(r_default >= 0.95, "recall@10 at defaults {r_default}");
    assert!(r_tight >= 0.90, "recall@10 with 100 candidates {r_tight}");
    // Late interaction on a sentence model's raw token outputs still retrieves: well above
    // chance, in the range of the pooled model (nDCG@10 0.3736).
    assert!(ndcg > 0.25, "nDCG@10 {ndcg}");
}
