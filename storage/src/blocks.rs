//! Vectors are stored in fixed-size blocks of consecutive row ids, not one per key.
//!
//! redb keeps B-tree leaves on 4 KiB pages: one 1536-byte vector (384 x f32) per key wastes
//! a quarter of every page and the file came out at 1.86x the raw size. Blocks of about 16 KB
//! fill redb's page orders almost exactly (measured 1.02x for 16,200-byte values), load faster
//! (one B-tree entry per ~10-80 rows) and make batched ingest touch fewer entries.
//!
//! Block value layout (`bitmap_len + rows_per_block * vector_bytes` bytes):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | ceil(rows_per_block / 8) | presence bitmap: bit `s % 8` of byte `s / 8` set = slot `s` holds a vector |
//! | bitmap_len | rows_per_block x vector_bytes | slot `s` at `bitmap_len + s * vector_bytes`; empty slots are zero |
//!
//! Block `b` holds rows `b * rows_per_block .. (b + 1) * rows_per_block`. A block with no
//! vector left is removed.

use crate::error::{StorageError, StorageResult};

/// Target size of a block (before its 4-byte checksum, `seal`): the sealed value stays just
/// under redb's 16 KiB page order (leaf header included).
pub const TARGET_BLOCK_BYTES: usize = 16_192 - crate::seal::TRAILER;

/// How many rows of `vector_bytes` each fit a block of about [`TARGET_BLOCK_BYTES`].
pub fn rows_per_block(vector_bytes: usize) -> u32 {
    // Each row costs vector_bytes plus one bitmap bit.
    let per_row_bits = vector_bytes.saturating_mul(8).saturating_add(1);
    ((TARGET_BLOCK_BYTES * 8) / per_row_bits).clamp(1, 4096) as u32
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLayout {
    pub rows_per_block: u32,
    pub vector_bytes: usize,
}

impl BlockLayout {
    pub fn new(rows_per_block: u32, vector_bytes: usize) -> StorageResult<Self> {
        if rows_per_block == 0 || vector_bytes == 0 {
            return Err(StorageError::corrupted(format!(
                "block layout of {rows_per_block} rows x {vector_bytes} bytes"
            )));
        }
        Ok(BlockLayout {
            rows_per_block,
            vector_bytes,
        })
    }

    fn bitmap_len(&self) -> usize {
        (self.rows_per_block as usize).div_ceil(8)
    }

    pub fn block_len(&self) -> usize {
        self.bitmap_len() + self.rows_per_block as usize * self.vector_bytes
    }

    /// (block number, slot) of a row.
    pub fn locate(&self, row: u64) -> (u64, usize) {
        let rpb = u64::from(self.rows_per_block);
        (row / rpb, (row % rpb) as usize)
    }

    pub fn first_row(&self, block: u64) -> u64 {
        block.saturating_mul(u64::from(self.rows_per_block))
    }

    pub fn empty(&self) -> Vec<u8> {
        vec![0; self.block_len()]
    }

    /// Checks a stored block's length.
    pub fn check(&self, block: u64, bytes: &[u8]) -> StorageResult<()> {
        if bytes.len() != self.block_len() {
            return Err(StorageError::corrupted(format!(
                "vector block {block} is {} bytes, expected {}",
                bytes.len(),
                self.block_len()
            )));
        }
        Ok(())
    }

    pub fn is_set(&self, bytes: &[u8], slot: usize) -> bool {
        bytes[slot / 8] & (1 << (slot % 8)) != 0
    }

    fn range(&self, slot: usize) -> std::ops::Range<usize> {
        let start = self.bitmap_len() + slot * self.vector_bytes;
        start..start + self.vector_bytes
    }

    pub fn get<'a>(&self, bytes: &'a [u8], slot: usize) -> Option<&'a [u8]> {
        self.is_set(bytes, slot).then(|| &bytes[self.range(slot)])
    }

    pub fn set(&self, bytes: &mut [u8], slot: usize, vector: &[u8]) {
        bytes[slot / 8] |= 1 << (slot % 8);
        let r = self.range(slot);
        bytes[r].copy_from_slice(vector);
    }

    /// Empties a slot; returns whether it held a vector.
    pub fn clear(&self, bytes: &mut [u8], slot: usize) -> bool {
        let was = self.is_set(bytes, slot);
        bytes[slot / 8] &= !(1 << (slot % 8));
        let r = self.range(slot);
        bytes[r].fill(0);
        was
    }

    pub fn is_empty(&self, bytes: &[u8]) -> bool {
        bytes[..self.bitmap_len()].iter().all(|&b| b == 0)
    }

    /// Occupied slots of a block, in order.
    pub fn slots<'a>(&'a self, bytes: &'a [u8]) -> impl Iterator<Item = (usize, &'a [u8])> + 'a {
        (0..self.rows_per_block as usize).filter_map(move |s| self.get(bytes, s).map(|v| (s, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fill_a_16k_page() {
        assert_eq!(rows_per_block(1536), 10);
        assert_eq!(rows_per_block(200), 80);
        assert_eq!(rows_per_block(100_000), 1);
        let l = BlockLayout::new(rows_per_block(1536), 1536).unwrap();
        assert!(l.block_len() <= TARGET_BLOCK_BYTES);
    }

    #[test]
    fn set_get_clear() {
        let l = BlockLayout::new(10, 3).unwrap();
        let mut b = l.empty();
        assert!(l.is_empty(&b));
        l.set(&mut b, 9, &[1, 2, 3]);
        l.set(&mut b, 0, &[4, 5, 6]);
        assert_eq!(l.get(&b, 9), Some(&[1u8, 2, 3][..]));
        assert_eq!(l.get(&b, 5), None);
        assert_eq!(l.slots(&b).map(|(s, _)| s).collect::<Vec<_>>(), vec![0, 9]);
        assert!(l.clear(&mut b, 0));
        assert!(!l.clear(&mut b, 0));
        assert!(l.clear(&mut b, 9));
        assert!(l.is_empty(&b));
        assert_eq!(b, l.empty());
        assert_eq!(l.locate(23), (2, 3));
    }
}
