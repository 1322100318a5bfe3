//! The fused MaxSim kernel's AVX-512 form, in intrinsics: the plain-Rust kernel in `fused`
//! vectorises well for some tile shapes and badly for others (LLVM's SLP vectoriser turned the
//! 8-token x 32-row tile into scalar code), so the shapes that run on AVX-512 machines are
//! spelled out. Same algorithm, same layout; see `fused` for both.
#![allow(unsafe_code)]

use super::fused::{LANES, QueryPanel};
use std::arch::x86_64::{
    __m512, _MM_HINT_T0, _mm_prefetch, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_max_ps,
    _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

/// MaxSim of the panel against `doc` with tiles of `TJ` tokens x `QV` lane groups.
#[target_feature(enable = "avx512f")]
pub(super) fn score<const QV: usize, const TJ: usize>(
    panel: &QueryPanel,
    doc: &[f32],
    dim: usize,
) -> f32 {
    let dims = panel.dims;
    let block = LANES * QV;
    let tokens = doc.len() / dim;
    assert!(dims <= dim && panel.values.len().is_multiple_of(dims * block));
    let mut total = 0.0f32;
    for (b, values) in panel.values.chunks_exact(dims * block).enumerate() {
        let mut best = [_mm512_set1_ps(f32::NEG_INFINITY); QV];
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
        // Short documents and tails: 4-token tiles before single tokens.
        while j + 4 <= tokens {
            // SAFETY: as above, for tokens j..j+4.
            unsafe {
                tile::<QV, 4>(
                    values.as_ptr(),
                    doc.as_ptr().add(j * dim),
                    dim,
                    dims,
                    &mut best,
                )
            };
            j += 4;
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
        let mut lanes = [[0.0f32; LANES]; QV];
        for (out, v) in lanes.iter_mut().zip(best) {
            // SAFETY: `out` holds LANES floats.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), v) };
        }
        let live = (panel.rows - b * block).min(block);
        total += lanes.iter().flatten().take(live).sum::<f32>();
    }
    total
}

/// # Safety
/// `values` points to `dims x 16·QV` floats; `tokens` to `TJ` rows of `dim >= dims` floats.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tile<const QV: usize, const TJ: usize>(
    values: *const f32,
    tokens: *const f32,
    dim: usize,
    dims: usize,
    best: &mut [__m512; QV],
) {
    let mut acc = [[_mm512_setzero_ps(); QV]; TJ];
    let block = LANES * QV;
    // One pointer per token row, advanced with k: no address chain between the loads.
    // SAFETY: t < TJ rows of `tokens`.
    let rows: [*const f32; TJ] = std::array::from_fn(|t| unsafe { tokens.add(t * dim) });
    let mut column = values;
    // The next tile's tokens (contiguous after this tile's), fetched while this one computes:
    // the scan streams documents from memory, and the hardware prefetcher does not run ahead
    // of 8–12 interleaved row streams (measured: 48 → 60 GFLOP/s on a 120 MB scan).
    let next = tokens.wrapping_add(TJ * dim);
    for k in 0..dims {
        _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(k * TJ).cast());
        let mut q = [_mm512_setzero_ps(); QV];
        for (g, qg) in q.iter_mut().enumerate() {
            // SAFETY: column k of the block holds `block` floats from `column`.
            *qg = unsafe { _mm512_loadu_ps(column.add(g * LANES)) };
        }
        for (acc_t, row) in acc.iter_mut().zip(&rows) {
            // SAFETY: k < dims <= dim components of this row.
            let x = _mm512_set1_ps(unsafe { *row.add(k) });
            for (a, &qg) in acc_t.iter_mut().zip(&q) {
                *a = _mm512_fmadd_ps(x, qg, *a);
            }
        }
        // SAFETY: stays within (or one past) the block's dims x block floats.
        column = unsafe { column.add(block) };
    }
    for acc_t in &acc {
        for (b, &a) in best.iter_mut().zip(acc_t) {
            *b = _mm512_max_ps(*b, a);
        }
    }
}
