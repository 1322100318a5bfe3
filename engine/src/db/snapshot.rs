//! Published database state: what a reader sees.
//!
//! A [`Snapshot`] pairs a redb read transaction with the in-memory state of every collection
//! in the *same* commit. The writer builds the next snapshot after each commit (while still
//! holding the writer lock, so its read transaction sees exactly that commit) and swaps it
//! in; readers clone the `Arc` and never see half a batch. What a collection keeps in memory
//! belongs to its kind ([`Kind`]): loaded lazily, carried from commit to commit by the kind's
//! own write code. This module knows no kind.

use crate::embed::{SETTING_KEY, StoredEmbedder};
use crate::error::{Error, Result};
use crate::kinds::{self, At, Kind};
use parking_lot::Mutex;
use quiver_index::RowSet;
use quiver_storage::{CollectionRecord, ReadSnapshot};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

pub(crate) struct Snapshot {
    pub read: ReadSnapshot,
    pub collections: BTreeMap<String, Arc<CollectionState>>,
    /// The commit counter of the commit `read` sees (`quiver_storage` commits module).
    pub commit: u64,
}

/// One collection in one commit.
pub(crate) struct CollectionState {
    pub record: CollectionRecord,
    /// The kind's in-memory data of this commit.
    pub kind: Arc<dyn Kind>,
    /// The pinned model, read on first use (`Some(None)`: a plain vector collection).
    embedder: OnceLock<Option<StoredEmbedder>>,
    /// Matching sets of recent filters (canonical JSON -> rows), most recent last. Valid for
    /// this commit only: every write that changes records makes a new state (and cache).
    filters: Mutex<Vec<(String, Arc<RowSet>)>>,
}

/// Filters whose matching sets a collection state keeps (a few KB each per 100k rows).
const FILTER_CACHE: usize = 8;

impl CollectionState {
    fn new(record: CollectionRecord, kind: Arc<dyn Kind>) -> Self {
        CollectionState {
            record,
            kind,
            embedder: OnceLock::new(),
            filters: Mutex::new(Vec::new()),
        }
    }

    /// This collection as of `read` (a transaction of this state's commit).
    pub fn at<'a>(&'a self, read: &'a ReadSnapshot) -> At<'a> {
        At {
            read,
            record: &self.record,
        }
    }

    /// The collection's pinned model, if it has one.
    pub fn embedder(&self, read: &ReadSnapshot) -> Result<Option<StoredEmbedder>> {
        if let Some(e) = self.embedder.get() {
            return Ok(e.clone());
        }
        let stored = read
            .setting(&self.record, SETTING_KEY)?
            .map(|bytes| StoredEmbedder::decode(&self.record.name, &bytes))
            .transpose()?;
        let _ = self.embedder.set(stored.clone());
        Ok(stored)
    }

    /// The cached matching set of the filter with canonical JSON `key`, or `compute`'s.
    pub fn filter_rows(
        &self,
        key: String,
        compute: impl FnOnce() -> Result<RowSet>,
    ) -> Result<Arc<RowSet>> {
        if let Some(rows) = self.filters.lock().iter().find(|(k, _)| *k == key) {
            return Ok(rows.1.clone());
        }
        let rows = Arc::new(compute()?);
        let mut cache = self.filters.lock();
        if cache.len() == FILTER_CACHE {
            cache.remove(0);
        }
        cache.push((key, rows.clone()));
        Ok(rows)
    }
}

/// What one committed write did to the published state.
pub(crate) enum Change {
    Created(CollectionRecord),
    Dropped(String),
    /// A collection's catalog record and in-memory data after the write (the kind's write
    /// code built `kind` from the previous state, applying the batch), and the rows the write
    /// changed (logged for other processes to catch up by).
    Updated {
        record: CollectionRecord,
        kind: Arc<dyn Kind>,
        touched: Touched,
    },
}

/// What a write changed in a collection.
pub(crate) enum Touched {
    /// These rows were put or deleted.
    Rows(Vec<u64>),
    /// Anything may have changed (an index built or dropped).
    All,
}

impl Touched {
    pub fn as_stored(&self) -> quiver_storage::Touched<'_> {
        match self {
            Touched::Rows(rows) => quiver_storage::Touched::Rows(rows),
            Touched::All => quiver_storage::Touched::All,
        }
    }
}

