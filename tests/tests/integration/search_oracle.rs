//! Engine-level search against a naive model of what was written (random upserts, deletes,
//! overwrites, every metric and element type).

use proptest::prelude::*;
use quiver::{CollectionConfig, Database, ElementType, Metric, Record};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<(u8, Vec<i8>)>),
    Delete(Vec<u8>),
}

fn ops(dim: usize) -> impl Strategy<Value = Vec<Op>> {
    let rec = (0u8..40, proptest::collection::vec(-5i8..6, dim));
    let op = prop_oneof![
        3 => proptest::collection::vec(rec, 1..15).prop_map(Op::Upsert),
        1 => proptest::collection::vec(0u8..40, 1..6).prop_map(Op::Delete),
    ];
    proptest::collection::vec(op, 1..8)
}

fn exact(metric: Metric, q: &[f32], v: &[f32]) -> f64 {
    let dot: f64 = q
        .iter()
        .zip(v)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum();
    match metric {
        Metric::Dot => -dot,
        Metric::L2 => q
            .iter()
            .zip(v)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
            .sum(),
        Metric::Cosine => {
            let n = |x: &[f32]| x.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
            1.0 - dot / (n(q) * n(v))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn search_matches_model(
        dim in 1usize..6,
        metric in prop_oneof![Just(Metric::Cosine), Just(Metric::Dot), Just(Metric::L2)],
        et in prop_oneof![Just(ElementType::F32), Just(ElementType::F16), Just(ElementType::Bf16)],
        seed_ops in ops(5),
        k in 1usize..12,
        reopen in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.qvr");
        let mut db = Database::create(&path).unwrap();
        let c = db.create_collection("o", CollectionConfig::new(dim, metric).element_type(et)).unwrap();
        let mut model: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        // Search once early so the arena is loaded and must be kept in step by later writes.
        let q: Vec<f32> = (0..dim).map(|i| i as f32 - 1.5).collect();
        let _ = c.search(&q, 1);
        for op in &seed_ops {
            match op {
                Op::Upsert(recs) => {
                    let recs: Vec<Record> = recs.iter()
                        .map(|(id, v)| Record::new(format!("k{id}"), v[..dim].iter().map(|&x| f32::from(x)).collect()))
                        .filter(|r| metric != Metric::Cosine || r.vector.iter().any(|&x| x != 0.0))
                        .collect();
                    c.upsert(&recs).unwrap();
                    for r in recs { model.insert(r.id, r.vector); }
                }
                Op::Delete(ids) => {
                    let ids: Vec<String> = ids.iter().map(|i| format!("k{i}")).collect();
                    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                    let expected = { let mut u = ids.clone(); u.sort(); u.dedup(); u.iter().filter(|i| model.contains_key(*i)).count() };
                    prop_assert_eq!(c.delete(&refs).unwrap(), expected);
                    for i in &ids { model.remove(i); }
                }
            }
        }
        if reopen {
            drop(c);
            drop(db);
            db = Database::open(&path).unwrap();
        }
        let c = db.collection("o").unwrap();
        prop_assert_eq!(c.count().unwrap() as usize, model.len());
        prop_assert_eq!(c.check().unwrap() as usize, model.len());
        let hits = c.search(&q, k).unwrap();
        prop_assert_eq!(hits.len(), k.min(model.len()));
        // Components are small integers: exact in every element type, so distances must
        // agree closely; ranks may only swap between (near-)equal distances.
        let mut truth: Vec<(f64, &String)> = model.iter().map(|(id, v)| (exact(metric, &q, v), id)).collect();
        truth.sort_by(|a, b| a.0.total_cmp(&b.0));
        let tol = if et == ElementType::F32 { 1e-4 } else { 1e-2 };
        for (i, h) in hits.iter().enumerate() {
            let d = exact(metric, &q, &model[&h.id]);
            prop_assert!((d - truth[i].0).abs() <= tol * (1.0 + d.abs()), "rank {} id {} at {} but oracle {}", i, h.id, d, truth[i].0);
            let reported = match metric { Metric::Cosine => 1.0 - f64::from(h.score), Metric::Dot => -f64::from(h.score), _ => f64::from(h.score) };
            prop_assert!((reported - d).abs() <= tol * (1.0 + d.abs()), "score {} vs exact {}", reported, d);
        }
    }
}
