//! The IVF-PQ index through the engine: exactness at exhaustive parameters, persistence,
//! incremental maintenance, deletes, recall at defaults.

use quiver::{CollectionConfig, Database, IvfPqParams, Metric, Record, SearchRequest};
use quiver_tests::random_vectors;

fn setup(
    metric: Metric,
    n: usize,
    dim: usize,
) -> (
    tempfile::TempDir,
    Database,
    quiver::Collection,
    Vec<Vec<f32>>,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("ivf.qvr")).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(dim, metric))
        .unwrap();
    let vs = random_vectors(n, dim, 21);
    let recs: Vec<Record> = vs
        .iter()
        .enumerate()
        .map(|(i, v)| Record::new(format!("r{i}"), v.clone()))
        .collect();
    c.upsert(&recs).unwrap();
    (dir, db, c, vs)
}

fn ids(hits: &[quiver::Hit]) -> Vec<String> {
    hits.iter().map(|h| h.id.clone()).collect()
}

#[test]
fn exhaustive_parameters_equal_exact_search_for_every_metric() {
    for (metric, bits) in [Metric::Cosine, Metric::Dot, Metric::L2]
        .into_iter()
        .flat_map(|m| [(m, 8), (m, 4)])
    {
        let (_d, _db, c, _) = setup(metric, 600, 16);
        let info = c
            .create_index(IvfPqParams::default().nlist(8).m(4).bits(bits))
            .unwrap();
        let info = info.as_ivf_pq().unwrap();
        assert_eq!(
            (info.nlist, info.m, info.bits, info.indexed),
            (8, 4, bits, 600)
        );
        for q in random_vectors(10, 16, 5) {
            let exact = c
                .search_with(&SearchRequest::new(&q, 10).exact(true))
                .unwrap();
            let full = c
                .search_with(&SearchRequest::new(&q, 10).nprobe(8).refine(60))
                .unwrap();
            assert_eq!(exact, full, "{metric}");
        }
        assert_eq!(c.check().unwrap(), 600);
    }
}

#[test]
fn index_survives_reopen_and_tracks_writes() {
    index_survives_reopen_and_tracks_writes_with(8);
    // 4-bit codes: the same postings format, lists packed for fast scan on load.
    index_survives_reopen_and_tracks_writes_with(4);
}

fn index_survives_reopen_and_tracks_writes_with(bits: u32) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.qvr");
    let vs = random_vectors(1000, 12, 8);
    let q = random_vectors(5, 12, 9);
    let before = {
        let db = Database::create(&path).unwrap();
        let c = db
            .create_collection("c", CollectionConfig::new(12, Metric::L2))
            .unwrap();
        let recs: Vec<Record> = vs
            .iter()
            .enumerate()
            .map(|(i, v)| Record::new(i.to_string(), v.clone()))
            .collect();
        c.upsert(&recs[..800]).unwrap();
        c.create_index(IvfPqParams::default().nlist(16).m(6).bits(bits))
            .unwrap();
        // Inserted after training: encoded on insert, never invisible.
        c.upsert(&recs[800..]).unwrap();
        for i in [850usize, 999] {
            assert_eq!(c.search(&vs[i], 1).unwrap()[0].id, i.to_string());
        }
        // Overwrite moves a row; delete removes it from the index.
        c.upsert(&[Record::new(
            "5",
            vs[900].iter().map(|x| x + 0.001).collect(),
        )])
        .unwrap();
        assert_eq!(c.delete(&["7", "950"]).unwrap(), 2);
        assert_eq!(c.check().unwrap(), 998);
        q.iter()
            .map(|v| c.search(v, 8).unwrap())
            .collect::<Vec<_>>()
    };
    let db = Database::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    let info = c.index_info().unwrap().unwrap();
    let info = info.as_ivf_pq().unwrap();
    assert_eq!(
        (info.nlist, info.m, info.bits, info.indexed),
        (16, 6, bits, 998)
    );
    let after: Vec<_> = q.iter().map(|v| c.search(v, 8).unwrap()).collect();
    assert_eq!(before, after);
    assert_eq!(c.check().unwrap(), 998);
    // Deleted ids never come back, even when every list is scanned.
    for v in &q {
        let all = c
            .search_with(&SearchRequest::new(v, 998).nprobe(16).refine(1))
            .unwrap();
        assert_eq!(all.len(), 998);
        assert!(!ids(&all).iter().any(|id| id == "7" || id == "950"));
    }
    let near = c.search(&vs[900], 2).unwrap();
    assert_eq!(ids(&near), vec!["900", "5"]);
    // Dropping the index makes searches exact again; the data stays.
    assert!(c.drop_index().unwrap());
    assert!(c.index_info().unwrap().is_none());
    assert_eq!(c.search(&vs[3], 1).unwrap()[0].id, "3");
    assert!(!c.drop_index().unwrap());
    db.drop_collection("c").unwrap();
}

