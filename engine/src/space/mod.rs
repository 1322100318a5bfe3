//! The embedding space of a one-vector collection as a whole: its clusters
//! ([`Collection::cluster`]), how unusual each record or a new vector is
//! ([`Collection::outlier_scorer`]), and a 2-D map of it ([`Collection::map`]).
//!
//! Each operation reads every record's vector once (from the loaded arena) into one matrix;
//! the algorithms (k-means, PCA) are `quiver_index`'s.
//!
//! ```
//! # use quiver::{CollectionConfig, Database, Metric, Record};
//! # let dir = tempfile::tempdir().unwrap();
//! # let db = Database::create(dir.path().join("q.qvr"))?;
//! let c = db.create_collection("docs", CollectionConfig::new(2, Metric::L2))?;
//! c.upsert(&[
//!     Record::new("a", vec![0.0, 0.0]),
//!     Record::new("b", vec![0.1, 0.0]),
//!     Record::new("c", vec![10.0, 10.0]),
//!     Record::new("d", vec![10.0, 10.1]),
//! ])?;
//! let clusters = c.cluster(2, 7)?;
//! let of = |id: &str| clusters.members.iter().find(|m| m.id == id).unwrap().cluster;
//! assert_eq!(of("a"), of("b"));
//! assert_ne!(of("a"), of("c"));
//! # Ok::<(), quiver::Error>(())
//! ```

mod cluster;
mod map;
mod outliers;

pub use cluster::{ClusterParams, Clustering, Member};
pub use map::{Map, MapParams};
pub use outliers::{OutlierParams, OutlierScore, OutlierScorer, RecordOutlier};

use crate::collection::Collection;
use crate::error::{Error, Result};
use crate::kinds::{self, CollectionKind, Owned};
use quiver_index::Metric;
use quiver_index::multi::normalize_tokens;

/// Every record's vector, in insertion order, as one row-major matrix.
#[derive(Clone)]
pub(crate) struct Space {
    pub ids: Vec<String>,
    pub vectors: Vec<f32>,
    pub dim: usize,
    pub metric: Metric,
}

impl Space {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// The vectors as the space's geometry sees them: unit length for cosine (where
    /// k-means on unit vectors is spherical k-means), as stored otherwise.
    pub fn geometric(mut self) -> Self {
        if self.metric == Metric::Cosine {
            normalize_tokens(&mut self.vectors, self.dim);
        }
        self
    }
}

impl Collection {
    /// Every record's vector; `operation` names the caller in the error a multi-vector
    /// collection gives.
    pub(crate) fn space(&self, operation: &'static str) -> Result<Space> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        kinds::expect(
            &self.name,
            state.kind.kind(),
            CollectionKind::Vectors,
            operation,
        )?;
        let at = state.at(&snap.read);
        state.kind.load(at)?;
        let schema = state.kind.schema();
        let dim = schema.dim;
        let mut ids = Vec::with_capacity((state.record.count as usize).min(1 << 20));
        let mut vectors = Vec::with_capacity(ids.capacity() * dim);
        let mut rows = Vec::with_capacity(ids.capacity());
        snap.read.for_each_key(&state.record, |row, id| {
            ids.push(id.to_owned());
            rows.push(row);
            Ok(())
        })?;
        for &row in &rows {
            match state.kind.get(at, row)? {
                Owned::Vector(v) if v.len() == dim => vectors.extend(v),
                _ => return Err(Error::corrupted(format!("row {row} is not a {dim}-vector"))),
            }
        }
        Ok(Space {
            ids,
            vectors,
            dim,
            metric: schema.metric,
        })
    }
}
