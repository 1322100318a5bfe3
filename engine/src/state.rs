//! Published database state: what a reader sees.
//!
//! A [`Snapshot`] pairs a redb read transaction with the in-memory arenas of the *same* commit.
//! The writer builds the next snapshot after each commit (while still holding the writer lock,
//! so its read transaction sees exactly that commit) and swaps it in; readers clone the `Arc`
//! and never see half a batch. Arenas load lazily on first search and are then carried from
//! snapshot to snapshot, sharing unchanged chunks.

use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::vectors;
use parking_lot::Mutex;
use quiver_index::AnyArena;
use quiver_storage::{CollectionRecord, ReadSnapshot};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

pub(crate) struct Snapshot {
    pub read: ReadSnapshot,
    pub collections: BTreeMap<String, Arc<CollectionState>>,
}

pub(crate) struct CollectionState {
    pub record: CollectionRecord,
    pub schema: Schema,
    arena: OnceLock<Arc<AnyArena>>,
    load: Mutex<()>,
}

impl CollectionState {
    pub fn new(record: CollectionRecord) -> Result<Self> {
        Ok(CollectionState {
            schema: Schema::of(&record)?,
            record,
            arena: OnceLock::new(),
            load: Mutex::new(()),
        })
    }

    fn with_arena(record: CollectionRecord, schema: Schema, arena: AnyArena) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(Arc::new(arena));
        CollectionState {
            record,
            schema,
            arena: cell,
            load: Mutex::new(()),
        }
    }

    pub fn loaded_arena(&self) -> Option<&Arc<AnyArena>> {
        self.arena.get()
    }

    /// The arena, loading it from `read` on first use. `read` must be a transaction in which
    /// this collection is as `self.record` says (any snapshot that shares this state).
    pub fn arena(&self, read: &ReadSnapshot) -> Result<Arc<AnyArena>> {
        if let Some(a) = self.arena.get() {
            return Ok(a.clone());
        }
        let _guard = self.load.lock();
        if let Some(a) = self.arena.get() {
            return Ok(a.clone());
        }
        let arena = Arc::new(vectors::load_arena(&self.schema, &self.record, read)?);
        let _ = self.arena.set(arena.clone());
        Ok(arena)
    }
}

/// What one committed write did, for carrying loaded arenas forward.
pub(crate) enum Change {
    Created(CollectionRecord),
    Dropped(String),
    Modified {
        record: CollectionRecord,
        /// (row, stored-precision vector) in commit order.
        puts: Vec<(u64, Vec<f32>)>,
        deletes: Vec<u64>,
    },
}

impl Snapshot {
    /// The first snapshot of a freshly opened database (no arenas loaded: opening is cheap).
    pub fn load(read: ReadSnapshot) -> Result<Self> {
        let mut collections = BTreeMap::new();
        for record in read.collections()? {
            collections.insert(record.name.clone(), Arc::new(CollectionState::new(record)?));
        }
        Ok(Snapshot { read, collections })
    }

    pub fn collection(&self, name: &str) -> Result<&Arc<CollectionState>> {
        self.collections
            .get(name)
            .ok_or_else(|| Error::CollectionNotFound {
                name: name.to_owned(),
            })
    }

    /// The snapshot after a commit: `read` sees the commit, `changes` say what it did.
    pub fn next(&self, read: ReadSnapshot, changes: Vec<Change>) -> Result<Snapshot> {
        let mut collections = self.collections.clone();
        for change in changes {
            match change {
                Change::Created(record) => {
                    let state = CollectionState::new(record)?;
                    collections.insert(state.record.name.clone(), Arc::new(state));
                }
                Change::Dropped(name) => {
                    collections.remove(&name);
                }
                Change::Modified {
                    record,
                    puts,
                    deletes,
                } => {
                    let prev = collections.get(&record.name).cloned();
                    let state = match prev.as_ref().and_then(|p| p.loaded_arena()) {
                        Some(arena) => {
                            let mut arena = AnyArena::clone(arena);
                            for (row, v) in &puts {
                                arena.set_f32(*row, v);
                            }
                            for row in &deletes {
                                arena.remove(*row);
                            }
                            let schema = Schema::of(&record)?;
                            CollectionState::with_arena(record, schema, arena)
                        }
                        None => CollectionState::new(record)?,
                    };
                    collections.insert(state.record.name.clone(), Arc::new(state));
                }
            }
        }
        Ok(Snapshot { read, collections })
    }
}
