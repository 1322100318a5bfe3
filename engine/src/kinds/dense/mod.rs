//! Dense collections: one vector a record. Stored: each row's vector in the `vectors`
//! table (the collection's element type); with an IVF-PQ index, its header, centroids and
//! codebooks in the `index` table and each row's cell and code in `postings`, written in
//! the same transaction as the records. In memory: a [`VectorArena`](quiver_index::arena)
//! and the [`IvfPq`] index, carried from commit to commit sharing unchanged chunks.

pub(crate) mod ann;
mod funnel;
mod search;
pub(crate) mod vectors;

use super::lazy::Parts;
use super::{At, Data, Found, Kind, Owned, Prepared, check_outputs};
use crate::collection::{IndexInfo, IndexParams, IvfPqInfo, SearchOptions};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::kinds::CollectionKind;
use crate::schema::Schema;
use crate::validate;
use quiver_index::ivf::IvfPq;
use quiver_index::{AnyArena, Metric, RowSet, with_arena};
use quiver_storage::WriteBatch;
use quiver_storage::index_store::Posting;
use std::collections::HashSet;
use std::sync::Arc;

/// A dense collection's in-memory state of one commit; each part loads on first use.
pub(crate) struct DenseState {
    schema: Schema,
    parts: Parts<AnyArena, IvfPq>,
}

impl DenseState {
    pub fn new(schema: Schema) -> Self {
        DenseState {
            schema,
            parts: Parts::new(None, None),
        }
    }

    /// The arena, loaded from `at` on first use.
    fn arena(&self, at: At<'_>) -> Result<Arc<AnyArena>> {
        self.parts
            .data(|| vectors::load_arena(&self.schema, at.record, at.read))
    }

    /// The approximate index, if there is one, loaded on first use.
    fn index(&self, at: At<'_>) -> Result<Option<Arc<IvfPq>>> {
        self.parts
            .index(|| ann::load(&self.schema, at.record, at.read))
    }

    /// The state after a batch: loaded parts carried forward with the changes applied
    /// (copy-on-write chunks and lists); unloaded parts stay unloaded.
    fn next(&self, puts: &[(u64, Vec<f32>)], deletes: &[u64], postings: &[Change]) -> Self {
        let parts = self.parts.next(
            |arena| {
                for (row, v) in puts {
                    arena.set_f32(*row, v);
                }
                for row in deletes {
                    arena.remove(*row);
                }
            },
            |ivf| {
                for p in postings {
                    if let Some(cell) = p.previous {
                        ivf.remove_from(p.row, cell as usize);
                    }
                    if let Some((cell, code)) = &p.new {
                        ivf.insert_code(p.row, *cell, code);
                    }
                }
            },
        );
        DenseState {
            schema: self.schema,
            parts,
        }
    }
}

/// Index maintenance of one row, in commit order: (row, previous cell, new cell and code).
struct Change {
    row: u64,
    previous: Option<u32>,
    new: Option<(usize, Vec<u8>)>,
}

fn info(ivf: &IvfPq) -> IndexInfo {
    IndexInfo::IvfPq(IvfPqInfo {
        nlist: ivf.nlist(),
        m: ivf.quantizer().m(),
        bits: if ivf.fast_scan() { 4 } else { 8 },
        indexed: ivf.len(),
        seed: ivf.seed(),
        memory_bytes: ivf.memory_bytes(),
    })
}

