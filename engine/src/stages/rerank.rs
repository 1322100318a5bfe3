//! Cross-encoder re-ranking: the last stage of a pipeline reads the query with each of the
//! top candidates' texts and re-orders them by the model's score.

use super::{Stage, StageScore};
use crate::Hit;
use crate::embed::CrossEncoder;
use crate::error::{Error, Result};
use std::sync::Arc;

/// Candidates re-ranked when [`Rerank::top`] is not set.
pub const DEFAULT_TOP: usize = 100;

/// Re-rank the best candidates with a cross-encoder ([`crate::SearchOptions::rerank`]).
///
/// ## Defaults and semantics
/// - `model`: the given one, else the collection's pinned default re-ranker
///   ([`crate::Collection::pin_reranker`]); neither is [`Error::InvalidParameter`].
/// - `top`: 100. The first stage retrieves max(top, k + offset) candidates (filters apply
///   there) and all of them are re-ranked; then offset and k cut the re-ranked list.
/// - `query`: the text the model reads; by default the query's own text (a text query, the
///   keywords of a keyword query, the keywords of a hybrid query). A vector or matrix
///   query needs it given.
/// - The document text of a candidate: the payload field `text_field` when set (a string,
///   or an array of strings joined by newlines), else the text the record was inserted
///   with, else the fields of the collection's full-text index (joined by newlines).
///   Candidates with no such text are not scored: they follow the scored ones, in
///   first-stage order, with score −∞.
/// - Each hit's `score` becomes the cross-encoder's (higher is better, after the model's
///   activation); ties keep the first stage's order.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Rerank<'a> {
    pub model: Option<Arc<dyn CrossEncoder>>,
    pub top: Option<usize>,
    pub query: Option<&'a str>,
    pub text_field: Option<&'a str>,
}

impl<'a> Rerank<'a> {
    /// Re-rank with `model`.
    pub fn with(model: Arc<dyn CrossEncoder>) -> Self {
        Rerank {
            model: Some(model),
            ..Rerank::default()
        }
    }

    /// Re-rank with the collection's pinned default re-ranker.
    pub fn pinned() -> Self {
        Rerank::default()
    }

    pub fn top(mut self, top: usize) -> Self {
        self.top = Some(top);
        self
    }

    pub fn query(mut self, text: &'a str) -> Self {
        self.query = Some(text);
        self
    }

    pub fn text_field(mut self, field: &'a str) -> Self {
        self.text_field = Some(field);
        self
    }

    /// Candidates re-ranked for a request of `wanted` = k + offset results.
    pub(crate) fn depth(&self, wanted: usize) -> usize {
        self.top.unwrap_or(DEFAULT_TOP).max(wanted)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(top) = self.top {
            crate::validate::search_parameter("rerank top", top)?;
        }
        if let Some(model) = &self.model
            && model.identity().labels != 1
        {
            return Err(Error::InvalidParameter {
                name: "rerank model",
                reason: format!(
                    "{} has {} outputs per pair; a re-ranker has one",
                    model.identity().fingerprint(),
                    model.identity().labels
                ),
            });
        }
        Ok(())
    }
}

/// Re-orders `hits` by `model`'s score of (`query`, text); `texts[i]` is hit i's document
/// text, if it has one. Records the stage on the scored hits.
pub(crate) fn apply(
    model: &dyn CrossEncoder,
    query: &str,
    hits: &mut Vec<Hit>,
    texts: &[Option<String>],
) -> Result<()> {
    let scored: Vec<usize> = (0..hits.len()).filter(|&i| texts[i].is_some()).collect();
    let inputs: Vec<&str> = scored.iter().filter_map(|&i| texts[i].as_deref()).collect();
    let scores = if inputs.is_empty() {
        Vec::new()
    } else {
        model.score(query, &inputs)?
    };
    if scores.len() != inputs.len() {
        return Err(Error::Inference {
            detail: format!(
                "{} returned {} scores for {} texts",
                model.identity().fingerprint(),
                scores.len(),
                inputs.len()
            ),
        });
    }
    let mut new_score = vec![f32::NEG_INFINITY; hits.len()];
    for (&i, &s) in scored.iter().zip(&scores) {
        new_score[i] = s;
    }
    let mut order: Vec<usize> = (0..hits.len()).collect();
    // Stable: ties (and the unscored, all −∞) keep the first stage's order. NaN last.
    order.sort_by(|&a, &b| {
        let (x, y) = (new_score[a], new_score[b]);
        y.partial_cmp(&x)
            .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()))
    });
    let mut taken: Vec<Option<Hit>> = std::mem::take(hits).into_iter().map(Some).collect();
    for (rank, &i) in order.iter().enumerate() {
        let Some(mut hit) = taken[i].take() else {
            continue;
        };
        hit.score = new_score[i];
        if texts[i].is_some() {
            hit.stages.push(StageScore {
                stage: Stage::Rerank,
                rank: rank + 1,
                score: hit.score,
            });
        }
        hits.push(hit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::{RerankerIdentity, ScoreActivation};

    struct Length(RerankerIdentity);
    impl CrossEncoder for Length {
        fn identity(&self) -> &RerankerIdentity {
            &self.0
        }
        fn score(&self, _: &str, texts: &[&str]) -> Result<Vec<f32>> {
            Ok(texts.iter().map(|t| t.len() as f32).collect())
        }
    }

    fn model() -> Length {
        Length(RerankerIdentity {
            name: "length".into(),
            weights_sha256: "v1".into(),
            max_tokens: 512,
            activation: ScoreActivation::Identity,
            labels: 1,
        })
    }

    #[test]
    fn orders_by_score_keeps_ties_and_puts_textless_last() {
        let mut hits: Vec<Hit> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|id| Hit::new(*id, 1.0))
            .collect();
        let texts = vec![
            Some("xx".to_string()),
            None,
            Some("xxxx".to_string()),
            Some("yy".to_string()),
            None,
        ];
        apply(&model(), "q", &mut hits, &texts).unwrap();
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["c", "a", "d", "b", "e"]);
        assert_eq!(hits[0].score, 4.0);
        assert_eq!(hits[3].score, f32::NEG_INFINITY);
        assert_eq!(hits[1].stages[0].rank, 2);
        assert!(
            hits[3].stages.is_empty(),
            "unscored hits carry no rerank stage"
        );
    }

    #[test]
    fn depth_covers_the_request_and_multi_label_models_are_refused() {
        assert_eq!(Rerank::pinned().depth(10), 100);
        assert_eq!(Rerank::pinned().top(5).depth(10), 10);
        let mut m = model();
        m.0.labels = 3;
        let err = Rerank::with(Arc::new(m)).validate().unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
    }
}
