//! What a collection pins about its model.

use serde::{Deserialize, Serialize};

/// How token vectors become one text vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Pooling {
    /// Average of the token vectors, padding excluded by the attention mask.
    Mean,
    /// The first (`[CLS]`) token's vector.
    Cls,
    /// None: one vector per token (late-interaction models such as ColBERT, whose texts
    /// become matrices; see [`LateInteraction`]).
    Tokens,
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Tokens => "no",
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
    /// How a late-interaction (ColBERT) model turns texts into token matrices; `None` for
    /// sentence encoders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_interaction: Option<LateInteraction>,
}

/// What makes a ColBERT-style encoder's token matrices what they are, beyond the trunk's
/// weights: the projection head, the marker tokens, the fixed query length and whether the
/// query's `[MASK]` expansion tokens are attended to. Every field changes the vectors, so
/// all are pinned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateInteraction {
    /// sha256 of the file the projection (`linear.weight`) was read from.
    pub projection_sha256: String,
    /// Token id inserted after `[CLS]` in queries (`[unused0]` in BERT vocabularies).
    pub query_marker: u32,
    /// Token id inserted after `[CLS]` in documents (`[unused1]`).
    pub document_marker: u32,
    /// Queries are cut or padded with `[MASK]` to exactly this many tokens.
    pub query_length: usize,
    /// Documents are cut to at most this many tokens (special tokens included).
    pub document_length: usize,
    /// Whether the query's `[MASK]` padding is attended to (Jina-ColBERT-v2) or masked out
    /// of attention (colbert-ai/PyLate default); its output rows are scored either way.
    pub attend_to_expansion: bool,
    /// Whether documents' single-character punctuation rows are dropped after encoding.
    pub skip_punctuation: bool,
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
        if let Some(li) = &self.late_interaction {
            s.push_str(&format!(
                ", ColBERT: queries {} tokens ({} expansion), documents ≤ {}, projection sha256 {}",
                li.query_length,
                if li.attend_to_expansion {
                    "attended"
                } else {
                    "unattended"
                },
                li.document_length,
                li.projection_sha256
                    .get(..12)
                    .unwrap_or(&li.projection_sha256)
            ));
        }
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
