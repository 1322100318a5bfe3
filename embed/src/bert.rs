//! [`BertEmbedder`]: BERT-family sentence encoders (all-MiniLM, bge, e5, …) on candle.

use crate::config::BertConfig as Config;
use crate::folder::{self, ModelFolder};
use crate::trunk::Trunk;
use candle_core::{DType, Device, IndexOp, Tensor};
use quiver::Embedder;
use quiver::{Error, Result};
use quiver::{ModelIdentity, Pooling};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// Options for loading a model folder.
///
/// ## Defaults
/// - prefixes: none (all-MiniLM needs none; e5 wants `"query: "` / `"passage: "`, bge a
///   query instruction).
/// - `max_tokens`: the folder's `sentence_bert_config.json` `max_seq_length` (256 for
///   all-MiniLM-L6-v2), else the model's position limit. Longer texts are truncated: only
///   their first `max_tokens` tokens (special tokens included) count.
/// - `batch_size`: 16 texts per forward pass (texts are sorted by length first, so a batch
///   pads little). Measured on 2 cores with 200-token abstracts: 16 beats 4, 32 and 64 (larger
///   batches make attention tensors that miss the caches).
///
/// ## Speed
/// Inference allocates large temporary tensors; glibc's malloc returns them to the OS each
/// time (page faults). An application that embeds a lot should use mimalloc or jemalloc as
/// its global allocator (the `quiver` CLI does): measured 15.7 vs 11.6 texts/s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BertOptions {
    pub query_prefix: String,
    pub document_prefix: String,
    pub max_tokens: Option<usize>,
    pub batch_size: Option<usize>,
}

const DEFAULT_BATCH: usize = 16;

/// A BERT encoder with pooling and optional L2 normalisation, as sentence-transformers
/// defines them, run on the CPU with all cores.
pub struct BertEmbedder {
    model: Trunk,
    tokenizer: Tokenizer,
    identity: ModelIdentity,
    source: PathBuf,
    pad_id: u32,
    batch_size: usize,
}

pub(super) fn inference(e: impl std::fmt::Display) -> Error {
    Error::Inference {
        detail: e.to_string(),
    }
}

impl BertEmbedder {
    /// Loads the model folder at `path` with default options.
    pub fn load(path: impl AsRef<Path>) -> Result<BertEmbedder> {
        Self::load_with(path, &BertOptions::default())
    }

    pub fn load_with(path: impl AsRef<Path>, options: &BertOptions) -> Result<BertEmbedder> {
        crate::register();
        let folder = ModelFolder::inspect(path)?;
        let bad = |file: &str, reason: String| Error::InvalidModel {
            path: folder.file(file),
            reason,
        };
        let config: Config = serde_json::from_value(folder.config.clone()).map_err(|e| {
            bad(
                folder::CONFIG,
                format!("not a BERT configuration this build can run: {e}"),
            )
        })?;
        let max_tokens = match options.max_tokens {
            Some(n) if n < 2 || n > config.max_position_embeddings => {
                return Err(Error::InvalidParameter {
                    name: "max_tokens",
                    reason: format!(
                        "{n} is outside 2..={} (the model's position limit)",
                        config.max_position_embeddings
                    ),
                });
            }
            Some(n) => n,
            None => folder.max_tokens,
        };
        let batch_size = batch_size(options.batch_size)?;

        let tokenizer = folder.truncating_tokenizer(max_tokens)?;
        let (tensors, sha256) = folder.load_tensors()?;
        let model = load_trunk(&folder, &config, tensors)?;
        let identity = ModelIdentity {
            name: folder.name.clone(),
            dim: folder.hidden_size,
            pooling: folder.pooling,
            normalize: folder.normalize,
            max_tokens,
            weights_sha256: sha256,
            query_prefix: options.query_prefix.clone(),
            document_prefix: options.document_prefix.clone(),
            late_interaction: None,
        };
        Ok(BertEmbedder {
            model,
            tokenizer,
            identity,
            source: folder.path,
            pad_id: config.pad_token_id as u32,
            batch_size,
        })
    }

