//! [`Database`]: one open file, its collections, and the single writer. `db/` knows
//! collection kinds only through `kinds::Kind` (the snapshot carries each collection's
//! kind state; the write skeleton publishes what a write returns).

pub(crate) mod options;
pub(crate) mod snapshot;

use crate::codes;
use crate::collection::{Collection, CollectionInfo};
use crate::embed::{Registry, StoredEmbedder};
use crate::error::{Error, Result};
use crate::validate;
use options::{CollectionConfig, DatabaseOptions};
use parking_lot::{Mutex, RwLock};
use quiver_storage::{Access, NewCollection, Store, WriteBatch};
use snapshot::{Change, Snapshot};
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What [`Database::upgrade`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpgradeReport {
    /// The file was already in the current format; nothing was written.
    pub already_current: bool,
    pub collections: u64,
    /// Stored values (vectors blocks, ids, payloads, index entries, ...) copied and sealed.
    pub values: u64,
}

/// An open Quiver database file. Cheap to clone (a shared handle); `Send + Sync`.
///
/// Any number of threads may read (search, get, count) while one writes; writes from several
/// threads are serialised. Other *processes* may open the same file at the same time, to read
/// ([`Database::open_read_only`]) or to write: write transactions take turns across processes
/// (one waits up to the busy timeout for another's, then gets [`Error::Locked`]), and every
/// call sees the last commit of any process. [`DatabaseOptions::exclusive`] keeps the file to
/// one handle instead. `docs/concurrency.md` states the guarantees.
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Declared before `store`: fields drop in order, and the snapshot's read transaction must
    /// end before the redb database closes, or redb defers the clean close.
    current: RwLock<Arc<Snapshot>>,
    /// Held for the whole of a write: begin, commit, publish.
    writer: Mutex<()>,
    /// Held while catching up with another process's commits (one thread reloads, the
    /// others then find the state current).
    refresh: Mutex<()>,
    store: Store,
    /// Embedding models in use, by collection id.
    pub(crate) models: Registry,
}

