//! What a collection measures and how it stores its components.

use std::fmt;
use std::str::FromStr;

/// How closeness between two vectors is measured.
///
/// Internally every metric is turned into a *distance* (smaller is closer) so that one top-k
/// routine serves them all; [`Metric::score`] converts back to the number users expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Cosine similarity. Score in [-1, 1], larger is closer.
    Cosine,
    /// Inner product. Score unbounded, larger is closer.
    Dot,
    /// Squared Euclidean distance. Score >= 0, smaller is closer (the FAISS convention).
    L2,
}

impl Metric {
    /// Converts an internal distance (smaller is closer) to the user-facing score.
    pub fn score(self, distance: f32) -> f32 {
        match self {
            Metric::Cosine => 1.0 - distance,
            Metric::Dot => -distance,
            Metric::L2 => distance,
        }
    }

    /// True when a larger score means closer.
    pub fn higher_is_closer(self) -> bool {
        !matches!(self, Metric::L2)
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::L2 => "l2",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" | "cos" => Ok(Metric::Cosine),
            "dot" | "ip" | "inner_product" => Ok(Metric::Dot),
            "l2" | "euclidean" => Ok(Metric::L2),
            other => Err(format!(
                "unknown metric '{other}' (expected cosine, dot or l2)"
            )),
        }
    }
}

/// How vector components are stored (in memory and on disk).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    /// 32-bit IEEE float: exact, 4 bytes per component.
    F32,
    /// 16-bit IEEE half: 2 bytes, ~3 significant digits, range +-65504.
    F16,
    /// bfloat16: 2 bytes, f32's range with ~2 significant digits; the fastest kernel on
    /// CPUs with AVX-512 BF16.
    Bf16,
}

impl ElementType {
    pub fn size_bytes(self) -> usize {
        match self {
            ElementType::F32 => 4,
            ElementType::F16 | ElementType::Bf16 => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ElementType::F32 => "f32",
            ElementType::F16 => "f16",
            ElementType::Bf16 => "bf16",
        }
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ElementType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(ElementType::F32),
            "f16" | "float16" | "half" => Ok(ElementType::F16),
            "bf16" | "bfloat16" => Ok(ElementType::Bf16),
            other => Err(format!(
                "unknown element type '{other}' (expected f32, f16 or bf16)"
            )),
        }
    }
}
