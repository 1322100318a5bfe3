//! Full-text search: keyword queries, the index kept in step with writes (proptest against a
//! rebuild), filters, bad input, and hybrid queries.

use proptest::prelude::*;
use quiver::{
    Branch, CollectionConfig, Database, Error, Filter, Fusion, Hybrid, Metric, MultiRecord, Query,
    Record, SearchOptions, Stemming, StopWords, TextIndexParams,
};
use serde_json::json;

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("t.qvr")).unwrap();
    (dir, db)
}

fn doc(id: &str, v: [f32; 2], title: &str, year: i64) -> Record {
    Record::new(id, v.to_vec()).with_payload(json!({"title": title, "year": year}))
}

fn ids(hits: &[quiver::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

fn corpus() -> Vec<Record> {
    vec![
        doc("a", [1.0, 0.0], "Supersonic flow over a swept wing", 1960),
        doc(
            "b",
            [0.9, 0.1],
            "Heat transfer in laminar boundary layers",
            1962,
        ),
        doc(
            "c",
            [0.0, 1.0],
            "Boundary layer flow on a heated flat plate",
            1965,
        ),
        doc("d", [0.2, 0.8], "Wing flutter at transonic speeds", 1970),
        doc("e", [0.5, 0.5], "Plates, shells and their buckling", 1971),
    ]
}

#[test]
fn keywords_required_excluded_and_filtered() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::Cosine))
        .unwrap();
    c.upsert(&corpus()).unwrap();
    let info = c
        .create_text_index(&TextIndexParams::fields(["title"]))
        .unwrap();
    assert_eq!(info.rows, 5);
    let search = |q: &str| c.search(Query::Keywords(q), 10).unwrap();
    let flow = search("flow");
    assert_eq!(ids(&flow).len(), 2);
    assert!(flow[0].score > 0.0 && flow[0].explain.is_none());
    // Stemming: "plates" and "plate" are one term; "flows" finds "flow".
    assert_eq!(ids(&search("plates")).len(), 2);
    assert_eq!(ids(&search("flows")), ids(&flow));
    // With a required term, the others only add to the score (Lucene's semantics).
    assert_eq!(ids(&search("flow +wing")), ["a", "d"]);
    assert_eq!(ids(&search("+flow +wing")), ["a"]);
    assert_eq!(ids(&search("flow -wing")), ["c"]);
    assert!(search("boundary -layers -flow").is_empty());
    let old = Filter::field("year").lt(1964);
    let hits = c
        .search(
            Query::Keywords("flow boundary wing"),
            SearchOptions::new(10).filter(&old),
        )
        .unwrap();
    let mut got = ids(&hits);
    got.sort();
    assert_eq!(got, ["a", "b"]);
    // k best matching records, not the k best then filtered.
    let hits = c
        .search(
            Query::Keywords("wing"),
            SearchOptions::new(1).filter(&Filter::field("year").gt(1965)),
        )
        .unwrap();
    assert_eq!(ids(&hits), ["d"]);
    assert_eq!(c.analyze("The Heated plates!").unwrap(), ["heat", "plate"]);
    c.check().unwrap();
}

