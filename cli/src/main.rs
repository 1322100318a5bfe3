//! `quiver`: a command-line shell for Quiver databases, for people and scripts.
//!
//! Errors print one line (`quiver: error: ...`) and exit with status 1; usage errors exit 2.

mod commands;
mod readers;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

// Model inference allocates and frees large tensors; glibc's malloc hands them back to the OS
// every time. mimalloc keeps them: 35% faster embedding (see quiver_embed::BertOptions).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "quiver",
    version,
    about = "Quiver: an embedded single-file vector database"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a collection (and the database file if needed).
    Create {
        db: PathBuf,
        collection: String,
        /// Vector dimension (taken from the model with --model).
        #[arg(long, required_unless_present = "model")]
        dim: Option<usize>,
        /// A sentence-transformers / HuggingFace BERT model folder: the collection embeds its
        /// own text with it (scripts/fetch_model.sh fetches all-MiniLM-L6-v2).
        #[arg(long)]
        model: Option<PathBuf>,
        /// With --model: prepended to every query text (e.g. "query: " for e5 models).
        #[arg(long, default_value = "", requires = "model")]
        query_prefix: String,
        /// With --model: prepended to every document text (e.g. "passage: " for e5).
        #[arg(long, default_value = "", requires = "model")]
        document_prefix: String,
        /// cosine, dot or l2.
        #[arg(long, default_value = "cosine")]
        metric: String,
        /// Stored element type: f32, f16 or bf16.
        #[arg(long, default_value = "f32")]
        dtype: String,
        /// A multi-vector collection: records are matrices of --dim-wide token vectors,
        /// searched by MaxSim (metric cosine or dot). With --model it embeds text into token
        /// matrices (the model's normalised token outputs, or ColBERT's with --colbert).
        /// See docs/multi-vector.md.
        #[arg(long)]
        multi_vector: bool,
        /// With --multi-vector --model: the folder is a ColBERT checkpoint (BERT trunk +
        /// linear head, query/document markers, [MASK]-expanded queries).
        #[arg(long, requires_all = ["model", "multi_vector"])]
        colbert: bool,
        /// With --colbert: a safetensors file holding the head (`linear.weight`), when the
        /// checkpoint folder has none.
        #[arg(long, requires = "colbert")]
        projection: Option<PathBuf>,
        /// With --colbert: whether queries attend to their [MASK] expansion tokens (default:
        /// the checkpoint's setting, else true).
        #[arg(long, requires = "colbert")]
        attend_expansion: Option<bool>,
    },
    /// Import records from JSONL ({"id","vector","payload"} per line, {"id","text","payload"}
    /// for collections with a model, {"id","vectors":[[..],..],"payload"} for multi-vector ones), .npy (2-D float32/64, C or Fortran order) or .fvecs.
    Import {
        db: PathBuf,
        collection: String,
        file: PathBuf,
        /// File format; guessed from the extension when omitted.
        #[arg(long)]
        format: Option<String>,
        /// For .npy/.fvecs: a text file with one id per line (default: the row number).
        #[arg(long)]
        ids: Option<PathBuf>,
        /// Records per transaction, each committed durably (default 1000; 128 for texts,
        /// which are embedded batch by batch).
        #[arg(long)]
        batch: Option<usize>,
    },
    /// Search for the nearest records.
    Search {
        db: PathBuf,
        collection: String,
        /// A query vector as a JSON array.
        #[arg(long, group = "query")]
        vector: Option<String>,
        /// Queries from a file (JSONL arrays or objects with "vector", .npy, .fvecs).
        #[arg(long, group = "query")]
        queries: Option<PathBuf>,
        /// Use the stored vector of this record as the query (repeatable).
        #[arg(long, group = "query")]
        like: Vec<String>,
        /// A query text, embedded with the collection's model (repeatable).
        #[arg(long, group = "query")]
        text: Vec<String>,
        /// Multi-vector collections: query matrices from a file, one per line, as
        /// [[..],..] or {"vectors":[[..],..]}.
        #[arg(long, group = "query")]
        vectors: Option<PathBuf>,
        /// Multi-vector collections with a token index: records re-ranked with exact MaxSim
        /// (default max(64 x k, 1024, records / 24)).
        #[arg(long)]
        candidates: Option<usize>,
        /// Number of results per query.
        #[arg(short, long, default_value_t = 10)]
        k: usize,
        /// One JSON line per query: {"query":i,"hits":[{"id","score","payload"}]}.
        #[arg(long)]
        json: bool,
        /// IVF lists to probe (collections with an index; default nlist / 16, at least 8).
        #[arg(long)]
        nprobe: Option<usize>,
        /// Candidates re-ranked exactly, as a multiple of k (default 4).
        #[arg(long)]
        refine: Option<usize>,
        /// Scan every vector even if the collection has an index.
        #[arg(long)]
        exact: bool,
        /// Only records whose payload matches this JSON filter, e.g.
        /// '{"year":{"$gte":2010},"tag":{"$in":["a","b"]}}' (see docs/filters.md).
        #[arg(long)]
        filter: Option<String>,
    },
    /// Declare a typed index on a payload field (fast filters), or drop it.
    PayloadIndex {
        db: PathBuf,
        collection: String,
        /// Dotted field path, e.g. user.id.
        field: String,
        /// keyword, integer, float or bool.
        #[arg(long, required_unless_present = "drop")]
        kind: Option<String>,
        #[arg(long)]
        drop: bool,
    },
    /// Count records (all, or those matching --filter).
    Count {
        db: PathBuf,
        collection: String,
        #[arg(long)]
        filter: Option<String>,
    },
    /// Build (or rebuild) a collection's IVF-PQ index; parameters default from its size.
    Index {
        db: PathBuf,
        collection: String,
        /// Inverted lists (default 4 x sqrt(n)).
        #[arg(long)]
        nlist: Option<usize>,
        /// PQ sub-quantizers; must divide the dimension (default about dim / 2 or dim / 4).
        #[arg(long)]
        m: Option<usize>,
        /// Training seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Multi-vector collections: token centroids (default 2 x sqrt(tokens), a power of 2).
        #[arg(long)]
        centroids: Option<usize>,
        /// Remove the index instead (searches become exact).
        #[arg(long)]
        drop: bool,
    },
    /// Print records by id, or those matching --filter (oldest first).
    Get {
        db: PathBuf,
        collection: String,
        #[arg(required_unless_present = "filter")]
        ids: Vec<String>,
        /// Print the vectors too.
        #[arg(long)]
        vectors: bool,
        #[arg(long, conflicts_with = "ids")]
        filter: Option<String>,
        /// With --filter: print at most this many records.
        #[arg(long, default_value_t = 100, requires = "filter")]
        limit: usize,
    },
    /// Delete records by id, or every record matching --filter.
    Delete {
        db: PathBuf,
        collection: String,
        #[arg(required_unless_present = "filter")]
        ids: Vec<String>,
        #[arg(long, conflicts_with = "ids")]
        filter: Option<String>,
    },
    /// Show the collections, their counts and the file size.
    Info {
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Delete a collection and all its records.
    Drop { db: PathBuf, collection: String },
    /// Check that every collection's stored tables and in-memory index agree.
    Check { db: PathBuf },
    /// Shrink the file: move live pages to the front and cut off the free space that deletes
    /// and overwrites left (no other process may have the database open).
    Compact { db: PathBuf },
    /// Copy a database written by a Quiver of file format 1 (before per-value checksums; opening
    /// it gives UpgradeRequired) into a new file in the current format. OLD is only read.
    Upgrade { old: PathBuf, new: PathBuf },
    /// Embed texts with a model: FILE has JSONL lines with "text" or plain text, one per
    /// line ('-' reads stdin). Writes one {"vector":[...]} line per input, in input order
    /// (or, with --npy, a float32 matrix with one row per input).
    Embed {
        file: PathBuf,
        /// Write the vectors to this .npy file instead of JSON lines on stdout.
        #[arg(long)]
        npy: Option<PathBuf>,
        /// The model folder (see `create --model`).
        #[arg(long)]
        model: PathBuf,
        /// Embed as queries (with the query prefix) instead of documents.
        #[arg(long)]
        query: bool,
        #[arg(long, default_value = "")]
        query_prefix: String,
        #[arg(long, default_value = "")]
        document_prefix: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Text collections load their pinned model folders again on first use.
    quiver_embed::register();
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quiver: error: {e}");
            ExitCode::FAILURE
        }
    }
}
