//! Hard-negative mining: Quiver's `Collection::mine_hard_negatives` against
//! sentence-transformers' `util.mine_hard_negatives` on Cranfield with all-MiniLM-L6-v2 in the
//! same run (TopK-PercPos 95%, 5 negatives, exact search), from texts and on embeddings
//! already made; and the share of mined negatives the qrels mark relevant (false negatives)
//! for naive top-k, TopK-MarginPos and TopK-PercPos. Writes `results/<date>-mining.{json,md}`.

use crate::measure::Stats;
use quiver::mining::{MiningPair, MiningRequest, PairQuery};
use quiver::{Collection, CollectionConfig, Database, Embedder, TextRecord};
use quiver_embed::BertEmbedder;
use quiver_tests::ir;
use serde::Serialize;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

#[derive(Serialize)]
pub struct MiningRun {
    pub pairs: usize,
    pub corpus: usize,
    /// Seconds for the whole job from texts: Quiver creates the collection, embeds and
    /// stores the abstracts, then mines (text queries embedded); sentence-transformers embeds
    /// corpus and queries, then mines.
    pub quiver_from_texts_s: Stats,
    pub st_from_texts_s: Option<Stats>,
    /// Seconds to mine with the embeddings made: Quiver on its collection with text queries
    /// (embedded in the call) and with the query vectors given; sentence-transformers with
    /// both embeddings in its cache folder.
    pub quiver_mine_texts_s: Stats,
    pub quiver_mine_vectors_s: Stats,
    pub st_cached_s: Option<Stats>,
    pub st_threads: Option<u64>,
    /// (filter, negatives mined, share the qrels mark relevant), 10 negatives per pair.
    pub false_negatives: Vec<(String, usize, f64)>,
}

const RUNS: usize = 3;

