//! [`Collection`]: a handle to one collection, and every operation on its records. The
//! operations here are kind-agnostic: each hands the kind-specific part to the collection's
//! [`Kind`](crate::kinds::Kind) and checks once, in `kinds::expect`, that data and
//! collection are of the same kind.

mod index;
mod query;
mod records;
mod reranker;
mod shims;
mod text;

pub use index::{IndexInfo, IndexParams, IvfPqInfo, MultiIndexInfo};
pub(crate) use query::DEFAULT_DEPTH;
pub use query::{Dense, Hit, Hybrid, Query, SearchOptions};
pub use records::{MultiRecord, Record, Records, TextRecord, VectorColumns};
pub use shims::{MultiSearchRequest, SearchRequest};

use crate::db::Database;
use crate::db::snapshot::CollectionState;
use crate::error::{Error, Result};
use crate::kinds::{self, CollectionKind, Owned};
use quiver_index::{ElementType, Metric};
use std::collections::HashSet;

/// A handle to one collection of a [`Database`]. Cheap to clone; `Send + Sync`.
///
/// The handle names the collection; each call looks it up in the latest committed state, so
/// a handle to a dropped collection returns [`Error::CollectionNotFound`].
#[derive(Clone, Debug)]
pub struct Collection {
    pub(crate) db: Database,
    pub(crate) name: String,
}

/// A collection's description, as `Database::collections` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectionInfo {
    pub name: String,
    pub dim: usize,
    pub metric: Metric,
    pub element_type: ElementType,
    pub count: u64,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Format version of the collection's catalog record.
    pub format_version: u8,
    /// Records are token matrices (`kind == CollectionKind::MultiVector`).
    pub multi_vector: bool,
    pub kind: CollectionKind,
}

impl CollectionInfo {
    pub(crate) fn of(state: &CollectionState) -> CollectionInfo {
        let schema = state.kind.schema();
        CollectionInfo {
            name: state.record.name.clone(),
            dim: schema.dim,
            metric: schema.metric,
            element_type: schema.element,
            count: state.record.count,
            created_at_ms: state.record.created_at_ms,
            format_version: state.record.version,
            multi_vector: state.kind.kind() == CollectionKind::MultiVector,
            kind: state.kind.kind(),
        }
    }
}

/// A stored record's row, data, payload and text.
type Stored = (u64, Owned, Option<serde_json::Value>, Option<String>);

impl Collection {
    pub(crate) fn new(db: Database, name: &str) -> Self {
        Collection {
            db,
            name: name.to_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn info(&self) -> Result<CollectionInfo> {
        let snap = self.db.snapshot()?;
        Ok(CollectionInfo::of(snap.collection(&self.name)?))
    }

    /// Number of records.
    pub fn count(&self) -> Result<u64> {
        Ok(self.db.snapshot()?.collection(&self.name)?.record.count)
    }

    /// The record with this id, if any (its vector as stored, widened to f32). For
    /// multi-vector collections see [`Collection::get_multi`].
    pub fn get(&self, id: &str) -> Result<Option<Record>> {
        self.get_stored(id, CollectionKind::Vectors, "get")?
            .map(|(row, data, payload, text)| match data {
                Owned::Vector(vector) => Ok(Record {
                    id: id.to_owned(),
                    vector,
                    payload,
                    text,
                }),
                Owned::Matrix(_) => Err(Error::corrupted(format!("row {row} is a matrix"))),
            })
            .transpose()
    }

    /// The multi-vector record with this id, if any (its tokens as stored, widened to f32).
    pub fn get_multi(&self, id: &str) -> Result<Option<MultiRecord>> {
        self.get_stored(id, CollectionKind::MultiVector, "get_multi")?
            .map(|(row, data, payload, text)| match data {
                Owned::Matrix(vectors) => Ok(MultiRecord {
                    id: id.to_owned(),
                    vectors,
                    payload,
                    text,
                }),
                Owned::Vector(_) => Err(Error::corrupted(format!("row {row} is a vector"))),
            })
            .transpose()
    }

    /// A record of a collection of kind `wanted`.
    fn get_stored(
        &self,
        id: &str,
        wanted: CollectionKind,
        operation: &'static str,
    ) -> Result<Option<Stored>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        kinds::expect(&self.name, state.kind.kind(), wanted, operation)?;
        let Some(row) = snap.read.row_of(&state.record, id)? else {
            return Ok(None);
        };
        let data = state
            .kind
            .get(state.at(&snap.read), row)
            .map_err(|e| match e {
                Error::Corrupted { detail } => Error::corrupted(format!("record '{id}': {detail}")),
                other => other,
            })?;
        let payload = parse_payload(row, snap.read.payload(&state.record, row)?)?;
        Ok(Some((
            row,
            data,
            payload,
            snap.read.text(&state.record, row)?,
        )))
    }

    /// Loads the collection's records (and its index, if any) into memory now; otherwise the
    /// first search does. Returns the number of records loaded.
    pub fn load(&self) -> Result<usize> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        state.kind.load(state.at(&snap.read))
    }

    /// Bytes the loaded records and index take in memory (0 before anything is loaded).
    pub fn memory_bytes(&self) -> Result<usize> {
        Ok(self
            .db
            .snapshot()?
            .collection(&self.name)?
            .kind
            .memory_bytes())
    }

    /// Ids of all records, in insertion order.
    pub fn ids(&self) -> Result<Vec<String>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        // The stored count is only a hint: a damaged file may say anything.
        let mut out = Vec::with_capacity((state.record.count as usize).min(1 << 16));
        snap.read.for_each_key(&state.record, |_, id| {
            out.push(id.to_owned());
            Ok(())
        })?;
        Ok(out)
    }

    /// Checks that the id map, the stored records, what memory holds, the approximate index
    /// (if any), the payload indexes and the full-text index agree, that the pinned
    /// re-ranker's setting and the commit counters read; returns the record count.
    pub fn check(&self) -> Result<u64> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        snap.read.check_commit_counters()?;
        snap.read.check_change_log(&state.record)?;
        let lens = snap.read.table_lengths(&state.record)?;
        if lens.iter().any(|&l| l != state.record.count) {
            return Err(Error::corrupted(format!(
                "collection '{}': catalog counts {}, id map {}, key map {}, vectors {}",
                self.name, state.record.count, lens[0], lens[1], lens[2]
            )));
        }
        let mut seen = HashSet::new();
        snap.read.for_each_key(&state.record, |row, _| {
            seen.insert(row);
            Ok(())
        })?;
        state.kind.check(state.at(&snap.read), &seen)?;
        crate::filter::check_payload_indexes(&snap, state)?;
        crate::fulltext::check(&snap, state)?;
        // The pinned default re-ranker's setting must decode.
        self.reranker_identity()?;
        Ok(state.record.count)
    }
}

pub(crate) fn parse_payload(row: u64, bytes: Option<Vec<u8>>) -> Result<Option<serde_json::Value>> {
    bytes
        .map(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| Error::corrupted(format!("payload of row {row} is not JSON: {e}")))
        })
        .transpose()
}
