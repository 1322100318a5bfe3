//! The text a full-text index reads from a row, and the terms it becomes.

use crate::filter::FieldPath;
use crate::filter::plan::resolve_path;
use quiver_index::text::Analyzer;
use serde_json::Value;
use std::collections::BTreeMap;

/// A row's terms: term → frequency, and the row's length (the number of terms).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RowTerms {
    pub tfs: BTreeMap<String, u32>,
    pub len: u32,
    /// The row has something to index (a text, or a string in an indexed field), even if it
    /// analyses to no terms: such rows count in N and in the mean length, as in bm25s.
    pub present: bool,
}

/// Where an index's text comes from, with the analyzer.
pub(crate) struct Source {
    pub analyzer: Analyzer,
    /// Empty: the stored text.
    pub paths: Vec<FieldPath>,
    pub fields: Vec<String>,
}

impl Source {
    /// The terms of a row with `payload` and stored `text`, or why a field's value cannot be
    /// indexed (a value that is not a string, an array of strings, null or missing).
    pub fn terms(&self, payload: Option<&Value>, text: Option<&str>) -> Result<RowTerms, String> {
        let mut out = RowTerms::default();
        let mut add = |s: &str| {
            out.present = true;
            self.analyzer.for_each_term(s, |t| {
                *out.tfs.entry(t.to_owned()).or_insert(0) += 1;
                out.len = out.len.saturating_add(1);
            })
        };
        if self.paths.is_empty() {
            if let Some(t) = text {
                add(t);
            }
            return Ok(out);
        }
        for (path, name) in self.paths.iter().zip(&self.fields) {
            let Some(v) = payload.and_then(|p| resolve_path(path, p)) else {
                continue;
            };
            match v {
                Value::Null => {}
                Value::String(s) => add(s),
                Value::Array(items) => {
                    for item in items {
                        match item {
                            Value::String(s) => add(s),
                            Value::Null => {}
                            other => return Err(not_text(name, other)),
                        }
                    }
                }
                other => return Err(not_text(name, other)),
            }
        }
        Ok(out)
    }
}

fn not_text(field: &str, v: &Value) -> String {
    let mut shown = v.to_string();
    if shown.chars().count() > 40 {
        shown = shown.chars().take(40).collect::<String>() + "…";
    }
    format!(
        "field '{field}' is full-text indexed but holds {shown} (strings or arrays of strings only)"
    )
}
