//! Re-ranking: Quiver's `BertCrossEncoder` against sentence-transformers' `CrossEncoder.predict`
//! on the same (Cranfield question, abstract) pairs and model in the same run, and a Cranfield
//! pipeline (dense and hybrid first stages, each + cross-encoder re-rank) with each stage's
//! latency. Writes `results/<date>-rerank.{json,md}`.
//!
//! No trained cross-encoder is reachable here: the model is the MiniLM trunk with the
//! fixture's random classifier head (tests/fixtures/cross_encoder_reference). Its speed is a
//! real cross-encoder's of that shape; its re-ranked nDCG measures nothing but the plumbing.

use crate::measure::Stats;
use quiver::{
    CollectionConfig, CrossEncoder, Database, Hybrid, Query, Rerank, Rescore, SearchOptions, Stage,
    TextIndexParams, TextRecord,
};
use quiver_embed::{
    BertCrossEncoder, BertEmbedder, ColbertEmbedder, ColbertOptions, CrossEncoderOptions,
};
use quiver_tests::ir;
use serde::Serialize;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

#[derive(Serialize)]
pub struct RerankRun {
    pub model: String,
    pub pairs: usize,
    pub mean_tokens: f64,
    /// Pairs per second: (batch, Quiver); sentence-transformers at its default batch of 32.
    pub quiver: Vec<(usize, Stats)>,
    pub sentence_transformers: Option<Stats>,
    pub pipeline: Vec<PipelineRow>,
    pub pipeline_queries: usize,
    pub rerank_top: usize,
}

#[derive(Serialize)]
pub struct PipelineRow {
    pub first_stage: String,
    pub ndcg10: f64,
    pub ndcg10_reranked: f64,
    /// Per query, milliseconds.
    pub first_stage_ms: Stats,
    pub rerank_ms: Stats,
    /// With a MaxSim re-scoring stage between them (dense only).
    pub rescored: Option<RescoreRow>,
}

#[derive(Serialize)]
pub struct RescoreRow {
    pub ndcg10_rescored: f64,
    pub ndcg10_rescored_reranked: f64,
    pub rescore_ms: Stats,
}

const RUNS: usize = 3;
/// Throughput pairs: 10 questions × 20 abstracts.
const QUERIES: usize = 10;
const DOCS_PER_QUERY: usize = 20;
/// The pipeline: the first 50 judged questions, top 30 re-ranked.
const PIPELINE_QUERIES: usize = 50;
const TOP: usize = 30;

pub fn run(
    model: &Path,
    embedder: &Path,
    cranfield: &Path,
    python: Option<&Path>,
) -> Result<RerankRun, Box<dyn std::error::Error>> {
    let data = ir::cranfield(cranfield)?;
    let docs: Vec<&(String, String)> = data.docs.iter().filter(|(_, t)| !t.is_empty()).collect();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for q in 0..QUERIES {
        for j in 0..DOCS_PER_QUERY {
            let doc = docs[(q * 97 + j * 13) % docs.len()];
            pairs.push((data.queries[q].as_str(), doc.1.as_str()));
        }
    }
    let probe = BertCrossEncoder::load(model)?;
    let tokens: usize = pairs
        .iter()
        .map(|(q, d)| probe.pair_tokens(q, d).map(|(ids, _)| ids.len()))
        .sum::<quiver::Result<usize>>()?;
    let name = probe.identity().fingerprint();
    drop(probe);
    let mut quiver_rates = Vec::new();
    for batch in [16usize, 32] {
        let m = BertCrossEncoder::load_with(
            model,
            &CrossEncoderOptions {
                batch_size: Some(batch),
                ..CrossEncoderOptions::default()
            },
        )?;
        m.predict(&pairs[..32])?; // warm-up
        let mut rates = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            m.predict(&pairs)?;
            rates.push(pairs.len() as f64 / t.elapsed().as_secs_f64());
        }
        eprintln!(
            "  rerank batch {batch}: Quiver {:.1} pairs/s",
            Stats::of(rates.clone()).median
        );
        quiver_rates.push((batch, Stats::of(rates)));
    }
    let sentence_transformers = match python {
        Some(python) => st_throughput(python, model, &pairs)?,
        None => None,
    };
    let (pipeline, pipeline_queries) = pipeline(model, embedder, &data)?;
    Ok(RerankRun {
        model: name,
        pairs: pairs.len(),
        mean_tokens: tokens as f64 / pairs.len() as f64,
        quiver: quiver_rates,
        sentence_transformers,
        pipeline,
        pipeline_queries,
        rerank_top: TOP,
    })
}

