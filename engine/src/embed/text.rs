//! Checks on texts before they reach a model.

use crate::error::{Error, Result};
use crate::limits::MAX_TEXT_BYTES;

/// Checks a text before it reaches a model (`position`: its place in a batch, for the
/// error). A text must say something: empty and whitespace-only texts have no meaning to
/// embed (models return a vector for them anyway, which would silently match everything
/// alike); and it must be at most [`MAX_TEXT_BYTES`] long.
pub fn check(position: Option<usize>, text: &str) -> Result<()> {
    let reason = if text.is_empty() {
        "it is empty".to_owned()
    } else if text.trim().is_empty() {
        "it is only whitespace".to_owned()
    } else if text.len() > MAX_TEXT_BYTES {
        format!("it has {} bytes; the limit is {MAX_TEXT_BYTES}", text.len())
    } else {
        return Ok(());
    };
    Err(Error::InvalidText { position, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_blank_and_huge_texts() {
        assert!(check(Some(0), "a").is_ok());
        for bad in ["", " \t\n", "\u{3000}"] {
            assert!(matches!(
                check(Some(3), bad),
                Err(Error::InvalidText {
                    position: Some(3),
                    ..
                })
            ));
        }
        let huge = "x".repeat(MAX_TEXT_BYTES + 1);
        assert!(check(None, &huge).is_err());
    }
}
