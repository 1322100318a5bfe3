//! Filtered search, count, get and delete against a naive oracle: evaluate the filter on every
//! record of a model of what was written, then take the exact ranking. Random payloads,
//! random filter trees, random writes, with and without payload indexes, flat and IVF-PQ.

use proptest::prelude::*;
use quiver::filter::Filter;
use quiver::{
    CollectionConfig, Database, Error, IvfPqParams, Metric, PayloadIndexKind, Record, SearchRequest,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const STRINGS: [&str; 5] = ["", "a", "ab", "b", "ba"];

fn scalar_pool() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-3i64..4).prop_map(Value::from),
        prop_oneof![Just(2.5), Just(1.0), Just(-0.5)].prop_map(Value::from),
        proptest::sample::select(&STRINGS[..]).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

/// Payloads whose fields keep one type each (so every field can carry a typed index), or
/// (`typed == false`) mix types freely.
fn payload(typed: bool) -> impl Strategy<Value = Option<Value>> {
    let int = (-3i64..4).prop_map(Value::from);
    let string = proptest::sample::select(&STRINGS[..]).prop_map(Value::from);
    let n = if typed {
        prop_oneof![
            3 => int.clone(),
            1 => proptest::collection::vec(int.clone(), 0..3).prop_map(Value::from),
            1 => Just(Value::Null),
        ]
        .boxed()
    } else {
        scalar_pool().boxed()
    };
    let s = if typed {
        prop_oneof![
            3 => string.clone(),
            1 => proptest::collection::vec(string, 0..3).prop_map(Value::from),
        ]
        .boxed()
    } else {
        scalar_pool().boxed()
    };
    let x = prop_oneof![Just(-1.5), Just(0.0), Just(2.0), Just(2.5)].prop_map(Value::from);
    let fields = (
        proptest::option::of(n),
        proptest::option::of(s),
        proptest::option::of(any::<bool>()),
        proptest::option::of(x),
    )
        .prop_map(|(n, s, b, x)| {
            let mut m = serde_json::Map::new();
            if let Some(n) = n {
                m.insert("n".into(), n);
            }
            if let Some(s) = s {
                m.insert("s".into(), s);
            }
            if let Some(b) = b {
                m.insert("b".into(), Value::Bool(b));
            }
            if let Some(x) = x {
                m.insert("o".into(), json!({ "x": x }));
            }
            Value::Object(m)
        });
    proptest::option::of(fields)
}

fn leaf() -> impl Strategy<Value = Filter> {
    let field = proptest::sample::select(&["n", "s", "b", "o.x", "zz"][..]);
    let comparable = prop_oneof![
        (-3i64..4).prop_map(Value::from),
        Just(Value::from(2.5)),
        proptest::sample::select(&STRINGS[..]).prop_map(Value::from),
    ];
    let text = proptest::sample::select(&STRINGS[..]);
    (
        field,
        0u8..11,
        scalar_pool(),
        comparable,
        proptest::collection::vec(scalar_pool(), 0..3),
        text,
        any::<bool>(),
    )
        .prop_map(|(field, op, v, c, list, t, yes)| {
            let f = Filter::field(field);
            match op {
                0 => f.eq(v),
                1 => f.ne(v),
                2 => f.gt(c),
                3 => f.gte(c),
                4 => f.lt(c),
                5 => f.lte(c),
                6 => f.is_in(list),
                7 => f.not_in(list),
                8 => f.exists(yes),
                9 => f.contains(t),
                _ => f.prefix(t),
            }
        })
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 1..3).prop_map(Filter::Or),
            inner.prop_map(Filter::not),
        ]
    })
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<(u8, [i8; 4], Option<Value>)>),
    Delete(Vec<u8>),
}

