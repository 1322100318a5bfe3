//! The numbers that stand for metrics and element types in the catalog (file format; see
//! `docs/file-format.md`). Never renumber.

use crate::error::{Error, Result};
use quiver_index::{ElementType, Metric};

pub(crate) fn metric_code(m: Metric) -> u8 {
    match m {
        Metric::Cosine => 1,
        Metric::Dot => 2,
        Metric::L2 => 3,
    }
}

pub(crate) fn metric_from_code(code: u8) -> Result<Metric> {
    match code {
        1 => Ok(Metric::Cosine),
        2 => Ok(Metric::Dot),
        3 => Ok(Metric::L2),
        other => Err(Error::corrupted(format!("unknown metric code {other}"))),
    }
}

pub(crate) fn element_code(e: ElementType) -> u8 {
    match e {
        ElementType::F32 => 1,
        ElementType::F16 => 2,
        ElementType::Bf16 => 3,
    }
}

pub(crate) fn element_from_code(code: u8) -> Result<ElementType> {
    match code {
        1 => Ok(ElementType::F32),
        2 => Ok(ElementType::F16),
        3 => Ok(ElementType::Bf16),
        other => Err(Error::corrupted(format!(
            "unknown element type code {other}"
        ))),
    }
}
