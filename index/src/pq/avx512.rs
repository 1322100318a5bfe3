//! AVX-512 build of PQ encoding, with intrinsics: the auto-vectoriser leaves the running
//! minimum over 256 codewords scalar (`f32::min` is not associative under NaN). Bit-identical
//! to `ProductQuantizer::encode_portable` for finite inputs (their distances are never NaN);
//! `pq`'s tests compare the two.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

const LANES: usize = 16;

/// Writes the code of `v`: per sub-space `j`, the first trained codeword (`c < ksub`) at the
/// smallest squared distance. `transposed[(j * D + t) * 256 + c]` is component `t` of
/// codeword `c` of sub-space `j`.
#[target_feature(enable = "avx512f")]
pub(crate) fn encode<const D: usize>(v: &[f32], transposed: &[f32], ksub: usize, code: &mut [u8]) {
    const KSUB: usize = 256;
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let step = _mm512_set1_epi32(LANES as i32);
    for (j, out) in code.iter_mut().enumerate() {
        let mut x = [_mm512_setzero_ps(); D];
        for t in 0..D {
            x[t] = _mm512_set1_ps(v[j * D + t]);
        }
        let base = &transposed[j * D * KSUB..(j + 1) * D * KSUB];
        let mut best = _mm512_set1_ps(f32::INFINITY);
        // A lane whose distances are all infinite keeps its first codeword.
        let mut at = iota;
        let mut idx = iota;
        for c0 in (0..ksub).step_by(LANES) {
            let valid: __mmask16 = if ksub - c0 >= LANES {
                0xFFFF
            } else {
                (1u16 << (ksub - c0)) - 1
            };
            let mut acc = _mm512_setzero_ps();
            for (t, &xt) in x.iter().enumerate() {
                // SAFETY: c0 + 16 <= 256, inside sub-space j's row t of the codebook.
                let w = unsafe { _mm512_loadu_ps(base.as_ptr().add(t * KSUB + c0)) };
                let diff = _mm512_sub_ps(xt, w);
                acc = _mm512_add_ps(acc, _mm512_mul_ps(diff, diff));
            }
            let better = _mm512_mask_cmp_ps_mask::<_CMP_LT_OQ>(valid, acc, best);
            best = _mm512_mask_mov_ps(best, better, acc);
            at = _mm512_mask_mov_epi32(at, better, idx);
            idx = _mm512_add_epi32(idx, step);
        }
        // The smallest distance, and among equal ones the lowest codeword: the first minimum.
        let min = _mm512_reduce_min_ps(best);
        let ties = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(best, _mm512_set1_ps(min));
        *out = _mm512_mask_reduce_min_epu32(ties, at) as u8;
    }
}
