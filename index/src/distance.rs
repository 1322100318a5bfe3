//! Distance kernels. This is the only module that calls simsimd (which picks the best
//! instruction set at run time); [`scalar`] is the slow, obviously-correct twin that
//! accumulates in f64 and is what the kernels are tested against.

use crate::element::Element;
use crate::metric::Metric;

/// Inner product of two equally long vectors.
#[inline]
pub fn dot<E: Element>(a: &[E], b: &[E]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    // simsimd returns None only for slices of different lengths, which callers rule out.
    E::kernel_dot(a, b).map_or(f32::NAN, |d| d as f32)
}

/// Squared Euclidean distance of two equally long vectors.
#[inline]
pub fn l2sq<E: Element>(a: &[E], b: &[E]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    E::kernel_l2sq(a, b).map_or(f32::NAN, |d| d as f32)
}

/// Cosine *distance* (1 - cosine similarity); 1 when either vector is zero.
#[inline]
pub fn cosine_distance<E: Element>(a: &[E], b: &[E]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    E::kernel_cos(a, b).map_or(f32::NAN, |d| d as f32)
}

/// Euclidean norm, accumulated in f64 (used once per stored row, so exactness beats speed).
pub fn norm<E: Element>(v: &[E]) -> f32 {
    v.iter()
        .map(|x| {
            let x = f64::from(x.to_f32());
            x * x
        })
        .sum::<f64>()
        .sqrt() as f32
}

/// Distance (smaller is closer) between two raw vectors under `metric`.
#[inline]
pub fn distance<E: Element>(metric: Metric, a: &[E], b: &[E]) -> f32 {
    match metric {
        Metric::Cosine => cosine_distance(a, b),
        Metric::Dot => -dot(a, b),
        Metric::L2 => l2sq(a, b),
    }
}

/// Reference implementations: plain loops, every component widened to f64.
pub mod scalar {
    use crate::element::Element;
    use crate::metric::Metric;

    pub fn dot<E: Element>(a: &[E], b: &[E]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(x.to_f32()) * f64::from(y.to_f32()))
            .sum()
    }

    pub fn l2sq<E: Element>(a: &[E], b: &[E]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| {
                let d = f64::from(x.to_f32()) - f64::from(y.to_f32());
                d * d
            })
            .sum()
    }

    pub fn cosine_distance<E: Element>(a: &[E], b: &[E]) -> f64 {
        let na = dot(a, a).sqrt();
        let nb = dot(b, b).sqrt();
        if na == 0.0 || nb == 0.0 {
            return 1.0;
        }
        1.0 - dot(a, b) / (na * nb)
    }

    pub fn distance<E: Element>(metric: Metric, a: &[E], b: &[E]) -> f64 {
        match metric {
            Metric::Cosine => cosine_distance(a, b),
            Metric::Dot => -dot(a, b),
            Metric::L2 => l2sq(a, b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::{bf16, f16};
    use proptest::prelude::*;

    /// Kernel error allowed relative to the magnitudes involved (not to the result, which can
    /// be near zero through cancellation).
    fn close(fast: f32, exact: f64, scale: f64, rel: f64) -> bool {
        (f64::from(fast) - exact).abs() <= rel * scale.max(1e-6)
    }

    fn check<E: Element>(a: &[f32], b: &[f32], rel: f64) -> Result<(), TestCaseError> {
        let a: Vec<E> = a.iter().map(|&x| E::from_f32(x)).collect();
        let b: Vec<E> = b.iter().map(|&x| E::from_f32(x)).collect();
        let na = scalar::dot(&a, &a).sqrt();
        let nb = scalar::dot(&b, &b).sqrt();
        let d = scalar::dot(&a, &b);
        prop_assert!(
            close(dot(&a, &b), d, na * nb, rel),
            "dot {} vs {}",
            dot(&a, &b),
            d
        );
        let l = scalar::l2sq(&a, &b);
        prop_assert!(
            close(l2sq(&a, &b), l, (na + nb).powi(2), rel),
            "l2sq {} vs {}",
            l2sq(&a, &b),
            l
        );
        if na > 0.0 && nb > 0.0 {
            let c = scalar::cosine_distance(&a, &b);
            prop_assert!(
                close(cosine_distance(&a, &b), c, 1.0, rel),
                "cos {} vs {}",
                cosine_distance(&a, &b),
                c
            );
        }
        prop_assert!(close(norm(&a), na, na, 1e-6));
        Ok(())
    }

    fn pair() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
        (1usize..300).prop_flat_map(|n| {
            (
                proptest::collection::vec(-100.0f32..100.0, n),
                proptest::collection::vec(-100.0f32..100.0, n),
            )
        })
    }

    proptest! {
        #[test]
        fn f32_kernels_match_scalar((a, b) in pair()) { check::<f32>(&a, &b, 1e-4)?; }

        #[test]
        fn f16_kernels_match_scalar((a, b) in pair()) { check::<f16>(&a, &b, 2e-3)?; }

        #[test]
        fn bf16_kernels_match_scalar((a, b) in pair()) {
            // simsimd converts bf16 differences back to bf16 (truncating) before squaring:
            // up to 2^-7 relative error in the difference, ~1.6% in its square.
            check::<bf16>(&a, &b, 2e-2)?;
        }
    }

    #[test]
    fn known_values() {
        let a = [1.0f32, 0.0, 0.0];
        let b = [0.0f32, 2.0, 0.0];
        assert_eq!(dot(&a, &b), 0.0);
        assert!((l2sq(&a, &b) - 5.0).abs() < 1e-6);
        assert!((cosine_distance(&a, &b) - 1.0).abs() < 1e-6);
        assert!((distance(Metric::Dot, &a, &a) + 1.0).abs() < 1e-6);
    }
}
