//! Payload indexes: declared per collection on one field path, typed, stored as key-only
//! entries in the collection's `fields` table and changed in the same transaction as the
//! payloads. Filters use them to enumerate matching rows without reading payloads.
//!
//! A typed index is also a constraint: once `year` is indexed as integer, every record's
//! `year` must be an integer, `null`, missing, or an array of integers (each element indexed).
//! That is what lets the planner answer a condition from the index *exactly*: values of
//! other types cannot exist.

use crate::error::{Error, Result};
use crate::filter::FieldPath;
use crate::filter::plan::resolve_path;
use quiver_storage::fields::{self, FieldValue};
use quiver_storage::{CollectionRecord, ReadSnapshot};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Settings key of the declared indexes (a JSON array of [`PayloadIndex`]).
pub(crate) const SETTING_KEY: &str = "payload_indexes";

/// The value type a payload index holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PayloadIndexKind {
    /// Strings (exact match, `$in`, ranges in byte order, `$prefix`).
    Keyword,
    /// Integers within i64 (exact match, ranges).
    Integer,
    /// Any number, compared as f64.
    Float,
    Bool,
}

impl PayloadIndexKind {
    pub fn name(self) -> &'static str {
        match self {
            PayloadIndexKind::Keyword => "keyword",
            PayloadIndexKind::Integer => "integer",
            PayloadIndexKind::Float => "float",
            PayloadIndexKind::Bool => "bool",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "keyword" => PayloadIndexKind::Keyword,
            "integer" => PayloadIndexKind::Integer,
            "float" => PayloadIndexKind::Float,
            "bool" => PayloadIndexKind::Bool,
            _ => return None,
        })
    }

    /// `v` as this kind stores it, if it is of this kind.
    pub(crate) fn value<'a>(self, v: &'a Value) -> Option<FieldValue<'a>> {
        match (self, v) {
            (PayloadIndexKind::Keyword, Value::String(s)) => Some(FieldValue::Keyword(s)),
            (PayloadIndexKind::Integer, Value::Number(n)) => n.as_i64().map(FieldValue::Integer),
            (PayloadIndexKind::Float, Value::Number(n)) => n.as_f64().map(FieldValue::Float),
            (PayloadIndexKind::Bool, Value::Bool(b)) => Some(FieldValue::Bool(*b)),
            _ => None,
        }
    }

    /// Any value of this kind (to name the kind in key ranges).
    pub(crate) fn any(self) -> FieldValue<'static> {
        match self {
            PayloadIndexKind::Keyword => FieldValue::Keyword(""),
            PayloadIndexKind::Integer => FieldValue::Integer(0),
            PayloadIndexKind::Float => FieldValue::Float(0.0),
            PayloadIndexKind::Bool => FieldValue::Bool(false),
        }
    }
}

/// One declared payload index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadIndex {
    /// Dotted field path, as in filters.
    pub field: String,
    pub kind: PayloadIndexKind,
}

impl PayloadIndex {
    pub(crate) fn path(&self) -> Result<FieldPath> {
        FieldPath::new(&self.field).map_err(|reason| Error::InvalidParameter {
            name: "payload index field",
            reason,
        })
    }

    /// The index keys of one row's payload, or why the payload breaks the index's type.
    pub(crate) fn entries(
        &self,
        path: &FieldPath,
        payload: Option<&Value>,
        row: u64,
    ) -> std::result::Result<Vec<Vec<u8>>, String> {
        let Some(v) = payload.and_then(|p| resolve_path(path, p)) else {
            return Ok(Vec::new());
        };
        let key = |v: &Value| {
            self.kind
                .value(v)
                .map(|fv| fields::entry_key(&self.field, fv, row))
                .ok_or_else(|| {
                    format!(
                        "field '{}' is indexed as {} but holds {v}",
                        self.field,
                        self.kind.name()
                    )
                })
        };
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => {
                let mut keys = items
                    .iter()
                    .filter(|x| !x.is_null())
                    .map(key)
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                keys.sort_unstable();
                keys.dedup();
                Ok(keys)
            }
            scalar => Ok(vec![key(scalar)?]),
        }
    }
}

/// The collection's declared payload indexes.
pub(crate) fn declared(
    read: &ReadSnapshot,
    record: &CollectionRecord,
) -> Result<Vec<PayloadIndex>> {
    match read.setting(record, SETTING_KEY)? {
        None => Ok(Vec::new()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::corrupted(format!(
                "payload index list of '{}' is not valid: {e}",
                record.name
            ))
        }),
    }
}

pub(crate) fn encode(list: &[PayloadIndex]) -> Result<Vec<u8>> {
    serde_json::to_vec(list).map_err(|e| Error::Internal {
        detail: format!("payload index list: {e}"),
    })
}

/// Index keys of many rows' payloads, for every declared index, with the position of the
/// first record whose payload breaks an index's type.
pub(crate) struct Keys {
    indexes: Vec<(PayloadIndex, FieldPath)>,
}

impl Keys {
    pub fn new(list: Vec<PayloadIndex>) -> Result<Keys> {
        let indexes = list
            .into_iter()
            .map(|i| {
                let path = i.path()?;
                Ok((i, path))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Keys { indexes })
    }

    pub fn is_empty(&self) -> bool {
        self.indexes.is_empty()
    }

    /// Every index key of one row's payload.
    pub fn of(
        &self,
        payload: Option<&Value>,
        row: u64,
    ) -> std::result::Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        for (index, path) in &self.indexes {
            out.extend(index.entries(path, payload, row)?);
        }
        Ok(out)
    }
}