    /// The options that reproduce this embedder from its folder.
    pub fn options(&self) -> BertOptions {
        BertOptions {
            query_prefix: self.identity.query_prefix.clone(),
            document_prefix: self.identity.document_prefix.clone(),
            max_tokens: Some(self.identity.max_tokens),
            batch_size: Some(self.batch_size),
        }
    }

    /// Token ids of `text` as the model sees it (special tokens included, truncated).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.tokenizer.encode(text, true).map_err(inference)?;
        Ok(enc.get_ids().to_vec())
    }

    /// The transformer's last hidden state for `text`: one row per token, before pooling.
    pub fn token_vectors(&self, text: &str) -> Result<Vec<Vec<f32>>> {
        let ids = self.token_ids(text)?;
        let hidden = self.forward(&[ids])?;
        hidden.i(0).and_then(|t| t.to_vec2()).map_err(inference)
    }

    /// Token-level outputs of many documents, for multi-vector collections: each text's last
    /// hidden states (special tokens included, padding excluded), L2-normalised, one row per
    /// token. Batched like `embed_documents` (similar lengths together, all cores).
    pub fn token_matrices(&self, texts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>> {
        for (i, t) in texts.iter().enumerate() {
            quiver::embed::check_text(Some(i), t)?;
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(inference)?;
        let seqs: Vec<Vec<u32>> = encodings.iter().map(|e| e.get_ids().to_vec()).collect();
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].len());
        let mut out = vec![Vec::new(); seqs.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| seqs[i].clone()).collect();
            let (hidden, _) = self.forward_masked(&batch)?;
            let hidden = l2_normalize_last(&hidden).map_err(inference)?;
            for (b, &i) in chunk.iter().enumerate() {
                let rows: Vec<Vec<f32>> =
                    hidden.i(b).and_then(|t| t.to_vec2()).map_err(inference)?;
                out[i] = rows.into_iter().take(seqs[i].len()).collect();
            }
        }
        Ok(out)
    }

    /// Runs the transformer on token id sequences (padded here); returns (batch, len, dim)
    /// and the attention mask (batch, len).
    fn forward_masked(&self, seqs: &[Vec<u32>]) -> Result<(Tensor, Tensor)> {
        let seqs: Vec<(&[u32], Option<&[u32]>)> = seqs.iter().map(|s| (&s[..], None)).collect();
        run_trunk(&self.model, self.pad_id, &seqs).map_err(inference)
    }

    fn forward(&self, seqs: &[Vec<u32>]) -> Result<Tensor> {
        Ok(self.forward_masked(seqs)?.0)
    }

    /// Pooled (and normalised) vectors of one batch of token id sequences.
    fn pool(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let (hidden, mask) = self.forward_masked(seqs)?;
        let pooled = match self.identity.pooling {
            Pooling::Cls => hidden.i((.., 0)).map_err(inference)?,
            Pooling::Mean => mean_pool(&hidden, &mask).map_err(inference)?,
            other => {
                return Err(inference(format!(
                    "a sentence encoder pools its tokens, not with {other} pooling"
                )));
            }
        };
        let pooled = if self.identity.normalize {
            l2_normalize(&pooled).map_err(inference)?
        } else {
            pooled
        };
        pooled.to_vec2().map_err(inference)
    }

    /// Embeds `texts` (prefixes already applied); `queries` only changes how a bad text is
    /// reported (queries have no batch position).
    fn embed_all(&self, texts: &[String], queries: bool) -> Result<Vec<Vec<f32>>> {
        for (i, t) in texts.iter().enumerate() {
            quiver::embed::check_text((!queries).then_some(i), t)?;
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.iter().map(String::as_str).collect(), true)
            .map_err(inference)?;
        let seqs: Vec<Vec<u32>> = encodings.iter().map(|e| e.get_ids().to_vec()).collect();
        // Similar lengths together: each batch pads to its longest text.
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].len());
        let mut out = vec![Vec::new(); seqs.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| seqs[i].clone()).collect();
            for (&i, v) in chunk.iter().zip(self.pool(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

/// The `batch_size` option: texts per forward pass, at least 1.
pub(super) fn batch_size(option: Option<usize>) -> Result<usize> {
    match option {
        Some(0) => Err(Error::InvalidParameter {
            name: "batch_size",
            reason: "must be at least 1".into(),
        }),
        Some(n) => Ok(n),
        None => Ok(DEFAULT_BATCH),
    }
}

/// The BERT trunk from the folder's weights.
pub(super) fn load_trunk(
    folder: &ModelFolder,
    config: &Config,
    tensors: std::collections::HashMap<String, Tensor>,
) -> Result<Trunk> {
    Trunk::load(config, &tensors).map_err(|e| Error::InvalidModel {
        path: folder.file(folder::WEIGHTS),
        reason: format!("does not hold the BERT weights {}: {e}", folder::CONFIG),
    })
}

/// Runs the trunk on token id sequences, padded here with `pad` to the longest; each
/// sequence's attention is given per position or, when `None`, 1 on every token. Returns
/// the last hidden state (batch, len, dim) and the attention mask (batch, len).
pub(super) fn run_trunk(
    model: &Trunk,
    pad: u32,
    seqs: &[(&[u32], Option<&[u32]>)],
) -> candle_core::Result<(Tensor, Tensor)> {
    let len = seqs.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(seqs.len() * len);
    let mut mask = Vec::with_capacity(seqs.len() * len);
    for (s, attention) in seqs {
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(pad, len - s.len()));
        match attention {
            Some(a) => mask.extend_from_slice(a),
            None => mask.extend(std::iter::repeat_n(1u32, s.len())),
        }
        mask.extend(std::iter::repeat_n(0u32, len - s.len()));
    }
    let hidden = model
        .forward(&ids, None, &mask, seqs.len(), len)
        .map_err(candle_core::Error::Msg)?;
    let hidden = Tensor::from_vec(hidden, (seqs.len(), len, model.hidden()), &Device::Cpu)?;
    let mask = Tensor::from_vec(mask, (seqs.len(), len), &Device::Cpu)?;
    Ok((hidden, mask))
}

/// Mean of the token rows where the mask is 1 (sentence-transformers: sum / max(count, 1e-9)).
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    summed.broadcast_div(&counts)
}

