//! Hard-negative mining against a brute-force oracle written from the documented rules (f64
//! scores of every record, sorted, cut, filtered), and the keyword, hybrid, ensemble, index
//! and random-sampling paths.

use proptest::prelude::*;
use quiver::mining::{
    MiningFormat, MiningOutput, MiningPair, MiningRequest, PairQuery, Sampling, Teacher,
};
use quiver::{
    CollectionConfig, Database, IvfPqParams, Metric, Query, Record, SearchOptions, TextIndexParams,
};
use serde_json::json;
use std::collections::HashSet;

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("m.qvr")).unwrap();
    (dir, db)
}

/// A deterministic cloud of `n` vectors of `dim` components.
fn cloud(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as f64 / (1u64 << 31) as f64 - 0.5) as f32
    };
    (0..n).map(|_| (0..dim).map(|_| next()).collect()).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

struct Params {
    range_min: usize,
    range_max: usize,
    max_score: Option<f64>,
    min_score: Option<f64>,
    absolute: Option<f64>,
    relative: Option<f64>,
    n: usize,
}

/// The rules of `MiningRequest`, on exact scores: the oracle.
fn oracle(
    vectors: &[Vec<f32>],
    q: &[f32],
    positives: &[usize],
    most: usize,
    p: &Params,
) -> Vec<usize> {
    let mut all: Vec<(f64, usize)> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (cosine(q, v), i))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let weakest = positives
        .iter()
        .map(|&i| cosine(q, &vectors[i]))
        .fold(f64::INFINITY, f64::min);
    all.into_iter()
        .take(p.range_max + most + 1)
        .filter(|(_, i)| !positives.contains(i))
        .filter(|(s, _)| p.absolute.is_none_or(|m| s + m <= weakest))
        .filter(|(s, _)| p.relative.is_none_or(|m| *s <= weakest - weakest.abs() * m))
        .filter(|(s, _)| p.max_score.is_none_or(|m| *s <= m))
        .filter(|(s, _)| p.min_score.is_none_or(|m| *s >= m))
        .take(p.range_max)
        .skip(p.range_min)
        .take(p.n)
        .map(|(_, i)| i)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn dense_mining_equals_the_rules_on_exact_scores(
        seed in any::<u64>(),
        range_min in 0usize..4,
        extra in 1usize..30,
        n in 1usize..6,
        absolute in prop::option::of(0.0f64..0.3),
        relative in prop::option::of(0.0f64..0.3),
        max_score in prop::option::of(0.2f64..0.9),
        min_score in prop::option::of(-0.5f64..0.2),
    ) {
        let (_d, db) = db();
        let c = db.create_collection("c", CollectionConfig::new(8, Metric::Cosine)).unwrap();
        let vectors = cloud(300, 8, seed);
        let records: Vec<Record> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| Record::new(format!("r{i}"), v.clone()))
            .collect();
        c.upsert(&records).unwrap();
        let queries = cloud(20, 8, seed ^ 0xABCD);
        // A positive near each query: one of its 20 nearest (or two of them).
        let pos_of = |k: usize, q: &[f32]| -> Vec<usize> {
            let mut all: Vec<(f64, usize)> =
                vectors.iter().enumerate().map(|(i, v)| (cosine(q, v), i)).collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0));
            (0..1 + k % 2).map(|j| all[(k * 7 + j * 3) % 20].1).collect()
        };
        let positives: Vec<Vec<usize>> = queries.iter().enumerate().map(|(k, q)| pos_of(k, q)).collect();
        let pairs: Vec<MiningPair> = queries
            .iter()
            .zip(&positives)
            .map(|(q, p)| MiningPair::vector(q.clone(), p.iter().map(|i| format!("r{i}"))))
            .collect();
        let p = Params {
            range_min,
            range_max: range_min + extra,
            max_score,
            min_score,
            absolute,
            relative,
            n,
        };
        let mut req = MiningRequest::new(&pairs).range_min(range_min).range_max(p.range_max).num_negatives(n);
        req.absolute_margin = absolute.map(|x| x as f32);
        req.relative_margin = relative.map(|x| x as f32);
        req.max_score = max_score.map(|x| x as f32);
        req.min_score = min_score.map(|x| x as f32);
        let report = c.mine_hard_negatives(&req).unwrap();
        prop_assert_eq!(report.pairs.len(), 20);
        prop_assert_eq!(report.range_max, p.range_max);
        let mut short = 0;
        for (k, mined) in report.pairs.iter().enumerate() {
            let want: Vec<String> = oracle(&vectors, &queries[k], &positives[k], 2, &p)
                .into_iter()
                .map(|i| format!("r{i}"))
                .collect();
            let got: Vec<String> = mined.negatives.iter().map(|s| s.id.clone()).collect();
            prop_assert_eq!(&got, &want, "pair {}", k);
            for (s, pos) in mined.positives.iter().zip(&positives[k]) {
                prop_assert!((f64::from(s.score) - cosine(&queries[k], &vectors[*pos])).abs() < 1e-5);
            }
            if got.len() < n {
                short += 1;
            }
        }
        prop_assert_eq!(report.short, short);
    }
}

