//! `quiver mine`: hard negatives for (query, positive) training pairs.

use super::*;
use quiver::mining::{MiningFormat, MiningOutput, MiningPair, MiningRequest, Sampling, Teacher};
use serde_json::Value;

/// The arguments of `quiver mine`.
#[derive(clap::Args)]
pub struct MineArgs {
    pub db: PathBuf,
    pub collection: String,
    /// Pairs: JSONL lines {"query": text or [vector], "positive": id or [ids]} ('-' reads
    /// stdin).
    pub pairs: PathBuf,
    /// Who ranks the candidates: dense (the collection's vectors / model), bm25 (its
    /// full-text index), hybrid (both, fused); repeat for an ensemble.
    #[arg(long = "teacher", default_value = "dense")]
    pub teachers: Vec<String>,
    /// TopK-PercPos: drop candidates scoring above p - |p| x R, p the weakest positive's
    /// score (NV-Retriever's best: 0.05, i.e. 95% of a positive p).
    #[arg(long)]
    pub relative_margin: Option<f32>,
    /// TopK-MarginPos: drop candidates scoring above the weakest positive's score - X.
    #[arg(long)]
    pub margin: Option<f32>,
    /// Drop candidates scoring above this.
    #[arg(long)]
    pub max_score: Option<f32>,
    /// Drop candidates scoring below this.
    #[arg(long)]
    pub min_score: Option<f32>,
    /// Skip the first R candidates left after filtering.
    #[arg(long, default_value_t = 0)]
    pub range_min: usize,
    /// Candidates considered (default: range-min + negatives + most positives of a pair;
    /// x10 negatives with a margin or --max-score).
    #[arg(long)]
    pub range_max: Option<usize>,
    /// Negatives per pair.
    #[arg(long, default_value_t = 3)]
    pub negatives: usize,
    /// top (the best candidates) or random (a seeded sample of the window).
    #[arg(long, default_value = "top")]
    pub sample: String,
    /// Seed of --sample random.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output rows: triplet, ntuple, pairs (labeled) or flag (FlagEmbedding).
    #[arg(long, default_value = "triplet")]
    pub format: String,
    /// Add the teacher's scores to each row.
    #[arg(long)]
    pub scores: bool,
    /// Write ids instead of the records' stored texts.
    #[arg(long)]
    pub ids: bool,
    /// Re-score candidates and positives with this cross-encoder folder before filtering
    /// (needs text queries and records with stored text).
    #[arg(long)]
    pub rerank: Option<PathBuf>,
    /// Dense teacher through the collection's approximate index instead of exactly.
    #[arg(long)]
    pub approximate: bool,
    /// Write the rows here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub(super) fn run(args: MineArgs) -> DynResult<()> {
    let (pairs, lines) = read_pairs(&args.pairs)?;
    let teachers = args
        .teachers
        .iter()
        .map(|t| Teacher::parse(t))
        .collect::<quiver::Result<Vec<_>>>()?;
    let sampling = match args.sample.as_str() {
        "top" => Sampling::Top,
        "random" => Sampling::Random { seed: args.seed },
        other => return Err(format!("--sample {other}: top or random").into()),
    };
    let output = MiningOutput::new(MiningFormat::parse(&args.format)?)
        .scores(args.scores)
        .ids(args.ids);
    let mut request = MiningRequest::new(&pairs)
        .teachers(teachers)
        .range_min(args.range_min)
        .num_negatives(args.negatives)
        .sampling(sampling)
        .exact(!args.approximate);
    request.range_max = args.range_max;
    request.max_score = args.max_score;
    request.min_score = args.min_score;
    request.absolute_margin = args.margin;
    request.relative_margin = args.relative_margin;
    if let Some(folder) = &args.rerank {
        request = request.rerank(Arc::new(quiver_embed::BertCrossEncoder::load(folder)?));
    }

    let db = open_reader(&args.db)?;
    let c = db.collection(&args.collection)?;
    let bar = progress(pairs.len() as u64, "pairs");
    let start = Instant::now();
    let report = c
        .mine_hard_negatives_with_progress(&request, |done, _| bar.set_position(done))
        .map_err(|e| match &e {
            Error::InvalidPair { pair, .. } => {
                format!("{}:{}: {e}", args.pairs.display(), lines[*pair])
            }
            _ => e.to_string(),
        })?;
    bar.finish_and_clear();
    let mut rows = 0;
    write_lines(args.out.as_deref(), |w| {
        rows = report.write_jsonl(&output, w)?;
        Ok(())
    })?;
    let negatives: usize = report.pairs.iter().map(|p| p.negatives.len()).sum();
    let s = report.skipped;
    eprintln!(
        "{} pairs mined in {:.2} s: {negatives} negatives, {rows} rows; range_max {}; \
         skipped {} duplicates, {} by the margin, {} by the relative margin, {} above \
         max-score, {} below min-score; {} pairs with fewer than {} negatives ({} with none)",
        pairs.len(),
        start.elapsed().as_secs_f64(),
        report.range_max,
        s.duplicates,
        s.absolute_margin,
        s.relative_margin,
        s.max_score,
        s.min_score,
        report.short,
        args.negatives,
        report.empty,
    );
    Ok(())
}

/// The pairs of a JSONL file, and the line number of each.
pub(super) fn read_pairs(path: &Path) -> DynResult<(Vec<MiningPair>, Vec<usize>)> {
    let input: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut pairs = Vec::new();
    let mut lines = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let at = |e: String| format!("{}:{}: {e}", path.display(), n + 1);
        let line = line.map_err(|e| at(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
        pairs.push(MiningPair::from_json(&v).map_err(at)?);
        lines.push(n + 1);
    }
    if pairs.is_empty() {
        return Err(format!("{}: no pairs", path.display()).into());
    }
    Ok((pairs, lines))
}
