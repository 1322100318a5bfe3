//! How unusual a record (or a vector not stored) is: two scores, both "higher is more
//! unusual" — the distance to the nearest k-means centroid (far from every cluster) and the
//! mean distance to its nearest neighbours (alone in its region).

use super::Space;
use super::cluster::{ClusterParams, cluster_space};
use crate::collection::{Collection, Query, SearchOptions};
use crate::error::{Error, Result};
use crate::kinds::Owned;
use crate::schema::Schema;
use crate::validate;
use quiver_index::multi::normalize_tokens;
use quiver_index::{ElementType, Metric, kmeans};

/// Settings of [`Collection::outlier_scorer`].
///
/// ## Defaults
/// - `neighbours`: 10.
/// - `clusters`: `None` = round(√n) for n records (at least 1): enough clusters that a
///   cluster's centroid is a local summary, few enough that each has ~√n members.
/// - `seed`: 0 (the k-means seed; the same seed gives the same centroids and scores).
/// - `exact`: false — neighbours through the collection's approximate index when it has
///   one (exact search without one).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OutlierParams {
    pub neighbours: usize,
    pub clusters: Option<usize>,
    pub seed: u64,
    pub exact: bool,
}

impl Default for OutlierParams {
    fn default() -> Self {
        OutlierParams {
            neighbours: 10,
            clusters: None,
            seed: 0,
            exact: false,
        }
    }
}

impl OutlierParams {
    pub fn neighbours(mut self, neighbours: usize) -> Self {
        self.neighbours = neighbours;
        self
    }

    pub fn clusters(mut self, clusters: impl Into<Option<usize>>) -> Self {
        self.clusters = clusters.into();
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn exact(mut self, exact: bool) -> Self {
        self.exact = exact;
        self
    }
}

/// The two scores; higher is more unusual.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct OutlierScore {
    /// Euclidean distance to the nearest centroid (between unit vectors in a cosine
    /// collection).
    pub centroid_distance: f32,
    /// Mean distance to the `neighbours` nearest records (a record's own excluded), in the
    /// collection's metric: 1 − cosine similarity, −inner product, or Euclidean distance.
    pub neighbour_distance: f32,
}

/// A stored record's scores.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RecordOutlier {
    pub id: String,
    pub score: OutlierScore,
}

/// Scores records and new vectors against one clustering of a collection
/// ([`Collection::outlier_scorer`]).
pub struct OutlierScorer<'c> {
    collection: &'c Collection,
    space: Space,
    centroids: Vec<f32>,
    params: OutlierParams,
}

impl Collection {
    /// Clusters the records (`params.clusters`, seeded) and returns a scorer of how unusual
    /// each record, or a new vector or text, is.
    ///
    /// ```
    /// # use quiver::{CollectionConfig, Database, Metric, Record};
    /// # use quiver::space::OutlierParams;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = Database::create(dir.path().join("q.qvr"))?;
    /// let c = db.create_collection("c", CollectionConfig::new(2, Metric::L2))?;
    /// let mut records: Vec<Record> = (0..20)
    ///     .map(|i| Record::new(format!("r{i}"), vec![(i % 5) as f32 * 0.1, (i / 5) as f32 * 0.1]))
    ///     .collect();
    /// records.push(Record::new("odd", vec![9.0, 9.0]));
    /// c.upsert(&records)?;
    /// let scorer = c.outlier_scorer(&OutlierParams::default().neighbours(3))?;
    /// let mut scores = scorer.records()?;
    /// scores.sort_by(|a, b| b.score.neighbour_distance.total_cmp(&a.score.neighbour_distance));
    /// assert_eq!(scores[0].id, "odd");
    /// // Near "odd" but far from the rest: its 3 neighbours are "odd" and two grid points.
    /// assert!(scorer.score(&[8.0, 8.5])?.neighbour_distance > 5.0);
    /// # Ok::<(), quiver::Error>(())
    /// ```
    ///
    /// Errors: `neighbours` is 0, `clusters` is 0 or more than the records, fewer than two
    /// records, a multi-vector collection.
    pub fn outlier_scorer(&self, params: &OutlierParams) -> Result<OutlierScorer<'_>> {
        if params.neighbours == 0 {
            return Err(Error::InvalidParameter {
                name: "neighbours",
                reason: "0: at least one neighbour is needed".into(),
            });
        }
        let space = self.space("outlier scores")?;
        let n = space.len();
        if n < 2 {
            return Err(Error::InvalidParameter {
                name: "collection",
                reason: format!("{n} records: outlier scores need at least 2"),
            });
        }
        let k = params
            .clusters
            .unwrap_or_else(|| ((n as f64).sqrt().round() as usize).max(1));
        let cluster = ClusterParams::new(k, params.seed);
        // The scorer keeps the vectors as stored (for the neighbour searches); clustering
        // needs a normalised copy only under cosine.
        let clustering = match space.metric {
            Metric::Cosine => cluster_space(&space.clone().geometric(), &cluster)?,
            _ => cluster_space(&space, &cluster)?,
        };
        Ok(OutlierScorer {
            collection: self,
            space,
            centroids: clustering.centroids.concat(),
            params: params.clone(),
        })
    }
}

