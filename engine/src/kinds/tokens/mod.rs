//! Multi-vector collections: each record is a matrix of token vectors, searched by MaxSim
//! (ColBERT-style late interaction).
//!
//! Stored: the token matrix of each row in the `matrices` table (the collection's element
//! type); with a token index, its centroids in the `index` table and each row's centroid
//! set in `postings` — all written in the same transaction as the records. In memory: a
//! [`TokenStore`] of prepared matrices (widened to f32, normalised for cosine) and the
//! [`TokenIndex`], carried from commit to commit like the one-vector arena.

mod search;
mod stored;

use super::lazy::Parts;
use super::{At, Data, Found, Kind, Owned, Prepared, check_outputs};
use crate::collection::{IndexInfo, IndexParams, MultiIndexInfo, SearchOptions};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::kinds::CollectionKind;
use crate::limits;
use crate::schema::Schema;
use crate::validate;
use quiver_index::RowSet;
use quiver_index::multi::{TokenIndex, TokenStore};
use quiver_storage::WriteBatch;
use std::collections::HashSet;
use std::sync::Arc;

/// A multi-vector collection's in-memory state of one commit; each part loads on first use.
pub(crate) struct TokenState {
    schema: Schema,
    parts: Parts<TokenStore, TokenIndex>,
}

/// The prepared matrices of a batch (`Prepared::extra`).
struct Matrices(Vec<Arc<[f32]>>);

impl TokenState {
    pub fn new(schema: Schema) -> Self {
        TokenState {
            schema,
            parts: Parts::new(None, None),
        }
    }

    fn tokens(&self, at: At<'_>) -> Result<Arc<TokenStore>> {
        self.parts
            .data(|| stored::load_tokens(&self.schema, at.record, at.read))
    }

    fn index(&self, at: At<'_>) -> Result<Option<Arc<TokenIndex>>> {
        self.parts
            .index(|| stored::load_token_index(&self.schema, at.record, at.read))
    }

    /// The state after a batch: loaded parts carried forward with the changes applied.
    fn next(&self, puts: &[(u64, Arc<[f32]>)], deletes: &[u64], codes: &[(u64, Vec<u32>)]) -> Self {
        let parts = self.parts.next(
            |tokens| {
                for (row, m) in puts {
                    tokens.set(*row, m.clone());
                }
                for row in deletes {
                    tokens.remove(*row);
                }
            },
            |index| {
                for (row, set) in codes {
                    index.insert(*row, set);
                }
                for row in deletes {
                    index.remove(*row);
                }
            },
        );
        TokenState {
            schema: self.schema,
            parts,
        }
    }
}

fn info(index: &TokenIndex) -> IndexInfo {
    IndexInfo::Tokens(MultiIndexInfo {
        centroids: index.centroid_count(),
        indexed: index.len(),
        seed: index.seed(),
        memory_bytes: index.memory_bytes(),
    })
}