fn titled(id: &str, v: [f32; 2], title: &str) -> Record {
    Record::new(id, v.to_vec()).with_payload(json!({ "title": title }))
}

fn papers(db: &Database) -> quiver::Collection {
    let c = db
        .create_collection("p", CollectionConfig::new(2, Metric::Cosine))
        .unwrap();
    c.upsert(&[
        titled("a", [1.0, 0.0], "supersonic flow over a swept wing"),
        titled("b", [0.95, 0.1], "wing flutter in supersonic flow"),
        titled("c", [0.9, 0.3], "heat transfer in laminar boundary layers"),
        titled("d", [0.2, 0.9], "boundary layer flow on a heated plate"),
        titled("e", [0.0, 1.0], "buckling of plates and shells"),
        titled("f", [0.7, 0.7], "supersonic wing design"),
    ])
    .unwrap();
    c.create_text_index(&TextIndexParams::fields(["title"]))
        .unwrap();
    c
}

#[test]
fn keyword_teacher_scores_positives_by_bm25() {
    let (_d, db) = db();
    let c = papers(&db);
    let pairs = [MiningPair::text("supersonic wing", ["a"])];
    let report = c
        .mine_hard_negatives(
            &MiningRequest::new(&pairs)
                .teachers([Teacher::Keywords])
                .num_negatives(5),
        )
        .unwrap();
    let mined = &report.pairs[0];
    let bm25 = c.search(Query::Keywords("supersonic wing"), 10).unwrap();
    let score_of = |id: &str| bm25.iter().find(|h| h.id == id).unwrap().score;
    assert_eq!(mined.positives[0].score, score_of("a"));
    let got: Vec<&str> = mined.negatives.iter().map(|s| s.id.as_str()).collect();
    let want: Vec<&str> = bm25
        .iter()
        .map(|h| h.id.as_str())
        .filter(|id| *id != "a")
        .collect();
    assert_eq!(got, want, "the BM25 ranking without the positive");
    assert!(
        mined
            .negatives
            .iter()
            .all(|s| s.teacher == Teacher::Keywords)
    );
    // A positive with none of the terms scores 0, so a relative margin keeps nothing above 0.
    let pairs = [MiningPair::text("supersonic wing", ["e"])];
    let report = c
        .mine_hard_negatives(
            &MiningRequest::new(&pairs)
                .teachers([Teacher::Keywords])
                .relative_margin(0.05),
        )
        .unwrap();
    assert_eq!(report.pairs[0].positives[0].score, 0.0);
    assert!(report.pairs[0].negatives.is_empty());
    assert_eq!((report.short, report.empty), (1, 1));
    assert!(report.skipped.relative_margin > 0);
}

