//! Full-text: declaring the index (`text-index`) and showing what texts become (`analyze`).

use super::*;
use quiver::{TextIndexInfo, TextIndexParams};

/// The arguments of `quiver text-index`.
#[derive(clap::Args)]
pub struct TextIndexArgs {
    pub db: PathBuf,
    pub collection: String,
    /// A string (or string-array) payload field to index (repeatable; dotted paths). Without
    /// --field, the records' stored text (collections with a model).
    #[arg(long = "field")]
    pub fields: Vec<String>,
    /// Stemming: english (Snowball) or none.
    #[arg(long, default_value = "english")]
    pub stem: String,
    /// Stop words: english (Lucene's 33) or none.
    #[arg(long, default_value = "english")]
    pub stopwords: String,
    /// BM25 k1 (term-frequency saturation).
    #[arg(long, default_value_t = 1.2)]
    pub k1: f64,
    /// BM25 b (length normalisation, 0..1).
    #[arg(long, default_value_t = 0.75)]
    pub b: f64,
    /// Remove the collection's full-text index instead.
    #[arg(long)]
    pub drop: bool,
}

pub(super) fn text_index(args: TextIndexArgs) -> DynResult<()> {
    let TextIndexArgs {
        db,
        collection,
        fields,
        stem,
        stopwords,
        k1,
        b,
        drop,
    } = args;
    let stemming = TextIndexParams::parse_stemming(&stem)
        .ok_or_else(|| format!("--stem {stem}: use english or none"))?;
    let stop_words = TextIndexParams::parse_stop_words(&stopwords)
        .ok_or_else(|| format!("--stopwords {stopwords}: use english or none"))?;
    let db = open_writer(&db)?;
    let c = db.collection(&collection)?;
    if drop {
        if c.drop_text_index()? {
            eprintln!("dropped the full-text index of '{collection}'");
        } else {
            eprintln!("'{collection}' has no full-text index");
        }
        return Ok(());
    }
    let params = if fields.is_empty() {
        TextIndexParams::text()
    } else {
        TextIndexParams::fields(fields)
    }
    .stemming(stemming)
    .stop_words(stop_words)
    .k1(k1)
    .b(b);
    let bar = progress(c.count()?, "analysed");
    let t = Instant::now();
    let info = c.create_text_index_with_progress(&params, |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    eprintln!(
        "indexed {} records in {:.2} s: {}",
        info.rows,
        t.elapsed().as_secs_f64(),
        describe_text_index(&info)
    );
    Ok(())
}

/// One line about a full-text index, for `info` and `text-index`.
pub(super) fn describe_text_index(info: &TextIndexInfo) -> String {
    let p = &info.params;
    let source = if p.fields.is_empty() {
        "text".to_owned()
    } else {
        p.fields.join(",")
    };
    format!(
        "full-text on {source} (stem {}, stop words {}, k1 {}, b {}; {} rows, mean length {:.1}, {} blocks, {} bytes)",
        p.stemming_name(),
        p.stop_words_name(),
        p.k1,
        p.b,
        info.rows,
        info.avg_len,
        info.blocks,
        info.bytes
    )
}

/// The arguments of `quiver analyze`.
#[derive(clap::Args)]
pub struct AnalyzeArgs {
    pub db: PathBuf,
    pub collection: String,
    /// The text to analyse; '-' reads texts from stdin, one per line, and prints one JSON
    /// array of terms per line.
    pub text: String,
}

pub(super) fn analyze(args: AnalyzeArgs) -> DynResult<()> {
    let AnalyzeArgs {
        db,
        collection,
        text,
    } = args;
    let db = open_reader(&db)?;
    let c = db.collection(&collection)?;
    let mut out = std::io::stdout().lock();
    if text == "-" {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let terms = if line.trim().is_empty() {
                Vec::new()
            } else {
                c.analyze(&line)?
            };
            writeln!(out, "{}", json!(terms))?;
        }
    } else {
        writeln!(out, "{}", c.analyze(&text)?.join(" "))?;
    }
    Ok(())
}
