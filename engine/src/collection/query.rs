//! The one query surface: [`Query`] (what to look for) apart from [`SearchOptions`] (how),
//! [`Collection::search`] and [`Collection::search_batch`], and the [`Hit`]s they return.

use super::{Collection, parse_payload};
use crate::embed;
use crate::error::{Error, Result};
use crate::filter::{self, Filter};
use crate::fulltext;
use crate::kinds::{self, Data, Found, Owned};
use crate::stages::fusion::{self, Branch, Explanation, Fusion, Ranked};
use crate::validate;
use quiver_storage::RowReader;
use serde_json::Value;

/// What to search for. Converts from what callers hold: `&[f32]` / `&Vec<f32>` (a vector),
/// `&[Vec<f32>]` / `&Vec<Vec<f32>>` (a token matrix, one row per query token), `&str` (a text,
/// embedded with the collection's pinned model into whichever of the two it stores).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Query<'a> {
    /// A vector of the collection's dimension (one-vector collections).
    Vector(&'a [f32]),
    /// A token matrix scored by MaxSim (multi-vector collections).
    Matrix(&'a [Vec<f32>]),
    /// A text for the collection's model: a vector or a token matrix, as the collection
    /// stores (ColBERT: `query_length` rows, `[MASK]`-expanded).
    Text(&'a str),
    /// Keywords scored by BM25 over the collection's full-text index (docs/full-text.md):
    /// words OR-ed, `+word` required, `-word` excluded.
    Keywords(&'a str),
    /// A dense branch and a keyword branch fused into one list.
    Hybrid(Hybrid<'a>),
}

/// The dense branch of a [`Hybrid`] query: what [`Query`] holds for dense search.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Dense<'a> {
    Vector(&'a [f32]),
    Matrix(&'a [Vec<f32>]),
    /// A text for the collection's model.
    Text(&'a str),
}

impl<'a> From<&'a [f32]> for Dense<'a> {
    fn from(v: &'a [f32]) -> Self {
        Dense::Vector(v)
    }
}

impl<'a> From<&'a Vec<f32>> for Dense<'a> {
    fn from(v: &'a Vec<f32>) -> Self {
        Dense::Vector(v)
    }
}

impl<'a> From<&'a [Vec<f32>]> for Dense<'a> {
    fn from(m: &'a [Vec<f32>]) -> Self {
        Dense::Matrix(m)
    }
}

impl<'a> From<&'a Vec<Vec<f32>>> for Dense<'a> {
    fn from(m: &'a Vec<Vec<f32>>) -> Self {
        Dense::Matrix(m)
    }
}

impl<'a> From<&'a str> for Dense<'a> {
    fn from(text: &'a str) -> Self {
        Dense::Text(text)
    }
}

impl<'a> From<&'a String> for Dense<'a> {
    fn from(text: &'a String) -> Self {
        Dense::Text(text)
    }
}

/// A hybrid query: dense search and BM25 keyword search, each cut to its depth with the
/// same filter applied *before* the cut, fused into one list ([`Fusion`]). Each hit carries
/// its [`Explanation`] (rank and score in each branch); its `score` is the fused score.
///
/// Defaults: reciprocal rank fusion with k = 60, weights 1 and 1 (dense, keywords), each
/// branch's depth max(k + offset, 100).
///
/// ```
/// # use quiver::{Fusion, Hybrid};
/// let v = vec![0.1f32, 0.9];
/// let q = Hybrid::new(&v, "supersonic +wing").fusion(Fusion::Relative).weights(0.7, 0.3);
/// assert_eq!(q.keywords, "supersonic +wing");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Hybrid<'a> {
    pub dense: Dense<'a>,
    pub keywords: &'a str,
    pub fusion: Fusion,
    /// Weights of the dense and the keyword branch.
    pub weights: (f64, f64),
    pub dense_depth: Option<usize>,
    pub keyword_depth: Option<usize>,
}

impl<'a> Hybrid<'a> {
    pub fn new(dense: impl Into<Dense<'a>>, keywords: &'a str) -> Self {
        Hybrid {
            dense: dense.into(),
            keywords,
            fusion: Fusion::default(),
            weights: (1.0, 1.0),
            dense_depth: None,
            keyword_depth: None,
        }
    }