fn st_throughput(
    python: &Path,
    model: &Path,
    pairs: &[(&str, &str)],
) -> Result<Option<Stats>, Box<dyn std::error::Error>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/st_rerank.py");
    let tmp = tempfile::NamedTempFile::new()?;
    let lines: Vec<String> = pairs
        .iter()
        .map(|(q, d)| serde_json::json!({"query": q, "document": d}).to_string())
        .collect();
    std::fs::write(tmp.path(), lines.join("\n") + "\n")?;
    let out = Command::new(python)
        .arg(&script)
        .arg("throughput")
        .arg(model)
        .arg(tmp.path())
        .arg(pairs.len().to_string())
        .output()?;
    if !out.status.success() {
        eprintln!(
            "sentence-transformers failed (skipped): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let median = v["median"].as_f64().unwrap_or(f64::NAN);
    eprintln!("  rerank batch 32: sentence-transformers {median:.1} pairs/s");
    Ok(Some(Stats {
        median,
        p90: median,
        min: v["min"].as_f64().unwrap_or(f64::NAN),
        max: v["max"].as_f64().unwrap_or(f64::NAN),
    }))
}

/// nDCG@10 of dense and hybrid first stages, with and without re-ranking their top 30, over
/// the first judged questions; per-query latency of each stage.
fn pipeline(
    model: &Path,
    embedder: &Path,
    data: &ir::TestCollection,
) -> Result<(Vec<PipelineRow>, usize), Box<dyn std::error::Error>> {
    let reranker: Arc<dyn CrossEncoder> = Arc::new(BertCrossEncoder::load(model)?);
    let dir = tempfile::tempdir()?;
    let db = Database::create(dir.path().join("cran.qvr"))?;
    let c = db.create_collection(
        "cran",
        CollectionConfig::with_embedder(Arc::new(BertEmbedder::load(embedder)?)),
    )?;
    let records: Vec<TextRecord> = data
        .docs
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(id, t)| TextRecord::new(id.clone(), t.clone()))
        .collect();
    eprintln!("  embedding {} Cranfield abstracts", records.len());
    c.upsert(&records)?;
    c.create_text_index(&TextIndexParams::text())?;
    // The same abstracts as ColBERT token matrices (the MiniLM trunk with the ColBERT
    // fixture's seeded, untrained head), for the MaxSim re-scoring stage.
    let projection = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/colbert_reference/projection.safetensors");
    let colbert = ColbertEmbedder::load_with(
        embedder,
        &ColbertOptions {
            projection: Some(projection),
            ..ColbertOptions::default()
        },
    )?;
    let tokens = db.create_collection(
        "cran_tokens",
        CollectionConfig::multi_vector_with_embedder(Arc::new(colbert)),
    )?;
    eprintln!("  ColBERT-encoding the abstracts");
    tokens.upsert_texts(&records)?;
    let judged: Vec<usize> = (0..data.queries.len())
        .filter(|&q| !data.qrels[q].is_empty())
        .take(PIPELINE_QUERIES)
        .collect();
    let qrels: Vec<_> = judged.iter().map(|&q| data.qrels[q].clone()).collect();
    let mut rows = Vec::new();
    for first in ["dense", "hybrid"] {
        let (mut plain, mut reranked) = (Vec::new(), Vec::new());
        let (mut first_ms, mut rerank_ms) = (Vec::new(), Vec::new());
        for &q in &judged {
            let text = data.queries[q].as_str();
            let query = match first {
                "dense" => Query::Text(text),
                _ => Query::Hybrid(Hybrid::text(text)),
            };
            let t = Instant::now();
            let hits = c.search(query, SearchOptions::new(10).include_payload(false))?;
            first_ms.push(t.elapsed().as_secs_f64() * 1e3);
            plain.push(hits.into_iter().map(|h| h.id).collect::<Vec<_>>());
            let t = Instant::now();
            let hits = c.search(
                query,
                SearchOptions::new(10)
                    .include_payload(false)
                    .rerank(Rerank::with(reranker.clone()).top(TOP)),
            )?;
            let total = t.elapsed().as_secs_f64() * 1e3;
            rerank_ms.push(total - first_ms.last().copied().unwrap_or(0.0));
            debug_assert!(
                hits.iter()
                    .all(|h| h.stages.last().map(|s| s.stage) == Some(Stage::Rerank))
            );
            reranked.push(hits.into_iter().map(|h| h.id).collect::<Vec<_>>());
        }
        let (ndcg10, _, _) = ir::evaluate(&plain, &qrels);
        let (ndcg10_reranked, _, _) = ir::evaluate(&reranked, &qrels);
        let rescored = if first == "dense" {
            let (mut r1, mut r2, mut ms) = (Vec::new(), Vec::new(), Vec::new());
            for (n, &q) in judged.iter().enumerate() {
                let text = data.queries[q].as_str();
                let t = Instant::now();
                let hits = c.search(
                    text,
                    SearchOptions::new(10)
                        .include_payload(false)
                        .rescore(Rescore::new(&tokens).top(TOP)),
                )?;
                ms.push(t.elapsed().as_secs_f64() * 1e3 - first_ms[n]);
                r1.push(hits.into_iter().map(|h| h.id).collect::<Vec<_>>());
                let hits = c.search(
                    text,
                    SearchOptions::new(10)
                        .include_payload(false)
                        .rescore(Rescore::new(&tokens).top(TOP))
                        .rerank(Rerank::with(reranker.clone()).top(TOP)),
                )?;
                r2.push(hits.into_iter().map(|h| h.id).collect::<Vec<_>>());
            }
            Some(RescoreRow {
                ndcg10_rescored: ir::evaluate(&r1, &qrels).0,
                ndcg10_rescored_reranked: ir::evaluate(&r2, &qrels).0,
                rescore_ms: Stats::of(ms),
            })
        } else {
            None
        };
        eprintln!("  {first}: nDCG@10 {ndcg10:.4}, re-ranked {ndcg10_reranked:.4} (random head)");
        rows.push(PipelineRow {
            first_stage: first.to_owned(),
            ndcg10,
            ndcg10_reranked,
            first_stage_ms: Stats::of(first_ms),
            rerank_ms: Stats::of(rerank_ms),
            rescored,
        });
    }
    Ok((rows, judged.len()))
}

