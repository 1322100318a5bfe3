//! A contiguous, copy-on-write store of vectors addressed by row id.
//!
//! Rows live in fixed-size chunks (`CHUNK_ROWS` rows each, slot = row id). Cloning an arena
//! clones only the chunk pointers; changing a row copies just its chunk if another snapshot still
//! shares it. So the engine can publish a new snapshot after every commit for the price of the
//! chunks the batch touched, while readers keep scanning the old one undisturbed.

use crate::distance;
use crate::element::{Element, bf16, f16};
use crate::metric::{ElementType, Metric};
use std::sync::Arc;

/// Rows per chunk. 1024 rows of 384 f32 is 1.5 MiB: large enough for long sequential scans,
/// small enough that copying one per commit is cheap.
pub const CHUNK_ROWS: usize = 1024;

/// The largest row id an arena accepts (2^40): a bound that keeps a corrupted row id from
/// allocating the machine away.
pub const MAX_ROW: u64 = 1 << 40;

#[derive(Clone, Debug)]
pub(crate) struct Chunk<E> {
    /// `slots * dim` components; dead slots hold zeros.
    pub(crate) data: Vec<E>,
    /// Euclidean norm of each slot's vector.
    pub(crate) norms: Vec<f32>,
    pub(crate) live: Vec<bool>,
}

impl<E: Element> Chunk<E> {
    fn empty() -> Self {
        Chunk {
            data: Vec::new(),
            norms: Vec::new(),
            live: Vec::new(),
        }
    }

    pub(crate) fn slots(&self) -> usize {
        self.live.len()
    }
}

/// Vectors of one collection, held in memory for scanning.
#[derive(Clone, Debug)]
pub struct VectorArena<E> {
    dim: usize,
    metric: Metric,
    chunks: Vec<Arc<Chunk<E>>>,
    live: usize,
}

impl<E: Element> VectorArena<E> {
    /// # Panics
    /// If `dim` is 0 (the engine validates dimensions before building arenas).
    pub fn new(dim: usize, metric: Metric) -> Self {
        assert!(dim > 0, "arena dimension must be positive");
        VectorArena {
            dim,
            metric,
            chunks: Vec::new(),
            live: 0,
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Number of live rows.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Bytes of vector data and per-row metadata held (shared chunks counted once per arena).
    pub fn memory_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| {
                c.data.capacity() * std::mem::size_of::<E>()
                    + c.norms.capacity() * 4
                    + c.live.capacity()
            })
            .sum()
    }

    /// Stores (or replaces) the vector of `row`.
    ///
    /// # Panics
    /// If `values.len() != dim` or `row > MAX_ROW`; the engine checks both first.
    pub fn set(&mut self, row: u64, values: &[E]) {
        assert_eq!(
            values.len(),
            self.dim,
            "vector length must equal the arena dimension"
        );
        assert!(row <= MAX_ROW, "row id beyond MAX_ROW");
        let (c, slot) = locate(row);
        while self.chunks.len() <= c {
            self.chunks.push(Arc::new(Chunk::empty()));
        }
        let dim = self.dim;
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        if chunk.slots() <= slot {
            chunk.data.resize((slot + 1) * dim, E::from_f32(0.0));
            chunk.norms.resize(slot + 1, 0.0);
            chunk.live.resize(slot + 1, false);
        }
        chunk.data[slot * dim..(slot + 1) * dim].copy_from_slice(values);
        chunk.norms[slot] = distance::norm(values);
        if !chunk.live[slot] {
            chunk.live[slot] = true;
            self.live += 1;
        }
    }

    /// Removes `row`; returns whether it was present.
    pub fn remove(&mut self, row: u64) -> bool {
        if self.get(row).is_none() {
            return false;
        }
        let (c, slot) = locate(row);
        let dim = self.dim;
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        chunk.live[slot] = false;
        chunk.norms[slot] = 0.0;
        chunk.data[slot * dim..(slot + 1) * dim].fill(E::from_f32(0.0));
        self.live -= 1;
        true
    }

    pub fn get(&self, row: u64) -> Option<&[E]> {
        if row > MAX_ROW {
            return None;
        }
        let (c, slot) = locate(row);
        let chunk = self.chunks.get(c)?;
        if *chunk.live.get(slot)? {
            Some(&chunk.data[slot * self.dim..(slot + 1) * self.dim])
        } else {
            None
        }
    }

