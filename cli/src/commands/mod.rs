//! What each subcommand does: one module per group of subcommands, one function per
//! subcommand.

use crate::Command;

mod create;
mod embed;
mod file;
mod import;
mod index;
mod mine;
mod pack;
mod records;
mod rerank;
mod search;
mod space;
mod text;

pub use create::CreateArgs;
pub use embed::EmbedArgs;
pub use file::{CheckArgs, CompactArgs, DropArgs, InfoArgs, UpgradeArgs};
pub use import::ImportArgs;
pub use index::{IndexArgs, PayloadIndexArgs};
pub use mine::MineArgs;
pub use pack::PackArgs;
pub use records::{CountArgs, DeleteArgs, GetArgs};
pub use rerank::{RerankArgs, RerankerArgs};
pub use search::SearchArgs;
pub use space::{ClusterArgs, MapArgs, OutliersArgs};
pub use text::{AnalyzeArgs, TextIndexArgs};

use embed::load_model;
use import::progress;
use index::describe_index;
use text::describe_text_index;

use crate::readers::{self, DynResult, Format, JsonRecord};
use indicatif::{ProgressBar, ProgressStyle};
use quiver::{
    Collection, CollectionConfig, CollectionKind, Database, ElementType, Embedder, Error, Filter,
    Hit, IndexInfo, IndexParams, IvfPqParams, Metric, MultiIndexParams, MultiRecord,
    PayloadIndexKind, Query, Record, Records, SearchOptions, TextRecord,
};
use quiver_embed::{BertEmbedder, BertOptions, ColbertEmbedder, ColbertOptions};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// `--busy-timeout`: how long a command waits for a file another process holds.
static BUSY_TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

pub fn set_busy_timeout(timeout: std::time::Duration) {
    let _ = BUSY_TIMEOUT.set(timeout);
}

fn options() -> quiver::DatabaseOptions {
    let timeout = BUSY_TIMEOUT
        .get()
        .copied()
        .unwrap_or(quiver::DEFAULT_BUSY_TIMEOUT);
    Database::builder().busy_timeout(timeout)
}

/// Opens a database for a command that writes: shared, so readers (and other writers, one
/// write transaction at a time) go on beside it.
fn open_writer(path: &Path) -> quiver::Result<Database> {
    options().open(path)
}

/// Opens a database for a command that only reads: never locks anyone out.
fn open_reader(path: &Path) -> quiver::Result<Database> {
    options().open_read_only(path)
}

pub fn run(command: Command) -> DynResult<()> {
    match command {
        Command::Create(args) => create::run(args),
        Command::Import(args) => import::run(args),
        Command::Search(args) => search::run(*args),
        Command::Get(args) => records::get(args),
        Command::Delete(args) => records::delete(args),
        Command::Count(args) => records::count(args),
        Command::Index(args) => index::index(args),
        Command::PayloadIndex(args) => index::payload_index(args),
        Command::Info(args) => file::info(args),
        Command::Drop(args) => file::drop(args),
        Command::Check(args) => file::check(args),
        Command::Compact(args) => file::compact(args),
        Command::Upgrade(args) => file::upgrade(args),
        Command::Embed(args) => embed::run(args),
        Command::Rerank(args) => rerank::run(args),
        Command::Reranker(args) => rerank::reranker(args),
        Command::TextIndex(args) => text::text_index(args),
        Command::Analyze(args) => text::analyze(args),
        Command::Mine(args) => mine::run(*args),
        Command::Pack(args) => pack::run(args),
        Command::Cluster(args) => space::cluster(args),
        Command::Outliers(args) => space::outliers(args),
        Command::Map(args) => space::map(args),
    }
}

/// Runs `write` on a buffered `path` (stdout when None) and flushes it.
fn write_lines(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> DynResult<()>,
) -> DynResult<()> {
    match path {
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            write(&mut w)?;
            w.flush()?;
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}
