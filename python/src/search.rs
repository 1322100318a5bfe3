//! `Collection.search` / `search_batch` and the `Hit` they return. Every knob of the engine's
//! `SearchOptions` is a keyword argument; the GIL is released for the search itself.

use crate::collection::Collection;
use crate::convert::{self, MatrixArg, VectorArg};
use crate::errors::{IntoPy, invalid};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use quiver::{Dense, Fusion, Hybrid, Query, Rerank, SearchOptions};

/// One search result.
#[pyclass(module = "quiver", frozen, get_all)]
pub(crate) struct Hit {
    /// The record's id.
    id: String,
    /// Its score: cosine similarity, dot product or L2 distance (smaller is closer), MaxSim,
    /// BM25, the fused score (hybrid) or the re-ranker's (with `rerank`).
    score: f32,
    /// The payload dict (with `include_payload`, the default), or None.
    payload: Py<PyAny>,
    /// The text the record was embedded from, or None.
    text: Option<String>,
    /// The stored vector (with `include_vector=True`), or None.
    vector: Py<PyAny>,
    /// With re-scoring or re-ranking: (stage, rank, score) after each stage, first first.
    stages: Vec<(String, usize, f32)>,
    /// Hybrid queries: (branch, rank or None, score or None) in each branch.
    explain: Vec<(String, Option<usize>, Option<f32>)>,
}

#[pymethods]
impl Hit {
    fn __repr__(&self) -> String {
        format!("Hit(id={:?}, score={})", self.id, self.score)
    }
}

fn hit(py: Python<'_>, h: quiver::Hit) -> PyResult<Hit> {
    let payload = match &h.payload {
        Some(p) => convert::to_python(py, p)?.unbind(),
        None => py.None(),
    };
    let vector = match h.vector {
        Some(v) => v.into_pyarray(py).into_any().unbind(),
        None => py.None(),
    };
    Ok(Hit {
        id: h.id,
        score: h.score,
        payload,
        text: h.text,
        vector,
        stages: h
            .stages
            .iter()
            .map(|s| (s.stage.name().to_owned(), s.rank, s.score))
            .collect(),
        explain: h.explain.map_or_else(Vec::new, |e| {
            e.branches
                .iter()
                .map(|b| (b.branch.name().to_owned(), b.rank, b.score))
                .collect()
        }),
    })
}

/// `search_batch`'s answer: each query's ids, and an n x k score matrix.
pub(crate) type BatchResult<'py> = (Vec<Vec<String>>, Bound<'py, PyArray2<f32>>);

/// The query's data, held for the duration of the call.
enum Held<'py> {
    Vector(VectorArg<'py>),
    Matrix(Vec<Vec<f32>>),
    Text(String),
    None,
}

fn hold<'py>(query: Option<&Bound<'py, PyAny>>) -> PyResult<Held<'py>> {
    let Some(q) = query.filter(|q| !q.is_none()) else {
        return Ok(Held::None);
    };
    if let Ok(text) = q.extract::<String>() {
        return Ok(Held::Text(text));
    }
    if convert::is_matrix(q) {
        let m: MatrixArg<'_> = convert::matrix(q)?;
        return Ok(Held::Matrix(m.to_rows()?));
    }
    Ok(Held::Vector(convert::vector(q)?))
}

/// Plain references into a [`Held`] query: what crosses into the GIL-free closure (the NumPy
/// view itself must not).
#[derive(Clone, Copy, Default)]
struct Refs<'a> {
    vector: Option<&'a [f32]>,
    matrix: Option<&'a [Vec<f32>]>,
    text: Option<&'a str>,
}

impl Held<'_> {
    fn refs(&self) -> PyResult<Refs<'_>> {
        Ok(match self {
            Held::Vector(v) => Refs {
                vector: Some(v.as_slice()?),
                ..Refs::default()
            },
            Held::Matrix(m) => Refs {
                matrix: Some(m),
                ..Refs::default()
            },
            Held::Text(t) => Refs {
                text: Some(t),
                ..Refs::default()
            },
            Held::None => Refs::default(),
        })
    }
}

