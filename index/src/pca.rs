//! Principal component analysis: the few directions along which a set of vectors varies
//! most, to draw an embedding space in two dimensions.
//!
//! [`fit`] is randomised subspace iteration (Halko, Martinsson & Tropp 2011): a handful of
//! passes over the data, each two thin products, never the `dim x dim` covariance. Its slow
//! twin [`fit_exact`] forms the covariance and diagonalises it with Jacobi rotations; the
//! tests hold one to the other.
//!
//! Written here rather than taken from a linear-algebra crate: the two components a map needs
//! are ~150 lines on top of what this crate has, while `nalgebra`/`faer`/`ndarray-linalg`
//! would each add a large dependency (or LAPACK) to the engine for one call.
//!
//! ```
//! use quiver_index::pca;
//! // Points on the line y = 2x, with a little noise off it.
//! let data = [0.0, 0.0, 1.0, 2.1, 2.0, 3.9, 3.0, 6.0, -1.0, -2.0f32];
//! let p = pca::fit(&data, 2, 1, &pca::PcaParams::default());
//! let axis = &p.axes[..2];
//! assert!((axis[1] / axis[0] - 2.0).abs() < 0.05);
//! ```

use crate::rng::SplitMix64;

/// Settings of [`fit`].
///
/// ## Defaults
/// - `iterations`: 8 power iterations — the subspace the two leading components span has
///   converged to float precision on embedding sets after ~5 (the tests use 8 against the
///   exact twin).
/// - `oversample`: 8 extra directions, Halko et al.'s recommended 5–10: they absorb the
///   components just below the wanted ones, which is what makes few iterations enough.
/// - `seed`: 0.
#[derive(Clone, Debug)]
pub struct PcaParams {
    pub iterations: usize,
    pub oversample: usize,
    pub seed: u64,
}

impl Default for PcaParams {
    fn default() -> Self {
        PcaParams {
            iterations: 8,
            oversample: 8,
            seed: 0,
        }
    }
}

/// A fitted projection.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    pub dim: usize,
    /// The data's mean, subtracted before projecting.
    pub mean: Vec<f32>,
    /// `components x dim`, row-major, unit length, orthogonal; each axis's sign is chosen so
    /// that its component of largest magnitude is positive (a deterministic picture).
    pub axes: Vec<f32>,
    /// Variance along each axis, largest first.
    pub variances: Vec<f64>,
    /// Sum of the variances of all dimensions (each axis's share is `variance / total`).
    pub total_variance: f64,
}

impl Pca {
    pub fn components(&self) -> usize {
        self.variances.len()
    }

    /// Coordinates of `v` along the axes.
    pub fn project(&self, v: &[f32]) -> Vec<f32> {
        self.axes
            .chunks_exact(self.dim)
            .map(|axis| {
                axis.iter()
                    .zip(v.iter().zip(&self.mean))
                    .map(|(a, (x, m))| f64::from(*a) * f64::from(x - m))
                    .sum::<f64>() as f32
            })
            .collect()
    }
}

