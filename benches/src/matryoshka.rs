//! Matryoshka funnel benchmark (`SearchOptions::dims`): recall@10 against the full exact search
//! and single-query latency at d = dim/2 and dim/4, flat and through IVF-PQ, with a sweep of
//! `refine` (the prefix candidates re-ranked, as a multiple of k). Datasets: WordNet
//! definitions x all-MiniLM-L6-v2 (not Matryoshka-trained) with held-out definitions as
//! queries and, with a model, usage examples embedded as queries (short sentences against
//! definitions: queries unlike the documents); and a synthetic set built to be prefix-heavy.
//! Writes `results/<date>-matryoshka.{json,md}`.

use crate::datasets;
use crate::measure::Stats;
use quiver::{CollectionConfig, Database, IvfPqParams, Metric, Record, SearchOptions};
use quiver_vecfile::Matrix;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

const K: usize = 10;
const REFINES: [usize; 4] = [4, 10, 20, 40];

#[derive(Serialize)]
pub struct SetResult {
    pub dataset: String,
    pub queries_kind: String,
    pub rows: usize,
    pub dim: usize,
    pub queries: usize,
    pub exact_ms: Stats,
    pub exact_batch_qps: f64,
    pub ivf_build_s: f64,
    pub points: Vec<Point>,
}

#[derive(Serialize)]
pub struct Point {
    /// "flat" or "ivf-pq" (default nprobe).
    pub path: String,
    /// Components of the first pass (= dim: no funnel).
    pub dims: usize,
    /// `refine` (None: the path's default).
    pub refine: Option<usize>,
    pub recall_at_10: f64,
    pub ms: Stats,
    pub speedup_vs_exact: f64,
    /// All queries as one `search_batch` call (flat only): queries per second.
    pub batch_qps: Option<f64>,
}

/// A labelled set of base vectors and one or more query sets over it.
pub struct Set {
    pub name: String,
    pub base: Matrix,
    pub queries: Vec<(String, Matrix)>,
}

/// SYNTHETIC, prefix-heavy by construction: 100k x 256 (20k in --quick), cosine; component
/// j of every vector is Gaussian with standard deviation 0.5^(j / 32) around one of 1000
/// cluster centres drawn the same way, so the first 64 components hold 94% of the variance
/// (the shape Matryoshka training aims for). Queries are drawn the same way.
pub fn prefix_heavy(quick: bool, nq: usize) -> Set {
    let (n, dim) = if quick { (20_000, 256) } else { (100_000, 256) };
    let mut rng = StdRng::seed_from_u64(1729);
    let scale: Vec<f32> = (0..dim).map(|j| 0.5f32.powf(j as f32 / 32.0)).collect();
    let centres: Vec<f32> = (0..1000 * dim)
        .map(|t| datasets::gaussian(&mut rng) * scale[t % dim])
        .collect();
    let mut make = |rows: usize| {
        let mut data = Vec::with_capacity(rows * dim);
        for _ in 0..rows {
            let c = rng.random_range(0..1000);
            for j in 0..dim {
                data.push(centres[c * dim + j] + 0.5 * datasets::gaussian(&mut rng) * scale[j]);
            }
        }
        Matrix { rows, dim, data }
    };
    let base = make(n);
    let queries = make(nq);
    Set {
        name: format!("synthetic-prefix-heavy-{}kx{dim}", n / 1000),
        base,
        queries: vec![("drawn like the documents".into(), queries)],
    }
}

/// WordNet x MiniLM with the last `nq` rows held out as document-like queries, plus
/// `examples` (already embedded) as question-like ones.
pub fn wordnet(mut all: Matrix, nq: usize, examples: Option<Matrix>, quick: bool) -> Set {
    if quick {
        all.rows = all.rows.min(20_000 + nq);
        all.data.truncate(all.rows * all.dim);
    }
    let dim = all.dim;
    let split = all.rows - nq;
    let held = Matrix {
        rows: nq,
        dim,
        data: all.data[split * dim..].to_vec(),
    };
    all.data.truncate(split * dim);
    all.rows = split;
    let mut queries = vec![("held-out definitions".into(), held)];
    if let Some(e) = examples {
        queries.push(("usage examples (short sentences)".into(), e));
    }
    Set {
        name: format!("wordnet-minilm-{}kx{dim}", split / 1000),
        base: all,
        queries,
    }
}

/// Embeds the first `n` lines of `file` as queries with the model folder `model`.
pub fn embed_queries(
    model: &Path,
    file: &Path,
    n: usize,
) -> Result<Matrix, Box<dyn std::error::Error>> {
    use quiver::Embedder;
    let embedder = quiver_embed::BertEmbedder::load(model)?;
    let texts: Vec<String> = std::fs::read_to_string(file)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .map(str::to_owned)
        .collect();
    let mut data = Vec::new();
    for t in &texts {
        data.extend(embedder.embed_query(t)?);
    }
    let dim = data.len() / texts.len().max(1);
    Ok(Matrix {
        rows: texts.len(),
        dim,
        data,
    })
}

/// Each query's result ids, best first.
type Ranked = Vec<Vec<String>>;