impl Database {
    /// Opens an existing database file with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        DatabaseOptions::default().open(path)
    }

    /// Opens an existing database file for reading only, beside any number of other readers
    /// and writers (in this process or others). Every call sees the last commit; writes give
    /// [`Error::ReadOnly`]. Nothing is ever written to the file.
    ///
    /// ```
    /// use quiver::{CollectionConfig, Database, Error, Metric, Record};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("shared.qvr");
    /// let writer = Database::create(&path)?; // stays open, shared
    /// let docs = writer.create_collection("docs", CollectionConfig::new(2, Metric::L2))?;
    /// let reader = Database::open_read_only(&path)?; // another process could do the same
    /// docs.upsert(&[Record::new("a", vec![1.0, 2.0])])?;
    /// // The reader's next call sees the writer's commit.
    /// assert_eq!(reader.collection("docs")?.count()?, 1);
    /// let refused = reader.collection("docs")?.delete(&["a"]);
    /// assert!(matches!(refused, Err(Error::ReadOnly { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Database> {
        DatabaseOptions::default().open_read_only(path)
    }

    /// Opens the database file at `path`, creating it if it does not exist.
    pub fn create(path: impl AsRef<Path>) -> Result<Database> {
        DatabaseOptions::default().create(path)
    }

    /// Writes the database at `src`, made by a Quiver build of file format 1 (before every
    /// stored value carried a checksum), as a current-format database at `dst`, a new file;
    /// `src` is only read. A `src` already current is left alone and reported so. Opening a
    /// format-1 file gives [`Error::UpgradeRequired`]; this is the way forward.
    pub fn upgrade(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<UpgradeReport> {
        let dst = dst.as_ref();
        if dst.exists() {
            return Err(Error::InvalidParameter {
                name: "destination",
                reason: format!("{} exists; the upgrade writes a new file", dst.display()),
            });
        }
        let r =
            quiver_storage::upgrade(src.as_ref(), dst, &quiver_storage::StoreOptions::default())?;
        Ok(UpgradeReport {
            already_current: r.already_current,
            collections: r.collections,
            values: r.values,
        })
    }

    /// Compacts the database file at `path` (it waits up to the default busy timeout for
    /// other handles to close, then gives [`Error::Locked`]). Space freed by deletes and overwrites is reused by later writes,
    /// but the file only shrinks here. Returns the file size before and after, in bytes.
    pub fn compact(path: impl AsRef<Path>) -> Result<(u64, u64)> {
        DatabaseOptions::default().compact(path)
    }

    /// Options for opening (cache size, durability, verification).
    pub fn builder() -> DatabaseOptions {
        DatabaseOptions::default()
    }

    pub(crate) fn from_store(store: Store) -> Result<Database> {
        let snapshot = Snapshot::load(store.begin_read()?)?;
        Ok(Database {
            inner: Arc::new(Inner {
                store,
                writer: Mutex::new(()),
                refresh: Mutex::new(()),
                models: Registry::default(),
                current: RwLock::new(Arc::new(snapshot)),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        self.inner.store.path()
    }

    /// Size of the database file in bytes.
    pub fn file_size(&self) -> Result<u64> {
        std::fs::metadata(self.path())
            .map(|m| m.len())
            .map_err(|source| Error::Io { source })
    }

    /// Whether this handle only reads.
    pub fn is_read_only(&self) -> bool {
        self.inner.store.access() == Access::ReadOnly
    }

    /// The state of the last commit. On a file other processes may write, that is checked
    /// on every call (a few microseconds: one read transaction and one counter), and the
    /// collections another process changed are reloaded.
    pub(crate) fn snapshot(&self) -> Result<Arc<Snapshot>> {
        let current = self.inner.current.read().clone();
        if self.inner.store.access() == Access::Exclusive {
            return Ok(current);
        }
        let read = self.inner.store.begin_read()?;
        let commit = read.commit()?;
        if commit <= current.commit {
            return Ok(current);
        }
        let _refresh = self.inner.refresh.lock();
        let current = self.inner.current.read().clone();
        if commit <= current.commit {
            return Ok(current);
        }
        self.publish(current.caught_up(read, commit)?)
    }

    /// Makes `next` the published state unless a newer one is published already; returns
    /// the published state.
    fn publish(&self, next: Snapshot) -> Result<Arc<Snapshot>> {
        let mut current = self.inner.current.write();
        if next.commit >= current.commit {
            *current = Arc::new(next);
        }
        Ok(current.clone())
    }

    /// Creates a collection and returns a handle to it.
    pub fn create_collection(&self, name: &str, config: CollectionConfig) -> Result<Collection> {
        validate::collection_name(name)?;
        validate::dimension(config.dim)?;
        if config.multi_vector && config.metric == quiver_index::Metric::L2 {
            return Err(Error::InvalidParameter {
                name: "metric",
                reason: "multi-vector collections score by MaxSim over cosine or dot \
                         similarities; l2 is not supported"
                    .into(),
            });
        }
        let pinned = match &config.embedder {
            Some(e) => {
                if e.identity().dim != config.dim {
                    return Err(Error::InvalidParameter {
                        name: "dimension",
                        reason: format!(
                            "the collection has {} dimensions, its model {} outputs {}",
                            config.dim,
                            e.identity().fingerprint(),
                            e.identity().dim
                        ),
                    });
                }
                if config.multi_vector && !e.token_outputs() {
                    return Err(Error::InvalidParameter {
                        name: "model",
                        reason: format!(
                            "{} has no token outputs; a multi-vector collection needs a \
                             late-interaction model",
                            e.identity().fingerprint()
                        ),
                    });
                }
                if !config.multi_vector && e.identity().pooling == crate::Pooling::Tokens {
                    return Err(Error::InvalidParameter {
                        name: "model",
                        reason: format!(
                            "{} outputs token matrices; create a multi-vector collection \
                             (CollectionConfig::multi_vector_with_embedder)",
                            e.identity().fingerprint()
                        ),
                    });
                }
                Some(StoredEmbedder::of(e.as_ref()))
            }
            None => None,
        };
        let created_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let new = NewCollection {
            dim: config.dim as u32,
            metric: codes::metric_code(config.metric),
            element_type: codes::element_code(config.element_type),
            created_at_ms,
            vector_bytes: (config.dim * config.element_type.size_bytes()) as u32,
            kind: if config.multi_vector {
                quiver_storage::KIND_MULTI
            } else {
                quiver_storage::KIND_VECTORS
            },
        };
        self.write(|batch, _| {
            if batch.collection(name)?.is_some() {
                return Err(Error::CollectionExists {
                    name: name.to_owned(),
                });
            }
            let record = batch.create_collection(name, &new)?;
            if let Some(pinned) = &pinned {
                batch.put_setting(&record, crate::embed::SETTING_KEY, &pinned.encode()?)?;
            }
            Ok((record.id, vec![Change::Created(record)]))
        })
        .and_then(|id| {
            if let (Some(pinned), Some(e)) = (&pinned, config.embedder) {
                self.inner.models.attach(name, id, pinned, e)?;
            }
            self.collection(name)
        })
    }

    /// A handle to an existing collection.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        self.snapshot()?.collection(name)?;
        Ok(Collection::new(self.clone(), name))
    }

    /// Every collection, in name order.
    pub fn collections(&self) -> Result<Vec<CollectionInfo>> {
        let snap = self.snapshot()?;
        snap.collections
            .values()
            .map(|c| Ok(CollectionInfo::of(c)))
            .collect()
    }

    /// Deletes a collection and all its records.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        self.write(|batch, snap| {
            let record = snap.collection(name)?.record.clone();
            batch.drop_collection(&record)?;
            Ok(((), vec![Change::Dropped(name.to_owned())]))
        })
    }

    /// Runs `f` in one write transaction, commits it, and publishes the new state. If `f` or
    /// the commit fails, nothing changes.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut WriteBatch, &Snapshot) -> Result<(T, Vec<Change>)>,
    ) -> Result<T> {
        let _writer = self.inner.writer.lock();
        let mut batch = self.inner.store.begin_write()?;
        // The write builds on the state it started from, which another process may have
        // committed since this handle last looked: catch up first (no commit can land while
        // the transaction is open).
        let base = batch.base_commit()?;
        let current = self.inner.current.read().clone();
        let current = if base == current.commit {
            current
        } else {
            let _refresh = self.inner.refresh.lock();
            self.publish(current.caught_up(self.inner.store.begin_read()?, base)?)?
        };
        let (out, changes) = f(&mut batch, &current)?;
        let (changed, dropped) = touched(&current, &changes);
        let commit = batch.record_commit(&changed, &dropped)?;
        batch.commit()?;
        let read = self.inner.store.begin_read().map_err(|e| Error::Internal {
            detail: format!(
                "the write was committed, but the read view could not be refreshed: {e}"
            ),
        })?;
        self.publish(current.next(read, changes, commit)?)?;
        Ok(out)
    }
}

/// The collections a write changed (created or updated: id and what changed) and dropped.
fn touched<'c>(
    snap: &Snapshot,
    changes: &'c [Change],
) -> (Vec<(u64, quiver_storage::Touched<'c>)>, Vec<u64>) {
    let mut changed = Vec::new();
    let mut dropped = Vec::new();
    for change in changes {
        match change {
            Change::Created(record) => changed.push((record.id, quiver_storage::Touched::All)),
            Change::Updated {
                record, touched, ..
            } => changed.push((record.id, touched.as_stored())),
            Change::Dropped(name) => {
                if let Some(state) = snap.collections.get(name) {
                    dropped.push(state.record.id);
                }
            }
        }
    }
    (changed, dropped)
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path())
            .finish()
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Database>();
    is::<Collection>();
}
