//! k-means (Lloyd) for the coarse quantizer and the PQ codebooks.
//!
//! k-means++ initialisation (random distinct points for very large problems), a bounded
//! training sample
//! (`max_points_per_centroid`), assignment as blocked matrix products over scoped threads,
//! empty clusters refilled by splitting the largest one. Deterministic for a given seed.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

use crate::matmul;
use crate::rng::SplitMix64;
use std::sync::OnceLock;

/// k-means settings.
///
/// ## Defaults
/// - `iterations`: 20 — FAISS's default; the objective rarely moves after ~15 on real data.
/// - `max_points_per_centroid`: 256 — as FAISS: more points buy little accuracy and cost
///   linear time.
/// - `seed`: 1234.
/// - `threads`: 0 = one per core.
#[derive(Clone, Debug)]
pub struct KMeansParams {
    pub iterations: usize,
    pub max_points_per_centroid: usize,
    pub seed: u64,
    pub threads: usize,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            iterations: 20,
            max_points_per_centroid: 256,
            seed: 1234,
            threads: 0,
        }
    }
}

fn threads(requested: usize) -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    if requested > 0 {
        return requested;
    }
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Trains `k` centroids (row-major, k x dim) on `data` (row-major, n x dim). When `n < k`,
/// returns `n` centroids (each point its own).
pub fn train(data: &[f32], dim: usize, k: usize, params: &KMeansParams) -> Vec<f32> {
    assert!(
        dim > 0 && data.len().is_multiple_of(dim),
        "data must be n x dim"
    );
    let n = data.len() / dim;
    if n == 0 || k == 0 {
        return Vec::new();
    }
    let mut rng = SplitMix64::new(params.seed);
    // Bounded training sample.
    let cap = k.saturating_mul(params.max_points_per_centroid.max(1));
    let sample: Vec<f32> = if n > cap {
        let mut idx = rng.sample_indices(n, cap);
        idx.sort_unstable(); // sequential reads
        idx.iter()
            .flat_map(|&i| data[i * dim..(i + 1) * dim].iter().copied())
            .collect()
    } else {
        data.to_vec()
    };
    let n = sample.len() / dim;
    let k = k.min(n);
    let mut centroids = init(&sample, dim, k, &mut rng);
    let mut sums = vec![0f64; k * dim];
    let mut counts = vec![0usize; k];
    for _ in 0..params.iterations {
        let assignment = assign(&sample, dim, &centroids, params.threads);
        accumulate(&sample, dim, &assignment, &mut sums, &mut counts);
        for c in 0..k {
            if counts[c] > 0 {
                let inv = 1.0 / counts[c] as f64;
                for (dst, &s) in centroids[c * dim..(c + 1) * dim]
                    .iter_mut()
                    .zip(&sums[c * dim..(c + 1) * dim])
                {
                    *dst = (s * inv) as f32;
                }
            }
        }
        split_empty(&mut centroids, &mut counts, dim);
    }
    centroids
}

/// Per-cluster sums (in f64) and counts of the points as assigned. Dispatched like
/// [`assign_small`]: widening to f64 and adding vectorises 4x wider with AVX-512.
fn accumulate(
    sample: &[f32],
    dim: usize,
    assignment: &[(u32, f32)],
    sums: &mut [f64],
    counts: &mut [usize],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::avx512() {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            #[allow(unsafe_code)]
            return unsafe { accumulate_avx512(sample, dim, assignment, sums, counts) };
        }
    }
    accumulate_portable(sample, dim, assignment, sums, counts)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn accumulate_avx512(
    sample: &[f32],
    dim: usize,
    assignment: &[(u32, f32)],
    sums: &mut [f64],
    counts: &mut [usize],
) {
    accumulate_portable(sample, dim, assignment, sums, counts)
}

#[inline(always)]
fn accumulate_portable(
    sample: &[f32],
    dim: usize,
    assignment: &[(u32, f32)],
    sums: &mut [f64],
    counts: &mut [usize],
) {
    sums.fill(0.0);
    counts.fill(0);
    for (point, &(c, _)) in sample.chunks_exact(dim).zip(assignment) {
        let c = c as usize;
        counts[c] += 1;
        let s = &mut sums[c * dim..(c + 1) * dim];
        for j in 0..dim {
            s[j] += f64::from(point[j]);
        }
    }
}

