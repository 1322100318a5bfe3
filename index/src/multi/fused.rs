//! The fused MaxSim kernel: dot products and row maxima in registers, no score matrix.
//!
//! Written by hand because no crate does this: a GEMM library (`gemm`, used before) must
//! repack the document for every product and write every score out, and at ColBERT's shapes
//! (32 query tokens x ~100 document tokens x 128 dims) packing and the max pass cost as much
//! as the arithmetic (measured: 39-44% of that library's own large-product speed).
//!
//! Layout: the query is transposed once into a *panel* — blocks of `16 x QV` query rows,
//! each stored dimension-major (for dimension k, the block's rows' k-th components side by
//! side, zero-padded). Documents stay as stored (row-major tokens). For a tile of `TJ`
//! document tokens, each dimension k costs `QV` panel loads, `TJ` broadcasts of a document
//! component and `TJ x QV` fused multiply-adds into accumulators that hold the tile's dot
//! products with all the block's query rows; after the tile, a lane-wise max folds them into
//! the block's running row maxima. The only horizontal step is the final sum of row maxima.
//!
//! The kernel is plain Rust over fixed-size arrays; instantiated inside `target_feature`
//! functions, LLVM keeps the arrays in vector registers (AVX-512: one register per 16 lanes;
//! AVX2: two). Which instantiation runs is decided once per call from the CPU's features.
#![allow(unsafe_code)]

/// Query rows per lane group (an AVX-512 register of f32).
pub(super) const LANES: usize = 16;

/// A query transposed into blocks for the kernel; reusable across calls.
#[derive(Default, Debug)]
pub struct QueryPanel {
    /// `[block][k][row in block]`, rows zero-padded to the block size.
    pub(super) values: Vec<f32>,
    pub(super) rows: usize,
    pub(super) dims: usize,
    /// Lane groups per block (1 or 2): 32-row blocks for long queries (ColBERT's 32 tokens),
    /// 16-row blocks for short ones (less padding).
    groups: usize,
}

