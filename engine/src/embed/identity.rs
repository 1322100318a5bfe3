//! What a collection pins about its model.

use serde::{Deserialize, Serialize};

/// How token vectors become one text vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Pooling {
    /// Average of the token vectors, padding excluded by the attention mask.
    Mean,
    /// The first ([CLS]) token's vector.
    Cls,
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
        })
    }
}

/// A model's identity: two embedders with equal identities produce the same vectors.
///
/// Stored as JSON in the collection's settings (see `docs/file-format.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// A readable name (for BERT folders: the folder's name).
    pub name: String,
    /// Output dimension.
    pub dim: usize,
    pub pooling: Pooling,
    /// Whether outputs are L2-normalised.
    pub normalize: bool,
    /// Longest input in tokens (special tokens included); longer texts are truncated.
    pub max_tokens: usize,
    /// sha256 of the weights file, lowercase hex (custom embedders: any stable version tag).
    pub weights_sha256: String,
    /// Prepended to every query before tokenizing (e.g. `"query: "` for e5).
    #[serde(default)]
    pub query_prefix: String,
    /// Prepended to every document before tokenizing (e.g. `"passage: "` for e5).
    #[serde(default)]
    pub document_prefix: String,
}

impl ModelIdentity {
    /// One line naming everything that makes the model what it is, for error messages.
    pub fn fingerprint(&self) -> String {
        let short = self
            .weights_sha256
            .get(..12)
            .unwrap_or(&self.weights_sha256);
        let mut s = format!(
            "{} ({}-d, {} pooling, {}, max {} tokens, weights sha256 {short}",
            self.name,
            self.dim,
            self.pooling,
            if self.normalize {
                "normalized"
            } else {
                "not normalized"
            },
            self.max_tokens
        );
        if !self.query_prefix.is_empty() || !self.document_prefix.is_empty() {
            s.push_str(&format!(
                ", prefixes {:?}/{:?}",
                self.query_prefix, self.document_prefix
            ));
        }
        s.push(')');
        s
    }
}
