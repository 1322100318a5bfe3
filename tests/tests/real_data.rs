//! Recall of the IVF-PQ index at default parameters on real vectors: the first 100,000 GloVe
//! 6B 50d words (cosine), 200 of them as queries, against exact search. Needs the data
//! (`scripts/fetch_glove.sh`) and `QUIVER_GLOVE_DIR`; it fails without them rather than
//! passing silently. CI runs it (see .ci/run).

use quiver::{CollectionConfig, Database, IvfPqParams, Metric, Record, SearchRequest};
use quiver_vecfile::read_npy;
use std::path::PathBuf;

#[test]
fn ivf_pq_recall_at_defaults_on_glove() {
    let dir = PathBuf::from(
        std::env::var("QUIVER_GLOVE_DIR").expect("set QUIVER_GLOVE_DIR (scripts/fetch_glove.sh)"),
    );
    let m = read_npy(&dir.join("glove_6B_50d_emb.npy")).expect("GloVe vectors");
    assert_eq!((m.rows, m.dim), (400_000, 50));
    let n = 100_000;
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::create(tmp.path().join("glove.qvr")).unwrap();
    let c = db
        .create_collection("glove", CollectionConfig::new(50, Metric::Cosine))
        .unwrap();
    let records: Vec<Record> = (0..n)
        .map(|i| Record::new(i.to_string(), m.row(i).to_vec()))
        .collect();
    for chunk in records.chunks(10_000) {
        c.upsert(chunk).unwrap();
    }
    let info = c.create_index(IvfPqParams::default()).unwrap();
    assert_eq!(info.indexed(), n);
    let info = info.as_ivf_pq().unwrap();
    // Queries: every 500th word (stored vectors), so each query's own row is among its truth.
    let mut found = 0;
    let queries: Vec<usize> = (0..n).step_by(500).collect();
    for &i in &queries {
        let q = m.row(i);
        let truth: Vec<String> = c
            .search_with(&SearchRequest::new(q, 10).exact(true).include_payload(false))
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        let got = c
            .search_with(&SearchRequest::new(q, 10).include_payload(false))
            .unwrap();
        found += got.iter().filter(|h| truth.contains(&h.id)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    eprintln!(
        "GloVe 100k: nlist {}, m {}, recall@10 at defaults {recall:.3}",
        info.nlist, info.m
    );
    assert!(recall >= 0.95, "recall@10 {recall} below 0.95");
}