/// The mean of each dimension, and the data's total variance.
fn moments(data: &[f32], dim: usize) -> (Vec<f64>, f64) {
    let n = data.len() / dim;
    let mut mean = vec![0f64; dim];
    for row in data.chunks_exact(dim) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += f64::from(x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    let mut total = 0f64;
    for row in data.chunks_exact(dim) {
        for (m, &x) in mean.iter().zip(row) {
            total += (f64::from(x) - m).powi(2);
        }
    }
    (mean, total / n.max(1) as f64)
}

/// The leading `components` principal axes of `data` (`n x dim`, row-major) by randomised
/// subspace iteration. Fewer components come back when the data has fewer dimensions or
/// points.
pub fn fit(data: &[f32], dim: usize, components: usize, params: &PcaParams) -> Pca {
    let (mean, total) = moments(data, dim);
    let n = data.len() / dim.max(1);
    let wanted = components.min(dim).min(n);
    let width = (wanted + params.oversample).min(dim);
    if wanted == 0 {
        return finish(dim, mean, total, Vec::new(), Vec::new(), 0);
    }
    let mut rng = SplitMix64::new(params.seed);
    // q: dim x width, column j at q[j * dim..], orthonormal.
    let mut q: Vec<f64> = (0..dim * width)
        .map(|_| rng.next_u64() as f64 / u64::MAX as f64 - 0.5)
        .collect();
    orthonormalise(&mut q, dim);
    for _ in 0..params.iterations {
        q = covariance_times(data, &mean, &q, dim);
        orthonormalise(&mut q, dim);
    }
    // Rayleigh–Ritz: the covariance restricted to span(q), diagonalised.
    let cq = covariance_times(data, &mean, &q, dim);
    let width = q.len() / dim;
    let mut small = vec![0f64; width * width];
    for i in 0..width {
        for j in 0..width {
            small[i * width + j] = dot(&q[i * dim..(i + 1) * dim], &cq[j * dim..(j + 1) * dim]);
        }
    }
    let (values, vectors) = jacobi_eigen(&mut small, width);
    let mut axes = Vec::with_capacity(wanted * dim);
    let mut variances = Vec::with_capacity(wanted);
    for &(value, col) in values.iter().take(wanted) {
        variances.push(value);
        let mut axis = vec![0f64; dim];
        for (k, w) in (0..width).map(|k| (k, vectors[k * width + col])) {
            for (a, &x) in axis.iter_mut().zip(&q[k * dim..(k + 1) * dim]) {
                *a += w * x;
            }
        }
        axes.extend(axis);
    }
    finish(dim, mean, total, axes, variances, wanted)
}

/// [`fit`]'s slow twin: the full covariance matrix, diagonalised exactly.
pub fn fit_exact(data: &[f32], dim: usize, components: usize) -> Pca {
    let (mean, total) = moments(data, dim);
    let n = data.len() / dim.max(1);
    let wanted = components.min(dim).min(n);
    let mut cov = vec![0f64; dim * dim];
    for row in data.chunks_exact(dim) {
        for i in 0..dim {
            let xi = f64::from(row[i]) - mean[i];
            for j in 0..dim {
                cov[i * dim + j] += xi * (f64::from(row[j]) - mean[j]);
            }
        }
    }
    cov.iter_mut().for_each(|c| *c /= n.max(1) as f64);
    let (values, vectors) = jacobi_eigen(&mut cov, dim);
    let mut axes = Vec::with_capacity(wanted * dim);
    let mut variances = Vec::with_capacity(wanted);
    for &(value, col) in values.iter().take(wanted) {
        variances.push(value);
        axes.extend((0..dim).map(|k| vectors[k * dim + col]));
    }
    finish(dim, mean, total, axes, variances, wanted)
}

fn finish(
    dim: usize,
    mean: Vec<f64>,
    total: f64,
    mut axes: Vec<f64>,
    variances: Vec<f64>,
    wanted: usize,
) -> Pca {
    for axis in axes.chunks_exact_mut(dim).take(wanted) {
        let norm = dot(axis, axis).sqrt();
        let largest = axis
            .iter()
            .copied()
            .fold(0f64, |best, x| if x.abs() > best.abs() { x } else { best });
        let sign = if largest < 0.0 { -1.0 } else { 1.0 };
        axis.iter_mut()
            .for_each(|x| *x *= sign / norm.max(f64::MIN_POSITIVE));
    }
    Pca {
        dim,
        mean: mean.iter().map(|&m| m as f32).collect(),
        axes: axes.iter().map(|&a| a as f32).collect(),
        variances: variances.iter().map(|v| v.max(0.0)).collect(),
        total_variance: total,
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `C q` for the covariance `C` of `data` (never formed: `Xᵀ (X q) / n` on centred rows),
/// `q` as columns of length `dim`.
fn covariance_times(data: &[f32], mean: &[f64], q: &[f64], dim: usize) -> Vec<f64> {
    let width = q.len() / dim;
    let n = data.len() / dim;
    let mut out = vec![0f64; q.len()];
    let mut centred = vec![0f64; dim];
    let mut z = vec![0f64; width];
    for row in data.chunks_exact(dim) {
        for ((c, &x), m) in centred.iter_mut().zip(row).zip(mean) {
            *c = f64::from(x) - m;
        }
        for (j, zj) in z.iter_mut().enumerate() {
            *zj = dot(&centred, &q[j * dim..(j + 1) * dim]);
        }
        for (j, &zj) in z.iter().enumerate() {
            for (o, &c) in out[j * dim..(j + 1) * dim].iter_mut().zip(&centred) {
                *o += zj * c;
            }
        }
    }
    out.iter_mut().for_each(|o| *o /= n.max(1) as f64);
    out
}

/// Modified Gram–Schmidt on the columns of `q` (each `dim` long); a column that vanishes
/// (the data has fewer directions than asked) is dropped.
fn orthonormalise(q: &mut Vec<f64>, dim: usize) {
    let mut kept: Vec<f64> = Vec::with_capacity(q.len());
    for column in q.chunks_exact(dim) {
        let mut v = column.to_vec();
        let before = dot(&v, &v).sqrt();
        for _ in 0..2 {
            // Twice: one pass loses orthogonality when columns are nearly dependent.
            for basis in kept.chunks_exact(dim) {
                let p = dot(&v, basis);
                v.iter_mut().zip(basis).for_each(|(x, b)| *x -= p * b);
            }
        }
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-10 * before.max(f64::MIN_POSITIVE) && norm > 0.0 {
            kept.extend(v.iter().map(|x| x / norm));
        }
    }
    *q = kept;
}

/// Eigen-decomposition of the symmetric `n x n` matrix `a` (destroyed) by cyclic Jacobi
/// rotations: (eigenvalue, column) pairs largest first, and the eigenvectors as the columns
/// of the returned row-major matrix.
fn jacobi_eigen(a: &mut [f64], n: usize) -> (Vec<(f64, usize)>, Vec<f64>) {
    let mut v = vec![0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for r in p + 1..n {
                let apr = a[p * n + r];
                if apr == 0.0 {
                    continue;
                }
                let theta = (a[r * n + r] - a[p * n + p]) / (2.0 * apr);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let akp = a[k * n + p];
                    let akr = a[k * n + r];
                    a[k * n + p] = c * akp - s * akr;
                    a[k * n + r] = s * akp + c * akr;
                }
                for k in 0..n {
                    let apk = a[p * n + k];
                    let ark = a[r * n + k];
                    a[p * n + k] = c * apk - s * ark;
                    a[r * n + k] = s * apk + c * ark;
                }
                for k in 0..n {
                    let vkp = v[k * n + p];
                    let vkr = v[k * n + r];
                    v[k * n + p] = c * vkp - s * vkr;
                    v[k * n + r] = s * vkp + c * vkr;
                }
            }
        }
    }
    let mut values: Vec<(f64, usize)> = (0..n).map(|i| (a[i * n + i], i)).collect();
    values.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    (values, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `n` points in `dim` dimensions whose variance falls off by `decay` per direction,
    /// the directions rotated by a random orthonormal basis.
    fn structured(n: usize, dim: usize, decay: f64, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        let mut uniform = move || rng.next_u64() as f64 / u64::MAX as f64 - 0.5;
        let mut basis: Vec<f64> = (0..dim * dim).map(|_| uniform()).collect();
        orthonormalise(&mut basis, dim);
        let mut data = Vec::with_capacity(n * dim);
        for _ in 0..n {
            let mut x = vec![3.0f64; dim];
            for k in 0..dim {
                let coef = uniform() * decay.powi(k as i32);
                for (xi, b) in x.iter_mut().zip(&basis[k * dim..(k + 1) * dim]) {
                    *xi += coef * b;
                }
            }
            data.extend(x.iter().map(|&v| v as f32));
        }
        data
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn randomised_matches_exact(n in 20usize..200, dim in 2usize..24, seed in 0u64..1000) {
            let data = structured(n, dim, 0.6, seed);
            let fast = fit(&data, dim, 2, &PcaParams { seed, ..PcaParams::default() });
            let slow = fit_exact(&data, dim, 2);
            prop_assert_eq!(fast.components(), slow.components());
            prop_assert!((fast.total_variance - slow.total_variance).abs()
                <= 1e-9 * slow.total_variance.max(1e-12));
            for c in 0..slow.components() {
                let (f, s) = (fast.variances[c], slow.variances[c]);
                prop_assert!((f - s).abs() <= 1e-4 * s.max(1e-9), "variance {c}: {f} vs {s}");
                let a = &fast.axes[c * dim..(c + 1) * dim];
                let b = &slow.axes[c * dim..(c + 1) * dim];
                let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                prop_assert!(cos > 0.999, "axis {c}: cos {cos}");
            }
        }
    }

    #[test]
    fn exact_recovers_a_planted_axis_and_projects_onto_it() {
        // Points spread along (3, 4) / 5 around (1, 1).
        let data: Vec<f32> = (-5..=5)
            .flat_map(|t| [1.0 + 0.6 * t as f32, 1.0 + 0.8 * t as f32])
            .collect();
        let p = fit_exact(&data, 2, 2);
        assert!((p.axes[0] - 0.6).abs() < 1e-6 && (p.axes[1] - 0.8).abs() < 1e-6);
        assert!(p.variances[1].abs() < 1e-9);
        assert!((p.variances[0] - p.total_variance).abs() < 1e-6);
        let xy = p.project(&[1.0 + 0.6 * 2.0, 1.0 + 0.8 * 2.0]);
        assert!((xy[0] - 2.0).abs() < 1e-5 && xy[1].abs() < 1e-5);
    }

    #[test]
    fn degenerate_inputs_give_fewer_components_not_a_panic() {
        assert_eq!(fit(&[], 3, 2, &PcaParams::default()).components(), 0);
        let one = fit(&[1.0, 2.0, 3.0], 3, 2, &PcaParams::default());
        assert!(one.components() <= 1);
        let same = fit(&[1.0, 1.0, 1.0, 1.0], 2, 2, &PcaParams::default());
        assert!(same.variances.iter().all(|v| v.abs() < 1e-12));
        let p = fit(&structured(50, 3, 0.5, 1), 3, 5, &PcaParams::default());
        assert_eq!(p.components(), 3);
    }
}
