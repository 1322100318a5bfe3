//! Dense f32 matrix products for batched search, on the `gemm` crate.
//!
//! Many queries against one block of rows is a matrix product; `gemm` runs it near the
//! machine's peak (blocked, AVX-512/AVX2 kernels picked at run time), which no per-pair kernel
//! can match. This is the only unsafe code in the crate.
#![allow(unsafe_code)]

/// `out[i * nx + j] = <q_i, x_j>` for row-major `q` (nq x dim) and `x` (nx x dim).
pub(crate) fn dot_products(
    q: &[f32],
    nq: usize,
    x: &[f32],
    nx: usize,
    dim: usize,
    out: &mut [f32],
) {
    dot_products_prefix(q, nq, x, nx, dim, dim, out);
}

/// `out[i * nx + j] = <q_i, x_j[..depth]>` for row-major `q` (nq x depth) and `x` (nx rows of
/// `dim` floats, of which the first `depth` are used): the Matryoshka funnel's batched pass,
/// read in place from the arena (the row stride stays `dim`).
pub(crate) fn dot_products_prefix(
    q: &[f32],
    nq: usize,
    x: &[f32],
    nx: usize,
    dim: usize,
    depth: usize,
    out: &mut [f32],
) {
    assert!(depth <= dim);
    assert_eq!(q.len(), nq * depth);
    assert_eq!(x.len(), nx * dim);
    assert_eq!(out.len(), nq * nx);
    if nq == 0 || nx == 0 || depth == 0 {
        out.fill(0.0);
        return;
    }
    // SAFETY: the asserts above make every index the strides below can produce lie inside
    // the three slices: dst is nq x nx row-major (row stride nx, column stride 1); lhs is
    // q, nq x depth row-major; rhs is x^T restricted to its first depth rows, depth x nx,
    // read from x (element (k, j) at j*dim + k with k < depth <= dim, so row stride 1 and
    // column stride dim). read_dst = false, so dst need not be initialised and alpha is
    // ignored; the slices do not overlap because `out` is borrowed mutably.
    unsafe {
        gemm::gemm(
            nq,
            nx,
            depth,
            out.as_mut_ptr(),
            1,
            nx as isize,
            false,
            q.as_ptr(),
            1,
            depth as isize,
            x.as_ptr(),
            dim as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_plain_loops(nq in 1usize..9, nx in 1usize..40, dim in 1usize..70, seed in 0u64..1000) {
            let make = |n: usize, salt: u64| -> Vec<f32> {
                (0..n).map(|i| (((i as u64 * 2654435761 + seed * 97 + salt) % 2001) as f32 - 1000.0) / 500.0).collect()
            };
            let q = make(nq * dim, 1);
            let x = make(nx * dim, 2);
            let mut out = vec![0.0f32; nq * nx];
            dot_products(&q, nq, &x, nx, dim, &mut out);
            for i in 0..nq {
                for j in 0..nx {
                    let exact: f64 = (0..dim).map(|t| f64::from(q[i * dim + t]) * f64::from(x[j * dim + t])).sum();
                    prop_assert!((f64::from(out[i * nx + j]) - exact).abs() <= 1e-4 * (dim as f64) * 4.0);
                }
            }
        }

        #[test]
        fn prefix_products_match_plain_loops(nq in 1usize..9, nx in 1usize..40, dim in 1usize..70, cut in 0usize..70, seed in 0u64..1000) {
            let depth = cut.min(dim);
            let make = |n: usize, salt: u64| -> Vec<f32> {
                (0..n).map(|i| (((i as u64 * 2654435761 + seed * 97 + salt) % 2001) as f32 - 1000.0) / 500.0).collect()
            };
            let q = make(nq * depth, 1);
            let x = make(nx * dim, 2);
            let mut out = vec![7.0f32; nq * nx];
            dot_products_prefix(&q, nq, &x, nx, dim, depth, &mut out);
            for i in 0..nq {
                for j in 0..nx {
                    let exact: f64 = (0..depth).map(|t| f64::from(q[i * depth + t]) * f64::from(x[j * dim + t])).sum();
                    prop_assert!((f64::from(out[i * nx + j]) - exact).abs() <= 1e-4 * (depth as f64 + 1.0) * 4.0);
                }
            }
        }
    }
}
