//! Full-text postings blocks: the byte layout of one block of a term's posting list, and
//! its key. A term's postings (rows ascending, each with the term's frequency and the row's
//! length in terms) are split into blocks of at most [`BLOCK_ROWS`] rows; each block is one
//! value of the `text_postings` table, keyed by term and first row, so an upsert rewrites
//! only the blocks its rows fall in.
//!
//! Key: `u16 BE term length | term (UTF-8) | first row u64 BE` (sorts by term, then row).
//!
//! Value body (then the usual CRC seal over key and body):
//!
//! ```text
//! u8  layout version (1)
//! u8  rows in the block, n (1..=128), stored as n − 1
//! u8  bits per row gap | u8 bits per (tf − 1) | u8 bits per length
//! u32 LE largest tf | u32 LE smallest length     (score bounds, for pruning)
//! three bit-packed arrays of n u32 each:
//!   row gaps: row[i] − row[i−1] (row[0] − first row = 0), tf − 1, length
//! ```
//!
//! A full block (n = 128) packs each array in the `bitpacking` crate's BitPacker4x layout
//! (16 × bits bytes; SIMD). A shorter block — the last of every list, and the only one of
//! most terms — packs its n values plainly, least significant bit first, in ⌈n × bits / 8⌉
//! bytes: padding to 128 values would cost a rare term ~100 bytes a posting.
//!
//! Gaps fit in u32 because a block never spans a gap of 2^32 rows or more (the writer starts
//! a new block there).

// Keys are compared as bytes by redb: big-endian is what makes byte order numeric order.
#![allow(clippy::big_endian_bytes)]

use crate::error::{StorageError, StorageResult};
use bitpacking::{BitPacker, BitPacker4x};

/// Most rows in one block (BitPacker4x's block length).
pub const BLOCK_ROWS: usize = BitPacker4x::BLOCK_LEN;
const VERSION: u8 = 1;
const HEADER: usize = 13;

/// One decoded posting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Posting {
    pub row: u64,
    /// The term's frequency in the row (≥ 1).
    pub tf: u32,
    /// The row's length in terms (≥ tf).
    pub len: u32,
}

/// The key of the block of `term` starting at `first_row`.
pub fn block_key(term: &str, first_row: u64) -> Vec<u8> {
    let mut key = term_prefix(term);
    key.extend_from_slice(&first_row.to_be_bytes());
    key
}

/// Bytes every block key of `term` starts with.
pub fn term_prefix(term: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(term.len() + 10);
    // Terms are at most 255 bytes (the analyzer's limit).
    key.extend_from_slice(&(term.len().min(u16::MAX as usize) as u16).to_be_bytes());
    key.extend_from_slice(term.as_bytes());
    key
}

/// The term and first row of a block key.
pub fn split_key(key: &[u8]) -> StorageResult<(&str, u64)> {
    let bad = || StorageError::corrupted("full-text block key is malformed");
    let len = u16::from_be_bytes(
        key.get(..2)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    ) as usize;
    if key.len() != 2 + len + 8 {
        return Err(bad());
    }
    let term = std::str::from_utf8(&key[2..2 + len]).map_err(|_| bad())?;
    let row = u64::from_be_bytes(key[2 + len..].try_into().map_err(|_| bad())?);
    Ok((term, row))
}

/// Splits sorted postings (distinct rows) into blocks: at most [`BLOCK_ROWS`] each, and a
/// new block wherever a row gap does not fit in u32.
pub fn chunk(postings: &[Posting]) -> Vec<&[Posting]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=postings.len() {
        let full = i - start == BLOCK_ROWS;
        let gap_too_wide =
            i < postings.len() && postings[i].row - postings[i - 1].row > u64::from(u32::MAX);
        if i == postings.len() || full || gap_too_wide {
            out.push(&postings[start..i]);
            start = i;
        }
    }
    out
}

