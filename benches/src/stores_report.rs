//! The `--stores` scenario as a markdown table: one row per engine, ratios peer / Quiver.

use crate::stores::{EngineRun, Point, StoresResult};
use std::fmt::Write;

const TARGETS: [f64; 3] = [0.90, 0.95, 0.99];

/// The fastest setting (flat search included) whose recall@10 reaches `target`.
fn best(run: &EngineRun, target: f64) -> Option<&Point> {
    run.ann
        .iter()
        .chain(run.flat.as_ref())
        .filter(|p| p.recall_at_10 >= target)
        .max_by(|a, b| a.qps.median.total_cmp(&b.qps.median))
}

/// `value (peer/Quiver ratio)`, or the bare value on Quiver's own row.
fn with_ratio(value: f64, quiver: Option<f64>, is_quiver: bool, digits: usize) -> String {
    match quiver {
        Some(q) if !is_quiver && q > 0.0 => {
            let ratio = value / q;
            // Two significant digits also for ratios far below 1.
            let places = if ratio >= 0.1 {
                2
            } else {
                ((1.0 - ratio.log10().floor()) as usize).min(6)
            };
            format!("{value:.digits$} ({ratio:.places$}x)")
        }
        _ => format!("{value:.digits$}"),
    }
}

pub fn markdown(results: &[StoresResult], machine: &str) -> Result<String, std::fmt::Error> {
    let mut md = String::new();
    writeln!(
        md,
        "Machine: {machine}. k = 10, one query at a time (as an application asks; Quiver's flat scan splits a query over the cores, the peers use their own threading); QPS medians of the rounds; (x) = peer / Quiver.\n"
    )?;
    for r in results {
        writeln!(
            md,
            "### {} ({} x {}, {}; {} queries, {} rounds; IVF-PQ nlist {}, m {})\n",
            r.dataset, r.rows, r.dim, r.metric, r.queries, r.rounds, r.nlist, r.m
        )?;
        writeln!(
            md,
            "| engine | durable ingest vec/s | file B/vec | cold open ms | cold open + 1st query ms (min-max) | RSS after queries MB | flat QPS (recall) | QPS @ recall 0.90 | @ 0.95 | @ 0.99 | filtered 10%: QPS (recall) | index build s |"
        )?;
        writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
        let quiver = r.engines.iter().find(|e| e.engine == "quiver");
        for e in &r.engines {
            let is_q = e.engine == "quiver";
            let flat = e.flat.as_ref().map_or("-".into(), |f| {
                format!(
                    "{} ({:.3})",
                    with_ratio(
                        f.qps.median,
                        quiver.and_then(|q| q.flat.as_ref()).map(|f| f.qps.median),
                        is_q,
                        0
                    ),
                    f.recall_at_10
                )
            });
            let filtered = e.filtered.as_ref().map_or("-".into(), |f| {
                format!(
                    "{} ({:.3})",
                    with_ratio(
                        f.qps.median,
                        quiver
                            .and_then(|q| q.filtered.as_ref())
                            .map(|f| f.qps.median),
                        is_q,
                        0
                    ),
                    f.recall_at_10
                )
            });
            let at: Vec<String> = TARGETS
                .iter()
                .map(|&t| match best(e, t) {
                    Some(p) => format!(
                        "{} {}",
                        with_ratio(
                            p.qps.median,
                            quiver.and_then(|q| best(q, t)).map(|p| p.qps.median),
                            is_q,
                            0
                        ),
                        p.param
                    ),
                    None => "not reached".into(),
                })
                .collect();
            writeln!(
                md,
                "| {} | {} | {} | {:.2} | {} ({:.1}-{:.1}) | {} | {} | {} | {} | {} | {} | {} |",
                e.version,
                with_ratio(
                    e.ingest_vectors_per_s,
                    quiver.map(|q| q.ingest_vectors_per_s),
                    is_q,
                    0
                ),
                with_ratio(
                    e.file_bytes_per_vector,
                    quiver.map(|q| q.file_bytes_per_vector),
                    is_q,
                    0
                ),
                e.cold_open_ms.median,
                with_ratio(
                    e.cold_open_first_query_ms.median,
                    quiver.map(|q| q.cold_open_first_query_ms.median),
                    is_q,
                    1
                ),
                e.cold_open_first_query_ms.min,
                e.cold_open_first_query_ms.max,
                with_ratio(
                    e.cold_rss_mb.median,
                    quiver.map(|q| q.cold_rss_mb.median),
                    is_q,
                    0
                ),
                flat,
                at[0],
                at[1],
                at[2],
                filtered,
                e.index_build_s
                    .map_or("in ingest".into(), |b| format!("{b:.1}")),
            )?;
        }
        writeln!(
            md,
            "\nWhat \"durable\" means per engine, and the knob each sweep turns:\n"
        )?;
        for e in &r.engines {
            writeln!(
                md,
                "- {}: {}; knob: {}; ingest batch rate median {:.0} (min {:.0}, max {:.0}) vec/s{}.",
                e.engine,
                e.durability,
                e.knob.as_deref().unwrap_or("none (flat only)"),
                e.ingest_batch_rate.median,
                e.ingest_batch_rate.min,
                e.ingest_batch_rate.max,
                e.compacted_bytes_per_vector
                    .map_or(String::new(), |b| format!(
                        "; file after compact {b:.0} B/vec"
                    ))
            )?;
        }
        writeln!(md)?;
    }
    Ok(md)
}
