//! Reading a HuggingFace / sentence-transformers model folder: which files, which pooling,
//! which length limit, which normalisation. No inference here (it works without `embed`).

use quiver::Pooling;
use quiver::{Error, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A model folder, checked and understood; nothing loaded yet.
///
/// Expected layout (as on the HuggingFace hub): `config.json`, `tokenizer.json`,
/// `model.safetensors`, and optionally the sentence-transformers files `modules.json`,
/// `1_Pooling/config.json` (or wherever `modules.json` points) and
/// `sentence_bert_config.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFolder {
    pub path: PathBuf,
    pub name: String,
    /// The transformer's `config.json`, parsed.
    pub config: Value,
    pub hidden_size: usize,
    pub pooling: Pooling,
    pub normalize: bool,
    /// sentence-transformers' `max_seq_length`, else the model's position limit.
    pub max_tokens: usize,
}

pub(crate) const CONFIG: &str = "config.json";
pub(crate) const TOKENIZER: &str = "tokenizer.json";
pub(crate) const WEIGHTS: &str = "model.safetensors";

impl ModelFolder {
    /// Checks that `path` holds a usable model and reads its sentence-transformers settings.
    pub fn inspect(path: impl AsRef<Path>) -> Result<ModelFolder> {
        Self::inspect_with(path.as_ref(), true)
    }

    /// Like [`ModelFolder::inspect`], for a transformer trunk whose sentence-transformers
    /// modules are read elsewhere (ColBERT checkpoints: their Dense head is not pooling).
    pub(crate) fn inspect_trunk(path: impl AsRef<Path>) -> Result<ModelFolder> {
        Self::inspect_with(path.as_ref(), false)
    }

