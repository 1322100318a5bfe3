//! Hard-negative mining from C: pairs and options as JSON text in, rows as JSON text out.

use crate::db::quiver_names;
use crate::handles::{self, Kind, quiver_collection};
use crate::records::collection;
use crate::status::{Failure, guard};
use engine::mining::{MiningFormat, MiningOutput, MiningPair, MiningRequest, Sampling, Teacher};
use serde_json::Value;
use std::ffi::{CString, c_char, c_int};

/// Mines hard negatives for training pairs (docs/mining.md). `pairs_jsonl`: one pair per
/// line, `{"query": text or [numbers], "positive": id or [ids]}`. `options_json`: NULL or a
/// JSON object with any of `"teachers"` (["dense"] default; "bm25", "hybrid"),
/// `"negatives"` (3), `"range_min"` (0), `"range_max"`, `"margin"`, `"relative_margin"`,
/// `"max_score"`, `"min_score"`, `"sample"` ("top" or "random"), `"seed"` (0), `"format"`
/// ("triplet", "ntuple", "pairs", "flag"), `"scores"`, `"ids"`, `"exact"` (true). The rows,
/// one JSON text each, go to `out` as a new `quiver_names` list (free with
/// `quiver_names_free`).
///
/// # Safety
/// `pairs_jsonl` a NUL-terminated string; `options_json` NULL or one; `out` writable or
/// NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn quiver_mine(
    coll: *const quiver_collection,
    pairs_jsonl: *const c_char,
    options_json: *const c_char,
    out: *mut *mut quiver_names,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract.
        let (coll, text) = unsafe {
            (
                collection(coll)?,
                handles::text(pairs_jsonl, "pairs_jsonl")?,
            )
        };
        let options: Value = if options_json.is_null() {
            Value::Object(Default::default())
        } else {
            // SAFETY: per the contract.
            let o = unsafe { handles::text(options_json, "options_json") }?;
            serde_json::from_str(o).map_err(|e| Failure::invalid(format!("options_json: {e}")))?
        };
        handles::out(out, "out")?;
        let mut pairs = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| Failure::invalid(format!("pairs line {}: {e}", n + 1)))?;
            pairs.push(
                MiningPair::from_json(&v)
                    .map_err(|e| Failure::invalid(format!("pairs line {}: {e}", n + 1)))?,
            );
        }
        let (request, output) = parse_options(&pairs, &options)?;
        let report = coll.mine_hard_negatives(&request)?;
        let rows = report
            .rows(&output)
            .into_iter()
            .map(|r| CString::new(r.to_string()).map_err(|_| Failure::invalid("a row holds a NUL")))
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: checked above.
        unsafe { *out = handles::register(quiver_names::new(rows), Kind::Names) };
        Ok(())
    })
}

fn parse_options<'a>(
    pairs: &'a [MiningPair],
    o: &Value,
) -> Result<(MiningRequest<'a>, MiningOutput), Failure> {
    let Some(map) = o.as_object() else {
        return Err(Failure::invalid("options_json is not a JSON object"));
    };
    let known = [
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
    if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(Failure::invalid(format!(
            "options_json: unknown option \"{k}\""
        )));
    }
    let bad = |name: &str, what: &str| Failure::invalid(format!("options_json: \"{name}\" {what}"));
    let count = |name: &str| -> Result<Option<usize>, Failure> {
        o.get(name)
            .map(|v| {
                v.as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| bad(name, "is not a count"))
            })
            .transpose()
    };
    let number = |name: &str| -> Result<Option<f32>, Failure> {
        o.get(name)
            .map(|v| {
                v.as_f64()
                    .map(|n| n as f32)
                    .ok_or_else(|| bad(name, "is not a number"))
            })
            .transpose()
    };
    let flag = |name: &str| -> Result<Option<bool>, Failure> {
        o.get(name)
            .map(|v| v.as_bool().ok_or_else(|| bad(name, "is not true or false")))
            .transpose()
    };
    let word = |name: &str| -> Result<Option<&str>, Failure> {
        o.get(name)
            .map(|v| v.as_str().ok_or_else(|| bad(name, "is not a string")))
            .transpose()
    };
    let mut r = MiningRequest::new(pairs);
    if let Some(ts) = o.get("teachers") {
        let names = ts
            .as_array()
            .ok_or_else(|| bad("teachers", "is not a list"))?;
        r = r.teachers(
            names
                .iter()
                .map(|t| match t.as_str() {
                    Some("dense") => Ok(Teacher::Dense),
                    Some("bm25") => Ok(Teacher::Keywords),
                    Some("hybrid") => Ok(Teacher::Hybrid),
                    _ => Err(bad("teachers", "holds other than dense, bm25, hybrid")),
                })
                .collect::<Result<Vec<_>, _>>()?,
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
    let seed = o
        .get("seed")
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
