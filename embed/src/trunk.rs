//! The BERT encoder's forward pass for CPU inference (embeddings, then self-attention and
//! feed-forward layers), on `gemm` matrix products and fused row kernels.
//!
//! Why not candle-transformers' `BertModel`: it runs every operation as its own pass over
//! memory with its own thread hand-off (softmax as exp, sum and divide; GELU through a scalar
//! `erf`; bias, residual and layer norm separately), so matrix products were only ~25% of
//! its time and it ran at 0.5-0.8x PyTorch. Here the query/key/value projections are one
//! product, bias and residual are folded into the products' accumulators, each text's
//! attention runs head by head in cache, and `erf`/`exp` are vectorisable polynomials.
//! candle still loads the weights (safetensors) and carries the result out.
//!
//! Numerics follow the reference (HuggingFace BERT in f32): the golden test compares the
//! token rows with PyTorch's to 1e-4.

use crate::activation;
use crate::config::{BertConfig as Config, HiddenAct};
use candle_core::{DType, Tensor};
use rayon::prelude::*;
use std::collections::HashMap;

/// A linear layer, weight stored input-major (`w[i * outputs + o]`), so `x · w` reads rows.
pub(super) struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    outputs: usize,
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    /// Query, key and value projections side by side: outputs `[q | k | v]`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

/// The encoder's weights and shape.
pub(super) struct Trunk {
    hidden: usize,
    heads: usize,
    eps: f32,
    act: HiddenAct,
    vocab: usize,
    max_positions: usize,
    word: Vec<f32>,
    position: Vec<f32>,
    /// The token type embeddings, `type_vocab x hidden` (segment A = 0, B = 1).
    token_type: Vec<f32>,
    type_vocab: usize,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

/// Reads named tensors, as f32, checking their shapes.
pub(super) struct Weights<'a> {
    pub tensors: &'a HashMap<String, Tensor>,
    pub prefix: String,
}

impl Weights<'_> {
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let full = format!("{}{name}", self.prefix);
        let t = self
            .tensors
            .get(&full)
            .ok_or_else(|| format!("missing tensor {full}"))?;
        if t.dims() != shape {
            return Err(format!(
                "tensor {full} has shape {:?}, expected {shape:?}",
                t.dims()
            ));
        }
        t.to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("tensor {full}: {e}"))
    }

    /// A PyTorch linear layer (`weight` [out, in], `bias` [out]), transposed to input-major.
    pub fn linear(&self, name: &str, inputs: usize, outputs: usize) -> Result<Linear, String> {
        let w = self.get(&format!("{name}.weight"), &[outputs, inputs])?;
        let b = self.get(&format!("{name}.bias"), &[outputs])?;
        Ok(Linear {
            w: transpose(&w, outputs, inputs),
            b,
            outputs,
        })
    }

    fn norm(&self, name: &str, size: usize) -> Result<Norm, String> {
        Ok(Norm {
            weight: self.get(&format!("{name}.weight"), &[size])?,
            bias: self.get(&format!("{name}.bias"), &[size])?,
        })
    }
}

/// `rows x cols` row-major → `cols x rows` row-major.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

