//! Quiver's file format on [redb]: one file holds every collection.
//!
//! This crate knows tables, keys and byte encodings — nothing about search. The engine opens a
//! [`Store`], reads through a [`ReadSnapshot`] (one commit's state) and writes through a
//! [`WriteBatch`] (one redb write transaction, committed durably or not at all).
//! `docs/file-format.md` describes every byte.
//!
//! ```
//! use quiver_storage::{Store, StoreOptions, NewCollection};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::create(dir.path().join("db.qvr"), &StoreOptions::default()).unwrap();
//! let mut batch = store.begin_write().unwrap();
//! let mut coll = batch
//!     .create_collection("docs", &NewCollection { dim: 2, metric: 3, element_type: 1, created_at_ms: 0, vector_bytes: 8, kind: 0 })
//!     .unwrap();
//! let v = quiver_storage::codec::encode_f32(&[1.0, 2.0]);
//! batch.put_many(&mut coll, &[quiver_storage::PutRecord { id: "a", vector: &v, payload: None, text: None }]).unwrap();
//! batch.save_collection(&coll).unwrap();
//! batch.commit().unwrap();
//!
//! let snap = store.begin_read().unwrap();
//! let coll = snap.collection("docs").unwrap().unwrap();
//! assert_eq!(coll.count, 1);
//! let row = snap.row_of(&coll, "a").unwrap().unwrap();
//! assert_eq!(snap.vector(&coll, row).unwrap().unwrap(), quiver_storage::codec::encode_f32(&[1.0, 2.0]));
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![forbid(unsafe_code)]

pub mod backend;
pub mod blocks;
pub mod catalog;
pub mod codec;
pub mod commits;
mod error;
pub mod fields;
pub mod format;
mod guard;
pub mod index_store;
mod read;
pub mod seal;
mod sharing;
mod store;
mod tables;
pub mod text_postings;
mod text_store;
mod upgrade;
mod write;

pub use backend::{Backend, MemoryBackend};
pub use catalog::{CollectionRecord, KIND_MULTI, KIND_VECTORS, NewCollection};
pub use commits::Touched;
pub use error::{LockHolder, StorageError, StorageResult};
pub use read::{ReadSnapshot, RowReader};
pub use sharing::Access;
pub use store::{DEFAULT_BUSY_TIMEOUT, Durability, Store, StoreOptions};
pub use upgrade::{UpgradeReport, upgrade};
pub use write::{PutOutcome, PutRecord, WriteBatch};
