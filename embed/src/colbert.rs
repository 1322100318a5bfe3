//! [`ColbertEmbedder`]: ColBERT-style late-interaction encoders (BERT trunk + linear head)
//! on candle, producing one L2-normalised vector per token.

use crate::bert::{batch_size, inference, l2_normalize_last, load_trunk, run_trunk};
use crate::colbert_config::{self as conventions, Conventions};
use crate::config::BertConfig as Config;
use crate::folder::{self, ModelFolder, read_with_sha256};
use crate::trunk::Trunk;
use candle_core::{DType, Device, IndexOp, Tensor};
use quiver::Embedder;
use quiver::{Error, Result};
use quiver::{LateInteraction, ModelIdentity, Pooling};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// Options for loading a ColBERT checkpoint; each `None` means "as the checkpoint says,
/// else the default".
///
/// ## Defaults (colbert-ai's)
/// - `projection`: the checkpoint's own head (`linear.weight` in `model.safetensors`, or a
///   PyLate Dense module); a plain BERT folder needs one given here (a safetensors file with
///   `linear.weight` [out, in] and optionally `linear.bias`).
/// - `query_length` 32 tokens (`[CLS] [unused0] text… [SEP]`, padded with `[MASK]`),
///   `document_length` 180 tokens.
/// - `attend_to_expansion`: the checkpoint's `attend_to_mask_tokens` /
///   `attend_to_expansion_tokens`, else `true` (Jina-ColBERT-v2's finding; colbertv2.0
///   checkpoints say `false`).
/// - `batch_size`: 16 texts per forward pass, sorted by length.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColbertOptions {
    pub projection: Option<PathBuf>,
    pub query_length: Option<usize>,
    pub document_length: Option<usize>,
    pub attend_to_expansion: Option<bool>,
    pub batch_size: Option<usize>,
}

/// Python's `string.punctuation`: ColBERT drops document rows of these one-character tokens.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// A ColBERT encoder: queries and documents become matrices of unit token vectors, scored
/// by MaxSim in a multi-vector collection.
pub struct ColbertEmbedder {
    model: Trunk,
    /// No special tokens, padding or truncation: the layout is built here.
    tokenizer: Tokenizer,
    /// The head, transposed to [in, out], and its bias.
    projection: Tensor,
    bias: Option<Tensor>,
    identity: ModelIdentity,
    /// The same as `identity.late_interaction`, unwrapped.
    conventions: LateInteraction,
    source: PathBuf,
    head: Option<PathBuf>,
    specials: Specials,
    skip: HashSet<u32>,
    batch_size: usize,
}

#[derive(Clone, Copy, Debug)]
struct Specials {
    cls: u32,
    sep: u32,
    mask: u32,
    pad: u32,
}

/// One sequence ready for the trunk.
struct Sequence {
    ids: Vec<u32>,
    /// Attention per position (0 for `[MASK]` expansion when it is not attended).
    attention: Vec<u32>,
}

impl ColbertEmbedder {
    pub fn load(path: impl AsRef<Path>) -> Result<ColbertEmbedder> {
        Self::load_with(path, &ColbertOptions::default())
    }

    pub fn load_with(path: impl AsRef<Path>, options: &ColbertOptions) -> Result<ColbertEmbedder> {
        crate::register();
        let folder = ModelFolder::inspect_trunk(path)?;
        let bad = |file: PathBuf, reason: String| Error::InvalidModel { path: file, reason };
        let found = Conventions::read(&folder.path)?;
        let config: Config = serde_json::from_value(folder.config.clone()).map_err(|e| {
            bad(
                folder.file(folder::CONFIG),
                format!("not a BERT configuration this build can run: {e}"),
            )
        })?;
        let positions = config.max_position_embeddings;
        let length = |name: &'static str, given: Option<usize>, found: Option<usize>, default| {
            let n = given.or(found).unwrap_or(default);
            if n < 4 || n > positions {
                return Err(Error::InvalidParameter {
                    name,
                    reason: format!("{n} is outside 4..={positions} (the model's position limit)"),
                });
            }
            Ok(n)
        };
        let query_length = length(
            "query_length",
            options.query_length,
            found.query_length,
            conventions::DEFAULT_QUERY_LENGTH,
        )?;
        let document_length = length(
            "document_length",
            options.document_length,
            found.document_length,
            conventions::DEFAULT_DOCUMENT_LENGTH,
        )?;
        let batch_size = batch_size(options.batch_size)?;