#[test]
fn hybrid_and_ensembles_never_return_positives_or_repeats() {
    let (_d, db) = db();
    let c = papers(&db);
    let pairs = [
        MiningPair::vector(vec![1.0, 0.05], ["a"]),
        MiningPair::text("supersonic flow", ["b"]),
    ];
    // A vector query cannot feed the keyword branch.
    assert!(matches!(
        c.mine_hard_negatives(&MiningRequest::new(&pairs).teachers([Teacher::Hybrid])),
        Err(quiver::Error::InvalidPair { pair: 0, .. })
    ));
    let texts = [
        MiningPair::text("supersonic flow", ["b"]),
        MiningPair::text("heated plates", ["d", "e"]),
    ];
    // Text queries need a model for the dense teacher: this collection has none.
    assert!(matches!(
        c.mine_hard_negatives(&MiningRequest::new(&texts)),
        Err(quiver::Error::NoEmbedder { .. })
    ));
    let ensemble = MiningRequest::new(&texts)
        .teachers([Teacher::Keywords, Teacher::Keywords])
        .num_negatives(4);
    let report = c.mine_hard_negatives(&ensemble).unwrap();
    for (mined, pair) in report.pairs.iter().zip(&texts) {
        let ids: Vec<&str> = mined.negatives.iter().map(|s| s.id.as_str()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(ids.iter().all(|id| !pair.positives.iter().any(|p| p == id)));
    }
}

#[test]
fn same_query_pairs_share_positives_and_formats_write_texts() {
    let (_d, db) = db();
    let c = papers(&db);
    // Two lines with the same query: neither line's positive is the other's negative.
    let pairs = [
        MiningPair::text("supersonic wing", ["a"]),
        MiningPair::text("supersonic wing", ["f"]),
    ];
    let report = c
        .mine_hard_negatives(&MiningRequest::new(&pairs).teachers([Teacher::Keywords]))
        .unwrap();
    for mined in &report.pairs {
        assert!(mined.negatives.iter().all(|s| s.id != "a" && s.id != "f"));
    }
    // Records inserted as vectors store no text: rows name them by id.
    let rows = report.rows(&MiningOutput::new(MiningFormat::Flag));
    assert_eq!(rows[0]["query"], "supersonic wing");
    assert_eq!(rows[0]["pos"], json!(["a"]));
    assert_eq!(rows[1]["pos"], json!(["f"]));
}

#[test]
fn random_sampling_is_reproducible_and_index_search_works() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(8, Metric::Cosine))
        .unwrap();
    let vectors = cloud(2000, 8, 5);
    let records: Vec<Record> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| Record::new(format!("r{i}"), v.clone()))
        .collect();
    c.upsert(&records).unwrap();
    let pairs: Vec<MiningPair> = (0..10)
        .map(|k| MiningPair::vector(vectors[k * 100].clone(), [format!("r{}", k * 100)]))
        .collect();
    let req = MiningRequest::new(&pairs)
        .range_min(5)
        .range_max(50)
        .num_negatives(8)
        .sampling(Sampling::Random { seed: 3 });
    let a = c.mine_hard_negatives(&req).unwrap();
    let b = c.mine_hard_negatives(&req).unwrap();
    assert_eq!(a, b, "the same seed gives the same negatives");
    let other = c
        .mine_hard_negatives(&req.clone().sampling(Sampling::Random { seed: 4 }))
        .unwrap();
    assert_ne!(a, other);
    for (k, mined) in a.pairs.iter().enumerate() {
        let window: Vec<String> = c
            .search(&vectors[k * 100], SearchOptions::new(51).exact(true))
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .filter(|id| *id != format!("r{}", k * 100))
            .skip(5)
            .take(45)
            .collect();
        assert_eq!(mined.negatives.len(), 8);
        assert!(mined.negatives.iter().all(|s| window.contains(&s.id)));
        assert!(mined.negatives.windows(2).all(|w| w[0].score >= w[1].score));
    }
    // Through the IVF-PQ index (every list probed; PQ candidates re-ranked exactly).
    c.create_index(IvfPqParams::default().nlist(8).m(4).seed(1))
        .unwrap();
    let exact = c
        .mine_hard_negatives(&MiningRequest::new(&pairs).num_negatives(5))
        .unwrap();
    let approx = MiningRequest::new(&pairs).num_negatives(5).exact(false);
    let via_index = c.mine_hard_negatives(&approx).unwrap();
    assert_eq!(via_index.pairs.len(), exact.pairs.len());
    let overlap: usize = exact
        .pairs
        .iter()
        .zip(&via_index.pairs)
        .map(|(x, y)| {
            x.negatives
                .iter()
                .filter(|s| y.negatives.iter().any(|t| t.id == s.id))
                .count()
        })
        .sum();
    assert!(
        overlap >= 35,
        "{overlap} of 50 negatives shared with exact mining"
    );
    assert!(matches!(pairs[0].query, PairQuery::Vector(_)));
}

#[test]
fn l2_scores_are_negated_distances() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(1, Metric::L2))
        .unwrap();
    c.upsert(
        &(0..10)
            .map(|i| Record::new(format!("x{i}"), vec![i as f32]))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let pairs = [MiningPair::vector(vec![0.0], ["x2"])];
    let r = c
        .mine_hard_negatives(
            &MiningRequest::new(&pairs)
                .num_negatives(3)
                .absolute_margin(0.0),
        )
        .unwrap();
    // Positive x2 at distance 4 (score -4): negatives must score <= -4, i.e. x3.. (x0, x1
    // are closer than the positive and would be false negatives).
    assert_eq!(r.pairs[0].positives[0].score, -4.0);
    let ids: Vec<&str> = r.pairs[0].negatives.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["x3", "x4", "x5"]);
}

/// An embedder whose vectors count letters (26 dimensions plus one, never zero).
struct Letters(quiver::ModelIdentity);

impl quiver::Embedder for Letters {
    fn identity(&self) -> &quiver::ModelIdentity {
        &self.0
    }
    fn embed_documents(&self, texts: &[&str]) -> quiver::Result<Vec<Vec<f32>>> {
        texts.iter().map(|t| self.embed_query(t)).collect()
    }
    fn embed_query(&self, text: &str) -> quiver::Result<Vec<f32>> {
        let mut v = vec![0.0; 27];
        v[26] = 1.0;
        for b in text.to_lowercase().bytes().filter(u8::is_ascii_lowercase) {
            v[(b - b'a') as usize] += 1.0;
        }
        Ok(v)
    }
}

