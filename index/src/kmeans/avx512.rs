//! AVX-512 kernels for k-means on short vectors (PQ sub-vectors of 1-16 components), written
//! with intrinsics because the auto-vectoriser scalarised the running arg-min of the portable
//! loops (one `cmov` per lane). Each kernel performs the portable version's operations in the
//! same order with the same roundings (separate multiply and add, no fused multiply-add), so
//! results are bit-identical to it; `kmeans`'s tests compare them bit for bit.

#![allow(unsafe_code)]

use crate::kmeans::finish_small;
use std::arch::x86_64::*;

const LANES: usize = 16;

/// Centroids `0..full` (a multiple of 16) in blocks of sixteen, component-major inside a
/// block: a block is `D` vectors, one per component.
fn blocks<const D: usize>(centroids: &[f32], full: usize) -> Vec<[[f32; LANES]; D]> {
    let mut blocks = vec![[[0f32; LANES]; D]; full / LANES];
    for (c, cent) in centroids.chunks_exact(D).take(full).enumerate() {
        for (t, &x) in cent.iter().enumerate() {
            blocks[c / LANES][t][c % LANES] = x;
        }
    }
    blocks
}

/// Nearest centroid of every point, as `kmeans::assign_small_portable` computes it, for
/// `D`-component points.
#[target_feature(enable = "avx512f")]
pub(crate) fn assign_small<const D: usize>(
    data: &[f32],
    centroids: &[f32],
    c_sq: &[f32],
) -> Vec<(u32, f32)> {
    let k = c_sq.len();
    let full = k - k % LANES;
    let blocks = blocks::<D>(centroids, full);
    let mut out = Vec::with_capacity(data.len() / D);
    // Four points at a time: each point's running minimum is a chain of compare and masked
    // moves (~5 cycles a block); four independent chains keep both vector units busy.
    let mut groups = data.chunks_exact(4 * D);
    for group in &mut groups {
        let found = points::<D, 4>(group, &blocks, c_sq);
        for (p, f) in group.chunks_exact(D).zip(found) {
            out.push(finish_small(p, f, full, centroids, c_sq));
        }
    }
    for p in groups.remainder().chunks_exact(D) {
        let [f] = points::<D, 1>(p, &blocks, c_sq);
        out.push(finish_small(p, f, full, centroids, c_sq));
    }
    out
}

/// The nearest of the blocked centroids for `P` points: (centroid, `|c|^2 - 2 x.c`), the
/// smallest value and, among equal ones, the lowest centroid; `(u32::MAX, inf)` when there
/// are no blocks.
#[target_feature(enable = "avx512f")]
#[inline]
fn points<const D: usize, const P: usize>(
    points: &[f32],
    blocks: &[[[f32; LANES]; D]],
    c_sq: &[f32],
) -> [(u32, f32); P] {
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let step = _mm512_set1_epi32(LANES as i32);
    let mut m2x = [[_mm512_setzero_ps(); D]; P];
    for p in 0..P {
        for t in 0..D {
            m2x[p][t] = _mm512_set1_ps(-2.0 * points[p * D + t]);
        }
    }
    let mut best = [_mm512_set1_ps(f32::INFINITY); P];
    let mut at = [_mm512_setzero_si512(); P];
    let mut idx = iota;
    for (block, sq) in blocks.iter().zip(c_sq.chunks_exact(LANES)) {
        // SAFETY: `sq` and each `block[t]` hold exactly 16 f32.
        let sq = unsafe { _mm512_loadu_ps(sq.as_ptr()) };
        let mut w = [_mm512_setzero_ps(); D];
        for t in 0..D {
            // SAFETY: as above.
            w[t] = unsafe { _mm512_loadu_ps(block[t].as_ptr()) };
        }
        for p in 0..P {
            let mut acc = sq;
            for t in 0..D {
                acc = _mm512_add_ps(acc, _mm512_mul_ps(m2x[p][t], w[t]));
            }
            let better = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(acc, best[p]);
            best[p] = _mm512_mask_mov_ps(best[p], better, acc);
            at[p] = _mm512_mask_mov_epi32(at[p], better, idx);
        }
        idx = _mm512_add_epi32(idx, step);
    }
    let mut found = [(u32::MAX, f32::INFINITY); P];
    if blocks.is_empty() {
        return found;
    }
    for p in 0..P {
        // Lanes hold the first minimum of their centroids; the smallest value wins, ties to
        // the lower centroid (the first minimum overall). Lanes are never NaN (a NaN never
        // compares lower), so the minimum is well defined.
        let min = _mm512_reduce_min_ps(best[p]);
        let ties = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(best[p], _mm512_set1_ps(min));
        found[p] = (_mm512_mask_reduce_min_epu32(ties, at[p]), min);
    }
    found
}

