//! The embedding-space tools on WordNet x all-MiniLM-L6-v2 (117,659 definitions): outlier
//! scores against injected outliers of two kinds (random directions; Cranfield abstracts,
//! embedded with the same model) as ROC AUC per score, the time to cluster, score and map;
//! and cluster-packed training batches on Cranfield's judged pairs (in-batch negative
//! similarity against random batches). Keeps the database at `db` for `quiver map`.
//! Writes `results/<date>-space.{json,md}`.

use crate::measure::Stats;
use quiver::mining::{MiningPair, PackRequest};
use quiver::space::{MapParams, OutlierParams};
use quiver::{CollectionConfig, Database, IvfPqParams, Metric, Record, TextRecord, VectorColumns};
use quiver_embed::BertEmbedder;
use quiver_tests::ir;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// WordNet 3.0's synsets by part of speech, in the order definitions.txt lists them.
const POS: [(&str, usize); 4] = [
    ("noun", 82_115),
    ("verb", 13_767),
    ("adjective", 18_156),
    ("adverb", 3_621),
];
const INJECTED: usize = 500;
const RUNS: usize = 3;

#[derive(Serialize)]
pub struct SpaceRun {
    pub records: usize,
    pub injected_per_kind: usize,
    /// (how injected, outlier kind, score, ROC AUC of the injected against the definitions).
    pub auc: Vec<(String, String, String, f64)>,
    pub cluster_343_s: Stats,
    pub scorer_setup_s: f64,
    /// Every record's two scores, neighbours through the default IVF-PQ index.
    pub score_all_s: f64,
    pub map_20k_s: Stats,
    pub map_all_s: f64,
    pub map_explained: [f64; 2],
    pub pack: Vec<PackRow>,
}

#[derive(Serialize)]
pub struct PackRow {
    pub batch_size: usize,
    pub pairs: usize,
    pub batches: usize,
    pub single_cluster: usize,
    pub hardness: f64,
    pub random_hardness: f64,
}

