//! Full-text search: one BM25 index per collection, over the records' stored text or over
//! string payload fields, kept in redb tables written in the same transaction as the
//! records (postings blocks, row lengths, statistics), and keyword queries over it.
//! docs/full-text.md describes the analyzer, the scoring and the query syntax.
//!
//! - `spec.rs`: [`TextIndexParams`] and how they are pinned in the collection's settings.
//! - `source.rs`: the text of a row an index reads, and its terms.
//! - `maintain.rs`: the index kept in step with upserts and deletes; `check`.
//! - `build.rs`: declaring the index on a populated collection, dropping it.
//! - `search.rs`: keyword queries (`+term`, `-term`) → BM25 top-k.

mod build;
mod maintain;
mod search;
mod source;
mod spec;

pub(crate) use maintain::{TextPut, check, index_deletes, index_puts};
pub use quiver_index::text::{Stemming, StopWords};
pub(crate) use search::search;
pub(crate) use spec::declared as declared_params;
pub use spec::{TextIndexInfo, TextIndexParams};