/// Encodes one block (1..=128 postings, rows ascending, gaps within u32; see [`chunk`]).
pub fn encode_block(postings: &[Posting]) -> StorageResult<Vec<u8>> {
    let n = postings.len();
    if n == 0 || n > BLOCK_ROWS {
        return Err(StorageError::Internal {
            detail: format!("full-text block of {n} rows"),
        });
    }
    let mut gaps = [0u32; BLOCK_ROWS];
    let mut tfs = [0u32; BLOCK_ROWS];
    let mut lens = [0u32; BLOCK_ROWS];
    for (i, p) in postings.iter().enumerate() {
        let gap = if i == 0 {
            0
        } else {
            p.row.saturating_sub(postings[i - 1].row)
        };
        if (i > 0 && gap == 0) || p.tf == 0 {
            return Err(StorageError::Internal {
                detail: "full-text block rows out of order or tf 0".into(),
            });
        }
        gaps[i] = u32::try_from(gap).map_err(|_| StorageError::Internal {
            detail: "full-text block spans a gap of 2^32 rows".into(),
        })?;
        tfs[i] = p.tf - 1;
        lens[i] = p.len;
    }
    let packer = BitPacker4x::new();
    let bits = [
        packer.num_bits(&gaps),
        packer.num_bits(&tfs),
        packer.num_bits(&lens),
    ];
    let full = n == BLOCK_ROWS;
    let max_tf = postings.iter().map(|p| p.tf).max().unwrap_or(1);
    let min_len = postings.iter().map(|p| p.len).min().unwrap_or(0);
    let mut out = vec![0u8; HEADER + bits.iter().map(|&b| packed_len(n, b)).sum::<usize>()];
    out[0] = VERSION;
    out[1] = (n - 1) as u8;
    out[2..5].copy_from_slice(&bits);
    out[5..9].copy_from_slice(&max_tf.to_le_bytes());
    out[9..13].copy_from_slice(&min_len.to_le_bytes());
    let mut at = HEADER;
    for (values, b) in [(&gaps, bits[0]), (&tfs, bits[1]), (&lens, bits[2])] {
        let len = packed_len(n, b);
        if full {
            packer.compress(values, &mut out[at..at + len], b);
        } else {
            pack_plain(&values[..n], b, &mut out[at..at + len]);
        }
        at += len;
    }
    Ok(out)
}

fn packed_len(n: usize, bits: u8) -> usize {
    (n * usize::from(bits)).div_ceil(8)
}

/// `values` at `bits` bits each, least significant bit first (`out` is zeroed and
/// `packed_len` long). Short blocks only: the `bitpacking` crate packs whole blocks of 128.
fn pack_plain(values: &[u32], bits: u8, out: &mut [u8]) {
    let bits = usize::from(bits);
    for (i, &v) in values.iter().enumerate() {
        for b in 0..bits {
            if v >> b & 1 == 1 {
                let at = i * bits + b;
                out[at / 8] |= 1 << (at % 8);
            }
        }
    }
}

/// The inverse of [`pack_plain`]: each value from the (up to) 8 bytes it starts in.
fn unpack_plain(bytes: &[u8], bits: u8, out: &mut [u32]) {
    let bits = usize::from(bits);
    let mask = if bits == 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << bits) - 1
    };
    for (i, v) in out.iter_mut().enumerate() {
        let at = i * bits;
        let start = at / 8;
        let mut window = [0u8; 8];
        let end = (start + 8).min(bytes.len());
        window[..end - start].copy_from_slice(&bytes[start..end]);
        *v = ((u64::from_le_bytes(window) >> (at % 8)) & mask) as u32;
    }
}

