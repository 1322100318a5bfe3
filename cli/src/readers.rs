//! Vector file readers: JSONL, NumPy `.npy` and `.fvecs`.
//!
//! The `.npy` header parser is written here because it is ~40 lines and the crates that read
//! npy pull in ndarray; `.fvecs` is 4 bytes of dimension then the floats, per vector.

use std::error::Error;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub type DynResult<T> = Result<T, Box<dyn Error>>;

/// A dense matrix loaded from a file, row-major.
pub struct Matrix {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

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

pub fn read_npy(path: &Path) -> DynResult<Matrix> {
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .read_to_end(&mut bytes)?;
    let bad = |why: &str| format!("{}: not a supported .npy file: {why}", path.display());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing magic").into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(&format!("version {v}")).into()),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        Some(header[at..].trim_start_matches([':', ' ']))
    };
    let descr = field("descr").ok_or_else(|| bad("no descr"))?;
    let size = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f8'") {
        8
    } else {
        return Err(bad("only little-endian float32/float64 arrays are supported").into());
    };
    let fortran = field("fortran_order")
        .ok_or_else(|| bad("no fortran_order"))?
        .starts_with("True");
    let shape = field("shape").ok_or_else(|| bad("no shape"))?;
    let shape = &shape[1..shape.find(')').ok_or_else(|| bad("bad shape"))?];
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad("bad shape"))?;
    let (rows, dim) = match dims[..] {
        [r, d] => (r, d),
        [d] => (1, d),
        _ => return Err(bad("the array must be 1-D or 2-D").into()),
    };
    let body = &bytes[start + header_len..];
    if body.len() != rows * dim * size {
        return Err(bad("data length does not match the shape").into());
    }
    let values: Vec<f32> = if size == 4 {
        body.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        body.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
            .collect()
    };
    let data = if fortran && rows > 1 {
        // Column-major: element (i, j) is at j * rows + i.
        let mut out = vec![0.0; rows * dim];
        for j in 0..dim {
            for i in 0..rows {
                out[i * dim + j] = values[j * rows + i];
            }
        }
        out
    } else {
        values
    };
    Ok(Matrix { rows, dim, data })
}

pub fn read_fvecs(path: &Path) -> DynResult<Matrix> {
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .read_to_end(&mut bytes)?;
    let mut data = Vec::new();
    let mut dim = None;
    let mut at = 0;
    let mut rows = 0;
    while at < bytes.len() {
        let d = bytes
            .get(at..at + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or("truncated .fvecs file")?;
        if d <= 0 || dim.is_some_and(|x| x != d as usize) {
            return Err(format!(
                "{}: inconsistent dimension {d} at vector {rows}",
                path.display()
            )
            .into());
        }
        dim = Some(d as usize);
        let body = bytes
            .get(at + 4..at + 4 + 4 * d as usize)
            .ok_or("truncated .fvecs file")?;
        data.extend(
            body.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        at += 4 + 4 * d as usize;
        rows += 1;
    }
    Ok(Matrix {
        rows,
        dim: dim.unwrap_or(0),
        data,
    })
}

/// One line of a JSONL import file.
#[derive(serde::Deserialize)]
pub struct JsonRecord {
    pub id: serde_json::Value,
    pub vector: Vec<f32>,
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, body: &[f32]) -> Vec<u8> {
        let mut h = header.to_owned();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        for v in body {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    #[test]
    fn npy_c_and_fortran_order() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c.npy");
        std::fs::write(
            &c,
            npy(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                &[1., 2., 3., 4., 5., 6.],
            ),
        )
        .unwrap();
        let m = read_npy(&c).unwrap();
        assert_eq!((m.rows, m.dim), (2, 3));
        assert_eq!(m.row(1), &[4., 5., 6.]);
        let f = dir.path().join("f.npy");
        std::fs::write(
            &f,
            npy(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                &[1., 4., 2., 5., 3., 6.],
            ),
        )
        .unwrap();
        let m = read_npy(&f).unwrap();
        assert_eq!(m.row(0), &[1., 2., 3.]);
        assert_eq!(m.row(1), &[4., 5., 6.]);
        std::fs::write(&f, b"garbage").unwrap();
        assert!(read_npy(&f).is_err());
    }

    #[test]
    fn fvecs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.fvecs");
        let mut b = Vec::new();
        for row in [[1.0f32, 2.0], [3.0, 4.0]] {
            b.extend_from_slice(&2i32.to_le_bytes());
            row.iter()
                .for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
        }
        std::fs::write(&p, &b).unwrap();
        let m = read_fvecs(&p).unwrap();
        assert_eq!((m.rows, m.dim), (2, 2));
        assert_eq!(m.row(1), &[3.0, 4.0]);
        std::fs::write(&p, &b[..10]).unwrap();
        assert!(read_fvecs(&p).is_err());
    }
}
