//! Loading models for text collections; without the `embed` feature (a build with no model
//! inference, e.g. the fuzz targets) every load reports `QUIVER_MODEL`.

use crate::status::Failure;
use engine::Embedder;
use std::path::PathBuf;
use std::sync::Arc;

/// A ColBERT checkpoint's overrides.
#[cfg_attr(not(feature = "embed"), allow(dead_code))]
pub(crate) struct Colbert {
    pub projection: Option<PathBuf>,
    pub attend_to_expansion: Option<bool>,
}

#[cfg(feature = "embed")]
pub(crate) fn load(dir: &str, colbert: Option<Colbert>) -> Result<Arc<dyn Embedder>, Failure> {
    Ok(match colbert {
        None => Arc::new(quiver_embed::BertEmbedder::load(dir)?),
        Some(c) => {
            let options = quiver_embed::ColbertOptions {
                projection: c.projection,
                attend_to_expansion: c.attend_to_expansion,
                ..quiver_embed::ColbertOptions::default()
            };
            Arc::new(quiver_embed::ColbertEmbedder::load_with(dir, &options)?)
        }
    })
}

#[cfg(not(feature = "embed"))]
pub(crate) fn load(dir: &str, _colbert: Option<Colbert>) -> Result<Arc<dyn Embedder>, Failure> {
    Err(Failure::from(engine::Error::InvalidModel {
        path: dir.into(),
        reason: "this build of libquiver has no model inference (cargo feature `embed`)".into(),
    }))
}

/// Lets reopened text collections load their pinned model folders (no-op without `embed`).
pub(crate) fn register() {
    #[cfg(feature = "embed")]
    quiver_embed::register();
}

#[cfg(feature = "embed")]
pub(crate) fn load_reranker(dir: &str) -> Result<Arc<dyn engine::CrossEncoder>, Failure> {
    Ok(Arc::new(quiver_embed::BertCrossEncoder::load(dir)?))
}

#[cfg(not(feature = "embed"))]
pub(crate) fn load_reranker(dir: &str) -> Result<Arc<dyn engine::CrossEncoder>, Failure> {
    Err(Failure::from(engine::Error::InvalidModel {
        path: dir.into(),
        reason: "this build of libquiver has no model inference (cargo feature `embed`)".into(),
    }))
}
