//! The component types a vector can be stored in.
//!
//! The half-width types are simsimd's own (`#[repr(transparent)]` over `u16`), so arenas can be
//! handed to its kernels without any cast; `half` does the rounding to and from `f32`.

use crate::metric::ElementType;
use simsimd::SpatialSimilarity;

pub use simsimd::{bf16, f16};

/// A stored vector component.
pub trait Element: Copy + Send + Sync + PartialEq + SpatialSimilarity + 'static {
    const TYPE: ElementType;
    /// Rounds to the nearest representable value (to +-inf when out of range).
    fn from_f32(x: f32) -> Self;
    fn to_f32(self) -> f32;

    /// Inner product on simsimd's best kernel for this type.
    #[inline]
    fn kernel_dot(a: &[Self], b: &[Self]) -> Option<f64> {
        Self::dot(a, b)
    }
    /// Squared Euclidean distance on simsimd's best kernel for this type.
    #[inline]
    fn kernel_l2sq(a: &[Self], b: &[Self]) -> Option<f64> {
        Self::l2sq(a, b)
    }
    /// Cosine distance on simsimd's best kernel for this type.
    #[inline]
    fn kernel_cos(a: &[Self], b: &[Self]) -> Option<f64> {
        Self::cos(a, b)
    }
}

impl Element for f32 {
    const TYPE: ElementType = ElementType::F32;
    #[inline]
    fn from_f32(x: f32) -> Self {
        x
    }
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
}

impl Element for f16 {
    const TYPE: ElementType = ElementType::F16;
    #[inline]
    fn from_f32(x: f32) -> Self {
        f16(half::f16::from_f32(x).to_bits())
    }
    #[inline]
    fn to_f32(self) -> f32 {
        half::f16::from_bits(self.0).to_f32()
    }
    #[inline]
    fn kernel_dot(a: &[Self], b: &[Self]) -> Option<f64> {
        if half_precision_accumulators() {
            widened::sums(a, b).map(|s| s.ab)
        } else {
            Self::dot(a, b)
        }
    }
    #[inline]
    fn kernel_l2sq(a: &[Self], b: &[Self]) -> Option<f64> {
        if half_precision_accumulators() {
            widened::sums(a, b).map(|s| s.diff2)
        } else {
            Self::l2sq(a, b)
        }
    }
    #[inline]
    fn kernel_cos(a: &[Self], b: &[Self]) -> Option<f64> {
        if half_precision_accumulators() {
            widened::sums(a, b).map(|s| {
                if s.aa == 0.0 || s.bb == 0.0 {
                    1.0
                } else {
                    1.0 - s.ab / (s.aa * s.bb).sqrt()
                }
            })
        } else {
            Self::cos(a, b)
        }
    }
}

/// simsimd's f16 kernels for CPUs with AVX512-FP16 ("sapphire") multiply and accumulate in
/// half precision: sums past 65504 become infinite and ranks come out wrong (measured: an
/// L2 of 69074 returned as inf). On those CPUs f16 vectors are widened to f32 in short
/// chunks and go through the f32 kernels instead; every other CPU keeps simsimd's f16 path,
/// which widens before accumulating.
fn half_precision_accumulators() -> bool {
    static SAPPHIRE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SAPPHIRE.get_or_init(simsimd::capabilities::uses_sapphire)
}

mod widened {
    use super::f16;
    use simsimd::SpatialSimilarity;

    pub(super) struct Sums {
        pub ab: f64,
        pub aa: f64,
        pub bb: f64,
        pub diff2: f64,
    }

    const CHUNK: usize = 256;

    /// Dot product, both squared norms and the squared distance, through f32 kernels.
    pub(super) fn sums(a: &[f16], b: &[f16]) -> Option<Sums> {
        if a.len() != b.len() {
            return None;
        }
        let mut s = Sums {
            ab: 0.0,
            aa: 0.0,
            bb: 0.0,
            diff2: 0.0,
        };
        let (mut wa, mut wb) = ([0f32; CHUNK], [0f32; CHUNK]);
        for (ca, cb) in a.chunks(CHUNK).zip(b.chunks(CHUNK)) {
            let (wa, wb) = (&mut wa[..ca.len()], &mut wb[..cb.len()]);
            widen(ca, wa);
            widen(cb, wb);
            s.ab += f32::dot(wa, wb)?;
            s.aa += f32::dot(wa, wa)?;
            s.bb += f32::dot(wb, wb)?;
            s.diff2 += f32::l2sq(wa, wb)?;
        }
        Some(s)
    }

    #[allow(unsafe_code)]
    fn widen(src: &[f16], dst: &mut [f32]) {
        use half::slice::HalfFloatSliceExt;
        // SAFETY: simsimd's `f16` and `half::f16` are both `repr(transparent)` over a `u16`
        // holding the IEEE binary16 bits, so the slices have the same layout and length.
        let src: &[half::f16] =
            unsafe { std::slice::from_raw_parts(src.as_ptr().cast::<half::f16>(), src.len()) };
        // `half` converts with F16C instructions when the CPU has them (detected at run time).
        src.convert_to_f32_slice(dst);
    }
}

impl Element for bf16 {
    const TYPE: ElementType = ElementType::Bf16;
    #[inline]
    fn from_f32(x: f32) -> Self {
        bf16(half::bf16::from_f32(x).to_bits())
    }
    #[inline]
    fn to_f32(self) -> f32 {
        half::bf16::from_bits(self.0).to_f32()
    }
}

/// Converts a slice of f32 to `E`, appending to `out`.
pub fn convert_into<E: Element>(src: &[f32], out: &mut Vec<E>) {
    out.extend(src.iter().map(|&x| E::from_f32(x)));
}

/// Widens a slice of `E` into `out` (cleared first).
pub fn widen_into<E: Element>(src: &[E], out: &mut Vec<f32>) {
    out.clear();
    out.extend(src.iter().map(|x| x.to_f32()));
}
