//! The one query surface: [`Query`] (what to look for) apart from [`SearchOptions`] (how),
//! [`Collection::search`] and [`Collection::search_batch`], and the [`Hit`]s they return.

use super::{Collection, parse_payload};
use crate::embed;
use crate::error::{Error, Result};
use crate::filter::{self, Filter};
use crate::fulltext;
use crate::kinds::{self, Data, Found, Owned};
use crate::stages::fusion::{self, Branch, Explanation, Fusion, Ranked};
use crate::stages::rerank::{self, Rerank};
use crate::stages::rescore::{self, Rescore};
use crate::stages::{self, Stage, StageScore};
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
/// - IVF-PQ (one-vector collections): `nprobe` = nlist / 16 (at least 8; with 4-bit codes
///   nlist / 4, at least 16: docs/ann.md); `refine` = 4
///   (4 x k candidates re-ranked exactly).
/// - Token index (multi-vector collections): `nprobe` = 2 centroids per query token;
///   `candidates` = max(64 x k, 1024, records / 24) re-ranked with exact MaxSim.
/// - `dims` (both kinds): all. `dims(d)` with d below the dimension is the Matryoshka funnel:
///   candidates are found on the first d components only (cosine on the prefixes' own
///   norms), then re-ranked exactly on all of them, so every score is the full one. One-vector
///   collections re-rank `refine` x k prefix candidates (`refine` defaults to 10 here, not 4);
///   with an IVF-PQ index the probed cells' rows are the ones scored on the prefix.
///   Multi-vector collections use the prefix for candidate generation and re-rank
///   `candidates`. `exact` turns the funnel off (a full exact search).
///
/// Knobs of the other kind of collection are ignored (`refine` and `include_vector` by
/// multi-vector collections, `candidates` by one-vector ones).
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
    /// Exact re-scoring in another collection of the same ids (e.g. MaxSim on a ColBERT
    /// collection) after the first stage.
    pub rescore: Option<Rescore<'a>>,
    /// Cross-encoder re-ranking of the best candidates, the last stage.
    pub rerank: Option<Rerank<'a>>,
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
            rescore: None,
            rerank: None,
        }
    }

    /// Re-score the first stage's candidates exactly in another collection of the same ids
    /// (see [`Rescore`]).
    pub fn rescore(mut self, rescore: Rescore<'a>) -> Self {
        self.rescore = Some(rescore);
        self
    }

    /// Re-rank the best candidates with a cross-encoder (see [`Rerank`]): the hits' scores
    /// are then the cross-encoder's, and each hit's [`Hit::stages`] holds every stage's.
    ///
    /// ```
    /// # use quiver::{CollectionConfig, Database, Metric, Record, Rerank, SearchOptions};
    /// # use quiver::embed::{CrossEncoder, RerankerIdentity, ScoreActivation};
    /// # use serde_json::json;
    /// # use std::sync::Arc;
    /// # struct Shortest(RerankerIdentity);
    /// # impl CrossEncoder for Shortest {
    /// #     fn identity(&self) -> &RerankerIdentity { &self.0 }
    /// #     fn score(&self, _: &str, t: &[&str]) -> quiver::Result<Vec<f32>> {
    /// #         Ok(t.iter().map(|t| -(t.len() as f32)).collect())
    /// #     }
    /// # }
    /// # let model: Arc<dyn CrossEncoder> = Arc::new(Shortest(RerankerIdentity {
    /// #     name: "shortest".into(), weights_sha256: "v1".into(), max_tokens: 512,
    /// #     activation: ScoreActivation::Identity, labels: 1 }));
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = Database::create(dir.path().join("q.qvr"))?;
    /// let c = db.create_collection("c", CollectionConfig::new(2, Metric::Cosine))?;
    /// c.upsert(&[
    ///     Record::new("a", vec![1.0, 0.0]).with_payload(json!({"body": "a long passage about wings"})),
    ///     Record::new("b", vec![0.9, 0.1]).with_payload(json!({"body": "wings"})),
    /// ])?;
    /// let rerank = Rerank::with(model).query("wings?").text_field("body");
    /// let hits = c.search(&[1.0, 0.0], SearchOptions::new(1).rerank(rerank))?;
    /// assert_eq!(hits[0].id, "b"); // first by the cross-encoder, second by cosine
    /// assert_eq!(hits[0].stages.len(), 2);
    /// # Ok::<(), quiver::Error>(())
    /// ```
    pub fn rerank(mut self, rerank: Rerank<'a>) -> Self {
        self.rerank = Some(rerank);
        self
    }

    /// Candidates the first stage retrieves for k + offset = `wanted` results.
    fn depth(&self, wanted: usize) -> usize {
        let rescore = self.rescore.as_ref().map_or(wanted, |r| r.depth(wanted));
        let rerank = self.rerank.as_ref().map_or(wanted, |r| r.depth(wanted));
        rescore.max(rerank)
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

    /// Finds candidates on the first `dims` components only (Matryoshka encoders), then
    /// re-ranks them on all: 1..=dimension, else `InvalidParameter`.
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
        if let Some(r) = &self.rescore {
            r.validate()?;
        }
        if let Some(r) = &self.rerank {
            r.validate()?;
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
    /// Searches with a re-scoring or re-ranking stage: the hit's rank and score after each
    /// stage it went through, first stage first (`score` is the last one's). Empty otherwise.
    pub stages: Vec<StageScore>,
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
            stages: Vec::new(),
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
        let snap = self.db.snapshot()?;
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
        let requested = options.k + options.offset;
        let wanted = options.depth(requested);
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
            results.push(list);
        }
        let reader = snap.read.row_reader(&state.record)?;
        if options.rescore.is_none() && options.rerank.is_none() {
            return results
                .into_iter()
                .map(|list| hits(&reader, list.into_iter().skip(options.offset), &options))
                .collect();
        }
        // A pipeline: the later stages need ids and texts, so payloads are read first.
        let reranker = match &options.rerank {
            Some(r) => Some(self.stage_reranker(r)?),
            None => None,
        };
        let text_source = match &options.rerank {
            Some(r) => Some(DocumentText::of(self, &snap.read, state, r)?),
            None => None,
        };
        let read_all = options.clone().include_payload(true);
        let mut out = Vec::with_capacity(results.len());
        for (list, query) in results.into_iter().zip(&queries) {
            let mut list = hits(&reader, list.into_iter(), &read_all)?;
            stages::record(Stage::Retrieve, &mut list);
            if let Some(r) = &options.rescore {
                let q = match r.query {
                    Some(q) => q,
                    None => Query::Text(query_text(query).ok_or_else(|| no_text("rescore"))?),
                };
                let tail = list.split_off(r.depth(requested).min(list.len()));
                rescore::apply(r, q, &mut list)?;
                list.extend(tail);
            }
            if let (Some(r), Some(model), Some(source)) = (&options.rerank, &reranker, &text_source)
            {
                let q = r
                    .query
                    .or_else(|| query_text(query))
                    .ok_or_else(|| no_text("rerank"))?;
                let tail = list.split_off(r.depth(requested).min(list.len()));
                let texts: Vec<Option<String>> =
                    list.iter().map(|h| source.text(h)).collect::<Result<_>>()?;
                rerank::apply(model.as_ref(), q, &mut list, &texts)?;
                list.extend(tail);
            }
            let mut list: Vec<Hit> = list
                .into_iter()
                .skip(options.offset)
                .take(options.k)
                .collect();
            if !options.include_payload {
                for h in &mut list {
                    h.payload = None;
                    h.text = None;
                }
            }
            out.push(list);
        }
        Ok(out)
    }

    /// The cross-encoder a re-rank stage uses: the one given, else the pinned default.
    fn stage_reranker(&self, r: &Rerank<'_>) -> Result<std::sync::Arc<dyn crate::CrossEncoder>> {
        if let Some(m) = &r.model {
            return Ok(m.clone());
        }
        let model = self.reranker()?.ok_or_else(|| Error::InvalidParameter {
            name: "rerank",
            reason: format!(
                "collection '{}' has no pinned re-ranker (Collection::pin_reranker): give the model",
                self.name
            ),
        })?;
        if model.identity().labels != 1 {
            return Err(Error::InvalidParameter {
                name: "rerank model",
                reason: format!(
                    "{} is not a one-output re-ranker",
                    model.identity().fingerprint()
                ),
            });
        }
        Ok(model)
    }
}

