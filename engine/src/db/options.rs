//! Options for opening databases and creating collections.

use super::Database;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use quiver_index::{ElementType, Metric};
use quiver_storage::{Access, Store, StoreOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use quiver_storage::Durability;

/// How to open a database.
///
/// ## Defaults
/// - `cache_size`: 256 MiB of page cache (payloads and ids; vectors are scanned from memory).
/// - `durability`: [`Durability::Immediate`] — every write is on disk when the call returns.
///   [`Durability::Relaxed`] opens the file exclusively (a commit not yet on disk cannot be
///   shown to another process).
/// - `verify_on_open`: `false` — set it to check every page checksum of the file while
///   opening (reads the whole file; also checks redb's internal pages). Without it, damaged
///   data is still caught when read: every stored value carries its own checksum.
/// - `exclusive`: `false` — other processes may open the file beside this handle, to read or
///   to write. `true` keeps the file to this handle: others wait, then get
///   [`Error::Locked`](crate::Error::Locked); in return commits sync once instead of twice and
///   reads skip the check for other processes' commits (a few microseconds a call).
/// - `busy_timeout`: 5 s — how long an open, or a write, waits while another process holds
///   what it needs (an exclusive handle; another process's write transaction) before it gives
///   [`Error::Locked`]. `Duration::ZERO` fails at once, as SQLite does without a busy timeout.
#[derive(Clone, Debug, Default)]
pub struct DatabaseOptions {
    store: StoreOptions,
    /// `None`: shared, unless the durability needs an exclusive file.
    exclusive: Option<bool>,
}

impl DatabaseOptions {
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.store.cache_size = bytes;
        self
    }

    pub fn durability(mut self, durability: Durability) -> Self {
        self.store.durability = durability;
        self
    }

    pub fn verify_on_open(mut self, verify: bool) -> Self {
        self.store.verify_on_open = verify;
        self
    }

    /// Keep the file to this handle (see the defaults above).
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = Some(exclusive);
        self
    }

    /// How long to wait for a file another process holds (see the defaults above).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.store.busy_timeout = timeout;
        self
    }

    /// The storage options of a handle with `access`, or why these options cannot make one.
    fn store_options(&self, read_only: bool) -> Result<StoreOptions> {
        let relaxed = self.store.durability == Durability::Relaxed;
        let access = match (read_only, self.exclusive, relaxed) {
            (true, Some(true), _) => {
                return Err(Error::InvalidParameter {
                    name: "exclusive",
                    reason: "a read-only handle shares the file; exclusive access is for \
                             writers"
                        .into(),
                });
            }
            (true, _, _) => Access::ReadOnly,
            (false, Some(true), _) | (false, None, true) => Access::Exclusive,
            (false, Some(false), true) => {
                return Err(Error::InvalidParameter {
                    name: "durability",
                    reason: "relaxed durability needs an exclusive handle: a commit not yet \
                             on disk cannot be shown to another process"
                        .into(),
                });
            }
            (false, _, false) => Access::Shared,
        };
        Ok(StoreOptions {
            access,
            durability: if read_only {
                Durability::Immediate
            } else {
                self.store.durability
            },
            ..self.store.clone()
        })
    }

    /// Opens an existing file.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Database> {
        Database::from_store(Store::open(path, &self.store_options(false)?)?)
    }

    /// Opens an existing file for reading only (see [`Database::open_read_only`]).
    pub fn open_read_only(&self, path: impl AsRef<Path>) -> Result<Database> {
        Database::from_store(Store::open(path, &self.store_options(true)?)?)
    }

    /// Opens the database in a custom storage backend (creating it when the backend is
    /// empty): an in-memory database, or a fault-injecting backend in tests. `name` stands
    /// for the file path in error messages.
    pub fn open_backend(&self, backend: impl crate::Backend, name: &str) -> Result<Database> {
        Database::from_store(Store::with_backend(backend, name, &self.store)?)
    }

    /// Opens the file, creating an empty database if it does not exist.
    pub fn create(&self, path: impl AsRef<Path>) -> Result<Database> {
        Database::from_store(Store::create(path, &self.store_options(false)?)?)
    }

    /// Compacts the file at `path` (see [`Database::compact`]), waiting up to this busy
    /// timeout for other handles to close.
    pub fn compact(&self, path: impl AsRef<Path>) -> Result<(u64, u64)> {
        Ok(Store::compact(path, &self.store)?)
    }
}

/// The fixed shape of a new collection.
///
/// ## Defaults
/// - `element_type`: [`ElementType::F32`].
/// - no embedder: records are vectors. With [`CollectionConfig::with_embedder`] the
///   collection also takes text (`TextRecord`s, `Query::Text`) and pins the model.
///
/// Build with the constructors and setters (`CollectionConfig::new(384, Metric::Dot)
/// .element_type(ElementType::F16)`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CollectionConfig {
    pub dim: usize,
    pub metric: Metric,
    pub element_type: ElementType,
    pub embedder: Option<Arc<dyn Embedder>>,
    /// Records hold a matrix of token vectors (`dim` columns each) scored by MaxSim; see
    /// [`CollectionConfig::multi_vector`].
    pub multi_vector: bool,
}

impl CollectionConfig {
    pub fn new(dim: usize, metric: Metric) -> Self {
        CollectionConfig {
            dim,
            metric,
            element_type: ElementType::F32,
            embedder: None,
            multi_vector: false,
        }
    }

    /// A multi-vector (late-interaction) collection: each record is a matrix of token
    /// vectors with `dim` columns, searched by MaxSim with a query matrix
    /// (`Collection::upsert` with `MultiRecord`s, `Collection::search` with a matrix). `metric` is
    /// [`Metric::Cosine`] (tokens are L2-normalised for scoring, as ColBERT does) or
    /// [`Metric::Dot`] (tokens scored as given).
    pub fn multi_vector(dim: usize, metric: Metric) -> Self {
        CollectionConfig {
            multi_vector: true,
            ..CollectionConfig::new(dim, metric)
        }
    }

    /// A collection whose vectors come from `embedder`: its dimension, cosine similarity
    /// (sentence encoders are trained for it), f32 storage.
    pub fn with_embedder(embedder: Arc<dyn Embedder>) -> Self {
        CollectionConfig {
            dim: embedder.identity().dim,
            metric: Metric::Cosine,
            element_type: ElementType::F32,
            embedder: Some(embedder),
            multi_vector: false,
        }
    }

    /// A multi-vector collection whose token matrices come from `embedder` (a
    /// `quiver_embed::ColbertEmbedder`, or a sentence encoder's normalised token outputs): its
    /// dimension, MaxSim over cosine similarities, f32 storage. Takes text
    /// (`upsert` with `TextRecord`s, `search` with a `&str`) and pins the model.
    pub fn multi_vector_with_embedder(embedder: Arc<dyn Embedder>) -> Self {
        CollectionConfig {
            multi_vector: true,
            ..CollectionConfig::with_embedder(embedder)
        }
    }

    pub fn element_type(mut self, element_type: ElementType) -> Self {
        self.element_type = element_type;
        self
    }

    /// Another metric (e.g. `Metric::Dot` for a model trained for inner products).
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// Another dimension (a collection with a model must keep the model's).
    pub fn dim(mut self, dim: usize) -> Self {
        self.dim = dim;
        self
    }
}