    /// One text for both branches (embedded by the model, and as keywords).
    pub fn text(text: &'a str) -> Self {
        Hybrid::new(Dense::Text(text), text)
    }

    pub fn fusion(mut self, fusion: Fusion) -> Self {
        self.fusion = fusion;
        self
    }

    pub fn weights(mut self, dense: f64, keywords: f64) -> Self {
        self.weights = (dense, keywords);
        self
    }

    /// Candidates taken from each branch before fusion.
    pub fn depths(mut self, dense: usize, keywords: usize) -> Self {
        self.dense_depth = Some(dense);
        self.keyword_depth = Some(keywords);
        self
    }

    fn validate(&self) -> Result<()> {
        let (a, b) = self.weights;
        if !(a.is_finite() && b.is_finite() && a >= 0.0 && b >= 0.0 && a + b > 0.0) {
            return Err(Error::InvalidParameter {
                name: "weights",
                reason: format!("({a}, {b}): finite, not negative, not both zero"),
            });
        }
        if let Fusion::Rrf { k } = self.fusion
            && !(k.is_finite() && k >= 0.0)
        {
            return Err(Error::InvalidParameter {
                name: "rrf k",
                reason: format!("{k} is not a finite number ≥ 0"),
            });
        }
        for (name, d) in [
            ("dense depth", self.dense_depth),
            ("keyword depth", self.keyword_depth),
        ] {
            if let Some(d) = d {
                validate::search_parameter(name, d)?;
            }
        }
        Ok(())
    }
}

impl<'a> From<Hybrid<'a>> for Query<'a> {
    fn from(h: Hybrid<'a>) -> Self {
        Query::Hybrid(h)
    }
}

impl<'a> From<&'a [f32]> for Query<'a> {
    fn from(v: &'a [f32]) -> Self {
        Query::Vector(v)
    }
}

impl<'a> From<&&'a [f32]> for Query<'a> {
    fn from(v: &&'a [f32]) -> Self {
        Query::Vector(v)
    }
}

impl<'a> From<&'a Vec<f32>> for Query<'a> {
    fn from(v: &'a Vec<f32>) -> Self {
        Query::Vector(v)
    }
}

impl<'a, const N: usize> From<&'a [f32; N]> for Query<'a> {
    fn from(v: &'a [f32; N]) -> Self {
        Query::Vector(v)
    }
}

impl<'a> From<&'a [Vec<f32>]> for Query<'a> {
    fn from(m: &'a [Vec<f32>]) -> Self {
        Query::Matrix(m)
    }
}

impl<'a> From<&'a Vec<Vec<f32>>> for Query<'a> {
    fn from(m: &'a Vec<Vec<f32>>) -> Self {
        Query::Matrix(m)
    }
}

impl<'a, const N: usize> From<&'a [Vec<f32>; N]> for Query<'a> {
    fn from(m: &'a [Vec<f32>; N]) -> Self {
        Query::Matrix(m)
    }
}

impl<'a> From<&'a str> for Query<'a> {
    fn from(text: &'a str) -> Self {
        Query::Text(text)
    }
}

impl<'a> From<&&'a str> for Query<'a> {
    fn from(text: &&'a str) -> Self {
        Query::Text(text)
    }
}

impl<'a> From<&'a String> for Query<'a> {
    fn from(text: &'a String) -> Self {
        Query::Text(text)
    }
}

