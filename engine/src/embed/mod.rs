//! Text embedding: the [`Embedder`] trait, the identity a collection pins, and (with the
//! `embed` feature) [`BertEmbedder`], which runs BERT-family sentence encoders in-process.
//!
//! A collection created with an embedder stores its [`ModelIdentity`] in the same
//! transaction as the collection; every later text write or text search checks that the
//! embedder in use has exactly that identity, so vectors from two different models never
//! mix in one collection.

#[cfg(feature = "embed")]
mod bert;
mod folder;
mod identity;
mod registry;
pub(crate) mod text;

#[cfg(feature = "embed")]
pub use bert::{BertEmbedder, BertOptions};
pub use folder::ModelFolder;
pub use identity::{ModelIdentity, Pooling};
pub(crate) use registry::{Registry, SETTING_KEY, StoredEmbedder};

use crate::error::Result;
use std::path::Path;

/// Turns text into vectors. Object-safe: collections hold an `Arc<dyn Embedder>`, and
/// applications (or the C API) can plug in their own model.
///
/// Documents and queries may be encoded differently (e5/bge-style prefixes, ColBERT-style
/// markers); both must land in the same space of `identity().dim` dimensions.
pub trait Embedder: Send + Sync {
    /// What this model is; collections pin it and refuse any other.
    fn identity(&self) -> &ModelIdentity;

    /// One vector per text, in order. Texts are already validated (non-empty, not blank).
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;

    /// The vector of one search query.
    fn embed_query(&self, text: &str) -> Result<Vec<f32>>;

    /// Vectors of many queries, in order (override to batch them).
    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        texts.iter().map(|t| self.embed_query(t)).collect()
    }

    /// The folder the model was loaded from, if it can be loaded again from there; a
    /// collection stores it so that reopening the database finds the model by itself.
    fn source(&self) -> Option<&Path> {
        None
    }
}

impl std::fmt::Debug for dyn Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedder({})", self.identity().fingerprint())
    }
}
