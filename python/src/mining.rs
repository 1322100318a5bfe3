//! `Collection.mine_hard_negatives`: training pairs in (dicts; a query as text, a list of
//! floats or a NumPy vector), the rows of the chosen format out, as dicts.

use crate::collection::Collection;
use crate::convert;
use crate::errors::{IntoPy, invalid};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use quiver::mining::{MiningPair, from_options};
use serde_json::Value;

pub(crate) fn mine<'py>(
    coll: &Collection,
    py: Python<'py>,
    pairs: &Bound<'py, PyAny>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let inner = coll.inner()?;
    let parsed = pairs_of(pairs)?;
    let options: Value = match options {
        Some(d) => pythonize::depythonize(d.as_any())
            .map_err(|e| invalid(format!("options are not JSON-shaped: {e}")))?,
        None => Value::Object(Default::default()),
    };
    let (request, output) = from_options(&parsed, &options).py_err()?;
    let report = py.detach(|| inner.mine_hard_negatives(&request)).py_err()?;
    report
        .rows(&output)
        .iter()
        .map(|r| convert::to_python(py, r))
        .collect()
}

/// The pairs of an iterable of dicts.
pub(crate) fn pairs_of(pairs: &Bound<'_, PyAny>) -> PyResult<Vec<MiningPair>> {
    let mut parsed = Vec::new();
    for (i, p) in pairs.try_iter()?.enumerate() {
        parsed.push(pair(&p?).map_err(|e| invalid(format!("pair {i}: {e}")))?);
    }
    Ok(parsed)
}

/// One pair from its dict; a NumPy query vector is read as a vector.
fn pair(p: &Bound<'_, PyAny>) -> Result<MiningPair, String> {
    let d = p
        .cast::<PyDict>()
        .map_err(|_| "a pair is a dict {\"query\": ..., \"positive\": ...}".to_owned())?;
    let mut v = serde_json::Map::new();
    for (k, item) in d.iter() {
        let key: String = k.extract().map_err(|_| "keys are strings".to_owned())?;
        let value = if key == "query" && item.extract::<String>().is_err() {
            let vector = convert::vector(&item).map_err(|e| e.to_string())?;
            let xs = vector.as_slice().map_err(|e| e.to_string())?;
            Value::from(xs.iter().map(|&x| f64::from(x)).collect::<Vec<_>>())
        } else {
            pythonize::depythonize(&item).map_err(|e| format!("\"{key}\": {e}"))?
        };
        v.insert(key, value);
    }
    MiningPair::from_json(&Value::Object(v))
}
