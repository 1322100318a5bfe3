//! Mining options as JSON (the C API's `options_json`, Python's keyword arguments): one
//! parser, so every binding names and checks them alike.

use super::{MiningFormat, MiningOutput, MiningPair, MiningRequest, Sampling, Teacher};
use crate::error::{Error, Result};
use serde_json::Value;

/// The options every binding accepts, by name (docs/mining.md).
pub const OPTIONS: [&str; 14] = [
    "teachers",
    "negatives",
    "range_min",
    "range_max",
    "margin",
    "relative_margin",
    "max_score",
    "min_score",
    "sample",
    "seed",
    "format",
    "scores",
    "ids",
    "exact",
];

/// A request and an output shape from a JSON object of [`OPTIONS`]: `"teachers"` (["dense"];
/// "bm25", "hybrid"), `"negatives"` (3), `"range_min"` (0), `"range_max"`, `"margin"`,
/// `"relative_margin"`, `"max_score"`, `"min_score"`, `"sample"` ("top" or "random"),
/// `"seed"` (0), `"format"` ("triplet", "ntuple", "pairs", "flag"), `"scores"`, `"ids"`,
/// `"exact"` (true). An unknown name or a value of the wrong type is `InvalidParameter`.
pub fn from_options<'a>(
    pairs: &'a [MiningPair],
    o: &Value,
) -> Result<(MiningRequest<'a>, MiningOutput)> {
    let bad = |name: &str, what: &str| Error::InvalidParameter {
        name: "mining option",
        reason: format!("\"{name}\" {what}"),
    };
    let Some(map) = o.as_object() else {
        return Err(bad("options", "are not a JSON object"));
    };
    if let Some(k) = map.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(bad(k, "is not an option"));
    }
    let present = |name: &str| o.get(name).filter(|v| !v.is_null());
    let count = |name: &str| -> Result<Option<usize>> {
        present(name)
            .map(|v| {
                v.as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| bad(name, "is not a count"))
            })
            .transpose()
    };
    let number = |name: &str| -> Result<Option<f32>> {
        present(name)
            .map(|v| {
                v.as_f64()
                    .map(|n| n as f32)
                    .ok_or_else(|| bad(name, "is not a number"))
            })
            .transpose()
    };
    let flag = |name: &str| -> Result<Option<bool>> {
        present(name)
            .map(|v| v.as_bool().ok_or_else(|| bad(name, "is not true or false")))
            .transpose()
    };
    let word = |name: &str| -> Result<Option<&str>> {
        present(name)
            .map(|v| v.as_str().ok_or_else(|| bad(name, "is not a string")))
            .transpose()
    };
    let mut r = MiningRequest::new(pairs);
    if let Some(ts) = present("teachers") {
        let names = ts
            .as_array()
            .ok_or_else(|| bad("teachers", "is not a list"))?;
        r = r.teachers(
            names
                .iter()
                .map(|t| {
                    let name = t
                        .as_str()
                        .ok_or_else(|| bad("teachers", "holds a non-string"))?;
                    Teacher::parse(name)
                })
                .collect::<Result<Vec<_>>>()?,
        );
    }
    if let Some(n) = count("negatives")? {
        r = r.num_negatives(n);
    }
    if let Some(n) = count("range_min")? {
        r = r.range_min(n);
    }
    r.range_max = count("range_max")?;
    r.absolute_margin = number("margin")?;
    r.relative_margin = number("relative_margin")?;
    r.max_score = number("max_score")?;
    r.min_score = number("min_score")?;
    let seed = present("seed")
        .map(|v| v.as_u64().ok_or_else(|| bad("seed", "is not a count")))
        .transpose()?
        .unwrap_or(0);
    r = r.sampling(match word("sample")? {
        None | Some("top") => Sampling::Top,
        Some("random") => Sampling::Random { seed },
        Some(_) => return Err(bad("sample", "is not top or random")),
    });
    if let Some(e) = flag("exact")? {
        r = r.exact(e);
    }
    let format = match word("format")? {
        None => MiningFormat::Triplet,
        Some(f) => MiningFormat::parse(f)?,
    };
    let output = MiningOutput::new(format)
        .scores(flag("scores")?.unwrap_or(false))
        .ids(flag("ids")?.unwrap_or(false));
    Ok((r, output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_by_name_with_types_checked() {
        let pairs = [MiningPair::vector(vec![1.0], ["a"])];
        let (r, out) = from_options(
            &pairs,
            &json!({"teachers": ["bm25", "dense"], "negatives": 7, "relative_margin": 0.05,
                    "sample": "random", "seed": 9, "format": "flag", "ids": true, "range_max": null}),
        )
        .unwrap();
        assert_eq!(r.teachers, [Teacher::Keywords, Teacher::Dense]);
        assert_eq!(r.num_negatives, 7);
        assert_eq!(r.relative_margin, Some(0.05));
        assert_eq!(r.range_max, None);
        assert_eq!(r.sampling, Sampling::Random { seed: 9 });
        assert_eq!(out, MiningOutput::new(MiningFormat::Flag).ids(true));
        for bad in [
            json!({"nope": 1}),
            json!({"negatives": -1}),
            json!({"teachers": "dense"}),
            json!({"sample": "best"}),
            json!({"format": "csv"}),
            json!({"exact": 1}),
            json!([1]),
        ] {
            assert!(
                matches!(
                    from_options(&pairs, &bad),
                    Err(Error::InvalidParameter { .. })
                ),
                "{bad}"
            );
        }
    }
}
