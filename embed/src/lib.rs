//! # quiver-embed
//!
//! Model inference for Quiver, in process and on the CPU: BERT-family sentence encoders
//! ([`BertEmbedder`]: all-MiniLM, bge, e5, ...), ColBERT-style late-interaction encoders
//! ([`ColbertEmbedder`]) and cross-encoder re-rankers ([`BertCrossEncoder`]), loaded from
//! HuggingFace / sentence-transformers folders, with our own transformer forward pass
//! (`trunk.rs`: fused QKV products on all cores, vectorised softmax and GELU in
//! `activation.rs`). The engine (`quiver`) knows models only through its
//! [`quiver::Embedder`] and [`quiver::CrossEncoder`] traits; this crate implements them, and
//! [`register`] lets the engine load a collection's pinned model folders again after the
//! database is reopened.
//!
//! ```no_run
//! use quiver::{CollectionConfig, Database, TextRecord};
//! use std::sync::Arc;
//!
//! quiver_embed::register(); // reopened collections find their models by themselves
//! let model = Arc::new(quiver_embed::BertEmbedder::load("all-MiniLM-L6-v2")?);
//! let db = Database::create("notes.qvr")?;
//! let notes = db.create_collection("notes", CollectionConfig::with_embedder(model))?;
//! notes.upsert(&[TextRecord::new("1", "the cat sat on the mat")])?;
//! let hits = notes.search("where did the cat sit?", 1)?;
//! # Ok::<(), quiver::Error>(())
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod activation;
mod bert;
mod colbert;
mod colbert_config;
mod config;
mod cross_config;
mod cross_encoder;
mod folder;
mod trunk;

pub use bert::{BertEmbedder, BertOptions};
pub use colbert::{ColbertEmbedder, ColbertOptions};
pub use cross_encoder::{BertCrossEncoder, CrossEncoderOptions};
pub use folder::ModelFolder;

use quiver::embed::{ModelLoader, ModelSource, RerankerSource};
use quiver::{CrossEncoder, Embedder, Result};
use std::sync::Arc;

/// Registers this crate's loader with the engine, so that a collection pinned to a BERT or
/// ColBERT folder loads it again on first use after reopening. Idempotent; loading any model
/// with [`BertEmbedder::load`] or [`ColbertEmbedder::load`] registers it too.
pub fn register() {
    quiver::embed::register_model_loader(Arc::new(FolderLoader));
}

/// Loads the folders this crate can run, with the options the pinned identity records.
struct FolderLoader;

impl ModelLoader for FolderLoader {
    fn load(&self, source: &ModelSource) -> Result<Arc<dyn Embedder>> {
        let identity = &source.identity;
        if let Some(li) = &identity.late_interaction {
            let options = ColbertOptions {
                projection: source.head.clone(),
                query_length: Some(li.query_length),
                document_length: Some(li.document_length),
                attend_to_expansion: Some(li.attend_to_expansion),
                batch_size: None,
            };
            return Ok(Arc::new(ColbertEmbedder::load_with(
                &source.folder,
                &options,
            )?));
        }
        let options = BertOptions {
            query_prefix: identity.query_prefix.clone(),
            document_prefix: identity.document_prefix.clone(),
            max_tokens: Some(identity.max_tokens),
            batch_size: None,
        };
        Ok(Arc::new(BertEmbedder::load_with(&source.folder, &options)?))
    }

    fn load_reranker(&self, source: &RerankerSource) -> Result<Arc<dyn CrossEncoder>> {
        let options = CrossEncoderOptions {
            max_tokens: Some(source.identity.max_tokens),
            batch_size: None,
        };
        Ok(Arc::new(BertCrossEncoder::load_with(
            &source.folder,
            &options,
        )?))
    }
}