/// Area under the ROC curve: the probability that an outlier scores above a normal record
/// (ties count half), by the rank-sum (Mann–Whitney U).
pub fn auc(outliers: &[f32], normal: &[f32]) -> f64 {
    let mut all: Vec<(f32, bool)> = outliers
        .iter()
        .map(|&s| (s, true))
        .chain(normal.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0; // ranks i+1..=j, averaged
        rank_sum += mid * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (p, n) = (outliers.len() as f64, normal.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

pub fn run(
    wordnet: &Path,
    embedder: &Path,
    cranfield: &Path,
    db_path: &Path,
) -> Result<SpaceRun, Box<dyn std::error::Error>> {
    let all = quiver_vecfile::read_npy(wordnet)?;
    let total: usize = POS.iter().map(|p| p.1).sum();
    if all.rows != total {
        return Err(format!(
            "{}: {} rows, WordNet has {total}",
            wordnet.display(),
            all.rows
        )
        .into());
    }
    let model = Arc::new(BertEmbedder::load(embedder)?);
    let data = ir::cranfield(cranfield)?;
    let docs = data.docs_with_text();
    if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(db_path);
    let db = Database::create(db_path)?;

    // Cranfield as a text collection: the packing benchmark's, and the second corpus.
    let t = Instant::now();
    let cran = db.create_collection("cranfield", CollectionConfig::with_embedder(model.clone()))?;
    let texts: Vec<TextRecord> = docs
        .iter()
        .map(|(id, t)| TextRecord::new(id.clone(), t.clone()))
        .collect();
    cran.upsert(&texts)?;
    eprintln!("  cranfield embedded in {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let c = db.create_collection("wordnet", CollectionConfig::new(all.dim, Metric::Cosine))?;
    let mut ids = Vec::with_capacity(all.rows);
    let mut payloads = Vec::with_capacity(all.rows);
    for (pos, n) in POS {
        for _ in 0..n {
            ids.push(format!("wn{}", ids.len()));
            payloads.push(Some(json!({"pos": pos, "source": "wordnet"})));
        }
    }
    for start in (0..all.rows).step_by(10_000) {
        let end = (start + 10_000).min(all.rows);
        c.upsert(VectorColumns {
            ids: &ids[start..end],
            vectors: &all.data[start * all.dim..end * all.dim],
            payloads: Some(&payloads[start..end]),
        })?;
    }
    let mut rng = StdRng::seed_from_u64(11);
    let random: Vec<Record> = (0..INJECTED)
        .map(|i| {
            let v: Vec<f32> = (0..all.dim)
                .map(|_| crate::datasets::gaussian(&mut rng))
                .collect();
            Record::new(format!("random{i}"), v).with_payload(json!({"source": "random"}))
        })
        .collect();
    let step = docs.len() / INJECTED;
    let mut foreign = Vec::with_capacity(INJECTED);
    for i in 0..INJECTED {
        let id = &docs[i * step].0;
        let r = cran.get(id)?.ok_or("a Cranfield record is missing")?;
        foreign.push(
            Record::new(format!("cranfield{id}"), r.vector)
                .with_payload(json!({"source": "cranfield"})),
        );
    }
    c.create_index(IvfPqParams::default())?;
    eprintln!(
        "  wordnet stored and indexed in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut cluster_s = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        c.cluster(343, 0)?;
        cluster_s.push(t.elapsed().as_secs_f64());
    }
    // 1. "How unusual is this?": the injected vectors scored as new (not stored) against
    //    WordNet, the definitions as records (their own neighbours excluded).
    let t = Instant::now();
    let scorer = c.outlier_scorer(&OutlierParams::default())?;
    let scorer_setup_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let scores = scorer.records()?;
    let score_all_s = t.elapsed().as_secs_f64();
    eprintln!("  every record scored in {score_all_s:.1} s");
    let normal_n: Vec<f32> = scores.iter().map(|s| s.score.neighbour_distance).collect();
    let normal_c: Vec<f32> = scores.iter().map(|s| s.score.centroid_distance).collect();
    let mut auc_rows = Vec::new();
    for (kind, injected) in [("random", &random), ("cranfield", &foreign)] {
        let new: Vec<quiver::space::OutlierScore> = injected
            .iter()
            .map(|r| scorer.score(&r.vector))
            .collect::<quiver::Result<_>>()?;
        let n: Vec<f32> = new.iter().map(|s| s.neighbour_distance).collect();
        let cd: Vec<f32> = new.iter().map(|s| s.centroid_distance).collect();
        auc_rows.push((
            "new vectors".into(),
            kind.into(),
            "neighbours".into(),
            auc(&n, &normal_n),
        ));
        auc_rows.push((
            "new vectors".into(),
            kind.into(),
            "centroid".into(),
            auc(&cd, &normal_c),
        ));
    }
    drop(scorer);
    // 2. Stored: the injected records in the collection, every record scored (a group of
    //    outliers of one kind are each other's neighbours).
    for (label, share) in [
        ("stored, 500 of each", INJECTED),
        ("stored, 25 of each", 25),
    ] {
        let ids: Vec<String> = random
            .iter()
            .chain(&foreign)
            .map(|r| r.id.clone())
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        c.delete(&ids)?;
        c.upsert(&random[..share])?;
        c.upsert(&foreign[..share])?;
        let stored = c.outlier_scorer(&OutlierParams::default())?.records()?;
        for kind in ["random", "cranfield"] {
            for (name, centroid) in [("neighbours", false), ("centroid", true)] {
                let value = |s: &quiver::space::RecordOutlier| match centroid {
                    true => s.score.centroid_distance,
                    false => s.score.neighbour_distance,
                };
                let outliers: Vec<f32> = stored
                    .iter()
                    .filter(|s| s.id.starts_with(kind))
                    .map(value)
                    .collect();
                let normal: Vec<f32> = stored
                    .iter()
                    .filter(|s| s.id.starts_with("wn"))
                    .map(value)
                    .collect();
                auc_rows.push((
                    label.into(),
                    kind.into(),
                    name.into(),
                    auc(&outliers, &normal),
                ));
            }
        }
    }

    let mut map_s = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        c.map(&MapParams::default())?;
        map_s.push(t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let full = c.map(&MapParams::default().sample(None))?;
    let map_all_s = t.elapsed().as_secs_f64();

    // Packing: every judged (question, relevant abstract) pair of Cranfield.
    let mut pairs = Vec::new();
    for (q, rel) in data.qrels.iter().enumerate() {
        let mut judged: Vec<&String> = rel
            .keys()
            .filter(|id| docs.iter().any(|(d, _)| d == *id))
            .collect();
        judged.sort();
        for id in judged {
            pairs.push(MiningPair::text(data.queries[q].clone(), [id.clone()]));
        }
    }
    let mut pack = Vec::new();
    for b in [16usize, 32, 64] {
        let p = cran.pack_batches(&PackRequest::new(&pairs, b))?;
        pack.push(PackRow {
            batch_size: b,
            pairs: pairs.len(),
            batches: p.batches.len(),
            single_cluster: p.single_cluster,
            hardness: p.hardness,
            random_hardness: p.random_hardness,
        });
    }
    Ok(SpaceRun {
        records: total,
        injected_per_kind: INJECTED,
        auc: auc_rows,
        cluster_343_s: Stats::of(cluster_s),
        scorer_setup_s,
        score_all_s,
        map_20k_s: Stats::of(map_s),
        map_all_s,
        map_explained: full.explained,
        pack,
    })
}

pub fn markdown(r: &SpaceRun) -> String {
    let mut s = format!(
        "WordNet x all-MiniLM-L6-v2 ({} definitions; cosine, default IVF-PQ index for the \
         neighbours) against injected outliers: {} random directions and {} Cranfield abstracts\n\n\
         | injected as | outliers | score | ROC AUC |\n|---|---|---|---|\n",
        r.records, r.injected_per_kind, r.injected_per_kind
    );
    for (how, kind, score, auc) in &r.auc {
        s += &format!("| {how} | {kind} | {score} | {auc:.4} |\n");
    }
    s += &format!(
        "\n| step | seconds |\n|---|---|\n| cluster, k = 343 (median of {RUNS}) | {:.2} |\n\
         | outlier scorer (k-means, k = 343) | {:.2} |\n| score every record (10 neighbours) | {:.1} |\n\
         | map, 20k sample (median of {RUNS}) | {:.2} |\n| map, every record | {:.2} |\n\n\
         PCA of every record: PC1 {:.1}%, PC2 {:.1}% of the variance.\n\n",
        r.cluster_343_s.median,
        r.scorer_setup_s,
        r.score_all_s,
        r.map_20k_s.median,
        r.map_all_s,
        100.0 * r.map_explained[0],
        100.0 * r.map_explained[1],
    );
    s += "Cranfield judged pairs packed by cluster\n\n| batch | pairs | batches | single-cluster | \
          in-batch negative cosine, packed | random batches |\n|---|---|---|---|---|---|\n";
    for p in &r.pack {
        s += &format!(
            "| {} | {} | {} | {} | {:.4} | {:.4} |\n",
            p.batch_size, p.pairs, p.batches, p.single_cluster, p.hardness, p.random_hardness
        );
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn auc_counts_ties_half_and_orders() {
        assert_eq!(super::auc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        assert_eq!(super::auc(&[1.0], &[2.0]), 0.0);
        assert_eq!(super::auc(&[1.0], &[1.0]), 0.5);
        assert!((super::auc(&[2.0, 0.0], &[1.0]) - 0.5).abs() < 1e-12);
    }
}