/// A cross-encoder that prefers short texts.
struct Shortest(quiver::embed::RerankerIdentity);

impl quiver::CrossEncoder for Shortest {
    fn identity(&self) -> &quiver::embed::RerankerIdentity {
        &self.0
    }
    fn score(&self, _: &str, texts: &[&str]) -> quiver::Result<Vec<f32>> {
        Ok(texts.iter().map(|t| -(t.len() as f32)).collect())
    }
}

fn texts(db: &Database) -> quiver::Collection {
    let model = std::sync::Arc::new(Letters(quiver::ModelIdentity {
        name: "letters".into(),
        dim: 27,
        pooling: quiver::Pooling::Mean,
        normalize: false,
        max_tokens: 1000,
        weights_sha256: "v1".into(),
        query_prefix: String::new(),
        document_prefix: String::new(),
        late_interaction: None,
    }));
    let c = db
        .create_collection("t", CollectionConfig::with_embedder(model))
        .unwrap();
    c.upsert(&[
        quiver::TextRecord::new("p", "wing flutter at speed"),
        quiver::TextRecord::new("dup", "wing flutter at speed"),
        quiver::TextRecord::new("q", "flutter of a wing"),
        quiver::TextRecord::new("n1", "wing flutter at high speeds in tunnels"),
        quiver::TextRecord::new("n2", "flutter"),
        quiver::TextRecord::new("n3", "heat transfer in plates"),
    ])
    .unwrap();
    c
}

#[test]
fn text_records_skip_duplicates_and_the_query_and_rows_carry_texts() {
    let (_d, db) = db();
    let c = texts(&db);
    let pairs = [MiningPair::text("flutter of a wing", ["p"])];
    let r = c
        .mine_hard_negatives(&MiningRequest::new(&pairs).num_negatives(5))
        .unwrap();
    let ids: Vec<&str> = r.pairs[0].negatives.iter().map(|s| s.id.as_str()).collect();
    assert!(!ids.contains(&"dup"), "same text as the positive: {ids:?}");
    assert!(!ids.contains(&"q"), "same text as the query: {ids:?}");
    assert_eq!(ids.len(), 3);
    assert_eq!(r.skipped.duplicates, 2);
    let rows = r.rows(&MiningOutput::new(MiningFormat::Triplet));
    assert_eq!(rows[0]["positive"], "wing flutter at speed");
    assert_eq!(rows[0]["anchor"], "flutter of a wing");
    let by_id = r.rows(&MiningOutput::new(MiningFormat::Triplet).ids(true));
    assert_eq!(by_id[0]["positive"], "p");
}

#[test]
fn a_cross_encoder_rescores_candidates_and_positives() {
    let (_d, file) = db();
    let c = texts(&file);
    let ce: std::sync::Arc<dyn quiver::CrossEncoder> =
        std::sync::Arc::new(Shortest(quiver::embed::RerankerIdentity {
            name: "shortest".into(),
            weights_sha256: "v1".into(),
            max_tokens: 512,
            activation: quiver::embed::ScoreActivation::Identity,
            labels: 1,
        }));
    let pairs = [MiningPair::text("flutter of a wing", ["p"])];
    let r = c
        .mine_hard_negatives(
            &MiningRequest::new(&pairs)
                .num_negatives(5)
                .rerank(ce.clone())
                .absolute_margin(0.0),
        )
        .unwrap();
    let mined = &r.pairs[0];
    // The positive scores -21 ("wing flutter at speed"); the margin keeps only texts at
    // least as long: n1 (-38), n3 (-23).
    assert_eq!(mined.positives[0].score, -21.0);
    let ids: Vec<&str> = mined.negatives.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["n3", "n1"]);
    // Vector queries and records without text cannot be re-scored.
    let (_d2, db2) = db();
    let papers = papers(&db2);
    let v = [MiningPair::vector(vec![1.0, 0.0], ["a"])];
    assert!(matches!(
        papers.mine_hard_negatives(&MiningRequest::new(&v).rerank(ce.clone())),
        Err(quiver::Error::InvalidPair { .. })
    ));
    let t = [MiningPair::text("wing", ["a"])];
    assert!(matches!(
        papers.mine_hard_negatives(
            &MiningRequest::new(&t)
                .teachers([Teacher::Keywords])
                .rerank(ce)
        ),
        Err(quiver::Error::InvalidParameter { name: "rerank", .. })
    ));
}