/// Work budget (k x points x dim multiply-adds) up to which k-means++ seeds the centroids;
/// beyond it (e.g. thousands of coarse centroids on a large sample) the k sequential passes
/// cost more than the iterations they save, and distinct random points are used (FAISS's
/// default).
const PLUS_PLUS_BUDGET: usize = 1 << 28;

fn init(sample: &[f32], dim: usize, k: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let n = sample.len() / dim;
    let row = |i: usize| &sample[i * dim..(i + 1) * dim];
    if k.saturating_mul(n).saturating_mul(dim) > PLUS_PLUS_BUDGET {
        return rng
            .sample_indices(n, k)
            .iter()
            .flat_map(|&i| row(i).iter().copied())
            .collect();
    }
    // k-means++: each next centre drawn with probability proportional to the squared distance
    // to the nearest centre chosen so far.
    let mut centroids = Vec::with_capacity(k * dim);
    let first = rng.below(n);
    centroids.extend_from_slice(row(first));
    let mut d2 = vec![f64::INFINITY; n];
    let columns = avx512_columns(sample, dim);
    let mut total = nearer(sample, dim, columns.as_deref(), row(first), &mut d2);
    while centroids.len() < k * dim {
        let next = if total > 0.0 {
            let mut target = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
            let mut pick = n - 1;
            for (i, &d) in d2.iter().enumerate() {
                if target < d {
                    pick = i;
                    break;
                }
                target -= d;
            }
            pick
        } else {
            rng.below(n)
        };
        centroids.extend_from_slice(row(next));
        total = nearer(sample, dim, columns.as_deref(), row(next), &mut d2);
    }
    centroids
}

/// A component-major copy of a sample of short vectors, for the AVX-512 `nearer` kernel;
/// `None` where that kernel does not apply.
fn avx512_columns(sample: &[f32], dim: usize) -> Option<Vec<Vec<f32>>> {
    #[cfg(target_arch = "x86_64")]
    {
        if dim <= SMALL_DIM && crate::cpu::avx512() {
            return Some(
                (0..dim)
                    .map(|t| sample.iter().skip(t).step_by(dim).copied().collect())
                    .collect(),
            );
        }
    }
    let _ = (sample, dim);
    None
}

