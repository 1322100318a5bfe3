//! Input checks. Every rule here has a test in `tests/integration/validation.rs`.

use crate::error::{Error, Result, VectorProblem};
use crate::limits::*;
use crate::schema::Schema;
use quiver_index::{Element, ElementType, Metric, bf16, f16};

pub(crate) fn collection_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidCollectionName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_COLLECTION_NAME {
        return bad(&format!("longer than {MAX_COLLECTION_NAME} bytes"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return bad("it must start with a letter or digit");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return bad(&format!(
            "'{c}' is not allowed (letters, digits, _ - . only)"
        ));
    }
    Ok(())
}

pub(crate) fn dimension(dim: usize) -> Result<()> {
    if dim == 0 || dim > MAX_DIM {
        return Err(Error::InvalidParameter {
            name: "dimension",
            reason: format!("{dim} is not between 1 and {MAX_DIM}"),
        });
    }
    Ok(())
}

pub(crate) fn id(position: usize, id: &str) -> Result<()> {
    let bad = |reason: String| Err(Error::InvalidId { position, reason });
    if id.is_empty() {
        return bad("it is empty".into());
    }
    if id.len() > MAX_ID_BYTES {
        return bad(format!("{} bytes is longer than {MAX_ID_BYTES}", id.len()));
    }
    if id.contains('\0') {
        return bad("it contains a NUL character".into());
    }
    Ok(())
}

/// Checks the payload and returns its compact JSON text.
pub(crate) fn payload(position: usize, value: &serde_json::Value) -> Result<Vec<u8>> {
    if !value.is_object() {
        return Err(Error::InvalidPayload {
            position,
            reason: format!("it must be a JSON object, not {}", json_kind(value)),
        });
    }
    let text = serde_json::to_vec(value).map_err(|e| Error::InvalidPayload {
        position,
        reason: e.to_string(),
    })?;
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::PayloadTooLarge {
            position,
            size: text.len(),
            max: MAX_PAYLOAD_BYTES,
        });
    }
    Ok(text)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Checks a vector against the collection: dimension, finite components that survive rounding
/// to the stored element type, and (for cosine) a non-zero norm after that rounding.
pub(crate) fn vector(position: Option<usize>, v: &[f32], schema: &Schema) -> Result<()> {
    if v.len() != schema.dim {
        return Err(Error::DimensionMismatch {
            expected: schema.dim,
            found: v.len(),
            position,
        });
    }
    let problem = |problem| Err(Error::InvalidVector { position, problem });
    if let Some((index, &value)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return problem(VectorProblem::NotFinite { index, value });
    }
    let stored = |x: f32| match schema.element {
        ElementType::F32 => x,
        ElementType::F16 => Element::to_f32(<f16 as Element>::from_f32(x)),
        ElementType::Bf16 => Element::to_f32(<bf16 as Element>::from_f32(x)),
    };
    if schema.element != ElementType::F32
        && let Some((index, &value)) = v.iter().enumerate().find(|(_, x)| !stored(**x).is_finite())
    {
        return problem(VectorProblem::OutOfRange {
            index,
            value,
            element_type: schema.element.name(),
        });
    }
    if schema.metric == Metric::Cosine && v.iter().all(|&x| stored(x) == 0.0) {
        return problem(VectorProblem::ZeroNorm);
    }
    Ok(())
}

pub(crate) fn search_parameter(name: &'static str, value: usize) -> Result<()> {
    if value == 0 || value > 1 << 20 {
        return Err(Error::InvalidParameter {
            name,
            reason: format!("{value} is not between 1 and {}", 1 << 20),
        });
    }
    Ok(())
}

/// A Matryoshka prefix length (`SearchOptions::dims`): 1..=dim, the same rule for one-vector
/// and multi-vector collections.
pub(crate) fn dims(dims: Option<usize>, dim: usize) -> Result<()> {
    match dims {
        Some(d) if d == 0 || d > dim => Err(Error::InvalidParameter {
            name: "dims",
            reason: format!("{d} is not between 1 and the dimension {dim}"),
        }),
        _ => Ok(()),
    }
}

pub(crate) fn k(k: usize) -> Result<()> {
    if k == 0 || k > MAX_K {
        return Err(Error::InvalidParameter {
            name: "k",
            reason: format!("{k} is not between 1 and {MAX_K}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(collection_name("docs_2024-v1.x").is_ok());
        for bad in ["", "_x", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(collection_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
