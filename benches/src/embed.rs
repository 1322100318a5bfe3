//! Embedding throughput: Quiver's `BertEmbedder` and sentence-transformers (PyTorch, CPU) on
//! the same texts in the same run, at batch sizes 1, 32 and 128, all cores. Writes
//! `results/<date>-embed.{json,md}`.

use crate::measure::Stats;
use quiver::Embedder;
use quiver_embed::{BertEmbedder, BertOptions};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Serialize)]
pub struct EmbedRun {
    pub corpus: String,
    pub texts: usize,
    pub mean_tokens: f64,
    /// Sentences per second by batch size: (batch, Quiver, sentence-transformers).
    pub rows: Vec<EmbedRow>,
    pub quiver_peak_rss_mb: f64,
    pub st_peak_rss_mb: Option<f64>,
}

#[derive(Serialize)]
pub struct EmbedRow {
    pub batch: usize,
    pub texts: usize,
    pub quiver: Stats,
    pub sentence_transformers: Option<Stats>,
}

fn peak_rss_mb() -> f64 {
    crate::measure::proc_status_mb("VmHWM:")
}

/// Batch 1 is slow: it runs on the first `SINGLE` texts only.
const SINGLE: usize = 200;
const RUNS: usize = 3;

pub fn run(
    model: &Path,
    corpus: &str,
    file: &Path,
    limit: usize,
    python: Option<&Path>,
) -> Result<EmbedRun, Box<dyn std::error::Error>> {
    let texts: Vec<String> = std::fs::read_to_string(file)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(limit)
        .map(str::to_owned)
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // Reset this process's peak RSS (Linux: "5" > clear_refs) so each corpus reports its own.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let probe = BertEmbedder::load(model)?;
    let tokens: usize = refs
        .iter()
        .map(|t| probe.token_ids(t).map(|ids| ids.len()))
        .sum::<quiver::Result<usize>>()?;
    drop(probe);
    let mut rows = Vec::new();
    for batch in [1usize, 32, 128] {
        let options = BertOptions {
            batch_size: Some(batch),
            ..BertOptions::default()
        };
        let m = BertEmbedder::load_with(model, &options)?;
        let sample = if batch == 1 {
            &refs[..refs.len().min(SINGLE)]
        } else {
            &refs[..]
        };
        m.embed_documents(&sample[..sample.len().min(64)])?; // warm-up
        let mut rates = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            m.embed_documents(sample)?;
            rates.push(sample.len() as f64 / t.elapsed().as_secs_f64());
        }
        eprintln!(
            "  {corpus} batch {batch}: Quiver {:.1} texts/s",
            Stats::of(rates.clone()).median
        );
        rows.push(EmbedRow {
            batch,
            texts: sample.len(),
            quiver: Stats::of(rates),
            sentence_transformers: None,
        });
    }
    let quiver_peak_rss_mb = peak_rss_mb();
    let mut st_peak_rss_mb = None;
    if let Some(python) = python {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/st_embed.py");
        let tmp = tempfile::NamedTempFile::new()?;
        std::fs::write(tmp.path(), texts.join("\n") + "\n")?;
        let out = Command::new(python)
            .arg(&script)
            .arg("throughput")
            .arg(model)
            .arg(tmp.path())
            .arg(texts.len().to_string())
            .output()?;
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
            for row in &mut rows {
                let r = &v[format!("batch_{}", row.batch)];
                if let (Some(median), Some(min), Some(max)) =
                    (r["median"].as_f64(), r["min"].as_f64(), r["max"].as_f64())
                {
                    eprintln!(
                        "  {corpus} batch {}: sentence-transformers {median:.1} texts/s",
                        row.batch
                    );
                    row.sentence_transformers = Some(Stats {
                        median,
                        p90: median,
                        min,
                        max,
                    });
                }
            }
            st_peak_rss_mb = v["peak_rss_mb"].as_f64();
        } else {
            eprintln!(
                "sentence-transformers failed (skipped): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok(EmbedRun {
        corpus: corpus.to_owned(),
        texts: texts.len(),
        mean_tokens: tokens as f64 / texts.len().max(1) as f64,
        rows,
        quiver_peak_rss_mb,
        st_peak_rss_mb,
    })
}

pub fn markdown(runs: &[EmbedRun]) -> String {
    let mut s = String::from(
        "| corpus | texts | mean tokens | batch | Quiver texts/s (min–max) | sentence-transformers texts/s | Quiver / ST |\n|---|---|---|---|---|---|---|\n",
    );
    for r in runs {
        for row in &r.rows {
            let st = row.sentence_transformers.as_ref();
            s.push_str(&format!(
                "| {} | {} | {:.0} | {} | {:.1} ({:.1}–{:.1}) | {} | {} |\n",
                r.corpus,
                row.texts,
                r.mean_tokens,
                row.batch,
                row.quiver.median,
                row.quiver.min,
                row.quiver.max,
                st.map_or("–".into(), |x| format!("{:.1}", x.median)),
                st.map_or("–".into(), |x| format!(
                    "{:.2}×",
                    row.quiver.median / x.median
                )),
            ));
        }
    }
    s.push_str("\nPeak memory (VmHWM): ");
    for r in runs {
        s.push_str(&format!(
            "{}: Quiver {:.0} MB, sentence-transformers {} · ",
            r.corpus,
            r.quiver_peak_rss_mb,
            r.st_peak_rss_mb
                .map_or("–".into(), |m| format!("{m:.0} MB"))
        ));
    }
    s.push('\n');
    s
}

/// `name=path` pairs from the command line.
pub fn parse_corpus(s: &str) -> Result<(String, PathBuf), String> {
    s.split_once('=')
        .map(|(n, p)| (n.to_owned(), PathBuf::from(p)))
        .ok_or_else(|| format!("expected NAME=FILE, got '{s}'"))
}