/// Lowers each point's squared distance in `d2` to `centre`'s where that is nearer, and
/// returns the new sum of `d2` (k-means++ seeding does this once per centre: for PQ's 256
/// centres per sub-quantizer it was 15% of an index build). Dispatched like [`assign_small`];
/// `columns` is [`avx512_columns`]'s copy of `sample`.
fn nearer(
    sample: &[f32],
    dim: usize,
    columns: Option<&[Vec<f32>]>,
    centre: &[f32],
    d2: &mut [f64],
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(columns) = columns {
            // `columns` exists only where the CPU has AVX-512F.
            crate::cpu::return_for_dim!(dim, avx512::nearer, (columns, centre, d2));
        }
        if crate::cpu::avx512() {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            #[allow(unsafe_code)]
            return unsafe { nearer_avx512(sample, dim, centre, d2) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = columns;
    nearer_portable(sample, dim, centre, d2)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn nearer_avx512(sample: &[f32], dim: usize, centre: &[f32], d2: &mut [f64]) -> f64 {
    nearer_portable(sample, dim, centre, d2)
}

#[inline(always)]
fn nearer_portable(sample: &[f32], dim: usize, centre: &[f32], d2: &mut [f64]) -> f64 {
    // Eight running sums: one serial chain of f64 additions would bound the loop.
    let mut sums = [0f64; 8];
    for (i, (p, d)) in sample.chunks_exact(dim).zip(d2.iter_mut()).enumerate() {
        let mut l = 0f32;
        for t in 0..dim {
            let diff = p[t] - centre[t];
            l += diff * diff;
        }
        let v = d.min(f64::from(l));
        *d = v;
        sums[i % 8] += v;
    }
    sums.iter().sum()
}

/// Gives every empty cluster half of the largest one: both get its centroid nudged in
/// opposite directions (relative 1/1024), as FAISS does.
fn split_empty(centroids: &mut [f32], counts: &mut [usize], dim: usize) {
    const EPS: f32 = 1.0 / 1024.0;
    for empty in 0..counts.len() {
        if counts[empty] > 0 {
            continue;
        }
        let Some(big) = (0..counts.len()).max_by_key(|&c| (counts[c], usize::MAX - c)) else {
            return;
        };
        if counts[big] < 2 {
            return;
        }
        for j in 0..dim {
            let v = centroids[big * dim + j];
            let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
            centroids[empty * dim + j] = v * (1.0 + sign * EPS) + sign * EPS * 1e-3;
            centroids[big * dim + j] = v * (1.0 - sign * EPS) - sign * EPS * 1e-3;
        }
        counts[empty] = counts[big] / 2;
        counts[big] -= counts[empty];
    }
}

/// Nearest centroid (L2) of every point, with the squared distance. Ties go to the lower
/// centroid index. Blocked matrix products, split over `threads` scoped threads.
pub fn assign(
    data: &[f32],
    dim: usize,
    centroids: &[f32],
    threads_wanted: usize,
) -> Vec<(u32, f32)> {
    assign_with(data, dim, centroids, threads_wanted, true)
}

/// [`assign`], optionally without the CPU-specific kernels (the tests' reference).
fn assign_with(
    data: &[f32],
    dim: usize,
    centroids: &[f32],
    threads_wanted: usize,
    vectorised: bool,
) -> Vec<(u32, f32)> {
    let n = data.len() / dim;
    let k = centroids.len() / dim;
    if n == 0 || k == 0 {
        return vec![(0, f32::INFINITY); n];
    }
    let c_sq: Vec<f32> = centroids.chunks_exact(dim).map(sq_norm).collect();
    if dim <= SMALL_DIM {
        return assign_small(data, dim, centroids, &c_sq);
    }
    const POINT_BLOCK: usize = 256;
    const CENTROID_BLOCK: usize = 1024;
    // The scan of each row of dot products for its minimum runs vectorised where the CPU has
    // AVX-512 (the portable loop compiles to SSE2 and was a third of the matrix products' time).
    #[cfg(target_arch = "x86_64")]
    let avx512 = vectorised && crate::cpu::avx512();
    #[cfg(not(target_arch = "x86_64"))]
    let _ = vectorised;
    let work = |points: &[f32]| -> Vec<(u32, f32)> {
        let np = points.len() / dim;
        let mut best = vec![(0u32, f32::INFINITY); np];
        let mut dots = vec![0f32; POINT_BLOCK * CENTROID_BLOCK.min(k)];
        for (b, block) in points.chunks(POINT_BLOCK * dim).enumerate() {
            let bp = block.len() / dim;
            for c0 in (0..k).step_by(CENTROID_BLOCK) {
                let bc = CENTROID_BLOCK.min(k - c0);
                let out = &mut dots[..bp * bc];
                matmul::dot_products(
                    block,
                    bp,
                    &centroids[c0 * dim..(c0 + bc) * dim],
                    bc,
                    dim,
                    out,
                );
                for (p, row) in out.chunks_exact(bc).enumerate() {
                    let x_sq = sq_norm(&block[p * dim..(p + 1) * dim]);
                    let slot = &mut best[b * POINT_BLOCK + p];
                    #[cfg(target_arch = "x86_64")]
                    if avx512 {
                        // SAFETY: the CPU supports AVX-512F (checked below).
                        #[allow(unsafe_code)]
                        unsafe {
                            avx512::nearest_in_row(row, x_sq, &c_sq, c0, slot)
                        };
                        continue;
                    }
                    for (j, &dot) in row.iter().enumerate() {
                        let d = (x_sq + c_sq[c0 + j] - 2.0 * dot).max(0.0);
                        if d < slot.1 {
                            *slot = ((c0 + j) as u32, d);
                        }
                    }
                }
            }
        }
        best
    };
    let t = threads(threads_wanted).min(n.div_ceil(POINT_BLOCK)).max(1);
    if t == 1 {
        return work(data);
    }
    let per = n.div_ceil(t) * dim;
    let parts: Vec<Vec<(u32, f32)>> = crossbeam::scope(|s| {
        let handles: Vec<_> = data
            .chunks(per)
            .map(|part| s.spawn(move |_| work(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
    .unwrap_or_else(|p| std::panic::resume_unwind(p));
    parts.into_iter().flatten().collect()
}

/// Up to this dimension (PQ sub-spaces), a matrix product has too little inner work to pay
/// for its packing; `assign_small` is ~50x faster there.
const SMALL_DIM: usize = 16;

/// Nearest centroid for low-dimensional points (PQ training: 20 iterations x 65k points x 256
/// centroids per sub-quantizer, most of an index build). The same code compiled for the
/// widest vector unit the CPU has, chosen at run time: the default x86-64 target has SSE2
/// only, and this loop is 2-3x faster with AVX-512. Results are bit-identical on every path
/// (same operation order per lane; Rust never fuses multiply-adds on its own).
fn assign_small(data: &[f32], dim: usize, centroids: &[f32], c_sq: &[f32]) -> Vec<(u32, f32)> {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::avx512() {
            crate::cpu::return_for_dim!(dim, avx512::assign_small, (data, centroids, c_sq));
            // SAFETY: the CPU supports AVX-512F (checked just above).
            #[allow(unsafe_code)]
            return unsafe { assign_small_avx512(data, dim, centroids, c_sq) };
        }
        if crate::cpu::avx2_fma() {
            // SAFETY: the CPU supports AVX2 (checked just above).
            #[allow(unsafe_code)]
            return unsafe { assign_small_avx2(data, dim, centroids, c_sq) };
        }
    }
    assign_small_portable(data, dim, centroids, c_sq)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn assign_small_avx512(
    data: &[f32],
    dim: usize,
    centroids: &[f32],
    c_sq: &[f32],
) -> Vec<(u32, f32)> {
    assign_small_portable(data, dim, centroids, c_sq)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn assign_small_avx2(data: &[f32], dim: usize, centroids: &[f32], c_sq: &[f32]) -> Vec<(u32, f32)> {
    assign_small_portable(data, dim, centroids, c_sq)
}

/// The body of [`assign_small`], inlined into each target-feature variant. Plain loops on
/// purpose: a closure (e.g. in `map`) becomes its own function, compiled without the
/// caller's target features. Centroids go sixteen at a time, so each block's sums stay in
/// one vector register across the point's few components and meet the running minimum there.
#[inline(always)]
fn assign_small_portable(
    data: &[f32],
    dim: usize,
    centroids: &[f32],
    c_sq: &[f32],
) -> Vec<(u32, f32)> {
    const LANES: usize = 16;
    let k = c_sq.len();
    let mut transposed = vec![0f32; dim * k];
    for (c, cent) in centroids.chunks_exact(dim).enumerate() {
        for (t, &x) in cent.iter().enumerate() {
            transposed[t * k + c] = x;
        }
    }
    let full = k - k % LANES;
    let mut m2x = vec![0f32; dim];
    let mut out = Vec::with_capacity(data.len() / dim);
    for p in data.chunks_exact(dim) {
        for (m, &x) in m2x.iter_mut().zip(p) {
            *m = -2.0 * x;
        }
        let mut best = [f32::INFINITY; LANES];
        let mut at = [0u32; LANES];
        for c0 in (0..full).step_by(LANES) {
            let mut acc = [0f32; LANES];
            acc.copy_from_slice(&c_sq[c0..c0 + LANES]);
            for (t, &m) in m2x.iter().enumerate() {
                let w = &transposed[t * k + c0..t * k + c0 + LANES];
                for l in 0..LANES {
                    acc[l] += m * w[l];
                }
            }
            for l in 0..LANES {
                let better = acc[l] < best[l];
                best[l] = if better { acc[l] } else { best[l] };
                at[l] = if better { (c0 + l) as u32 } else { at[l] };
            }
        }
        // Lanes hold the first minimum of their centroids; the smallest value wins, ties to
        // the lower centroid (the first minimum overall).
        let mut result = (u32::MAX, f32::INFINITY);
        for l in 0..LANES {
            if best[l] < result.1 || (best[l] == result.1 && at[l] < result.0) {
                result = (at[l], best[l]);
            }
        }
        out.push(finish_small(p, result, full, centroids, c_sq));
    }
    out
}

/// The tail of the nearest-centroid search for one short point `p`, shared by the portable
/// loop and the AVX-512 kernel: the centroids from `full` on (after the last block of
/// sixteen) against the best so far, then the squared distance `|c|^2 - 2 x.c + |x|^2`.
#[inline(always)]
pub(crate) fn finish_small(
    p: &[f32],
    mut result: (u32, f32),
    full: usize,
    centroids: &[f32],
    c_sq: &[f32],
) -> (u32, f32) {
    let dim = p.len();
    for c in full..c_sq.len() {
        let mut d = c_sq[c];
        for (t, &x) in p.iter().enumerate() {
            d += -2.0 * x * centroids[c * dim + t];
        }
        if d < result.1 {
            result = (c as u32, d);
        }
    }
    if result.0 == u32::MAX {
        result.0 = 0; // every distance infinite or NaN
    }
    let mut norm = 0f32;
    for &x in p {
        norm += x * x;
    }
    (result.0, (result.1 + norm).max(0.0))
}

fn sq_norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum()
}

/// Index of the nearest centroid to one vector by exact L2 (ties to the lower index): the
/// reference `assign` is tested against, and what incremental inserts use.
pub fn nearest(v: &[f32], centroids: &[f32]) -> (u32, f32) {
    let dim = v.len();
    let mut best = (0u32, f32::INFINITY);
    for (c, cent) in centroids.chunks_exact(dim).enumerate() {
        let d: f32 = v.iter().zip(cent).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best.1 {
            best = (c as u32, d);
        }
    }
    best
}

/// Sum of squared distances of points to their nearest centroid (the k-means objective).
pub fn inertia(data: &[f32], dim: usize, centroids: &[f32]) -> f64 {
    assign(data, dim, centroids, 0)
        .iter()
        .map(|&(_, d)| f64::from(d))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The CPU-specific variant (AVX-512 / AVX2 where present) returns exactly what the
        /// baseline build of the same code returns.
        #[test]
        fn assign_small_variants_agree_bit_for_bit(
            n in 1usize..200, k in 1usize..300, dim in 1usize..17, seed in 0u64..100, dup in 0usize..3
        ) {
            let data = blobs(3, n.div_ceil(3), dim, seed);
            let data = &data[..n * dim];
            let cents = with_ties(blobs(k, 1, dim, seed + 1), k, dim, dup);
            let c_sq: Vec<f32> = cents.chunks_exact(dim).map(sq_norm).collect();
            let fast = assign_small(data, dim, &cents, &c_sq);
            let portable = assign_small_portable(data, dim, &cents, &c_sq);
            prop_assert_eq!(
                fast.iter().map(|&(c, d)| (c, d.to_bits())).collect::<Vec<_>>(),
                portable.iter().map(|&(c, d)| (c, d.to_bits())).collect::<Vec<_>>()
            );
        }
    }

    proptest! {
        /// k-means++'s distance update over the component-major copy (AVX-512) leaves the
        /// same distances and sum as the portable loop.
        #[test]
        fn nearer_variants_agree_bit_for_bit(
            n in 1usize..200, dim in 1usize..17, seed in 0u64..100, centres in 1usize..4
        ) {
            let data = blobs(3, n.div_ceil(3), dim, seed);
            let data = &data[..n * dim];
            let columns = avx512_columns(data, dim);
            let (mut fast, mut portable) = (vec![f64::INFINITY; n], vec![f64::INFINITY; n]);
            for c in 0..centres {
                let centre = &data[(c * 13 % n) * dim..(c * 13 % n + 1) * dim];
                let a = nearer(data, dim, columns.as_deref(), centre, &mut fast);
                let b = nearer_portable(data, dim, centre, &mut portable);
                prop_assert_eq!(a.to_bits(), b.to_bits());
            }
            prop_assert_eq!(
                fast.iter().map(|d| d.to_bits()).collect::<Vec<_>>(),
                portable.iter().map(|d| d.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        /// The vectorised scan of the matrix products returns exactly what the portable loop
        /// returns, ties and clamped (negative) distances included.
        #[test]
        fn assign_variants_agree_bit_for_bit(
            n in 1usize..300, k in 1usize..1300, dim in 17usize..40, seed in 0u64..100, dup in 0usize..3
        ) {
            let data = blobs(3, n.div_ceil(3), dim, seed);
            let data = &data[..n * dim];
            let cents = with_ties(blobs(k, 1, dim, seed + 1), k, dim, dup);
            let fast = assign_with(data, dim, &cents, 2, true);
            let portable = assign_with(data, dim, &cents, 2, false);
            prop_assert_eq!(
                fast.iter().map(|&(c, d)| (c, d.to_bits())).collect::<Vec<_>>(),
                portable.iter().map(|&(c, d)| (c, d.to_bits())).collect::<Vec<_>>()
            );
        }
    }

    /// Repeats centroids to make exact ties: `dup` 1 in the same vector lane (16 apart), 2
    /// across lanes, 0 none.
    fn with_ties(mut cents: Vec<f32>, k: usize, dim: usize, dup: usize) -> Vec<f32> {
        for c in 0..k {
            let src = match dup {
                1 if c >= 16 => c % 16,
                2 if c >= 5 => c % 5,
                _ => continue,
            };
            let v = cents[src * dim..(src + 1) * dim].to_vec();
            cents[c * dim..(c + 1) * dim].copy_from_slice(&v);
        }
        cents
    }

    /// Points around `k` well-separated centres.
    fn blobs(k: usize, per: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut r = SplitMix64::new(seed);
        let mut u = move || (r.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        let centres: Vec<f32> = (0..k * dim).map(|_| u() * 100.0).collect();
        let mut out = Vec::new();
        for i in 0..k * per {
            let c = i % k;
            for j in 0..dim {
                out.push(centres[c * dim + j] + u());
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(30))]
        #[test]
        fn assign_matches_nearest(n in 1usize..600, k in 1usize..40, dim in 1usize..20, seed in 0u64..100) {
            let data = blobs(3, n.div_ceil(3), dim, seed);
            let data = &data[..n * dim];
            let cents = blobs(k, 1, dim, seed + 1);
            let fast = assign(data, dim, &cents, 2);
            for (i, &(c, d)) in fast.iter().enumerate() {
                let (rc, rd) = nearest(&data[i * dim..(i + 1) * dim], &cents);
                // The matmul expansion can flip exact near-ties; the distance must agree.
                prop_assert!((d - rd).abs() <= 1e-3 * (1.0 + rd), "point {}: {} vs {}", i, d, rd);
                if c != rc {
                    let dc = nearest(&data[i * dim..(i + 1) * dim], &cents[c as usize * dim..(c as usize + 1) * dim]).1;
                    prop_assert!((dc - rd).abs() <= 1e-3 * (1.0 + rd));
                }
            }
        }
    }

    #[test]
    fn finds_separated_clusters_deterministically() {
        let dim = 8;
        let data = blobs(10, 200, dim, 3);
        let p = KMeansParams {
            seed: 5,
            ..KMeansParams::default()
        };
        let c1 = train(&data, dim, 10, &p);
        let c2 = train(&data, dim, 10, &p);
        assert_eq!(c1, c2, "same seed, same centroids");
        // Each point within its blob's noise (|u| <= 0.5 per component) of its centroid.
        let worst = assign(&data, dim, &c1, 1)
            .iter()
            .map(|a| a.1)
            .fold(0.0f32, f32::max);
        assert!(
            worst < 0.5 * 0.5 * dim as f32 * 1.5,
            "worst squared distance {worst}"
        );
        assert!(inertia(&data, dim, &c1) < inertia(&data, dim, &c1[..dim * 9]));
    }

    #[test]
    fn more_centroids_than_points_and_empty_clusters() {
        let data = vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(train(&data, 2, 10, &KMeansParams::default()).len(), 3 * 2);
        // Many identical points: clusters go empty and are split, never NaN.
        let same = vec![3.0f32; 2 * 100];
        let c = train(&same, 2, 8, &KMeansParams::default());
        assert!(c.iter().all(|x| x.is_finite()));
    }
}