/// How to search: the knobs, apart from the query. `SearchOptions::new(k)` and the setters;
/// a bare `k` converts (`collection.search(&v, 10)`).
///
/// ## Defaults
/// - `include_payload`: `true` (the source text too, for records inserted as text);
///   `include_vector`: `false` (one-vector collections only).
/// - `exact`: `false` — a collection with an approximate index searches it; without one,
///   every search is exact.
/// - `filter`: none. With a filter, the result holds the k best *matching* records (fewer
///   only when fewer match) and never one that does not match. With an IVF-PQ index,
///   selective filters are answered by an exact scan of the matching rows, others by probing
///   more lists in proportion.
/// - IVF-PQ (one-vector collections): `nprobe` = nlist / 16 (at least 8); `refine` = 4
///   (4 x k candidates re-ranked exactly).
/// - Token index (multi-vector collections): `nprobe` = 2 centroids per query token;
///   `candidates` = max(64 x k, 1024, records / 24) re-ranked with exact MaxSim; `dims` = all
///   (a prefix for candidate generation, for Matryoshka encoders).
///
/// Knobs of the other kind of collection are ignored (`refine` and `include_vector` by
/// multi-vector collections, `candidates` and `dims` by one-vector ones).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SearchOptions<'a> {
    pub k: usize,
    pub filter: Option<&'a Filter>,
    pub exact: bool,
    pub nprobe: Option<usize>,
    pub refine: Option<usize>,
    pub candidates: Option<usize>,
    pub dims: Option<usize>,
    pub include_payload: bool,
    pub include_vector: bool,
    /// Results skipped before the k returned (paging).
    pub offset: usize,
}

impl<'a> SearchOptions<'a> {
    pub fn new(k: usize) -> Self {
        SearchOptions {
            k,
            filter: None,
            exact: false,
            nprobe: None,
            refine: None,
            candidates: None,
            dims: None,
            include_payload: true,
            include_vector: false,
            offset: 0,
        }
    }

    /// Skip the first `offset` results (paging: the same query with offset 0, k, 2k, ...
    /// gives consecutive pages; ties are broken by insertion order, so pages do not
    /// overlap). Hybrid pages are consistent while offset + k stays within the depths.
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Only records whose payload matches (see [`Filter`]).
    pub fn filter(mut self, filter: &'a Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Scan every record even when the collection has an approximate index.
    pub fn exact(mut self, yes: bool) -> Self {
        self.exact = yes;
        self
    }

    /// IVF lists (one-vector) or centroids per query token (multi-vector) to probe.
    pub fn nprobe(mut self, nprobe: usize) -> Self {
        self.nprobe = Some(nprobe);
        self
    }

    /// IVF-PQ candidates re-ranked exactly, as a multiple of k.
    pub fn refine(mut self, refine: usize) -> Self {
        self.refine = Some(refine);
        self
    }

    /// Records re-ranked with exact MaxSim (multi-vector).
    pub fn candidates(mut self, candidates: usize) -> Self {
        self.candidates = Some(candidates);
        self
    }

    /// Dimensions used for multi-vector candidate generation (a prefix).
    pub fn dims(mut self, dims: usize) -> Self {
        self.dims = Some(dims);
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

    /// Checks k and the tuning parameters given, whether or not the collection has an index
    /// (a request that is wrong stays wrong after the index is dropped or built).
    fn validate(&self) -> Result<()> {
        validate::k(self.k)?;
        if self.offset > crate::limits::MAX_K {
            return Err(Error::InvalidParameter {
                name: "offset",
                reason: format!("{} is above {}", self.offset, crate::limits::MAX_K),
            });
        }
        for (name, value) in [
            ("nprobe", self.nprobe),
            ("refine", self.refine),
            ("candidates", self.candidates),
        ] {
            if let Some(n) = value {
                validate::search_parameter(name, n)?;
            }
        }
        Ok(())
    }
}

impl From<usize> for SearchOptions<'_> {
    fn from(k: usize) -> Self {
        SearchOptions::new(k)
    }
}

impl<'a> From<&SearchOptions<'a>> for SearchOptions<'a> {
    fn from(options: &SearchOptions<'a>) -> Self {
        options.clone()
    }
}

/// One result, best first in a result list.
///
/// `score` is the cosine similarity (cosine), the inner product (dot) or the squared
/// Euclidean distance (l2) between the query and the stored vector as stored (rounded to the
/// collection's element type); in multi-vector collections, the MaxSim score. Ties are broken
/// by insertion order (older first).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub payload: Option<Value>,
    /// The text the record was embedded from (text collections, with `include_payload`).
    pub text: Option<String>,
    pub vector: Option<Vec<f32>>,
    /// Hybrid queries: the hit's rank and score in each branch (`score` is then the fused
    /// score).
    pub explain: Option<Explanation>,
}