#[test]
fn the_index_follows_upserts_and_deletes() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::Cosine))
        .unwrap();
    c.create_text_index(
        &TextIndexParams::fields(["title"])
            .stemming(Stemming::None)
            .stop_words(StopWords::None),
    )
    .unwrap();
    c.upsert(&corpus()).unwrap();
    assert_eq!(
        ids(&c.search(Query::Keywords("wing"), 10).unwrap()).len(),
        2
    );
    c.upsert(&[doc("a", [1.0, 0.0], "Hypersonic inlets", 1960)])
        .unwrap();
    assert_eq!(ids(&c.search(Query::Keywords("wing"), 10).unwrap()), ["d"]);
    assert_eq!(
        ids(&c.search(Query::Keywords("hypersonic"), 10).unwrap()),
        ["a"]
    );
    c.delete(&["d"]).unwrap();
    assert!(c.search(Query::Keywords("wing"), 10).unwrap().is_empty());
    // A record without the field leaves the index.
    c.upsert(&[Record::new("a", vec![1.0, 0.0])]).unwrap();
    assert!(
        c.search(Query::Keywords("hypersonic"), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(c.text_index().unwrap().unwrap().rows, 3);
    c.check().unwrap();
    // Survives reopening.
    let path = db.path().to_path_buf();
    drop(c);
    drop(db);
    let db = Database::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(
        ids(&c.search(Query::Keywords("plates"), 10).unwrap()),
        ["e"]
    );
    assert!(c.drop_text_index().unwrap());
    assert!(!c.drop_text_index().unwrap());
    assert!(matches!(
        c.search(Query::Keywords("plates"), 10),
        Err(Error::NoTextIndex { .. })
    ));
    c.check().unwrap();
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::Cosine))
        .unwrap();
    c.upsert(&corpus()).unwrap();
    assert!(matches!(
        c.search(Query::Keywords("x"), 1),
        Err(Error::NoTextIndex { .. })
    ));
    c.upsert(&[Record::new("n", vec![1.0, 1.0]).with_payload(json!({"title": 7}))])
        .unwrap();
    let e = c
        .create_text_index(&TextIndexParams::fields(["title"]))
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidParameter { reason, .. } if reason.contains("record 'n'")),
        "{e}"
    );
    assert!(c.text_index().unwrap().is_none());
    c.delete(&["n"]).unwrap();
    c.create_text_index(&TextIndexParams::fields(["title"]))
        .unwrap();
    assert!(matches!(
        c.create_text_index(&TextIndexParams::fields(["title"])),
        Err(Error::TextIndexExists { .. })
    ));
    for bad in [
        TextIndexParams::fields(["t", "t"]),
        TextIndexParams::text().k1(-1.0),
        TextIndexParams::text().b(1.5),
        TextIndexParams::fields([""]),
    ] {
        assert!(
            matches!(
                c.create_text_index(&bad),
                Err(Error::InvalidParameter { .. })
            ),
            "{bad:?}"
        );
    }
    // A record whose indexed field is not text: refused, nothing written.
    let e = c
        .upsert(&[
            doc("z", [1.0, 0.0], "fine", 1),
            Record::new("y", vec![1.0, 0.0]).with_payload(json!({"title": ["ok", 3]})),
        ])
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidPayload { position: 1, .. }),
        "{e}"
    );
    assert_eq!(c.count().unwrap(), 5);
    for q in ["", "   ", "the and of", "-wing", "!!! ..."] {
        assert!(
            matches!(
                c.search(Query::Keywords(q), 3),
                Err(Error::InvalidKeywords { .. })
            ),
            "{q:?}"
        );
    }
    let long = "word ".repeat(300_000);
    assert!(matches!(
        c.search(Query::Keywords(&long), 3),
        Err(Error::InvalidKeywords { .. })
    ));
    let many: String = (0..1100).map(|i| format!("t{i} ")).collect();
    assert!(matches!(
        c.search(Query::Keywords(&many), 3),
        Err(Error::InvalidKeywords { .. })
    ));
    c.check().unwrap();
}

#[test]
fn hybrid_fuses_explains_filters_and_pages() {
    let (_d, db) = db();
    let c = db
        .create_collection("c", CollectionConfig::new(2, Metric::Cosine))
        .unwrap();
    c.upsert(&corpus()).unwrap();
    c.create_text_index(&TextIndexParams::fields(["title"]))
        .unwrap();
    let v = vec![0.0f32, 1.0];
    let hits = c.search(Hybrid::new(&v, "wing"), 5).unwrap();
    assert_eq!(hits.len(), 5);
    // "d" is second for the vector and first for the keyword: first fused.
    assert_eq!(hits[0].id, "d");
    let e = hits[0].explain.as_ref().unwrap();
    assert_eq!(e.branches[0].branch, Branch::Dense);
    assert_eq!(e.branches[0].rank, Some(2));
    assert_eq!(e.branches[1].branch, Branch::Keywords);
    assert_eq!(e.branches[1].rank, Some(1));
    let rrf = 1.0 / 62.0 + 1.0 / 61.0;
    assert!((f64::from(hits[0].score) - rrf).abs() < 1e-6);
    // Records only one branch found carry `None` for the other.
    let only_dense = hits.iter().find(|h| h.id == "e").unwrap();
    assert_eq!(only_dense.explain.as_ref().unwrap().branches[1].rank, None);
    // The same filter inside both branches.
    let f = Filter::field("year").gt(1962);
    let filtered = c
        .search(
            Hybrid::new(&v, "wing flow"),
            SearchOptions::new(5).filter(&f),
        )
        .unwrap();
    assert!(
        filtered
            .iter()
            .all(|h| h.payload.as_ref().unwrap()["year"].as_i64().unwrap() > 1962)
    );
    assert_eq!(filtered.len(), 3);
    // Pages are the slices of the full list.
    for fusion in [Fusion::default(), Fusion::Dbsf, Fusion::Relative] {
        let q = Hybrid::new(&v, "wing flow plate")
            .fusion(fusion)
            .weights(0.6, 0.4);
        let all = c.search(q, 5).unwrap();
        let mut paged = Vec::new();
        for page in 0..3 {
            paged.extend(c.search(q, SearchOptions::new(2).offset(page * 2)).unwrap());
        }
        assert_eq!(ids(&all), ids(&paged), "{fusion:?}");
        let scores: Vec<f32> = all.iter().map(|h| h.score).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "{fusion:?}: {scores:?}"
        );
    }
    // Keyword weight 0 under relative fusion: the dense order.
    let dense_only = c
        .search(
            Hybrid::new(&v, "wing")
                .fusion(Fusion::Relative)
                .weights(1.0, 0.0),
            5,
        )
        .unwrap();
    assert_eq!(ids(&dense_only), ids(&c.search(&v, 5).unwrap()));
    for bad in [
        Hybrid::new(&v, "wing").weights(-1.0, 1.0),
        Hybrid::new(&v, "wing").weights(0.0, 0.0),
        Hybrid::new(&v, "wing").depths(0, 10),
    ] {
        assert!(matches!(
            c.search(bad, 5),
            Err(Error::InvalidParameter { .. })
        ));
    }
    assert!(matches!(
        c.search(Hybrid::new(&v, "the"), 5),
        Err(Error::InvalidKeywords { .. })
    ));
}

