//! k-means clusters of a collection's records: each record's cluster and its distance to the
//! centroid, written back into payloads on request so that filters can select a cluster.

use super::Space;
use crate::collection::Collection;
use crate::error::{Error, Result};
use quiver_index::kmeans::{self, KMeansParams};
use serde_json::Value;

/// Settings of [`Collection::cluster_with`].
///
/// ## Defaults
/// - `iterations`: 20, `max_points_per_centroid`: 256 — [`KMeansParams`]' (FAISS's):
///   centroids are trained on a sample of at most `k x 256` records, then every record is
///   assigned.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClusterParams {
    pub k: usize,
    pub seed: u64,
    pub iterations: usize,
    pub max_points_per_centroid: usize,
}

impl ClusterParams {
    pub fn new(k: usize, seed: u64) -> Self {
        let defaults = KMeansParams::default();
        ClusterParams {
            k,
            seed,
            iterations: defaults.iterations,
            max_points_per_centroid: defaults.max_points_per_centroid,
        }
    }

    pub fn iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
    }

    pub fn max_points_per_centroid(mut self, points: usize) -> Self {
        self.max_points_per_centroid = points;
        self
    }
}

/// One record's cluster.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Member {
    pub id: String,
    pub cluster: u32,
    /// Euclidean distance to the cluster's centroid (between unit vectors in a cosine
    /// collection, where it is `sqrt(2 - 2 cos)`).
    pub distance: f32,
}

/// A clustering of a collection: the centroids and every record's cluster.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Clustering {
    /// `k` centroids of the collection's dimension (unit vectors' means in a cosine
    /// collection, not rescaled).
    pub centroids: Vec<Vec<f32>>,
    /// Every record, in insertion order.
    pub members: Vec<Member>,
    /// Records in each cluster.
    pub sizes: Vec<usize>,
    /// Sum of squared distances to the centroids (the k-means objective).
    pub inertia: f64,
}

impl Collection {
    /// k-means clusters of the records: k-means++ seeding and Lloyd iterations on a sample,
    /// on every core, deterministic for a seed; then every record assigned. Cosine
    /// collections are clustered as unit vectors (spherical k-means).
    ///
    /// Errors: `k` is 0 or larger than the record count, or the collection is multi-vector.
    pub fn cluster(&self, k: usize, seed: u64) -> Result<Clustering> {
        self.cluster_with(&ClusterParams::new(k, seed))
    }

    /// [`Collection::cluster`] with every setting.
    pub fn cluster_with(&self, params: &ClusterParams) -> Result<Clustering> {
        let space = self.space("clustering")?.geometric();
        cluster_space(&space, params)
    }

    /// Writes each member's cluster into its record's payload as `field` (an integer), all
    /// in one transaction; a payload index on `field` then selects clusters. Records
    /// deleted since the clustering are skipped; returns how many records were labelled.
    pub fn label_clusters(&self, clustering: &Clustering, field: &str) -> Result<usize> {
        let values: Vec<(&str, Value)> = clustering
            .members
            .iter()
            .map(|m| (m.id.as_str(), Value::from(m.cluster)))
            .collect();
        self.set_payload_field(field, &values)
    }
}

pub(crate) fn cluster_space(space: &Space, params: &ClusterParams) -> Result<Clustering> {
    let n = space.len();
    if params.k == 0 || params.k > n {
        return Err(Error::InvalidParameter {
            name: "k",
            reason: format!(
                "{} clusters of {n} records: k must be between 1 and the record count",
                params.k
            ),
        });
    }
    let kmeans = KMeansParams {
        iterations: params.iterations,
        max_points_per_centroid: params.max_points_per_centroid,
        seed: params.seed,
        threads: 0,
    };
    let dim = space.dim;
    let flat = kmeans::train(&space.vectors, dim, params.k, &kmeans);
    let assigned = kmeans::assign(&space.vectors, dim, &flat, 0);
    let k = flat.len() / dim;
    let mut sizes = vec![0usize; k];
    let mut inertia = 0f64;
    let members = space
        .ids
        .iter()
        .zip(&assigned)
        .map(|(id, &(cluster, squared))| {
            sizes[cluster as usize] += 1;
            inertia += f64::from(squared.max(0.0));
            Member {
                id: id.clone(),
                cluster,
                distance: squared.max(0.0).sqrt(),
            }
        })
        .collect();
    Ok(Clustering {
        centroids: flat.chunks_exact(dim).map(<[f32]>::to_vec).collect(),
        members,
        sizes,
        inertia,
    })
}
