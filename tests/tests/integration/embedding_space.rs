//! The embedding space as a whole: clusters (and labels written into payloads), outlier
//! scores, the 2-D map and cluster-packed training batches, against planted structure and
//! brute-force oracles.

use quiver::mining::{MiningPair, PackRequest};
use quiver::space::{MapParams, OutlierParams};
use quiver::{
    CollectionConfig, Database, Error, Filter, IvfPqParams, Metric, MultiRecord, PayloadIndexKind,
    Record, SearchOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::HashMap;

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("s.qvr")).unwrap();
    (dir, db)
}

/// `per` points around each of `centres` (spread 0.05 per component); ids "b{blob}-{i}".
fn blobs(centres: &[Vec<f32>], per: usize, seed: u64) -> Vec<Record> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (b, c) in centres.iter().enumerate() {
        for i in 0..per {
            let v: Vec<f32> = c
                .iter()
                .map(|x| x + rng.random_range(-0.05..0.05))
                .collect();
            out.push(Record::new(format!("b{b}-{i}"), v).with_payload(json!({"blob": b})));
        }
    }
    out
}

fn centres(k: usize, dim: usize) -> Vec<Vec<f32>> {
    (0..k)
        .map(|b| {
            (0..dim)
                .map(|j| if j % k == b { 3.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

#[test]
fn clusters_recover_planted_blobs_and_labels_become_filterable() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(8, Metric::L2))
        .unwrap();
    c.upsert(&blobs(&centres(4, 8), 50, 1)).unwrap();
    let clustering = c.cluster(4, 9).unwrap();
    assert_eq!(clustering.centroids.len(), 4);
    assert_eq!(clustering.sizes, vec![50; 4]);
    // Each blob is one cluster: the cluster of every member of a blob is its first's.
    let of: HashMap<&str, u32> = clustering
        .members
        .iter()
        .map(|m| (m.id.as_str(), m.cluster))
        .collect();
    for b in 0..4 {
        let first = of[format!("b{b}-0").as_str()];
        assert!((0..50).all(|i| of[format!("b{b}-{i}").as_str()] == first));
    }
    // Distances are to the assigned centroid, and it is the nearest one.
    let m = &clustering.members[7];
    let v = c.get(&m.id).unwrap().unwrap().vector;
    let dist = |cent: &[f32]| -> f32 {
        v.iter()
            .zip(cent)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    };
    assert!((dist(&clustering.centroids[m.cluster as usize]) - m.distance).abs() < 1e-4);
    assert!(
        clustering
            .centroids
            .iter()
            .all(|cent| dist(cent) >= m.distance - 1e-4)
    );
    // Same seed, same clustering.
    assert_eq!(c.cluster(4, 9).unwrap(), clustering);

    // Labels: one transaction, other payload fields and vectors kept, then filterable.
    c.delete(&["b0-0"]).unwrap();
    let written = c.label_clusters(&clustering, "cluster").unwrap();
    assert_eq!(written, 199, "the deleted record is skipped");
    let r = c.get("b1-3").unwrap().unwrap();
    assert_eq!(r.payload.as_ref().unwrap()["blob"], json!(1));
    assert_eq!(r.payload.as_ref().unwrap()["cluster"], json!(of["b1-3"]));
    assert_eq!(r.vector, blobs(&centres(4, 8), 50, 1)[53].vector);
    c.create_payload_index("cluster", PayloadIndexKind::Integer)
        .unwrap();
    let f = Filter::field("cluster").eq(of["b2-0"]);
    let hits = c
        .search(&[0.0; 8], SearchOptions::new(100).filter(&f))
        .unwrap();
    assert_eq!(hits.len(), 50);
    assert!(hits.iter().all(|h| h.id.starts_with("b2-")));
    assert_eq!(c.check().unwrap(), 199);
}

#[test]
fn clustering_refuses_bad_k_and_multi_vector_collections() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::Cosine))
        .unwrap();
    assert!(matches!(
        c.cluster(1, 0),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    c.upsert(&[Record::new("a", vec![1.0, 0.0])]).unwrap();
    for k in [0, 2] {
        assert!(matches!(
            c.cluster(k, 0),
            Err(Error::InvalidParameter { name: "k", .. })
        ));
    }
    assert_eq!(c.cluster(1, 0).unwrap().members[0].distance, 0.0);
    let m = db
        .create_collection("m", CollectionConfig::multi_vector(2, Metric::Cosine))
        .unwrap();
    m.upsert(&[MultiRecord::new("x", vec![vec![1.0, 0.0]])])
        .unwrap();
    assert!(matches!(
        m.cluster(1, 0),
        Err(Error::WrongCollectionKind { .. })
    ));
    assert!(matches!(
        m.map(&MapParams::default()),
        Err(Error::WrongCollectionKind { .. })
    ));
    assert!(matches!(
        m.set_payload_field("f", &[("x", json!(1))]),
        Err(Error::WrongCollectionKind { .. })
    ));
}

#[test]
fn set_payload_field_merges_into_payloads_and_is_all_or_nothing() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::L2))
        .unwrap();
    c.upsert(&[
        Record::new("a", vec![1.0, 0.0]),
        Record::new("b", vec![0.0, 1.0]).with_payload(json!({"x": 1})),
    ])
    .unwrap();
    assert_eq!(
        c.set_payload_field(
            "tag",
            &[("a", json!("A")), ("b", json!("B")), ("zz", json!(0))]
        )
        .unwrap(),
        2
    );
    assert_eq!(
        c.get("a").unwrap().unwrap().payload,
        Some(json!({"tag": "A"}))
    );
    assert_eq!(
        c.get("b").unwrap().unwrap().payload,
        Some(json!({"x": 1, "tag": "B"}))
    );
    assert!(matches!(
        c.set_payload_field("", &[("a", json!(1))]),
        Err(Error::InvalidParameter { name: "field", .. })
    ));
    // Too large a value fails the whole call: nothing is written.
    let big = json!("x".repeat(quiver::limits::MAX_PAYLOAD_BYTES + 1));
    assert!(
        c.set_payload_field("tag", &[("a", json!(2)), ("b", big)])
            .is_err()
    );
    assert_eq!(
        c.get("a").unwrap().unwrap().payload,
        Some(json!({"tag": "A"}))
    );
}

