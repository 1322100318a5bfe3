//! Walks the API table of `docs/errors.md`: every row is a case here, every case a row, and
//! each case's error is the one the table names.

use quiver::mining::{MiningPair, MiningRequest, PackRequest, Teacher};
use quiver::space::{MapParams, OutlierParams};
use quiver::{
    CollectionConfig, Database, ElementType, Embedder, Error, Filter, Hybrid, IvfPqParams, Metric,
    ModelIdentity, MultiIndexParams, MultiRecord, MultiSearchRequest, PayloadIndexKind, Pooling,
    Query, Record, SearchRequest, TextIndexParams, TextRecord,
};
use quiver_embed::BertEmbedder;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The error's variant name, as the table writes it.
fn variant(e: &Error) -> &'static str {
    match e {
        Error::NotFound { .. } => "NotFound",
        Error::Locked { .. } => "Locked",
        Error::ReadOnly { .. } => "ReadOnly",
        Error::NotAQuiverDatabase { .. } => "NotAQuiverDatabase",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        Error::UpgradeRequired { .. } => "UpgradeRequired",
        Error::Corrupted { .. } => "Corrupted",
        Error::Io { .. } => "Io",
        Error::CollectionNotFound { .. } => "CollectionNotFound",
        Error::CollectionExists { .. } => "CollectionExists",
        Error::InvalidCollectionName { .. } => "InvalidCollectionName",
        Error::DimensionMismatch { .. } => "DimensionMismatch",
        Error::InvalidVector { .. } => "InvalidVector",
        Error::InvalidId { .. } => "InvalidId",
        Error::InvalidPayload { .. } => "InvalidPayload",
        Error::PayloadTooLarge { .. } => "PayloadTooLarge",
        Error::InvalidParameter { .. } => "InvalidParameter",
        Error::BadInputFile { .. } => "BadInputFile",
        Error::InvalidText { .. } => "InvalidText",
        Error::InvalidModel { .. } => "InvalidModel",
        Error::ModelMismatch { .. } => "ModelMismatch",
        Error::NoEmbedder { .. } => "NoEmbedder",
        Error::Inference { .. } => "Inference",
        Error::InvalidFilter { .. } => "InvalidFilter",
        Error::WrongCollectionKind { .. } => "WrongCollectionKind",
        Error::InvalidMatrix { .. } => "InvalidMatrix",
        Error::TextIndexExists { .. } => "TextIndexExists",
        Error::NoTextIndex { .. } => "NoTextIndex",
        Error::InvalidKeywords { .. } => "InvalidKeywords",
        Error::InvalidPair { .. } => "InvalidPair",
        Error::Internal { .. } => "Internal",
        _ => "(a variant this test does not know)",
    }
}

/// The API rows of the table: case → error variant.
fn table() -> BTreeMap<String, String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors.md");
    let text = std::fs::read_to_string(doc).expect("docs/errors.md");
    let api = text
        .split("## Rust API")
        .nth(1)
        .and_then(|s| s.split("## Command line").next())
        .expect("an API section");
    api.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[4].trim_matches('`').to_owned(),
            )
        })
        .collect()
}

/// An embedder of a given dimension and version (its vectors: letter counts, folded).
struct Letters(ModelIdentity);

impl Letters {
    fn new(dim: usize, version: &str) -> Arc<Letters> {
        Arc::new(Letters(ModelIdentity {
            name: "letters".into(),
            dim,
            pooling: Pooling::Mean,
            normalize: false,
            max_tokens: 1000,
            weights_sha256: version.into(),
            query_prefix: String::new(),
            document_prefix: String::new(),
            late_interaction: None,
        }))
    }
}

impl Embedder for Letters {
    fn identity(&self) -> &ModelIdentity {
        &self.0
    }
    fn embed_documents(&self, texts: &[&str]) -> quiver::Result<Vec<Vec<f32>>> {
        texts.iter().map(|t| self.embed_query(t)).collect()
    }
    fn embed_query(&self, text: &str) -> quiver::Result<Vec<f32>> {
        let mut v = vec![1.0; self.0.dim];
        for b in text.bytes() {
            v[b as usize % self.0.dim] += 1.0;
        }
        Ok(v)
    }
}

