//! Evaluating a filter on one payload: the reference semantics (module docs of `filter`).
//! The planner's index paths are tested against this.

use super::{Condition, FieldPath, Filter};
use serde_json::{Number, Value};
use std::cmp::Ordering;

pub(super) fn matches(filter: &Filter, payload: &Value) -> bool {
    match filter {
        Filter::And(children) => children.iter().all(|c| matches(c, payload)),
        Filter::Or(children) => children.iter().any(|c| matches(c, payload)),
        Filter::Not(child) => !matches(child, payload),
        Filter::Field { path, condition } => holds(condition, resolve(path, payload)),
    }
}

/// The value at `path`, if the path exists.
pub(crate) fn resolve<'a>(path: &FieldPath, payload: &'a Value) -> Option<&'a Value> {
    let mut at = payload;
    for segment in path.segments() {
        at = match at {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

fn holds(condition: &Condition, field: Option<&Value>) -> bool {
    match condition {
        Condition::Eq(v) => field.is_some_and(|f| equal_or_member(f, v)),
        Condition::Ne(v) => !field.is_some_and(|f| equal_or_member(f, v)),
        Condition::In(vs) => field.is_some_and(|f| vs.iter().any(|v| equal_or_member(f, v))),
        Condition::Nin(vs) => !field.is_some_and(|f| vs.iter().any(|v| equal_or_member(f, v))),
        Condition::Gt(v) => any_element(field, |x| order(x, v) == Some(Ordering::Greater)),
        Condition::Gte(v) => any_element(field, |x| {
            matches!(order(x, v), Some(Ordering::Greater | Ordering::Equal))
        }),
        Condition::Lt(v) => any_element(field, |x| order(x, v) == Some(Ordering::Less)),
        Condition::Lte(v) => any_element(field, |x| {
            matches!(order(x, v), Some(Ordering::Less | Ordering::Equal))
        }),
        Condition::Exists(yes) => field.is_some() == *yes,
        Condition::Contains(needle) => any_element(field, |x| {
            x.as_str().is_some_and(|s| s.contains(needle.as_str()))
        }),
        Condition::Prefix(prefix) => any_element(field, |x| {
            x.as_str().is_some_and(|s| s.starts_with(prefix.as_str()))
        }),
    }
}

/// `f == v`, or `f` is an array with an element equal to the non-array `v`.
fn equal_or_member(f: &Value, v: &Value) -> bool {
    json_equal(f, v)
        || (!v.is_array()
            && f.as_array()
                .is_some_and(|items| items.iter().any(|x| json_equal(x, v))))
}

/// The field itself, or any element when it is an array.
fn any_element(field: Option<&Value>, test: impl Fn(&Value) -> bool) -> bool {
    match field {
        Some(Value::Array(items)) => items.iter().any(test),
        Some(v) => test(v),
        None => false,
    }
}

/// JSON equality with numbers compared by value.
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_equal(a, b)))
        }
        _ => a == b,
    }
}

/// Order of numbers with numbers and strings with strings; `None` for any other pairing.
fn order(x: &Value, v: &Value) -> Option<Ordering> {
    match (x, v) {
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
        (Value::String(a), Value::String(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        _ => None,
    }
}

/// Integers compare exactly (as i128); anything else as f64.
pub(crate) fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

pub(crate) fn integer(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

#[cfg(test)]
mod tests {
    use super::super::Filter;
    use serde_json::{Value, json};

    fn check(filter: Value, payload: Value, want: bool) {
        let f = Filter::from_json(&filter).unwrap();
        assert_eq!(f.matches(&payload), want, "{filter} on {payload}");
    }

    #[test]
    fn documented_semantics() {
        let p = json!({"year": 2015, "score": 0.5, "tag": ["a", "b"], "name": "Ada Lovelace",
                       "meta": {"lang": "en", "n": null}, "flag": true});
        let table = [
            (json!({"year": 2015}), true),
            (json!({"year": 2015.0}), true),
            (json!({"year": "2015"}), false),
            (json!({"year": {"$gte": 2010, "$lt": 2016}}), true),
            (json!({"year": {"$gt": 2015}}), false),
            (json!({"year": {"$gt": "2000"}}), false),
            (json!({"score": {"$lt": 1}}), true),
            (json!({"tag": "a"}), true),
            (json!({"tag": ["a", "b"]}), true),
            (json!({"tag": ["b", "a"]}), false),
            (json!({"tag": {"$in": ["z", "b"]}}), true),
            (json!({"tag": {"$nin": ["z", "b"]}}), false),
            (json!({"tag": {"$ne": "c"}}), true),
            (json!({"tag": {"$gt": "a"}}), true),
            (json!({"missing": {"$ne": 1}}), true),
            (json!({"missing": {"$nin": [1]}}), true),
            (json!({"missing": {"$gt": 1}}), false),
            (json!({"missing": null}), false),
            (json!({"meta.n": null}), true),
            (json!({"meta.n": {"$exists": true}}), true),
            (json!({"meta.x": {"$exists": false}}), true),
            (json!({"meta.lang": "en"}), true),
            (json!({"tag.1": "b"}), true),
            (json!({"name": {"$contains": "Love"}}), true),
            (json!({"name": {"$prefix": "Ada"}}), true),
            (json!({"name": {"$prefix": "Love"}}), false),
            (json!({"tag": {"$prefix": "b"}}), true),
            (json!({"flag": true}), true),
            (json!({"flag": 1}), false),
            (json!({"flag": {"$ne": false}}), true),
            (json!({"$not": {"tag": {"$in": ["a"]}}}), false),
            (json!({"$or": [{"year": 1}, {"flag": true}]}), true),
            (json!({"$and": [{"year": 2015}, {"flag": false}]}), false),
            (json!({}), true),
        ];
        for (filter, want) in table {
            check(filter, p.clone(), want);
        }
        // Records without payload behave as {}.
        check(json!({"a": {"$ne": 1}}), json!({}), true);
        check(json!({"a": {"$exists": true}}), json!({}), false);
    }

    #[test]
    fn large_integers_compare_exactly() {
        let big = json!({"n": 9_007_199_254_740_993u64});
        check(json!({"n": 9_007_199_254_740_992u64}), big.clone(), false);
        check(json!({"n": {"$gt": 9_007_199_254_740_992u64}}), big, true);
        check(json!({"n": {"$lt": 0}}), json!({"n": -1}), true);
        check(json!({"n": {"$gt": -1}}), json!({"n": u64::MAX}), true);
    }
}