impl OutlierScorer<'_> {
    /// Every record's scores, in insertion order.
    pub fn records(&self) -> Result<Vec<RecordOutlier>> {
        self.records_with_progress(|_, _| {})
    }

    /// [`OutlierScorer::records`], calling `progress(done, total)` after each block of
    /// neighbour searches.
    pub fn records_with_progress(
        &self,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Vec<RecordOutlier>> {
        const BLOCK: usize = 2048;
        let n = self.space.len();
        let options = SearchOptions::new(self.params.neighbours + 1).exact(self.params.exact);
        let mut out = Vec::with_capacity(n);
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let queries: Vec<Query<'_>> = (start..end)
                .map(|i| Query::Vector(self.space.row(i)))
                .collect();
            let results = self.collection.search_batch(queries, &options)?;
            for (i, hits) in (start..end).zip(results) {
                let own = &self.space.ids[i];
                // The record itself is normally the first hit; if ties or an approximate
                // index put it elsewhere (or nowhere), the other `neighbours` still count.
                let mut scores: Vec<f32> = Vec::with_capacity(hits.len());
                let mut skipped_own = false;
                for h in &hits {
                    if !skipped_own && &h.id == own {
                        skipped_own = true;
                    } else {
                        scores.push(h.score);
                    }
                }
                scores.truncate(self.params.neighbours);
                out.push(RecordOutlier {
                    id: own.clone(),
                    score: OutlierScore {
                        centroid_distance: self.centroid_distance(self.space.row(i)),
                        neighbour_distance: self.mean_distance(&scores),
                    },
                });
            }
            progress(end, n);
        }
        Ok(out)
    }

    /// The scores of `vector` as if it were a record (nothing is stored).
    pub fn score(&self, vector: &[f32]) -> Result<OutlierScore> {
        let schema = Schema {
            dim: self.space.dim,
            metric: self.space.metric,
            element: ElementType::F32,
        };
        validate::vector(None, vector, &schema)?;
        let hits = self.collection.search(
            vector,
            SearchOptions::new(self.params.neighbours).exact(self.params.exact),
        )?;
        let scores: Vec<f32> = hits.iter().map(|h| h.score).collect();
        Ok(OutlierScore {
            centroid_distance: self.centroid_distance(vector),
            neighbour_distance: self.mean_distance(&scores),
        })
    }

    /// The scores of `text`, embedded as a document with the collection's model (nothing is
    /// stored).
    pub fn score_text(&self, text: &str) -> Result<OutlierScore> {
        crate::embed::check_text(None, text)?;
        let embedder = self.collection.embedder()?;
        let snap = self.collection.db.snapshot()?;
        let state = snap.collection(&self.collection.name)?;
        match state
            .kind
            .embed_documents(embedder.as_ref(), &[text])?
            .pop()
        {
            Some(Owned::Vector(v)) => self.score(&v),
            _ => Err(Error::Internal {
                detail: "the model returned no vector".into(),
            }),
        }
    }

    fn centroid_distance(&self, vector: &[f32]) -> f32 {
        let mut v = vector.to_vec();
        if self.space.metric == Metric::Cosine {
            normalize_tokens(&mut v, self.space.dim);
        }
        kmeans::nearest(&v, &self.centroids).1.max(0.0).sqrt()
    }

    /// The mean distance of search scores (as [`crate::Hit::score`] reports them).
    fn mean_distance(&self, scores: &[f32]) -> f32 {
        if scores.is_empty() {
            return 0.0;
        }
        let distance = |s: f32| match self.space.metric {
            Metric::Cosine => 1.0 - f64::from(s),
            Metric::L2 => f64::from(s.max(0.0)).sqrt(),
            _ => -f64::from(s),
        };
        (scores.iter().map(|&s| distance(s)).sum::<f64>() / scores.len() as f64) as f32
    }
}
