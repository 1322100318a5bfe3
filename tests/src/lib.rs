//! Helpers shared by Quiver's integration tests and their child programs.

pub mod ir;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `n` pseudo-random vectors of `dim` components in [-1, 1), reproducible from `seed`.
pub fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect()
}

/// The vector the crash writer stores for record `i` of batch `b` (so a checker can recompute
/// it): every component derived from (b, i).
pub fn crash_vector(batch: u64, i: u64, dim: usize) -> Vec<f32> {
    (0..dim as u64)
        .map(|j| {
            // splitmix64 of (batch, i, j): distinct records get distinct vectors.
            let mut z = (batch << 32 ^ i << 12 ^ j).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

pub const CRASH_DIM: usize = 16;

/// The token matrix the crash writer stores for batch `batch` in its multi-vector
/// collection: 3 tokens, distinct from every other batch's.
pub fn crash_matrix(batch: u64) -> Vec<Vec<f32>> {
    (0..3)
        .map(|t| crash_vector(batch, 1000 + t, CRASH_DIM))
        .collect()
}
pub const CRASH_BATCH: u64 = 50;

/// Records per batch of the many-process tests' writer (`share_worker`).
pub const SHARE_BATCH: u64 = 10;
pub const SHARE_DIM: usize = 8;

/// The vector `share_worker` stores for record `i` of batch `b`.
pub fn share_vector(batch: u64, i: u64) -> Vec<f32> {
    crash_vector(batch, i, SHARE_DIM)
}