fn ops(typed: bool) -> impl Strategy<Value = Vec<Op>> {
    let rec = (0u8..50, any::<[i8; 4]>(), payload(typed));
    let op = prop_oneof![
        4 => proptest::collection::vec(rec, 1..20).prop_map(Op::Upsert),
        1 => proptest::collection::vec(0u8..50, 1..6).prop_map(Op::Delete),
    ];
    proptest::collection::vec(op, 1..6)
}

const INDEXES: [(&str, PayloadIndexKind); 4] = [
    ("n", PayloadIndexKind::Integer),
    ("s", PayloadIndexKind::Keyword),
    ("b", PayloadIndexKind::Bool),
    ("o.x", PayloadIndexKind::Float),
];

/// Whether the indexes are declared before the writes, after them (filled from the stored
/// payloads), or not at all.
#[derive(Debug, Clone, Copy)]
enum Indexing {
    None,
    Before,
    After,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn filtered_operations_equal_the_oracle(
        (typed, seed_ops) in any::<bool>().prop_flat_map(|typed| (Just(typed), ops(typed))),
        indexing in prop_oneof![Just(Indexing::None), Just(Indexing::Before), Just(Indexing::After)],
        filters in proptest::collection::vec(filter(), 1..4),
        k in 1usize..15,
        ivf in any::<bool>(),
    ) {
        // Mixed-type payloads cannot carry typed indexes.
        let indexing = if typed { indexing } else { Indexing::None };
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("f.qvr")).unwrap();
        let c = db.create_collection("f", CollectionConfig::new(4, Metric::L2)).unwrap();
        if let Indexing::Before = indexing {
            for (field, kind) in INDEXES { c.create_payload_index(field, kind).unwrap(); }
        }
        let mut model: BTreeMap<String, Option<Value>> = BTreeMap::new();
        for op in &seed_ops {
            match op {
                Op::Upsert(recs) => {
                    let recs: Vec<Record> = recs.iter().map(|(id, v, p)| Record::new(
                        format!("k{id}"),
                        v.iter().map(|&x| f32::from(x)).collect(),
                    ).with_payload(p.clone())).collect();
                    c.upsert(&recs).unwrap();
                    for r in recs { model.insert(r.id, r.payload); }
                }
                Op::Delete(ids) => {
                    let ids: Vec<String> = ids.iter().map(|i| format!("k{i}")).collect();
                    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                    c.delete(&refs).unwrap();
                    for i in &ids { model.remove(i); }
                }
            }
        }
        if let Indexing::After = indexing {
            for (field, kind) in INDEXES { c.create_payload_index(field, kind).unwrap(); }
        }
        prop_assert_eq!(c.check().unwrap() as usize, model.len());
        let exhaustive = if ivf && model.len() >= 8 {
            c.create_index(IvfPqParams::default().nlist(3).m(2)).unwrap();
            Some(SearchRequest::new(&[], k).nprobe(3).refine(1000))
        } else {
            None
        };
        let q = [1.0f32, -2.0, 0.5, 3.0];
        // The unfiltered exact ranking of every record: filtering must keep its order.
        let all = c.search_with(&SearchRequest::new(&q, model.len().max(1)).exact(true)).unwrap();
        let empty = json!({});
        for f in &filters {
            let matches = |id: &str| f.matches(model[id].as_ref().unwrap_or(&empty));
            let want: Vec<&str> = all.iter().map(|h| h.id.as_str()).filter(|id| matches(id)).take(k).collect();
            let n_match = model.keys().filter(|id| matches(id)).count();
            let req = match &exhaustive {
                Some(template) => SearchRequest { vector: &q, filter: Some(f), ..template.clone() },
                None => SearchRequest::new(&q, k).filter(f),
            };
            let got = c.search_with(&req).unwrap();
            let got: Vec<&str> = got.iter().map(|h| h.id.as_str()).collect();
            prop_assert_eq!(&got, &want, "filter {}", f.to_json());
            // The same through the batch path.
            let batch = c.search_batch_with(&[q, q], &req).unwrap();
            for b in &batch {
                prop_assert_eq!(b.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), want.clone());
            }
            prop_assert_eq!(c.count_where(f).unwrap() as usize, n_match);
            let mut got_ids: Vec<String> = c.get_where(f, usize::MAX).unwrap().into_iter().map(|r| r.id).collect();
            got_ids.sort();
            let want_ids: Vec<String> = model.keys().filter(|id| matches(id)).cloned().collect();
            prop_assert_eq!(got_ids, want_ids);
        }
        let f = &filters[0];
        let n_match = model.keys().filter(|id| f.matches(model[*id].as_ref().unwrap_or(&empty))).count();
        prop_assert_eq!(c.delete_where(f).unwrap(), n_match);
        prop_assert_eq!(c.count_where(f).unwrap(), 0);
        prop_assert_eq!(c.check().unwrap() as usize, model.len() - n_match);
    }
}