pub fn markdown(r: &RerankRun) -> String {
    let mut s = format!(
        "Model: {} (untrained head: speed only). {} pairs (Cranfield question × abstract), mean {:.0} tokens.\n\n\
         | engine | batch | pairs/s median (min–max) | vs sentence-transformers |\n|---|---|---|---|\n",
        r.model, r.pairs, r.mean_tokens
    );
    for (batch, st) in &r.quiver {
        s.push_str(&format!(
            "| Quiver | {batch} | {:.1} ({:.1}–{:.1}) | {} |\n",
            st.median,
            st.min,
            st.max,
            r.sentence_transformers
                .as_ref()
                .map_or("–".into(), |p| format!("{:.2}×", st.median / p.median))
        ));
    }
    if let Some(p) = &r.sentence_transformers {
        s.push_str(&format!(
            "| sentence-transformers | 32 | {:.1} ({:.1}–{:.1}) | 1× |\n",
            p.median, p.min, p.max
        ));
    }
    s.push_str(&format!(
        "\nPipeline on the first {} judged Cranfield questions, top {} re-ranked (the random head gives no quality: this proves the plumbing):\n\n\
         | first stage | nDCG@10 | + re-rank nDCG@10 | first stage ms/query (median) | re-rank ms/query (median) |\n|---|---|---|---|---|\n",
        r.pipeline_queries, r.rerank_top
    ));
    for p in &r.pipeline {
        s.push_str(&format!(
            "| {} | {:.4} | {:.4} | {:.2} | {:.1} |\n",
            p.first_stage, p.ndcg10, p.ndcg10_reranked, p.first_stage_ms.median, p.rerank_ms.median
        ));
    }
    for p in &r.pipeline {
        if let Some(x) = &p.rescored {
            s.push_str(&format!(
                "\n{} → MaxSim re-score of the top {} (ColBERT fixture, untrained head): nDCG@10 {:.4}, \
                 then re-ranked {:.4}; re-score stage {:.1} ms/query (median).\n",
                p.first_stage, r.rerank_top, x.ndcg10_rescored, x.ndcg10_rescored_reranked, x.rescore_ms.median
            ));
        }
    }
    s
}
