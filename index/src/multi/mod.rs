//! Multi-vector (late-interaction) search: documents are matrices of token vectors, scored
//! against a query matrix by MaxSim, `score(q, d) = sum_i max_j <q_i, d_j>` (ColBERT).
//!
//! - [`maxsim`]: the kernel (one matrix product, then row maxima) and its f64 plain-loop twin.
//! - [`TokenStore`]: every document's token matrix in memory, copy-on-write per document.
//! - [`exact`]: brute-force MaxSim over the store, threaded over documents: the oracle.
//! - [`TokenIndex`]: PLAID-style candidate generation — token centroids, each document's
//!   tokens coded by their nearest centroid, inverted lists from centroid to documents.
//!   A query probes each token's nearest centroids, scores the gathered documents with
//!   centroid interaction (the codes stand in for the tokens), and re-ranks the best of them
//!   with exact MaxSim.
//!
//! Scores are similarities (larger is better); results are [`Neighbor`]s whose `distance` is
//! the negated score, so the crate's top-k and ordering rules apply unchanged.
//!
//! [`Neighbor`]: crate::Neighbor

#[cfg(target_arch = "x86_64")]
mod avx512;
mod candidates;
pub mod exact;
mod fused;
pub mod maxsim;
mod store;

pub use candidates::{TokenIndex, TokenIndexParams, TokenSearch};
pub use store::TokenStore;

/// L2-normalises every `dim`-long token of `tokens` in place (zero tokens stay zero), so that
/// MaxSim over dot products is MaxSim over cosine similarities.
pub fn normalize_tokens(tokens: &mut [f32], dim: usize) {
    for t in tokens.chunks_exact_mut(dim) {
        let n = t
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        if n > 0.0 {
            let inv = (1.0 / n) as f32;
            t.iter_mut().for_each(|x| *x *= inv);
        }
    }
}

/// How many scoped threads to use for `work_items` items (0 = one per core).
pub(crate) fn workers(requested: usize, work_items: usize) -> usize {
    let cores = if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    cores.clamp(1, work_items.max(1))
}
