//! Published database state: what a reader sees.
//!
//! A [`Snapshot`] pairs a redb read transaction with the in-memory arenas of the *same* commit.
//! The writer builds the next snapshot after each commit (while still holding the writer lock,
//! so its read transaction sees exactly that commit) and swaps it in; readers clone the `Arc`
//! and never see half a batch. Arenas load lazily on first search and are then carried from
//! snapshot to snapshot, sharing unchanged chunks.

use crate::ann;
use crate::embed::{SETTING_KEY, StoredEmbedder};
use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::vectors;
use parking_lot::Mutex;
use quiver_index::ivf::IvfPq;
use quiver_index::multi::{TokenIndex, TokenStore};
use quiver_index::{AnyArena, RowSet};
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
    /// `Some(None)` once known to have no approximate index.
    index: OnceLock<Option<Arc<IvfPq>>>,
    /// The pinned model, read on first use (`Some(None)`: a plain vector collection).
    embedder: OnceLock<Option<StoredEmbedder>>,
    /// Matching sets of recent filters (canonical JSON -> rows), most recent last. Valid for
    /// this commit only: every write that changes records makes a new state (and cache).
    filters: Mutex<Vec<(String, Arc<RowSet>)>>,
    /// Multi-vector collections: the token matrices (prepared for scoring) and the token
    /// index (`Some(None)`: none), loaded on first use like the arena.
    tokens: OnceLock<Arc<TokenStore>>,
    token_index: OnceLock<Option<Arc<TokenIndex>>>,
    load: Mutex<()>,
}

/// What a state carries over from the previous commit's (each `None` loads lazily).
#[derive(Default)]
pub(crate) struct Loaded {
    pub arena: Option<Arc<AnyArena>>,
    pub index: Option<Option<Arc<IvfPq>>>,
    pub tokens: Option<Arc<TokenStore>>,
    pub token_index: Option<Option<Arc<TokenIndex>>>,
}

/// Filters whose matching sets a collection state keeps (a few KB each per 100k rows).
const FILTER_CACHE: usize = 8;

impl CollectionState {
    pub fn new(record: CollectionRecord) -> Result<Self> {
        Ok(CollectionState {
            schema: Schema::of(&record)?,
            record,
            arena: OnceLock::new(),
            index: OnceLock::new(),
            embedder: OnceLock::new(),
            filters: Mutex::new(Vec::new()),
            tokens: OnceLock::new(),
            token_index: OnceLock::new(),
            load: Mutex::new(()),
        })
    }

    /// A state for `record` that keeps the model `prev` (the same collection) had loaded,
    /// with the loaded data the caller gives.
    fn with_parts(
        prev: Option<&CollectionState>,
        record: CollectionRecord,
        schema: Schema,
        loaded: Loaded,
    ) -> Self {
        let (arena_cell, index_cell) = (OnceLock::new(), OnceLock::new());
        if let Some(a) = loaded.arena {
            let _ = arena_cell.set(a);
        }
        if let Some(i) = loaded.index {
            let _ = index_cell.set(i);
        }
        let (tokens, token_index) = (OnceLock::new(), OnceLock::new());
        if let Some(t) = loaded.tokens {
            let _ = tokens.set(t);
        }
        if let Some(i) = loaded.token_index {
            let _ = token_index.set(i);
        }
        let embedder = OnceLock::new();
        if let Some(e) = prev.and_then(|p| p.embedder.get()) {
            let _ = embedder.set(e.clone());
        }
        CollectionState {
            record,
            schema,
            arena: arena_cell,
            index: index_cell,
            embedder,
            filters: Mutex::new(Vec::new()),
            tokens,
            token_index,
            load: Mutex::new(()),
        }
    }

    pub fn loaded_tokens(&self) -> Option<&Arc<TokenStore>> {
        self.tokens.get()
    }