pub fn run(
    embedder: &Path,
    cranfield: &Path,
    python: Option<&Path>,
) -> Result<MiningRun, Box<dyn std::error::Error>> {
    let data = ir::cranfield(cranfield)?;
    let docs = data.docs_with_text();
    let model = Arc::new(BertEmbedder::load(embedder)?);
    // Each judged question with its most relevant abstract (lowest code, then lowest id).
    let mut pairs = Vec::new();
    let mut judged = Vec::new();
    for (q, rel) in data.qrels.iter().enumerate() {
        let mut best: Vec<(&String, &f64)> = rel
            .iter()
            .filter(|(id, _)| docs.iter().any(|(d, _)| d == *id))
            .collect();
        best.sort_by(|a, b| {
            b.1.total_cmp(a.1).then(
                a.0.parse::<u32>()
                    .unwrap_or(0)
                    .cmp(&b.0.parse::<u32>().unwrap_or(0)),
            )
        });
        if let Some((id, _)) = best.first() {
            pairs.push(MiningPair::text(data.queries[q].clone(), [(*id).clone()]));
            judged.push(q);
        }
    }
    fn perc(p: &[MiningPair]) -> MiningRequest<'_> {
        MiningRequest::new(p).num_negatives(5).relative_margin(0.05)
    }
    let build = |dir: &Path| -> Result<Collection, Box<dyn std::error::Error>> {
        let db = Database::create(dir.join("cran.qvr"))?;
        let c = db.create_collection("cran", CollectionConfig::with_embedder(model.clone()))?;
        let records: Vec<TextRecord> = docs
            .iter()
            .map(|(id, t)| TextRecord::new(id.clone(), t.clone()))
            .collect();
        c.upsert(&records)?;
        Ok(c)
    };

    let mut from_texts = Vec::new();
    let mut kept = None;
    for _ in 0..RUNS {
        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        let c = build(dir.path())?;
        c.mine_hard_negatives(&perc(&pairs))?;
        from_texts.push(t.elapsed().as_secs_f64());
        kept = Some((dir, c));
    }
    let (_dir, c) = kept.ok_or("no run")?;
    eprintln!(
        "  mining from texts: Quiver {:.2} s",
        Stats::of(from_texts.clone()).median
    );
    let timed = |p: &[MiningPair]| -> Result<Stats, Box<dyn std::error::Error>> {
        let mut s = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            c.mine_hard_negatives(&perc(p))?;
            s.push(t.elapsed().as_secs_f64());
        }
        Ok(Stats::of(s))
    };
    let mine_texts = timed(&pairs)?;
    let texts: Vec<&str> = pairs
        .iter()
        .filter_map(|p| match &p.query {
            PairQuery::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let vectors = model.embed_queries(&texts)?;
    let vector_pairs: Vec<MiningPair> = vectors
        .into_iter()
        .zip(&pairs)
        .map(|(v, p)| MiningPair::vector(v, p.positives.clone()))
        .collect();
    let mine_vectors = timed(&vector_pairs)?;
    eprintln!(
        "  mining on embeddings: Quiver {:.3} s (text queries), {:.3} s (vectors)",
        mine_texts.median, mine_vectors.median
    );

    let mut false_negatives = Vec::new();
    let ten = || MiningRequest::new(&pairs).num_negatives(10);
    for (name, req) in [
        ("naive top-k", ten()),
        ("TopK-MarginPos (0.05)", ten().absolute_margin(0.05)),
        ("TopK-PercPos (95%)", ten().relative_margin(0.05)),
    ] {
        let report = c.mine_hard_negatives(&req)?;
        let (mut n, mut relevant) = (0usize, 0usize);
        for (mined, &q) in report.pairs.iter().zip(&judged) {
            n += mined.negatives.len();
            relevant += mined
                .negatives
                .iter()
                .filter(|s| data.qrels[q].contains_key(&s.id))
                .count();
        }
        false_negatives.push((name.to_owned(), n, relevant as f64 / n.max(1) as f64));
    }

    let (st_from_texts_s, st_cached_s, st_threads) = match python {
        Some(python) => st(python, embedder, &docs, &pairs)?,
        None => (None, None, None),
    };
    Ok(MiningRun {
        pairs: pairs.len(),
        corpus: docs.len(),
        quiver_from_texts_s: Stats::of(from_texts),
        st_from_texts_s,
        quiver_mine_texts_s: mine_texts,
        quiver_mine_vectors_s: mine_vectors,
        st_cached_s,
        st_threads,
        false_negatives,
    })
}

type Peer = (Option<Stats>, Option<Stats>, Option<u64>);

fn st(
    python: &Path,
    model: &Path,
    docs: &[(String, String)],
    pairs: &[MiningPair],
) -> Result<Peer, Box<dyn std::error::Error>> {
    let text_of = |id: &str| {
        docs.iter()
            .find(|(d, _)| d == id)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let job = serde_json::json!({
        "corpus": docs.iter().map(|(_, t)| t).collect::<Vec<_>>(),
        "queries": pairs.iter().map(|p| match &p.query {
            PairQuery::Text(t) => t.clone(),
            _ => String::new(),
        }).collect::<Vec<_>>(),
        "positives": pairs.iter().map(|p| text_of(&p.positives[0])).collect::<Vec<_>>(),
        "params": {"num_negatives": 5, "relative_margin": 0.05},
    });
    let tmp = tempfile::NamedTempFile::new()?;
    std::fs::write(tmp.path(), job.to_string())?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/st_mine.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(model)
        .arg(tmp.path())
        .arg(RUNS.to_string())
        .output()?;
    if !out.status.success() {
        eprintln!(
            "sentence-transformers failed (skipped): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return Ok((None, None, None));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let stats = |key: &str| {
        v[key]
            .as_array()
            .map(|xs| Stats::of(xs.iter().filter_map(serde_json::Value::as_f64).collect()))
    };
    let (a, b) = (stats("from_texts_s"), stats("cached_s"));
    if let (Some(a), Some(b)) = (&a, &b) {
        eprintln!(
            "  sentence-transformers: {:.2} s from texts, {:.3} s cached",
            a.median, b.median
        );
    }
    Ok((a, b, v["threads"].as_u64()))
}

pub fn markdown(r: &MiningRun) -> String {
    let ratio = |ours: &Stats, theirs: &Option<Stats>| {
        theirs
            .as_ref()
            .map_or("–".into(), |t| format!("{:.2}×", t.median / ours.median))
    };
    let st = |s: &Option<Stats>| {
        s.as_ref()
            .map_or("–".into(), |s| format!("{:.3}", s.median))
    };
    let mut s = format!(
        "Cranfield: {} (question, most relevant abstract) pairs over {} abstracts, all-MiniLM-L6-v2, \
         exact search, TopK-PercPos 95%, 5 negatives; seconds, median of {RUNS} (sentence-transformers \
         on {} threads).\n\n\
         | job | Quiver s | sentence-transformers s | Quiver faster by |\n|---|---|---|---|\n",
        r.pairs,
        r.corpus,
        r.st_threads.map_or("?".into(), |t| t.to_string())
    );
    s.push_str(&format!(
        "| from texts (embed corpus and queries, mine) | {:.2} | {} | {} |\n",
        r.quiver_from_texts_s.median,
        st(&r.st_from_texts_s),
        ratio(&r.quiver_from_texts_s, &r.st_from_texts_s)
    ));
    s.push_str(&format!(
        "| on embeddings made (Quiver: text queries embedded in the call) | {:.3} | {} (cached) | {} |\n",
        r.quiver_mine_texts_s.median,
        st(&r.st_cached_s),
        ratio(&r.quiver_mine_texts_s, &r.st_cached_s)
    ));
    s.push_str(&format!(
        "| on embeddings made (Quiver: query vectors given) | {:.3} | {} (cached) | {} |\n",
        r.quiver_mine_vectors_s.median,
        st(&r.st_cached_s),
        ratio(&r.quiver_mine_vectors_s, &r.st_cached_s)
    ));
    s.push_str(
        "\nFalse negatives (mined negatives the qrels judge relevant), 10 negatives per pair:\n\n\
         | filter | negatives mined | false negatives |\n|---|---|---|\n",
    );
    for (name, n, share) in &r.false_negatives {
        s.push_str(&format!("| {name} | {n} | {:.1}% |\n", share * 100.0));
    }
    s
}