impl Trunk {
    /// The encoder from a checkpoint's tensors: names as HuggingFace saves BERT, optionally
    /// under `bert.` or the config's `model_type` (as candle-transformers accepts them).
    pub(super) fn load(
        config: &Config,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<Trunk, String> {
        Ok(Self::load_with_prefix(config, tensors)?.0)
    }

    /// [`Trunk::load`], also returning the prefix the tensors were found under (a head's
    /// pooler sits beside the encoder, under the same prefix).
    pub(super) fn load_with_prefix(
        config: &Config,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<(Trunk, String), String> {
        let (h, inter) = (config.hidden_size, config.intermediate_size);
        if config.num_attention_heads == 0 || !h.is_multiple_of(config.num_attention_heads) {
            return Err(format!(
                "hidden size {h} is not a multiple of {} attention heads",
                config.num_attention_heads
            ));
        }
        let mut prefixes = vec![String::new(), "bert.".to_string()];
        prefixes.extend(config.model_type.as_ref().map(|m| format!("{m}.")));
        let prefix = prefixes
            .into_iter()
            .find(|p| tensors.contains_key(&format!("{p}embeddings.word_embeddings.weight")))
            .ok_or("no embeddings.word_embeddings.weight tensor")?;
        let w = Weights {
            tensors,
            prefix: prefix.clone(),
        };
        let token_types = w.get(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, h],
        )?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let at = |name: &str| format!("encoder.layer.{i}.{name}");
            let [q, k, v] = ["query", "key", "value"]
                .map(|p| w.linear(&at(&format!("attention.self.{p}")), h, h));
            let (q, k, v) = (q?, k?, v?);
            // Side by side: row i of the fused weight is [q row i | k row i | v row i].
            let mut fused = Vec::with_capacity(h * 3 * h);
            for row in 0..h {
                for part in [&q, &k, &v] {
                    fused.extend_from_slice(&part.w[row * h..(row + 1) * h]);
                }
            }
            layers.push(Layer {
                qkv: Linear {
                    w: fused,
                    b: [q.b, k.b, v.b].concat(),
                    outputs: 3 * h,
                },
                attention_out: w.linear(&at("attention.output.dense"), h, h)?,
                attention_norm: w.norm(&at("attention.output.LayerNorm"), h)?,
                up: w.linear(&at("intermediate.dense"), h, inter)?,
                down: w.linear(&at("output.dense"), inter, h)?,
                output_norm: w.norm(&at("output.LayerNorm"), h)?,
            });
        }
        let trunk = Trunk {
            hidden: h,
            heads: config.num_attention_heads,
            eps: config.layer_norm_eps as f32,
            act: config.hidden_act,
            vocab: config.vocab_size,
            max_positions: config.max_position_embeddings,
            word: w.get("embeddings.word_embeddings.weight", &[config.vocab_size, h])?,
            position: w.get(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, h],
            )?,
            token_type: token_types,
            type_vocab: config.type_vocab_size,
            embedding_norm: w.norm("embeddings.LayerNorm", h)?,
            layers,
        };
        Ok((trunk, prefix))
    }

    /// The width of the hidden state (the token vectors' dimension).
    pub(super) fn hidden(&self) -> usize {
        self.hidden
    }

    /// The last hidden state (`batch x len x hidden`, row-major) of `batch` sequences of
    /// `len` token ids each (padded by the caller); `mask[b * len + j]` is 0 where key `j` of
    /// sequence `b` must not be attended to; `types` are the token type (segment) ids, all 0
    /// when `None`.
    pub(super) fn forward(
        &self,
        ids: &[u32],
        types: Option<&[u32]>,
        mask: &[u32],
        batch: usize,
        len: usize,
    ) -> Result<Vec<f32>, String> {
        self.run(ids, types, mask, batch, len, false)
    }

    /// Like [`Trunk::forward`], but only each sequence's first (`[CLS]`) row of the last
    /// hidden state (`batch x hidden`): a classifier reads nothing else, so the last layer
    /// attends from that row alone and runs its feed-forward part on it alone.
    pub(super) fn forward_first(
        &self,
        ids: &[u32],
        types: Option<&[u32]>,
        mask: &[u32],
        batch: usize,
        len: usize,
    ) -> Result<Vec<f32>, String> {
        self.run(ids, types, mask, batch, len, true)
    }

    fn run(
        &self,
        ids: &[u32],
        types: Option<&[u32]>,
        mask: &[u32],
        batch: usize,
        len: usize,
        first_only: bool,
    ) -> Result<Vec<f32>, String> {
        let h = self.hidden;
        let rows = batch * len;
        if ids.len() != rows || mask.len() != rows || types.is_some_and(|t| t.len() != rows) {
            return Err(format!(
                "{} ids / {} mask values for {batch} x {len}",
                ids.len(),
                mask.len()
            ));
        }
        if rows == 0 {
            return Ok(Vec::new());
        }
        if len > self.max_positions {
            return Err(format!(
                "{len} tokens exceed the model's {} positions",
                self.max_positions
            ));
        }
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= self.vocab) {
            return Err(format!(
                "token id {bad} outside the vocabulary of {}",
                self.vocab
            ));
        }
        if let Some(&bad) = types.and_then(|t| t.iter().find(|&&t| t as usize >= self.type_vocab)) {
            return Err(format!(
                "token type {bad} outside the model's {} types",
                self.type_vocab
            ));
        }
        // Embeddings: word + token type + position, then layer norm.
        let mut x = vec![0f32; rows * h];
        x.par_chunks_mut(h).enumerate().for_each(|(t, row)| {
            let id = ids[t] as usize;
            let word = &self.word[id * h..(id + 1) * h];
            let ty = types.map_or(0, |types| types[t] as usize);
            let ty = &self.token_type[ty * h..(ty + 1) * h];
            let pos = &self.position[(t % len) * h..(t % len + 1) * h];
            for (((o, &w), &ty), &p) in row.iter_mut().zip(word).zip(ty).zip(pos) {
                *o = (w + ty) + p;
            }
            layer_norm(row, &self.embedding_norm, self.eps);
        });
        let mut qkv = vec![0f32; rows * 3 * h];
        let mut context = vec![0f32; rows * h];
        let mut attended = vec![0f32; rows * h];
        let inter = self.layers.first().map_or(0, |l| l.up.outputs);
        let mut up = vec![0f32; rows * inter];
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            if first_only && i == last {
                return Ok(self.last_layer_first_rows(layer, &x, &mut qkv, mask, batch, len));
            }
            project(&x, None, &layer.qkv, &mut qkv);
            self.attention(&qkv, mask, batch, len, &mut context);
            // Output projection + bias + residual, then layer norm.
            project(&context, Some(&x), &layer.attention_out, &mut attended);
            normalise_rows(&mut attended, h, &layer.attention_norm, self.eps);
            project(&attended, None, &layer.up, &mut up);
            activate(&mut up, self.act);
            project(&up, Some(&attended), &layer.down, &mut x);
            normalise_rows(&mut x, h, &layer.output_norm, self.eps);
        }
        if first_only {
            // No layers: the embeddings' first rows.
            return Ok((0..batch)
                .flat_map(|b| x[b * len * h..b * len * h + h].iter().copied())
                .collect());
        }
        Ok(x)
    }

    /// The last layer for each sequence's first row only: keys and values of every row,
    /// attention from row 0, then output projection, feed-forward and norms on those rows.
    /// The same operations in the same order as the full layer, so row 0 comes out as
    /// [`Trunk::forward`] computes it (up to the matrix products' blocking).
    fn last_layer_first_rows(
        &self,
        layer: &Layer,
        x: &[f32],
        qkv: &mut [f32],
        mask: &[u32],
        batch: usize,
        len: usize,
    ) -> Vec<f32> {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        project(x, None, &layer.qkv, qkv);
        let qkv = &*qkv;
        let heads: Vec<Vec<f32>> = (0..batch * self.heads)
            .into_par_iter()
            .map(|task| {
                let (b, col) = (task / self.heads, (task % self.heads) * d);
                let seq = &qkv[b * len * 3 * h..(b + 1) * len * 3 * h];
                let q = &seq[col..col + d];
                let mut scores: Vec<f32> = (0..len)
                    .map(|j| {
                        let k = &seq[j * 3 * h + h + col..j * 3 * h + h + col + d];
                        q.iter().zip(k).map(|(a, b)| a * b).sum()
                    })
                    .collect();
                activation::softmax_rows(&mut scores, &mask[b * len..(b + 1) * len], scale);
                let mut out = vec![0f32; d];
                for (j, &p) in scores.iter().enumerate() {
                    let v = &seq[j * 3 * h + 2 * h + col..j * 3 * h + 2 * h + col + d];
                    for (o, &v) in out.iter_mut().zip(v) {
                        *o += p * v;
                    }
                }
                out
            })
            .collect();
        let mut context = vec![0f32; batch * h];
        for (task, out) in heads.iter().enumerate() {
            let (b, col) = (task / self.heads, (task % self.heads) * d);
            context[b * h + col..b * h + col + d].copy_from_slice(out);
        }
        let first: Vec<f32> = (0..batch)
            .flat_map(|b| x[b * len * h..b * len * h + h].iter().copied())
            .collect();
        let mut attended = vec![0f32; batch * h];
        project(&context, Some(&first), &layer.attention_out, &mut attended);
        normalise_rows(&mut attended, h, &layer.attention_norm, self.eps);
        let mut up = vec![0f32; batch * layer.up.outputs];
        project(&attended, None, &layer.up, &mut up);
        activate(&mut up, self.act);
        let mut out = vec![0f32; batch * h];
        project(&up, Some(&attended), &layer.down, &mut out);
        normalise_rows(&mut out, h, &layer.output_norm, self.eps);
        out
    }

    /// Scaled dot-product attention of every sequence and head; `context` gets each head's
    /// output in its columns. One task per (sequence, head), so a single long text still
    /// uses every core.
    fn attention(&self, qkv: &[f32], mask: &[u32], batch: usize, len: usize, context: &mut [f32]) {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        let outputs: Vec<Vec<f32>> = (0..batch * self.heads)
            .into_par_iter()
            .map(|task| {
                let (b, col) = (task / self.heads, (task % self.heads) * d);
                let qkv = &qkv[b * len * 3 * h..(b + 1) * len * 3 * h];
                let mut scores = vec![0f32; len * len];
                let mut out = vec![0f32; len * d];
                // scores = Q Kᵀ: Q rows at stride 3h, Kᵀ read from K's rows.
                // SAFETY: Q (len x d) starts at col, K at h + col, both with row stride 3h
                // inside `qkv` (len rows of 3h); scores is len x len.
                unsafe {
                    product(
                        (len, len, d),
                        (scores.as_mut_ptr(), len, false),
                        (qkv.as_ptr().add(col), 3 * h),
                        (qkv.as_ptr().add(h + col), 1, 3 * h),
                        gemm::Parallelism::None,
                    );
                }
                activation::softmax_rows(&mut scores, &mask[b * len..(b + 1) * len], scale);
                // out = P V.
                // SAFETY: V (len x d) starts at 2h + col with row stride 3h; out is len x d.
                unsafe {
                    product(
                        (len, d, len),
                        (out.as_mut_ptr(), d, false),
                        (scores.as_ptr(), len),
                        (qkv.as_ptr().add(2 * h + col), 3 * h, 1),
                        gemm::Parallelism::None,
                    );
                }
                out
            })
            .collect();
        for (task, out) in outputs.iter().enumerate() {
            let (b, col) = (task / self.heads, (task % self.heads) * d);
            for (i, row) in out.chunks_exact(d).enumerate() {
                let at = (b * len + i) * h + col;
                context[at..at + d].copy_from_slice(row);
            }
        }
    }
}

