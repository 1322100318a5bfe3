//! `quiver`: a command-line shell for Quiver databases, for people and scripts.
//!
//! Errors print one line (`quiver: error: ...`) and exit with status 1; usage errors exit 2.

mod commands;
mod plot;
mod readers;

use clap::{Parser, Subcommand};
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
    /// Seconds to wait for a database file another process holds (an exclusive handle,
    /// another process's write transaction, or, for compact, any open handle) before
    /// failing with "locked"; 0 fails at once.
    #[arg(long, global = true, default_value_t = 5.0, value_name = "SECONDS")]
    busy_timeout: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a collection (and the database file if needed).
    Create(commands::CreateArgs),
    /// Import records from JSONL ({"id","vector","payload"} per line, {"id","text","payload"}
    /// for collections with a model, {"id","vectors":[[..],..],"payload"} for multi-vector ones), .npy (2-D float32/64, C or Fortran order) or .fvecs.
    Import(commands::ImportArgs),
    /// Search for the nearest records (--vector, --text, ...), by keywords (--keywords), or
    /// both fused (hybrid).
    Search(Box<commands::SearchArgs>),
    /// Declare a typed index on a payload field (fast filters), or drop it.
    PayloadIndex(commands::PayloadIndexArgs),
    /// Count records (all, or those matching --filter).
    Count(commands::CountArgs),
    /// Build (or rebuild) a collection's IVF-PQ index; parameters default from its size.
    Index(commands::IndexArgs),
    /// Print records by id, or those matching --filter (oldest first).
    Get(commands::GetArgs),
    /// Delete records by id, or every record matching --filter.
    Delete(commands::DeleteArgs),
    /// Show the collections, their counts and the file size.
    Info(commands::InfoArgs),
    /// Delete a collection and all its records.
    Drop(commands::DropArgs),
    /// Check that every collection's stored tables and in-memory index agree.
    Check(commands::CheckArgs),
    /// Shrink the file: move live pages to the front and cut off the free space that deletes
    /// and overwrites left (waits --busy-timeout for other processes to close the database).
    Compact(commands::CompactArgs),
    /// Copy a database written by a Quiver of file format 1 (before per-value checksums; opening
    /// it gives UpgradeRequired) into a new file in the current format. OLD is only read.
    Upgrade(commands::UpgradeArgs),
    /// Embed texts with a model: FILE has JSONL lines with "text" or plain text, one per
    /// line ('-' reads stdin). Writes one {"vector":[...]} line per input, in input order
    /// (or, with --npy, a float32 matrix with one row per input).
    Embed(commands::EmbedArgs),
    /// Score texts against a query with a cross-encoder: FILE has JSONL lines with "text" or
    /// plain text ('-' reads stdin). Writes one {"index","text","score"} line per input, in
    /// input order.
    Rerank(commands::RerankArgs),
    /// Show, pin (--pin DIR) or unpin (--unpin) a collection's default re-ranker.
    Reranker(commands::RerankerArgs),
    /// Declare a collection's full-text (BM25) index over its stored text or string payload
    /// fields, indexing what it holds; or drop it (--drop).
    TextIndex(commands::TextIndexArgs),
    /// Print the terms a text becomes under a collection's full-text analyzer.
    Analyze(commands::AnalyzeArgs),
    /// Mine hard negatives for (query, positive) training pairs: JSONL in, rows for
    /// sentence-transformers or FlagEmbedding out (docs/mining.md).
    Mine(Box<commands::MineArgs>),
    /// Pack (query, positive) pairs into training batches whose positives share a k-means
    /// cluster (hard in-batch negatives), in batch order with a "batch" column.
    Pack(commands::PackArgs),
    /// k-means clusters of a collection's records: JSONL, or labels written into payloads.
    Cluster(commands::ClusterArgs),
    /// The most unusual records (far from their neighbours or every centroid), or the scores
    /// of one vector or text that is not stored.
    Outliers(commands::OutliersArgs),
    /// A 2-D picture (PNG/SVG) or coordinates (JSON) of the embedding space, by PCA.
    Map(commands::MapArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match std::time::Duration::try_from_secs_f64(cli.busy_timeout) {
        Ok(timeout) => commands::set_busy_timeout(timeout),
        Err(_) => {
            eprintln!(
                "quiver: error: --busy-timeout {} is not a number of seconds >= 0",
                cli.busy_timeout
            );
            return ExitCode::from(2);
        }
    }
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
