//! Hard-negative mining from C: pairs and options as JSON text in, rows as JSON text out.

use crate::db::quiver_names;
use crate::handles::{self, Kind, quiver_collection};
use crate::records::collection;
use crate::status::{Failure, guard};
use engine::mining::MiningPair;
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
        let (request, output) = engine::mining::from_options(&pairs, &options)?;
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