impl QueryPanel {
    /// Fills the panel from `q` (row-major, `dim` columns), using the first `dims` columns.
    pub fn fill(&mut self, q: &[f32], dim: usize, dims: usize) {
        let rows = q.len() / dim;
        let dims = dims.min(dim);
        self.groups = if rows > LANES { 2 } else { 1 };
        let block = LANES * self.groups;
        let blocks = rows.div_ceil(block);
        self.values.clear();
        self.values.resize(blocks * dims * block, 0.0);
        for (r, row) in q.chunks_exact(dim).enumerate() {
            let (b, i) = (r / block, r % block);
            let base = b * dims * block + i;
            for (k, &x) in row[..dims].iter().enumerate() {
                self.values[base + k * block] = x;
            }
        }
        self.rows = rows;
        self.dims = dims;
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
}

/// MaxSim of the panel's query against `doc` (row-major, `dim` columns; only the panel's
/// `dims` first columns are used). An empty query or document scores 0.
pub fn maxsim_panel(panel: &QueryPanel, doc: &[f32], dim: usize) -> f32 {
    if panel.rows == 0 || doc.len() < dim || panel.dims == 0 {
        return 0.0;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::avx512() {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { avx512(panel, doc, dim) };
        }
        if crate::cpu::avx2_fma() {
            // SAFETY: as above.
            return unsafe { avx2(panel, doc, dim) };
        }
    }
    portable(panel, doc, dim)
}

/// Asks the CPU to start loading `doc` (its first 32 KiB) into cache. Scans call it for the
/// next document while scoring the current one: documents are separate allocations, so the
/// hardware prefetcher cannot run ahead across them, and short documents (WordNet: 20 tokens)
/// otherwise wait on memory at every start (measured: 69 → 90 GFLOP/s streaming).
#[inline]
pub fn prefetch_document(doc: &[f32]) {
    crate::cpu::prefetch(doc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn avx512(panel: &QueryPanel, doc: &[f32], dim: usize) -> f32 {
    // 32 registers: tiles of 12 tokens x 2 groups (24 accumulators, 2 panel vectors, 1
    // broadcast; 12 beat 8 by 10-40% at 384 dimensions, where the panel outgrows L1) or 12 x 1.
    match panel.groups {
        2 => super::avx512::score::<2, 12>(panel, doc, dim),
        _ => super::avx512::score::<1, 12>(panel, doc, dim),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2(panel: &QueryPanel, doc: &[f32], dim: usize) -> f32 {
    // 16 registers, each half a lane group: 2 x 2 x 2 accumulators, or 4 x 1 x 2.
    match panel.groups {
        2 => score::<2, 2>(panel, doc, dim),
        _ => score::<1, 4>(panel, doc, dim),
    }
}

fn portable(panel: &QueryPanel, doc: &[f32], dim: usize) -> f32 {
    match panel.groups {
        2 => score::<2, 2>(panel, doc, dim),
        _ => score::<1, 4>(panel, doc, dim),
    }
}

#[inline(always)]
fn score<const QV: usize, const TJ: usize>(panel: &QueryPanel, doc: &[f32], dim: usize) -> f32 {
    let dims = panel.dims;
    let block = LANES * QV;
    let tokens = doc.len() / dim;
    // What `tile` relies on: every panel block holds dims x block values, every token row
    // at least dims components.
    assert!(
        dims <= dim && panel.values.len() == panel.values.len() / (dims * block) * dims * block
    );
    let mut total = 0.0f32;
    for (b, values) in panel.values.chunks_exact(dims * block).enumerate() {
        let mut best = [[f32::NEG_INFINITY; LANES]; QV];
        let mut j = 0;
        while j + TJ <= tokens {
            // SAFETY: `values` is one block (dims x block floats); tokens j..j+TJ lie in
            // `doc` (j + TJ <= tokens) and each has dim >= dims components.
            unsafe {
                tile::<QV, TJ>(
                    values.as_ptr(),
                    doc.as_ptr().add(j * dim),
                    dim,
                    dims,
                    &mut best,
                )
            };
            j += TJ;
        }
        while j < tokens {
            // SAFETY: as above, for the one token j < tokens.
            unsafe {
                tile::<QV, 1>(
                    values.as_ptr(),
                    doc.as_ptr().add(j * dim),
                    dim,
                    dims,
                    &mut best,
                )
            };
            j += 1;
        }
        let live = (panel.rows - b * block).min(block);
        total += best.iter().flatten().take(live).sum::<f32>();
    }
    total
}

/// Dot products of `TJ` document tokens with one block of query rows, folded into `best`.
/// Raw pointers: with slice indexing the bounds checks in the inner loop keep LLVM from
/// holding the accumulators in registers (measured: 30 vs 75 GFLOP/s).
///
/// # Safety
/// `values` points to `dims x 16·QV` floats; `tokens` to `TJ` rows of `dim >= dims` floats.
#[inline(always)]
unsafe fn tile<const QV: usize, const TJ: usize>(
    values: *const f32,
    tokens: *const f32,
    dim: usize,
    dims: usize,
    best: &mut [[f32; LANES]; QV],
) {
    let mut acc = [[[0.0f32; LANES]; QV]; TJ];
    let block = LANES * QV;
    for k in 0..dims {
        // SAFETY: k < dims, so the column k * block .. (k + 1) * block is in the block.
        let column = unsafe { values.add(k * block) };
        for (t, acc_t) in acc.iter_mut().enumerate() {
            // SAFETY: t < TJ rows and k < dims <= dim.
            let x = unsafe { *tokens.add(t * dim + k) };
            for (g, acc_tg) in acc_t.iter_mut().enumerate() {
                for (l, a) in acc_tg.iter_mut().enumerate() {
                    // SAFETY: g * LANES + l < block.
                    let q = unsafe { *column.add(g * LANES + l) };
                    *a = x.mul_add(q, *a);
                }
            }
        }
    }
    for acc_t in &acc {
        for (best_g, acc_tg) in best.iter_mut().zip(acc_t) {
            for (b, &a) in best_g.iter_mut().zip(acc_tg) {
                // Not f32::max: its NaN rule costs extra instructions per lane (and, in
                // this loop under AVX-512, LLVM 20 miscompiled it for 12-token tiles);
                // dot products of validated (finite) tokens are never NaN.
                if a > *b {
                    *b = a;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multi::maxsim::maxsim_naive;
    use proptest::prelude::*;

    fn instantiations(panel: &QueryPanel, d: &[f32], dim: usize) -> Vec<(&'static str, f32)> {
        #[allow(unused_mut)]
        let mut all = vec![("portable", portable(panel, d, dim))];
        #[cfg(target_arch = "x86_64")]
        {
            if crate::cpu::avx512() {
                // SAFETY: the CPU has the feature.
                all.push(("avx512", unsafe { avx512(panel, d, dim) }));
            }
            if crate::cpu::avx2_fma() {
                // SAFETY: the CPU has the features.
                all.push(("avx2", unsafe { avx2(panel, d, dim) }));
            }
        }
        all
    }

    proptest! {
        #[test]
        fn fused_kernel_matches_plain_loops(
            dim in 1usize..70, nq in 0usize..70, nd in 0usize..40, seed in 0u64..1000,
            cut in 0usize..70,
        ) {
            let mut rng = crate::rng::SplitMix64::new(seed);
            let mut m = |n: usize| -> Vec<f32> {
                (0..n * dim).map(|_| (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0).collect()
            };
            let (q, d) = (m(nq), m(nd));
            let mut panel = QueryPanel::default();
            panel.fill(&q, dim, dim);
            let got = f64::from(maxsim_panel(&panel, &d, dim));
            let want = maxsim_naive(&q, &d, dim);
            prop_assert!((got - want).abs() <= 1e-5 * (nq * dim + 1) as f64, "{} vs {}", got, want);
            // Every instantiation this CPU can run agrees (the dispatcher picks one).
            if nq > 0 && nd > 0 {
                for (name, other) in instantiations(&panel, &d, dim) {
                    let other = f64::from(other);
                    prop_assert!((other - want).abs() <= 1e-5 * (nq * dim) as f64, "{}: {} vs {}", name, other, want);
                }
            }
            // A prefix of the dimensions equals the kernel on truncated copies.
            let dims = cut.clamp(1, dim);
            let trunc = |x: &[f32]| -> Vec<f32> {
                x.chunks_exact(dim).flat_map(|t| &t[..dims]).copied().collect()
            };
            panel.fill(&q, dim, dims);
            let got = f64::from(maxsim_panel(&panel, &d, dim));
            let want = maxsim_naive(&trunc(&q), &trunc(&d), dims);
            prop_assert!((got - want).abs() <= 1e-5 * (nq * dims + 1) as f64);
        }
    }
}
