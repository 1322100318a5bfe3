//! One approximate index a collection: [`IndexParams`] say which and how, [`IndexInfo`] what
//! was built; [`Collection::create_index`], [`Collection::drop_index`],
//! [`Collection::index_info`].

use super::Collection;
use crate::db::snapshot::{Change, Touched};
use crate::error::Result;
pub use crate::kinds::dense::ann::IvfPqParams;
use crate::kinds::{self, CollectionKind};
pub use quiver_index::multi::TokenIndexParams;

/// Which approximate index to build, and how. Converts from the parameter structs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum IndexParams {
    /// IVF-PQ, for one-vector collections.
    IvfPq(IvfPqParams),
    /// The PLAID-style token index, for multi-vector collections.
    Tokens(TokenIndexParams),
}

impl IndexParams {
    /// The kind of collection this index is for, and its name in errors.
    fn kind(&self) -> (CollectionKind, &'static str) {
        match self {
            IndexParams::IvfPq(_) => (CollectionKind::Vectors, "an IVF-PQ index"),
            IndexParams::Tokens(_) => (CollectionKind::MultiVector, "a token index"),
        }
    }
}

impl From<IvfPqParams> for IndexParams {
    fn from(p: IvfPqParams) -> Self {
        IndexParams::IvfPq(p)
    }
}

impl From<&IvfPqParams> for IndexParams {
    fn from(p: &IvfPqParams) -> Self {
        IndexParams::IvfPq(p.clone())
    }
}

impl From<TokenIndexParams> for IndexParams {
    fn from(p: TokenIndexParams) -> Self {
        IndexParams::Tokens(p)
    }
}

impl From<&TokenIndexParams> for IndexParams {
    fn from(p: &TokenIndexParams) -> Self {
        IndexParams::Tokens(p.clone())
    }
}

impl From<&IndexParams> for IndexParams {
    fn from(p: &IndexParams) -> Self {
        p.clone()
    }
}

/// What an index was built with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexInfo {
    IvfPq(IvfPqInfo),
    Tokens(MultiIndexInfo),
}

impl IndexInfo {
    /// Records indexed (all of them: writes keep the index current).
    pub fn indexed(&self) -> usize {
        match self {
            IndexInfo::IvfPq(i) => i.indexed,
            IndexInfo::Tokens(i) => i.indexed,
        }
    }

    /// The seed the index was trained with.
    pub fn seed(&self) -> u64 {
        match self {
            IndexInfo::IvfPq(i) => i.seed,
            IndexInfo::Tokens(i) => i.seed,
        }
    }

    /// Bytes the index holds in memory (not the vectors).
    pub fn memory_bytes(&self) -> usize {
        match self {
            IndexInfo::IvfPq(i) => i.memory_bytes,
            IndexInfo::Tokens(i) => i.memory_bytes,
        }
    }

    pub fn as_ivf_pq(&self) -> Option<&IvfPqInfo> {
        match self {
            IndexInfo::IvfPq(i) => Some(i),
            IndexInfo::Tokens(_) => None,
        }
    }

    pub fn as_tokens(&self) -> Option<&MultiIndexInfo> {
        match self {
            IndexInfo::Tokens(i) => Some(i),
            IndexInfo::IvfPq(_) => None,
        }
    }
}

/// An IVF-PQ index's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IvfPqInfo {
    pub nlist: usize,
    pub m: usize,
    /// Bits per sub-quantizer code: 8, or 4 (fast scan).
    pub bits: u32,
    pub indexed: usize,
    pub seed: u64,
    /// Memory held by codes, row ids, centroids and codebooks (not the vectors).
    pub memory_bytes: usize,
}

/// The token index's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultiIndexInfo {
    pub centroids: usize,
    /// Records indexed (all of them: writes keep the index current).
    pub indexed: usize,
    pub seed: u64,
    /// Centroids, centroid sets and lists in memory.
    pub memory_bytes: usize,
}

impl Collection {
    /// Builds (or rebuilds) the collection's approximate index from its stored records and
    /// swaps it in atomically: one transaction writes the trained structures and every
    /// record's entry. Writes wait while it trains; searches go on (on the previous state).
    /// Later upserts and deletes keep the index current in their own transactions. See
    /// [`IvfPqParams`] and [`TokenIndexParams`] for the defaults.
    pub fn create_index(&self, params: impl Into<IndexParams>) -> Result<IndexInfo> {
        let params = params.into();
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let (wanted, operation) = params.kind();
            kinds::expect(&self.name, state.kind.kind(), wanted, operation)?;
            let (info, kind) = state
                .kind
                .create_index(batch, state.at(&snap.read), &params)?;
            Ok((
                info,
                vec![Change::Updated {
                    record: state.record.clone(),
                    kind,
                    touched: Touched::All,
                }],
            ))
        })
    }

    /// Removes the approximate index (searches become exact); returns whether there was one.
    pub fn drop_index(&self) -> Result<bool> {
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let had = batch.drop_index(&state.record)?;
            Ok((
                had,
                vec![Change::Updated {
                    record: state.record.clone(),
                    kind: state.kind.without_index(),
                    touched: Touched::All,
                }],
            ))
        })
    }

    /// The approximate index's shape, if the collection has one.
    pub fn index_info(&self) -> Result<Option<IndexInfo>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        state.kind.index_info(state.at(&snap.read))
    }
}