/// Decodes one block body (already unsealed) whose key says `first_row`, appending to `out`.
pub fn decode_block(first_row: u64, body: &[u8], out: &mut Vec<Posting>) -> StorageResult<()> {
    let bad =
        |what: &str| StorageError::corrupted(format!("full-text block at row {first_row}: {what}"));
    if body.len() < HEADER {
        return Err(bad("too short"));
    }
    if body[0] != VERSION {
        return Err(bad("unknown layout version"));
    }
    let n = usize::from(body[1]) + 1;
    if n > BLOCK_ROWS {
        return Err(bad("more than 128 rows"));
    }
    let bits = [body[2], body[3], body[4]];
    if bits.iter().any(|&b| b > 32) {
        return Err(bad("bit width above 32"));
    }
    if body.len() != HEADER + bits.iter().map(|&b| packed_len(n, b)).sum::<usize>() {
        return Err(bad("length disagrees with its bit widths"));
    }
    let packer = BitPacker4x::new();
    let mut arrays = [[0u32; BLOCK_ROWS]; 3];
    let mut at = HEADER;
    for (values, &b) in arrays.iter_mut().zip(&bits) {
        let len = packed_len(n, b);
        if n == BLOCK_ROWS {
            packer.decompress(&body[at..at + len], values, b);
        } else {
            unpack_plain(&body[at..at + len], b, &mut values[..n]);
        }
        at += len;
    }
    let [gaps, tfs, lens] = arrays;
    let mut row = first_row;
    for i in 0..n {
        if i > 0 {
            if gaps[i] == 0 {
                return Err(bad("rows out of order"));
            }
            row = row
                .checked_add(u64::from(gaps[i]))
                .ok_or_else(|| bad("row overflow"))?;
        }
        let tf = tfs[i].checked_add(1).ok_or_else(|| bad("tf overflow"))?;
        if lens[i] < tf {
            return Err(bad("a length below its term frequency"));
        }
        out.push(Posting {
            row,
            tf,
            len: lens[i],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_postings() -> impl Strategy<Value = Vec<Posting>> {
        prop::collection::btree_map(
            prop_oneof![0u64..1000, 0u64..(1u64 << 40)],
            (1u32..100, 0u32..5000),
            1..400,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|(row, (tf, extra))| Posting {
                    row,
                    tf,
                    len: tf + extra,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn blocks_round_trip(postings in arb_postings()) {
            let mut back = Vec::new();
            for block in chunk(&postings) {
                prop_assert!(!block.is_empty() && block.len() <= BLOCK_ROWS);
                let body = encode_block(block).unwrap();
                decode_block(block[0].row, &body, &mut back).unwrap();
            }
            prop_assert_eq!(back, postings);
        }

        #[test]
        fn keys_sort_by_term_then_row(a in "[a-c]{1,3}", b in "[a-c]{1,3}", ra: u64, rb: u64) {
            let (ka, kb) = (block_key(&a, ra), block_key(&b, rb));
            prop_assert_eq!(split_key(&ka).unwrap(), (a.as_str(), ra));
            if a == b {
                prop_assert_eq!(ka.cmp(&kb), ra.cmp(&rb));
            }
        }

        #[test]
        fn damaged_blocks_are_errors_not_panics(postings in arb_postings(), at: usize, byte: u8) {
            let block = chunk(&postings)[0];
            let mut body = encode_block(block).unwrap();
            let i = at % body.len();
            body[i] = byte;
            let mut out = Vec::new();
            let _ = decode_block(block[0].row, &body, &mut out);
            let _ = decode_block(0, &body[..i], &mut out);
        }
    }

    /// Found by the decode_records fuzz target: a header claiming 233 rows.
    #[test]
    fn oversized_row_counts_are_corrupted() {
        let body = [1u8, 0xe8, 0, 0, 0, 0, 0, 0, 0, 1, 0x2d, 0x04, 0];
        let mut out = Vec::new();
        assert!(matches!(
            decode_block(0, &body, &mut out),
            Err(StorageError::Corrupted { .. })
        ));
    }

    #[test]
    fn a_single_posting_is_small() {
        let body = encode_block(&[Posting {
            row: 7,
            tf: 1,
            len: 100,
        }])
        .unwrap();
        assert_eq!(body.len(), HEADER + 1);
    }
}