/// The text a query stands for, which later stages read: a text query's text, a keyword
/// query's keywords, a hybrid query's dense text (else its keywords).
fn query_text<'q>(q: &Query<'q>) -> Option<&'q str> {
    match *q {
        Query::Text(t) | Query::Keywords(t) => Some(t),
        Query::Hybrid(Hybrid {
            dense: Dense::Text(t),
            ..
        }) => Some(t),
        Query::Hybrid(h) => Some(h.keywords),
        _ => None,
    }
}

fn no_text(stage: &'static str) -> Error {
    Error::InvalidParameter {
        name: stage,
        reason: format!(
            "a vector or matrix query has no text for the {stage} stage: give it (Rerank::query / Rescore::query)"
        ),
    }
}

/// Where a re-ranker reads a candidate's document text (see [`Rerank`]).
enum DocumentText {
    Field(crate::filter::FieldPath),
    /// The stored text, else these full-text-indexed fields.
    Stored(Vec<crate::filter::FieldPath>),
}

impl DocumentText {
    fn of(
        c: &Collection,
        read: &quiver_storage::ReadSnapshot,
        state: &crate::db::snapshot::CollectionState,
        r: &Rerank<'_>,
    ) -> Result<DocumentText> {
        if let Some(f) = r.text_field {
            let path =
                crate::filter::FieldPath::new(f).map_err(|reason| Error::InvalidParameter {
                    name: "rerank text_field",
                    reason,
                })?;
            return Ok(DocumentText::Field(path));
        }
        let _ = c;
        let fields = match fulltext::declared_params(read, &state.record)? {
            Some(params) => params.paths()?,
            None => Vec::new(),
        };
        Ok(DocumentText::Stored(fields))
    }

