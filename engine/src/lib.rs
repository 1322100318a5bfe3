//! # Quiver
//!
//! An embedded vector database: one file, no server, ACID writes, exact and approximate
//! (IVF-PQ; for token matrices a PLAID-style index) nearest-neighbour search, exact payload
//! filters. Think SQLite, for embeddings.
//!
//! ```
//! use quiver::{Database, CollectionConfig, Metric, Record};
//! use serde_json::json;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("docs.qvr");
//! let db = Database::create(&path)?;
//! let docs = db.create_collection("docs", CollectionConfig::new(3, Metric::Cosine))?;
//! docs.upsert(&[
//!     Record::new("a", vec![1.0, 0.0, 0.0]).with_payload(json!({"title": "east"})),
//!     Record::new("b", vec![0.0, 1.0, 0.0]).with_payload(json!({"title": "north"})),
//! ])?; // durable when this returns
//!
//! let hits = docs.search(&[0.9, 0.1, 0.0], 1)?;
//! assert_eq!(hits[0].id, "a");
//! assert_eq!(hits[0].payload, Some(json!({"title": "east"})));
//! # Ok::<(), quiver::Error>(())
//! ```
//!
//! ## Model
//! - A [`Database`] is one file. Handles are cheap to clone and `Send + Sync`: many threads
//!   read while one writes. Other processes may open the same file at once — to read
//!   ([`Database::open_read_only`]) or to write, one write transaction at a time — and every
//!   call sees the last commit of any of them; one kept out past the busy timeout gets
//!   [`Error::Locked`] naming the holder (`docs/concurrency.md`).
//! - A [`Collection`] has a fixed [`CollectionKind`] (one vector a record, or a token matrix a
//!   record scored by MaxSim), dimension, [`Metric`] and [`ElementType`]; records have a
//!   string id (at most [`limits::MAX_ID_BYTES`]), their vector data and an optional
//!   JSON-object payload.
//! - One surface for every kind: [`Collection::upsert`] takes [`Records`] of any kind,
//!   [`Collection::search`] / [`Collection::search_batch`] take a [`Query`] (vector, token
//!   matrix or text) and [`SearchOptions`] (or a bare `k`), [`Collection::create_index`]
//!   takes [`IndexParams`]. Data of the wrong kind gets [`Error::WrongCollectionKind`].
//! - A collection may own an [`Embedder`] ([`CollectionConfig::with_embedder`]): it then takes
//!   and returns text ([`Records::Texts`], [`Query::Text`]) and pins the model's identity.
//!   The engine runs no model itself: the crate `quiver-embed` implements BERT-family and
//!   ColBERT encoders and registers a [`embed::ModelLoader`] that loads pinned folders
//!   again after reopening; see [`embed`]. (This crate does not re-export the models:
//!   `quiver-embed` depends on it, so applications add both.)
//! - Every write call is one transaction, durable when it returns (see [`Durability`]); a
//!   failed call changes nothing. Searches see one commit's state, never half a batch.
//!
//! ## Memory
//! Opening reads only the catalog. The first search of a collection loads its vectors into a
//! contiguous in-memory arena (their stored size plus 5 bytes a row), kept in step with
//! every later write.
//!
//! ## Inside
//! `db/` (the database, its snapshots, the write skeleton) knows collection kinds only
//! through the `Kind` trait; each kind lives in its own folder under `kinds/`; `collection/`
//! holds the kind-agnostic operations; `filter/` the filters and payload indexes.
//! ARCHITECTURE.md has the rules.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod codes;
mod collection;
mod db;
pub mod embed;
mod error;
pub mod filter;
mod fulltext;
mod kinds;
pub mod limits;
pub mod mining;
mod schema;
pub mod space;
pub mod stages;
mod validate;

pub use collection::{
    Collection, CollectionInfo, Dense, Hit, Hybrid, IndexInfo, IndexParams, IvfPqInfo,
    MultiIndexInfo, MultiRecord, MultiSearchRequest, Query, Record, Records, SearchOptions,
    SearchRequest, TextRecord, VectorColumns,
};
pub use db::options::{CollectionConfig, DatabaseOptions, Durability};
pub use db::{Database, UpgradeReport};
pub use embed::{CrossEncoder, Embedder, LateInteraction, ModelIdentity, Pooling};
pub use error::{Error, ErrorKind, LockHolder, Result, VectorProblem};
pub use filter::{Filter, PayloadIndex, PayloadIndexKind};
pub use fulltext::{Stemming, StopWords, TextIndexInfo, TextIndexParams};
pub use kinds::CollectionKind;
pub use kinds::dense::ann::IvfPqParams;
pub use quiver_index::multi::TokenIndexParams as MultiIndexParams;
pub use quiver_index::{ElementType, Metric};
pub use quiver_storage::{Access, Backend, DEFAULT_BUSY_TIMEOUT, MemoryBackend};
pub use stages::fusion::{Branch, BranchScore, Explanation, Fusion};
pub use stages::rerank::Rerank;
pub use stages::rescore::Rescore;
pub use stages::{Stage, StageScore};
