//! Which embedder serves which collection: the pinned identity (stored), and the loaded
//! model (in memory, shared by every handle of the database).

use super::{CrossEncoder, Embedder, ModelIdentity, RerankerIdentity};
use crate::error::{Error, Result};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

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

/// The collection setting under which a pinned default re-ranker is stored.
pub(crate) const RERANKER_KEY: &str = "reranker";

/// A collection's default re-ranker as stored (JSON in its settings table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredReranker {
    pub identity: RerankerIdentity,
    /// Folder the model can be loaded again from; `None` for the application's own.
    pub source: Option<PathBuf>,
}

impl StoredReranker {
    pub fn of(model: &dyn CrossEncoder) -> Self {
        StoredReranker {
            identity: model.identity().clone(),
            source: model.source().map(|p| p.canonicalize().unwrap_or(p.into())),
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::Internal {
            detail: format!("reranker setting does not serialise: {e}"),
        })
    }

    pub fn decode(collection: &str, bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| {
            Error::corrupted(format!(
                "reranker setting of '{collection}' is invalid: {e}"
            ))
        })
    }
}

/// Loaded embedders and default re-rankers by collection id (ids are never reused, so a
/// dropped and re-created collection never inherits a model).
#[derive(Default)]
pub(crate) struct Registry {
    loaded: Mutex<HashMap<u64, Arc<dyn Embedder>>>,
    rerankers: Mutex<HashMap<u64, Arc<dyn CrossEncoder>>>,
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

impl Registry {
    /// Makes `model` the loaded default re-ranker of collection `id` (pinned as `pinned`).
    pub fn attach_reranker(
        &self,
        collection: &str,
        id: u64,
        pinned: &StoredReranker,
        model: Arc<dyn CrossEncoder>,
    ) -> Result<()> {
        check_same_reranker(collection, &pinned.identity, model.identity())?;
        self.rerankers.lock().insert(id, model);
        Ok(())
    }

    /// Forgets the loaded default re-ranker of collection `id`.
    pub fn detach_reranker(&self, id: u64) {
        self.rerankers.lock().remove(&id);
    }

    /// The default re-ranker of collection `id`, loading the pinned folder on first use.
    pub fn reranker(
        &self,
        collection: &str,
        id: u64,
        pinned: &StoredReranker,
    ) -> Result<Arc<dyn CrossEncoder>> {
        let mut loaded = self.rerankers.lock();
        if let Some(m) = loaded.get(&id)
            && m.identity() == &pinned.identity
        {
            return Ok(m.clone());
        }
        let model = load_reranker(collection, pinned)?;
        check_same_reranker(collection, &pinned.identity, model.identity())?;
        loaded.insert(id, model.clone());
        Ok(model)
    }
}

fn check_same_reranker(
    collection: &str,
    pinned: &RerankerIdentity,
    found: &RerankerIdentity,
) -> Result<()> {
    if pinned == found {
        return Ok(());
    }
    Err(Error::ModelMismatch {
        collection: collection.to_owned(),
        pinned: pinned.fingerprint(),
        found: found.fingerprint(),
    })
}

/// Loads a pinned re-ranker again through the registered [`ModelLoader`].
fn load_reranker(collection: &str, pinned: &StoredReranker) -> Result<Arc<dyn CrossEncoder>> {
    let no = |reason: String| Error::NoEmbedder {
        collection: collection.to_owned(),
        reason,
    };
    let Some(folder) = &pinned.source else {
        return Err(no(format!(
            "its re-ranker {} is the application's own: pin it again with Collection::pin_reranker",
            pinned.identity.fingerprint()
        )));
    };
    let Some(loader) = LOADER.get() else {
        return Err(no(format!(
            "no model loader is registered in this program (quiver_embed::register()), so the \
             re-ranker {} cannot be loaded from {}",
            pinned.identity.fingerprint(),
            folder.display()
        )));
    };
    loader.load_reranker(&RerankerSource {
        identity: pinned.identity.clone(),
        folder: folder.clone(),
    })
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

/// Loads a pinned model again through the registered [`ModelLoader`].
fn load(collection: &str, pinned: &StoredEmbedder) -> Result<Arc<dyn Embedder>> {
    let Some(folder) = &pinned.source else {
        return Err(Error::NoEmbedder {
            collection: collection.to_owned(),
            reason: format!(
                "its model {} is the application's own: attach it with Collection::attach_embedder",
                pinned.identity.fingerprint()
            ),
        });
    };
    let Some(loader) = LOADER.get() else {
        return Err(Error::NoEmbedder {
            collection: collection.to_owned(),
            reason: format!(
                "no model loader is registered in this program (quiver_embed::register()), \
                 so {} cannot be loaded from {}; or attach it with Collection::attach_embedder",
                pinned.identity.fingerprint(),
                folder.display()
            ),
        });
    };
    loader.load(&ModelSource {
        identity: pinned.identity.clone(),
        folder: folder.clone(),
        head: pinned.head.clone(),
    })
}

/// Where a pinned model is loaded from again (after reopening a database).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelSource {
    /// The identity the collection pinned; the loaded model must have exactly this one.
    pub identity: ModelIdentity,
    /// The model folder the embedder was loaded from ([`Embedder::source`]).
    pub folder: PathBuf,
    /// A separate file the model needs ([`Embedder::head_source`]).
    pub head: Option<PathBuf>,
}

/// Where a pinned default re-ranker is loaded from again.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RerankerSource {
    /// The identity the collection pinned; the loaded model must have exactly this one.
    pub identity: RerankerIdentity,
    /// The model folder ([`CrossEncoder::source`]).
    pub folder: PathBuf,
}

/// Loads models from folders for collections whose pinned model is not loaded yet. The
/// engine runs no model itself: `quiver-embed` registers its loader (BERT, ColBERT,
/// cross-encoders) with [`register_model_loader`], and applications may register their own.
pub trait ModelLoader: Send + Sync {
    /// The model at `source`, with the options its pinned identity records.
    fn load(&self, source: &ModelSource) -> Result<Arc<dyn Embedder>>;

    /// The cross-encoder at `source` (a collection's pinned default re-ranker).
    fn load_reranker(&self, source: &RerankerSource) -> Result<Arc<dyn CrossEncoder>> {
        Err(Error::InvalidModel {
            path: source.folder.clone(),
            reason: "this program's model loader cannot load cross-encoders".into(),
        })
    }
}

static LOADER: OnceLock<Arc<dyn ModelLoader>> = OnceLock::new();

/// Makes `loader` load pinned models in this process. The first registration wins (one
/// process has one set of model implementations); returns whether this one was taken.
pub fn register_model_loader(loader: Arc<dyn ModelLoader>) -> bool {
    LOADER.set(loader).is_ok()
}
