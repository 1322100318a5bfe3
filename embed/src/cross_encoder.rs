//! [`BertCrossEncoder`]: BERT-family `BertForSequenceClassification` re-rankers (the
//! ms-marco MiniLM cross-encoders, bge-reranker-base's BERT cousins, sentence-transformers
//! `CrossEncoder` folders) on the same trunk as the sentence encoders.
//!
//! The forward pass is transformers': `[CLS] query [SEP] document [SEP]` with token types
//! 0 then 1, truncated `longest_first` to the model's maximum length, the encoder, the
//! pooler (dense + tanh on `[CLS]`'s last hidden state), the classifier (linear) → logits,
//! then the activation sentence-transformers applies (`cross_config.rs`).

use crate::bert::{batch_size, inference};
use crate::config::BertConfig as Config;
use crate::cross_config;
use crate::folder::{self, ModelFolder};
use crate::trunk::{Linear, Trunk, Weights, project};
use quiver::embed::{CrossEncoder, RerankerIdentity};
use quiver::{Error, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use tokenizers::{EncodeInput, Tokenizer};

/// Options for loading a cross-encoder folder.
///
/// ## Defaults
/// - `max_tokens`: the folder's (`sentence_bert_config.json` `max_seq_length`, else
///   `tokenizer_config.json` `model_max_length`), capped at the model's positions.
/// - `batch_size`: 16 pairs per forward pass (pairs are sorted by length first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrossEncoderOptions {
    pub max_tokens: Option<usize>,
    pub batch_size: Option<usize>,
}

/// A BERT sequence classifier run as a cross-encoder on the CPU, all cores.
///
/// ```no_run
/// use quiver::CrossEncoder;
/// let ce = quiver_embed::BertCrossEncoder::load("ms-marco-MiniLM-L-6-v2")?;
/// let scores = ce.score("how do wings lift?", &["Wings deflect air downward.", "Rust is iron oxide."])?;
/// assert!(scores[0] > scores[1]);
/// # Ok::<(), quiver::Error>(())
/// ```
pub struct BertCrossEncoder {
    model: Trunk,
    pooler: Linear,
    classifier: Linear,
    tokenizer: Tokenizer,
    identity: RerankerIdentity,
    source: PathBuf,
    pad_id: u32,
    batch_size: usize,
}

impl BertCrossEncoder {
    pub fn load(path: impl AsRef<Path>) -> Result<BertCrossEncoder> {
        Self::load_with(path, &CrossEncoderOptions::default())
    }

    pub fn load_with(
        path: impl AsRef<Path>,
        options: &CrossEncoderOptions,
    ) -> Result<BertCrossEncoder> {
        crate::register();
        let folder = ModelFolder::inspect_trunk(path)?;
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
        let labels = cross_config::labels(&folder.path, &folder.config)?;
        let activation = cross_config::activation(&folder.path, &folder.config, labels)?;
        let positions = config.max_position_embeddings;
        let max_tokens = match options.max_tokens {
            Some(n) if !(4..=positions).contains(&n) => {
                return Err(Error::InvalidParameter {
                    name: "max_tokens",
                    reason: format!("{n} is outside 4..={positions} (the model's position limit)"),
                });
            }
            Some(n) => n,
            None => cross_config::max_length(&folder.path, positions)?,
        };
        let batch_size = batch_size(options.batch_size)?;

        let tokenizer = folder.truncating_tokenizer(max_tokens)?;
        let (tensors, sha256) = folder.load_tensors()?;
        let head_error = |e: String| {
            bad(
                folder::WEIGHTS,
                format!("does not hold a BERT sequence classifier: {e}"),
            )
        };
        let (model, prefix) = Trunk::load_with_prefix(&config, &tensors).map_err(head_error)?;
        let h = config.hidden_size;
        let pooler = Weights {
            tensors: &tensors,
            prefix,
        }
        .linear("pooler.dense", h, h)
        .map_err(head_error)?;
        let classifier = Weights {
            tensors: &tensors,
            prefix: String::new(),
        }
        .linear("classifier", h, labels)
        .map_err(head_error)?;
        Ok(BertCrossEncoder {
            model,
            pooler,
            classifier,
            tokenizer,
            identity: RerankerIdentity {
                name: folder.name.clone(),
                weights_sha256: sha256,
                max_tokens,
                activation,
                labels,
            },
            source: folder.path,
            pad_id: config.pad_token_id as u32,
            batch_size,
        })
    }

    /// The options that reproduce this model from its folder.
    pub fn options(&self) -> CrossEncoderOptions {
        CrossEncoderOptions {
            max_tokens: Some(self.identity.max_tokens),
            batch_size: Some(self.batch_size),
        }
    }

    /// Token ids and token type ids of a pair as the model reads it (truncated).
    pub fn pair_tokens(&self, query: &str, document: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let enc = self
            .tokenizer
            .encode((query, document), true)
            .map_err(inference)?;
        Ok((enc.get_ids().to_vec(), enc.get_type_ids().to_vec()))
    }

