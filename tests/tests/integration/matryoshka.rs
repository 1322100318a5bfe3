//! The Matryoshka funnel on one-vector collections (`SearchOptions::dims`): candidates found on
//! a prefix of the stored vectors, re-ranked on all of it — flat and IVF-PQ, filtered, batched.

use quiver::{
    CollectionConfig, Database, Error, Filter, IvfPqParams, Metric, Record, SearchOptions,
};
use quiver_tests::random_vectors;
use serde_json::json;

/// Prefix-heavy vectors: the first 8 of 32 components carry the signal, the rest is small
/// noise (the shape Matryoshka training gives an embedding).
fn prefix_heavy(n: usize, seed: u64) -> Vec<Vec<f32>> {
    random_vectors(n, 32, seed)
        .into_iter()
        .map(|v| {
            v.iter()
                .enumerate()
                .map(|(j, x)| if j < 8 { *x } else { x * 0.05 })
                .collect()
        })
        .collect()
}

fn setup(metric: Metric, n: usize) -> (tempfile::TempDir, Database, quiver::Collection) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("m.qvr")).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(32, metric))
        .unwrap();
    let recs: Vec<Record> = prefix_heavy(n, 3)
        .into_iter()
        .enumerate()
        .map(|(i, v)| Record::new(format!("r{i}"), v).with_payload(json!({"n": i % 4})))
        .collect();
    c.upsert(&recs).unwrap();
    (dir, db, c)
}

fn ids(hits: &[quiver::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

#[test]
fn the_funnel_returns_full_scores_and_with_every_row_a_candidate_is_exact() {
    for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
        let (_d, _db, c) = setup(metric, 500);
        for q in prefix_heavy(8, 77) {
            let exact = c.search(&q, SearchOptions::new(10).exact(true)).unwrap();
            // Refine 50 x k = every row: the funnel must be the exact search.
            let all = c
                .search(&q, SearchOptions::new(10).dims(8).refine(50))
                .unwrap();
            assert_eq!(ids(&all), ids(&exact), "{metric}");
            // Default refine: each hit carries its exact full score, best first.
            let hits = c.search(&q, SearchOptions::new(10).dims(8)).unwrap();
            assert_eq!(hits.len(), 10);
            let full = c.search(&q, SearchOptions::new(500).exact(true)).unwrap();
            for h in &hits {
                let truth = full.iter().find(|f| f.id == h.id).unwrap();
                assert!((truth.score - h.score).abs() < 1e-5, "{metric}");
            }
            let closer_first = |w: &[quiver::Hit]| match metric {
                Metric::L2 => w[0].score <= w[1].score,
                _ => w[0].score >= w[1].score,
            };
            assert!(hits.windows(2).all(closer_first), "{metric}");
            // On prefix-heavy data the default funnel finds nearly all of the exact top 10.
            let found = hits.iter().filter(|h| ids(&exact).contains(&h.id.as_str()));
            assert!(found.count() >= 8, "{metric}");
            // dims = the dimension is the plain search; exact ignores dims.
            let plain = c.search(&q, SearchOptions::new(10)).unwrap();
            assert_eq!(
                c.search(&q, SearchOptions::new(10).dims(32)).unwrap(),
                plain
            );
            let exact_dims = c
                .search(&q, SearchOptions::new(10).dims(4).exact(true))
                .unwrap();
            assert_eq!(exact_dims, exact);
        }
        // A batch (the matrix-product prefix pass) gives every query's full-scored answer.
        let queries = prefix_heavy(16, 78);
        let all = SearchOptions::new(10).dims(8).refine(50);
        let batch = c.search_batch(&queries, all.clone()).unwrap();
        for (q, hits) in queries.iter().zip(&batch) {
            let exact = c.search(q, SearchOptions::new(10).exact(true)).unwrap();
            assert_eq!(ids(hits), ids(&exact), "{metric}");
        }
        let batch = c
            .search_batch(&queries, SearchOptions::new(10).dims(8))
            .unwrap();
        for (q, hits) in queries.iter().zip(&batch) {
            let single = c.search(q, SearchOptions::new(10).dims(8)).unwrap();
            let same = hits
                .iter()
                .filter(|h| ids(&single).contains(&h.id.as_str()));
            assert!(same.count() >= 9, "{metric}");
        }
    }
}

#[test]
fn the_funnel_ranks_on_the_prefix_only() {
    // "near" and "prefix-only" are equal on the first 2 components, "prefix-only" far away on
    // the others; "far" is far on the prefix but nearer than "prefix-only" in full.
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("p.qvr")).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(4, Metric::L2))
        .unwrap();
    c.upsert(&[
        Record::new("near", vec![1.0, 0.0, 0.0, 0.0]),
        Record::new("prefix-only", vec![1.0, 0.0, 9.0, 9.0]),
        Record::new("far", vec![5.0, 5.0, 0.0, 0.0]),
    ])
    .unwrap();
    let q = [1.0, 0.0, 0.1, 0.0];
    let full = c.search(&q, SearchOptions::new(3).exact(true)).unwrap();
    assert_eq!(ids(&full), ["near", "far", "prefix-only"]);
    // k 2, refine 1: the two prefix candidates are kept, whatever the full distances say.
    let funnel = c
        .search(&q, SearchOptions::new(2).dims(2).refine(1))
        .unwrap();
    assert_eq!(ids(&funnel), ["near", "prefix-only"]);
    // k 1, refine 2: the prefix tie goes to the full re-rank, which picks the closer one.
    let two = c
        .search(&q, SearchOptions::new(1).dims(2).refine(2))
        .unwrap();
    assert_eq!(ids(&two), ["near"]);
}