#[test]
fn outlier_scores_rank_planted_outliers_first_and_match_brute_force() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(8, Metric::Cosine))
        .unwrap();
    let mut records = blobs(&centres(4, 8), 60, 2);
    // Directions between the blobs: far from every cluster and every record.
    records.push(Record::new(
        "odd1",
        vec![1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0],
    ));
    records.push(Record::new(
        "odd2",
        vec![-1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0],
    ));
    c.upsert(&records).unwrap();
    let params = OutlierParams::default()
        .neighbours(5)
        .clusters(4)
        .exact(true);
    let scorer = c.outlier_scorer(&params).unwrap();
    let scores = scorer.records().unwrap();
    assert_eq!(scores.len(), records.len());
    for key in [
        |s: &quiver::space::RecordOutlier| s.score.neighbour_distance,
        |s: &quiver::space::RecordOutlier| s.score.centroid_distance,
    ] {
        let mut ranked = scores.clone();
        ranked.sort_by(|a, b| key(b).total_cmp(&key(a)));
        let top: Vec<&str> = ranked[..2].iter().map(|s| s.id.as_str()).collect();
        assert!(top.contains(&"odd1") && top.contains(&"odd2"), "{top:?}");
    }
    // The neighbour score is the mean cosine distance to the 5 nearest other records.
    let unit = |v: &[f32]| -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    };
    for probe in [0usize, 100, 240] {
        let me = unit(&records[probe].vector);
        let mut d: Vec<f64> = records
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != probe)
            .map(|(_, r)| {
                let u = unit(&r.vector);
                1.0 - me
                    .iter()
                    .zip(&u)
                    .map(|(a, b)| f64::from(a * b))
                    .sum::<f64>()
            })
            .collect();
        d.sort_by(f64::total_cmp);
        let want = d[..5].iter().sum::<f64>() / 5.0;
        let got = f64::from(scores[probe].score.neighbour_distance);
        assert!((got - want).abs() < 1e-4, "record {probe}: {got} vs {want}");
    }
    // A new vector is scored without being stored: a blob member is ordinary, a direction
    // between blobs is not.
    let usual = scorer.score(&records[3].vector).unwrap();
    let unusual = scorer
        .score(&[1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
        .unwrap();
    assert!(unusual.neighbour_distance > 5.0 * usual.neighbour_distance);
    assert!(unusual.centroid_distance > 2.0 * usual.centroid_distance);
    assert_eq!(c.count().unwrap(), records.len() as u64);
    assert!(matches!(
        scorer.score(&[1.0]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        scorer.score(&[f32::NAN; 8]),
        Err(Error::InvalidVector { .. })
    ));
    // Through an index the scores agree closely with exact ones on this easy data.
    c.create_index(IvfPqParams::default().nlist(4).m(4))
        .unwrap();
    let approx = c
        .outlier_scorer(&params.clone().exact(false))
        .unwrap()
        .records()
        .unwrap();
    let close = approx
        .iter()
        .zip(&scores)
        .filter(|(a, e)| (a.score.neighbour_distance - e.score.neighbour_distance).abs() < 1e-3)
        .count();
    assert!(
        close * 10 >= scores.len() * 9,
        "{close} of {}",
        scores.len()
    );
    for bad in [
        OutlierParams::default().neighbours(0),
        OutlierParams::default().clusters(0),
        OutlierParams::default().clusters(10_000),
    ] {
        assert!(matches!(
            c.outlier_scorer(&bad),
            Err(Error::InvalidParameter { .. })
        ));
    }
}

#[test]
fn the_map_is_the_exact_pca_projection_and_deterministic() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(6, Metric::L2))
        .unwrap();
    let records = blobs(&centres(3, 6), 40, 3);
    c.upsert(&records).unwrap();
    let map = c.map(&MapParams::default()).unwrap();
    assert_eq!(map.ids.len(), 120);
    // The oracle: the exact eigen-decomposition of the covariance, projected.
    let data: Vec<f32> = records.iter().flat_map(|r| r.vector.clone()).collect();
    let exact = quiver_index::pca::fit_exact(&data, 6, 2);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(map.ids[i], r.id);
        let want = exact.project(&r.vector);
        for (a, (got, want)) in map.points[i].iter().zip(&want).enumerate() {
            assert!(
                (got - want).abs() < 1e-3,
                "{}: axis {a}: {got} vs {want}",
                r.id
            );
        }
    }
    let share = |a: usize| exact.variances[a] / exact.total_variance;
    assert!((map.explained[0] - share(0)).abs() < 1e-6);
    assert!((map.explained[1] - share(1)).abs() < 1e-6);
    // Three blobs on a plane: two axes hold nearly all of the variance.
    assert!(map.explained[0] + map.explained[1] > 0.95);

    let sampled = c.map(&MapParams::default().sample(30).seed(5)).unwrap();
    assert_eq!(sampled.ids.len(), 30);
    assert_eq!(
        c.map(&MapParams::default().sample(30).seed(5)).unwrap(),
        sampled
    );
    assert_ne!(
        c.map(&MapParams::default().sample(30).seed(6)).unwrap().ids,
        sampled.ids
    );
    assert!(matches!(
        c.map(&MapParams::default().sample(0)),
        Err(Error::InvalidParameter { name: "sample", .. })
    ));
    let empty = db
        .create_collection("e", CollectionConfig::new(6, Metric::L2))
        .unwrap();
    assert!(matches!(
        empty.map(&MapParams::default()),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn packed_batches_are_harder_than_random_ones_and_never_repeat_a_positive() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(8, Metric::Cosine))
        .unwrap();
    let records = blobs(&centres(8, 8), 16, 4);
    c.upsert(&records).unwrap();
    // Each record a positive for a query near it; every tenth record positive twice.
    let mut rng = StdRng::seed_from_u64(5);
    let mut pairs: Vec<MiningPair> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let times = if i % 10 == 0 { 2 } else { 1 };
        for _ in 0..times {
            let q: Vec<f32> = r
                .vector
                .iter()
                .map(|x| x + rng.random_range(-0.1..0.1))
                .collect();
            pairs.push(MiningPair::vector(q, [r.id.clone()]));
        }
    }
    let packed = c
        .pack_batches(&PackRequest::new(&pairs, 8).seed(1))
        .unwrap();
    let mut seen: Vec<usize> = packed.batches.iter().flatten().copied().collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..pairs.len()).collect::<Vec<_>>());
    for b in &packed.batches {
        let mut ids: Vec<&str> = b.iter().map(|&i| pairs[i].positives[0].as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "a batch repeats a positive");
    }
    // k = pairs / batch splits blobs unevenly: single-cluster batches are a minority here,
    // the merged rest comes from neighbouring clusters (same blob) all the same.
    let by_blob = PackRequest::new(&pairs, 8).clusters(8).seed(1);
    let blobwise = c.pack_batches(&by_blob).unwrap();
    assert!(blobwise.single_cluster >= 16, "{blobwise:?}");
    // Same-blob negatives (cosine ~1) against random ones (mostly other blobs, ~0.1).
    assert!(
        packed.hardness > packed.random_hardness + 0.3,
        "{} vs {}",
        packed.hardness,
        packed.random_hardness
    );
    assert_eq!(
        c.pack_batches(&PackRequest::new(&pairs, 8).seed(1))
            .unwrap(),
        packed
    );

    let missing = [MiningPair::vector(vec![1.0; 8], ["nope"])];
    assert!(matches!(
        c.pack_batches(&PackRequest::new(&missing, 2)),
        Err(Error::InvalidPair { pair: 0, .. })
    ));
    assert!(matches!(
        c.pack_batches(&PackRequest::new(&pairs, 1)),
        Err(Error::InvalidParameter {
            name: "batch_size",
            ..
        })
    ));
    assert!(matches!(
        c.pack_batches(&PackRequest::new(&[], 4)),
        Err(Error::InvalidParameter { name: "pairs", .. })
    ));
    assert!(matches!(
        c.pack_batches(&PackRequest::new(&pairs, 4).clusters(0)),
        Err(Error::InvalidParameter {
            name: "clusters",
            ..
        })
    ));
}