impl Hit {
    /// A hit with no payload, text or vector (set the fields as needed).
    pub fn new(id: impl Into<String>, score: f32) -> Self {
        Hit {
            id: id.into(),
            score,
            payload: None,
            text: None,
            vector: None,
            explain: None,
        }
    }
}

impl Collection {
    /// The records best matching `query`, best first: `options.k` of them (fewer only when
    /// the collection, or the filter, has fewer).
    ///
    /// ```
    /// # use quiver::{CollectionConfig, Database, Metric, Record, SearchOptions};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = Database::create(dir.path().join("q.qvr"))?;
    /// # let c = db.create_collection("c", CollectionConfig::new(2, Metric::Cosine))?;
    /// c.upsert(&[Record::new("a", vec![1.0, 0.0]), Record::new("b", vec![0.0, 1.0])])?;
    /// let hits = c.search(&[0.9, 0.1], 1)?; // a bare k is the default options
    /// assert_eq!(hits[0].id, "a");
    /// let exact = c.search(&[0.1, 0.9], SearchOptions::new(1).exact(true))?;
    /// assert_eq!(exact[0].id, "b");
    /// # Ok::<(), quiver::Error>(())
    /// ```
    pub fn search<'q, 'o>(
        &self,
        query: impl Into<Query<'q>>,
        options: impl Into<SearchOptions<'o>>,
    ) -> Result<Vec<Hit>> {
        let mut all = self.search_batch([query.into()], options)?;
        Ok(all.pop().unwrap_or_default())
    }

