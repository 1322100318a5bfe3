//! # Quiver
//!
//! An embedded vector database: one file, no server, ACID writes, exact and (soon)
//! approximate nearest-neighbour search. Think SQLite, for embeddings.
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
//!   read while one writes; another process gets [`Error::Locked`].
//! - A [`Collection`] has a fixed dimension, [`Metric`] and [`ElementType`]; records have a
//!   string id (at most [`limits::MAX_ID_BYTES`]), a vector and an optional JSON-object payload.
//! - A collection may own an [`Embedder`] ([`CollectionConfig::with_embedder`]): it then takes
//!   and returns text ([`Collection::upsert_texts`], [`Collection::search_text`]) and pins the
//!   model's identity. [`BertEmbedder`] (feature `embed`, on by default) runs BERT-family
//!   sentence-transformers models from a local folder on the CPU; see [`embed`].
//! - Every write call is one transaction, durable when it returns (see [`Durability`]); a
//!   failed call changes nothing. Searches see one commit's state, never half a batch.
//!
//! ## Memory
//! Opening reads only the catalog. The first search of a collection loads its vectors into a
//! contiguous in-memory arena (their stored size plus 5 bytes a row), kept in step with
//! every later write.

mod ann;
mod codes;
mod collection;
mod config;
mod database;
pub mod embed;
mod error;
pub mod filter;
mod filtered;
pub mod limits;
mod multi;
mod payload_index;
mod schema;
mod search;
mod state;
mod text;
mod validate;
pub mod vecfile;
mod vectors;

pub use ann::{IndexInfo, IvfPqParams};
pub use collection::{Collection, CollectionInfo};
pub use config::{CollectionConfig, DatabaseOptions, Durability};
pub use database::{Database, UpgradeReport};
pub use embed::{Embedder, LateInteraction, ModelIdentity, Pooling};
pub use error::{Error, Result, VectorProblem};
pub use filter::Filter;
pub use multi::{MultiIndexInfo, MultiRecord, MultiSearchRequest};
pub use payload_index::{PayloadIndex, PayloadIndexKind};
pub use quiver_index::multi::TokenIndexParams as MultiIndexParams;
/// The MaxSim kernel, for benchmarks and applications that score matrices themselves.
pub use quiver_index::multi::maxsim as multi_kernels;
pub use quiver_index::{ElementType, Metric};
pub use quiver_storage::StorageBackend;
pub use search::{Hit, Record, SearchRequest, TextRecord};
