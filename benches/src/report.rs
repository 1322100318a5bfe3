//! Results as JSON and a markdown table with FAISS/Quiver ratios.

use crate::Args;
use crate::measure::{DatasetResult, IvfPoint};
use std::fmt::Write;

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The SIMD levels the kernels choose between at run time.
    let flags: Vec<&str> = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("flags"))?.to_owned();
            Some(
                [
                    "avx2",
                    "fma",
                    "avx512f",
                    "avx512bw",
                    "avx512_bf16",
                    "avx512_fp16",
                    "amx_tile",
                ]
                .into_iter()
                .filter(|f| line.split_whitespace().any(|x| x == *f))
                .collect(),
            )
        })
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {}", flags.join(" "))
}

pub fn write(results: &[DatasetResult], args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let date = today();
    let mut md = String::new();
    writeln!(
        md,
        "Machine: {}. Mode: {}. k = 10.\n",
        machine(),
        if args.quick { "quick" } else { "full" }
    )?;
    writeln!(
        md,
        "| dataset | ingest (vec/s, durable) | file B/vec | open ms | load ms | RSS MB | Quiver 1-query ms (p50 / p90) | FAISS 1-query ms (p50 / p90) | FAISS/Quiver latency | Quiver batch QPS | FAISS batch QPS | Quiver/FAISS QPS | agreement@10 |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for r in results {
        let (f_lat, ratio_lat, f_qps, ratio_qps) = match &r.faiss {
            Some(f) => (
                format!("{:.3} / {:.3}", f.single_ms.median, f.single_ms.p90),
                format!("{:.2}x", f.single_ms.median / r.quiver.single_ms.median),
                format!("{:.0}", f.batch_qps),
                format!("{:.2}x", r.quiver.batch_qps / f.batch_qps),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        writeln!(
            md,
            "| {} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.3} / {:.3} | {} | {} | {:.0} | {} | {} | {} |",
            r.dataset,
            r.ingest_vectors_per_s,
            r.file_bytes_per_vector,
            r.open_ms,
            r.load_ms,
            r.rss_mb_after_load,
            r.quiver.single_ms.median,
            r.quiver.single_ms.p90,
            f_lat,
            ratio_lat,
            r.quiver.batch_qps,
            f_qps,
            ratio_qps,
            r.agreement_at_10.map_or("-".into(), |a| format!("{a:.4}")),
        )?;
    }
    for r in results {
        if let Some(ivf) = &r.ivf {
            writeln!(
                md,
                "\nIVF-PQ on {}: nlist {}, m {}, built in {:.1} s; recall@10 / QPS (one query at a time, median of 3 interleaved rounds) over {} queries; default nprobe {}, refine 4.\n",
                r.dataset, ivf.nlist, ivf.m, ivf.build_s, ivf.queries, ivf.default_nprobe
            )?;
            writeln!(
                md,
                "Index memory (codes, ids, centroids, codebooks): Quiver {:.1} MB{}.\n",
                ivf.index_bytes as f64 / 1e6,
                ivf.faiss_index_bytes.map_or(String::new(), |b| format!(
                    ", FAISS IndexIVFPQ serialised {:.1} MB",
                    b as f64 / 1e6
                ))
            )?;
            if let Some(fb) = ivf.faiss_build_s {
                writeln!(
                    md,
                    "Build: Quiver {:.1} s, FAISS IndexIVFPQ+IndexRefineFlat {:.1} s (FAISS/Quiver {:.2}x).\n",
                    ivf.build_s,
                    fb,
                    fb / ivf.build_s
                )?;
                if let Some(hb) = ivf.hnsw_build_s {
                    writeln!(
                        md,
                        "hnswlib (M 16, ef_construction 200, all cores) built in {hb:.1} s.\n"
                    )?;
                }
                writeln!(
                    md,
                    "| recall@10 target | Quiver best QPS (nprobe, refine) | FAISS best QPS (nprobe, refine) | Quiver/FAISS | hnswlib best QPS (ef) | Quiver/hnswlib |"
                )?;
                writeln!(md, "|---|---|---|---|---|---|")?;
                for target in [0.90, 0.95, 0.99] {
                    let best = |pick: &dyn Fn(&IvfPoint) -> Option<(f64, f64)>| {
                        ivf.points
                            .iter()
                            .filter_map(|p| {
                                pick(p)
                                    .filter(|(r, _)| *r >= target)
                                    .map(|(_, q)| (q, p.nprobe, p.refine))
                            })
                            .max_by(|a, b| a.0.total_cmp(&b.0))
                    };
                    let q = best(&|p| Some((p.recall_at_10, p.qps)));
                    let f = best(&|p| p.faiss_recall_at_10.zip(p.faiss_qps));
                    let cell = |x: Option<(f64, usize, usize)>| {
                        x.map_or("not reached".to_owned(), |(q, n, r)| {
                            format!("{q:.0} ({n}, {r})")
                        })
                    };
                    let ratio = match (q, f) {
                        (Some(q), Some(f)) => format!("{:.2}x", q.0 / f.0),
                        _ => "-".into(),
                    };
                    let h = ivf
                        .hnsw_points
                        .iter()
                        .filter(|p| p.recall_at_10 >= target)
                        .max_by(|a, b| a.qps.total_cmp(&b.qps));
                    let (h_cell, h_ratio) = match (h, q) {
                        (Some(h), Some(q)) => (
                            format!("{:.0} ({})", h.qps, h.ef),
                            format!("{:.2}x", q.0 / h.qps),
                        ),
                        (Some(h), None) => (format!("{:.0} ({})", h.qps, h.ef), "-".into()),
                        (None, _) => ("not reached".into(), "-".into()),
                    };
                    writeln!(
                        md,
                        "| {target:.2} | {} | {} | {ratio} | {h_cell} | {h_ratio} |",
                        cell(q),
                        cell(f)
                    )?;
                }
                writeln!(md)?;
            }
            if !ivf.batch_points.is_empty() {
                writeln!(
                    md,
                    "All cores (the {} queries as one batch, refine 2), QPS:\n",
                    ivf.queries
                )?;
                writeln!(md, "| nprobe | Quiver | FAISS | Quiver/FAISS |")?;
                writeln!(md, "|---|---|---|---|")?;
                for b in &ivf.batch_points {
                    let (f, r) = b.faiss_qps.map_or(("-".into(), "-".into()), |f| {
                        (format!("{f:.0}"), format!("{:.2}x", b.qps / f))
                    });
                    writeln!(md, "| {} | {:.0} | {f} | {r} |", b.nprobe, b.qps)?;
                }
                writeln!(md)?;
            }
            let refines = [1usize, 2, 4, 8];
            writeln!(
                md,
                "| nprobe | {} |",
                refines.map(|f| format!("refine {f}")).join(" | ")
            )?;
            writeln!(md, "|---|{}", "---|".repeat(refines.len()))?;
            let mut probes: Vec<usize> = ivf.points.iter().map(|p| p.nprobe).collect();
            probes.sort_unstable();
            probes.dedup();
            for np in probes {
                let cells: Vec<String> = refines
                    .iter()
                    .map(|&f| {
                        ivf.points
                            .iter()
                            .find(|p| p.nprobe == np && p.refine == f)
                            .map_or("-".into(), |p| match (p.faiss_recall_at_10, p.faiss_qps) {
                                (Some(fr), Some(fq)) => format!(
                                    "{:.3} / {:.0} (faiss {:.3} / {:.0})",
                                    p.recall_at_10, p.qps, fr, fq
                                ),
                                _ => format!("{:.3} / {:.0}", p.recall_at_10, p.qps),
                            })
                    })
                    .collect();
                writeln!(md, "| {np} | {} |", cells.join(" | "))?;
            }
        }
    }
    println!("{md}");
    std::fs::create_dir_all(&args.out)?;
    let json = serde_json::json!({"date": date, "machine": machine(), "quick": args.quick, "results": results});
    std::fs::write(
        args.out.join(format!("{date}.json")),
        serde_json::to_string_pretty(&json)?,
    )?;
    std::fs::write(args.out.join(format!("{date}.md")), md)?;
    eprintln!("wrote {}/{date}.json and .md", args.out.display());
    Ok(())
}

/// Prints a scenario's table and writes it with its JSON as `OUT/<date>-SCENARIO.{md,json}`.
pub fn write_scenario(
    out: &std::path::Path,
    scenario: &str,
    table: &str,
    json: serde_json::Value,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("{table}");
    std::fs::create_dir_all(out)?;
    let stem = out.join(format!("{}-{scenario}", today()));
    std::fs::write(stem.with_extension("md"), table)?;
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    Ok(())
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
pub fn today() -> String {
    {
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400) as i64;
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!("{y:04}-{m:02}-{d:02}")
    }
}
