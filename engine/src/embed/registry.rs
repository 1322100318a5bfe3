//! Which embedder serves which collection: the pinned identity (stored), and the loaded
//! model (in memory, shared by every handle of the database).

use super::{Embedder, ModelIdentity};
use crate::error::{Error, Result};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The collection setting under which the embedder is stored.
pub(crate) const SETTING_KEY: &str = "embedder";

/// A collection's embedder as stored (JSON in its settings table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredEmbedder {
    pub identity: ModelIdentity,
    /// Folder of a BERT-family model that can be loaded again; `None` for embedders the
    /// application attaches itself.
    pub source: Option<PathBuf>,
    /// A separate file the model needs besides its folder (a ColBERT projection head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<PathBuf>,
}

impl StoredEmbedder {
    pub fn of(embedder: &dyn Embedder) -> Self {
        StoredEmbedder {
            identity: embedder.identity().clone(),
            source: embedder
                .source()
                .map(|p| p.canonicalize().unwrap_or(p.into())),
            head: embedder
                .head_source()
                .map(|p| p.canonicalize().unwrap_or(p.into())),
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::Internal {
            detail: format!("embedder setting does not serialise: {e}"),
        })
    }

    pub fn decode(collection: &str, bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| {
            Error::corrupted(format!(
                "embedder setting of '{collection}' is invalid: {e}"
            ))
        })
    }
}

/// Loaded embedders by collection id (ids are never reused, so a dropped and re-created
/// collection never inherits a model).
#[derive(Default)]
pub(crate) struct Registry {
    loaded: Mutex<HashMap<u64, Arc<dyn Embedder>>>,
}

impl Registry {
    /// Makes `embedder` serve collection `id` after checking it is the pinned model.
    pub fn attach(
        &self,
        collection: &str,
        id: u64,
        pinned: &StoredEmbedder,
        embedder: Arc<dyn Embedder>,
    ) -> Result<()> {
        check_same(collection, &pinned.identity, embedder.identity())?;
        self.loaded.lock().insert(id, embedder);
        Ok(())
    }

    /// The embedder of collection `id`, loading the pinned model folder on first use.
    pub fn get(
        &self,
        collection: &str,
        id: u64,
        pinned: &StoredEmbedder,
    ) -> Result<Arc<dyn Embedder>> {
        // Held while loading: two threads never load the same model twice.
        let mut loaded = self.loaded.lock();
        if let Some(e) = loaded.get(&id) {
            return Ok(e.clone());
        }
        let embedder = load(collection, pinned)?;
        check_same(collection, &pinned.identity, embedder.identity())?;
        loaded.insert(id, embedder.clone());
        Ok(embedder)
    }
}

fn check_same(collection: &str, pinned: &ModelIdentity, found: &ModelIdentity) -> Result<()> {
    if pinned == found {
        return Ok(());
    }
    Err(Error::ModelMismatch {
        collection: collection.to_owned(),
        pinned: pinned.fingerprint(),
        found: found.fingerprint(),
    })
}

#[cfg(feature = "embed")]
fn load(collection: &str, pinned: &StoredEmbedder) -> Result<Arc<dyn Embedder>> {
    let Some(path) = &pinned.source else {
        return Err(Error::NoEmbedder {
            collection: collection.to_owned(),
            reason: format!(
                "its model {} is the application's own: attach it with Collection::attach_embedder",
                pinned.identity.fingerprint()
            ),
        });
    };
    if let Some(li) = &pinned.identity.late_interaction {
        let options = super::ColbertOptions {
            projection: pinned.head.clone(),
            query_length: Some(li.query_length),
            document_length: Some(li.document_length),
            attend_to_expansion: Some(li.attend_to_expansion),
            batch_size: None,
        };
        return Ok(Arc::new(super::ColbertEmbedder::load_with(path, &options)?));
    }
    let options = super::BertOptions {
        query_prefix: pinned.identity.query_prefix.clone(),
        document_prefix: pinned.identity.document_prefix.clone(),
        max_tokens: Some(pinned.identity.max_tokens),
        batch_size: None,
    };
    Ok(Arc::new(super::BertEmbedder::load_with(path, &options)?))
}

#[cfg(not(feature = "embed"))]
fn load(collection: &str, pinned: &StoredEmbedder) -> Result<Arc<dyn Embedder>> {
    Err(Error::NoEmbedder {
        collection: collection.to_owned(),
        reason: format!(
            "this build has no model inference (cargo feature `embed`); attach an embedder for {}",
            pinned.identity.fingerprint()
        ),
    })
}
