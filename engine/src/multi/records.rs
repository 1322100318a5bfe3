//! Writing and reading multi-vector records, and building the token index.

use super::tokens::{self, decode, encode, prepare, validate_matrix};
use crate::collection::{Collection, parse_payload};
use crate::error::{Error, Result};
use crate::state::{Change, CollectionState, Snapshot};
use crate::{filtered, limits, validate};
use quiver_index::multi::{TokenIndex, TokenIndexParams};
use quiver_storage::{PutRecord, WriteBatch};
use serde_json::Value;
use std::sync::Arc;

/// A multi-vector record: an id, a matrix of token vectors (one `Vec` per token, each of the
/// collection's dimension), an optional JSON-object payload and source text.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiRecord {
    pub id: String,
    pub vectors: Vec<Vec<f32>>,
    pub payload: Option<Value>,
    /// The text the matrix was computed from (text collections; ignored by `upsert_multi`).
    pub text: Option<String>,
}

impl MultiRecord {
    pub fn new(id: impl Into<String>, vectors: Vec<Vec<f32>>) -> Self {
        MultiRecord {
            id: id.into(),
            vectors,
            payload: None,
            text: None,
        }
    }

    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = Some(payload);
        self
    }
}

/// The token index's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiIndexInfo {
    pub centroids: usize,
    /// Records indexed (all of them: writes keep the index current).
    pub indexed: usize,
    pub seed: u64,
    /// Centroids, centroid sets and lists in memory.
    pub memory_bytes: usize,
}

impl Collection {
    /// Inserts multi-vector records, replacing any with the same id, in one transaction
    /// (as [`Collection::upsert`]). With a token index, each record's tokens are assigned to
    /// their centroids in the same transaction. Bad input (an empty matrix, more than
    /// [`limits::MAX_TOKENS`] tokens, a token of the wrong dimension, NaN) is refused before
    /// anything is written.
    pub fn upsert_multi(&self, records: &[MultiRecord]) -> Result<()> {
        self.upsert_multi_records(records, false)
    }