impl Snapshot {
    /// The first snapshot of a freshly opened database (nothing loaded: opening is cheap).
    pub fn load(read: ReadSnapshot) -> Result<Self> {
        let commit = read.commit()?;
        let mut collections = BTreeMap::new();
        for record in read.collections()? {
            let kind = kinds::open(&record)?;
            collections.insert(
                record.name.clone(),
                Arc::new(CollectionState::new(record, kind)),
            );
        }
        Ok(Snapshot {
            read,
            collections,
            commit,
        })
    }

    pub fn collection(&self, name: &str) -> Result<&Arc<CollectionState>> {
        self.collections
            .get(name)
            .ok_or_else(|| Error::CollectionNotFound {
                name: name.to_owned(),
            })
    }

    /// The snapshot after this handle's commit number `commit`: `changes` say what it did;
    /// `read` sees that commit or, when another process committed right after it, a later one.
    pub fn next(&self, read: ReadSnapshot, changes: Vec<Change>, commit: u64) -> Result<Snapshot> {
        let mut collections = self.collections.clone();
        for change in changes {
            match change {
                Change::Created(record) => {
                    let kind = kinds::open(&record)?;
                    let state = CollectionState::new(record, kind);
                    collections.insert(state.record.name.clone(), Arc::new(state));
                }
                Change::Dropped(name) => {
                    collections.remove(&name);
                }
                Change::Updated { record, kind, .. } => {
                    let state = CollectionState::new(record, kind);
                    // The model stays loaded; the filter cache starts afresh.
                    if let Some(e) = collections
                        .get(&state.record.name)
                        .and_then(|prev| prev.embedder.get())
                    {
                        let _ = state.embedder.set(e.clone());
                    }
                    collections.insert(state.record.name.clone(), Arc::new(state));
                }
            }
        }
        let seen = read.commit()?;
        if seen > commit {
            // No read of `commit` itself is left to catch up from: changed ones reopen.
            return reconcile(read, seen, &collections, commit, None);
        }
        Ok(Snapshot {
            read,
            collections,
            commit,
        })
    }

    /// The snapshot of `read`, a later commit (number `commit`) made by another process:
    /// collections it did not change keep their loaded state, the others load afresh.
    pub fn caught_up(&self, read: ReadSnapshot, commit: u64) -> Result<Snapshot> {
        reconcile(
            read,
            commit,
            &self.collections,
            self.commit,
            Some(&self.read),
        )
    }
}

/// `base` holds the collections of commit `base_commit` (read through `before`, when that
/// read is still at hand); `read` sees commit `commit`. Keeps each collection that no commit
/// after `base_commit` changed (same id, same catalog record, `changed_at` not past
/// `base_commit`); carries each changed one forward by re-reading the rows its change log
/// names, when the log reaches back and its kind can; opens the rest anew (lazily, as on
/// open).
fn reconcile(
    read: ReadSnapshot,
    commit: u64,
    base: &BTreeMap<String, Arc<CollectionState>>,
    base_commit: u64,
    before: Option<&ReadSnapshot>,
) -> Result<Snapshot> {
    let mut collections = BTreeMap::new();
    for record in read.collections()? {
        let prev = base.get(&record.name).filter(|p| p.record.id == record.id);
        let unchanged = match prev {
            Some(p) => p.record == record && read.changed_at(record.id)? <= base_commit,
            None => false,
        };
        let state = match prev {
            Some(p) if unchanged => p.clone(),
            _ => {
                let carried = match (prev, before) {
                    (Some(p), Some(before)) => {
                        match read.changed_rows(&record, base_commit, commit)? {
                            Some(rows) => p.kind.caught_up(
                                p.at(before),
                                At {
                                    read: &read,
                                    record: &record,
                                },
                                &rows,
                            )?,
                            None => None,
                        }
                    }
                    _ => None,
                };
                let kind = match carried {
                    Some(kind) => kind,
                    None => kinds::open(&record)?,
                };
                let state = CollectionState::new(record, kind);
                // Same collection id, same pinned model (it is fixed at creation).
                if let Some(e) = prev.and_then(|p| p.embedder.get()) {
                    let _ = state.embedder.set(e.clone());
                }
                Arc::new(state)
            }
        };
        collections.insert(state.record.name.clone(), state);
    }
    Ok(Snapshot {
        read,
        collections,
        commit,
    })
}
