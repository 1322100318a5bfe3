//! Model folders: embedders for text collections and the cross-encoder re-ranker.

use crate::errors::IntoPy;
use pyo3::prelude::*;
use std::path::Path;
use std::sync::Arc;

pub(crate) fn load_embedder(dir: &Path, colbert: bool) -> PyResult<Arc<dyn quiver::Embedder>> {
    Ok(if colbert {
        Arc::new(quiver_embed::ColbertEmbedder::load(dir).py_err()?)
    } else {
        Arc::new(quiver_embed::BertEmbedder::load(dir).py_err()?)
    })
}

/// A cross-encoder (a BERT-family `...ForSequenceClassification` folder) that scores
/// (query, text) pairs: `score(query, texts)`, or `search(..., rerank=reranker)`.
#[pyclass(module = "quiver", frozen)]
pub(crate) struct Reranker {
    pub(crate) model: Arc<dyn quiver::CrossEncoder>,
}

#[pymethods]
impl Reranker {
    #[new]
    fn new(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let model = py
            .detach(|| quiver_embed::BertCrossEncoder::load(&path))
            .py_err()?;
        Ok(Reranker {
            model: Arc::new(model),
        })
    }

    /// One score per text, in input order (higher is more relevant).
    fn score(&self, py: Python<'_>, query: &str, texts: Vec<String>) -> PyResult<Vec<f32>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        py.detach(|| self.model.score(query, &refs)).py_err()
    }

    /// The model's identity: name, weights_sha256, max_tokens, activation, labels.
    #[getter]
    fn identity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let id = self.model.identity();
        let d = pyo3::types::PyDict::new(py);
        d.set_item("name", &id.name)?;
        d.set_item("weights_sha256", &id.weights_sha256)?;
        d.set_item("max_tokens", id.max_tokens)?;
        d.set_item("activation", format!("{:?}", id.activation).to_lowercase())?;
        d.set_item("labels", id.labels)?;
        Ok(d)
    }
}