impl Kind for TokenState {
    fn kind(&self) -> CollectionKind {
        CollectionKind::MultiVector
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn load(&self, at: At<'_>) -> Result<usize> {
        self.index(at)?;
        Ok(self.tokens(at)?.len())
    }

    fn live_rows(&self, at: At<'_>) -> Result<RowSet> {
        Ok(self.tokens(at)?.iter().map(|(row, _)| row).collect())
    }

    fn check(&self, at: At<'_>, rows: &HashSet<u64>) -> Result<()> {
        let name = &at.record.name;
        let tokens = self.tokens(at)?;
        let held: HashSet<u64> = tokens.iter().map(|(r, _)| r).collect();
        if &held != rows {
            return Err(Error::corrupted(format!(
                "collection '{name}': in-memory token matrices differ from stored rows"
            )));
        }
        if let Some(index) = self.index(at)? {
            let indexed = rows.iter().filter(|&&r| index.codes(r).is_some()).count();
            if indexed != rows.len() || index.len() != rows.len() {
                return Err(Error::corrupted(format!(
                    "collection '{name}': the token index holds {} rows, the data {}",
                    index.len(),
                    rows.len()
                )));
            }
            // Each row's stored centroid set is the one its tokens give.
            for (row, doc) in tokens.iter() {
                if index.codes(row) != Some(index.encode(doc, 1).as_slice()) {
                    return Err(Error::corrupted(format!(
                        "collection '{name}': row {row}'s centroid set does not match its tokens"
                    )));
                }
            }
        }
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        let tokens = self.parts.loaded_data().map_or(0, |t| t.memory_bytes());
        tokens
            + self
                .parts
                .loaded_index()
                .map_or(0, TokenIndex::memory_bytes)
    }

    fn prepare(&self, data: &[Data<'_>]) -> Result<Prepared> {
        let mut stored_bytes = Vec::with_capacity(data.len());
        let mut prepared = Vec::with_capacity(data.len());
        for (position, d) in data.iter().enumerate() {
            let Data::Matrix(m) = d else {
                return Err(wrong_data());
            };
            let flat =
                stored::validate_matrix(Some(position), m, &self.schema, limits::MAX_TOKENS)?;
            prepared.push(Arc::from(stored::prepare(&self.schema, &flat)));
            stored_bytes.push(stored::encode(&self.schema, &flat));
        }
        Ok(Prepared {
            stored: stored_bytes,
            extra: Box::new(Matrices(prepared)),
        })
    }

    fn put(
        &self,
        batch: &mut WriteBatch,
        at: At<'_>,
        rows: &[u64],
        prepared: Prepared,
    ) -> Result<Arc<dyn Kind>> {
        let Ok(matrices) = prepared.extra.downcast::<Matrices>() else {
            return Err(wrong_data());
        };
        let puts: Vec<(u64, Arc<[f32]>)> = rows.iter().copied().zip(matrices.0).collect();
        let codes = match self.index(at)? {
            Some(index) => {
                let docs: Vec<&[f32]> = puts.iter().map(|(_, m)| &m[..]).collect();
                let sets = index.encode_many(&docs, 0);
                let rows_codes: Vec<(u64, Vec<u32>)> =
                    puts.iter().map(|(row, _)| *row).zip(sets).collect();
                let bytes: Vec<(u64, Vec<u8>)> = rows_codes
                    .iter()
                    .map(|(row, set)| (*row, stored::encode_codes(set)))
                    .collect();
                batch.put_token_codes(at.record, &bytes)?;
                rows_codes
            }
            None => Vec::new(),
        };
        Ok(Arc::new(self.next(&puts, &[], &codes)))
    }

    fn delete(&self, batch: &mut WriteBatch, at: At<'_>, rows: &[u64]) -> Result<Arc<dyn Kind>> {
        if !rows.is_empty() && self.index(at)?.is_some() {
            batch.delete_token_codes(at.record, rows)?;
        }
        Ok(Arc::new(self.next(&[], rows, &[])))
    }

    fn caught_up(
        &self,
        _before: At<'_>,
        after: At<'_>,
        rows: &[u64],
    ) -> Result<Option<Arc<dyn Kind>>> {
        if self.parts.loaded_data().is_none() && self.parts.loaded_index().is_none() {
            return Ok(None);
        }
        let mut puts = Vec::new();
        let mut deletes = Vec::new();
        for &row in rows {
            match after.read.matrix(after.record, row)? {
                Some(bytes) => puts.push((row, stored::for_scoring(&self.schema, &bytes)?)),
                None => deletes.push(row),
            }
        }
        let mut codes = Vec::new();
        if let Some(index) = self.parts.loaded_index() {
            for (row, _) in &puts {
                let set = after
                    .read
                    .raw_posting(after.record, *row)?
                    .and_then(|bytes| stored::decode_codes(&bytes, index.centroid_count()));
                match set {
                    Some(set) => codes.push((*row, set)),
                    // Not what the index's writes leave: reopen, and let `check` say why.
                    None => return Ok(None),
                }
            }
        }
        Ok(Some(Arc::new(self.next(&puts, &deletes, &codes))))
    }

    fn create_index(
        &self,
        batch: &mut WriteBatch,
        at: At<'_>,
        params: &IndexParams,
    ) -> Result<(IndexInfo, Arc<dyn Kind>)> {
        let IndexParams::Tokens(params) = params else {
            return Err(wrong_data());
        };
        if params.centroids == Some(0) || params.centroids.is_some_and(|c| c > 1 << 20) {
            return Err(Error::InvalidParameter {
                name: "centroids",
                reason: "must be between 1 and 1048576".into(),
            });
        }
        let store = self.tokens(at)?;
        if store.is_empty() {
            return Err(Error::InvalidParameter {
                name: "collection",
                reason: "an index is trained on the stored tokens; the collection is empty".into(),
            });
        }
        let dim = store.dim();
        let all: Vec<f32> = store.iter().flat_map(|(_, d)| d.iter().copied()).collect();
        let mut index = TokenIndex::train(&all, dim, params);
        drop(all);
        let rows: Vec<u64> = store.iter().map(|(r, _)| r).collect();
        let docs: Vec<&[f32]> = store.iter().map(|(_, d)| d).collect();
        let sets = index.encode_many(&docs, params.threads);
        let mut codes = Vec::with_capacity(rows.len());
        for (row, set) in rows.iter().zip(&sets) {
            index.insert(*row, set);
            codes.push((*row, stored::encode_codes(set)));
        }
        let centroids = quiver_storage::codec::encode_f32(index.centroids());
        batch.replace_token_index(
            at.record,
            &stored::encode_header(index.centroid_count(), dim, params.seed),
            &centroids,
            &codes,
        )?;
        let info = info(&index);
        let next = TokenState {
            schema: self.schema,
            parts: self.parts.with_index(Some(store), Some(Arc::new(index))),
        };
        Ok((info, Arc::new(next)))
    }

    fn without_index(&self) -> Arc<dyn Kind> {
        Arc::new(TokenState {
            schema: self.schema,
            parts: self.parts.with_index(None, None),
        })
    }

    fn index_info(&self, at: At<'_>) -> Result<Option<IndexInfo>> {
        Ok(self.index(at)?.map(|i| info(&i)))
    }

    fn get(&self, at: At<'_>, row: u64) -> Result<Owned> {
        let bytes = at
            .read
            .matrix(at.record, row)?
            .ok_or_else(|| Error::corrupted(format!("row {row} has no token matrix")))?;
        let flat = stored::decode(&self.schema, &bytes)?;
        Ok(Owned::Matrix(
            flat.chunks_exact(self.schema.dim)
                .map(<[f32]>::to_vec)
                .collect(),
        ))
    }

    fn check_query(&self, query: Data<'_>, options: &SearchOptions<'_>) -> Result<()> {
        let Data::Matrix(m) = query else {
            return Err(wrong_data());
        };
        stored::validate_matrix(None, m, &self.schema, limits::MAX_QUERY_TOKENS)?;
        validate::dims(options.dims, self.schema.dim)
    }

    fn search(
        &self,
        at: At<'_>,
        queries: &[Data<'_>],
        options: &SearchOptions<'_>,
        allowed: Option<&RowSet>,
    ) -> Result<Vec<Vec<Found>>> {
        let store = self.tokens(at)?;
        let index = if options.exact { None } else { self.index(at)? };
        queries
            .iter()
            .map(|q| {
                let Data::Matrix(m) = q else {
                    return Err(wrong_data());
                };
                let flat = m.iter().flatten().copied().collect::<Vec<f32>>();
                let q = stored::prepare(&self.schema, &flat);
                let found =
                    search::run(&store, index.as_deref(), &q, &self.schema, options, allowed);
                Ok(found
                    .into_iter()
                    .map(|n| Found {
                        row: n.row,
                        score: -n.distance,
                        vector: None,
                    })
                    .collect())
            })
            .collect()
    }

    fn embed_documents(&self, embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Owned>> {
        let matrices = embedder.embed_document_tokens(texts)?;
        check_outputs(embedder, matrices.len(), texts.len())?;
        Ok(matrices.into_iter().map(Owned::Matrix).collect())
    }

    fn embed_queries(&self, embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Owned>> {
        texts
            .iter()
            .map(|t| Ok(Owned::Matrix(embedder.embed_query_tokens(t)?)))
            .collect()
    }
}

/// See `dense::wrong_data`.
fn wrong_data() -> Error {
    Error::Internal {
        detail: "data of another kind reached a multi-vector collection".into(),
    }
}