#[test]
fn the_funnel_through_an_ivf_pq_index_and_with_filters() {
    let (_d, _db, c) = setup(Metric::Cosine, 1200);
    c.create_index(IvfPqParams::default().nlist(8).m(4))
        .unwrap();
    let odd = Filter::parse(r#"{"n": {"$in": [1, 3]}}"#).unwrap();
    let rare = Filter::parse(r#"{"n": 2}"#).unwrap();
    for q in prefix_heavy(6, 91) {
        let exact = c.search(&q, SearchOptions::new(10).exact(true)).unwrap();
        // Every cell probed and every row a candidate: exact.
        let all = SearchOptions::new(10).dims(8).nprobe(8).refine(120);
        assert_eq!(ids(&c.search(&q, all).unwrap()), ids(&exact));
        for f in [&odd, &rare] {
            let exact = c
                .search(&q, SearchOptions::new(10).exact(true).filter(f))
                .unwrap();
            let hits = c
                .search(&q, SearchOptions::new(10).dims(8).filter(f))
                .unwrap();
            assert_eq!(hits.len(), 10);
            let allowed: Vec<u64> = if std::ptr::eq(f, &odd) {
                vec![1, 3]
            } else {
                vec![2]
            };
            for h in &hits {
                let n: u64 = h.id[1..].parse::<u64>().unwrap() % 4;
                assert!(allowed.contains(&n), "{} does not match", h.id);
            }
            let all = SearchOptions::new(10)
                .dims(8)
                .nprobe(8)
                .refine(120)
                .filter(f);
            assert_eq!(ids(&c.search(&q, all).unwrap()), ids(&exact));
        }
    }
    // A batch answers each query as a single search does.
    let queries = prefix_heavy(12, 5);
    let batch = c
        .search_batch(&queries, SearchOptions::new(5).dims(16))
        .unwrap();
    for (q, hits) in queries.iter().zip(&batch) {
        assert_eq!(hits, &c.search(q, SearchOptions::new(5).dims(16)).unwrap());
    }
}

#[test]
fn bad_prefixes_are_typed_errors() {
    let (_d, _db, c) = setup(Metric::Cosine, 50);
    let q = prefix_heavy(1, 9).remove(0);
    for d in [0, 33] {
        match c.search(&q, SearchOptions::new(3).dims(d)) {
            Err(Error::InvalidParameter { name: "dims", .. }) => {}
            other => panic!("dims {d}: {other:?}"),
        }
    }
    let mut zero_prefix = q.clone();
    zero_prefix[..4].iter_mut().for_each(|x| *x = 0.0);
    assert!(matches!(
        c.search(&zero_prefix, SearchOptions::new(3).dims(4)),
        Err(Error::InvalidParameter { name: "dims", .. })
    ));
    // Dot and L2 rank a zero prefix fine (every row at the same prefix distance is a valid
    // tie); only cosine has no direction to compare.
    assert!(
        c.search(&zero_prefix, SearchOptions::new(3).dims(5))
            .is_ok()
    );
}