fn timed(
    c: &quiver::Collection,
    queries: &Matrix,
    options: &SearchOptions<'_>,
) -> Result<(Ranked, Stats), Box<dyn std::error::Error>> {
    // One warm-up pass so the first query does not pay for page faults.
    for q in queries.data.chunks_exact(queries.dim).take(20) {
        c.search(q, options.clone())?;
    }
    let mut ids = Vec::with_capacity(queries.rows);
    let mut ms = Vec::with_capacity(queries.rows);
    for q in queries.data.chunks_exact(queries.dim) {
        let t = Instant::now();
        let hits = c.search(q, options.clone())?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        ids.push(hits.into_iter().map(|h| h.id).collect());
    }
    Ok((ids, Stats::of(ms)))
}

/// Queries per second of one `search_batch` call over every query (median of 3 runs).
fn batch_qps(
    c: &quiver::Collection,
    queries: &Matrix,
    options: &SearchOptions<'_>,
) -> Result<f64, Box<dyn std::error::Error>> {
    let rows: Vec<&[f32]> = queries.data.chunks_exact(queries.dim).collect();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        c.search_batch(rows.iter().copied(), options.clone())?;
        runs.push(queries.rows as f64 / t.elapsed().as_secs_f64());
    }
    Ok(Stats::of(runs).median)
}

fn recall(got: &[Vec<String>], truth: &[Vec<String>]) -> f64 {
    let hits: usize = got
        .iter()
        .zip(truth)
        .map(|(g, t)| {
            let t: HashSet<&String> = t.iter().collect();
            g.iter().filter(|id| t.contains(id)).count()
        })
        .sum();
    hits as f64 / truth.iter().map(Vec::len).sum::<usize>().max(1) as f64
}

pub fn run(set: &Set, dir: &Path) -> Result<Vec<SetResult>, Box<dyn std::error::Error>> {
    let dim = set.base.dim;
    let db = Database::create(dir.join(format!("{}.qvr", set.name)))?;
    let c = db.create_collection("c", CollectionConfig::new(dim, Metric::Cosine))?;
    for (b, rows) in set.base.data.chunks(10_000 * dim).enumerate() {
        let recs: Vec<Record> = rows
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| Record::new(format!("{}", b * 10_000 + i), v.to_vec()))
            .collect();
        c.upsert(&recs)?;
    }
    let mut flat_runs = Vec::new();
    for (kind, queries) in &set.queries {
        eprintln!("   {kind}: flat");
        let exact = SearchOptions::new(K).exact(true);
        let (truth, exact_ms) = timed(&c, queries, &exact)?;
        let exact_batch_qps = batch_qps(&c, queries, &exact)?;
        let mut points = Vec::new();
        for dims in [dim / 2, dim / 4] {
            for refine in REFINES {
                let options = SearchOptions::new(K).dims(dims).refine(refine);
                let (ids, ms) = timed(&c, queries, &options)?;
                points.push(Point {
                    path: "flat".into(),
                    dims,
                    refine: Some(refine),
                    recall_at_10: recall(&ids, &truth),
                    speedup_vs_exact: exact_ms.median / ms.median,
                    ms,
                    batch_qps: Some(batch_qps(&c, queries, &options)?),
                });
            }
        }
        flat_runs.push((kind, queries, truth, exact_ms, exact_batch_qps, points));
    }
    eprintln!("   IVF-PQ build");
    let t = Instant::now();
    c.create_index(IvfPqParams::default())?;
    let ivf_build_s = t.elapsed().as_secs_f64();
    let mut results = Vec::new();
    for (kind, queries, truth, exact_ms, exact_batch_qps, mut points) in flat_runs {
        eprintln!("   {kind}: IVF-PQ");
        for dims in [dim, dim / 2, dim / 4] {
            for refine in [None, Some(20)] {
                let mut options = SearchOptions::new(K).dims(dims);
                options.refine = refine;
                let (ids, ms) = timed(&c, queries, &options)?;
                points.push(Point {
                    path: "ivf-pq".into(),
                    dims,
                    refine,
                    recall_at_10: recall(&ids, &truth),
                    speedup_vs_exact: exact_ms.median / ms.median,
                    ms,
                    batch_qps: None,
                });
            }
        }
        results.push(SetResult {
            dataset: set.name.clone(),
            queries_kind: kind.clone(),
            rows: set.base.rows,
            dim,
            queries: queries.rows,
            exact_ms,
            exact_batch_qps,
            ivf_build_s,
            points,
        });
    }
    Ok(results)
}

pub fn markdown(results: &[SetResult]) -> String {
    let mut md = String::from(
        "| dataset | queries | path | dims | refine | recall@10 | median ms | p90 ms | vs exact | batch QPS |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        md.push_str(&format!(
            "| {} | {} | exact (flat) | {} | - | 1.000 | {:.3} | {:.3} | 1.00x | {:.0} |\n",
            r.dataset, r.queries_kind, r.dim, r.exact_ms.median, r.exact_ms.p90, r.exact_batch_qps
        ));
        for p in &r.points {
            let refine = p
                .refine
                .map_or_else(|| "default".to_owned(), |n| n.to_string());
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.2}x | {} |\n",
                r.dataset,
                r.queries_kind,
                p.path,
                p.dims,
                refine,
                p.recall_at_10,
                p.ms.median,
                p.ms.p90,
                p.speedup_vs_exact,
                p.batch_qps
                    .map_or_else(|| "-".to_owned(), |q| format!("{q:.0}"))
            ));
        }
    }
    md
}
