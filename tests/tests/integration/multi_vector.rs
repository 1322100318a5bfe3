//! Multi-vector collections against a plain-loop MaxSim oracle over a model of what was
//! written: exact search, the token index with exhaustive parameters, filters, persistence,
//! writes after indexing, bad input, and kind mismatches.

use proptest::prelude::*;
use quiver::filter::Filter;
use quiver::{
    CollectionConfig, Database, ElementType, Error, Metric, MultiIndexParams, MultiRecord,
    MultiSearchRequest, Record,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;

const DIM: usize = 12;

fn matrix(rng: &mut StdRng, max_tokens: usize) -> Vec<Vec<f32>> {
    let n = rng.random_range(1..=max_tokens);
    (0..n)
        .map(|_| (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect()
}

fn normalized(m: &[Vec<f32>]) -> Vec<Vec<f64>> {
    m.iter()
        .map(|t| {
            let n = t.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            t.iter().map(|&x| f64::from(x) / n).collect()
        })
        .collect()
}

/// MaxSim with plain loops in f64 over L2-normalised tokens.
fn maxsim(q: &[Vec<f32>], d: &[Vec<f32>]) -> f64 {
    let (q, d) = (normalized(q), normalized(d));
    q.iter()
        .map(|qi| {
            d.iter()
                .map(|dj| qi.iter().zip(dj).map(|(a, b)| a * b).sum::<f64>())
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum()
}

/// Exact top-k of the model: (id, score), best first, ties by insertion (row) order.
fn oracle(
    model: &BTreeMap<String, (u64, Vec<Vec<f32>>, i64)>,
    q: &[Vec<f32>],
    k: usize,
    keep: impl Fn(i64) -> bool,
) -> Vec<(String, f64)> {
    let mut all: Vec<(String, f64, u64)> = model
        .iter()
        .filter(|(_, (_, _, g))| keep(*g))
        .map(|(id, (row, m, _))| (id.clone(), maxsim(q, m), *row))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    all.truncate(k);
    all.into_iter().map(|(id, s, _)| (id, s)).collect()
}

fn assert_same(hits: &[quiver::Hit], expected: &[(String, f64)]) {
    assert_eq!(hits.len(), expected.len(), "{hits:?} vs {expected:?}");
    for (h, (id, score)) in hits.iter().zip(expected) {
        assert!(
            (f64::from(h.score) - score).abs() < 1e-4,
            "score {} vs {score}",
            h.score
        );
        // Ids may swap only between near-equal scores.
        if &h.id != id {
            let theirs = expected.iter().find(|(i, _)| *i == h.id).map(|e| e.1);
            assert!(
                theirs.is_some_and(|s| (s - score).abs() < 1e-4),
                "{} in place of {id}",
                h.id
            );
        }
    }
}

type Model = BTreeMap<String, (u64, Vec<Vec<f32>>, i64)>;

fn write_random(
    c: &quiver::Collection,
    model: &mut Model,
    rng: &mut StdRng,
    n: usize,
    next_row: &mut u64,
) {
    let records: Vec<MultiRecord> = (0..n)
        .map(|_| {
            let id = format!("d{}", rng.random_range(0..400));
            let g = rng.random_range(0..4i64);
            MultiRecord::new(id, matrix(rng, 9)).with_payload(json!({"g": g}))
        })
        .collect();
    c.upsert_multi(&records).unwrap();
    for r in records {
        let row = match model.get(&r.id) {
            Some((row, _, _)) => *row,
            None => {
                *next_row += 1;
                *next_row - 1
            }
        };
        let g = r.payload.as_ref().unwrap()["g"].as_i64().unwrap();
        model.insert(r.id, (row, r.vectors, g));
    }
}

#[test]
fn exact_index_filters_persistence_and_writes_agree_with_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mv.qvr");
    let mut rng = StdRng::seed_from_u64(5);
    let mut model = Model::new();
    let mut next_row = 0;
    let queries: Vec<Vec<Vec<f32>>> = (0..6).map(|_| matrix(&mut rng, 5)).collect();
    {
        let db = Database::create(&path).unwrap();
        let c = db
            .create_collection("mv", CollectionConfig::multi_vector(DIM, Metric::Cosine))
            .unwrap();
        for _ in 0..4 {
            write_random(&c, &mut model, &mut rng, 120, &mut next_row);
        }
        assert_eq!(c.count().unwrap() as usize, model.len());
        for q in &queries {
            assert_same(
                &c.search_multi(q, 10).unwrap(),
                &oracle(&model, q, 10, |_| true),
            );
        }
        // Exhaustive token index: exact.
        let info = c
            .create_multi_index(&MultiIndexParams::default().centroids(16))
            .unwrap();
        assert_eq!(info.indexed, model.len());
        let exhaustive = |q: &[Vec<f32>]| {
            c.search_multi_with(
                &MultiSearchRequest::new(q, 10)
                    .nprobe(16)
                    .candidates(100_000),
            )
            .unwrap()
        };
        for q in &queries {
            assert_same(&exhaustive(q), &oracle(&model, q, 10, |_| true));
        }
        // Writes after indexing: visible, indexed, deletes never returned.
        write_random(&c, &mut model, &mut rng, 60, &mut next_row);
        let gone: Vec<String> = model.keys().take(30).cloned().collect();
        let gone_refs: Vec<&str> = gone.iter().map(String::as_str).collect();
        assert_eq!(c.delete(&gone_refs).unwrap(), 30);
        gone.iter().for_each(|id| {
            model.remove(id);
        });
        assert_eq!(c.check().unwrap() as usize, model.len());
        for q in &queries {
            let hits = exhaustive(q);
            assert!(hits.iter().all(|h| !gone.contains(&h.id)));
            assert_same(&hits, &oracle(&model, q, 10, |_| true));
            // Filtered, with and without the index: only matching records, the best of them.
            let f = Filter::field("g").eq(2);
            let want = oracle(&model, q, 10, |g| g == 2);
            let req = MultiSearchRequest::new(q, 10)
                .filter(&f)
                .nprobe(16)
                .candidates(100_000);
            assert_same(&c.search_multi_with(&req).unwrap(), &want);
            assert_same(
                &c.search_multi_with(&req.clone().exact(true)).unwrap(),
                &want,
            );
            // Default parameters still return k matching records.
            let hits = c
                .search_multi_with(&MultiSearchRequest::new(q, 10).filter(&f))
                .unwrap();
            assert_eq!(hits.len(), want.len());
            assert!(hits.iter().all(|h| h.payload.as_ref().unwrap()["g"] == 2));
        }
        let (id, (_, m, _)) = model.iter().next().unwrap();
        let got = c.get_multi(id).unwrap().unwrap();
        assert_eq!(&got.vectors, m);
        assert_eq!(
            c.count_where(&Filter::field("g").eq(1)).unwrap() as usize,
            model.values().filter(|v| v.2 == 1).count()
        );
    }
    // Reopened: same answers, index loaded from the file and consistent.
    let db = Database::open(&path).unwrap();
    let c = db.collection("mv").unwrap();
    assert!(db.collections().unwrap()[0].multi_vector);
    assert_eq!(c.check().unwrap() as usize, model.len());
    assert_eq!(c.multi_index_info().unwrap().unwrap().centroids, 16);
    for q in &queries {
        let req = MultiSearchRequest::new(q, 10)
            .nprobe(16)
            .candidates(100_000);
        assert_same(
            &c.search_multi_with(&req).unwrap(),
            &oracle(&model, q, 10, |_| true),
        );
    }
    // Dropping the index: exact search again.
    assert!(c.drop_index().unwrap());
    assert!(c.multi_index_info().unwrap().is_none());
    assert_same(
        &c.search_multi(&queries[0], 5).unwrap(),
        &oracle(&model, &queries[0], 5, |_| true),
    );
}

#[test]
fn bad_input_is_refused_whole_and_kinds_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("bad.qvr")).unwrap();
    let c = db
        .create_collection(
            "mv",
            CollectionConfig::multi_vector(3, Metric::Dot).element_type(ElementType::F16),
        )
        .unwrap();
    let ok = MultiRecord::new("ok", vec![vec![1.0, 0.0, 0.0]]);
    c.upsert_multi(std::slice::from_ref(&ok)).unwrap();
    let bad = [
        MultiRecord::new("a", vec![]),
        MultiRecord::new("c", vec![vec![f32::NAN, 0.0, 0.0]]),
        MultiRecord::new("d", vec![vec![1e6, 0.0, 0.0]]),
        MultiRecord::new(
            "e",
            vec![vec![0.5, 0.5, 0.5]; quiver::limits::MAX_TOKENS + 1],
        ),
    ];
    for b in bad {
        let err = c.upsert_multi(&[ok.clone(), b.clone()]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidMatrix {
                    position: Some(1),
                    ..
                }
            ),
            "{b:?}: {err}"
        );
    }
    // Ragged rows: the short token has the wrong dimension.
    let ragged = MultiRecord::new("b", vec![vec![1.0, 0.0, 0.0], vec![1.0, 0.0]]);
    assert!(matches!(
        c.upsert_multi(&[ok.clone(), ragged]),
        Err(Error::DimensionMismatch {
            expected: 3,
            found: 2,
            position: Some(1)
        })
    ));
    assert_eq!(c.count().unwrap(), 1);
    assert!(matches!(
        c.search_multi(&[vec![1.0, 2.0]], 1),
        Err(Error::DimensionMismatch { position: None, .. })
    ));
    assert!(matches!(
        c.search_multi(&[], 1),
        Err(Error::InvalidMatrix { .. })
    ));
    assert!(matches!(
        c.search_multi_with(&MultiSearchRequest::new(&[vec![1.0, 0.0, 0.0]], 1).dims(4)),
        Err(Error::InvalidParameter { name: "dims", .. })
    ));
    // f16 storage: values come back rounded, scored as stored.
    let hits = c.search_multi(&[vec![2.0, 0.0, 0.0]], 1).unwrap();
    assert_eq!((hits[0].id.as_str(), hits[0].score), ("ok", 2.0));
    // Kinds do not mix.
    assert!(matches!(
        c.search(&[1.0, 0.0, 0.0], 1),
        Err(Error::WrongCollectionKind {
            multi_vector: true,
            ..
        })
    ));
    assert!(matches!(
        c.upsert(&[Record::new("x", vec![1.0, 0.0, 0.0])]),
        Err(Error::WrongCollectionKind { .. })
    ));
    let single = db
        .create_collection("one", CollectionConfig::new(3, Metric::Dot))
        .unwrap();
    assert!(matches!(
        single.upsert_multi(std::slice::from_ref(&ok)),
        Err(Error::WrongCollectionKind {
            multi_vector: false,
            ..
        })
    ));
    assert!(matches!(
        db.create_collection("l2", CollectionConfig::multi_vector(3, Metric::L2)),
        Err(Error::InvalidParameter { name: "metric", .. })
    ));
    assert!(matches!(
        db.create_collection("empty", CollectionConfig::multi_vector(3, Metric::Dot))
            .unwrap()
            .create_multi_index(&MultiIndexParams::default()),
        Err(Error::InvalidParameter { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The token index with every centroid probed and every record re-ranked is exact MaxSim,
    /// whatever the centroid count and write history.
    #[test]
    fn exhaustive_index_equals_exact(seed in 0u64..1_000, centroids in 1usize..40, writes in 1usize..4) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("p.qvr")).unwrap();
        let c = db.create_collection("mv", CollectionConfig::multi_vector(DIM, Metric::Cosine)).unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut model, mut next_row) = (Model::new(), 0);
        write_random(&c, &mut model, &mut rng, 40, &mut next_row);
        c.create_multi_index(&MultiIndexParams::default().centroids(centroids)).unwrap();
        for _ in 0..writes {
            write_random(&c, &mut model, &mut rng, 15, &mut next_row);
        }
        let q = matrix(&mut rng, 6);
        let hits = c.search_multi_with(&MultiSearchRequest::new(&q, 7).nprobe(centroids).candidates(1_000)).unwrap();
        assert_same(&hits, &oracle(&model, &q, 7, |_| true));
    }
}
