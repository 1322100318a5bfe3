//! A collection's model: the identity it pins and the embedder that serves it.

use super::Collection;
use crate::embed::{Embedder, ModelIdentity, StoredEmbedder};
use crate::error::{Error, Result};
use std::sync::Arc;

impl Collection {
    /// The identity of the model this collection is pinned to, if it has one.
    pub fn model(&self) -> Result<Option<ModelIdentity>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        Ok(state.embedder(&snap.read)?.map(|e| e.identity))
    }

    /// The collection's embedder. A model loaded from a folder is loaded again from there on
    /// first use after reopening, through the registered model loader (`quiver-embed`'s
    /// `register`), and refused with [`Error::ModelMismatch`] if the folder now holds a
    /// different model; an application's own embedder must be attached again with
    /// [`Collection::attach_embedder`].
    pub fn embedder(&self) -> Result<Arc<dyn Embedder>> {
        let (id, pinned) = self.pinned()?;
        self.db.inner.models.get(&self.name, id, &pinned)
    }

    /// Makes `embedder` serve this collection (e.g. after reopening a database whose
    /// collection uses an application-defined embedder). Its identity must equal the pinned
    /// one.
    pub fn attach_embedder(&self, embedder: Arc<dyn Embedder>) -> Result<()> {
        let (id, pinned) = self.pinned()?;
        self.db
            .inner
            .models
            .attach(&self.name, id, &pinned, embedder)
    }

    /// The collection's id and pinned model; `NoEmbedder` for a plain vector collection.
    fn pinned(&self) -> Result<(u64, StoredEmbedder)> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        let pinned = state
            .embedder(&snap.read)?
            .ok_or_else(|| Error::NoEmbedder {
                collection: self.name.clone(),
                reason: "it was created without a model (CollectionConfig::with_embedder)".into(),
            })?;
        Ok((state.record.id, pinned))
    }
}
