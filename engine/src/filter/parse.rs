//! The JSON form of a filter: parsing with located errors, printing, and the same checks for
//! filters built in code.

use super::{Condition, FieldPath, Filter, MAX_DEPTH, MAX_IN_VALUES, MAX_NODES};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

struct Parser {
    nodes: usize,
}

fn err(at: &str, reason: impl Into<String>) -> Error {
    Error::InvalidFilter {
        at: at.to_owned(),
        reason: reason.into(),
    }
}

fn join(at: &str, part: &str) -> String {
    if at.is_empty() {
        part.to_owned()
    } else if part.starts_with('[') {
        format!("{at}{part}")
    } else {
        format!("{at}.{part}")
    }
}

pub(super) fn parse(value: &Value) -> Result<Filter> {
    Parser { nodes: 0 }.filter(value, "", 0)
}

impl Parser {
    fn filter(&mut self, value: &Value, at: &str, depth: usize) -> Result<Filter> {
        if depth > MAX_DEPTH {
            return Err(err(at, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let Value::Object(map) = value else {
            return Err(err(
                at,
                format!("a filter must be a JSON object, not {}", kind(value)),
            ));
        };
        let mut parts = Vec::with_capacity(map.len());
        for (key, v) in map {
            let here = join(at, key);
            parts.push(match key.as_str() {
                "$and" | "$or" => {
                    let Value::Array(items) = v else {
                        return Err(err(&here, format!("expects an array, not {}", kind(v))));
                    };
                    if items.is_empty() {
                        return Err(err(&here, "expects at least one filter"));
                    }
                    let children = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.filter(item, &format!("{here}[{i}]"), depth + 1))
                        .collect::<Result<Vec<_>>>()?;
                    if key == "$and" {
                        Filter::And(children)
                    } else {
                        Filter::Or(children)
                    }
                }
                "$not" => Filter::Not(Box::new(self.filter(v, &here, depth + 1)?)),
                _ if key.starts_with('$') => {
                    return Err(err(
                        &here,
                        format!("unknown operator '{key}' (connectives: $and, $or, $not)"),
                    ));
                }
                _ => self.field(key, v, &here)?,
            });
        }
        Ok(if parts.len() == 1 {
            parts.swap_remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn field(&mut self, key: &str, value: &Value, at: &str) -> Result<Filter> {
        let path = FieldPath::new(key).map_err(|reason| err(at, reason))?;
        let operators = match value {
            Value::Object(map) if map.keys().any(|k| k.starts_with('$')) => map,
            literal => return self.condition(path, Condition::Eq(literal.clone()), at),
        };
        if let Some(plain) = operators.keys().find(|k| !k.starts_with('$')) {
            return Err(err(
                at,
                format!(
                    "mixes operators with the plain key '{plain}' (use $eq for literal objects)"
                ),
            ));
        }
        let mut parts = Vec::with_capacity(operators.len());
        for (op, operand) in operators {
            let here = join(at, op);
            let condition = operator(op, operand).map_err(|reason| err(&here, reason))?;
            parts.push(self.condition(path.clone(), condition, &here)?);
        }
        Ok(if parts.len() == 1 {
            parts.swap_remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn condition(&mut self, path: FieldPath, condition: Condition, at: &str) -> Result<Filter> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(err(at, format!("more than {MAX_NODES} conditions")));
        }
        check_condition(&condition).map_err(|reason| err(at, reason))?;
        Ok(Filter::Field { path, condition })
    }
}

fn operator(op: &str, operand: &Value) -> std::result::Result<Condition, String> {
    let list = || match operand {
        Value::Array(items) => Ok(items.clone()),
        other => Err(format!("expects an array of values, not {}", kind(other))),
    };
    let text = || match operand {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("expects a string, not {}", kind(other))),
    };
    Ok(match op {
        "$eq" => Condition::Eq(operand.clone()),
        "$ne" => Condition::Ne(operand.clone()),
        "$gt" => Condition::Gt(operand.clone()),
        "$gte" => Condition::Gte(operand.clone()),
        "$lt" => Condition::Lt(operand.clone()),
        "$lte" => Condition::Lte(operand.clone()),
        "$in" => Condition::In(list()?),
        "$nin" => Condition::Nin(list()?),
        "$exists" => match operand {
            Value::Bool(b) => Condition::Exists(*b),
            other => return Err(format!("expects true or false, not {}", kind(other))),
        },
        "$contains" => Condition::Contains(text()?),
        "$prefix" => Condition::Prefix(text()?),
        "$and" | "$or" | "$not" => {
            return Err(format!(
                "'{op}' is a connective: put it at filter level, not inside a field"
            ));
        }
        _ => {
            return Err(format!(
                "unknown operator '{op}' (field operators: $eq $ne $gt $gte $lt $lte $in $nin $exists $contains $prefix)"
            ));
        }
    })
}

/// Operand rules shared by parsed and built filters.
fn check_condition(condition: &Condition) -> std::result::Result<(), String> {
    match condition {
        Condition::Gt(v) | Condition::Gte(v) | Condition::Lt(v) | Condition::Lte(v) => match v {
            Value::Number(_) | Value::String(_) => Ok(()),
            other => Err(format!(
                "a comparison needs a number or a string, not {}",
                kind(other)
            )),
        },
        Condition::In(values) | Condition::Nin(values) if values.len() > MAX_IN_VALUES => Err(
            format!("{} values; the limit is {MAX_IN_VALUES}", values.len()),
        ),
        _ => Ok(()),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a filter built in code; locations are given in its canonical JSON form.
pub(super) fn check(filter: &Filter) -> Result<()> {
    let mut nodes = 0;
    check_node(filter, "", 0, &mut nodes)
}

fn check_node(filter: &Filter, at: &str, depth: usize, nodes: &mut usize) -> Result<()> {
    // A parsed filter's implicit `and`s (several keys or operators in one object) are tree
    // nodes too, so a tree may be up to twice as deep as the JSON nesting parse allowed.
    if depth > 2 * MAX_DEPTH + 1 {
        return Err(err(at, format!("nested deeper than {MAX_DEPTH} levels")));
    }
    match filter {
        Filter::And(children) | Filter::Or(children) => {
            let op = if matches!(filter, Filter::And(_)) {
                "$and"
            } else {
                "$or"
            };
            let here = join(at, op);
            if children.is_empty() && op == "$or" {
                return Err(err(&here, "expects at least one filter"));
            }
            for (i, child) in children.iter().enumerate() {
                check_node(child, &format!("{here}[{i}]"), depth + 1, nodes)?;
            }
            Ok(())
        }
        Filter::Not(child) => check_node(child, &join(at, "$not"), depth + 1, nodes),
        Filter::Field { path, condition } => {
            let here = join(at, path.as_str());
            FieldPath::new(path.as_str()).map_err(|reason| err(&here, reason))?;
            *nodes += 1;
            if *nodes > MAX_NODES {
                return Err(err(&here, format!("more than {MAX_NODES} conditions")));
            }
            check_condition(condition)
                .map_err(|reason| err(&join(&here, op_name(condition)), reason))
        }
    }
}

fn op_name(condition: &Condition) -> &'static str {
    match condition {
        Condition::Eq(_) => "$eq",
        Condition::Ne(_) => "$ne",
        Condition::Gt(_) => "$gt",
        Condition::Gte(_) => "$gte",
        Condition::Lt(_) => "$lt",
        Condition::Lte(_) => "$lte",
        Condition::In(_) => "$in",
        Condition::Nin(_) => "$nin",
        Condition::Exists(_) => "$exists",
        Condition::Contains(_) => "$contains",
        Condition::Prefix(_) => "$prefix",
    }
}

/// Canonical JSON: connectives as `$and` / `$or` / `$not`, every condition as
/// `{path: {op: operand}}` (so `from_json(to_json(f)) == f` for valid filters; an empty
/// `And` prints as `{}`, which parses back to the same).
pub(super) fn to_json(filter: &Filter) -> Value {
    let one = |k: &str, v: Value| {
        let mut m = Map::new();
        m.insert(k.to_owned(), v);
        Value::Object(m)
    };
    match filter {
        Filter::And(children) if children.is_empty() => Value::Object(Map::new()),
        Filter::And(children) => one("$and", children.iter().map(to_json).collect()),
        Filter::Or(children) => one("$or", children.iter().map(to_json).collect()),
        Filter::Not(child) => one("$not", to_json(child)),
        Filter::Field { path, condition } => {
            let operand = match condition {
                Condition::Eq(v)
                | Condition::Ne(v)
                | Condition::Gt(v)
                | Condition::Gte(v)
                | Condition::Lt(v)
                | Condition::Lte(v) => v.clone(),
                Condition::In(vs) | Condition::Nin(vs) => Value::Array(vs.clone()),
                Condition::Exists(b) => Value::Bool(*b),
                Condition::Contains(s) | Condition::Prefix(s) => Value::String(s.clone()),
            };
            one(path.as_str(), one(op_name(condition), operand))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fails(v: Value) -> (String, String) {
        match parse(&v) {
            Err(Error::InvalidFilter { at, reason }) => (at, reason),
            other => panic!("{v} parsed: {other:?}"),
        }
    }

    #[test]
    fn bare_values_nested_paths_and_implicit_and() {
        let f = parse(&json!({"a.b": 1, "tag": {"$in": ["x"], "$ne": "y"}})).unwrap();
        assert_eq!(
            f,
            Filter::and([
                Filter::field("a.b").eq(1),
                Filter::and([
                    Filter::field("tag").is_in(["x"]),
                    Filter::field("tag").ne("y")
                ]),
            ])
        );
        assert_eq!(parse(&json!({})).unwrap(), Filter::And(vec![]));
        // An object without operators is a literal.
        assert_eq!(
            parse(&json!({"o": {"x": 1}})).unwrap(),
            Filter::field("o").eq(json!({"x": 1}))
        );
    }

    #[test]
    fn errors_point_at_the_offending_part() {
        let cases = [
            (
                json!({"$and": [{"a": 1}, {"$not": {"tag": {"$in": "a"}}}]}),
                "$and[1].$not.tag.$in",
                "array",
            ),
            (json!({"$nor": []}), "$nor", "unknown operator"),
            (
                json!({"a": {"$regex": "x"}}),
                "a.$regex",
                "unknown operator",
            ),
            (json!({"$or": []}), "$or", "at least one"),
            (json!({"$and": {"a": 1}}), "$and", "array"),
            (json!({"a": {"$gt": true}}), "a.$gt", "number or a string"),
            (json!({"a": {"$exists": 1}}), "a.$exists", "true or false"),
            (json!({"a": {"$gt": 1, "b": 2}}), "a", "mixes"),
            (json!({"a..b": 1}), "a..b", "empty segment"),
            (json!({"a": {"$not": {"$gt": 1}}}), "a.$not", "connective"),
            (json!([1]), "", "object"),
            (json!({"$and": [3]}), "$and[0]", "object"),
        ];
        for (filter, at, reason) in cases {
            let (got_at, got_reason) = fails(filter.clone());
            assert_eq!(got_at, at, "{filter}");
            assert!(got_reason.contains(reason), "{filter}: {got_reason}");
        }
    }

    #[test]
    fn limits() {
        let mut deep = json!({"a": 1});
        for _ in 0..=MAX_DEPTH {
            deep = json!({"$not": deep});
        }
        assert!(fails(deep).1.contains("deeper"));
        let wide: Vec<Value> = (0..=MAX_NODES).map(|i| json!({"a": i})).collect();
        assert!(fails(json!({"$or": wide})).1.contains("conditions"));
        let many: Vec<u64> = (0..=MAX_IN_VALUES as u64).collect();
        assert!(fails(json!({"a": {"$in": many}})).1.contains("limit"));
        assert!(matches!(
            Filter::parse("{\"a\": "),
            Err(Error::InvalidFilter { reason, .. }) if reason.contains("malformed JSON")
        ));
    }

    #[test]
    fn built_filters_are_checked_too() {
        let bad = Filter::and([Filter::field("ok").eq(1), Filter::field("x").gt(json!([1]))]);
        assert!(
            matches!(bad.validate(), Err(Error::InvalidFilter { at, .. }) if at == "$and[1].x.$gt")
        );
        assert!(Filter::field("a..b").eq(1).validate().is_err());
        assert!(Filter::field("").eq(1).validate().is_err());
        assert!(Filter::Or(vec![]).validate().is_err());
        assert!(Filter::And(vec![]).validate().is_ok());
    }

    #[test]
    fn json_round_trip() {
        let f = Filter::or([
            Filter::not(Filter::field("a").exists(true)),
            Filter::and([
                Filter::field("b.c").gte(2.5),
                Filter::field("d").prefix("x"),
            ]),
            Filter::field("e").not_in([json!(1), json!("s")]),
            Filter::field("o").eq(json!({"k": [1, 2]})),
        ]);
        assert_eq!(parse(&f.to_json()).unwrap(), f);
    }
}

#[cfg(test)]
mod fuzz {
    //! Arbitrary JSON into the parser and evaluator (until the cargo-fuzz workspace exists):
    //! never a panic; whatever parses prints back to the same filter.
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = String> + Clone {
        prop_oneof![
            Just("$and".to_owned()),
            Just("$or".to_owned()),
            Just("$not".to_owned()),
            Just("$eq".to_owned()),
            Just("$in".to_owned()),
            Just("$gt".to_owned()),
            Just("$exists".to_owned()),
            Just("$prefix".to_owned()),
            Just("$bogus".to_owned()),
            "[a-c.]{0,4}",
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        let key = key();
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[ab\\x00]{0,3}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 4, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn arbitrary_json_never_panics(
            top in proptest::collection::btree_map(key(), json(), 0..4),
            payload in json(),
        ) {
            let filter = Value::Object(top.into_iter().collect());
            if let Ok(f) = parse(&filter) {
                prop_assert_eq!(parse(&to_json(&f)).ok(), Some(f.clone()));
                prop_assert!(check(&f).is_ok());
                let _ = f.matches(&payload);
            }
        }
    }
}