        let tokenizer_file = folder.file(folder::TOKENIZER);
        let mut tokenizer = Tokenizer::from_file(&tokenizer_file)
            .map_err(|e| bad(tokenizer_file.clone(), e.to_string()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| bad(tokenizer_file.clone(), e.to_string()))?;
        let token = |t: &str| {
            tokenizer.token_to_id(t).ok_or_else(|| {
                bad(
                    tokenizer_file.clone(),
                    format!(
                        "the vocabulary has no {t:?} token (markers must be existing tokens; \
                         Quiver does not add new ones)"
                    ),
                )
            })
        };
        let specials = Specials {
            cls: token("[CLS]")?,
            sep: token("[SEP]")?,
            mask: token("[MASK]")?,
            pad: config.pad_token_id as u32,
        };
        let query_marker = token(found.query_marker())?;
        let document_marker = token(found.document_marker())?;
        let skip_punctuation = found.skip_punctuation.unwrap_or(true);
        let skip: HashSet<u32> = if skip_punctuation {
            PUNCTUATION
                .chars()
                .filter_map(|c| tokenizer.token_to_id(&c.to_string()))
                .collect()
        } else {
            HashSet::new()
        };

        let (weights, sha256) = folder.read_weights()?;
        let mut tensors = candle_core::safetensors::load_buffer(&weights, &Device::Cpu)
            .map_err(|e| bad(folder.file(folder::WEIGHTS), e.to_string()))?;
        drop(weights);
        let head_file = options.projection.clone().or(found.dense_head.clone());
        let (projection, bias, projection_sha256) = match &head_file {
            Some(file) => {
                let (bytes, sha) = read_with_sha256(file)?;
                let mut head = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
                    .map_err(|e| bad(file.clone(), e.to_string()))?;
                let (w, b) = take_head(&mut head, file, folder.hidden_size)?;
                (w, b, sha)
            }
            None if tensors.contains_key("linear.weight") => {
                let (w, b) = take_head(
                    &mut tensors,
                    &folder.file(folder::WEIGHTS),
                    folder.hidden_size,
                )?;
                (w, b, sha256.clone())
            }
            None => {
                return Err(bad(
                    folder.path.clone(),
                    "no ColBERT projection head: neither linear.weight in model.safetensors nor \
                     a Dense module; give one (ColbertOptions::projection, CLI --projection)"
                        .into(),
                ));
            }
        };
        let dim = projection.dim(1).map_err(inference)?;
        let model = load_trunk(&folder, &config, tensors)?;
        let conventions = LateInteraction {
            projection_sha256,
            query_marker,
            document_marker,
            query_length,
            document_length,
            attend_to_expansion: options
                .attend_to_expansion
                .or(found.attend_to_expansion)
                .unwrap_or(conventions::DEFAULT_ATTEND_TO_EXPANSION),
            skip_punctuation,
        };
        let identity = ModelIdentity {
            name: folder.name.clone(),
            dim,
            pooling: Pooling::Tokens,
            normalize: true,
            max_tokens: document_length,
            weights_sha256: sha256,
            query_prefix: String::new(),
            document_prefix: String::new(),
            late_interaction: Some(conventions.clone()),
        };
        Ok(ColbertEmbedder {
            model,
            tokenizer,
            projection,
            bias,
            identity,
            conventions,
            source: folder.path,
            head: options.projection.clone(),
            specials,
            skip,
            batch_size,
        })
    }

    fn conventions(&self) -> &LateInteraction {
        &self.conventions
    }

    fn pieces(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.tokenizer.encode(text, false).map_err(inference)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Token ids of a query as the model sees them: `[CLS] [Q] pieces… [SEP]`, cut or padded
    /// with `[MASK]` to exactly `query_length`.
    pub fn query_token_ids(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.query_sequence(text)?.ids)
    }