    /// Many searches with the same options, results in query order. Faster than one at a
    /// time: one-vector collections answer large batches of vectors with matrix products,
    /// and text queries are embedded together.
    pub fn search_batch<'q, 'o, Q: Into<Query<'q>>>(
        &self,
        queries: impl IntoIterator<Item = Q>,
        options: impl Into<SearchOptions<'o>>,
    ) -> Result<Vec<Vec<Hit>>> {
        let options = options.into();
        let queries: Vec<Query<'q>> = queries.into_iter().map(Into::into).collect();
        options.validate()?;
        let mut texts: Vec<&str> = Vec::new();
        for q in &queries {
            match q {
                Query::Text(t)
                | Query::Hybrid(Hybrid {
                    dense: Dense::Text(t),
                    ..
                }) => texts.push(t),
                _ => {}
            }
            if let Query::Hybrid(h) = q {
                h.validate()?;
            }
        }
        for t in &texts {
            embed::check_text(None, t)?;
        }
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        // Texts first, all in one call (embedding is what takes the time).
        let embedded: Vec<Owned> = if texts.is_empty() {
            Vec::new()
        } else {
            let embedder = self.embedder()?;
            state.kind.embed_queries(embedder.as_ref(), &texts)?
        };
        let mut embedded = embedded.iter();
        let mut dense_of = |d: Dense<'q>| -> Result<Data<'_>> {
            let data = match d {
                Dense::Vector(v) => Data::Vector(v),
                Dense::Matrix(m) => Data::Matrix(m),
                Dense::Text(_) => match embedded.next() {
                    Some(owned) => owned.as_data(),
                    None => {
                        return Err(Error::Internal {
                            detail: "fewer embedded queries than texts".into(),
                        });
                    }
                },
            };
            let operation = match data {
                Data::Vector(_) => "a query vector",
                Data::Matrix(_) => "a query token matrix",
            };
            kinds::expect(&self.name, state.kind.kind(), data.kind(), operation)?;
            state.kind.check_query(data, &options)?;
            Ok(data)
        };
        let mut plans = Vec::with_capacity(queries.len());
        for q in &queries {
            plans.push(match *q {
                Query::Vector(v) => Plan::Dense(dense_of(Dense::Vector(v))?),
                Query::Matrix(m) => Plan::Dense(dense_of(Dense::Matrix(m))?),
                Query::Text(t) => Plan::Dense(dense_of(Dense::Text(t))?),
                Query::Keywords(k) => Plan::Keywords(k),
                Query::Hybrid(h) => Plan::Hybrid(dense_of(h.dense)?, h),
            });
        }
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let allowed = options
            .filter
            .map(|f| filter::allowed_rows(&snap.read, state, f))
            .transpose()?;
        let allowed = allowed.as_deref();
        let wanted = options.k + options.offset;
        let at = state.at(&snap.read);
        // Plain dense queries together (batches of vectors become matrix products).
        let dense: Vec<Data<'_>> = plans
            .iter()
            .filter_map(|p| match p {
                Plan::Dense(d) => Some(*d),
                _ => None,
            })
            .collect();
        let mut dense_found = if dense.is_empty() {
            Vec::new()
        } else {
            state
                .kind
                .search(at, &dense, &options.clone().k(wanted), allowed)?
        }
        .into_iter();
        let mut results = Vec::with_capacity(plans.len());
        for plan in &plans {
            let list: Vec<(Found, Option<Explanation>)> = match plan {
                Plan::Dense(_) => dense_found
                    .next()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|f| (f, None))
                    .collect(),
                Plan::Keywords(k) => {
                    fulltext::search(&snap.read, &state.record, k, wanted, allowed)?
                        .into_iter()
                        .map(|f| (f, None))
                        .collect()
                }
                Plan::Hybrid(data, h) => {
                    let depth =
                        |d: Option<usize>| d.unwrap_or(wanted.max(DEFAULT_DEPTH)).max(wanted);
                    let dense = state
                        .kind
                        .search(
                            at,
                            &[*data],
                            &options.clone().k(depth(h.dense_depth)),
                            allowed,
                        )?
                        .pop()
                        .unwrap_or_default();
                    let keywords = fulltext::search(
                        &snap.read,
                        &state.record,
                        h.keywords,
                        depth(h.keyword_depth),
                        allowed,
                    )?;
                    let pairs =
                        |l: &[Found]| l.iter().map(|f| (f.row, f.score)).collect::<Vec<_>>();
                    let (dense_pairs, keyword_pairs) = (pairs(&dense), pairs(&keywords));
                    let vectors: std::collections::HashMap<u64, Vec<f32>> = dense
                        .into_iter()
                        .filter_map(|f| f.vector.map(|v| (f.row, v)))
                        .collect();
                    let lists = [
                        Ranked {
                            branch: Branch::Dense,
                            weight: h.weights.0,
                            hits: &dense_pairs,
                            higher_is_better: state.kind.schema().metric
                                != quiver_index::Metric::L2,
                        },
                        Ranked {
                            branch: Branch::Keywords,
                            weight: h.weights.1,
                            hits: &keyword_pairs,
                            higher_is_better: true,
                        },
                    ];
                    fusion::fuse(h.fusion, &lists)
                        .into_iter()
                        .take(wanted)
                        .map(|f| {
                            let found = Found {
                                row: f.row,
                                score: f.score,
                                vector: vectors.get(&f.row).cloned(),
                            };
                            (found, Some(f.explain))
                        })
                        .collect()
                }
            };
            results.push(list.into_iter().skip(options.offset).collect::<Vec<_>>());
        }
        let reader = snap.read.row_reader(&state.record)?;
        results
            .into_iter()
            .map(|list| hits(&reader, list, &options))
            .collect()
    }
}

/// Candidates each hybrid branch takes by default (at least k + offset).
const DEFAULT_DEPTH: usize = 100;

/// What one query of a batch runs.
enum Plan<'d, 'q> {
    Dense(Data<'d>),
    Keywords(&'q str),
    Hybrid(Data<'d>, Hybrid<'q>),
}

fn hits(
    reader: &RowReader,
    found: Vec<(Found, Option<Explanation>)>,
    options: &SearchOptions<'_>,
) -> Result<Vec<Hit>> {
    found
        .into_iter()
        .map(|(f, explain)| {
            let id = reader
                .id(f.row)?
                .ok_or_else(|| crate::Error::corrupted(format!("row {} has no id", f.row)))?;
            let (payload, text) = if options.include_payload {
                (
                    parse_payload(f.row, reader.payload(f.row)?)?,
                    reader.text(f.row)?,
                )
            } else {
                (None, None)
            };
            Ok(Hit {
                id,
                score: f.score,
                payload,
                text,
                vector: f.vector,
                explain,
            })
        })
        .collect()
}
