//! Where a ColBERT checkpoint keeps its conventions and its projection head.
//!
//! Two layouts exist on the HuggingFace hub:
//! - colbert-ai (Stanford) checkpoints: a BERT folder whose `model.safetensors` also holds
//!   `linear.weight`, and `artifact.metadata` (JSON) with `query_maxlen`, `doc_maxlen`,
//!   `attend_to_mask_tokens`, `mask_punctuation`, `query_token_id`, `doc_token_id`.
//! - PyLate checkpoints: a sentence-transformers folder whose `modules.json` lists a Dense
//!   module (its folder holds `model.safetensors` with `linear.weight`), and
//!   `config_sentence_transformers.json` with `query_length`, `document_length`,
//!   `attend_to_expansion_tokens`, `query_prefix`, `document_prefix`, `skiplist_words`.
//!
//! A folder with neither (a plain BERT trunk) gets the defaults below and needs the head
//! given explicitly (`ColbertOptions::projection`).

use crate::folder::optional_json;
use quiver::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// colbert-ai's defaults (`query_maxlen` 32, `doc_maxlen` 180, markers `[unused0]` and
/// `[unused1]`, punctuation masked). Attending to the query's expansion tokens is what
/// Jina-ColBERT-v2 found better; checkpoints that say otherwise are obeyed.
pub(crate) const DEFAULT_QUERY_LENGTH: usize = 32;
pub(crate) const DEFAULT_DOCUMENT_LENGTH: usize = 180;
pub(crate) const DEFAULT_ATTEND_TO_EXPANSION: bool = true;
const DEFAULT_QUERY_MARKER: &str = "[unused0]";
const DEFAULT_DOCUMENT_MARKER: &str = "[unused1]";

/// Conventions read from a checkpoint folder (each `None` when the folder does not say).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Conventions {
    pub query_length: Option<usize>,
    pub document_length: Option<usize>,
    pub attend_to_expansion: Option<bool>,
    pub query_marker: Option<String>,
    pub document_marker: Option<String>,
    pub skip_punctuation: Option<bool>,
    /// The Dense module's weights file (PyLate layout).
    pub dense_head: Option<PathBuf>,
}

impl Conventions {
    pub fn read(dir: &Path) -> Result<Conventions> {
        let mut c = Conventions::default();
        if let Some(meta) = optional_json(dir, "artifact.metadata")? {
            let file = dir.join("artifact.metadata");
            c.query_length = length(&meta, "query_maxlen", &file)?;
            c.document_length = length(&meta, "doc_maxlen", &file)?;
            c.attend_to_expansion = flag(&meta, "attend_to_mask_tokens", &file)?;
            c.skip_punctuation = flag(&meta, "mask_punctuation", &file)?;
            c.query_marker = text(&meta, "query_token_id", &file)?;
            c.document_marker = text(&meta, "doc_token_id", &file)?;
        }
        if let Some(st) = optional_json(dir, "config_sentence_transformers.json")?
            && st.get("query_length").is_some()
        {
            let file = dir.join("config_sentence_transformers.json");
            c.query_length = length(&st, "query_length", &file)?;
            c.document_length = length(&st, "document_length", &file)?.or(c.document_length);
            c.attend_to_expansion = flag(&st, "attend_to_expansion_tokens", &file)?;
            c.query_marker = text(&st, "query_prefix", &file)?.or(c.query_marker);
            c.document_marker = text(&st, "document_prefix", &file)?.or(c.document_marker);
            if let Some(words) = st.get("skiplist_words") {
                let words = words.as_array().ok_or_else(|| Error::InvalidModel {
                    path: file.clone(),
                    reason: "skiplist_words is not a list".into(),
                })?;
                c.skip_punctuation = Some(!words.is_empty());
            }
        }
        c.dense_head = dense_module(dir)?;
        Ok(c)
    }

    pub fn query_marker(&self) -> &str {
        self.query_marker
            .as_deref()
            .map_or(DEFAULT_QUERY_MARKER, str::trim)
    }

    pub fn document_marker(&self) -> &str {
        self.document_marker
            .as_deref()
            .map_or(DEFAULT_DOCUMENT_MARKER, str::trim)
    }
}

fn invalid(file: &Path, key: &str, v: &Value, want: &str) -> Error {
    Error::InvalidModel {
        path: file.to_path_buf(),
        reason: format!("{key} is {v}, expected {want}"),
    }
}

fn length(json: &Value, key: &str, file: &Path) -> Result<Option<usize>> {
    json.get(key)
        .map(|v| {
            v.as_u64()
                .filter(|&n| (4..=1 << 16).contains(&n))
                .map(|n| n as usize)
                .ok_or_else(|| invalid(file, key, v, "a length of at least 4 tokens"))
        })
        .transpose()
}

fn flag(json: &Value, key: &str, file: &Path) -> Result<Option<bool>> {
    json.get(key)
        .map(|v| {
            v.as_bool()
                .ok_or_else(|| invalid(file, key, v, "true or false"))
        })
        .transpose()
}

fn text(json: &Value, key: &str, file: &Path) -> Result<Option<String>> {
    json.get(key)
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(file, key, v, "a token string"))
        })
        .transpose()
}

/// The weights file of the first Dense module `modules.json` lists, if any.
fn dense_module(dir: &Path) -> Result<Option<PathBuf>> {
    let Some(modules) = optional_json(dir, "modules.json")? else {
        return Ok(None);
    };
    let dense = modules.as_array().and_then(|list| {
        list.iter().find(|m| {
            m.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.rsplit('.').next() == Some("Dense"))
        })
    });
    Ok(dense.map(|m| {
        let sub = m.get("path").and_then(Value::as_str).unwrap_or("1_Dense");
        dir.join(sub).join("model.safetensors")
    }))
}