impl<'a> Refs<'a> {
    /// The query as the engine takes it, if there is one.
    fn query(self) -> Option<Query<'a>> {
        match (self.vector, self.matrix, self.text) {
            (Some(v), _, _) => Some(Query::Vector(v)),
            (_, Some(m), _) => Some(Query::Matrix(m)),
            (_, _, Some(t)) => Some(Query::Text(t)),
            _ => None,
        }
    }

    /// The dense branch of a hybrid query.
    fn dense(self) -> Option<Dense<'a>> {
        match (self.vector, self.matrix, self.text) {
            (Some(v), _, _) => Some(Dense::Vector(v)),
            (_, Some(m), _) => Some(Dense::Matrix(m)),
            (_, _, Some(t)) => Some(Dense::Text(t)),
            _ => None,
        }
    }
}

/// The knobs, converted before the GIL is released.
struct Knobs {
    filter: Option<quiver::Filter>,
    fusion: Fusion,
    weights: (f64, f64),
    depth: Option<usize>,
    rerank: Option<RerankKnobs>,
}

struct RerankKnobs {
    model: Option<std::sync::Arc<dyn quiver::CrossEncoder>>,
    top: Option<usize>,
    field: Option<String>,
    query: Option<String>,
}

/// The arguments of `Collection.search` (python/src/collection.rs declares them).
pub(crate) struct SearchArgs<'a, 'py> {
    pub(crate) query: Option<&'a Bound<'py, PyAny>>,
    pub(crate) k: usize,
    pub(crate) keywords: Option<String>,
    pub(crate) filter: Option<&'a Bound<'py, PyAny>>,
    pub(crate) exact: bool,
    pub(crate) nprobe: Option<usize>,
    pub(crate) refine: Option<usize>,
    pub(crate) candidates: Option<usize>,
    pub(crate) dims: Option<usize>,
    pub(crate) offset: usize,
    pub(crate) include_payload: bool,
    pub(crate) include_vector: bool,
    pub(crate) fusion: &'a str,
    pub(crate) weights: (f64, f64),
    pub(crate) depth: Option<usize>,
    pub(crate) rerank: Option<&'a Bound<'py, PyAny>>,
    pub(crate) rerank_top: Option<usize>,
    pub(crate) rerank_field: Option<String>,
    pub(crate) rerank_query: Option<String>,
    pub(crate) rescore: Option<&'a Bound<'py, PyAny>>,
    pub(crate) rescore_top: Option<usize>,
    pub(crate) rescore_query: Option<&'a Bound<'py, PyAny>>,
}