    pub(crate) fn upsert_multi_records(
        &self,
        records: &[MultiRecord],
        with_texts: bool,
    ) -> Result<()> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        state.expect_kind(&self.name, true, "upsert_multi")?;
        let (schema, collection_id) = (state.schema, state.record.id);
        let mut encoded = Vec::with_capacity(records.len());
        for (position, r) in records.iter().enumerate() {
            validate::id(position, &r.id)?;
            let flat = validate_matrix(Some(position), &r.vectors, &schema, limits::MAX_TOKENS)?;
            let payload = r
                .payload
                .as_ref()
                .map(|p| validate::payload(position, p))
                .transpose()?;
            let prepared: Arc<[f32]> = Arc::from(prepare(&schema, &flat));
            encoded.push((encode(&schema, &flat), payload, prepared));
        }
        if records.is_empty() {
            return Ok(());
        }
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            if state.record.id != collection_id {
                return Err(Error::CollectionNotFound {
                    name: self.name.clone(),
                });
            }
            let mut record = state.record.clone();
            let puts: Vec<PutRecord<'_>> = records
                .iter()
                .zip(&encoded)
                .map(|(r, (m, p, _))| PutRecord {
                    id: &r.id,
                    vector: m,
                    payload: p.as_deref(),
                    text: if with_texts {
                        r.text.as_deref().map(str::as_bytes)
                    } else {
                        None
                    },
                })
                .collect();
            let outcomes = batch.put_many(&mut record, &puts)?;
            batch.save_collection(&record)?;
            let indexed: Vec<_> = outcomes
                .iter()
                .zip(records)
                .enumerate()
                .map(|(position, (o, r))| (position, o.row, o.replaced, r.payload.as_ref()))
                .collect();
            filtered::index_puts(batch, snap, state, &indexed)?;
            let puts: Vec<(u64, Arc<[f32]>)> = outcomes
                .iter()
                .zip(&encoded)
                .map(|(o, (_, _, m))| (o.row, m.clone()))
                .collect();
            let codes = match state.token_index(&snap.read)? {
                Some(index) => {
                    let docs: Vec<&[f32]> = puts.iter().map(|(_, m)| &m[..]).collect();
                    let sets = index.encode_many(&docs, 0);
                    let rows_codes: Vec<(u64, Vec<u32>)> =
                        puts.iter().map(|(row, _)| *row).zip(sets).collect();
                    let stored: Vec<(u64, Vec<u8>)> = rows_codes
                        .iter()
                        .map(|(row, set)| (*row, tokens::encode_codes(set)))
                        .collect();
                    batch.put_token_codes(&record, &stored)?;
                    rows_codes
                }
                None => Vec::new(),
            };
            Ok((
                (),
                vec![Change::MultiModified {
                    record,
                    puts,
                    deletes: Vec::new(),
                    codes,
                }],
            ))
        })
    }

    /// The multi-vector record with this id, if any (its tokens as stored, widened to f32).
    pub fn get_multi(&self, id: &str) -> Result<Option<MultiRecord>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        state.expect_kind(&self.name, true, "get_multi")?;
        let Some(row) = snap.read.row_of(&state.record, id)? else {
            return Ok(None);
        };
        let bytes = snap
            .read
            .matrix(&state.record, row)?
            .ok_or_else(|| Error::corrupted(format!("record '{id}' has no token matrix")))?;
        let flat = decode(&state.schema, &bytes)?;
        Ok(Some(MultiRecord {
            id: id.to_owned(),
            vectors: flat
                .chunks_exact(state.schema.dim)
                .map(<[f32]>::to_vec)
                .collect(),
            payload: parse_payload(row, snap.read.payload(&state.record, row)?)?,
            text: snap.read.text(&state.record, row)?,
        }))
    }

    /// Builds (or rebuilds) the token index from the stored matrices and swaps it in
    /// atomically (one transaction writes centroids and every record's centroid set).
    /// Later writes keep it current. See [`TokenIndexParams`] for the defaults.
    pub fn create_multi_index(&self, params: &TokenIndexParams) -> Result<MultiIndexInfo> {
        if params.centroids == Some(0) || params.centroids.is_some_and(|c| c > 1 << 20) {
            return Err(Error::InvalidParameter {
                name: "centroids",
                reason: "must be between 1 and 1048576".into(),
            });
        }
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            state.expect_kind(&self.name, true, "create_multi_index")?;
            let store = state.tokens(&snap.read)?;
            if store.is_empty() {
                return Err(Error::InvalidParameter {
                    name: "collection",
                    reason: "an index is trained on the stored tokens; the collection is empty"
                        .into(),
                });
            }
            let dim = store.dim();
            let all: Vec<f32> = store.iter().flat_map(|(_, d)| d.iter().copied()).collect();
            let mut index = TokenIndex::train(&all, dim, params);
            drop(all);
            let rows: Vec<u64> = store.iter().map(|(r, _)| r).collect();
            let docs: Vec<&[f32]> = store.iter().map(|(_, d)| d).collect();
            let sets = index.encode_many(&docs, params.threads);
            let mut stored = Vec::with_capacity(rows.len());
            for (row, set) in rows.iter().zip(&sets) {
                index.insert(*row, set);
                stored.push((*row, tokens::encode_codes(set)));
            }
            let centroids = quiver_storage::codec::encode_f32(index.centroids());
            batch.replace_token_index(
                &state.record,
                &tokens::encode_header(index.centroid_count(), dim, params.seed),
                &centroids,
                &stored,
            )?;
            let info = info(&index);
            Ok((
                info,
                vec![Change::TokenIndexReplaced {
                    name: self.name.clone(),
                    index: Some(Arc::new(index)),
                }],
            ))
        })
    }

    /// The token index's shape, if the collection has one.
    pub fn multi_index_info(&self) -> Result<Option<MultiIndexInfo>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        state.expect_kind(&self.name, true, "multi_index_info")?;
        Ok(state.token_index(&snap.read)?.map(|i| info(&i)))
    }
}

fn info(index: &TokenIndex) -> MultiIndexInfo {
    MultiIndexInfo {
        centroids: index.centroid_count(),
        indexed: index.len(),
        seed: index.seed(),
        memory_bytes: index.memory_bytes(),
    }
}

/// `Collection::delete_in` for multi-vector collections.
pub(crate) fn delete_in(
    batch: &mut WriteBatch,
    snap: &Snapshot,
    state: &CollectionState,
    ids: &[&str],
) -> Result<(usize, Vec<Change>)> {
    let mut record = state.record.clone();
    let rows = batch.delete_many(&mut record, ids)?;
    let deletes: Vec<u64> = rows.into_iter().flatten().collect();
    filtered::index_deletes(batch, snap, state, &deletes)?;
    if !deletes.is_empty() {
        batch.save_collection(&record)?;
        if state.token_index(&snap.read)?.is_some() {
            batch.delete_token_codes(&record, &deletes)?;
        }
    }
    Ok((
        deletes.len(),
        vec![Change::MultiModified {
            record,
            puts: Vec::new(),
            deletes,
            codes: Vec::new(),
        }],
    ))
}