    pub fn loaded_token_index(&self) -> Option<&Option<Arc<TokenIndex>>> {
        self.token_index.get()
    }

    /// The token matrices of a multi-vector collection, loaded on first use.
    pub fn tokens(&self, read: &ReadSnapshot) -> Result<Arc<TokenStore>> {
        self.load_once(&self.tokens, || {
            Ok(Arc::new(crate::multi::load_tokens(
                &self.schema,
                &self.record,
                read,
            )?))
        })
    }

    /// The token index of a multi-vector collection, if it has one, loaded on first use.
    pub fn token_index(&self, read: &ReadSnapshot) -> Result<Option<Arc<TokenIndex>>> {
        self.load_once(&self.token_index, || {
            Ok(crate::multi::load_token_index(&self.schema, &self.record, read)?.map(Arc::new))
        })
    }

    /// `WrongCollectionKind` unless the collection is multi-vector exactly when `multi`.
    pub fn expect_kind(&self, name: &str, multi: bool, operation: &'static str) -> Result<()> {
        if self.record.is_multi_vector() == multi {
            return Ok(());
        }
        Err(Error::WrongCollectionKind {
            name: name.to_owned(),
            multi_vector: self.record.is_multi_vector(),
            operation,
        })
    }

    /// Every live row (the universe filters are evaluated in).
    pub fn live_rows(&self, read: &ReadSnapshot) -> Result<RowSet> {
        if self.record.is_multi_vector() {
            Ok(self.tokens(read)?.iter().map(|(row, _)| row).collect())
        } else {
            let arena = self.arena(read)?;
            Ok(quiver_index::with_arena!(&*arena, a => a.rows().collect()))
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

    pub fn loaded_index(&self) -> Option<&Option<Arc<IvfPq>>> {
        self.index.get()
    }

    /// The approximate index (loaded from `read` on first use), or `None` if there is none.
    pub fn index(&self, read: &ReadSnapshot) -> Result<Option<Arc<IvfPq>>> {
        self.load_once(&self.index, || {
            Ok(ann::load(&self.schema, &self.record, read)?.map(Arc::new))
        })
    }

    /// The value in `cell`, computing it with `load` the first time (once, even when
    /// several readers ask at the same moment).
    fn load_once<T: Clone>(
        &self,
        cell: &OnceLock<T>,
        load: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        if let Some(v) = cell.get() {
            return Ok(v.clone());
        }
        let _guard = self.load.lock();
        if let Some(v) = cell.get() {
            return Ok(v.clone());
        }
        let v = load()?;
        let _ = cell.set(v.clone());
        Ok(v)
    }

    pub fn loaded_arena(&self) -> Option<&Arc<AnyArena>> {
        self.arena.get()
    }

    /// The arena, loading it from `read` on first use. `read` must be a transaction in which
    /// this collection is as `self.record` says (any snapshot that shares this state).
    pub fn arena(&self, read: &ReadSnapshot) -> Result<Arc<AnyArena>> {
        self.load_once(&self.arena, || {
            Ok(Arc::new(vectors::load_arena(
                &self.schema,
                &self.record,
                read,
            )?))
        })
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
        /// Index maintenance, in commit order: (row, previous cell, new cell and code).
        postings: Vec<PostingChange>,
    },
    /// A collection's approximate index was built (`Some`) or dropped (`None`).
    IndexReplaced {
        name: String,
        index: Option<Arc<IvfPq>>,
    },
    /// A multi-vector collection's records changed.
    MultiModified {
        record: CollectionRecord,
        /// (row, prepared token matrix) in commit order.
        puts: Vec<(u64, Arc<[f32]>)>,
        deletes: Vec<u64>,
        /// (row, centroid set) of put rows, when the collection has a token index.
        codes: Vec<(u64, Vec<u32>)>,
    },
    /// A multi-vector collection's token index was built (`Some`) or dropped (`None`).
    TokenIndexReplaced {
        name: String,
        index: Option<Arc<TokenIndex>>,
    },
}

pub(crate) struct PostingChange {
    pub row: u64,
    pub previous: Option<u32>,
    pub new: Option<(usize, Vec<u8>)>,
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
                    postings,
                } => {
                    let prev = collections.get(&record.name).cloned();
                    let arena = prev.as_ref().and_then(|p| p.loaded_arena()).map(|arena| {
                        let mut arena = AnyArena::clone(arena);
                        for (row, v) in &puts {
                            arena.set_f32(*row, v);
                        }
                        for row in &deletes {
                            arena.remove(*row);
                        }
                        Arc::new(arena)
                    });
                    let index = prev.as_ref().and_then(|p| p.loaded_index()).map(|index| {
                        index.as_ref().map(|ivf| {
                            let mut ivf = IvfPq::clone(ivf);
                            for p in &postings {
                                if let Some(cell) = p.previous {
                                    ivf.remove_from(p.row, cell as usize);
                                }
                                if let Some((cell, code)) = &p.new {
                                    ivf.insert_code(p.row, *cell, code);
                                }
                            }
                            Arc::new(ivf)
                        })
                    });
                    let schema = Schema::of(&record)?;
                    let loaded = Loaded {
                        arena,
                        index,
                        ..Loaded::default()
                    };
                    let state =
                        CollectionState::with_parts(prev.as_deref(), record, schema, loaded);
                    collections.insert(state.record.name.clone(), Arc::new(state));
                }
                Change::MultiModified {
                    record,
                    puts,
                    deletes,
                    codes,
                } => {
                    let prev = collections.get(&record.name).cloned();
                    let tokens = prev.as_ref().and_then(|p| p.loaded_tokens()).map(|t| {
                        let mut t = TokenStore::clone(t);
                        for (row, m) in &puts {
                            t.set(*row, m.clone());
                        }
                        for row in &deletes {
                            t.remove(*row);
                        }
                        Arc::new(t)
                    });
                    let token_index = prev.as_ref().and_then(|p| p.loaded_token_index()).map(|i| {
                        i.as_ref().map(|index| {
                            let mut index = TokenIndex::clone(index);
                            for (row, set) in &codes {
                                index.insert(*row, set);
                            }
                            for row in &deletes {
                                index.remove(*row);
                            }
                            Arc::new(index)
                        })
                    });
                    let schema = Schema::of(&record)?;
                    let loaded = Loaded {
                        tokens,
                        token_index,
                        ..Loaded::default()
                    };
                    let state =
                        CollectionState::with_parts(prev.as_deref(), record, schema, loaded);
                    collections.insert(state.record.name.clone(), Arc::new(state));
                }
                Change::TokenIndexReplaced { name, index } => {
                    let prev = collections
                        .get(&name)
                        .cloned()
                        .ok_or_else(|| Error::CollectionNotFound { name: name.clone() })?;
                    let loaded = Loaded {
                        tokens: prev.loaded_tokens().cloned(),
                        token_index: Some(index),
                        ..Loaded::default()
                    };
                    let state = CollectionState::with_parts(
                        Some(&prev),
                        prev.record.clone(),
                        prev.schema,
                        loaded,
                    );
                    collections.insert(name, Arc::new(state));
                }
                Change::IndexReplaced { name, index } => {
                    let prev = collections
                        .get(&name)
                        .cloned()
                        .ok_or_else(|| Error::CollectionNotFound { name: name.clone() })?;
                    let loaded = Loaded {
                        arena: prev.loaded_arena().cloned(),
                        index: Some(index),
                        ..Loaded::default()
                    };
                    let state = CollectionState::with_parts(
                        Some(&prev),
                        prev.record.clone(),
                        prev.schema,
                        loaded,
                    );
                    collections.insert(name, Arc::new(state));
                }
            }
        }
        Ok(Snapshot { read, collections })
    }
}