/// Rows divided by their L2 norm (torch's F.normalize: norm clamped at 1e-12).
/// L2-normalises along the last axis of a (batch, len, dim) tensor.
pub(super) fn l2_normalize_last(x: &Tensor) -> candle_core::Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(2)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    x.broadcast_div(&norm)
}

fn l2_normalize(x: &Tensor) -> candle_core::Result<Tensor> {
    let norms = x.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
    x.broadcast_div(&norms)
}

impl Embedder for BertEmbedder {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let prefix = &self.identity.document_prefix;
        let texts: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        self.embed_all(&texts, false)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let text = format!("{}{text}", self.identity.query_prefix);
        self.embed_all(&[text], true)?
            .pop()
            .ok_or_else(|| inference("the model returned no vector"))
    }

    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let prefix = &self.identity.query_prefix;
        let texts: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        self.embed_all(&texts, true)
    }

    fn source(&self) -> Option<&Path> {
        Some(&self.source)
    }

    /// The last hidden states, normalised (see [`BertEmbedder::token_matrices`]).
    fn token_outputs(&self) -> bool {
        true
    }

    fn embed_document_tokens(&self, texts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>> {
        let prefix = &self.identity.document_prefix;
        let texts: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        self.token_matrices(&texts.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn embed_query_tokens(&self, text: &str) -> Result<Vec<Vec<f32>>> {
        quiver::embed::check_text(None, text)?;
        let text = format!("{}{text}", self.identity.query_prefix);
        self.token_matrices(&[&text])?
            .pop()
            .ok_or_else(|| inference("the model returned no matrix"))
    }
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("identity", &self.identity)
            .field("source", &self.source)
            .finish()
    }
}