#[test]
fn hybrid_on_multi_vector_collections() {
    let (_d, db) = db();
    let c = db
        .create_collection("m", CollectionConfig::multi_vector(2, Metric::Cosine))
        .unwrap();
    let records: Vec<MultiRecord> = corpus()
        .into_iter()
        .map(|r| {
            MultiRecord::new(r.id, vec![r.vector.clone(), vec![1.0, 1.0]])
                .with_payload(r.payload.unwrap())
        })
        .collect();
    c.upsert(&records).unwrap();
    c.create_text_index(&TextIndexParams::fields(["title"]))
        .unwrap();
    let q = vec![vec![0.0f32, 1.0]];
    let hits = c.search(Hybrid::new(&q, "wing"), 3).unwrap();
    assert_eq!(hits[0].id, "d");
    assert_eq!(
        ids(&c.search(Query::Keywords("flutter"), 3).unwrap()),
        ["d"]
    );
    c.check().unwrap();
}

fn title(words: &[u8]) -> String {
    const VOCAB: [&str; 8] = [
        "wing", "flow", "plate", "heat", "shock", "the", "boundary", "flows",
    ];
    words
        .iter()
        .map(|&w| VOCAB[w as usize % VOCAB.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// After any sequence of upserts and deletes, the incremental index equals a rebuild:
    /// `check()` compares every posting, length and statistic, and the same queries give
    /// the same hits and scores as a collection written once with the final records.
    #[test]
    fn incremental_equals_rebuild(steps in prop::collection::vec(
        (prop::collection::vec((0u8..30, prop::collection::vec(0u8..8, 0..6)), 0..12), prop::collection::vec(0u8..30, 0..4)),
        1..6,
    )) {
        let (_d, db) = db();
        let c = db.create_collection("c", CollectionConfig::new(2, Metric::Cosine)).unwrap();
        c.create_text_index(&TextIndexParams::fields(["t"])).unwrap();
        let mut model = std::collections::BTreeMap::new();
        for (puts, deletes) in steps {
            let records: Vec<Record> = puts.iter().map(|(id, words)| {
                Record::new(format!("r{id}"), vec![1.0, f32::from(*id)]).with_payload(json!({"t": title(words)}))
            }).collect();
            c.upsert(&records).unwrap();
            for (id, words) in &puts {
                model.insert(format!("r{id}"), title(words));
            }
            let del: Vec<String> = deletes.iter().map(|d| format!("r{d}")).collect();
            let refs: Vec<&str> = del.iter().map(String::as_str).collect();
            c.delete(&refs).unwrap();
            for d in &del {
                model.remove(d);
            }
            c.check().unwrap();
        }
        let fresh = db.create_collection("fresh", CollectionConfig::new(2, Metric::Cosine)).unwrap();
        let records: Vec<Record> = model.iter().map(|(id, t)| {
            Record::new(id.clone(), vec![1.0, 0.0]).with_payload(json!({"t": t}))
        }).collect();
        fresh.upsert(&records).unwrap();
        fresh.create_text_index(&TextIndexParams::fields(["t"])).unwrap();
        for q in ["wing", "flow heat", "+plate shock", "boundary -wing"] {
            let a = c.search(Query::Keywords(q), 50).unwrap();
            let b = fresh.search(Query::Keywords(q), 50).unwrap();
            let pairs = |h: &[quiver::Hit]| {
                let mut v: Vec<(String, u32)> = h.iter().map(|h| (h.id.clone(), h.score.to_bits())).collect();
                v.sort();
                v
            };
            // Same records and scores (row ids, so tie order, differ between the two).
            prop_assert_eq!(pairs(&a), pairs(&b), "{}", q);
        }
        prop_assert_eq!(c.text_index().unwrap().unwrap().rows, fresh.text_index().unwrap().unwrap().rows);
    }
}