/// `out = x · W + b (+ residual)`, all rows at once on every core.
pub(super) fn project(x: &[f32], residual: Option<&[f32]>, linear: &Linear, out: &mut [f32]) {
    let n = linear.outputs;
    let inputs = linear.w.len() / n;
    let rows = x.len() / inputs;
    let out = &mut out[..rows * n];
    out.par_chunks_mut(n)
        .enumerate()
        .for_each(|(r, row)| match residual {
            Some(res) => {
                for ((o, &b), &x) in row.iter_mut().zip(&linear.b).zip(&res[r * n..(r + 1) * n]) {
                    *o = x + b;
                }
            }
            None => row.copy_from_slice(&linear.b),
        });
    if rows == 0 {
        return;
    }
    // SAFETY: x is rows x inputs, w is inputs x n, out is rows x n, all row-major and
    // exactly that long (checked by the slicing above); out is initialised (read_dst).
    unsafe {
        product(
            (rows, n, inputs),
            (out.as_mut_ptr(), n, true),
            (x.as_ptr(), inputs),
            (linear.w.as_ptr(), n, 1),
            gemm::Parallelism::Rayon(rayon::current_num_threads()),
        );
    }
}

/// `dst (+)= lhs · rhs` for an `m x n` destination and inner size `k` (`gemm` with unit
/// scaling): `dst` and `lhs` are row-major with the given row strides (`read_dst`: add to
/// what `dst` holds), `rhs` element (i, j) is at `i * row_stride + j * col_stride`.
///
/// # Safety
/// Every element those shapes and strides address must lie inside its allocation, and
/// `dst`'s elements must not overlap the inputs.
unsafe fn product(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs, read_dst): (*mut f32, usize, bool),
    (lhs, lhs_rs): (*const f32, usize),
    (rhs, rhs_rs, rhs_cs): (*const f32, usize, usize),
    parallelism: gemm::Parallelism,
) {
    // SAFETY: the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            read_dst,
            lhs,
            1,
            lhs_rs as isize,
            rhs,
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn normalise_rows(x: &mut [f32], h: usize, norm: &Norm, eps: f32) {
    x.par_chunks_mut(h)
        .for_each(|row| layer_norm(row, norm, eps));
}

/// LayerNorm of one row: (x - mean) / sqrt(var + eps) * weight + bias (biased variance).
fn layer_norm(row: &mut [f32], norm: &Norm, eps: f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, &w), &b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
        *v = (*v - mean) * inv * w + b;
    }
}

fn activate(x: &mut [f32], act: HiddenAct) {
    x.par_chunks_mut(4096).for_each(|chunk| match act {
        HiddenAct::Gelu => activation::gelu_erf(chunk),
        HiddenAct::GeluApproximate => activation::gelu_tanh(chunk),
        HiddenAct::Relu => chunk.iter_mut().for_each(|v| *v = v.max(0.0)),
    });
}
