//! AVX2 build of [`super::accumulate`]: one 32-byte load holds two sub-quantizers' nibbles for
//! 32 rows, and `vpshufb` looks all of them up in the two 16-byte tables at once (the shuffle
//! works within each 128-bit half, which is where each sub-quantizer's table sits). Equal,
//! integer for integer, to `accumulate_portable`; the module's tests compare the two.

#![allow(unsafe_code)]

use super::BLOCK;
use std::arch::x86_64::*;

/// `packed`: whole blocks of `mp` (even) sub-quantizers; `table`: `mp * 16` bytes; `out`:
/// `BLOCK` sums per block, in row order.
#[target_feature(enable = "avx2")]
pub(super) fn accumulate(packed: &[u8], mp: usize, table: &[u8], out: &mut [u16]) {
    let block_bytes = mp * 16;
    assert!(table.len() >= block_bytes && out.len() >= packed.len() / block_bytes * BLOCK);
    let nibble = _mm256_set1_epi8(0x0F);
    let low_byte = _mm256_set1_epi16(0x00FF);
    for (block, sums) in packed
        .chunks_exact(block_bytes)
        .zip(out.chunks_exact_mut(BLOCK))
    {
        // Per u16 lane k: [0] row 2k, [1] row 2k + 1, [2] row 16 + 2k, [3] row 17 + 2k; the
        // low 128 bits gather even sub-quantizers, the high 128 bits odd ones.
        let mut acc = [_mm256_setzero_si256(); 4];
        for p in 0..mp / 2 {
            // SAFETY: p * 32 + 32 <= block_bytes, inside `block` and `table` (asserted).
            let (codes, lut) = unsafe {
                (
                    _mm256_loadu_si256(block.as_ptr().add(p * 32).cast()),
                    _mm256_loadu_si256(table.as_ptr().add(p * 32).cast()),
                )
            };
            let low = _mm256_shuffle_epi8(lut, _mm256_and_si256(codes, nibble));
            let high =
                _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16::<4>(codes), nibble));
            acc[0] = _mm256_add_epi16(acc[0], _mm256_and_si256(low, low_byte));
            acc[1] = _mm256_add_epi16(acc[1], _mm256_srli_epi16::<8>(low));
            acc[2] = _mm256_add_epi16(acc[2], _mm256_and_si256(high, low_byte));
            acc[3] = _mm256_add_epi16(acc[3], _mm256_srli_epi16::<8>(high));
        }
        let fold =
            |a: __m256i| _mm_add_epi16(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
        let (even, odd) = (fold(acc[0]), fold(acc[1]));
        let (even_hi, odd_hi) = (fold(acc[2]), fold(acc[3]));
        // Interleave even and odd rows back into row order.
        let rows = [
            _mm_unpacklo_epi16(even, odd),
            _mm_unpackhi_epi16(even, odd),
            _mm_unpacklo_epi16(even_hi, odd_hi),
            _mm_unpackhi_epi16(even_hi, odd_hi),
        ];
        for (i, r) in rows.into_iter().enumerate() {
            // SAFETY: `sums` holds 32 u16; each store writes 8 of them at i * 8.
            unsafe { _mm_storeu_si128(sums.as_mut_ptr().add(i * 8).cast(), r) };
        }
    }
}

/// [`super::select_below`] compiled for AVX2 (the portable loop, vectorised by the compiler;
/// no FMA, so estimates round exactly as in the portable build).
#[target_feature(enable = "avx2")]
pub(super) fn select_below(
    sums: &[u16],
    terms: &[f32],
    n: usize,
    scale: (f32, f32),
    threshold: f32,
    out: &mut Vec<u32>,
) {
    super::select_below_portable(sums, terms, n, scale, threshold, out)
}
