//! Payload indexes kept in step with the records, in the write transaction; the matching
//! rows of a filter; and the check that indexes and payloads agree.

use super::Filter;
use super::payload_index::{self, Keys};
use super::plan::Planner;
use crate::collection::parse_payload;
use crate::db::snapshot::{CollectionState, Snapshot};
use crate::error::{Error, Result};
use quiver_index::RowSet;
use quiver_storage::{ReadSnapshot, WriteBatch};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The live rows of the collection matching `filter`, in the commit of `state` (whose cache
/// keeps the sets of its last few filters: applications tend to repeat theirs).
pub(crate) fn allowed_rows(
    read: &ReadSnapshot,
    state: &CollectionState,
    filter: &Filter,
) -> Result<Arc<RowSet>> {
    filter.validate()?;
    state.filter_rows(filter.to_json().to_string(), || {
        let indexes = payload_index::declared(read, &state.record)?;
        let universe = state.kind.live_rows(state.at(read))?;
        Planner::new(read, &state.record, &indexes, &universe).matching_rows(filter)
    })
}

/// Keeps payload-index entries in step with a batch of puts: removes the entries of the
/// payloads replaced (as committed) and adds those of the new ones. `puts` are (position in
/// the batch, row, replaced, payload) in batch order; a later put of the same row wins.
pub(crate) fn index_puts(
    batch: &mut WriteBatch,
    snap: &Snapshot,
    state: &CollectionState,
    puts: &[(usize, u64, bool, Option<&serde_json::Value>)],
) -> Result<()> {
    let keys = Keys::new(payload_index::declared(&snap.read, &state.record)?)?;
    if keys.is_empty() {
        return Ok(());
    }
    let reader = snap.read.row_reader(&state.record)?;
    let mut old = Vec::new();
    let mut new: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
    for &(position, row, replaced, payload) in puts {
        if replaced && !new.contains_key(&row) {
            let committed = parse_payload(row, reader.payload(row)?)?;
            old.extend(
                keys.of(committed.as_ref(), row)
                    .map_err(|reason| Error::corrupted(format!("row {row}: {reason}")))?,
            );
        }
        let entries = keys
            .of(payload, row)
            .map_err(|reason| Error::InvalidPayload { position, reason })?;
        new.insert(row, entries);
    }
    batch.remove_field_entries(&state.record, &old)?;
    let new: Vec<Vec<u8>> = new.into_values().flatten().collect();
    batch.put_field_entries(&state.record, &new)?;
    Ok(())
}

/// Removes the payload-index entries of deleted rows (payloads as committed).
pub(crate) fn index_deletes(
    batch: &mut WriteBatch,
    snap: &Snapshot,
    state: &CollectionState,
    rows: &[u64],
) -> Result<()> {
    let keys = Keys::new(payload_index::declared(&snap.read, &state.record)?)?;
    if keys.is_empty() || rows.is_empty() {
        return Ok(());
    }
    let reader = snap.read.row_reader(&state.record)?;
    let mut old = Vec::new();
    for &row in rows {
        let committed = parse_payload(row, reader.payload(row)?)?;
        old.extend(
            keys.of(committed.as_ref(), row)
                .map_err(|reason| Error::corrupted(format!("row {row}: {reason}")))?,
        );
    }
    batch.remove_field_entries(&state.record, &old)?;
    Ok(())
}

/// Checks that the payload-index entries are exactly those the stored payloads give.
pub(crate) fn check_payload_indexes(snap: &Snapshot, state: &CollectionState) -> Result<()> {
    let list = payload_index::declared(&snap.read, &state.record)?;
    for spec in list {
        let path = spec.path()?;
        let mut expected = Vec::new();
        let mut failure = None;
        snap.read.for_each_payload(&state.record, |row, bytes| {
            let value: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
            match spec.entries(&path, value.as_ref(), row) {
                Ok(keys) => expected.extend(keys),
                Err(reason) => failure = Some(reason),
            }
            Ok(())
        })?;
        if let Some(reason) = failure {
            return Err(Error::corrupted(format!(
                "collection '{}': a payload breaks its index: {reason}",
                state.record.name
            )));
        }
        expected.sort_unstable();
        let found = snap.read.field_keys(
            &state.record,
            &quiver_storage::fields::field_range(&spec.field),
        )?;
        if found != expected {
            return Err(Error::corrupted(format!(
                "collection '{}': payload index on '{}' has {} entries, the payloads give {}",
                state.record.name,
                spec.field,
                found.len(),
                expected.len()
            )));
        }
    }
    Ok(())
}
