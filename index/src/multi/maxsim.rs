//! The MaxSim kernel: `sum_i max_j <q_i, d_j>` for a query matrix `q` (nq x dim) and a
//! document matrix `d` (nd x dim), both row-major f32.
//!
//! The query is transposed once per call into a panel (see `fused`), then each document is
//! scored by a register-blocked kernel that keeps dot products and row maxima in vector
//! registers. [`maxsim_naive`] is the plain-loop twin in f64 that the kernel is tested
//! against.

pub use super::fused::{QueryPanel, maxsim_panel, prefetch_document};

/// Reusable buffers for [`maxsim`] and [`maxsim_batch`].
#[derive(Default, Debug)]
pub struct Scratch {
    panel: QueryPanel,
}

/// MaxSim of `q` against each of `docs`, written to `out` (cleared first) in order; the query
/// is prepared once for all of them.
pub fn maxsim_batch(
    q: &[f32],
    docs: &[&[f32]],
    dim: usize,
    scratch: &mut Scratch,
    out: &mut Vec<f32>,
) {
    out.clear();
    scratch.panel.fill(q, dim, dim);
    for (i, d) in docs.iter().enumerate() {
        if let Some(next) = docs.get(i + 1) {
            prefetch_document(next);
        }
        out.push(maxsim_panel(&scratch.panel, d, dim));
    }
}

/// MaxSim of query `q` against document `doc`, both row-major with `dim` columns. An empty
/// document scores 0 (no token to match); so does an empty query.
pub fn maxsim(q: &[f32], doc: &[f32], dim: usize, scratch: &mut Scratch) -> f32 {
    scratch.panel.fill(q, dim, dim);
    maxsim_panel(&scratch.panel, doc, dim)
}

/// MaxSim computed with only the first `dims` columns of every token (Matryoshka-trained
/// encoders keep most of their quality in a prefix). `dims >= dim` is plain [`maxsim`].
pub fn maxsim_prefix(
    q: &[f32],
    doc: &[f32],
    dim: usize,
    dims: usize,
    scratch: &mut Scratch,
) -> f32 {
    if dims == 0 {
        return 0.0;
    }
    scratch.panel.fill(q, dim, dims);
    maxsim_panel(&scratch.panel, doc, dim)
}

/// The obviously-correct twin: every dot product accumulated in f64 by plain loops.
pub fn maxsim_naive(q: &[f32], doc: &[f32], dim: usize) -> f64 {
    let mut total = 0.0;
    if doc.is_empty() {
        return 0.0;
    }
    for qi in q.chunks_exact(dim) {
        let mut best = f64::NEG_INFINITY;
        for dj in doc.chunks_exact(dim) {
            let mut s = 0.0f64;
            for (a, b) in qi.iter().zip(dj) {
                s += f64::from(*a) * f64::from(*b);
            }
            best = best.max(s);
        }
        total += best;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matrix(n: usize, dim: usize) -> impl Strategy<Value = Vec<f32>> {
        proptest::collection::vec(-2.0f32..2.0, n * dim)
    }

    proptest! {
        #[test]
        fn kernel_matches_plain_loops(
            (dim, q, d) in (1usize..80, 1usize..40, 0usize..70).prop_flat_map(|(dim, nq, nd)| {
                (Just(dim), matrix(nq, dim), matrix(nd, dim))
            })
        ) {
            let mut scratch = Scratch::default();
            let fast = maxsim(&q, &d, dim, &mut scratch);
            let slow = maxsim_naive(&q, &d, dim);
            let scale = (q.len() / dim) as f64 * dim as f64 * 4.0;
            prop_assert!((f64::from(fast) - slow).abs() <= 1e-5 * scale, "{} vs {}", fast, slow);
            // The prefix form equals the kernel on truncated copies.
            let dims = dim.div_ceil(2);
            let cut = |m: &[f32]| -> Vec<f32> {
                m.chunks_exact(dim).flat_map(|t| &t[..dims]).copied().collect()
            };
            let prefix = maxsim_prefix(&q, &d, dim, dims, &mut scratch);
            let oracle = maxsim_naive(&cut(&q), &cut(&d), dims);
            prop_assert!((f64::from(prefix) - oracle).abs() <= 1e-5 * scale);
        }
    }

    proptest! {
        #[test]
        fn batch_matches_one_by_one(dim in 1usize..40, nq in 1usize..8, seed in 0u64..500,
                                    lens in proptest::collection::vec(0usize..300, 0..12)) {
            let mut rng = crate::rng::SplitMix64::new(seed);
            let mut m = |n: usize| -> Vec<f32> {
                (0..n * dim).map(|_| (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0).collect()
            };
            let q = m(nq);
            let docs: Vec<Vec<f32>> = lens.iter().map(|&n| m(n)).collect();
            let refs: Vec<&[f32]> = docs.iter().map(Vec::as_slice).collect();
            let mut out = Vec::new();
            maxsim_batch(&q, &refs, dim, &mut Scratch::default(), &mut out);
            prop_assert_eq!(out.len(), docs.len());
            for (d, got) in docs.iter().zip(&out) {
                let want = maxsim_naive(&q, d, dim);
                prop_assert!((f64::from(*got) - want).abs() <= 1e-4 * (nq * dim) as f64, "{} vs {}", got, want);
            }
        }
    }

    #[test]
    fn known_value() {
        // q1 matches d2 best (2), q2 matches d1 best (3): 5.
        let q = [1.0, 0.0, 0.0, 1.0];
        let d = [0.0, 3.0, 2.0, 0.0];
        assert_eq!(maxsim(&q, &d, 2, &mut Scratch::default()), 5.0);
        assert_eq!(maxsim_naive(&q, &d, 2), 5.0);
        assert_eq!(maxsim(&q, &[], 2, &mut Scratch::default()), 0.0);
    }
}
