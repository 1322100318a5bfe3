//! What each subcommand does: one module per group of subcommands, one function per
//! subcommand.

use crate::Command;

mod create;
mod embed;
mod file;
mod import;
mod index;
mod records;
mod rerank;
mod search;
mod text;

pub use create::CreateArgs;
pub use embed::EmbedArgs;
pub use file::{CheckArgs, CompactArgs, DropArgs, InfoArgs, UpgradeArgs};
pub use import::ImportArgs;
pub use index::{IndexArgs, PayloadIndexArgs};
pub use records::{CountArgs, DeleteArgs, GetArgs};
pub use rerank::{RerankArgs, RerankerArgs};
pub use search::SearchArgs;
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
    }
}