#[test]
fn retrain_swaps_atomically_and_bad_parameters_are_refused() {
    let (_d, _db, c, vs) = setup(Metric::Cosine, 400, 8);
    assert!(c.create_index(IvfPqParams::default().m(3)).is_err());
    assert!(c.create_index(IvfPqParams::default().nlist(0)).is_err());
    assert!(c.create_index(IvfPqParams::default().bits(5)).is_err());
    assert!(c.create_index(IvfPqParams::default().nlist(401)).is_err());
    assert!(
        c.index_info().unwrap().is_none(),
        "a refused build left an index behind"
    );
    c.create_index(IvfPqParams::default().nlist(4)).unwrap();
    let second = c
        .create_index(IvfPqParams::default().nlist(10).seed(3))
        .unwrap();
    assert_eq!(second.as_ivf_pq().unwrap().nlist, 10);
    assert_eq!(c.check().unwrap(), 400);
    assert_eq!(c.search(&vs[42], 1).unwrap()[0].id, "r42");
    // Batched searches use the index too, and agree with one-at-a-time searches.
    let queries = random_vectors(20, 8, 77);
    let batch = c.search_batch(&queries, 5).unwrap();
    let single: Vec<_> = queries.iter().map(|q| c.search(q, 5).unwrap()).collect();
    assert_eq!(batch, single);
    // ... also with explicit parameters, and exactly when asked.
    let tuned = SearchRequest::new(&[], 5)
        .nprobe(3)
        .refine(2)
        .include_payload(false);
    let batch = c.search_batch_with(&queries, &tuned).unwrap();
    for (q, b) in queries.iter().zip(&batch) {
        let one = SearchRequest::new(q, 5)
            .nprobe(3)
            .refine(2)
            .include_payload(false);
        assert_eq!(&c.search_with(&one).unwrap(), b);
    }
    let exact = c
        .search_batch_with(&queries, &SearchRequest::new(&[], 5).exact(true))
        .unwrap();
    for (q, e) in queries.iter().zip(&exact) {
        // The batched exact path multiplies matrices: same ids, scores equal to rounding.
        let one = c
            .search_with(&SearchRequest::new(q, 5).exact(true))
            .unwrap();
        assert_eq!(ids(&one), ids(e));
        assert!(
            one.iter()
                .zip(e)
                .all(|(a, b)| (a.score - b.score).abs() < 1e-5)
        );
    }
    let q = &vs[0];
    assert!(c.search_with(&SearchRequest::new(q, 5).nprobe(0)).is_err());
    assert!(c.search_with(&SearchRequest::new(q, 5).refine(0)).is_err());
    // An empty collection cannot be trained.
    let db = &_db;
    let e = db
        .create_collection("empty", CollectionConfig::new(8, Metric::L2))
        .unwrap();
    assert!(e.create_index(IvfPqParams::default()).is_err());
}

#[test]
fn recall_at_default_parameters_on_clustered_data() {
    // 20k points around 100 centres in 32-d; queries are stored points slightly moved.
    let (dim, n) = (32, 20_000);
    let centres = random_vectors(100, dim, 1);
    let noise = random_vectors(n, dim, 2);
    let data: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            centres[i % 100]
                .iter()
                .zip(&noise[i])
                .map(|(c, e)| c * 4.0 + e)
                .collect()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("r.qvr")).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(dim, Metric::Cosine))
        .unwrap();
    let recs: Vec<Record> = data
        .iter()
        .enumerate()
        .map(|(i, v)| Record::new(i.to_string(), v.clone()))
        .collect();
    for chunk in recs.chunks(2000) {
        c.upsert(chunk).unwrap();
    }
    let info = c.create_index(IvfPqParams::default()).unwrap();
    let info = info.as_ivf_pq().unwrap();
    let mut found = 0;
    let queries: Vec<Vec<f32>> = data
        .iter()
        .step_by(200)
        .map(|v| v.iter().map(|x| x * 1.01 + 0.01).collect())
        .collect();
    for q in &queries {
        let exact = ids(&c
            .search_with(&SearchRequest::new(q, 10).exact(true))
            .unwrap());
        let approx = ids(&c.search(q, 10).unwrap());
        found += approx.iter().filter(|id| exact.contains(id)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    eprintln!(
        "recall@10 at defaults (nlist {}, m {}): {recall:.3}",
        info.nlist, info.m
    );
    assert!(recall >= 0.95, "recall@10 {recall}");
}