/// `kmeans::nearer_portable` over a component-major copy of the sample (`columns[t][i]` is
/// component `t` of point `i`): sixteen points per step instead of one.
#[target_feature(enable = "avx512f")]
pub(crate) fn nearer<const D: usize>(columns: &[Vec<f32>], centre: &[f32], d2: &mut [f64]) -> f64 {
    let n = d2.len();
    let full = n - n % LANES;
    let mut c = [_mm512_setzero_ps(); D];
    for t in 0..D {
        c[t] = _mm512_set1_ps(centre[t]);
    }
    let mut sums = _mm512_setzero_pd();
    for i in (0..full).step_by(LANES) {
        let mut l = _mm512_setzero_ps();
        for t in 0..D {
            // SAFETY: every column has n >= i + 16 values.
            let x = unsafe { _mm512_loadu_ps(columns[t].as_ptr().add(i)) };
            let diff = _mm512_sub_ps(x, c[t]);
            l = _mm512_add_ps(l, _mm512_mul_ps(diff, diff));
        }
        let halves = [
            _mm512_cvtps_pd(_mm512_castps512_ps256(l)),
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                _mm512_castps_pd(l),
            ))),
        ];
        for (h, l) in halves.into_iter().enumerate() {
            // SAFETY: d2 has n >= i + 16 values.
            let at = unsafe { d2.as_mut_ptr().add(i + h * 8) };
            // SAFETY: as above.
            let d = unsafe { _mm512_loadu_pd(at) };
            // `f64::min` keeps the old distance when the new one is NaN; so does `min_pd`
            // with the old one second.
            let v = _mm512_min_pd(l, d);
            // SAFETY: as above.
            unsafe { _mm512_storeu_pd(at, v) };
            sums = _mm512_add_pd(sums, v);
        }
    }
    let mut lanes = [0f64; 8];
    // SAFETY: `lanes` holds exactly 8 f64.
    unsafe { _mm512_storeu_pd(lanes.as_mut_ptr(), sums) };
    for i in full..n {
        let mut l = 0f32;
        for t in 0..D {
            let diff = columns[t][i] - centre[t];
            l += diff * diff;
        }
        let v = d2[i].min(f64::from(l));
        d2[i] = v;
        lanes[i % 8] += v;
    }
    lanes.iter().sum()
}

/// One point's pass over a row of dot products with centroids `c0..c0 + dots.len()`:
/// `d = max(x_sq + c_sq[c] - 2 dot, 0)`, and `slot` becomes the first minimum of it and its
/// old value, as `kmeans::assign`'s portable loop leaves it.
#[target_feature(enable = "avx512f")]
pub(crate) fn nearest_in_row(
    dots: &[f32],
    x_sq: f32,
    c_sq: &[f32],
    c0: usize,
    slot: &mut (u32, f32),
) {
    let n = dots.len();
    let full = n - n % LANES;
    if full > 0 {
        let x = _mm512_set1_ps(x_sq);
        let two = _mm512_set1_ps(2.0);
        let zero = _mm512_setzero_ps();
        let step = _mm512_set1_epi32(LANES as i32);
        let mut idx = _mm512_add_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(c0 as i32),
        );
        let mut best = _mm512_set1_ps(f32::INFINITY);
        let mut at = _mm512_setzero_si512();
        for j in (0..full).step_by(LANES) {
            // SAFETY: j + 16 <= full <= dots.len(), and c_sq covers c0 + dots.len().
            let (dot, sq) = unsafe {
                (
                    _mm512_loadu_ps(dots.as_ptr().add(j)),
                    _mm512_loadu_ps(c_sq.as_ptr().add(c0 + j)),
                )
            };
            // (x_sq + c_sq) - 2 dot, then max with 0 (a NaN becomes 0, as `f32::max` does).
            let d = _mm512_max_ps(
                _mm512_sub_ps(_mm512_add_ps(x, sq), _mm512_mul_ps(two, dot)),
                zero,
            );
            let better = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(d, best);
            best = _mm512_mask_mov_ps(best, better, d);
            at = _mm512_mask_mov_epi32(at, better, idx);
            idx = _mm512_add_epi32(idx, step);
        }
        let min = _mm512_reduce_min_ps(best);
        if min < slot.1 {
            let ties = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(best, _mm512_set1_ps(min));
            *slot = (_mm512_mask_reduce_min_epu32(ties, at), min);
        }
    }
    for j in full..n {
        let d = (x_sq + c_sq[c0 + j] - 2.0 * dots[j]).max(0.0);
        if d < slot.1 {
            *slot = ((c0 + j) as u32, d);
        }
    }
}