    fn inspect_with(path: &Path, modules: bool) -> Result<ModelFolder> {
        let path = path.to_path_buf();
        let bad = |reason: String| Error::InvalidModel {
            path: path.clone(),
            reason,
        };
        if !path.is_dir() {
            return Err(bad("not a folder".into()));
        }
        for file in [CONFIG, TOKENIZER, WEIGHTS] {
            if !path.join(file).is_file() {
                return Err(bad(format!(
                    "{file} is missing (a model folder needs {CONFIG}, {TOKENIZER} and {WEIGHTS})"
                )));
            }
        }
        let config = read_json(&path, CONFIG)?;
        let hidden_size = config
            .get("hidden_size")
            .and_then(Value::as_u64)
            .filter(|&h| h > 0 && h <= quiver::limits::MAX_DIM as u64)
            .ok_or_else(|| bad(format!("{CONFIG} has no valid hidden_size")))?
            as usize;
        let positions = config
            .get("max_position_embeddings")
            .and_then(Value::as_u64)
            .unwrap_or(512) as usize;

        let (pooling, normalize) = if modules {
            sentence_transformers_modules(&path)?
        } else {
            (Pooling::Tokens, true)
        };
        let max_tokens = match optional_json(&path, "sentence_bert_config.json")? {
            Some(st) => match st.get("max_seq_length") {
                Some(v) => v
                    .as_u64()
                    .filter(|&n| n >= 2)
                    .ok_or_else(|| bad(format!("max_seq_length {v} is not a length")))?
                    as usize,
                None => positions,
            },
            None => positions,
        }
        .min(positions);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        Ok(ModelFolder {
            path,
            name,
            config,
            hidden_size,
            pooling,
            normalize,
            max_tokens,
        })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Reads the weights file whole and returns it with its sha256 (lowercase hex).
    pub fn read_weights(&self) -> Result<(Vec<u8>, String)> {
        read_with_sha256(&self.file(WEIGHTS))
    }

    /// The weights as named tensors, with the file's sha256.
    pub(crate) fn load_tensors(
        &self,
    ) -> Result<(
        std::collections::HashMap<String, candle_core::Tensor>,
        String,
    )> {
        let (weights, sha256) = self.read_weights()?;
        let tensors = candle_core::safetensors::load_buffer(&weights, &candle_core::Device::Cpu)
            .map_err(|e| Error::InvalidModel {
                path: self.file(WEIGHTS),
                reason: e.to_string(),
            })?;
        Ok((tensors, sha256))
    }

    /// The folder's tokenizer without its packaged padding and truncation (tokenizer.json
    /// files often fix both — all-MiniLM's pads to 128 — and either would change the
    /// outputs): padding is done per batch, truncation `longest_first` at `max_tokens`, as
    /// sentence-transformers does.
    pub(crate) fn truncating_tokenizer(&self, max_tokens: usize) -> Result<tokenizers::Tokenizer> {
        use tokenizers::{TruncationDirection, TruncationParams, TruncationStrategy};
        let bad = |reason: String| Error::InvalidModel {
            path: self.file(TOKENIZER),
            reason,
        };
        let mut tokenizer = tokenizers::Tokenizer::from_file(self.file(TOKENIZER))
            .map_err(|e| bad(e.to_string()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| bad(e.to_string()))?;
        Ok(tokenizer)
    }
}

/// Reads a model file whole and returns it with its sha256 (lowercase hex).
pub(crate) fn read_with_sha256(path: &Path) -> Result<(Vec<u8>, String)> {
    let io = |source: std::io::Error| Error::InvalidModel {
        path: path.to_path_buf(),
        reason: format!("cannot read: {source}"),
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    let digest = Sha256::digest(&bytes);
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((bytes, hex))
}

pub(crate) fn read_json(dir: &Path, file: &str) -> Result<Value> {
    optional_json(dir, file)?.ok_or_else(|| Error::InvalidModel {
        path: dir.to_path_buf(),
        reason: format!("{file} is missing"),
    })
}

pub(crate) fn optional_json(dir: &Path, file: &str) -> Result<Option<Value>> {
    let path = dir.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::InvalidModel {
                path,
                reason: format!("cannot read: {e}"),
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::InvalidModel {
            path,
            reason: format!("not valid JSON: {e}"),
        })
}

/// Pooling and normalisation from `modules.json` and the pooling module's config. A folder
/// without `modules.json` is a bare transformer: mean pooling, no normalisation (what
/// sentence-transformers itself assumes).
fn sentence_transformers_modules(dir: &Path) -> Result<(Pooling, bool)> {
    let bad = |reason: String| Error::InvalidModel {
        path: dir.join("modules.json"),
        reason,
    };
    let Some(modules) = optional_json(dir, "modules.json")? else {
        return Ok((Pooling::Mean, false));
    };
    let modules = modules
        .as_array()
        .ok_or_else(|| bad("expected a list of modules".into()))?;
    let mut pooling = None;
    let mut normalize = false;
    for (i, m) in modules.iter().enumerate() {
        let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
        let short = kind.rsplit('.').next().unwrap_or(kind);
        match short {
            "Transformer" if i == 0 => {}
            "Pooling" => {
                let sub = m.get("path").and_then(Value::as_str).unwrap_or("1_Pooling");
                pooling = Some(pooling_mode(&dir.join(sub))?);
            }
            "Normalize" => normalize = true,
            other => {
                return Err(bad(format!(
                    "module {i} ({other}) is not supported: Quiver runs Transformer, Pooling and Normalize"
                )));
            }
        }
    }
    Ok((pooling.unwrap_or(Pooling::Mean), normalize))
}

fn pooling_mode(dir: &Path) -> Result<Pooling> {
    let config = read_json(dir, "config.json")?;
    let on = |key: &str| config.get(key).and_then(Value::as_bool).unwrap_or(false);
    let unsupported = [
        "pooling_mode_max_tokens",
        "pooling_mode_mean_sqrt_len_tokens",
        "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken",
    ];
    if let Some(mode) = unsupported.iter().find(|k| on(k)) {
        return Err(Error::InvalidModel {
            path: dir.join("config.json"),
            reason: format!("{mode} is not supported (mean and CLS pooling are)"),
        });
    }
    match (on("pooling_mode_mean_tokens"), on("pooling_mode_cls_token")) {
        (true, false) => Ok(Pooling::Mean),
        (false, true) => Ok(Pooling::Cls),
        (m, c) => Err(Error::InvalidModel {
            path: dir.join("config.json"),
            reason: format!(
                "exactly one pooling mode must be on (mean: {m}, cls: {c}); combined modes are not supported"
            ),
        }),
    }
}