impl Kind for DenseState {
    fn kind(&self) -> CollectionKind {
        CollectionKind::Vectors
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn load(&self, at: At<'_>) -> Result<usize> {
        self.index(at)?;
        Ok(self.arena(at)?.len())
    }

    fn live_rows(&self, at: At<'_>) -> Result<RowSet> {
        let arena = self.arena(at)?;
        Ok(with_arena!(&*arena, a => a.rows().collect()))
    }

    fn check(&self, at: At<'_>, rows: &HashSet<u64>) -> Result<()> {
        let name = &at.record.name;
        let arena = self.arena(at)?;
        let arena_rows: HashSet<u64> = with_arena!(&*arena, a => a.rows().collect());
        if &arena_rows != rows {
            return Err(Error::corrupted(format!(
                "collection '{name}': in-memory rows differ from stored rows"
            )));
        }
        if let Some(ivf) = self.index(at)? {
            let indexed: HashSet<u64> = (0..ivf.nlist())
                .flat_map(|c| ivf.list(c).rows.iter().copied())
                .collect();
            if &indexed != rows || ivf.len() != rows.len() {
                return Err(Error::corrupted(format!(
                    "collection '{name}': the index holds {} rows ({} distinct), the data {}",
                    ivf.len(),
                    indexed.len(),
                    rows.len()
                )));
            }
            // Each row sits in memory in the cell, with the code, its stored posting names.
            let m = ivf.quantizer().m();
            let mut held = std::collections::HashMap::with_capacity(rows.len());
            for c in 0..ivf.nlist() {
                let list = ivf.list(c);
                for (i, &row) in list.rows.iter().enumerate() {
                    held.insert(row, (c as u32, list.code(i, m)));
                }
            }
            at.read.for_each_posting(at.record, |row, cell, code| {
                if held
                    .get(&row)
                    .is_none_or(|(c, held)| *c != cell || held != code)
                {
                    return Err(quiver_storage::StorageError::Corrupted {
                        detail: format!(
                            "collection '{name}': row {row}'s posting (cell {cell}) differs \
                             from the index in memory"
                        ),
                    });
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        let arena = self.parts.loaded_data().map_or(0, |a| a.memory_bytes());
        arena + self.parts.loaded_index().map_or(0, IvfPq::memory_bytes)
    }

    fn prepare(&self, data: &[Data<'_>]) -> Result<Prepared> {
        let mut stored = Vec::with_capacity(data.len());
        for (position, d) in data.iter().enumerate() {
            let Data::Vector(v) = d else {
                return Err(wrong_data());
            };
            validate::vector(Some(position), v, &self.schema)?;
            stored.push(vectors::encode(self.schema.element, v));
        }
        Ok(Prepared {
            stored,
            extra: Box::new(()),
        })
    }

    fn put(
        &self,
        batch: &mut WriteBatch,
        at: At<'_>,
        rows: &[u64],
        prepared: Prepared,
    ) -> Result<Arc<dyn Kind>> {
        // The vectors as stored (rounded to the element type) are what memory holds.
        let puts = rows
            .iter()
            .zip(&prepared.stored)
            .map(|(&row, bytes)| Ok((row, vectors::decode(&self.schema, bytes)?)))
            .collect::<Result<Vec<_>>>()?;
        let changes = match self.index(at)? {
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
                let previous = batch.put_postings(at.record, &new)?;
                new.into_iter()
                    .zip(previous)
                    .map(|(p, previous)| Change {
                        row: p.row,
                        previous,
                        new: Some((p.cell as usize, p.code)),
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        Ok(Arc::new(self.next(&puts, &[], &changes)))
    }

    fn delete(&self, batch: &mut WriteBatch, at: At<'_>, rows: &[u64]) -> Result<Arc<dyn Kind>> {
        let changes = if self.index(at)?.is_some() {
            let previous = batch.delete_postings(at.record, rows)?;
            rows.iter()
                .zip(previous)
                .map(|(&row, previous)| Change {
                    row,
                    previous,
                    new: None,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Arc::new(self.next(&[], rows, &changes)))
    }

    fn create_index(
        &self,
        batch: &mut WriteBatch,
        at: At<'_>,
        params: &IndexParams,
    ) -> Result<(IndexInfo, Arc<dyn Kind>)> {
        let IndexParams::IvfPq(params) = params else {
            return Err(wrong_data());
        };
        let arena = self.arena(at)?;
        let (ivf, postings) = ann::build(&self.schema, &arena, params)?;
        let (centroids, codebooks) = ann::encode_parts(&ivf);
        batch.replace_index(
            at.record,
            &ann::header(&ivf),
            &centroids,
            &codebooks,
            &postings,
        )?;
        let info = info(&ivf);
        let next = DenseState {
            schema: self.schema,
            parts: self.parts.with_index(Some(arena), Some(Arc::new(ivf))),
        };
        Ok((info, Arc::new(next)))
    }

    fn without_index(&self) -> Arc<dyn Kind> {
        Arc::new(DenseState {
            schema: self.schema,
            parts: self.parts.with_index(None, None),
        })
    }

    fn caught_up(
        &self,
        before: At<'_>,
        after: At<'_>,
        rows: &[u64],
    ) -> Result<Option<Arc<dyn Kind>>> {
        if self.parts.loaded_data().is_none() && self.parts.loaded_index().is_none() {
            return Ok(None);
        }
        let mut stored = Vec::new();
        let mut deletes = Vec::new();
        after
            .read
            .for_each_vector_of(after.record, rows, |row, bytes| {
                match bytes {
                    Some(bytes) => stored.push((row, bytes.to_vec())),
                    None => deletes.push(row),
                }
                Ok(())
            })?;
        let puts = stored
            .into_iter()
            .map(|(row, bytes)| Ok((row, vectors::decode(&self.schema, &bytes)?)))
            .collect::<Result<Vec<_>>>()?;
        // Each changed row's posting: out of the cell it was in (read from the old commit),
        // into the cell it is in now.
        let mut changes = Vec::new();
        if self.parts.loaded_index().is_some() {
            for &row in rows {
                let previous = before
                    .read
                    .posting(before.record, row)?
                    .map(|(cell, _)| cell);
                let new = after
                    .read
                    .posting(after.record, row)?
                    .map(|(cell, code)| (cell as usize, code));
                changes.push(Change { row, previous, new });
            }
        }
        Ok(Some(Arc::new(self.next(&puts, &deletes, &changes))))
    }

    fn index_info(&self, at: At<'_>) -> Result<Option<IndexInfo>> {
        Ok(self.index(at)?.map(|ivf| info(&ivf)))
    }

    fn get(&self, at: At<'_>, row: u64) -> Result<Owned> {
        // A loaded arena holds exactly the stored values (checked when it was read): no
        // table read per record, which `get_where` over many rows would pay.
        if let Some(v) = self.parts.loaded_data().and_then(|a| a.get_f32(row)) {
            return Ok(Owned::Vector(v));
        }
        let bytes = at
            .read
            .vector(at.record, row)?
            .ok_or_else(|| Error::corrupted(format!("row {row} has no vector")))?;
        Ok(Owned::Vector(vectors::decode(&self.schema, &bytes)?))
    }

    fn check_query(&self, query: Data<'_>, options: &SearchOptions<'_>) -> Result<()> {
        let Data::Vector(v) = query else {
            return Err(wrong_data());
        };
        validate::vector(None, v, &self.schema)?;
        validate::dims(options.dims, self.schema.dim)?;
        if let Some(d) = options.dims
            && self.schema.metric == Metric::Cosine
            && v[..d].iter().all(|&x| x == 0.0)
        {
            // Every row would be at cosine distance 1 from a zero prefix: no ranking at all.
            return Err(Error::InvalidParameter {
                name: "dims",
                reason: format!("the query's first {d} components are all zero (cosine)"),
            });
        }
        Ok(())
    }

    fn search(
        &self,
        at: At<'_>,
        queries: &[Data<'_>],
        options: &SearchOptions<'_>,
        allowed: Option<&RowSet>,
    ) -> Result<Vec<Vec<Found>>> {
        let arena = self.arena(at)?;
        let index = if options.exact { None } else { self.index(at)? };
        let mut flat = Vec::with_capacity(queries.len() * self.schema.dim);
        for q in queries {
            let Data::Vector(v) = q else {
                return Err(wrong_data());
            };
            flat.extend_from_slice(v);
        }
        let neighbors = search::run(
            &arena,
            index.as_deref(),
            &flat,
            self.schema.dim,
            options,
            allowed,
        )?;
        let metric = self.schema.metric;
        Ok(neighbors
            .into_iter()
            .map(|list| {
                list.into_iter()
                    .map(|n| Found {
                        row: n.row,
                        score: metric.score(n.distance),
                        vector: if options.include_vector {
                            arena.get_f32(n.row)
                        } else {
                            None
                        },
                    })
                    .collect()
            })
            .collect())
    }

    fn embed_documents(&self, embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Owned>> {
        let vectors = embedder.embed_documents(texts)?;
        check_outputs(embedder, vectors.len(), texts.len())?;
        Ok(vectors.into_iter().map(Owned::Vector).collect())
    }

    fn embed_queries(&self, embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Owned>> {
        let vectors = if let [one] = texts {
            vec![embedder.embed_query(one)?]
        } else {
            embedder.embed_queries(texts)?
        };
        check_outputs(embedder, vectors.len(), texts.len())?;
        Ok(vectors.into_iter().map(Owned::Vector).collect())
    }
}

/// Data of another kind reached this one: `collection/` checks the kind first, so this is
/// a bug, reported as such rather than a panic.
fn wrong_data() -> Error {
    Error::Internal {
        detail: "a token matrix reached a one-vector collection".into(),
    }
}
