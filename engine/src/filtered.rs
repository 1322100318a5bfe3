//! Filters on a collection: matching sets, filtered search strategy, payload indexes, and
//! count / get / delete by filter.

use crate::ann;
use crate::collection::{Collection, parse_payload};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::filter::plan::Planner;
use crate::payload_index::{self, Keys, PayloadIndex, PayloadIndexKind};
use crate::search::{Record, SearchRequest};
use crate::state::{CollectionState, Snapshot};
use crate::validate;
use quiver_index::flat::{self, SearchOptions};
use quiver_index::ivf::IvfPq;
use quiver_index::{AnyArena, Neighbor, RowSet};
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
        let universe = state.live_rows(read)?;
        Planner::new(read, &state.record, &indexes, &universe).matching_rows(filter)
    })
}

/// Exact search over the allowed rows.
pub(crate) fn exact_filtered(
    arena: &AnyArena,
    query: &[f32],
    k: usize,
    allowed: &RowSet,
    opts: &SearchOptions,
) -> Vec<Neighbor> {
    quiver_index::with_arena!(arena, a => flat::search_filtered(a, query, k, opts, allowed))
}

/// IVF-PQ search restricted to `allowed`. A filter keeping a share `s` of the rows leaves
/// about `s` of each probed list, so `nprobe` grows as `1/s` to gather as many matching
/// candidates as an unfiltered search (recall at 50% selectivity stays at the unfiltered
/// level: docs/benchmarks.md). When an exact scan of the matching rows costs less than those
/// probes (see [`exact_is_cheaper`]), it answers instead; and if the probes still find fewer
/// than k matches, the exact scan answers too. Either way every hit matches, and k hits come
/// back whenever k rows match.
pub(crate) fn approximate_filtered(
    ivf: &IvfPq,
    arena: &AnyArena,
    query: &[f32],
    req: &SearchRequest<'_>,
    allowed: &RowSet,
) -> Result<Vec<Neighbor>> {
    let nprobe = req
        .nprobe
        .unwrap_or_else(|| ann::default_nprobe(ivf.nlist()));
    let refine = req.refine.unwrap_or(ann::DEFAULT_REFINE);
    validate::search_parameter("nprobe", nprobe)?;
    validate::search_parameter("refine", refine)?;
    let single = SearchOptions {
        threads: 1,
        ..SearchOptions::default()
    };
    let share = allowed.len() as f64 / arena.len().max(1) as f64;
    let probes = ((nprobe as f64 / share).ceil() as usize).clamp(1, ivf.nlist());
    if exact_is_cheaper(ivf, arena.len(), allowed.len(), probes) {
        return Ok(exact_filtered(arena, query, req.k, allowed, &single));
    }
    let candidates = ivf.search_filtered(query, probes, req.k.saturating_mul(refine), allowed);
    let rows = candidates.iter().map(|c| c.row);
    let found = quiver_index::with_arena!(arena, a => flat::rerank(a, query, rows, req.k));
    if found.len() < req.k.min(allowed.len()) {
        return Ok(exact_filtered(arena, query, req.k, allowed, &single));
    }
    Ok(found)
}