pub(crate) fn search(
    coll: &Collection,
    py: Python<'_>,
    args: SearchArgs<'_, '_>,
) -> PyResult<Vec<Hit>> {
    let SearchArgs {
        query,
        k,
        keywords,
        filter,
        exact,
        nprobe,
        refine,
        candidates,
        dims,
        offset,
        include_payload,
        include_vector,
        fusion,
        weights,
        depth,
        rerank,
        rerank_top,
        rerank_field,
        rerank_query,
        rescore,
        rescore_top,
        rescore_query,
    } = args;
    // The re-scoring stage's collection and query, resolved with the GIL held.
    let rescore_coll = match rescore.filter(|r| !r.is_none()) {
        Some(r) => Some(
            r.cast::<Collection>()
                .map_err(|_| invalid("rescore must be a quiver.Collection"))?
                .get()
                .inner()?,
        ),
        None => None,
    };
    let rescore_held = hold(rescore_query)?;
    let rescore_refs = rescore_held.refs()?;
    let handle = coll.inner()?;
    let held = hold(query)?;
    let knobs = knobs(
        filter,
        fusion,
        weights,
        depth,
        rerank,
        rerank_top,
        rerank_field,
        rerank_query,
    )?;
    let found = {
        let refs = held.refs()?;
        let text = refs.text;
        py.detach(|| -> quiver::Result<Vec<quiver::Hit>> {
            let mut options = SearchOptions::new(k).exact(exact);
            options.nprobe = nprobe;
            options.refine = refine;
            options.candidates = candidates;
            options.dims = dims;
            options.offset = offset;
            options.include_payload = include_payload;
            options.include_vector = include_vector;
            options.filter = knobs.filter.as_ref();
            options.rescore = rescore_coll.as_ref().map(|rc| {
                let mut stage = quiver::Rescore::new(rc);
                if let Some(top) = rescore_top {
                    stage = stage.top(top);
                }
                match rescore_refs.query() {
                    Some(q) => stage.query(q),
                    None => stage,
                }
            });
            options.rerank = knobs.rerank.as_ref().map(|r| {
                let mut stage = match &r.model {
                    Some(m) => Rerank::with(m.clone()),
                    None => Rerank::pinned(),
                };
                if let Some(top) = r.top {
                    stage = stage.top(top);
                }
                if let Some(f) = &r.field {
                    stage = stage.text_field(f);
                }
                if let Some(q) = r.query.as_deref().or(text).or(keywords.as_deref()) {
                    stage = stage.query(q);
                }
                stage
            });
            let q = match (refs.query(), keywords.as_deref()) {
                (None, None) => {
                    return Err(quiver::Error::InvalidParameter {
                        name: "query",
                        reason: "give a query (vector, matrix or text) or keywords".into(),
                    });
                }
                (None, Some(kw)) => Query::Keywords(kw),
                (Some(q), None) => q,
                (Some(_), Some(kw)) => {
                    // A query exists, so it has a dense form.
                    let dense = refs.dense().unwrap_or(Dense::Text(""));
                    let mut h = Hybrid::new(dense, kw)
                        .fusion(knobs.fusion)
                        .weights(knobs.weights.0, knobs.weights.1);
                    if let Some(depth) = knobs.depth {
                        h = h.depths(depth, depth);
                    }
                    Query::Hybrid(h)
                }
            };
            handle.search(q, options)
        })
        .py_err()?
    };
    found.into_iter().map(|h| hit(py, h)).collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn search_batch<'py>(
    coll: &Collection,
    py: Python<'py>,
    queries: &Bound<'py, PyAny>,
    k: usize,
    filter: Option<&Bound<'py, PyAny>>,
    exact: bool,
    nprobe: Option<usize>,
    refine: Option<usize>,
    dims: Option<usize>,
) -> PyResult<BatchResult<'py>> {
    let handle = coll.inner()?;
    let m = convert::matrix(queries)?;
    let (n, dim) = m.rows_dim();
    let data = m.as_slice()?;
    let filter = filter
        .filter(|f| !f.is_none())
        .map(convert::filter)
        .transpose()?;
    let found = py
        .detach(|| {
            let mut options = SearchOptions::new(k).exact(exact).include_payload(false);
            options.nprobe = nprobe;
            options.refine = refine;
            options.dims = dims;
            options.filter = filter.as_ref();
            handle.search_batch(data.chunks_exact(dim.max(1)).take(n), options)
        })
        .py_err()?;
    let mut scores = vec![f32::NAN; n * k];
    let mut ids = Vec::with_capacity(n);
    for (i, hits) in found.into_iter().enumerate() {
        for (j, h) in hits.iter().enumerate().take(k) {
            scores[i * k + j] = h.score;
        }
        ids.push(hits.into_iter().map(|h| h.id).collect());
    }
    let scores = PyArray1::from_vec(py, scores).reshape([n, k])?;
    Ok((ids, scores))
}

#[allow(clippy::too_many_arguments)]
fn knobs(
    filter: Option<&Bound<'_, PyAny>>,
    fusion: &str,
    weights: (f64, f64),
    depth: Option<usize>,
    rerank: Option<&Bound<'_, PyAny>>,
    top: Option<usize>,
    field: Option<String>,
    query: Option<String>,
) -> PyResult<Knobs> {
    let filter = filter
        .filter(|f| !f.is_none())
        .map(convert::filter)
        .transpose()?;
    let fusion = Fusion::parse(fusion)
        .ok_or_else(|| invalid(format!("fusion {fusion:?}: use rrf, dbsf or relative")))?;
    let rerank = match rerank.filter(|r| !r.is_none()) {
        None => None,
        Some(r) => {
            let model = if let Ok(m) = r.cast::<crate::models::Reranker>() {
                Some(m.get().model.clone())
            } else if r.extract::<bool>().ok() == Some(true) {
                None
            } else if r.extract::<bool>().ok() == Some(false) {
                return Ok(Knobs {
                    filter,
                    fusion,
                    weights,
                    depth,
                    rerank: None,
                });
            } else {
                return Err(invalid(
                    "rerank must be a quiver.Reranker, True (the pinned one) or None",
                ));
            };
            Some(RerankKnobs {
                model,
                top,
                field,
                query,
            })
        }
    };
    Ok(Knobs {
        filter,
        fusion,
        weights,
        depth,
        rerank,
    })
}
