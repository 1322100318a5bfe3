//! The `Collection` handle: writes, reads, indexes. Searching is in `search.rs`.

use crate::convert::{self, MatrixArg};
use crate::database::Database;
use crate::errors::{IntoPy, invalid};
use crate::search;
use numpy::{IntoPyArray, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use quiver::{
    IndexParams, IvfPqParams, MultiIndexParams, MultiRecord, PayloadIndexKind, Record, TextRecord,
    VectorColumns,
};

/// One collection of a database. Every method looks the collection up in the latest
/// committed state, so a handle to a dropped collection raises `NotFound`; it holds the
/// Python `Database`, not the file, so closing the database closes the file even while
/// collection handles remain (their calls then raise `InvalidArgument`).
#[pyclass(module = "quiver", frozen)]
pub(crate) struct Collection {
    db: Py<Database>,
    name: String,
}

impl Collection {
    pub(crate) fn new(db: Py<Database>, name: String) -> Self {
        Collection { db, name }
    }

    /// The engine's handle, from the open database (a name and a reference: cheap).
    pub(crate) fn inner(&self) -> PyResult<quiver::Collection> {
        self.db.get().handle()?.collection(&self.name).py_err()
    }
}

/// `payloads` (a list of dicts or None, one per id), or all None.
fn payload_list(
    payloads: Option<&Bound<'_, PyAny>>,
    n: usize,
) -> PyResult<Vec<Option<serde_json::Value>>> {
    let Some(list) = payloads.filter(|p| !p.is_none()) else {
        return Ok(vec![None; n]);
    };
    let items: Vec<Bound<'_, PyAny>> = list
        .try_iter()
        .map_err(|_| invalid("payloads must be a list of dicts"))?
        .collect::<PyResult<_>>()?;
    if items.len() != n {
        return Err(invalid(format!("{} payloads for {n} ids", items.len())));
    }
    items.iter().map(convert::payload).collect()
}

/// A one-vector record as the dict `get` returns.
fn record_dict(py: Python<'_>, r: Record) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let vector: Bound<'_, PyArray1<f32>> = r.vector.into_pyarray(py);
    d.set_item("id", r.id)?;
    let payload = r.payload.as_ref().map(|p| convert::to_python(py, p));
    d.set_item("payload", payload.transpose()?)?;
    d.set_item("vector", vector)?;
    d.set_item("text", r.text)?;
    Ok(d)
}

#[pymethods]
impl Collection {
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Components per vector (per token row for multi-vector collections).
    #[getter]
    fn dim(&self, py: Python<'_>) -> PyResult<usize> {
        let coll = self.inner()?;
        Ok(py.detach(|| coll.info()).py_err()?.dim)
    }

    #[getter]
    fn metric(&self, py: Python<'_>) -> PyResult<String> {
        let coll = self.inner()?;
        Ok(py.detach(|| coll.info()).py_err()?.metric.to_string())
    }

    #[getter]
    fn multi_vector(&self, py: Python<'_>) -> PyResult<bool> {
        let coll = self.inner()?;
        Ok(py.detach(|| coll.info()).py_err()?.multi_vector)
    }

    /// Number of records; with `filter`, of the records matching it.
    #[pyo3(signature = (filter=None))]
    fn count(&self, py: Python<'_>, filter: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let coll = self.inner()?;
        match filter
            .filter(|f| !f.is_none())
            .map(convert::filter)
            .transpose()?
        {
            Some(f) => py.detach(|| coll.count_where(&f)).py_err(),
            None => py.detach(|| coll.count()).py_err(),
        }
    }

    /// Deletes every record matching `filter` in one transaction; returns how many.
    fn delete_where(&self, py: Python<'_>, filter: &Bound<'_, PyAny>) -> PyResult<usize> {
        let coll = self.inner()?;
        let f = convert::filter(filter)?;
        py.detach(|| coll.delete_where(&f)).py_err()
    }

    /// Up to `limit` records matching `filter` (oldest first), as `get` returns them
    /// (one-vector collections).
    #[pyo3(signature = (filter, limit=100))]
    fn get_where<'py>(
        &self,
        py: Python<'py>,
        filter: &Bound<'py, PyAny>,
        limit: usize,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let coll = self.inner()?;
        let f = convert::filter(filter)?;
        let records = py.detach(|| coll.get_where(&f, limit)).py_err()?;
        records.into_iter().map(|r| record_dict(py, r)).collect()
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.count(py, None)? as usize)
    }

    /// Inserts or replaces records, in one transaction: all of them or none. Give `ids` and
    /// one of `vectors` (a 2-d array, n x dim; multi-vector collections: a list of 2-d
    /// arrays) or `texts` (embedded with the collection's model), and optionally `payloads`
    /// (a list of dicts or None). The GIL is released while the batch is validated,
    /// embedded and committed.
    #[pyo3(signature = (ids, vectors=None, payloads=None, texts=None))]
    fn upsert(
        &self,
        py: Python<'_>,
        ids: Vec<String>,
        vectors: Option<&Bound<'_, PyAny>>,
        payloads: Option<&Bound<'_, PyAny>>,
        texts: Option<Vec<String>>,
    ) -> PyResult<()> {
        let n = ids.len();
        let payloads = payload_list(payloads, n)?;
        match (vectors.filter(|v| !v.is_none()), texts) {
            (Some(_), Some(_)) => Err(invalid("give vectors= or texts=, not both")),
            (None, None) => Err(invalid("give vectors= or texts=")),
            (None, Some(texts)) => {
                if texts.len() != n {
                    return Err(invalid(format!("{} texts for {n} ids", texts.len())));
                }
                let records: Vec<TextRecord> = ids
                    .into_iter()
                    .zip(texts)
                    .zip(payloads)
                    .map(|((id, text), payload)| TextRecord::new(id, text).with_payload(payload))
                    .collect();
                let coll = self.inner()?;
                py.detach(|| coll.upsert(&records)).py_err()
            }
            (Some(vectors), None) if self.multi_vector(py)? => {
                let matrices: Vec<Bound<'_, PyAny>> = vectors
                    .try_iter()
                    .map_err(|_| invalid("vectors must be a list of 2-d arrays"))?
                    .collect::<PyResult<_>>()?;
                if matrices.len() != n {
                    return Err(invalid(format!("{} matrices for {n} ids", matrices.len())));
                }
                let mut records = Vec::with_capacity(n);
                for ((id, m), payload) in ids.into_iter().zip(&matrices).zip(payloads) {
                    let rows = convert::matrix(m)?.to_rows()?;
                    records.push(MultiRecord::new(id, rows).with_payload(payload));
                }
                let coll = self.inner()?;
                py.detach(|| coll.upsert(&records)).py_err()
            }
            (Some(vectors), None) => {
                let m: MatrixArg<'_> = convert::matrix(vectors)?;
                let (rows, _) = m.rows_dim();
                if rows != n {
                    return Err(invalid(format!("{rows} vectors for {n} ids")));
                }
                let data = m.as_slice()?;
                let coll = self.inner()?;
                // The array is read in place: no copy of the vectors.
                py.detach(|| {
                    let columns = VectorColumns {
                        ids: &ids,
                        vectors: data,
                        payloads: Some(&payloads),
                    };
                    coll.upsert(columns)
                })
                .py_err()
            }
        }
    }

    /// Deletes the records with these ids; returns how many existed.
    fn delete(&self, py: Python<'_>, ids: Vec<String>) -> PyResult<usize> {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let coll = self.inner()?;
        py.detach(|| coll.delete(&refs)).py_err()
    }

    /// The record `id` as a dict (id, vector as a NumPy array — `vectors`, a 2-d array, for
    /// multi-vector collections —, payload, text), or None.
    fn get<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        let d = PyDict::new(py);
        if self.multi_vector(py)? {
            let coll = self.inner()?;
            let Some(r) = py.detach(|| coll.get_multi(id)).py_err()? else {
                return Ok(None);
            };
            let dim = r.vectors.first().map_or(0, Vec::len);
            let flat: Vec<f32> = r.vectors.concat();
            let array = flat.into_pyarray(py).reshape([r.vectors.len(), dim])?;
            d.set_item("id", r.id)?;
            d.set_item("vectors", array)?;
            d.set_item(
                "payload",
                r.payload
                    .as_ref()
                    .map(|p| convert::to_python(py, p))
                    .transpose()?,
            )?;
            d.set_item("text", r.text)?;
            return Ok(Some(d));
        }
        let coll = self.inner()?;
        let Some(r) = py.detach(|| coll.get(id)).py_err()? else {
            return Ok(None);
        };
        record_dict(py, r).map(Some)
    }

    /// Every record id, in storage order.
    fn ids(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let coll = self.inner()?;
        py.detach(|| coll.ids()).py_err()
    }

    /// Builds (or rebuilds) the approximate index: IVF-PQ for one-vector collections
    /// (`nlist`, `m`, `bits`, `sample`, `seed`), the token index for multi-vector ones
    /// (`centroids`, `seed`). Returns the index's description as a dict.
    #[pyo3(signature = (nlist=None, m=None, sample=None, seed=None, centroids=None, bits=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_index<'py>(
        &self,
        py: Python<'py>,
        nlist: Option<usize>,
        m: Option<usize>,
        sample: Option<usize>,
        seed: Option<u64>,
        centroids: Option<usize>,
        bits: Option<u32>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let params = if self.multi_vector(py)? {
            if nlist.is_some() || m.is_some() || sample.is_some() || bits.is_some() {
                return Err(invalid(
                    "nlist, m, bits and sample are IVF-PQ parameters (one-vector collections)",
                ));
            }
            let mut p = MultiIndexParams::default();
            p.centroids = centroids;
            if let Some(seed) = seed {
                p.seed = seed;
            }
            IndexParams::Tokens(p)
        } else {
            if centroids.is_some() {
                return Err(invalid(
                    "centroids is a token-index parameter (multi-vector collections)",
                ));
            }
            IndexParams::IvfPq(
                IvfPqParams::default()
                    .nlist(nlist)
                    .m(m)
                    .bits(bits)
                    .sample(sample)
                    .seed(seed),
            )
        };
        let coll = self.inner()?;
        let info = py.detach(|| coll.create_index(params)).py_err()?;
        let d = PyDict::new(py);
        d.set_item("indexed", info.indexed())?;
        d.set_item("seed", info.seed())?;
        d.set_item("memory_bytes", info.memory_bytes())?;
        if let Some(ivf) = info.as_ivf_pq() {
            d.set_item("kind", "ivf-pq")?;
            d.set_item("nlist", ivf.nlist)?;
            d.set_item("m", ivf.m)?;
            d.set_item("bits", ivf.bits)?;
        }
        if let Some(t) = info.as_tokens() {
            d.set_item("kind", "tokens")?;
            d.set_item("centroids", t.centroids)?;
        }
        Ok(d)
    }

    /// Drops the approximate index; returns whether there was one.
    fn drop_index(&self, py: Python<'_>) -> PyResult<bool> {
        let coll = self.inner()?;
        py.detach(|| coll.drop_index()).py_err()
    }

    /// Declares a payload index on a (dotted) field: kind "keyword", "integer", "float" or
    /// "bool". Filters on it are then answered from the index.
    fn create_payload_index(&self, py: Python<'_>, field: &str, kind: &str) -> PyResult<()> {
        let kind = PayloadIndexKind::parse(kind).ok_or_else(|| {
            invalid(format!(
                "payload index kind {kind:?}: use keyword, integer, float or bool"
            ))
        })?;
        let coll = self.inner()?;
        py.detach(|| coll.create_payload_index(field, kind))
            .py_err()
    }

    /// Builds the BM25 full-text index over the stored texts, or over these payload fields.
    #[pyo3(signature = (fields=None))]
    fn create_text_index(&self, py: Python<'_>, fields: Option<Vec<String>>) -> PyResult<u64> {
        let mut params = quiver::TextIndexParams::text();
        if let Some(fields) = fields {
            params.fields = fields;
        }
        let coll = self.inner()?;
        let info = py.detach(|| coll.create_text_index(&params)).py_err()?;
        Ok(info.rows)
    }

    /// Pins a cross-encoder as the collection's default re-ranker (`search(rerank=True)`).
    fn pin_reranker(&self, py: Python<'_>, reranker: &crate::models::Reranker) -> PyResult<()> {
        let model = reranker.model.clone();
        let coll = self.inner()?;
        py.detach(|| coll.pin_reranker(model)).py_err()
    }

    /// Verifies every stored record and index against its checksums and each other; returns
    /// the number of records (raises `Corrupted` on damage).
    fn check(&self, py: Python<'_>) -> PyResult<u64> {
        let coll = self.inner()?;
        py.detach(|| coll.check()).py_err()
    }

    /// The `k` best records for `query`: a vector (1-d array or list), a token matrix (2-d,
    /// multi-vector collections), or a text (embedded with the collection's model). With
    /// `keywords` alone: a BM25 keyword search; with both: a hybrid search fused by `fusion`
    /// ("rrf", "dbsf", "relative") with `weights` (dense, keywords) and `depth` candidates
    /// per branch. `rerank`: a `Reranker`, or True for the collection's pinned one,
    /// re-ranking the best `rerank_top` (default 100). `rescore`: another collection of the
    /// same ids (e.g. ColBERT) whose exact score re-orders the best `rescore_top`, with
    /// `rescore_query` (default: the query's text). Every knob: docs/python.md.
    #[pyo3(signature = (
        query=None, k=10, *, keywords=None, filter=None, exact=false, nprobe=None,
        refine=None, candidates=None, dims=None, offset=0, include_payload=true,
        include_vector=false, fusion="rrf", weights=(1.0, 1.0), depth=None, rerank=None,
        rerank_top=None, rerank_field=None, rerank_query=None, rescore=None,
        rescore_top=None, rescore_query=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        py: Python<'_>,
        query: Option<&Bound<'_, PyAny>>,
        k: usize,
        keywords: Option<String>,
        filter: Option<&Bound<'_, PyAny>>,
        exact: bool,
        nprobe: Option<usize>,
        refine: Option<usize>,
        candidates: Option<usize>,
        dims: Option<usize>,
        offset: usize,
        include_payload: bool,
        include_vector: bool,
        fusion: &str,
        weights: (f64, f64),
        depth: Option<usize>,
        rerank: Option<&Bound<'_, PyAny>>,
        rerank_top: Option<usize>,
        rerank_field: Option<String>,
        rerank_query: Option<String>,
        rescore: Option<&Bound<'_, PyAny>>,
        rescore_top: Option<usize>,
        rescore_query: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<search::Hit>> {
        let args = search::SearchArgs {
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
        };
        search::search(self, py, args)
    }

    /// Many vector queries at once (a 2-d array, n x dim): `(ids, scores)`, where `ids` is a
    /// list of n lists of up to k ids and `scores` an n x k float32 array (NaN where fewer
    /// than k records were found). Flat collections answer a batch as matrix products.
    #[pyo3(signature = (queries, k=10, *, filter=None, exact=false, nprobe=None, refine=None, dims=None))]
    #[allow(clippy::too_many_arguments)]
    fn search_batch<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: usize,
        filter: Option<&Bound<'py, PyAny>>,
        exact: bool,
        nprobe: Option<usize>,
        refine: Option<usize>,
        dims: Option<usize>,
    ) -> PyResult<search::BatchResult<'py>> {
        search::search_batch(self, py, queries, k, filter, exact, nprobe, refine, dims)
    }

    /// Hard negatives for training pairs (docs/mining.md). `pairs`: dicts `{"query": text,
    /// list of floats or NumPy vector, "positive": id or list of ids}`. Keyword options as
    /// docs/mining.md names them: `teachers` (["dense"]; "bm25", "hybrid"), `negatives` (3),
    /// `range_min`, `range_max`, `margin`, `relative_margin`, `max_score`, `min_score`,
    /// `sample` ("top" / "random"), `seed`, `format` ("triplet", "ntuple", "pairs", "flag"),
    /// `scores`, `ids`, `exact`. Returns the rows, as dicts.
    #[pyo3(signature = (pairs, **options))]
    fn mine_hard_negatives<'py>(
        &self,
        py: Python<'py>,
        pairs: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        crate::mining::mine(self, py, pairs, options)
    }

    /// k-means clusters of the records (deterministic for `seed`): a dict with `ids`,
    /// `clusters` (uint32 array), `distances` (to the centroid), `centroids` (k x dim),
    /// `sizes`, `inertia`. `into_payload="field"` also writes each record's cluster into its
    /// payload (one transaction).
    #[pyo3(signature = (k, seed=0, into_payload=None))]
    fn cluster<'py>(
        &self,
        py: Python<'py>,
        k: usize,
        seed: u64,
        into_payload: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        crate::space::cluster(self, py, k, seed, into_payload)
    }

    /// How unusual each record is (or, with `vectors` (n x dim) or `texts`, those, without
    /// storing them): a dict with `ids` (records only), `neighbour_distance` (mean distance
    /// to the `neighbours` nearest records) and `centroid_distance` (to the nearest of
    /// `clusters` k-means centroids, default round(sqrt(n))), float32 arrays; higher is more
    /// unusual.
    #[pyo3(signature = (neighbours=10, clusters=None, seed=0, exact=false, vectors=None, texts=None))]
    #[allow(clippy::too_many_arguments)]
    fn outlier_scores<'py>(
        &self,
        py: Python<'py>,
        neighbours: usize,
        clusters: Option<usize>,
        seed: u64,
        exact: bool,
        vectors: Option<&Bound<'py, PyAny>>,
        texts: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        crate::space::outlier_scores(self, py, neighbours, clusters, seed, exact, vectors, texts)
    }

    /// The records (a seeded sample of `sample`; None: all) on the two principal axes of
    /// their vectors: a dict with `ids`, `points` (n x 2 float32), `explained` (each axis's
    /// share of the variance).
    #[pyo3(signature = (sample=20_000, seed=0))]
    fn map<'py>(
        &self,
        py: Python<'py>,
        sample: Option<usize>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        crate::space::map(self, py, sample, seed)
    }

    /// Training pairs (as for `mine_hard_negatives`) packed into batches whose positives
    /// share a k-means cluster: a dict with `batches` (lists of pair positions), `clusters`,
    /// `single_cluster`, `hardness` and `random_hardness` (mean in-batch negative
    /// similarity, packed and shuffled).
    #[pyo3(signature = (pairs, batch_size, clusters=None, seed=0))]
    fn pack_batches<'py>(
        &self,
        py: Python<'py>,
        pairs: &Bound<'py, PyAny>,
        batch_size: usize,
        clusters: Option<usize>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        crate::space::pack_batches(self, py, pairs, batch_size, clusters, seed)
    }

    fn __repr__(&self) -> String {
        format!("quiver.Collection({:?})", self.name)
    }
}