/// Cost model, in multiply-adds (or table reads): an exact scan computes one `dim`-long
/// distance per matching row, at about twice the cost per component of a sequential scan
/// (rows are visited out of order); a filtered IVF probe ranks the `nlist` centroids, builds
/// one `dim x 256` table per query, tests each code's row against the filter and reads `m`
/// table entries for each matching one.
pub(crate) fn exact_is_cheaper(ivf: &IvfPq, rows: usize, matching: usize, probes: usize) -> bool {
    let nlist = ivf.nlist().max(1) as f64;
    let dim = ivf.centroids().len() as f64 / nlist;
    let m = ivf.quantizer().m() as f64;
    let share = matching as f64 / rows.max(1) as f64;
    let exact = 2.0 * matching as f64 * dim;
    let scanned = probes as f64 * rows as f64 / nlist;
    let probed = nlist * dim + dim * 256.0 + scanned * (1.0 + share * m);
    exact <= probed
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

impl Collection {
    /// Declares a payload index on `field` (a dotted path) and fills it from the stored
    /// payloads, in one transaction. From then on every record's value at `field` must be of
    /// `kind` (or null, missing, or an array of `kind`): upserts that break this are refused
    /// with [`Error::InvalidPayload`]. Refused with [`Error::InvalidParameter`] when a stored
    /// record already breaks it (naming the record) or the field is indexed as another kind;
    /// declaring the same index again does nothing.
    pub fn create_payload_index(&self, field: &str, kind: PayloadIndexKind) -> Result<()> {
        let spec = PayloadIndex {
            field: field.to_owned(),
            kind,
        };
        let path = spec.path()?;
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let mut list = payload_index::declared(&snap.read, &state.record)?;
            if let Some(existing) = list.iter().find(|i| i.field == field) {
                if existing.kind == kind {
                    return Ok(((), Vec::new()));
                }
                return Err(Error::InvalidParameter {
                    name: "payload index",
                    reason: format!(
                        "field '{field}' is already indexed as {}; drop that index first",
                        existing.kind.name()
                    ),
                });
            }
            let mut entries = Vec::new();
            let mut failure = None;
            let reader = snap.read.row_reader(&state.record)?;
            snap.read.for_each_payload(&state.record, |row, bytes| {
                if failure.is_some() {
                    return Ok(());
                }
                let parsed = serde_json::from_slice::<serde_json::Value>(bytes);
                match parsed {
                    Ok(value) => match spec.entries(&path, Some(&value), row) {
                        Ok(keys) => entries.extend(keys),
                        Err(reason) => {
                            let id = reader.id(row)?.unwrap_or_default();
                            failure = Some(Error::InvalidParameter {
                                name: "payload index",
                                reason: format!("record '{id}': {reason}"),
                            });
                        }
                    },
                    Err(e) => {
                        failure = Some(Error::corrupted(format!(
                            "payload of row {row} is not JSON: {e}"
                        )))
                    }
                }
                Ok(())
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
            batch.put_field_entries(&state.record, &entries)?;
            list.push(spec.clone());
            batch.put_setting(
                &state.record,
                payload_index::SETTING_KEY,
                &payload_index::encode(&list)?,
            )?;
            Ok(((), Vec::new()))
        })
    }

    /// Removes the payload index on `field`; returns whether there was one. Filters on the
    /// field keep working (by reading payloads).
    pub fn drop_payload_index(&self, field: &str) -> Result<bool> {
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let mut list = payload_index::declared(&snap.read, &state.record)?;
            let before = list.len();
            list.retain(|i| i.field != field);
            if list.len() == before {
                return Ok((false, Vec::new()));
            }
            batch.clear_field(&state.record, field)?;
            batch.put_setting(
                &state.record,
                payload_index::SETTING_KEY,
                &payload_index::encode(&list)?,
            )?;
            Ok((true, Vec::new()))
        })
    }

    /// The declared payload indexes, in creation order.
    pub fn payload_indexes(&self) -> Result<Vec<PayloadIndex>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        payload_index::declared(&snap.read, &state.record)
    }

    /// How many records match `filter`.
    pub fn count_where(&self, filter: &Filter) -> Result<u64> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        Ok(allowed_rows(&snap.read, state, filter)?.len() as u64)
    }

    /// Up to `limit` records matching `filter`, oldest first (insertion order).
    pub fn get_where(&self, filter: &Filter, limit: usize) -> Result<Vec<Record>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        state.expect_kind(&self.name, false, "get_where")?;
        let arena = state.arena(&snap.read)?;
        let rows = allowed_rows(&snap.read, state, filter)?;
        let reader = snap.read.row_reader(&state.record)?;
        rows.iter()
            .take(limit)
            .map(|row| {
                let id = reader
                    .id(row)?
                    .ok_or_else(|| Error::corrupted(format!("row {row} has no id")))?;
                let vector = arena
                    .get_f32(row)
                    .ok_or_else(|| Error::corrupted(format!("record '{id}' has no vector")))?;
                Ok(Record {
                    vector,
                    payload: parse_payload(row, reader.payload(row)?)?,
                    text: reader.text(row)?,
                    id,
                })
            })
            .collect()
    }

    /// Deletes every record matching `filter`, in one transaction (evaluated on the latest
    /// commit, with writes excluded meanwhile); returns how many.
    pub fn delete_where(&self, filter: &Filter) -> Result<usize> {
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let rows = allowed_rows(&snap.read, state, filter)?;
            let reader = snap.read.row_reader(&state.record)?;
            let ids = rows
                .iter()
                .map(|row| {
                    reader
                        .id(row)?
                        .ok_or_else(|| Error::corrupted(format!("row {row} has no id")))
                })
                .collect::<Result<Vec<String>>>()?;
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            self.delete_in(batch, snap, &ids)
        })
    }

    /// Checks that the payload-index entries are exactly those the stored payloads give.
    pub(crate) fn check_payload_indexes(
        &self,
        snap: &Snapshot,
        state: &CollectionState,
    ) -> Result<()> {
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
                    self.name
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
                    self.name,
                    spec.field,
                    found.len(),
                    expected.len()
                )));
            }
        }
        Ok(())
    }
}
