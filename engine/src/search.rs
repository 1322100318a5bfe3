//! Search requests and their results.

use crate::filter::Filter;
use serde_json::Value;

/// One search. Build with [`SearchRequest::new`] and the setters.
///
/// ## Defaults
/// - `include_payload`: `true` (the source text too, for records inserted as text)
/// - `include_vector`: `false`
/// - `exact`: `false` — collections with an IVF-PQ index search it; without one, every
///   search is exact.
/// - `nprobe`: nlist / 16 (at least 8); `refine`: 4 (4 x k candidates re-ranked exactly).
/// - `filter`: none. With a filter and an IVF-PQ index, selective filters (few matching
///   rows) are answered by an exact scan of the matching rows, others by probing more lists
///   in proportion (see `Collection::search_with`).
#[derive(Clone, Debug)]
pub struct SearchRequest<'a> {
    pub vector: &'a [f32],
    pub k: usize,
    pub include_payload: bool,
    pub include_vector: bool,
    /// Scan every vector even when the collection has an approximate index.
    pub exact: bool,
    /// IVF lists to probe (default: nlist / 16, at least 8).
    pub nprobe: Option<usize>,
    /// Candidates re-ranked exactly, as a multiple of k (default 4).
    pub refine: Option<usize>,
    /// Only records whose payload matches. The result holds the k best matching records
    /// (fewer only when fewer match), and never a record that does not match.
    pub filter: Option<&'a Filter>,
}

impl<'a> SearchRequest<'a> {
    /// Checks k and the tuning parameters given, whether or not the collection has an index
    /// (a request that is wrong stays wrong after the index is dropped or built).
    pub(crate) fn validate_options(&self) -> crate::Result<()> {
        crate::validate::k(self.k)?;
        if let Some(n) = self.nprobe {
            crate::validate::search_parameter("nprobe", n)?;
        }
        if let Some(n) = self.refine {
            crate::validate::search_parameter("refine", n)?;
        }
        Ok(())
    }

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
}

/// One result, closest first in a result list.
///
/// `score` is the cosine similarity (cosine), the inner product (dot) or the squared
/// Euclidean distance (l2) between the query and the stored vector as stored (rounded to the
/// collection's element type). Ties are broken by insertion order (older first).
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub payload: Option<Value>,
    /// The text the record was embedded from (text collections, with `include_payload`).
    pub text: Option<String>,
    pub vector: Option<Vec<f32>>,
}

/// A stored record (as returned by `get`) or one to store (as given to `upsert`).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: String,
    pub vector: Vec<f32>,
    /// A JSON object, or `None`.
    pub payload: Option<Value>,
    /// The text the vector was computed from, for records inserted with
    /// `Collection::upsert_texts` (ignored by `upsert`, which stores none).
    pub text: Option<String>,
}

impl Record {
    pub fn new(id: impl Into<String>, vector: Vec<f32>) -> Self {
        Record {
            id: id.into(),
            vector,
            payload: None,
            text: None,
        }
    }

    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = Some(payload);
        self
    }
}

/// A record to embed and store (see `Collection::upsert_texts`).
#[derive(Clone, Debug, PartialEq)]
pub struct TextRecord {
    pub id: String,
    pub text: String,
    /// A JSON object, or `None`.
    pub payload: Option<Value>,
}

impl TextRecord {
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        TextRecord {
            id: id.into(),
            text: text.into(),
            payload: None,
        }
    }

    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = Some(payload);
        self
    }
}
