//! Embedding texts with a model, outside any database.

use super::*;

/// The arguments of `quiver embed`.
#[derive(clap::Args)]
pub struct EmbedArgs {
    pub file: PathBuf,
    /// Write the vectors to this .npy file instead of JSON lines on stdout.
    #[arg(long)]
    pub npy: Option<PathBuf>,
    /// The model folder (see `create --model`).
    #[arg(long)]
    pub model: PathBuf,
    /// Embed as queries (with the query prefix) instead of documents.
    #[arg(long)]
    pub query: bool,
    #[arg(long, default_value = "")]
    pub query_prefix: String,
    #[arg(long, default_value = "")]
    pub document_prefix: String,
}

pub(super) fn run(args: EmbedArgs) -> DynResult<()> {
    let EmbedArgs {
        file,
        npy,
        model,
        query,
        query_prefix,
        document_prefix,
    } = args;
    let embedder = load_model(&model, query_prefix, document_prefix)?;
    embed(&file, &embedder, query, npy.as_deref())
}

/// `quiver embed`: texts in, one JSON vector line out per text, streamed in chunks (or one
/// .npy matrix, with a progress bar).
pub(super) fn embed(
    file: &Path,
    embedder: &BertEmbedder,
    as_queries: bool,
    npy: Option<&Path>,
) -> DynResult<()> {
    let input: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let dim = embedder.identity().dim;
    let mut matrix = quiver_vecfile::Matrix {
        rows: 0,
        dim,
        data: Vec::new(),
    };
    let bar = match npy {
        // A file is counted first, so the bar has a length and an ETA.
        Some(_) if file != Path::new("-") => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            Some(progress(
                text.lines().filter(|l| !l.trim().is_empty()).count() as u64,
                "texts",
            ))
        }
        Some(_) => Some(progress(0, "texts")),
        None => None,
    };
    let mut write_chunk = |chunk: &mut Vec<String>| -> DynResult<()> {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let vectors = if as_queries {
            embedder.embed_queries(&refs)?
        } else {
            embedder.embed_documents(&refs)?
        };
        for v in vectors {
            if npy.is_some() {
                matrix.data.extend_from_slice(&v);
                matrix.rows += 1;
            } else {
                writeln!(out, "{}", json!({ "vector": v }))?;
            }
        }
        out.flush()?;
        if let Some(bar) = &bar {
            bar.inc(chunk.len() as u64);
        }
        chunk.clear();
        Ok(())
    };
    let mut chunk: Vec<String> = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
        let Some(text) = super::rerank::text_of_line(&line)
            .map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?
        else {
            continue;
        };
        chunk.push(text);
        if chunk.len() == 256 {
            write_chunk(&mut chunk)?;
        }
    }
    if !chunk.is_empty() {
        write_chunk(&mut chunk)?;
    }
    if let Some(path) = npy {
        quiver_vecfile::write_npy(path, &matrix)?;
        eprintln!(
            "wrote {} x {dim} vectors to {}",
            matrix.rows,
            path.display()
        );
    }
    Ok(())
}

pub(super) fn load_model(
    dir: &Path,
    query_prefix: String,
    document_prefix: String,
) -> DynResult<BertEmbedder> {
    let options = BertOptions {
        query_prefix,
        document_prefix,
        ..BertOptions::default()
    };
    Ok(BertEmbedder::load_with(dir, &options)?)
}
