//! Filtered search: recall@10 of filtered IVF-PQ search (default parameters) against the
//! filtered exact answer, and latency, at selectivities 100% (no filter), 50%, 10%, 1%, 0.1%.
//!
//! Every record gets `{"bucket": b}` with `b` a hash of its position modulo 1000 (unrelated to
//! the vector); the filter `bucket < 1000 s` keeps a share `s`. `bucket` carries an integer
//! payload index; the 10% case is also run without it (filters evaluated on payloads).

use crate::datasets::Dataset;
use crate::measure::Stats;
use quiver::filter::Filter;
use quiver::{CollectionConfig, Database, IvfPqParams, PayloadIndexKind, Record, SearchRequest};
use serde::Serialize;
use std::time::Instant;

const K: usize = 10;

#[derive(Serialize)]
pub struct FilterRow {
    pub selectivity: f64,
    pub payload_index: bool,
    pub matching: u64,
    /// Time to compute the matching set (the first `count_where`), ms; searches then find
    /// it in the collection's per-commit cache.
    pub plan_ms: f64,
    pub ivf_recall_at_10: f64,
    pub ivf_ms: Stats,
    pub exact_ms: Stats,
}

#[derive(Serialize)]
pub struct FilterResult {
    pub dataset: String,
    pub rows: usize,
    pub nlist: usize,
    pub m: usize,
    pub runs: Vec<FilterRow>,
}

/// A fixed pseudo-random bucket in 0..1000 (Fibonacci hashing of the position).
pub fn bucket(i: usize) -> u64 {
    ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 1000
}

pub fn run(d: &Dataset, nq: usize) -> Result<FilterResult, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = Database::create(dir.path().join("filters.qvr"))?;
    let c = db.create_collection("f", CollectionConfig::new(d.base.dim, d.metric))?;
    c.create_payload_index("bucket", PayloadIndexKind::Integer)?;
    let n = d.base.rows;
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        batch.push(
            Record::new(i.to_string(), d.base.row(i).to_vec())
                .with_payload(serde_json::json!({ "bucket": bucket(i) })),
        );
        if batch.len() == 1000 || i + 1 == n {
            c.upsert(&batch)?;
            batch.clear();
        }
    }
    let info = c
        .create_index(IvfPqParams::default())?
        .as_ivf_pq()
        .cloned()
        .ok_or("the build returned another index")?;
    c.load()?;
    eprintln!(
        "  filters: {n} records with payloads, IVF-PQ nlist {} m {}",
        info.nlist, info.m
    );
    let nq = nq.min(d.queries.rows);
    let queries: Vec<&[f32]> = (0..nq).map(|i| d.queries.row(i)).collect();
    let mut runs = Vec::new();
    let cases = [
        (1.0, true),
        (0.5, true),
        (0.1, true),
        (0.01, true),
        (0.001, true),
        (0.1, false),
    ];
    for (share, indexed) in cases {
        if !indexed {
            c.drop_payload_index("bucket")?;
        }
        // Without the index, the same set spelled differently (so no cached set is reused).
        let limit = (1000.0 * share) as i64;
        let filter = if indexed {
            Filter::field("bucket").lt(limit)
        } else {
            Filter::field("bucket").lte(limit - 1)
        };
        let use_filter = share < 1.0;
        let filter_used = use_filter.then_some(&filter);
        let request = |q| request(q, filter_used);
        // The first evaluation computes the matching set; the collection then keeps it for
        // this commit (the searches below reuse it, as an application repeating a filter
        // between writes would).
        let t = Instant::now();
        let matching = c.count_where(&filter)?;
        let plan_ms = t.elapsed().as_secs_f64() * 1e3;
        let (mut exact_ms, mut ivf_ms) = (Vec::new(), Vec::new());
        let mut found = 0;
        for q in &queries {
            let t = Instant::now();
            let truth = c.search_with(&request(q).exact(true))?;
            exact_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let hits = c.search_with(&request(q))?;
            ivf_ms.push(t.elapsed().as_secs_f64() * 1e3);
            found += hits
                .iter()
                .filter(|h| truth.iter().any(|t| t.id == h.id))
                .count();
            let expected = K.min(matching as usize);
            if hits.len() != expected {
                return Err(
                    format!("filtered search returned {} of {expected}", hits.len()).into(),
                );
            }
        }
        let denominator = (nq * K.min(matching as usize)).max(1);
        let row = FilterRow {
            selectivity: share,
            payload_index: indexed,
            matching,
            plan_ms,
            ivf_recall_at_10: found as f64 / denominator as f64,
            ivf_ms: Stats::of(ivf_ms),
            exact_ms: Stats::of(exact_ms),
        };
        eprintln!(
            "  selectivity {:>6.1}% ({}index): {} match, plan {:.2} ms, ivf recall {:.3} {:.3} ms, exact {:.3} ms",
            share * 100.0,
            if indexed { "" } else { "no " },
            row.matching,
            row.plan_ms,
            row.ivf_recall_at_10,
            row.ivf_ms.median,
            row.exact_ms.median
        );
        runs.push(row);
    }
    Ok(FilterResult {
        dataset: d.name.clone(),
        rows: n,
        nlist: info.nlist,
        m: info.m,
        runs,
    })
}

fn request<'a>(q: &'a [f32], filter: Option<&'a Filter>) -> SearchRequest<'a> {
    let mut r = SearchRequest::new(q, K).include_payload(false);
    r.filter = filter;
    r
}

pub fn markdown(results: &[FilterResult]) -> String {
    let mut s = String::from(
        "| dataset | selectivity | payload index | matching | matching set ms (once per commit) | IVF-PQ recall@10 | IVF-PQ ms (median) | vs unfiltered | exact ms (median) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let base = r.runs.first().map_or(f64::NAN, |u| u.ivf_ms.median);
        for row in &r.runs {
            s.push_str(&format!(
                "| {} | {}% | {} | {} | {:.2} | {:.3} | {:.3} | {:.2}x | {:.3} |\n",
                r.dataset,
                row.selectivity * 100.0,
                if row.payload_index { "integer" } else { "none" },
                row.matching,
                row.plan_ms,
                row.ivf_recall_at_10,
                row.ivf_ms.median,
                row.ivf_ms.median / base,
                row.exact_ms.median
            ));
        }
    }
    s
}
