//! The [`CrossEncoder`] trait (a model that reads a query and a document together and scores
//! the pair) and the [`RerankerIdentity`] a collection pins for its default re-ranker.

use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What is applied to a cross-encoder's logits to give its score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ScoreActivation {
    /// Raw logits (the ms-marco MiniLM cross-encoders store `torch.nn.Identity`).
    Identity,
    /// 1 / (1 + e^−x): sentence-transformers' default for one label.
    Sigmoid,
    Tanh,
}

impl ScoreActivation {
    pub fn apply(self, x: f32) -> f32 {
        match self {
            ScoreActivation::Identity => x,
            ScoreActivation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            ScoreActivation::Tanh => x.tanh(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ScoreActivation::Identity => "identity",
            ScoreActivation::Sigmoid => "sigmoid",
            ScoreActivation::Tanh => "tanh",
        }
    }
}

/// A cross-encoder's identity: two re-rankers with equal identities give the same scores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RerankerIdentity {
    /// A readable name (for model folders: the folder's name).
    pub name: String,
    /// sha256 of the weights file, lowercase hex (custom re-rankers: any stable version tag).
    pub weights_sha256: String,
    /// Longest (query, document) input in tokens, special tokens included; longer pairs are
    /// truncated (`longest_first`: the longer side loses a token at a time).
    pub max_tokens: usize,
    pub activation: ScoreActivation,
    /// Outputs per pair; a re-ranker has one.
    pub labels: usize,
}

impl RerankerIdentity {
    /// One line naming what makes the model what it is, for messages.
    pub fn fingerprint(&self) -> String {
        let short = self
            .weights_sha256
            .get(..12)
            .unwrap_or(&self.weights_sha256);
        format!(
            "{} (cross-encoder, {} label{}, {} activation, max {} tokens, weights sha256 {short})",
            self.name,
            self.labels,
            if self.labels == 1 { "" } else { "s" },
            self.activation.name(),
            self.max_tokens
        )
    }
}

/// Scores (query, document) pairs by reading them together: the last stage of a retrieval
/// pipeline ([`crate::Rerank`]). Object-safe: searches hold an `Arc<dyn CrossEncoder>`, and
/// applications (or the C API) can plug in their own model. `quiver-embed` implements it for
/// BERT-family `…ForSequenceClassification` folders.
///
/// ```
/// use quiver::embed::{CrossEncoder, RerankerIdentity, ScoreActivation};
///
/// /// Counts the query's words in the document.
/// struct Overlap(RerankerIdentity);
/// impl CrossEncoder for Overlap {
///     fn identity(&self) -> &RerankerIdentity { &self.0 }
///     fn score(&self, query: &str, texts: &[&str]) -> quiver::Result<Vec<f32>> {
///         Ok(texts.iter().map(|t| {
///             query.split_whitespace().filter(|w| t.contains(w)).count() as f32
///         }).collect())
///     }
/// }
/// let r = Overlap(RerankerIdentity {
///     name: "overlap".into(), weights_sha256: "v1".into(), max_tokens: 1 << 20,
///     activation: ScoreActivation::Identity, labels: 1,
/// });
/// assert_eq!(r.score("red wing", &["a red wing", "blue"])?, vec![2.0, 0.0]);
/// # Ok::<(), quiver::Error>(())
/// ```
pub trait CrossEncoder: Send + Sync {
    /// What this model is; a collection that pins it refuses any other.
    fn identity(&self) -> &RerankerIdentity;

    /// The relevance of each text to `query`, in order, higher is better (the model's output
    /// after its activation). Texts are not validated: an empty text scores like any other.
    fn score(&self, query: &str, texts: &[&str]) -> Result<Vec<f32>>;

    /// The folder the model was loaded from, if it can be loaded again from there; a
    /// collection that pins it stores it, so reopening finds the model by itself.
    fn source(&self) -> Option<&Path> {
        None
    }
}

impl std::fmt::Debug for dyn CrossEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CrossEncoder({})", self.identity().fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_as_torch_computes_them() {
        assert_eq!(ScoreActivation::Identity.apply(-3.5), -3.5);
        assert!((ScoreActivation::Sigmoid.apply(0.0) - 0.5).abs() < 1e-7);
        assert!((ScoreActivation::Sigmoid.apply(2.0) - 0.880_797_1).abs() < 1e-6);
        assert!((ScoreActivation::Tanh.apply(1.0) - 0.761_594_2).abs() < 1e-6);
        assert_eq!(ScoreActivation::Sigmoid.apply(-200.0), 0.0);
    }

    #[test]
    fn identity_round_trips_as_json() {
        let id = RerankerIdentity {
            name: "ce".into(),
            weights_sha256: "ab".repeat(32),
            max_tokens: 512,
            activation: ScoreActivation::Sigmoid,
            labels: 1,
        };
        let json = serde_json::to_string(&id).unwrap();
        assert!(json.contains("\"activation\":\"sigmoid\""), "{json}");
        assert_eq!(serde_json::from_str::<RerankerIdentity>(&json).unwrap(), id);
        assert!(id.fingerprint().contains("1 label, sigmoid"));
    }
}
