//! A collection's default re-ranker: pinned in its settings like its embedder, loaded again
//! from its folder after reopening.

use super::Collection;
use crate::embed::{CrossEncoder, RERANKER_KEY, RerankerIdentity, StoredReranker};
use crate::error::{Error, Result};
use std::sync::Arc;

impl Collection {
    /// Pins `model` as the collection's default re-ranker ([`crate::Rerank::pinned`]): its
    /// identity and folder are stored in the collection's settings (in one transaction), so a
    /// reopened database loads it again through the registered model loader. Replaces a
    /// previous pin. A re-ranker has one output per pair.
    pub fn pin_reranker(&self, model: Arc<dyn CrossEncoder>) -> Result<()> {
        if model.identity().labels != 1 {
            return Err(Error::InvalidParameter {
                name: "reranker",
                reason: format!(
                    "{} has {} outputs per pair; a re-ranker has one",
                    model.identity().fingerprint(),
                    model.identity().labels
                ),
            });
        }
        let stored = StoredReranker::of(model.as_ref());
        let bytes = stored.encode()?;
        let id = self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            batch.put_setting(&state.record, RERANKER_KEY, &bytes)?;
            Ok((state.record.id, Vec::new()))
        })?;
        self.db
            .inner
            .models
            .attach_reranker(&self.name, id, &stored, model)
    }

    /// Removes the pinned default re-ranker; returns whether there was one.
    pub fn unpin_reranker(&self) -> Result<bool> {
        let (had, id) = self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let had = batch.remove_setting(&state.record, RERANKER_KEY)?;
            Ok(((had, state.record.id), Vec::new()))
        })?;
        self.db.inner.models.detach_reranker(id);
        Ok(had)
    }

    /// The identity of the pinned default re-ranker, if there is one.
    pub fn reranker_identity(&self) -> Result<Option<RerankerIdentity>> {
        Ok(self.pinned_reranker()?.map(|(_, s)| s.identity))
    }

    /// The pinned default re-ranker, loaded from its folder on first use (or `None`).
    pub fn reranker(&self) -> Result<Option<Arc<dyn CrossEncoder>>> {
        let Some((id, stored)) = self.pinned_reranker()? else {
            return Ok(None);
        };
        self.db
            .inner
            .models
            .reranker(&self.name, id, &stored)
            .map(Some)
    }

    fn pinned_reranker(&self) -> Result<Option<(u64, StoredReranker)>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        let Some(bytes) = snap.read.setting(&state.record, RERANKER_KEY)? else {
            return Ok(None);
        };
        let stored = StoredReranker::decode(&self.name, &bytes)?;
        Ok(Some((state.record.id, stored)))
    }
}