fn db_with(records: Vec<Record>) -> (tempfile::TempDir, Database, quiver::Collection) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("t.qvr")).unwrap();
    let c = db
        .create_collection("t", CollectionConfig::new(2, Metric::L2))
        .unwrap();
    c.upsert(&records).unwrap();
    (dir, db, c)
}

fn rec(id: &str, x: f32, payload: Value) -> Record {
    Record::new(id, vec![x, 0.0]).with_payload(payload)
}

#[test]
fn typed_indexes_refuse_values_of_other_types() {
    let (_dir, _db, c) = db_with(vec![
        rec("a", 1.0, json!({"year": 2020, "tag": ["x", "y"]})),
        rec("b", 2.0, json!({"year": "soon"})),
    ]);
    // A stored record breaks the declared type: refused, naming it; nothing declared.
    let err = c
        .create_payload_index("year", PayloadIndexKind::Integer)
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameter { reason, .. } if reason.contains("record 'b'")),
        "{err}"
    );
    assert!(c.payload_indexes().unwrap().is_empty());
    c.create_payload_index("tag", PayloadIndexKind::Keyword)
        .unwrap();
    // Same declaration again: nothing to do; another kind: refused.
    c.create_payload_index("tag", PayloadIndexKind::Keyword)
        .unwrap();
    assert!(
        c.create_payload_index("tag", PayloadIndexKind::Integer)
            .is_err()
    );
    // An upsert breaking the index is refused whole, with the record's position.
    let err = c
        .upsert(&[
            rec("c", 3.0, json!({"tag": "ok"})),
            rec("d", 4.0, json!({"tag": [1]})),
        ])
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidPayload { position: 1, .. }),
        "{err}"
    );
    assert_eq!(c.count().unwrap(), 2);
    assert!(c.get("c").unwrap().is_none());
    // Dropping the index lifts the constraint; filters keep working by reading payloads.
    assert!(c.drop_payload_index("tag").unwrap());
    assert!(!c.drop_payload_index("tag").unwrap());
    c.upsert(&[rec("d", 4.0, json!({"tag": [1]}))]).unwrap();
    let f = Filter::field("tag").eq("x");
    assert_eq!(c.count_where(&f).unwrap(), 1);
    c.check().unwrap();
}

