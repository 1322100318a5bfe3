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
