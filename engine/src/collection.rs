//! [`Collection`]: records, their vectors and payloads, and search over them.

use crate::ann::{self, IndexInfo, IvfPqParams};
use crate::database::Database;
use crate::error::{Error, Result};
use crate::search::{Hit, Record, SearchRequest};
use crate::state::{Change, CollectionState, PostingChange, Snapshot};
use crate::{filtered, validate, vectors};
use quiver_index::flat::{self, SearchOptions};
use quiver_index::ivf::IvfPq;
use quiver_index::{AnyArena, ElementType, Metric, Neighbor};
use quiver_storage::index_store::Posting;
use quiver_storage::{PutRecord, RowReader, WriteBatch};
use std::collections::HashSet;
use std::sync::Arc;

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
    /// Records are token matrices (see `CollectionConfig::multi_vector`).
    pub multi_vector: bool,
}

impl CollectionInfo {
    pub(crate) fn of(state: &CollectionState) -> Result<CollectionInfo> {
        Ok(CollectionInfo {
            name: state.record.name.clone(),
            dim: state.schema.dim,
            metric: state.schema.metric,
            element_type: state.schema.element,
            count: state.record.count,
            created_at_ms: state.record.created_at_ms,
            format_version: state.record.version,
            multi_vector: state.record.is_multi_vector(),
        })
    }
}

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
        let snap = self.db.snapshot();
        CollectionInfo::of(snap.collection(&self.name)?)
    }

    /// Number of records.
    pub fn count(&self) -> Result<u64> {
        Ok(self.db.snapshot().collection(&self.name)?.record.count)
    }

    /// Inserts records, replacing any with the same id (vector and payload both; a record
    /// without payload removes the old payload, and a record inserted as text loses its
    /// text: `Record::text` is ignored here, see [`Collection::upsert_texts`]). The batch is one transaction: when this
    /// returns `Ok`, all of it is durable; when it returns `Err`, none of it was written.
    /// Within a batch, a later record with the same id wins.
    pub fn upsert(&self, records: &[Record]) -> Result<()> {
        self.upsert_records(records, false)
    }

    /// `upsert`, storing each record's `text` when `with_texts` (text writes, whose vectors
    /// the collection's pinned model computed).
    pub(crate) fn upsert_records(&self, records: &[Record], with_texts: bool) -> Result<()> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        state.expect_kind(&self.name, false, "upsert")?;
        let (schema, collection_id) = (state.schema, state.record.id);
        let mut encoded = Vec::with_capacity(records.len());
        for (position, r) in records.iter().enumerate() {
            validate::id(position, &r.id)?;
            validate::vector(Some(position), &r.vector, &schema)?;
            let payload = r
                .payload
                .as_ref()
                .map(|p| validate::payload(position, p))
                .transpose()?;
            encoded.push((vectors::encode(schema.element, &r.vector), payload));
        }
        if records.is_empty() {
            return Ok(());
        }
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            if state.record.id != collection_id {
                // Dropped and re-created since validation (and embedding).
                return Err(Error::CollectionNotFound {
                    name: self.name.clone(),
                });
            }
            let mut record = state.record.clone();
            let puts: Vec<PutRecord<'_>> = records
                .iter()
                .zip(&encoded)
                .map(|(r, (v, p))| PutRecord {
                    id: &r.id,
                    vector: v,
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
            let puts = outcomes
                .iter()
                .zip(&encoded)
                .map(|(o, (bytes, _))| Ok((o.row, vectors::decode(&schema, bytes)?)))
                .collect::<Result<Vec<_>>>()?;
            let postings = match state.index(&snap.read)? {
                Some(ivf) => {
                    let new: Vec<Posting> = puts
                        .iter()
                        .map(|(row, v)| {
                            let (cell, code) = ivf.encode(v);
                            Posting {
                                row: *row,
                                cell: cell as u32,
                                code,
                            }
                        })
                        .collect();
                    let previous = batch.put_postings(&record, &new)?;
                    new.into_iter()
                        .zip(previous)
                        .map(|(p, previous)| PostingChange {
                            row: p.row,
                            previous,
                            new: Some((p.cell as usize, p.code)),
                        })
                        .collect()
                }
                None => Vec::new(),
            };
            Ok((
                (),
                vec![Change::Modified {
                    record,
                    puts,
                    deletes: Vec::new(),
                    postings,
                }],
            ))
        })
    }

    /// Deletes records by id in one transaction; unknown ids are ignored. Returns how many
    /// records were deleted.
    pub fn delete(&self, ids: &[&str]) -> Result<usize> {
        self.db
            .write(|batch, snap| self.delete_in(batch, snap, ids))
    }

    /// `delete` inside a write transaction.
    pub(crate) fn delete_in(
        &self,
        batch: &mut WriteBatch,
        snap: &Snapshot,
        ids: &[&str],
    ) -> Result<(usize, Vec<Change>)> {
        {
            let state = snap.collection(&self.name)?;
            if state.record.is_multi_vector() {
                return crate::multi::delete_in(batch, snap, state, ids);
            }
            let mut record = state.record.clone();
            let rows = batch.delete_many(&mut record, ids)?;
            let deletes: Vec<u64> = rows.into_iter().flatten().collect();
            filtered::index_deletes(batch, snap, state, &deletes)?;
            let n = deletes.len();
            if n > 0 {
                batch.save_collection(&record)?;
            }
            let postings = if state.index(&snap.read)?.is_some() {
                let previous = batch.delete_postings(&record, &deletes)?;
                deletes
                    .iter()
                    .zip(previous)
                    .map(|(&row, previous)| PostingChange {
                        row,
                        previous,
                        new: None,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok((
                n,
                vec![Change::Modified {
                    record,
                    puts: Vec::new(),
                    deletes,
                    postings,
                }],
            ))
        }
    }

    /// The record with this id, if any (its vector as stored, widened to f32).
    pub fn get(&self, id: &str) -> Result<Option<Record>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        state.expect_kind(&self.name, false, "get")?;
        let Some(row) = snap.read.row_of(&state.record, id)? else {
            return Ok(None);
        };
        let bytes = snap
            .read
            .vector(&state.record, row)?
            .ok_or_else(|| Error::corrupted(format!("record '{id}' has no vector")))?;
        Ok(Some(Record {
            id: id.to_owned(),
            vector: vectors::decode(&state.schema, &bytes)?,
            payload: parse_payload(row, snap.read.payload(&state.record, row)?)?,
            text: snap.read.text(&state.record, row)?,
        }))
    }

    /// The `k` records closest to `vector`, closest first, with payloads.
    pub fn search(&self, vector: &[f32], k: usize) -> Result<Vec<Hit>> {
        self.search_with(&SearchRequest::new(vector, k))
    }

    pub fn search_with(&self, req: &SearchRequest<'_>) -> Result<Vec<Hit>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        state.expect_kind(&self.name, false, "search")?;
        req.validate_options()?;
        validate::vector(None, req.vector, &state.schema)?;
        let arena = state.arena(&snap.read)?;
        let index = if req.exact {
            None
        } else {
            state.index(&snap.read)?
        };
        let allowed = req
            .filter
            .map(|f| filtered::allowed_rows(&snap.read, state, f))
            .transpose()?;
        let opts = SearchOptions::default();
        let neighbors = match (index, &allowed) {
            (Some(ivf), None) => approximate(&ivf, &arena, req.vector, req)?,
            (Some(ivf), Some(allowed)) => {
                filtered::approximate_filtered(&ivf, &arena, req.vector, req, allowed)?
            }
            (None, None) => {
                quiver_index::with_arena!(&*arena, a => flat::search(a, req.vector, req.k, &opts))
            }
            (None, Some(allowed)) => {
                filtered::exact_filtered(&arena, req.vector, req.k, allowed, &opts)
            }
        };
        let reader = snap.read.row_reader(&state.record)?;
        hits(&reader, state.schema.metric, &arena, neighbors, req)
    }

    /// Builds (or rebuilds) the collection's IVF-PQ index from its stored vectors and swaps it
    /// in atomically: one transaction writes centroids, codebooks and every row's code. Writes
    /// wait while it trains; searches go on (on the previous state). Later upserts and deletes
    /// keep the index up to date in their own transactions.
    pub fn create_index(&self, params: &IvfPqParams) -> Result<IndexInfo> {
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            state.expect_kind(&self.name, false, "create_index")?;
            let arena = state.arena(&snap.read)?;
            let (ivf, postings, info) = ann::build(&state.schema, &arena, params)?;
            let (centroids, codebooks) = ann::encode_parts(&ivf);
            batch.replace_index(
                &state.record,
                &ann::header(&ivf, info.seed),
                &centroids,
                &codebooks,
                &postings,
            )?;
            Ok((
                info,
                vec![Change::IndexReplaced {
                    name: self.name.clone(),
                    index: Some(Arc::new(ivf)),
                }],
            ))
        })
    }

    /// Removes the approximate index (searches become exact); returns whether there was one.
    pub fn drop_index(&self) -> Result<bool> {
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let had = batch.drop_index(&state.record)?;
            let change = if state.record.is_multi_vector() {
                Change::TokenIndexReplaced {
                    name: self.name.clone(),
                    index: None,
                }
            } else {
                Change::IndexReplaced {
                    name: self.name.clone(),
                    index: None,
                }
            };
            Ok((had, vec![change]))
        })
    }

    /// The approximate index's shape, if the collection has one.
    pub fn index_info(&self) -> Result<Option<IndexInfo>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        if state.record.is_multi_vector() {
            return Ok(None);
        }
        Ok(state.index(&snap.read)?.map(|ivf| IndexInfo {
            nlist: ivf.nlist(),
            m: ivf.quantizer().m(),
            indexed: ivf.len(),
            seed: ivf.seed(),
            memory_bytes: ivf.memory_bytes(),
        }))
    }

    /// Many searches in one pass over the vectors (much faster than one at a time for large
    /// batches). Results are in query order.
    pub fn search_batch<Q: AsRef<[f32]>>(&self, queries: &[Q], k: usize) -> Result<Vec<Vec<Hit>>> {
        self.search_batch_with(queries, &SearchRequest::new(&[], k))
    }

    /// [`Collection::search_batch`] with the options of `template` (k, payloads, vectors,
    /// exact, nprobe, refine); `template.vector` is ignored.
    pub fn search_batch_with<Q: AsRef<[f32]>>(
        &self,
        queries: &[Q],
        template: &SearchRequest<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        let k = template.k;
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        state.expect_kind(&self.name, false, "search_batch")?;
        template.validate_options()?;
        let mut flat_queries = Vec::with_capacity(queries.len() * state.schema.dim);
        for q in queries {
            validate::vector(None, q.as_ref(), &state.schema)?;
            flat_queries.extend_from_slice(q.as_ref());
        }
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let arena = state.arena(&snap.read)?;
        let req = template;
        let index = if req.exact {
            None
        } else {
            state.index(&snap.read)?
        };
        let allowed = req
            .filter
            .map(|f| filtered::allowed_rows(&snap.read, state, f))
            .transpose()?;
        let dim = state.schema.dim;
        let results = match (index, allowed) {
            (index, Some(allowed)) => {
                let single = SearchOptions {
                    threads: 1,
                    ..SearchOptions::default()
                };
                per_query_parallel(&flat_queries, dim, |q| match &index {
                    Some(ivf) => filtered::approximate_filtered(ivf, &arena, q, req, &allowed),
                    None => Ok(filtered::exact_filtered(&arena, q, k, &allowed, &single)),
                })?
            }
            (Some(ivf), None) => {
                per_query_parallel(&flat_queries, dim, |q| approximate(&ivf, &arena, q, req))?
            }
            (None, None) => {
                let opts = SearchOptions::default();
                quiver_index::with_arena!(&*arena, a => flat::search_batch(a, &flat_queries, k, &opts))
            }
        };
        let reader = snap.read.row_reader(&state.record)?;
        results
            .into_iter()
            .map(|n| hits(&reader, state.schema.metric, &arena, n, req))
            .collect()
    }

    /// Loads the collection's vectors (and its index, if any) into memory now; otherwise the
    /// first search does. Returns the number of vectors loaded.
    pub fn load(&self) -> Result<usize> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        if state.record.is_multi_vector() {
            state.token_index(&snap.read)?;
            return Ok(state.tokens(&snap.read)?.len());
        }
        state.index(&snap.read)?;
        Ok(state.arena(&snap.read)?.len())
    }

    /// Ids of all records, in insertion order.
    pub fn ids(&self) -> Result<Vec<String>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        // The stored count is only a hint: a damaged file may say anything.
        let mut out = Vec::with_capacity((state.record.count as usize).min(1 << 16));
        snap.read.for_each_key(&state.record, |_, id| {
            out.push(id.to_owned());
            Ok(())
        })?;
        Ok(out)
    }

    /// Checks that the id map, vectors, in-memory arena and approximate index (if any) agree;
    /// returns the record count.
    pub fn check(&self) -> Result<u64> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
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
        if state.record.is_multi_vector() {
            crate::multi::check(&snap, state, &seen)?;
            self.check_payload_indexes(&snap, state)?;
            return Ok(state.record.count);
        }
        let arena = state.arena(&snap.read)?;
        let arena_rows: HashSet<u64> = quiver_index::with_arena!(&*arena, a => a.rows().collect());
        if arena_rows != seen {
            return Err(Error::corrupted(format!(
                "collection '{}': in-memory rows differ from stored rows",
                self.name
            )));
        }
        if let Some(ivf) = state.index(&snap.read)? {
            let indexed: HashSet<u64> = (0..ivf.nlist())
                .flat_map(|c| ivf.list(c).rows.iter().copied())
                .collect();
            if indexed != seen || ivf.len() != seen.len() {
                return Err(Error::corrupted(format!(
                    "collection '{}': the index holds {} rows ({} distinct), the data {}",
                    self.name,
                    ivf.len(),
                    indexed.len(),
                    seen.len()
                )));
            }
        }
        self.check_payload_indexes(&snap, state)?;
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

