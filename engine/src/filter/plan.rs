//! From a filter to the exact set of matching rows.
//!
//! Conditions on indexed fields are answered from the payload indexes (key-range scans);
//! `and`/`or`/`not` of answered parts are set algebra over the live rows. Whatever the indexes
//! cannot answer is evaluated on payloads: only on the rows the answered conjuncts allow when
//! the filter is an `and`, otherwise on every payload. The result is exact either way; the
//! indexes only make it cheaper. Its size is the filter's selectivity, which the search
//! paths use to choose between an exact scan of the matching rows and a filtered IVF probe.

use super::eval::integer;
use super::payload_index::{PayloadIndex, PayloadIndexKind};
use super::{Condition, FieldPath, Filter};
use crate::error::{Error, Result};
use quiver_index::RowSet;
use quiver_storage::fields::{self, FieldValue};
use quiver_storage::{CollectionRecord, ReadSnapshot};
use serde_json::{Number, Value};
use std::collections::HashMap;
use std::ops::Bound;

pub(crate) use super::eval::resolve as resolve_path;

pub(crate) struct Planner<'a> {
    read: &'a ReadSnapshot,
    record: &'a CollectionRecord,
    indexes: HashMap<&'a str, PayloadIndexKind>,
    /// Every live row.
    universe: &'a RowSet,
}

/// Below this share of the rows, a residual condition reads payloads row by row; above it,
/// one pass over the payload table is cheaper.
const POINT_LOOKUP_SHARE: usize = 4;

impl<'a> Planner<'a> {
    pub fn new(
        read: &'a ReadSnapshot,
        record: &'a CollectionRecord,
        indexes: &'a [PayloadIndex],
        universe: &'a RowSet,
    ) -> Self {
        Planner {
            read,
            record,
            indexes: indexes.iter().map(|i| (i.field.as_str(), i.kind)).collect(),
            universe,
        }
    }

    /// The live rows whose payload satisfies `filter`.
    pub fn matching_rows(&self, filter: &Filter) -> Result<RowSet> {
        if let Some(set) = self.exact(filter)? {
            return Ok(set);
        }
        let candidates = match filter {
            Filter::And(children) => {
                let mut narrowed: Option<RowSet> = None;
                for child in children {
                    if let Some(set) = self.exact(child)? {
                        match &mut narrowed {
                            Some(n) => n.intersect_with(&set),
                            None => narrowed = Some(set),
                        }
                    }
                }
                narrowed
            }
            _ => None,
        };
        self.evaluate(filter, candidates)
    }

    /// The matching set when the indexes alone decide it.
    fn exact(&self, filter: &Filter) -> Result<Option<RowSet>> {
        Ok(match filter {
            Filter::And(children) => {
                let mut all = self.universe.clone();
                for child in children {
                    let Some(set) = self.exact(child)? else {
                        return Ok(None);
                    };
                    all.intersect_with(&set);
                }
                Some(all)
            }
            Filter::Or(children) => {
                let mut any = RowSet::new();
                for child in children {
                    let Some(set) = self.exact(child)? else {
                        return Ok(None);
                    };
                    any.union_with(&set);
                }
                Some(any)
            }
            Filter::Not(child) => self.exact(child)?.map(|set| self.complement(&set)),
            Filter::Field { path, condition } => match self.indexes.get(path.as_str()) {
                Some(&kind) => self.condition(path, kind, condition)?,
                None => None,
            },
        })
    }

    fn complement(&self, set: &RowSet) -> RowSet {
        let mut out = self.universe.clone();
        out.difference_with(set);
        out
    }

    fn condition(
        &self,
        path: &FieldPath,
        kind: PayloadIndexKind,
        condition: &Condition,
    ) -> Result<Option<RowSet>> {
        let field = path.as_str();
        Ok(match condition {
            Condition::Eq(v) => self.equal(field, kind, v)?,
            Condition::Ne(v) => self.equal(field, kind, v)?.map(|s| self.complement(&s)),
            Condition::In(values) | Condition::Nin(values) => {
                let mut any = RowSet::new();
                for v in values {
                    let Some(set) = self.equal(field, kind, v)? else {
                        return Ok(None);
                    };
                    any.union_with(&set);
                }
                Some(if matches!(condition, Condition::Nin(_)) {
                    self.complement(&any)
                } else {
                    any
                })
            }
            Condition::Gt(v) => self.compare(field, kind, v, Side::Above, false)?,
            Condition::Gte(v) => self.compare(field, kind, v, Side::Above, true)?,
            Condition::Lt(v) => self.compare(field, kind, v, Side::Below, false)?,
            Condition::Lte(v) => self.compare(field, kind, v, Side::Below, true)?,
            Condition::Prefix(p) => match kind {
                PayloadIndexKind::Keyword => {
                    Some(self.scan(&fields::keyword_prefix_range(field, p))?)
                }
                // String conditions never hold on a non-string index's values.
                _ => Some(RowSet::new()),
            },
            Condition::Contains(_) => match kind {
                PayloadIndexKind::Keyword => None,
                _ => Some(RowSet::new()),
            },
            // Nulls and empty arrays have no entries: existence needs the payloads.
            Condition::Exists(_) => None,
        })
    }

