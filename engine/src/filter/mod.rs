//! Boolean filters over payload fields: `and`, `or`, `not` over field conditions, exact under
//! every search path.
//!
//! Build one in Rust or parse the JSON form (the MongoDB / Chroma / Pinecone convention):
//!
//! ```
//! use quiver::filter::Filter;
//! use serde_json::json;
//!
//! let typed = Filter::and([
//!     Filter::field("year").gte(2010),
//!     Filter::not(Filter::field("tag").is_in(["a", "b"])),
//! ]);
//! let parsed = Filter::from_json(&json!(
//!     {"$and": [{"year": {"$gte": 2010}}, {"$not": {"tag": {"$in": ["a", "b"]}}}]}
//! ))?;
//! assert_eq!(typed, parsed);
//! assert!(typed.matches(&json!({"year": 2015, "tag": "c"})));
//! assert!(!typed.matches(&json!({"year": 2015, "tag": ["x", "a"]})));
//! # Ok::<(), quiver::Error>(())
//! ```
//!
//! ## JSON form
//! - A filter is an object. Each key is a field path (`"a.b"` walks nested objects; a numeric
//!   segment indexes an array) or a connective: `$and` / `$or` (a non-empty array of filters),
//!   `$not` (a filter). Several keys in one object must all hold (an implicit `$and`); `{}`
//!   matches every record.
//! - A field's value is either a bare value (meaning `$eq`) or an object of operators, all
//!   of which must hold: `$eq $ne $gt $gte $lt $lte $in $nin $exists $contains $prefix`.
//!   An object without `$` keys is a literal to compare with `$eq`; mixing both is an error.
//!
//! ## Semantics (no silent coercion)
//! - `$eq`: JSON equality; numbers compare by value (`1 == 1.0`); no string/number/bool
//!   conversion. If the field holds an array and the operand is not one, it matches when any
//!   element is equal (array membership). `$eq: null` matches an explicit `null` only; use
//!   `$exists` for missing fields.
//! - `$ne` is `not $eq`, and `$nin` is `not $in`: both match records *without* the field.
//! - `$gt $gte $lt $lte`: the operand must be a number or a string. Numbers compare with
//!   numbers, strings with strings (byte order); any other pairing (missing field, `null`,
//!   bool, number vs string) is false. On an array field, any element may satisfy it.
//! - `$in`: an array of values, each compared as `$eq` (at most [`MAX_IN_VALUES`]).
//! - `$exists`: `true` when the path resolves, even to `null`.
//! - `$contains` / `$prefix`: a string operand; substring / prefix of a string field (or of
//!   any string element of an array field). Other types are false.
//! - Records without a payload behave as `{}`.
//!
//! Limits: connectives nest at most [`MAX_DEPTH`] deep; a filter has at most [`MAX_NODES`]
//! conditions; field paths are at most [`MAX_PATH_BYTES`]. Violations, unknown operators,
//! wrong operand types and malformed JSON are [`crate::Error::InvalidFilter`] naming the
//! offending part (e.g. `$and[1].$not.tag.$in`).

mod collection;
mod eval;
mod maintain;
mod parse;
pub(crate) mod payload_index;
pub(crate) mod plan;

pub(crate) use maintain::{allowed_rows, check_payload_indexes, index_deletes, index_puts};
pub use payload_index::{PayloadIndex, PayloadIndexKind};

use serde_json::Value;

/// Deepest nesting of `$and` / `$or` / `$not`.
pub const MAX_DEPTH: usize = 32;
/// Most field conditions in one filter.
pub const MAX_NODES: usize = 1024;
/// Most values in one `$in` / `$nin`.
pub const MAX_IN_VALUES: usize = 10_000;
/// Longest field path, in bytes.
pub const MAX_PATH_BYTES: usize = 256;

/// A boolean expression over payload fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// All hold (`And(vec![])` matches everything).
    And(Vec<Filter>),
    /// At least one holds.
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// A condition on one field.
    Field {
        path: FieldPath,
        condition: Condition,
    },
}

/// A dotted path into the payload (`"a.b.0"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldPath {
    text: String,
    segments: Vec<String>,
}