struct Env {
    dir: PathBuf,
    db: Database,
}

impl Env {
    fn new() -> (tempfile::TempDir, Env) {
        let tmp = tempfile::tempdir().unwrap();
        let db = Database::create(tmp.path().join("t.qvr")).unwrap();
        let v = db
            .create_collection("v", CollectionConfig::new(4, Metric::Cosine))
            .unwrap();
        v.upsert(&[Record::new("a", vec![1.0, 0.0, 0.0, 0.0])])
            .unwrap();
        v.create_payload_index("year", PayloadIndexKind::Integer)
            .unwrap();
        db.create_collection(
            "h",
            CollectionConfig::new(4, Metric::Cosine).element_type(ElementType::F16),
        )
        .unwrap();
        db.create_collection("empty", CollectionConfig::new(4, Metric::Cosine))
            .unwrap();
        let m = db
            .create_collection("m", CollectionConfig::multi_vector(4, Metric::Cosine))
            .unwrap();
        m.upsert_multi(&[MultiRecord::new("a", vec![vec![1.0, 0.0, 0.0, 0.0]])])
            .unwrap();
        db.create_collection("t", CollectionConfig::with_embedder(Letters::new(4, "v1")))
            .unwrap();
        let dir = tmp.path().to_path_buf();
        (tmp, Env { dir, db })
    }

    fn upsert(&self, collection: &str, record: Record) -> Error {
        self.db
            .collection(collection)
            .unwrap()
            .upsert(&[record])
            .unwrap_err()
    }

    fn search(&self, vector: &[f32], k: usize) -> Error {
        self.db
            .collection("v")
            .unwrap()
            .search(vector, k)
            .unwrap_err()
    }

    fn multi(&self, record: MultiRecord) -> Error {
        self.db
            .collection("m")
            .unwrap()
            .upsert_multi(&[record])
            .unwrap_err()
    }

    fn create(&self, name: &str, config: CollectionConfig) -> Error {
        self.db.create_collection(name, config).unwrap_err()
    }
}

type Case = fn(&Env) -> Error;

/// A new 4-dimensional collection of its own (the cases share one database).
fn fresh(e: &Env, name: &str) -> quiver::Collection {
    e.db.create_collection(name, CollectionConfig::new(4, Metric::Cosine))
        .unwrap()
}