    /// Rows whose field equals `v` (or holds it as an element).
    fn equal(&self, field: &str, kind: PayloadIndexKind, v: &Value) -> Result<Option<RowSet>> {
        let value = match (kind, v) {
            (_, Value::Null | Value::Array(_) | Value::Object(_)) => return Ok(None),
            (PayloadIndexKind::Integer, Value::Number(n)) => match exact_integer(n) {
                Some(i) => FieldValue::Integer(i),
                // No stored integer equals 2.5 (or anything beyond i64).
                None => return Ok(Some(RowSet::new())),
            },
            _ => match kind.value(v) {
                Some(value) => value,
                // A scalar of another type: the typed index says no row holds one.
                None => return Ok(Some(RowSet::new())),
            },
        };
        let range = fields::range(field, value, Bound::Included(value), Bound::Included(value));
        Ok(Some(self.scan(&range)?))
    }

    fn compare(
        &self,
        field: &str,
        kind: PayloadIndexKind,
        v: &Value,
        side: Side,
        inclusive: bool,
    ) -> Result<Option<RowSet>> {
        let bound = match (kind, v) {
            (PayloadIndexKind::Keyword, Value::String(s)) => FieldValue::Keyword(s),
            (PayloadIndexKind::Float, Value::Number(n)) => match n.as_f64() {
                Some(f) => FieldValue::Float(f),
                None => return Ok(None),
            },
            (PayloadIndexKind::Integer, Value::Number(n)) => {
                match integer_bound(n, side, inclusive) {
                    Some((i, inclusive)) => return self.integer_range(field, i, side, inclusive),
                    None => return Ok(None),
                }
            }
            // Numbers vs strings, and anything vs bools, never compare.
            _ => return Ok(Some(RowSet::new())),
        };
        let b = if inclusive {
            Bound::Included(bound)
        } else {
            Bound::Excluded(bound)
        };
        let range = match side {
            Side::Above => fields::range(field, kind.any(), b, Bound::Unbounded),
            Side::Below => fields::range(field, kind.any(), Bound::Unbounded, b),
        };
        Ok(Some(self.scan(&range)?))
    }

    fn integer_range(
        &self,
        field: &str,
        i: i64,
        side: Side,
        inclusive: bool,
    ) -> Result<Option<RowSet>> {
        let b = if inclusive {
            Bound::Included(FieldValue::Integer(i))
        } else {
            Bound::Excluded(FieldValue::Integer(i))
        };
        let any = FieldValue::Integer(0);
        let range = match side {
            Side::Above => fields::range(field, any, b, Bound::Unbounded),
            Side::Below => fields::range(field, any, Bound::Unbounded, b),
        };
        Ok(Some(self.scan(&range)?))
    }

    fn scan(&self, range: &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> Result<RowSet> {
        let mut set = RowSet::new();
        self.read.for_each_field_row(self.record, range, |row| {
            set.insert(row);
        })?;
        Ok(set)
    }

    /// Evaluates `filter` on payloads: of `candidates` (a superset of the answer) or of every
    /// live row.
    fn evaluate(&self, filter: &Filter, candidates: Option<RowSet>) -> Result<RowSet> {
        let mut out = RowSet::new();
        let parse = |row: u64, bytes: &[u8]| -> Result<Value> {
            serde_json::from_slice(bytes)
                .map_err(|e| Error::corrupted(format!("payload of row {row} is not JSON: {e}")))
        };
        let scope = candidates.as_ref().unwrap_or(self.universe);
        let without_payload_matches = filter.matches(&Value::Object(Default::default()));
        if scope.len().saturating_mul(POINT_LOOKUP_SHARE) < self.universe.len() {
            let reader = self.read.row_reader(self.record)?;
            for row in scope.iter() {
                let matched = match reader.payload(row)? {
                    Some(bytes) => filter.matches(&parse(row, &bytes)?),
                    None => without_payload_matches,
                };
                if matched {
                    out.insert(row);
                }
            }
            return Ok(out);
        }
        let mut with_payload = RowSet::new();
        let mut failure = None;
        self.read.for_each_payload(self.record, |row, bytes| {
            if !scope.contains(row) {
                return Ok(());
            }
            with_payload.insert(row);
            match parse(row, bytes) {
                Ok(value) if filter.matches(&value) => {
                    out.insert(row);
                }
                Ok(_) => {}
                Err(e) => failure = Some(e),
            }
            Ok(())
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        if without_payload_matches {
            let mut bare = scope.clone();
            bare.difference_with(&with_payload);
            out.union_with(&bare);
        }
        Ok(out)
    }
}

#[derive(Clone, Copy)]
enum Side {
    Above,
    Below,
}

/// `n` as an i64 when it is a whole number in range (`5.0` counts: it equals 5).
fn exact_integer(n: &Number) -> Option<i64> {
    if let Some(i) = integer(n) {
        return i64::try_from(i).ok();
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
}

/// The i64 bound equivalent, over integers, to comparing with `n`: `x > 2.5` is `x >= 3`,
/// `x <= 2.5` is `x <= 2`. `None` when `n` lies beyond what i64 bounds express simply.
fn integer_bound(n: &Number, side: Side, inclusive: bool) -> Option<(i64, bool)> {
    if let Some(i) = exact_integer(n) {
        return Some((i, inclusive));
    }
    let f = n.as_f64()?;
    if f.abs() >= 9.0e18 {
        return None;
    }
    Some(match side {
        Side::Above => (f.ceil() as i64, true),
        Side::Below => (f.floor() as i64, true),
    })
}