impl FieldPath {
    /// Splits `text` at dots; empty segments and over-long paths are refused.
    pub fn new(text: &str) -> Result<FieldPath, String> {
        if text.is_empty() {
            return Err("the field path is empty".into());
        }
        if text.len() > MAX_PATH_BYTES {
            return Err(format!("field path longer than {MAX_PATH_BYTES} bytes"));
        }
        if text.starts_with('$') {
            return Err(format!("unknown operator '{text}'"));
        }
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!("field path '{text}' has an empty segment"));
        }
        Ok(FieldPath {
            text: text.to_owned(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn segments(&self) -> &[String] {
        &self.segments
    }
}

/// What a field must satisfy.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Eq(Value),
    Ne(Value),
    /// Operand: a number or a string.
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Exists(bool),
    Contains(String),
    Prefix(String),
}

impl Filter {
    /// Starts a condition on the field at `path` (dotted). The path is checked when the
    /// filter is used (an invalid one is an [`crate::Error::InvalidFilter`] then).
    pub fn field(path: &str) -> FieldFilter {
        FieldFilter {
            path: FieldPath {
                text: path.to_owned(),
                segments: path.split('.').map(str::to_owned).collect(),
            },
        }
    }

    /// Checks a filter built in code against the rules `from_json` applies (paths, operand
    /// types, limits). Every search and `*_where` call does this first.
    pub fn validate(&self) -> crate::Result<()> {
        parse::check(self)
    }

    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::And(filters.into_iter().collect())
    }

    pub fn or(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::Or(filters.into_iter().collect())
    }

    #[allow(clippy::should_implement_trait)] // `Filter::not(f)` reads as the connective.
    pub fn not(filter: Filter) -> Filter {
        Filter::Not(Box::new(filter))
    }

    /// Parses the JSON form (see the module docs).
    pub fn from_json(value: &Value) -> crate::Result<Filter> {
        parse::parse(value)
    }

    /// Parses JSON text; malformed JSON is an `InvalidFilter` with serde's position.
    pub fn parse(text: &str) -> crate::Result<Filter> {
        let value: Value = serde_json::from_str(text).map_err(|e| crate::Error::InvalidFilter {
            at: String::new(),
            reason: format!("malformed JSON: {e}"),
        })?;
        parse::parse(&value)
    }

    /// The JSON form; `Filter::from_json(&f.to_json())` gives `f` back.
    pub fn to_json(&self) -> Value {
        parse::to_json(self)
    }

    /// Whether a payload satisfies the filter (`None`: a record without payload, seen as `{}`).
    pub fn matches(&self, payload: &Value) -> bool {
        eval::matches(self, payload)
    }
}

/// Builder for a condition on one field (`Filter::field("year").gte(2010)`).
#[derive(Clone, Debug)]
pub struct FieldFilter {
    path: FieldPath,
}

macro_rules! conditions {
    ($($(#[$doc:meta])* $name:ident => $variant:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(self, value: impl Into<Value>) -> Filter {
            self.with(Condition::$variant(value.into()))
        }
    )*};
}

impl FieldFilter {
    fn with(self, condition: Condition) -> Filter {
        Filter::Field {
            path: self.path,
            condition,
        }
    }

    conditions! {
        eq => Eq,
        ne => Ne,
        /// Numbers or strings only: other operands never match (`Filter::from_json` refuses them).
        gt => Gt,
        gte => Gte,
        lt => Lt,
        lte => Lte,
    }

    pub fn is_in<V: Into<Value>>(self, values: impl IntoIterator<Item = V>) -> Filter {
        self.with(Condition::In(values.into_iter().map(Into::into).collect()))
    }

    pub fn not_in<V: Into<Value>>(self, values: impl IntoIterator<Item = V>) -> Filter {
        self.with(Condition::Nin(values.into_iter().map(Into::into).collect()))
    }

    pub fn exists(self, yes: bool) -> Filter {
        self.with(Condition::Exists(yes))
    }

    pub fn contains(self, needle: impl Into<String>) -> Filter {
        self.with(Condition::Contains(needle.into()))
    }

    pub fn prefix(self, prefix: impl Into<String>) -> Filter {
        self.with(Condition::Prefix(prefix.into()))
    }
}