    /// The vector of `row` and its Euclidean norm.
    pub fn get_with_norm(&self, row: u64) -> Option<(&[E], f32)> {
        let v = self.get(row)?;
        let (c, slot) = locate(row);
        Some((v, self.chunks[c].norms[slot]))
    }

    /// Live row ids in ascending order.
    pub fn rows(&self) -> impl Iterator<Item = u64> + '_ {
        self.chunks.iter().enumerate().flat_map(|(c, chunk)| {
            chunk
                .live
                .iter()
                .enumerate()
                .filter(|(_, live)| **live)
                .map(move |(s, _)| (c * CHUNK_ROWS + s) as u64)
        })
    }

    pub(crate) fn chunks(&self) -> &[Arc<Chunk<E>>] {
        &self.chunks
    }
}

#[inline]
fn locate(row: u64) -> (usize, usize) {
    let row = row as usize;
    (row / CHUNK_ROWS, row % CHUNK_ROWS)
}

/// An arena of whichever element type a collection uses.
#[derive(Clone, Debug)]
pub enum AnyArena {
    F32(VectorArena<f32>),
    F16(VectorArena<f16>),
    Bf16(VectorArena<bf16>),
}

/// Runs `$body` with `$a` bound to the typed arena inside an [`AnyArena`].
#[macro_export]
macro_rules! with_arena {
    ($any:expr, $a:ident => $body:expr) => {
        match $any {
            $crate::AnyArena::F32($a) => $body,
            $crate::AnyArena::F16($a) => $body,
            $crate::AnyArena::Bf16($a) => $body,
        }
    };
}

impl AnyArena {
    pub fn new(element: ElementType, dim: usize, metric: Metric) -> Self {
        match element {
            ElementType::F32 => AnyArena::F32(VectorArena::new(dim, metric)),
            ElementType::F16 => AnyArena::F16(VectorArena::new(dim, metric)),
            ElementType::Bf16 => AnyArena::Bf16(VectorArena::new(dim, metric)),
        }
    }

    pub fn element_type(&self) -> ElementType {
        match self {
            AnyArena::F32(_) => ElementType::F32,
            AnyArena::F16(_) => ElementType::F16,
            AnyArena::Bf16(_) => ElementType::Bf16,
        }
    }

    pub fn len(&self) -> usize {
        with_arena!(self, a => a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dim(&self) -> usize {
        with_arena!(self, a => a.dim())
    }

    pub fn memory_bytes(&self) -> usize {
        with_arena!(self, a => a.memory_bytes())
    }

    /// Stores `row` from f32 values, rounding to the arena's element type.
    pub fn set_f32(&mut self, row: u64, values: &[f32]) {
        with_arena!(self, a => {
            let v: Vec<_> = values.iter().map(|&x| Element::from_f32(x)).collect();
            a.set(row, &v)
        })
    }

    pub fn remove(&mut self, row: u64) -> bool {
        with_arena!(self, a => a.remove(row))
    }

    /// The stored vector of `row`, widened to f32.
    pub fn get_f32(&self, row: u64) -> Option<Vec<f32>> {
        with_arena!(self, a => a.get(row).map(|v| v.iter().map(|x| x.to_f32()).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_and_copy_on_write() {
        let mut a = VectorArena::<f32>::new(2, Metric::L2);
        a.set(0, &[1.0, 2.0]);
        a.set(1500, &[3.0, 4.0]);
        assert_eq!(a.len(), 2);
        let snapshot = a.clone();
        a.set(0, &[9.0, 9.0]);
        assert!(a.remove(1500));
        assert!(!a.remove(1500));
        assert_eq!(snapshot.get(0), Some(&[1.0, 2.0][..]));
        assert_eq!(snapshot.get(1500), Some(&[3.0, 4.0][..]));
        assert_eq!(a.get(0), Some(&[9.0, 9.0][..]));
        assert_eq!(a.get(1500), None);
        assert_eq!(a.get(7), None);
        assert_eq!(a.len(), 1);
        assert_eq!(snapshot.rows().collect::<Vec<_>>(), vec![0, 1500]);
    }
}
