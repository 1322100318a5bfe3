//! `Collection.cluster`, `.outlier_scores`, `.map`, `.pack_batches`: the embedding space as a
//! whole, as NumPy arrays in dicts (docs/space.md).

use crate::collection::Collection;
use crate::convert;
use crate::errors::{IntoPy, invalid};
use numpy::{IntoPyArray, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use quiver::mining::PackRequest;
use quiver::space::{MapParams, OutlierParams, OutlierScore};

pub(crate) fn cluster<'py>(
    coll: &Collection,
    py: Python<'py>,
    k: usize,
    seed: u64,
    into_payload: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let inner = coll.inner()?;
    let c = py.detach(|| -> quiver::Result<_> {
        let c = inner.cluster(k, seed)?;
        if let Some(field) = into_payload {
            inner.label_clusters(&c, field)?;
        }
        Ok(c)
    });
    let c = c.py_err()?;
    let dim = c.centroids.first().map_or(0, Vec::len);
    let d = PyDict::new(py);
    let ids: Vec<&str> = c.members.iter().map(|m| m.id.as_str()).collect();
    d.set_item("ids", ids)?;
    let clusters: Vec<u32> = c.members.iter().map(|m| m.cluster).collect();
    d.set_item("clusters", clusters.into_pyarray(py))?;
    let distances: Vec<f32> = c.members.iter().map(|m| m.distance).collect();
    d.set_item("distances", distances.into_pyarray(py))?;
    let k = c.centroids.len();
    d.set_item(
        "centroids",
        c.centroids.concat().into_pyarray(py).reshape([k, dim])?,
    )?;
    d.set_item("sizes", c.sizes)?;
    d.set_item("inertia", c.inertia)?;
    Ok(d)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn outlier_scores<'py>(
    coll: &Collection,
    py: Python<'py>,
    neighbours: usize,
    clusters: Option<usize>,
    seed: u64,
    exact: bool,
    vectors: Option<&Bound<'py, PyAny>>,
    texts: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    if vectors.is_some() && texts.is_some() {
        return Err(invalid("score vectors or texts, not both"));
    }
    let inner = coll.inner()?;
    let params = OutlierParams::default()
        .neighbours(neighbours)
        .clusters(clusters)
        .seed(seed)
        .exact(exact);
    let given = vectors.map(convert::matrix).transpose()?;
    let given = match &given {
        Some(m) => Some((m.rows_dim(), m.as_slice()?)),
        None => None,
    };
    let result = py.detach(
        || -> quiver::Result<(Option<Vec<String>>, Vec<OutlierScore>)> {
            let scorer = inner.outlier_scorer(&params)?;
            if let Some(((_, dim), flat)) = given {
                let scores = flat
                    .chunks(dim.max(1))
                    .map(|v| scorer.score(v))
                    .collect::<quiver::Result<Vec<_>>>()?;
                return Ok((None, scores));
            }
            if let Some(texts) = &texts {
                let scores = texts
                    .iter()
                    .map(|t| scorer.score_text(t))
                    .collect::<quiver::Result<Vec<_>>>()?;
                return Ok((None, scores));
            }
            let records = scorer.records()?;
            let ids = records.iter().map(|r| r.id.clone()).collect();
            Ok((Some(ids), records.into_iter().map(|r| r.score).collect()))
        },
    );
    let (ids, scores) = result.py_err()?;
    let d = PyDict::new(py);
    if let Some(ids) = ids {
        d.set_item("ids", ids)?;
    }
    let neighbour: Vec<f32> = scores.iter().map(|s| s.neighbour_distance).collect();
    let centroid: Vec<f32> = scores.iter().map(|s| s.centroid_distance).collect();
    d.set_item("neighbour_distance", neighbour.into_pyarray(py))?;
    d.set_item("centroid_distance", centroid.into_pyarray(py))?;
    Ok(d)
}

pub(crate) fn map<'py>(
    coll: &Collection,
    py: Python<'py>,
    sample: Option<usize>,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let inner = coll.inner()?;
    let params = MapParams::default().sample(sample).seed(seed);
    let m = py.detach(|| inner.map(&params)).py_err()?;
    let n = m.points.len();
    let d = PyDict::new(py);
    d.set_item("ids", m.ids)?;
    let flat: Vec<f32> = m.points.iter().flatten().copied().collect();
    d.set_item("points", flat.into_pyarray(py).reshape([n, 2])?)?;
    d.set_item("explained", (m.explained[0], m.explained[1]))?;
    Ok(d)
}

pub(crate) fn pack_batches<'py>(
    coll: &Collection,
    py: Python<'py>,
    pairs: &Bound<'py, PyAny>,
    batch_size: usize,
    clusters: Option<usize>,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let inner = coll.inner()?;
    let parsed = crate::mining::pairs_of(pairs)?;
    let request = PackRequest::new(&parsed, batch_size)
        .clusters(clusters)
        .seed(seed);
    let p = py.detach(|| inner.pack_batches(&request)).py_err()?;
    let d = PyDict::new(py);
    d.set_item("batches", p.batches)?;
    d.set_item("clusters", p.clusters)?;
    d.set_item("single_cluster", p.single_cluster)?;
    d.set_item("hardness", p.hardness)?;
    d.set_item("random_hardness", p.random_hardness)?;
    Ok(d)
}
