//! `quiver.open` / `quiver.create` and the `Database` handle (a context manager).

use crate::collection::Collection;
use crate::errors::{IntoPy, invalid};
use crate::models;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use quiver::{CollectionConfig, ElementType, Metric};
use std::path::PathBuf;
use std::sync::Arc;

/// An open database file. Closed by `close()`, by leaving a `with` block, or when the last
/// reference goes; collections taken from it keep it open while they live.
#[pyclass(module = "quiver", frozen)]
pub(crate) struct Database {
    inner: std::sync::Mutex<Option<quiver::Database>>,
    path: PathBuf,
}

impl Database {
    pub(crate) fn handle(&self) -> PyResult<quiver::Database> {
        self.inner
            .lock()
            .map_err(|_| crate::errors::InternalError::new_err("database lock poisoned"))?
            .clone()
            .ok_or_else(|| invalid("the database is closed"))
    }
}

/// The open options of `open` / `create`.
fn options(busy_timeout: Option<f64>, exclusive: bool) -> PyResult<quiver::DatabaseOptions> {
    let mut o = quiver::Database::builder();
    if exclusive {
        o = o.exclusive(true);
    }
    if let Some(seconds) = busy_timeout {
        let timeout = std::time::Duration::try_from_secs_f64(seconds).map_err(|_| {
            invalid(format!(
                "busy_timeout must be a finite number of seconds >= 0, not {seconds}"
            ))
        })?;
        o = o.busy_timeout(timeout);
    }
    Ok(o)
}

/// Opens an existing database file (`NotFound` if there is none). `read_only=True` only
/// reads, beside any number of other readers and writers (writes raise `ReadOnly`);
/// `exclusive=True` keeps the file to this handle. `busy_timeout` (seconds, default 5) is how
/// long to wait for a file another process holds before `Locked`.
#[pyfunction]
#[pyo3(signature = (path, *, read_only=false, exclusive=false, busy_timeout=None))]
pub(crate) fn open(
    py: Python<'_>,
    path: PathBuf,
    read_only: bool,
    exclusive: bool,
    busy_timeout: Option<f64>,
) -> PyResult<Database> {
    let o = options(busy_timeout, exclusive)?;
    let db = py
        .detach(|| {
            if read_only {
                o.open_read_only(&path)
            } else {
                o.open(&path)
            }
        })
        .py_err()?;
    Ok(Database {
        inner: std::sync::Mutex::new(Some(db)),
        path,
    })
}

/// Opens a database file, creating it if it does not exist (options as `open`).
#[pyfunction]
#[pyo3(signature = (path, *, exclusive=false, busy_timeout=None))]
pub(crate) fn create(
    py: Python<'_>,
    path: PathBuf,
    exclusive: bool,
    busy_timeout: Option<f64>,
) -> PyResult<Database> {
    let o = options(busy_timeout, exclusive)?;
    let db = py.detach(|| o.create(&path)).py_err()?;
    Ok(Database {
        inner: std::sync::Mutex::new(Some(db)),
        path,
    })
}

#[pymethods]
impl Database {
    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Creates a collection: `dim` and `metric` ("cosine", "dot", "l2") and `dtype` ("f32",
    /// "f16", "bf16"); or `model`, a model folder whose outputs it stores (texts are then
    /// embedded on upsert and search). `multi_vector=True` stores a token matrix per record
    /// (MaxSim); with `model`, `colbert=True` loads a ColBERT checkpoint.
    #[pyo3(signature = (name, dim=None, metric="cosine", dtype="f32", model=None, multi_vector=false, colbert=false))]
    #[allow(clippy::too_many_arguments)]
    fn create_collection(
        slf: &Bound<'_, Self>,
        name: &str,
        dim: Option<usize>,
        metric: &str,
        dtype: &str,
        model: Option<PathBuf>,
        multi_vector: bool,
        colbert: bool,
    ) -> PyResult<Collection> {
        let py = slf.py();
        let db = slf.get().handle()?;
        let metric: Metric = metric.parse().map_err(|e: String| invalid(e))?;
        let dtype: ElementType = dtype.parse().map_err(|e: String| invalid(e))?;
        let config = match model {
            Some(dir) => {
                let embedder = py.detach(|| models::load_embedder(&dir, colbert))?;
                let model_dim = embedder.identity().dim;
                if let Some(d) = dim.filter(|&d| d != model_dim) {
                    return Err(invalid(format!(
                        "dim={d}, but the model outputs {model_dim}"
                    )));
                }
                let embedder: Arc<dyn quiver::Embedder> = embedder;
                if multi_vector || colbert {
                    CollectionConfig::multi_vector_with_embedder(embedder)
                } else {
                    CollectionConfig::with_embedder(embedder)
                }
                .metric(metric)
            }
            None => {
                let dim = dim.ok_or_else(|| invalid("give dim= (or model=)"))?;
                if multi_vector {
                    CollectionConfig::multi_vector(dim, metric)
                } else {
                    CollectionConfig::new(dim, metric)
                }
            }
        }
        .element_type(dtype);
        py.detach(|| db.create_collection(name, config)).py_err()?;
        Ok(Collection::new(slf.clone().unbind(), name.to_owned()))
    }

    /// The collection called `name` (`NotFound` if there is none).
    fn collection(slf: &Bound<'_, Self>, name: &str) -> PyResult<Collection> {
        let db = slf.get().handle()?;
        slf.py().detach(|| db.collection(name)).py_err()?;
        Ok(Collection::new(slf.clone().unbind(), name.to_owned()))
    }

    /// Every collection, as dicts: name, dim, metric, dtype, count, multi_vector.
    fn collections<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let db = self.handle()?;
        let infos = py.detach(|| db.collections()).py_err()?;
        infos
            .into_iter()
            .map(|info| {
                let d = PyDict::new(py);
                d.set_item("name", info.name)?;
                d.set_item("dim", info.dim)?;
                d.set_item("metric", info.metric.to_string())?;
                d.set_item("dtype", info.element_type.to_string())?;
                d.set_item("count", info.count)?;
                d.set_item("multi_vector", info.multi_vector)?;
                Ok(d)
            })
            .collect()
    }

    /// Drops a collection and everything in it (`NotFound` if there is none).
    fn drop_collection(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        let db = self.handle()?;
        py.detach(|| db.drop_collection(name)).py_err()
    }

    /// Closes this handle (collections taken from it stay usable until they go).
    fn close(&self) -> PyResult<()> {
        if let Ok(mut inner) = self.inner.lock() {
            inner.take();
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close()?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("quiver.Database({:?})", self.path)
    }
}