    /// Token ids of a document as the model sees them: `[CLS] [D] pieces… [SEP]`, at most
    /// `document_length`.
    pub fn document_token_ids(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.document_sequence(text)?.ids)
    }

    fn query_sequence(&self, text: &str) -> Result<Sequence> {
        let c = self.conventions();
        let s = self.specials;
        let mut ids = vec![s.cls, c.query_marker];
        let pieces = self.pieces(text)?;
        ids.extend(pieces.iter().take(c.query_length - 3));
        ids.push(s.sep);
        let real = ids.len();
        ids.resize(c.query_length, s.mask);
        let expansion = u32::from(c.attend_to_expansion);
        let attention = (0..ids.len())
            .map(|i| if i < real { 1 } else { expansion })
            .collect();
        Ok(Sequence { ids, attention })
    }

    fn document_sequence(&self, text: &str) -> Result<Sequence> {
        let c = self.conventions();
        let s = self.specials;
        let mut ids = vec![s.cls, c.document_marker];
        let pieces = self.pieces(text)?;
        ids.extend(pieces.iter().take(c.document_length - 3));
        ids.push(s.sep);
        let attention = vec![1; ids.len()];
        Ok(Sequence { ids, attention })
    }

    /// Runs trunk and head on sequences (padded here); returns (batch, len, dim) unit rows.
    fn encode(&self, seqs: &[&Sequence]) -> Result<Tensor> {
        let seqs: Vec<(&[u32], Option<&[u32]>)> = seqs
            .iter()
            .map(|s| (&s.ids[..], Some(&s.attention[..])))
            .collect();
        let run = || -> candle_core::Result<Tensor> {
            let (hidden, _) = run_trunk(&self.model, self.specials.pad, &seqs)?;
            let (b, l, h) = hidden.dims3()?;
            let mut out = hidden.reshape((b * l, h))?.matmul(&self.projection)?;
            if let Some(bias) = &self.bias {
                out = out.broadcast_add(bias)?;
            }
            l2_normalize_last(&out.reshape((b, l, self.identity.dim))?)
        };
        run().map_err(inference)
    }

    /// Encodes sequences in batches of similar length; `keep(sequence, row)` selects the
    /// output rows.
    fn matrices(
        &self,
        seqs: &[Sequence],
        keep: impl Fn(&Sequence, usize) -> bool,
    ) -> Result<Vec<Vec<Vec<f32>>>> {
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].ids.len());
        let mut out = vec![Vec::new(); seqs.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<&Sequence> = chunk.iter().map(|&i| &seqs[i]).collect();
            let encoded = self.encode(&batch)?;
            for (b, &i) in chunk.iter().enumerate() {
                let rows: Vec<Vec<f32>> =
                    encoded.i(b).and_then(|t| t.to_vec2()).map_err(inference)?;
                out[i] = rows
                    .into_iter()
                    .take(seqs[i].ids.len())
                    .enumerate()
                    .filter(|(r, _)| keep(&seqs[i], *r))
                    .map(|(_, row)| row)
                    .collect();
            }
        }
        Ok(out)
    }

    /// Token matrices of many queries (all `query_length` rows each), batched.
    pub fn embed_queries_tokens(&self, texts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>> {
        let seqs = texts
            .iter()
            .map(|t| {
                quiver::embed::check_text(None, t)?;
                self.query_sequence(t)
            })
            .collect::<Result<Vec<_>>>()?;
        self.matrices(&seqs, |_, _| true)
    }
}

/// Removes `linear.weight` [out, in] (and `linear.bias`) from a tensor map; returns the
/// weight transposed to [in, out], contiguous, in f32.
fn take_head(
    tensors: &mut HashMap<String, Tensor>,
    file: &Path,
    hidden: usize,
) -> Result<(Tensor, Option<Tensor>)> {
    let bad = |reason: String| Error::InvalidModel {
        path: file.to_path_buf(),
        reason,
    };
    let weight = tensors
        .remove("linear.weight")
        .ok_or_else(|| bad("has no linear.weight tensor".into()))?;
    let (_out, inner) = weight.dims2().map_err(|_| {
        bad(format!(
            "linear.weight has shape {:?}, not [out, in]",
            weight.dims()
        ))
    })?;
    if inner != hidden {
        return Err(bad(format!(
            "linear.weight takes {inner} inputs, the trunk outputs {hidden}"
        )));
    }
    let weight = weight
        .to_dtype(DType::F32)
        .and_then(|w| w.t())
        .and_then(|w| w.contiguous())
        .map_err(inference)?;
    let bias = tensors
        .remove("linear.bias")
        .map(|b| b.to_dtype(DType::F32))
        .transpose()
        .map_err(inference)?;
    Ok((weight, bias))
}

impl Embedder for ColbertEmbedder {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn embed_documents(&self, _texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Err(single_vector_refused(&self.identity))
    }

    fn embed_query(&self, _text: &str) -> Result<Vec<f32>> {
        Err(single_vector_refused(&self.identity))
    }

    fn source(&self) -> Option<&Path> {
        Some(&self.source)
    }

    fn head_source(&self) -> Option<&Path> {
        self.head.as_deref()
    }

    fn token_outputs(&self) -> bool {
        true
    }

    fn embed_document_tokens(&self, texts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>> {
        let seqs = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                quiver::embed::check_text(Some(i), t)?;
                self.document_sequence(t)
            })
            .collect::<Result<Vec<_>>>()?;
        self.matrices(&seqs, |s, row| !self.skip.contains(&s.ids[row]))
    }

    fn embed_query_tokens(&self, text: &str) -> Result<Vec<Vec<f32>>> {
        self.embed_queries_tokens(&[text])?
            .pop()
            .ok_or_else(|| inference("the model returned no matrix"))
    }
}

fn single_vector_refused(identity: &ModelIdentity) -> Error {
    Error::InvalidParameter {
        name: "model",
        reason: format!(
            "{} is a late-interaction model: it turns texts into token matrices for a \
             multi-vector collection, not into single vectors",
            identity.fingerprint()
        ),
    }
}

impl std::fmt::Debug for ColbertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColbertEmbedder")
            .field("identity", &self.identity)
            .field("source", &self.source)
            .finish()
    }
}
