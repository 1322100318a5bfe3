//! Benchmark data: a labelled synthetic set and GloVe 6B 50d (real word vectors).

use crate::Args;
use quiver::Metric;
use quiver_vecfile::{Matrix, read_npy};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

pub struct Dataset {
    pub name: String,
    pub metric: Metric,
    pub base: Matrix,
    pub queries: Matrix,
}

pub fn gaussian(rng: &mut StdRng) -> f32 {
    // Box-Muller: two uniforms to one standard normal.
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// SYNTHETIC: Gaussian vectors, 100k x 384 (10k in --quick), cosine; queries drawn the same way.
pub fn synthetic(args: &Args) -> Dataset {
    let (n, dim) = if args.quick {
        (10_000, 384)
    } else {
        (100_000, 384)
    };
    gaussian_set(n, dim, args)
}

/// SYNTHETIC: Gaussian vectors, 1M x 128 (50k in --quick), cosine: the size for "first query
/// on a million vectors".
pub fn synthetic_1m(args: &Args) -> Dataset {
    gaussian_set(if args.quick { 50_000 } else { 1_000_000 }, 128, args)
}

fn gaussian_set(n: usize, dim: usize, args: &Args) -> Dataset {
    let nq = args.batch.max(args.single);
    let mut rng = StdRng::seed_from_u64(42);
    let mut make = |rows: usize| Matrix {
        rows,
        dim,
        data: (0..rows * dim).map(|_| gaussian(&mut rng)).collect(),
    };
    let base = make(n);
    let queries = make(nq);
    Dataset {
        name: if n >= 1_000_000 {
            format!("synthetic-gaussian-{}Mx{dim}", n / 1_000_000)
        } else {
            format!("synthetic-gaussian-{}kx{dim}", n / 1000)
        },
        metric: Metric::Cosine,
        base,
        queries,
    }
}

/// GloVe 6B 50d, 400k words (100k in --quick), cosine; queries are words sampled from the set.
pub fn glove(dir: &Path, args: &Args) -> Result<Dataset, Box<dyn std::error::Error>> {
    real_npy("glove-6B-50d", &dir.join("glove_6B_50d_emb.npy"), args)
}

/// A real vector set from a .npy matrix (cosine); queries are rows sampled with a fixed seed.
pub fn real_npy(
    label: &str,
    path: &Path,
    args: &Args,
) -> Result<Dataset, Box<dyn std::error::Error>> {
    let mut base = read_npy(path)?;
    if args.quick {
        base.rows = 100_000;
        base.data.truncate(base.rows * base.dim);
    }
    let nq = args.batch.max(args.single);
    let mut rng = StdRng::seed_from_u64(7);
    let mut data = Vec::with_capacity(nq * base.dim);
    for _ in 0..nq {
        let r = rng.random_range(0..base.rows);
        data.extend_from_slice(base.row(r));
    }
    Ok(Dataset {
        name: format!("{label}-{}k", base.rows / 1000),
        metric: Metric::Cosine,
        queries: Matrix {
            rows: nq,
            dim: base.dim,
            data,
        },
        base,
    })
}
