//! Text embedding: the [`Embedder`] trait, the identity a collection pins, the registry of
//! loaded models and the [`ModelLoader`] hook; the [`CrossEncoder`] trait of re-rankers. The models themselves (BERT-family sentence
//! encoders, ColBERT) live in the crate `quiver-embed`, which registers its loader.
//!
//! A collection created with an embedder stores its [`ModelIdentity`] in the same
//! transaction as the collection; every later text write or text search checks that the
//! embedder in use has exactly that identity, so vectors from two different models never
//! mix in one collection.
//!
//! ```
//! use quiver::{CollectionConfig, Database, Embedder, ModelIdentity, Pooling, TextRecord};
//! use std::sync::Arc;
//!
//! /// Any model can serve a collection: here, letter counts.
//! struct Letters(ModelIdentity);
//! impl Embedder for Letters {
//!     fn identity(&self) -> &ModelIdentity { &self.0 }
//!     fn embed_documents(&self, texts: &[&str]) -> quiver::Result<Vec<Vec<f32>>> {
//!         texts.iter().map(|t| self.embed_query(t)).collect()
//!     }
//!     fn embed_query(&self, text: &str) -> quiver::Result<Vec<f32>> {
//!         let mut v = vec![0.0; 26];
//!         for b in text.bytes().filter(u8::is_ascii_lowercase) {
//!             v[(b - b'a') as usize] += 1.0;
//!         }
//!         Ok(v)
//!     }
//! }
//!
//! # let dir = tempfile::tempdir().unwrap();
//! let model = Arc::new(Letters(ModelIdentity {
//!     name: "letters".into(), dim: 26, pooling: Pooling::Mean, normalize: false,
//!     max_tokens: 1 << 20, weights_sha256: "v1".into(),
//!     query_prefix: String::new(), document_prefix: String::new(), late_interaction: None,
//! }));
//! let db = Database::create(dir.path().join("t.qvr"))?;
//! let words = db.create_collection("words", CollectionConfig::with_embedder(model))?;
//! words.upsert(&[TextRecord::new("1", "banana"), TextRecord::new("2", "kiwi")])?;
//! let hits = words.search("bananas", 1)?;
//! assert_eq!(hits[0].text.as_deref(), Some("banana"));
//! # Ok::<(), quiver::Error>(())
//! ```

mod cross_encoder;
mod identity;
mod registry;
mod text;

pub use cross_encoder::{CrossEncoder, RerankerIdentity, ScoreActivation};
pub use identity::{LateInteraction, ModelIdentity, Pooling};
pub use registry::{ModelLoader, ModelSource, RerankerSource, register_model_loader};
pub(crate) use registry::{RERANKER_KEY, Registry, SETTING_KEY, StoredEmbedder, StoredReranker};
pub use text::check as check_text;

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

    /// A file outside [`Embedder::source`] that the model also needs (a ColBERT projection
    /// head given separately), stored with the source.
    fn head_source(&self) -> Option<&Path> {
        None
    }

    /// Whether the model turns a text into a matrix of token vectors
    /// ([`Embedder::embed_document_tokens`]); only such models serve multi-vector
    /// collections.
    fn token_outputs(&self) -> bool {
        false
    }

    /// One matrix per document (one row per kept token, each `identity().dim` wide), for
    /// multi-vector collections. Texts are already validated.
    fn embed_document_tokens(&self, texts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>> {
        let _ = texts;
        Err(no_token_outputs(self.identity()))
    }

    /// The token matrix of one search query.
    fn embed_query_tokens(&self, text: &str) -> Result<Vec<Vec<f32>>> {
        let _ = text;
        Err(no_token_outputs(self.identity()))
    }
}

fn no_token_outputs(identity: &ModelIdentity) -> crate::Error {
    crate::Error::InvalidParameter {
        name: "model",
        reason: format!(
            "{} has no token outputs, so it cannot serve a multi-vector collection",
            identity.fingerprint()
        ),
    }
}

impl std::fmt::Debug for dyn Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedder({})", self.identity().fingerprint())
    }
}
