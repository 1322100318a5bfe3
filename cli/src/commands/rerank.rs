//! Scoring texts against a query with a cross-encoder, outside any database.

use super::*;
use quiver::CrossEncoder;
use quiver_embed::BertCrossEncoder;

/// The arguments of `quiver rerank`.
#[derive(clap::Args)]
pub struct RerankArgs {
    /// Texts: JSONL lines with "text", or plain text, one per line ('-' reads stdin).
    pub file: PathBuf,
    /// The cross-encoder folder (HuggingFace BertForSequenceClassification /
    /// sentence-transformers CrossEncoder layout).
    #[arg(long)]
    pub model: PathBuf,
    /// The query every text is scored against.
    #[arg(long)]
    pub query: String,
}

pub(super) fn run(args: RerankArgs) -> DynResult<()> {
    let RerankArgs { file, model, query } = args;
    let model = BertCrossEncoder::load(&model)?;
    let input: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut texts: Vec<String> = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
        if let Some(text) =
            text_of_line(&line).map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?
        {
            texts.push(text);
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let start = Instant::now();
    for (c, chunk) in texts.chunks(256).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let scores = model.score(&query, &refs)?;
        for (i, (text, score)) in chunk.iter().zip(scores).enumerate() {
            writeln!(
                out,
                "{}",
                json!({"index": c * 256 + i, "text": text, "score": score})
            )?;
        }
    }
    out.flush()?;
    eprintln!(
        "{} texts scored in {:.1} ms by {}",
        texts.len(),
        start.elapsed().as_secs_f64() * 1e3,
        model.identity().fingerprint()
    );
    Ok(())
}

/// The arguments of `quiver reranker`.
#[derive(clap::Args)]
pub struct RerankerArgs {
    pub db: PathBuf,
    pub collection: String,
    /// Pin this cross-encoder folder as the collection's default re-ranker
    /// (`search --rerank-pinned`; stored in the file, loaded again from the folder).
    #[arg(long, group = "action")]
    pub pin: Option<PathBuf>,
    /// Remove the pinned default re-ranker.
    #[arg(long, group = "action")]
    pub unpin: bool,
}

pub(super) fn reranker(args: RerankerArgs) -> DynResult<()> {
    let RerankerArgs {
        db,
        collection,
        pin,
        unpin,
    } = args;
    let model = pin.map(BertCrossEncoder::load).transpose()?;
    let db = if model.is_some() || unpin {
        open_writer(&db)?
    } else {
        open_reader(&db)?
    };
    let c = db.collection(&collection)?;
    if let Some(model) = model {
        let fingerprint = model.identity().fingerprint();
        c.pin_reranker(Arc::new(model))?;
        eprintln!("pinned {fingerprint} as the default re-ranker of '{collection}'");
    } else if unpin {
        if c.unpin_reranker()? {
            eprintln!("unpinned the default re-ranker of '{collection}'");
        } else {
            eprintln!("'{collection}' has no pinned re-ranker");
        }
    } else {
        match c.reranker_identity()? {
            Some(r) => println!("{}", r.fingerprint()),
            None => eprintln!("'{collection}' has no pinned re-ranker"),
        }
    }
    Ok(())
}

/// The text of one input line: a JSON object's "text", else the line; `None` for a blank
/// line.
pub(super) fn text_of_line(line: &str) -> Result<Option<String>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    if !line.trim_start().starts_with('{') {
        return Ok(Some(line.to_owned()));
    }
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    v.get("text")
        .and_then(|t| t.as_str())
        .map(|t| Some(t.to_owned()))
        .ok_or_else(|| "no \"text\" string".to_owned())
}