/// Answers each query with `search`, the batch split over the cores (one query per task).
fn per_query_parallel(
    queries: &[f32],
    dim: usize,
    search: impl Fn(&[f32]) -> Result<Vec<Neighbor>> + Sync,
) -> Result<Vec<Vec<Neighbor>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = (queries.len() / dim).div_ceil(threads).max(1) * dim;
    let parts: Vec<Result<Vec<Vec<Neighbor>>>> = std::thread::scope(|s| {
        let handles: Vec<_> = queries
            .chunks(per)
            .map(|part| {
                let search = &search;
                s.spawn(move || part.chunks_exact(dim).map(search).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut all = Vec::with_capacity(queries.len() / dim);
    for part in parts {
        all.extend(part?);
    }
    Ok(all)
}

/// IVF-PQ candidates re-ranked exactly against the stored vectors.
fn approximate(
    ivf: &IvfPq,
    arena: &AnyArena,
    query: &[f32],
    req: &SearchRequest<'_>,
) -> Result<Vec<Neighbor>> {
    let nprobe = req
        .nprobe
        .unwrap_or_else(|| ann::default_nprobe(ivf.nlist()));
    // Given values were checked by `SearchRequest::validate_options`; defaults are valid.
    let refine = req.refine.unwrap_or(ann::DEFAULT_REFINE);
    let candidates = ivf.search(query, nprobe, req.k.saturating_mul(refine));
    let rows = candidates.iter().map(|c| c.row);
    Ok(quiver_index::with_arena!(arena, a => flat::rerank(a, query, rows, req.k)))
}

fn hits(
    reader: &RowReader,
    metric: Metric,
    arena: &AnyArena,
    neighbors: Vec<Neighbor>,
    req: &SearchRequest<'_>,
) -> Result<Vec<Hit>> {
    neighbors
        .into_iter()
        .map(|n| {
            let id = reader
                .id(n.row)?
                .ok_or_else(|| Error::corrupted(format!("row {} has no id", n.row)))?;
            Ok(Hit {
                id,
                score: metric.score(n.distance),
                payload: if req.include_payload {
                    parse_payload(n.row, reader.payload(n.row)?)?
                } else {
                    None
                },
                text: if req.include_payload {
                    reader.text(n.row)?
                } else {
                    None
                },
                vector: if req.include_vector {
                    arena.get_f32(n.row)
                } else {
                    None
                },
            })
        })
        .collect()
}
