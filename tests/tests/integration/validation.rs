//! Every kind of bad input gets its typed error and changes nothing.

use quiver::limits::{MAX_ID_BYTES, MAX_PAYLOAD_BYTES};
use quiver::{CollectionConfig, Database, ElementType, Error, Metric, Record, VectorProblem};
use serde_json::json;

fn setup(metric: Metric, et: ElementType) -> (tempfile::TempDir, Database, quiver::Collection) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("v.qvr")).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(3, metric).element_type(et))
        .unwrap();
    c.upsert(&[Record::new("keep", vec![1.0, 2.0, 3.0])])
        .unwrap();
    (dir, db, c)
}

/// Upserts `bad` after a good record and checks the error and that nothing changed.
fn rejected(c: &quiver::Collection, bad: Record) -> Error {
    let good = Record::new("new", vec![1.0, 1.0, 1.0]);
    let err = c.upsert(&[good, bad]).expect_err("batch must be refused");
    assert_eq!(c.count().unwrap(), 1, "a refused batch changed the count");
    assert!(
        c.get("new").unwrap().is_none(),
        "a refused batch left a record"
    );
    err
}

#[test]
fn wrong_dimension() {
    let (_d, _db, c) = setup(Metric::L2, ElementType::F32);
    let e = rejected(&c, Record::new("x", vec![1.0, 2.0]));
    assert!(
        matches!(
            e,
            Error::DimensionMismatch {
                expected: 3,
                found: 2,
                position: Some(1)
            }
        ),
        "{e}"
    );
    assert!(matches!(
        c.search(&[1.0], 1),
        Err(Error::DimensionMismatch { position: None, .. })
    ));
}

#[test]
fn nan_and_infinity() {
    let (_d, _db, c) = setup(Metric::L2, ElementType::F32);
    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let e = rejected(&c, Record::new("x", vec![0.0, v, 0.0]));
        assert!(
            matches!(
                e,
                Error::InvalidVector {
                    position: Some(1),
                    problem: VectorProblem::NotFinite { index: 1, .. }
                }
            ),
            "{e}"
        );
    }
    assert!(matches!(
        c.search(&[f32::NAN, 0.0, 0.0], 1),
        Err(Error::InvalidVector { .. })
    ));
}

#[test]
fn values_beyond_half_precision_range() {
    let (_d, _db, c) = setup(Metric::L2, ElementType::F16);
    let e = rejected(&c, Record::new("x", vec![1e6, 0.0, 0.0]));
    assert!(
        matches!(
            e,
            Error::InvalidVector {
                problem: VectorProblem::OutOfRange { index: 0, .. },
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn zero_vector_under_cosine() {
    let (_d, _db, c) = setup(Metric::Cosine, ElementType::F32);
    let e = rejected(&c, Record::new("x", vec![0.0, 0.0, 0.0]));
    assert!(
        matches!(
            e,
            Error::InvalidVector {
                problem: VectorProblem::ZeroNorm,
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        c.search(&[0.0, 0.0, 0.0], 1),
        Err(Error::InvalidVector { .. })
    ));
    // A vector that rounds to zero in bf16 is zero too.
    let (_d2, _db2, c2) = setup(Metric::Cosine, ElementType::Bf16);
    let e = rejected(&c2, Record::new("x", vec![1e-45, 0.0, 0.0]));
    assert!(
        matches!(
            e,
            Error::InvalidVector {
                problem: VectorProblem::ZeroNorm,
                ..
            }
        ),
        "{e}"
    );
    // Zero vectors are fine under l2 and dot.
    let (_d3, _db3, c3) = setup(Metric::L2, ElementType::F32);
    c3.upsert(&[Record::new("z", vec![0.0, 0.0, 0.0])]).unwrap();
}

#[test]
fn bad_ids() {
    let (_d, _db, c) = setup(Metric::L2, ElementType::F32);
    for id in [
        String::new(),
        "x".repeat(MAX_ID_BYTES + 1),
        "a\0b".to_owned(),
    ] {
        let e = rejected(&c, Record::new(id, vec![1.0, 2.0, 3.0]));
        assert!(matches!(e, Error::InvalidId { position: 1, .. }), "{e}");
    }
    c.upsert(&[Record::new(
        "é".repeat(MAX_ID_BYTES / 2),
        vec![1.0, 2.0, 3.0],
    )])
    .unwrap();
}

#[test]
fn bad_payloads() {
    let (_d, _db, c) = setup(Metric::L2, ElementType::F32);
    for p in [json!([1, 2]), json!("text"), json!(3), json!(null)] {
        let e = rejected(&c, Record::new("x", vec![1.0, 2.0, 3.0]).with_payload(p));
        assert!(
            matches!(e, Error::InvalidPayload { position: 1, .. }),
            "{e}"
        );
    }
    let big = json!({"t": "x".repeat(MAX_PAYLOAD_BYTES)});
    let e = rejected(&c, Record::new("x", vec![1.0, 2.0, 3.0]).with_payload(big));
    assert!(
        matches!(e, Error::PayloadTooLarge { position: 1, .. }),
        "{e}"
    );
}

#[test]
fn bad_collections_and_k() {
    let (_d, db, c) = setup(Metric::L2, ElementType::F32);
    for name in ["", "has space", "-lead", "x/y"] {
        assert!(matches!(
            db.create_collection(name, CollectionConfig::new(3, Metric::L2)),
            Err(Error::InvalidCollectionName { .. })
        ));
    }
    assert!(matches!(
        db.create_collection("ok", CollectionConfig::new(0, Metric::L2)),
        Err(Error::InvalidParameter {
            name: "dimension",
            ..
        })
    ));
    assert!(matches!(
        db.collection("nope"),
        Err(Error::CollectionNotFound { .. })
    ));
    assert!(matches!(
        c.search(&[1.0, 2.0, 3.0], 0),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    assert!(matches!(
        c.search_batch(&[vec![1.0, 2.0, 3.0]], 0),
        Err(Error::InvalidParameter { .. })
    ));
    assert_eq!(db.collections().unwrap().len(), 1);
}
