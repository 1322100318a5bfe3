//! Collection kinds: what a collection's records are, how they are stored, kept in memory,
//! indexed, searched and checked. Each kind lives in its own folder behind the [`Kind`]
//! trait; `db/` and `collection/` know kinds only through it and [`open`], so adding a kind
//! is a new folder plus one line in [`open`].
//!
//! - [`dense`]: one vector a record, in an arena, with an optional IVF-PQ index.
//! - [`tokens`]: a matrix of token vectors a record (late interaction, MaxSim), with an
//!   optional PLAID-style token index.

pub(crate) mod dense;
mod lazy;
pub(crate) mod tokens;

use crate::collection::{IndexInfo, IndexParams, SearchOptions};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::schema::Schema;
use quiver_index::RowSet;
use quiver_storage::{CollectionRecord, ReadSnapshot, WriteBatch};
use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

/// What a collection's records are. Fixed when the collection is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CollectionKind {
    /// One vector a record, scored by the collection's metric.
    Vectors,
    /// A matrix of token vectors a record, scored by MaxSim (late interaction).
    MultiVector,
}

impl CollectionKind {
    pub fn name(self) -> &'static str {
        match self {
            CollectionKind::Vectors => "one-vector",
            CollectionKind::MultiVector => "multi-vector",
        }
    }
}

/// A record's (or a query's) vector data, as the caller gives it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Data<'a> {
    Vector(&'a [f32]),
    Matrix(&'a [Vec<f32>]),
}

/// Vector data owned: read back from a collection, or computed by a model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Owned {
    Vector(Vec<f32>),
    Matrix(Vec<Vec<f32>>),
}

impl Owned {
    pub fn as_data(&self) -> Data<'_> {
        match self {
            Owned::Vector(v) => Data::Vector(v),
            Owned::Matrix(m) => Data::Matrix(m),
        }
    }
}

impl Data<'_> {
    /// The kind of collection that takes this data.
    pub fn kind(&self) -> CollectionKind {
        match self {
            Data::Vector(_) => CollectionKind::Vectors,
            Data::Matrix(_) => CollectionKind::MultiVector,
        }
    }
}

/// A batch's data, validated and encoded by its kind before the writer lock is taken.
pub(crate) struct Prepared {
    /// The stored bytes of each record (the vector or matrix column), in batch order.
    pub stored: Vec<Vec<u8>>,
    /// Whatever else the kind computed for the batch (e.g. matrices prepared for scoring).
    pub extra: Box<dyn Any + Send + Sync>,
}

/// One search result before ids and payloads are read.
pub(crate) struct Found {
    pub row: u64,
    pub score: f32,
    pub vector: Option<Vec<f32>>,
}

/// One commit's view of a collection, as a kind needs it.
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub read: &'a ReadSnapshot,
    pub record: &'a CollectionRecord,
}

/// One collection kind's in-memory state of one commit: loaded lazily from the read
/// transaction, carried to the next commit with each batch's changes applied (sharing what
/// did not change), and checked against what is stored.
///
/// Every method that writes gets the open write transaction and returns the state of the
/// commit it prepares; `db/` publishes it once the commit is durable.
pub(crate) trait Kind: Send + Sync {
    fn kind(&self) -> CollectionKind;
    fn schema(&self) -> &Schema;

    /// Loads the records (and the index, if any) into memory now; returns how many.
    fn load(&self, at: At<'_>) -> Result<usize>;
    /// Every live row: the universe filters are evaluated in.
    fn live_rows(&self, at: At<'_>) -> Result<RowSet>;
    /// Checks memory, stored records and index against `rows` (the rows of the id map).
    fn check(&self, at: At<'_>, rows: &HashSet<u64>) -> Result<()>;
    /// Bytes held in memory by what is loaded.
    fn memory_bytes(&self) -> usize;

    /// Validates and encodes a batch (`data[i]` is the record at batch position `i`).
    fn prepare(&self, data: &[Data<'_>]) -> Result<Prepared>;
    /// Writes what the kind keeps beside the records for `rows` (the rows `put_many` gave
    /// the prepared batch, in batch order) and returns the next state.
    fn put(
        &self,
        batch: &mut WriteBatch,
        at: At<'_>,
        rows: &[u64],
        prepared: Prepared,
    ) -> Result<Arc<dyn Kind>>;
    /// Removes what the kind keeps for the deleted `rows`; returns the next state.
    fn delete(&self, batch: &mut WriteBatch, at: At<'_>, rows: &[u64]) -> Result<Arc<dyn Kind>>;

    /// Trains the approximate index on the stored records and writes it.
    fn create_index(
        &self,
        batch: &mut WriteBatch,
        at: At<'_>,
        params: &IndexParams,
    ) -> Result<(IndexInfo, Arc<dyn Kind>)>;
    /// The state once the index is gone (the stored index is dropped by the caller).
    fn without_index(&self) -> Arc<dyn Kind>;
    fn index_info(&self, at: At<'_>) -> Result<Option<IndexInfo>>;

    /// The stored data of `row`, widened to f32.
    fn get(&self, at: At<'_>, row: u64) -> Result<Owned>;
    /// The best `options.k` rows for each query (already validated by [`Kind::check_query`]),
    /// restricted to `allowed`.
    fn search(
        &self,
        at: At<'_>,
        queries: &[Data<'_>],
        options: &SearchOptions<'_>,
        allowed: Option<&RowSet>,
    ) -> Result<Vec<Vec<Found>>>;
    /// Checks a query and the options that apply to this kind.
    fn check_query(&self, query: Data<'_>, options: &SearchOptions<'_>) -> Result<()>;

    /// This state (of the commit `before` sees) carried forward to the later commit `after`
    /// sees, which differs from it in exactly `rows` (ascending; each now stored or gone):
    /// what is loaded is updated from `after`, what is not stays unloaded. `None` when the
    /// kind cannot (the collection then reopens and loads again on first use).
    fn caught_up(
        &self,
        before: At<'_>,
        after: At<'_>,
        rows: &[u64],
    ) -> Result<Option<Arc<dyn Kind>>> {
        let _ = (before, after, rows);
        Ok(None)
    }

    /// What a model makes of documents and of queries, for this kind.
    fn embed_documents(&self, embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Owned>>;
    fn embed_queries(&self, embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Owned>>;
}

/// The state of a collection as opened (nothing loaded yet).
pub(crate) fn open(record: &CollectionRecord) -> Result<Arc<dyn Kind>> {
    let schema = Schema::of(record)?;
    Ok(if record.is_multi_vector() {
        Arc::new(tokens::TokenState::new(schema))
    } else {
        Arc::new(dense::DenseState::new(schema))
    })
}

/// The error for data or an operation of the wrong kind: the one place it is decided.
pub(crate) fn expect(
    name: &str,
    is: CollectionKind,
    wanted: CollectionKind,
    operation: &'static str,
) -> Result<()> {
    if is == wanted {
        return Ok(());
    }
    Err(Error::WrongCollectionKind {
        name: name.to_owned(),
        multi_vector: is == CollectionKind::MultiVector,
        operation,
    })
}

/// Checks that a model returned one output per text.
pub(crate) fn check_outputs(embedder: &dyn Embedder, got: usize, expected: usize) -> Result<()> {
    if got != expected {
        return Err(Error::Inference {
            detail: format!(
                "model {} returned {got} outputs for {expected} texts",
                embedder.identity().fingerprint()
            ),
        });
    }
    Ok(())
}
