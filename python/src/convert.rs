//! Python values to the engine's and back: payloads and filters (JSON-shaped dicts, through
//! `pythonize`), vectors (NumPy arrays or sequences of floats).

use crate::errors::{IntoPy, invalid};
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

/// A payload (a dict) as JSON; `None` stays `None`.
pub(crate) fn payload(obj: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    if obj.is_none() {
        return Ok(None);
    }
    if !obj.is_instance_of::<PyDict>() {
        return Err(invalid(format!(
            "a payload must be a dict or None, not {}",
            obj.get_type().name()?
        )));
    }
    pythonize::depythonize::<Value>(obj)
        .map(Some)
        .map_err(|e| invalid(format!("payload is not JSON-shaped: {e}")))
}

/// A filter: a dict in the JSON form of docs/filters.md, or its JSON text.
pub(crate) fn filter(obj: &Bound<'_, PyAny>) -> PyResult<quiver::Filter> {
    if let Ok(text) = obj.extract::<String>() {
        return quiver::Filter::parse(&text).py_err();
    }
    let value = pythonize::depythonize::<Value>(obj)
        .map_err(|e| invalid(format!("filter is not JSON-shaped: {e}")))?;
    quiver::Filter::from_json(&value).py_err()
}

/// JSON as Python objects (dicts, lists, str, int, float, bool, None).
pub(crate) fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value)
        .map_err(|e| crate::errors::InternalError::new_err(e.to_string()))
}

/// A vector held for the duration of a call: a NumPy float32 view (no copy) or floats
/// converted from any other sequence or dtype.
pub(crate) enum VectorArg<'py> {
    View(PyReadonlyArray1<'py, f32>),
    Owned(Vec<f32>),
}

impl VectorArg<'_> {
    pub(crate) fn as_slice(&self) -> PyResult<&[f32]> {
        match self {
            VectorArg::View(v) => v
                .as_slice()
                .map_err(|_| invalid("the vector array is not contiguous")),
            VectorArg::Owned(v) => Ok(v),
        }
    }
}

pub(crate) fn vector<'py>(obj: &Bound<'py, PyAny>) -> PyResult<VectorArg<'py>> {
    if let Ok(view) = obj.extract::<PyReadonlyArray1<'py, f32>>()
        && view.is_contiguous()
    {
        return Ok(VectorArg::View(view));
    }
    obj.extract::<Vec<f32>>()
        .map(VectorArg::Owned)
        .map_err(|_| invalid("a vector must be a 1-d array or a sequence of floats"))
}

/// A matrix held for the duration of a call (rows x dim, row-major): a C-contiguous float32
/// NumPy view without a copy, else converted.
pub(crate) enum MatrixArg<'py> {
    View(PyReadonlyArray2<'py, f32>),
    Owned { data: Vec<f32>, dim: usize },
}

impl MatrixArg<'_> {
    pub(crate) fn rows_dim(&self) -> (usize, usize) {
        match self {
            MatrixArg::View(v) => {
                let s = v.shape();
                (s[0], s[1])
            }
            MatrixArg::Owned { data, dim } => (data.len() / (*dim).max(1), *dim),
        }
    }

    pub(crate) fn as_slice(&self) -> PyResult<&[f32]> {
        match self {
            MatrixArg::View(v) => v
                .as_slice()
                .map_err(|_| invalid("the array is not C-contiguous")),
            MatrixArg::Owned { data, .. } => Ok(data),
        }
    }

    /// One `Vec` per row (for the engine's token matrices).
    pub(crate) fn to_rows(&self) -> PyResult<Vec<Vec<f32>>> {
        let (_, dim) = self.rows_dim();
        Ok(self
            .as_slice()?
            .chunks_exact(dim.max(1))
            .map(<[f32]>::to_vec)
            .collect())
    }
}

pub(crate) fn matrix<'py>(obj: &Bound<'py, PyAny>) -> PyResult<MatrixArg<'py>> {
    if let Ok(view) = obj.extract::<PyReadonlyArray2<'py, f32>>()
        && view.is_c_contiguous()
    {
        return Ok(MatrixArg::View(view));
    }
    let rows: Vec<Vec<f32>> = obj
        .extract()
        .map_err(|_| invalid("a matrix must be a 2-d array or a sequence of float sequences"))?;
    let dim = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != dim) {
        return Err(invalid(
            "the rows of a matrix must all have the same length",
        ));
    }
    Ok(MatrixArg::Owned {
        data: rows.concat(),
        dim,
    })
}

/// Whether `obj` looks like a matrix (a 2-d array, or a sequence whose first item is a
/// sequence) rather than one vector.
pub(crate) fn is_matrix(obj: &Bound<'_, PyAny>) -> bool {
    if let Ok(ndim) = obj.getattr("ndim").and_then(|n| n.extract::<usize>()) {
        return ndim == 2;
    }
    obj.get_item(0)
        .map(|first| !first.is_instance_of::<pyo3::types::PyString>() && first.len().is_ok())
        .unwrap_or(false)
}