    fn text(&self, hit: &Hit) -> Result<Option<String>> {
        let from = |paths: &[crate::filter::FieldPath]| -> Option<String> {
            let payload = hit.payload.as_ref()?;
            let mut parts: Vec<&str> = Vec::new();
            for p in paths {
                match crate::filter::plan::resolve_path(p, payload) {
                    Some(Value::String(s)) => parts.push(s),
                    Some(Value::Array(items)) => {
                        parts.extend(items.iter().filter_map(Value::as_str));
                    }
                    _ => {}
                }
            }
            (!parts.is_empty()).then(|| parts.join("\n"))
        };
        Ok(match self {
            DocumentText::Field(p) => from(std::slice::from_ref(p)),
            DocumentText::Stored(fields) => hit.text.clone().or_else(|| from(fields)),
        })
    }
}

/// Candidates each hybrid branch takes by default (at least k + offset).
pub(crate) const DEFAULT_DEPTH: usize = 100;

/// What one query of a batch runs.
enum Plan<'d, 'q> {
    Dense(Data<'d>),
    Keywords(&'q str),
    Hybrid(Data<'d>, Hybrid<'q>),
}

fn hits(
    reader: &RowReader,
    found: impl Iterator<Item = (Found, Option<Explanation>)>,
    options: &SearchOptions<'_>,
) -> Result<Vec<Hit>> {
    found
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
                stages: Vec::new(),
            })
        })
        .collect()
}