fn cases() -> BTreeMap<&'static str, Case> {
    let mut c: BTreeMap<&'static str, Case> = BTreeMap::new();
    c.insert("dim-zero", |e| {
        e.create("x", CollectionConfig::new(0, Metric::Cosine))
    });
    c.insert("dim-too-large", |e| {
        e.create("x", CollectionConfig::new(65_537, Metric::Cosine))
    });
    c.insert("name-empty", |e| {
        e.create("", CollectionConfig::new(4, Metric::Cosine))
    });
    c.insert("name-bad-char", |e| {
        e.create("a/b", CollectionConfig::new(4, Metric::Cosine))
    });
    c.insert("name-bad-start", |e| {
        e.create(".hidden", CollectionConfig::new(4, Metric::Cosine))
    });
    c.insert("name-too-long", |e| {
        e.create(&"n".repeat(65), CollectionConfig::new(4, Metric::Cosine))
    });
    c.insert("collection-exists", |e| {
        e.create("v", CollectionConfig::new(4, Metric::Cosine))
    });
    c.insert("collection-missing", |e| {
        e.db.collection("nope").unwrap_err()
    });
    c.insert("multi-l2", |e| {
        e.create("x", CollectionConfig::multi_vector(4, Metric::L2))
    });
    c.insert("model-dim", |e| {
        let config = CollectionConfig::with_embedder(Letters::new(8, "v1")).dim(4);
        e.create("x", config)
    });
    c.insert("vector-dim", |e| {
        e.upsert("v", Record::new("b", vec![1.0; 3]))
    });
    c.insert("vector-nan", |e| {
        e.upsert("v", Record::new("b", vec![1.0, f32::NAN, 0.0, 0.0]))
    });
    c.insert("vector-inf", |e| {
        e.upsert("v", Record::new("b", vec![1.0, f32::INFINITY, 0.0, 0.0]))
    });
    c.insert("vector-f16-range", |e| {
        e.upsert("h", Record::new("b", vec![1e6, 0.0, 0.0, 0.0]))
    });
    c.insert("vector-zero", |e| {
        e.upsert("v", Record::new("b", vec![0.0; 4]))
    });
    c.insert("id-empty", |e| e.upsert("v", Record::new("", vec![1.0; 4])));
    c.insert("id-too-long", |e| {
        e.upsert("v", Record::new("i".repeat(513), vec![1.0; 4]))
    });
    c.insert("id-nul", |e| {
        e.upsert("v", Record::new("a\0b", vec![1.0; 4]))
    });
    c.insert("payload-not-object", |e| {
        e.upsert(
            "v",
            Record::new("b", vec![1.0; 4]).with_payload(json!([1, 2])),
        )
    });
    c.insert("payload-too-large", |e| {
        let big = json!({ "blob": "x".repeat((1 << 20) + 1) });
        e.upsert("v", Record::new("b", vec![1.0; 4]).with_payload(big))
    });
    c.insert("k-zero", |e| e.search(&[1.0; 4], 0));
    c.insert("k-too-large", |e| e.search(&[1.0; 4], 100_001));
    c.insert("query-dim", |e| e.search(&[1.0; 5], 1));
    c.insert("query-nan", |e| e.search(&[1.0, f32::NAN, 0.0, 0.0], 1));
    c.insert("nprobe-zero", |e| {
        let q = [1.0; 4];
        let req = SearchRequest::new(&q, 1).nprobe(0);
        e.db.collection("v").unwrap().search_with(&req).unwrap_err()
    });
    c.insert("dims-range", |e| {
        let options = quiver::SearchOptions::new(1).dims(5);
        let q = [1.0f32; 4];
        e.db.collection("v")
            .unwrap()
            .search(&q, options)
            .unwrap_err()
    });
    c.insert("dims-zero-prefix", |e| {
        let options = quiver::SearchOptions::new(1).dims(2);
        let q = [0.0f32, 0.0, 1.0, 1.0];
        e.db.collection("v")
            .unwrap()
            .search(&q, options)
            .unwrap_err()
    });
    c.insert("refine-zero", |e| {
        let q = [1.0; 4];
        let req = SearchRequest::new(&q, 1).refine(0);
        e.db.collection("v").unwrap().search_with(&req).unwrap_err()
    });
    c.insert("filter-operator", |_| {
        Filter::parse(r#"{"year": {"$near": 3}}"#).unwrap_err()
    });
    c.insert("filter-json", |_| Filter::parse(r#"{"year":"#).unwrap_err());
    c.insert("filter-depth", |_| {
        let deep = format!("{}{{\"a\": 1}}{}", "{\"$not\": ".repeat(40), "}".repeat(40));
        Filter::parse(&deep).unwrap_err()
    });
    c.insert("filter-in-type", |_| {
        Filter::parse(r#"{"tag": {"$in": 3}}"#).unwrap_err()
    });
    c.insert("payload-index-kind", |e| {
        e.db.collection("v")
            .unwrap()
            .create_payload_index("year", PayloadIndexKind::Keyword)
            .unwrap_err()
    });
    c.insert("ivf-empty", |e| {
        e.db.collection("empty")
            .unwrap()
            .create_index(IvfPqParams::default())
            .unwrap_err()
    });
    c.insert("ivf-nlist", |e| {
        let params = IvfPqParams::default().nlist(0);
        e.db.collection("v")
            .unwrap()
            .create_index(&params)
            .unwrap_err()
    });
    c.insert("ivf-bits", |e| {
        let params = IvfPqParams::default().bits(5);
        e.db.collection("v")
            .unwrap()
            .create_index(&params)
            .unwrap_err()
    });
    c.insert("ivf-m", |e| {
        let params = IvfPqParams::default().m(3);
        e.db.collection("v")
            .unwrap()
            .create_index(&params)
            .unwrap_err()
    });
    c.insert("text-index-twice", |e| {
        let c = fresh(e, "ft1");
        c.create_text_index(&TextIndexParams::fields(["title"]))
            .unwrap();
        c.create_text_index(&TextIndexParams::fields(["title"]))
            .unwrap_err()
    });
    c.insert("text-index-field-type", |e| {
        let c = fresh(e, "ft2");
        c.create_text_index(&TextIndexParams::fields(["title"]))
            .unwrap();
        e.upsert(
            "ft2",
            Record::new("x", vec![1.0; 4]).with_payload(json!({"title": 3})),
        )
    });
    c.insert("text-index-k1", |e| {
        fresh(e, "ft3")
            .create_text_index(&TextIndexParams::text().k1(-1.0))
            .unwrap_err()
    });
    c.insert("keywords-no-index", |e| {
        fresh(e, "ft4")
            .search(Query::Keywords("word"), 1)
            .unwrap_err()
    });
    c.insert("keywords-no-terms", |e| {
        let c = fresh(e, "ft5");
        c.create_text_index(&TextIndexParams::fields(["title"]))
            .unwrap();
        c.search(Query::Keywords("the of and"), 1).unwrap_err()
    });
    c.insert("keywords-too-many", |e| {
        let c = fresh(e, "ft6");
        c.create_text_index(&TextIndexParams::fields(["title"]))
            .unwrap();
        let q: String = (0..1025).map(|i| format!("w{i} ")).collect();
        c.search(Query::Keywords(&q), 1).unwrap_err()
    });
    c.insert("hybrid-weights", |e| {
        let c = fresh(e, "ft7");
        c.create_text_index(&TextIndexParams::fields(["title"]))
            .unwrap();
        let v = [1.0f32; 4];
        c.search(Hybrid::new(&v[..], "word").weights(0.0, 0.0), 1)
            .unwrap_err()
    });
    c.insert("text-empty", |e| {
        let t = e.db.collection("t").unwrap();
        t.upsert_texts(&[TextRecord::new("a", "")]).unwrap_err()
    });
    c.insert("text-blank", |e| {
        let t = e.db.collection("t").unwrap();
        t.upsert_texts(&[TextRecord::new("a", "  \n\t ")])
            .unwrap_err()
    });
    c.insert("query-text-blank", |e| {
        e.db.collection("t")
            .unwrap()
            .search_text(" ", 1)
            .unwrap_err()
    });
    c.insert("text-no-model", |e| {
        let v = e.db.collection("v").unwrap();
        v.upsert_texts(&[TextRecord::new("a", "hello")])
            .unwrap_err()
    });
    c.insert("model-folder", |e| {
        BertEmbedder::load(e.dir.join("no-such-model")).unwrap_err()
    });
    c.insert("model-incomplete", |e| {
        let folder = e.dir.join("half-model");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("config.json"), "{}").unwrap();
        BertEmbedder::load(folder).unwrap_err()
    });
    c.insert("model-other", |e| {
        e.db.collection("t")
            .unwrap()
            .attach_embedder(Letters::new(4, "v2"))
            .unwrap_err()
    });
    c.insert("token-model-single", |e| {
        e.create(
            "x",
            CollectionConfig::multi_vector_with_embedder(Letters::new(4, "v1")),
        )
    });
    c.insert("matrix-empty", |e| {
        e.multi(MultiRecord::new("b", Vec::new()))
    });
    c.insert("matrix-ragged", |e| {
        e.multi(MultiRecord::new("b", vec![vec![1.0; 4], vec![1.0; 3]]))
    });
    c.insert("matrix-too-many", |e| {
        e.multi(MultiRecord::new("b", vec![vec![1.0; 4]; 8193]))
    });
    c.insert("matrix-nan", |e| {
        e.multi(MultiRecord::new("b", vec![vec![1.0, f32::NAN, 0.0, 0.0]]))
    });
    c.insert("query-matrix-too-many", |e| {
        let q = vec![vec![1.0; 4]; 1025];
        e.db.collection("m")
            .unwrap()
            .search_multi(&q, 1)
            .unwrap_err()
    });
    c.insert("multi-dims", |e| {
        let q = vec![vec![1.0; 4]];
        let req = MultiSearchRequest::new(&q, 1).dims(5);
        e.db.collection("m")
            .unwrap()
            .search_multi_with(&req)
            .unwrap_err()
    });
    c.insert("centroids-zero", |e| {
        let params = MultiIndexParams::default().centroids(0);
        e.db.collection("m")
            .unwrap()
            .create_multi_index(&params)
            .unwrap_err()
    });
    c.insert("wrong-kind-upsert", |e| {
        e.upsert("m", Record::new("b", vec![1.0; 4]))
    });
    c.insert("wrong-kind-multi", |e| {
        let v = e.db.collection("v").unwrap();
        v.upsert_multi(&[MultiRecord::new("b", vec![vec![1.0; 4]])])
            .unwrap_err()
    });
    c.insert("mine-unknown-positive", |e| {
        let pairs = [MiningPair::vector(vec![1.0, 0.0, 0.0, 0.0], ["nobody"])];
        fresh(e, "mine1")
            .mine_hard_negatives(&MiningRequest::new(&pairs))
            .unwrap_err()
    });
    c.insert("mine-no-positive", |e| {
        let pairs = [MiningPair::vector(
            vec![1.0, 0.0, 0.0, 0.0],
            Vec::<String>::new(),
        )];
        fresh(e, "mine2")
            .mine_hard_negatives(&MiningRequest::new(&pairs))
            .unwrap_err()
    });
    c.insert("mine-vector-keywords", |e| {
        let c = fresh(e, "mine3");
        c.upsert(&[
            Record::new("a", vec![1.0, 0.0, 0.0, 0.0]).with_payload(json!({"title": "wing"}))
        ])
        .unwrap();
        c.create_text_index(&quiver::TextIndexParams::fields(["title"]))
            .unwrap();
        let pairs = [MiningPair::vector(vec![1.0, 0.0, 0.0, 0.0], ["a"])];
        c.mine_hard_negatives(&MiningRequest::new(&pairs).teachers([Teacher::Keywords]))
            .unwrap_err()
    });
    c.insert("mine-relative-margin", |e| {
        let pairs = [MiningPair::vector(vec![1.0, 0.0, 0.0, 0.0], ["a"])];
        fresh(e, "mine4")
            .mine_hard_negatives(&MiningRequest::new(&pairs).relative_margin(1.5))
            .unwrap_err()
    });
    c.insert("mine-range", |e| {
        let pairs = [MiningPair::vector(vec![1.0, 0.0, 0.0, 0.0], ["a"])];
        fresh(e, "mine5")
            .mine_hard_negatives(&MiningRequest::new(&pairs).range_min(2).range_max(2))
            .unwrap_err()
    });
    c.insert("cluster-k", |e| {
        let c = fresh(e, "space1");
        c.upsert(&[Record::new("a", vec![1.0, 0.0, 0.0, 0.0])])
            .unwrap();
        c.cluster(2, 0).unwrap_err()
    });
    c.insert("outliers-neighbours", |e| {
        fresh(e, "space2")
            .outlier_scorer(&OutlierParams::default().neighbours(0))
            .err()
            .unwrap()
    });
    c.insert("outliers-too-few", |e| {
        let c = fresh(e, "space3");
        c.upsert(&[Record::new("a", vec![1.0, 0.0, 0.0, 0.0])])
            .unwrap();
        c.outlier_scorer(&OutlierParams::default()).err().unwrap()
    });
    c.insert("map-empty", |e| {
        fresh(e, "space4").map(&MapParams::default()).unwrap_err()
    });
    c.insert("pack-batch-size", |e| {
        let pairs = [MiningPair::vector(vec![1.0, 0.0, 0.0, 0.0], ["a"])];
        fresh(e, "space5")
            .pack_batches(&PackRequest::new(&pairs, 1))
            .unwrap_err()
    });
    c.insert("pack-unknown-positive", |e| {
        let pairs = [MiningPair::vector(vec![1.0, 0.0, 0.0, 0.0], ["nobody"])];
        fresh(e, "space6")
            .pack_batches(&PackRequest::new(&pairs, 2))
            .unwrap_err()
    });
    c.insert("payload-field-empty", |e| {
        fresh(e, "space7")
            .set_payload_field("", &[("a", json!(1))])
            .unwrap_err()
    });
    c.insert("open-missing", |e| {
        Database::open(e.dir.join("missing.qvr")).unwrap_err()
    });
    c.insert("open-not-database", |e| {
        let path = e.dir.join("notes.txt");
        std::fs::write(
            &path,
            "these are not the pages you are looking for\n".repeat(200),
        )
        .unwrap();
        Database::open(path).unwrap_err()
    });
    c.insert("open-locked", |e| {
        let r = Database::builder()
            .exclusive(true)
            .busy_timeout(std::time::Duration::ZERO)
            .open(e.db.path());
        let err = r.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Locked {
                    holder: quiver::LockHolder::Writer,
                    ..
                }
            ),
            "{err}"
        );
        err
    });
    c.insert("read-only-write", |e| {
        let ro = Database::open_read_only(e.db.path()).unwrap();
        ro.collection("v")
            .unwrap()
            .upsert(&[Record::new("ro", vec![1.0, 0.0, 0.0, 0.0])])
            .unwrap_err()
    });
    c.insert("relaxed-shared", |e| {
        Database::builder()
            .durability(quiver::Durability::Relaxed)
            .exclusive(false)
            .open(e.db.path())
            .unwrap_err()
    });
    c.insert("npy-dtype", |e| {
        let path = e.dir.join("ints.npy");
        let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }";
        let mut padded = header.to_owned();
        while !(10 + padded.len() + 1).is_multiple_of(64) {
            padded.push(' ');
        }
        padded.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
        bytes.extend_from_slice(padded.as_bytes());
        bytes.extend_from_slice(&[0u8; 16]);
        std::fs::write(&path, bytes).unwrap();
        quiver_vecfile::read_npy(&path).unwrap_err()
    });
    c.insert("fvecs-truncated", |e| {
        let path = e.dir.join("cut.fvecs");
        let mut bytes = 4u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0u8; 10]);
        std::fs::write(&path, bytes).unwrap();
        quiver_vecfile::read_fvecs(&path).unwrap_err()
    });
    c
}

#[test]
fn every_row_of_the_error_table_is_checked() {
    let table = table();
    let cases = cases();
    assert!(
        table.len() >= 30,
        "the table lists {} API cases",
        table.len()
    );
    let rows: Vec<&String> = table.keys().collect();
    let known: Vec<&&str> = cases.keys().collect();
    for row in &rows {
        assert!(cases.contains_key(row.as_str()), "row `{row}` has no case");
    }
    for case in &known {
        assert!(table.contains_key(**case), "case `{case}` has no row");
    }
    let (_tmp, env) = Env::new();
    let before = env.db.collection("v").unwrap().count().unwrap();
    let mut wrong = Vec::new();
    for (case, want) in &table {
        let got = cases[case.as_str()](&env);
        if variant(&got) != want {
            wrong.push(format!("{case}: the table says {want}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Nothing of a refused call was written.
    assert_eq!(env.db.collection("v").unwrap().count().unwrap(), before);
    assert_eq!(env.db.collection("m").unwrap().count().unwrap(), 1);
}
