//! A 2-D map of a collection: its records projected on the two principal axes of their
//! vectors (PCA), for a scatter plot of clusters, outliers and overlapping corpora.
//!
//! PCA only: it is exact (up to the randomised solver's float error, tested against the
//! exact eigen-decomposition), deterministic, linear — distances along the axes mean
//! something — and needs no tuning. t-SNE and UMAP draw tighter clusters but distort
//! distances and densities and depend on perplexity / neighbour settings; no well-kept
//! Rust crate implements either at the quality of the Python ones (`bhtsne` and `annembed`
//! see little maintenance); users who want them can hand the vectors to umap-learn.

use crate::collection::Collection;
use crate::error::{Error, Result};
use quiver_index::Metric;
use quiver_index::multi::normalize_tokens;
use quiver_index::pca::{self, PcaParams};
use quiver_index::rng::SplitMix64;

/// Settings of [`Collection::map`].
///
/// ## Defaults
/// - `sample`: 20,000 records (a seeded sample; `None` = every record): a scatter plot of
///   more points is a solid blot, and the axes of a 20k sample agree with the full set's to
///   a fraction of a degree on real embeddings.
/// - `seed`: 0 (the sample and the solver's start; the same seed gives the same picture).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MapParams {
    pub sample: Option<usize>,
    pub seed: u64,
}

impl Default for MapParams {
    fn default() -> Self {
        MapParams {
            sample: Some(20_000),
            seed: 0,
        }
    }
}

impl MapParams {
    pub fn sample(mut self, sample: impl Into<Option<usize>>) -> Self {
        self.sample = sample.into();
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Records placed in the plane.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Map {
    /// The records drawn, in insertion order.
    pub ids: Vec<String>,
    /// Each record's coordinates on the first and second principal axis.
    pub points: Vec<[f32; 2]>,
    /// Share of the total variance along each axis (0..1).
    pub explained: [f64; 2],
}

impl Collection {
    /// The records (a seeded sample of them) on the two principal axes of their vectors;
    /// unit vectors in a cosine collection.
    ///
    /// ```
    /// # use quiver::{CollectionConfig, Database, Metric, Record};
    /// # use quiver::space::MapParams;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = Database::create(dir.path().join("q.qvr"))?;
    /// let c = db.create_collection("c", CollectionConfig::new(3, Metric::L2))?;
    /// c.upsert(&[
    ///     Record::new("a", vec![0.0, 0.0, 0.0]),
    ///     Record::new("b", vec![1.0, 1.0, 0.0]),
    ///     Record::new("c", vec![2.0, 2.0, 0.1]),
    /// ])?;
    /// let map = c.map(&MapParams::default())?;
    /// assert_eq!(map.ids, ["a", "b", "c"]);
    /// assert!(map.explained[0] > 0.99); // nearly all on one line
    /// # Ok::<(), quiver::Error>(())
    /// ```
    ///
    /// Errors: an empty collection, a sample of 0, a multi-vector collection.
    pub fn map(&self, params: &MapParams) -> Result<Map> {
        if params.sample == Some(0) {
            return Err(Error::InvalidParameter {
                name: "sample",
                reason: "0 records: draw at least one".into(),
            });
        }
        let space = self.space("a map")?;
        let n = space.len();
        if n == 0 {
            return Err(Error::InvalidParameter {
                name: "collection",
                reason: "an empty collection has no map".into(),
            });
        }
        let mut picked: Vec<usize> = match params.sample {
            Some(s) if s < n => SplitMix64::new(params.seed ^ 0x004D_4150).sample_indices(n, s),
            _ => (0..n).collect(),
        };
        picked.sort_unstable();
        let dim = space.dim;
        let mut data = Vec::with_capacity(picked.len() * dim);
        for &i in &picked {
            let start = data.len();
            data.extend_from_slice(space.row(i));
            if space.metric == Metric::Cosine {
                normalize_tokens(&mut data[start..], dim);
            }
        }
        let fitted = pca::fit(
            &data,
            dim,
            2,
            &PcaParams {
                seed: params.seed,
                ..PcaParams::default()
            },
        );
        let share = |c: usize| {
            fitted
                .variances
                .get(c)
                .map_or(0.0, |v| v / fitted.total_variance.max(f64::MIN_POSITIVE))
        };
        let points = data
            .chunks_exact(dim)
            .map(|v| {
                let p = fitted.project(v);
                [
                    p.first().copied().unwrap_or(0.0),
                    p.get(1).copied().unwrap_or(0.0),
                ]
            })
            .collect();
        Ok(Map {
            ids: picked.iter().map(|&i| space.ids[i].clone()).collect(),
            points,
            explained: [share(0), share(1)],
        })
    }
}
