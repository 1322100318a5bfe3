//! The method names of the first releases, before one query surface: each is a thin call
//! of [`Collection::search`], [`Collection::search_batch`], [`Collection::upsert`] or
//! [`Collection::create_index`], kept for one release so that callers can move at their pace.

use super::{Collection, Hit, MultiIndexInfo, MultiRecord, Query, SearchOptions, TextRecord};
use crate::error::Result;
use crate::filter::Filter;
use quiver_index::multi::TokenIndexParams;

/// One search, the query and its options together (superseded by [`Query`] +
/// [`SearchOptions`]; see [`SearchOptions`] for every default).
#[derive(Clone, Debug)]
pub struct SearchRequest<'a> {
    pub vector: &'a [f32],
    pub k: usize,
    pub include_payload: bool,
    pub include_vector: bool,
    /// Scan every vector even when the collection has an approximate index.
    pub exact: bool,
    /// IVF lists to probe (default: nlist / 16, at least 8; 4-bit indexes nlist / 4, at
    /// least 16).
    pub nprobe: Option<usize>,
    /// Candidates re-ranked exactly, as a multiple of k (default 4).
    pub refine: Option<usize>,
    /// Only records whose payload matches.
    pub filter: Option<&'a Filter>,
}

impl<'a> SearchRequest<'a> {
    pub fn new(vector: &'a [f32], k: usize) -> Self {
        SearchRequest {
            vector,
            k,
            include_payload: true,
            include_vector: false,
            exact: false,
            nprobe: None,
            refine: None,
            filter: None,
        }
    }

    pub fn exact(mut self, yes: bool) -> Self {
        self.exact = yes;
        self
    }

    pub fn nprobe(mut self, nprobe: usize) -> Self {
        self.nprobe = Some(nprobe);
        self
    }

    pub fn refine(mut self, refine: usize) -> Self {
        self.refine = Some(refine);
        self
    }

    pub fn filter(mut self, filter: &'a Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    pub fn include_payload(mut self, yes: bool) -> Self {
        self.include_payload = yes;
        self
    }

    pub fn include_vector(mut self, yes: bool) -> Self {
        self.include_vector = yes;
        self
    }

    /// The options of this request (its vector aside).
    pub fn options(&self) -> SearchOptions<'a> {
        SearchOptions {
            k: self.k,
            filter: self.filter,
            exact: self.exact,
            nprobe: self.nprobe,
            refine: self.refine,
            include_payload: self.include_payload,
            include_vector: self.include_vector,
            ..SearchOptions::new(self.k)
        }
    }
}

/// One multi-vector search (superseded by [`Query::Matrix`] + [`SearchOptions`]).
#[derive(Clone, Debug)]
pub struct MultiSearchRequest<'a> {
    pub query: &'a [Vec<f32>],
    pub k: usize,
    pub exact: bool,
    pub nprobe: Option<usize>,
    pub candidates: Option<usize>,
    pub dims: Option<usize>,
    pub filter: Option<&'a Filter>,
    pub include_payload: bool,
}

impl<'a> MultiSearchRequest<'a> {
    pub fn new(query: &'a [Vec<f32>], k: usize) -> Self {
        MultiSearchRequest {
            query,
            k,
            exact: false,
            nprobe: None,
            candidates: None,
            dims: None,
            filter: None,
            include_payload: true,
        }
    }

    pub fn exact(mut self, yes: bool) -> Self {
        self.exact = yes;
        self
    }

    pub fn nprobe(mut self, nprobe: usize) -> Self {
        self.nprobe = Some(nprobe);
        self
    }

    pub fn candidates(mut self, candidates: usize) -> Self {
        self.candidates = Some(candidates);
        self
    }

    pub fn dims(mut self, dims: usize) -> Self {
        self.dims = Some(dims);
        self
    }

    pub fn filter(mut self, filter: &'a Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    pub fn include_payload(mut self, yes: bool) -> Self {
        self.include_payload = yes;
        self
    }

    /// The options of this request (its query aside).
    pub fn options(&self) -> SearchOptions<'a> {
        SearchOptions {
            filter: self.filter,
            exact: self.exact,
            nprobe: self.nprobe,
            candidates: self.candidates,
            dims: self.dims,
            include_payload: self.include_payload,
            ..SearchOptions::new(self.k)
        }
    }
}

impl Collection {
    /// `search(req.vector, req.options())`.
    pub fn search_with(&self, req: &SearchRequest<'_>) -> Result<Vec<Hit>> {
        self.search(req.vector, req.options())
    }

    /// `search_batch(queries, template.options())` (`template.vector` is ignored).
    pub fn search_batch_with<Q: AsRef<[f32]>>(
        &self,
        queries: &[Q],
        template: &SearchRequest<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        self.search_batch(
            queries.iter().map(|q| Query::Vector(q.as_ref())),
            template.options(),
        )
    }

    /// `search(query, k)` with a token matrix.
    pub fn search_multi(&self, query: &[Vec<f32>], k: usize) -> Result<Vec<Hit>> {
        self.search(query, k)
    }

    /// `search(req.query, req.options())`.
    pub fn search_multi_with(&self, req: &MultiSearchRequest<'_>) -> Result<Vec<Hit>> {
        self.search(req.query, req.options())
    }

    /// `search(Query::Text(query), k)`.
    pub fn search_text(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        self.search(query, k)
    }

    /// `search(Query::Text(query), template.options())` (`template.vector` is ignored).
    pub fn search_text_with(&self, query: &str, template: &SearchRequest<'_>) -> Result<Vec<Hit>> {
        self.search(query, template.options())
    }

    /// `search(Query::Text(query), template.options())` (`template.query` is ignored).
    pub fn search_multi_text_with(
        &self,
        query: &str,
        template: &MultiSearchRequest<'_>,
    ) -> Result<Vec<Hit>> {
        self.search(query, template.options())
    }

    /// `search_batch(queries, template.options())` with texts.
    pub fn search_texts_with(
        &self,
        queries: &[&str],
        template: &SearchRequest<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        self.search_batch(queries, template.options())
    }

    /// `upsert(records)` with token matrices.
    pub fn upsert_multi(&self, records: &[MultiRecord]) -> Result<()> {
        self.upsert(records)
    }

    /// `upsert(records)` with texts.
    pub fn upsert_texts(&self, records: &[TextRecord]) -> Result<()> {
        self.upsert(records)
    }

    /// `create_index(params)` for a multi-vector collection.
    pub fn create_multi_index(&self, params: &TokenIndexParams) -> Result<MultiIndexInfo> {
        let info = self.create_index(params)?;
        info.as_tokens()
            .cloned()
            .ok_or_else(|| crate::Error::Internal {
                detail: "a token index build returned another index".into(),
            })
    }

    /// `index_info()` of a multi-vector collection (`WrongCollectionKind` on others).
    pub fn multi_index_info(&self) -> Result<Option<MultiIndexInfo>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        crate::kinds::expect(
            &self.name,
            state.kind.kind(),
            crate::kinds::CollectionKind::MultiVector,
            "multi_index_info",
        )?;
        drop(snap);
        Ok(self.index_info()?.and_then(|i| i.as_tokens().cloned()))
    }
}
