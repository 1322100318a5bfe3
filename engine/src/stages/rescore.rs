//! Exact re-scoring in a second collection that holds the same ids: typically MaxSim on a
//! multi-vector (ColBERT) collection after a fast dense or keyword first stage, the
//! "late interaction in the middle" of a retrieval pipeline.

use super::{Stage, StageScore};
use crate::Hit;
use crate::collection::{Collection, Query};
use crate::error::{Error, Result};
use crate::kinds::{self, Data, Owned};
use quiver_index::{Metric, RowSet};
use std::collections::HashMap;

/// Score the candidates again, exactly, in `collection` ([`crate::SearchOptions::rescore`]).
///
/// ## Semantics
/// - `query`: a vector, a token matrix or a text for `collection` (a text is embedded with
///   its pinned model); by default the searched query's text (a text query, or the dense
///   text of a hybrid query). Keyword and hybrid queries are refused here.
/// - `top`: 100. The first stage retrieves max(top, k + offset) candidates (the re-ranker's
///   `top` too, if larger); the first `top` are scored exactly (no index) against the record of the same id
///   in `collection`, and the list re-ordered by that score (best first; l2: smallest).
///   Candidates `collection` does not hold follow the scored ones, in first-stage order,
///   with score −∞ (l2: +∞).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Rescore<'a> {
    pub collection: &'a Collection,
    pub query: Option<Query<'a>>,
    /// Candidates re-scored (default 100, at least k + offset).
    pub top: Option<usize>,
}

impl<'a> Rescore<'a> {
    /// Re-score in `collection` with the searched query's text.
    pub fn new(collection: &'a Collection) -> Self {
        Rescore {
            collection,
            query: None,
            top: None,
        }
    }

    pub fn top(mut self, top: usize) -> Self {
        self.top = Some(top);
        self
    }

    /// Candidates re-scored for a request of `wanted` = k + offset results.
    pub(crate) fn depth(&self, wanted: usize) -> usize {
        self.top.unwrap_or(super::rerank::DEFAULT_TOP).max(wanted)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(top) = self.top {
            crate::validate::search_parameter("rescore top", top)?;
        }
        match self.query {
            None | Some(Query::Vector(_) | Query::Matrix(_) | Query::Text(_)) => Ok(()),
            Some(_) => Err(Error::InvalidParameter {
                name: "rescore query",
                reason: "a vector, a token matrix or a text (not keywords or hybrid)".into(),
            }),
        }
    }

    /// The query for `collection` (vector, matrix or text).
    pub fn query(mut self, query: impl Into<Query<'a>>) -> Self {
        self.query = Some(query.into());
        self
    }
}

impl Collection {
    /// Exact scores of `query` against the records `ids` (None where the collection holds no
    /// such id), and whether a higher score is better.
    pub(crate) fn exact_scores(
        &self,
        query: Query<'_>,
        ids: &[&str],
    ) -> Result<(Vec<Option<f32>>, bool)> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        let higher_is_better = state.kind.schema().metric != Metric::L2;
        let embedded: Owned;
        let data = match query {
            Query::Vector(v) => Data::Vector(v),
            Query::Matrix(m) => Data::Matrix(m),
            Query::Text(t) => {
                crate::embed::check_text(None, t)?;
                let embedder = self.embedder()?;
                embedded = state
                    .kind
                    .embed_queries(embedder.as_ref(), &[t])?
                    .pop()
                    .ok_or_else(|| Error::Internal {
                        detail: "the model returned no query".into(),
                    })?;
                embedded.as_data()
            }
            _ => {
                return Err(Error::InvalidParameter {
                    name: "rescore query",
                    reason: "a vector, a token matrix or a text (not keywords or hybrid)".into(),
                });
            }
        };
        let operation = match data {
            Data::Vector(_) => "a re-scoring vector",
            Data::Matrix(_) => "a re-scoring token matrix",
        };
        kinds::expect(&self.name, state.kind.kind(), data.kind(), operation)?;
        let mut allowed = RowSet::new();
        let mut slot_of: HashMap<u64, usize> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            if let Some(row) = snap.read.row_of(&state.record, id)? {
                allowed.insert(row);
                slot_of.insert(row, i);
            }
        }
        let mut scores = vec![None; ids.len()];
        if slot_of.is_empty() {
            return Ok((scores, higher_is_better));
        }
        let options = crate::SearchOptions::new(slot_of.len()).exact(true);
        state.kind.check_query(data, &options)?;
        let found = state
            .kind
            .search(state.at(&snap.read), &[data], &options, Some(&allowed))?
            .pop()
            .unwrap_or_default();
        for f in found {
            if let Some(&i) = slot_of.get(&f.row) {
                scores[i] = Some(f.score);
            }
        }
        Ok((scores, higher_is_better))
    }
}

/// Re-orders `hits` by their exact score in `rescore.collection` for `query`.
pub(crate) fn apply(rescore: &Rescore<'_>, query: Query<'_>, hits: &mut Vec<Hit>) -> Result<()> {
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    let (scores, higher_is_better) = rescore.collection.exact_scores(query, &ids)?;
    let missing = if higher_is_better {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let key = |i: usize| scores[i].unwrap_or(missing);
    let mut order: Vec<usize> = (0..hits.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (key(a), key(b));
        if higher_is_better {
            y.total_cmp(&x)
        } else {
            x.total_cmp(&y)
        }
    });
    let mut taken: Vec<Option<Hit>> = std::mem::take(hits).into_iter().map(Some).collect();
    for (rank, &i) in order.iter().enumerate() {
        let Some(mut hit) = taken[i].take() else {
            continue;
        };
        hit.score = key(i);
        if scores[i].is_some() {
            hit.stages.push(StageScore {
                stage: Stage::Rescore,
                rank: rank + 1,
                score: hit.score,
            });
        }
        hits.push(hit);
    }
    Ok(())
}
