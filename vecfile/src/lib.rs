//! Reading and writing dense vector files: NumPy `.npy` (2-D float32/float64, C or Fortran
//! order) and `.fvecs` (per vector: an i32 dimension, then that many f32).
//!
//! The `.npy` header parser is written here because it is ~40 lines, while the crates that
//! read npy bring ndarray and more. A crate of its own: the engine's API takes vectors, not
//! files; the CLI, the benchmarks and the tests read files with it. Errors are the engine's
//! (`Error::BadInputFile`), so a refused file reads the same wherever it is refused.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use quiver::{Error, Result};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadInputFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_all(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| bad(path, e.to_string()))?;
    Ok(bytes)
}

/// A dense matrix loaded from a file, row-major.
#[derive(Clone, Debug, PartialEq)]
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

pub fn read_npy(path: &Path) -> Result<Matrix> {
    let bytes = read_all(path)?;
    let bad = |why: &str| bad(path, format!("not a supported .npy file: {why}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(&format!("version {v}"))),
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
        return Err(bad(
            "only little-endian float32/float64 arrays are supported",
        ));
    };
    let fortran = field("fortran_order")
        .ok_or_else(|| bad("no fortran_order"))?
        .starts_with("True");
    let shape = field("shape").ok_or_else(|| bad("no shape"))?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|rest| rest.split_once(')'))
        .map(|(inside, _)| inside)
        .ok_or_else(|| bad("bad shape"))?;
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
        _ => return Err(bad("the array must be 1-D or 2-D")),
    };
    let body = &bytes[start + header_len..];
    if rows.checked_mul(dim).and_then(|n| n.checked_mul(size)) != Some(body.len()) {
        return Err(bad("data length does not match the shape"));
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

pub fn read_fvecs(path: &Path) -> Result<Matrix> {
    let bytes = read_all(path)?;
    let mut data = Vec::new();
    let mut dim = None;
    let mut at = 0;
    let mut rows = 0;
    while at < bytes.len() {
        let d = bytes
            .get(at..at + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| bad(path, "truncated .fvecs file"))?;
        if d <= 0 || dim.is_some_and(|x| x != d as usize) {
            return Err(bad(
                path,
                format!("inconsistent dimension {d} at vector {rows}"),
            ));
        }
        dim = Some(d as usize);
        let body = bytes
            .get(at + 4..at + 4 + 4 * d as usize)
            .ok_or_else(|| bad(path, "truncated .fvecs file"))?;
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

/// Writes a row-major float32 matrix as a C-order `.npy` file (version 1.0).
pub fn write_npy(path: &Path, m: &Matrix) -> Result<()> {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        m.rows, m.dim
    );
    // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + m.data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in &m.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    File::create(path)
        .and_then(|mut f| f.write_all(&out))
        .map_err(|source| Error::Io { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, body: &[f32]) -> Vec<u8> {
        let mut h = header.to_owned();
        while !(10 + h.len() + 1).is_multiple_of(64) {
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
        for header in [
            "{'descr': '<f4', 'fortran_order': False, 'shape': ), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999, 99999999), }",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }",
        ] {
            std::fs::write(&f, npy(header, &[1.0; 6])).unwrap();
            assert!(read_npy(&f).is_err(), "{header}");
        }
    }

    #[test]
    fn write_then_read_npy() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.npy");
        let m = Matrix {
            rows: 2,
            dim: 3,
            data: vec![1., 2., 3., 4., 5., 6.],
        };
        write_npy(&p, &m).unwrap();
        let back = read_npy(&p).unwrap();
        assert_eq!((back.rows, back.dim, back.data), (2, 3, m.data));
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
