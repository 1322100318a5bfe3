//! Input files: JSONL records and query files; matrices come from `quiver_vecfile`.

use std::error::Error;
use std::fs::File;
use std::io::{BufRead, BufReader};

use quiver_vecfile::Matrix;
pub use quiver_vecfile::{read_fvecs, read_npy};
use std::path::Path;

pub type DynResult<T> = Result<T, Box<dyn Error>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Npy,
    Fvecs,
}

pub fn format_of(path: &Path, explicit: Option<&str>) -> DynResult<Format> {
    let name = match explicit {
        Some(f) => f.to_ascii_lowercase(),
        None => path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase(),
    };
    match name.as_str() {
        "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
        "npy" => Ok(Format::Npy),
        "fvecs" => Ok(Format::Fvecs),
        other => Err(format!(
            "cannot tell the format of {} ('{other}'): use --format jsonl|npy|fvecs",
            path.display()
        )
        .into()),
    }
}

/// One line of a JSONL import file.
#[derive(serde::Deserialize)]
pub struct JsonRecord {
    pub id: serde_json::Value,
    #[serde(default)]
    pub vector: Option<Vec<f32>>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub vectors: Option<Vec<Vec<f32>>>,
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
}

/// Query matrices, one per line: `[[..],..]` or `{"vectors":[[..],..]}`.
pub fn read_matrices(path: &Path) -> DynResult<Vec<Vec<Vec<f32>>>> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Line {
        Bare(Vec<Vec<f32>>),
        Object { vectors: Vec<Vec<f32>> },
    }
    let mut out = Vec::new();
    for (n, line) in lines(path)? {
        let line = line.map_err(|e| format!("{}:{n}: {e}", path.display()))?;
        let m: Line = serde_json::from_str(&line).map_err(|_| {
            format!(
                "{}:{n}: expected a matrix [[..],..] or {{\"vectors\":[[..],..]}}",
                path.display()
            )
        })?;
        out.push(match m {
            Line::Bare(v) | Line::Object { vectors: v } => v,
        });
    }
    Ok(out)
}

/// Lines of a text file with their 1-based numbers, skipping blank ones.
pub fn lines(path: &Path) -> DynResult<impl Iterator<Item = (usize, std::io::Result<String>)>> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(BufReader::new(file)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| l.as_ref().map_or(true, |s| !s.trim().is_empty())))
}

/// An id from JSON: strings as they are, integers in decimal.
pub fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// Query vectors from a file: JSONL lines that are arrays or objects with "vector", or a
/// matrix file.
pub fn read_queries(path: &Path) -> DynResult<Vec<Vec<f32>>> {
    match format_of(path, None).unwrap_or(Format::Jsonl) {
        Format::Npy => Ok(to_rows(read_npy(path)?)),
        Format::Fvecs => Ok(to_rows(read_fvecs(path)?)),
        Format::Jsonl => {
            let mut out = Vec::new();
            for (n, line) in lines(path)? {
                let v: serde_json::Value = serde_json::from_str(&line?)
                    .map_err(|e| format!("{}:{n}: {e}", path.display()))?;
                let arr = v.get("vector").unwrap_or(&v);
                let q: Vec<f32> = serde_json::from_value(arr.clone())
                    .map_err(|e| format!("{}:{n}: not a vector: {e}", path.display()))?;
                out.push(q);
            }
            Ok(out)
        }
    }
}

fn to_rows(m: Matrix) -> Vec<Vec<f32>> {
    (0..m.rows).map(|i| m.row(i).to_vec()).collect()
}