#[test]
fn filtered_search_returns_k_matches_whenever_k_match() {
    // 2,000 records, an IVF-PQ index, and filters from 50% down to a single record: every
    // search returns min(k, matching) records, all matching, equal to the exact answer when
    // the filter is selective.
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("k.qvr")).unwrap();
    let c = db
        .create_collection("k", CollectionConfig::new(8, Metric::Cosine))
        .unwrap();
    let mut rng = 12345u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % 2000) as f32 / 1000.0 - 1.0
    };
    let records: Vec<Record> = (0..2000)
        .map(|i| {
            let v: Vec<f32> = (0..8).map(|_| next()).collect();
            Record::new(format!("r{i}"), v)
                .with_payload(json!({"i": i, "bucket": i % 1000, "even": i % 2 == 0}))
        })
        .collect();
    c.upsert(&records).unwrap();
    c.create_payload_index("bucket", PayloadIndexKind::Integer)
        .unwrap();
    c.create_index(IvfPqParams::default()).unwrap();
    let q: Vec<f32> = (0..8).map(|_| next()).collect();
    for (f, matching) in [
        (Filter::field("even").eq(true), 1000),
        (Filter::field("bucket").lt(100), 200),
        (Filter::field("bucket").lt(3), 6),
        (Filter::field("bucket").eq(7), 2),
        (
            Filter::and([Filter::field("bucket").eq(234), Filter::field("i").eq(1234)]),
            1,
        ),
        (Filter::field("i").gte(1990), 10),
        (Filter::field("bucket").gt(5000), 0),
    ] {
        assert_eq!(c.count_where(&f).unwrap(), matching);
        let hits = c
            .search_with(&SearchRequest::new(&q, 10).filter(&f))
            .unwrap();
        assert_eq!(hits.len(), 10.min(matching as usize), "{}", f.to_json());
        let payloads = hits.iter().map(|h| h.payload.clone().unwrap());
        assert!(payloads.into_iter().all(|p| f.matches(&p)));
        let exact = c
            .search_with(&SearchRequest::new(&q, 10).filter(&f).exact(true))
            .unwrap();
        if matching <= 200 {
            assert_eq!(hits, exact, "{}", f.to_json());
        }
    }
}

#[test]
fn bad_filters_are_typed_errors_and_change_nothing() {
    let (_dir, _db, c) = db_with(vec![rec("a", 1.0, json!({"n": 1}))]);
    let bad = Filter::parse(r#"{"$and": [{"n": 1}, {"n": {"$between": [1, 2]}}]}"#).unwrap_err();
    assert!(
        matches!(&bad, Error::InvalidFilter { at, .. } if at == "$and[1].n.$between"),
        "{bad}"
    );
    assert!(bad.to_string().contains("$and[1].n.$between"));
    let built = Filter::field("n").gt(json!(null));
    assert!(matches!(
        c.search_with(&SearchRequest::new(&[0.0, 0.0], 1).filter(&built)),
        Err(Error::InvalidFilter { .. })
    ));
    assert!(matches!(
        c.delete_where(&built),
        Err(Error::InvalidFilter { .. })
    ));
    assert!(matches!(
        c.count_where(&Filter::field("a..b").eq(1)),
        Err(Error::InvalidFilter { .. })
    ));
    assert_eq!(c.count().unwrap(), 1);
}

#[test]
fn payload_indexes_survive_reopen_and_follow_updates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.qvr");
    {
        let db = Database::create(&path).unwrap();
        let c = db
            .create_collection("r", CollectionConfig::new(2, Metric::L2))
            .unwrap();
        c.create_payload_index("user.id", PayloadIndexKind::Keyword)
            .unwrap();
        c.upsert(&[
            rec("a", 1.0, json!({"user": {"id": "u1"}})),
            rec("b", 2.0, json!({"user": {"id": "u2"}})),
            rec("c", 3.0, json!({"user": {"id": "u1"}})),
        ])
        .unwrap();
        // Moves "a" to another user, removes "c", and re-adds "a" in the same batch twice.
        c.upsert(&[
            rec("a", 1.0, json!({"user": {"id": "u3"}})),
            rec("a", 1.5, json!({"user": {"id": "u2"}})),
        ])
        .unwrap();
        c.delete(&["c"]).unwrap();
    }
    let db = Database::open(&path).unwrap();
    let c = db.collection("r").unwrap();
    assert_eq!(c.payload_indexes().unwrap().len(), 1);
    let users = |u: &str| {
        let mut ids: Vec<String> = c
            .get_where(&Filter::field("user.id").eq(u), 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        ids.sort();
        ids
    };
    assert!(users("u1").is_empty());
    assert_eq!(users("u2"), ["a", "b"]);
    assert!(users("u3").is_empty());
    c.check().unwrap();
}