    /// Every label's output for each (query, document) pair, after the activation
    /// (`labels` values per pair), in input order.
    pub fn predict(&self, pairs: &[(&str, &str)]) -> Result<Vec<Vec<f32>>> {
        let inputs: Vec<EncodeInput> = pairs.iter().map(|&(q, d)| (q, d).into()).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(inference)?;
        let seqs: Vec<(Vec<u32>, Vec<u32>)> = encodings
            .iter()
            .map(|e| (e.get_ids().to_vec(), e.get_type_ids().to_vec()))
            .collect();
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].0.len());
        let mut out = vec![Vec::new(); seqs.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<&(Vec<u32>, Vec<u32>)> = chunk.iter().map(|&i| &seqs[i]).collect();
            for (&i, logits) in chunk.iter().zip(self.logits(&batch)?) {
                out[i] = logits
                    .into_iter()
                    .map(|x| self.identity.activation.apply(x))
                    .collect();
            }
        }
        Ok(out)
    }

    /// Raw logits of one batch of (ids, type ids) sequences.
    fn logits(&self, batch: &[&(Vec<u32>, Vec<u32>)]) -> Result<Vec<Vec<f32>>> {
        let len = batch.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
        let rows = batch.len() * len;
        let (mut ids, mut types, mut mask) = (
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
            Vec::with_capacity(rows),
        );
        for (s, t) in batch {
            let pad = len - s.len();
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(self.pad_id, pad));
            types.extend_from_slice(t);
            types.extend(std::iter::repeat_n(0, pad));
            mask.extend(std::iter::repeat_n(1u32, s.len()));
            mask.extend(std::iter::repeat_n(0u32, pad));
        }
        // The pooler reads each sequence's first ([CLS]) row only.
        let cls = self
            .model
            .forward_first(&ids, Some(&types), &mask, batch.len(), len)
            .map_err(inference)?;
        let h = self.model.hidden();
        let mut pooled = vec![0f32; batch.len() * h];
        project(&cls, None, &self.pooler, &mut pooled);
        pooled.par_iter_mut().for_each(|v| *v = v.tanh());
        let labels = self.identity.labels;
        let mut logits = vec![0f32; batch.len() * labels];
        project(&pooled, None, &self.classifier, &mut logits);
        Ok(logits.chunks(labels).map(<[f32]>::to_vec).collect())
    }
}

impl CrossEncoder for BertCrossEncoder {
    fn identity(&self) -> &RerankerIdentity {
        &self.identity
    }

    fn score(&self, query: &str, texts: &[&str]) -> Result<Vec<f32>> {
        if self.identity.labels != 1 {
            return Err(Error::InvalidParameter {
                name: "reranker",
                reason: format!(
                    "{} has {} outputs per pair (use predict); a re-ranker has one",
                    self.identity.fingerprint(),
                    self.identity.labels
                ),
            });
        }
        let pairs: Vec<(&str, &str)> = texts.iter().map(|t| (query, *t)).collect();
        Ok(self
            .predict(&pairs)?
            .into_iter()
            .map(|v| v.first().copied().unwrap_or(f32::NAN))
            .collect())
    }

    fn source(&self) -> Option<&Path> {
        Some(&self.source)
    }
}

impl std::fmt::Debug for BertCrossEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertCrossEncoder")
            .field("identity", &self.identity)
            .field("source", &self.source)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> BertCrossEncoder {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/cross_encoder_reference/tiny");
        BertCrossEncoder::load(dir).unwrap()
    }

    /// The last layer run for `[CLS]` alone gives the full forward pass's first rows.
    #[test]
    fn first_rows_equal_the_full_forward_pass() {
        let m = tiny();
        let pairs = [
            ("wing", "lift of a wing in a slipstream at low speed"),
            ("what is the boundary layer?", "it separates."),
            (
                "shock",
                "shock waves on swept wings at transonic speeds and their drag",
            ),
        ];
        let seqs: Vec<(Vec<u32>, Vec<u32>)> = pairs
            .iter()
            .map(|(q, d)| m.pair_tokens(q, d).unwrap())
            .collect();
        let len = seqs.iter().map(|s| s.0.len()).max().unwrap();
        let (mut ids, mut types, mut mask) = (Vec::new(), Vec::new(), Vec::new());
        for (s, t) in &seqs {
            let pad = len - s.len();
            ids.extend(s.iter().copied().chain(std::iter::repeat_n(0, pad)));
            types.extend(t.iter().copied().chain(std::iter::repeat_n(0, pad)));
            mask.extend(std::iter::repeat_n(1, s.len()).chain(std::iter::repeat_n(0, pad)));
        }
        let n = seqs.len();
        let full = m.model.forward(&ids, Some(&types), &mask, n, len).unwrap();
        let first = m
            .model
            .forward_first(&ids, Some(&types), &mask, n, len)
            .unwrap();
        let h = m.model.hidden();
        assert_eq!(first.len(), n * h);
        for b in 0..n {
            for c in 0..h {
                let (x, y) = (full[b * len * h + c], first[b * h + c]);
                assert!(
                    (x - y).abs() < 1e-5,
                    "sequence {b}, component {c}: {x} vs {y}"
                );
            }
        }
    }
}
