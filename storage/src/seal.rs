//! Checksums on stored values (format version 2). redb checks its page checksums only in
//! `check_integrity` (verify-on-open), never on reads, so a damaged data page would otherwise
//! be read as data. Every value Quiver stores (except the 16-byte header, which has its own
//! magic and version) therefore ends in a CRC-32 (IEEE, as zlib/gzip; hardware-accelerated by
//! crc32fast) over the entry's *key* and body, so a value read under the wrong key is caught too:
//!
//! ```text
//! body | crc32(key bytes || body) u32 LE
//! ```
//!
//! Keys enter as their stored bytes: u64 keys little-endian, string keys as UTF-8.

use crate::error::{StorageError, StorageResult};

pub const TRAILER: usize = 4;

fn checksum(key: &[u8], body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(key);
    h.update(body);
    h.finalize()
}

/// `body` followed by its checksum under `key`.
pub fn seal(key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + TRAILER);
    out.extend_from_slice(body);
    out.extend_from_slice(&checksum(key, body).to_le_bytes());
    out
}

/// Appends the checksum of `buf` (the whole body) under `key` in place.
pub fn seal_in_place(key: &[u8], buf: &mut Vec<u8>) {
    let sum = checksum(key, buf);
    buf.extend_from_slice(&sum.to_le_bytes());
}

/// The body of a sealed value, or `Corrupted` naming `what` when the checksum disagrees.
pub fn open<'a>(key: &[u8], bytes: &'a [u8], what: &dyn Fn() -> String) -> StorageResult<&'a [u8]> {
    let Some(split) = bytes.len().checked_sub(TRAILER) else {
        return Err(StorageError::corrupted(format!(
            "{}: {} bytes, shorter than its checksum",
            what(),
            bytes.len()
        )));
    };
    let (body, sum) = bytes.split_at(split);
    let stored = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
    if stored != checksum(key, body) {
        return Err(StorageError::corrupted(format!(
            "{}: checksum mismatch (damaged data)",
            what()
        )));
    }
    Ok(body)
}

/// `open` for values under u64 keys (rows, block numbers).
pub fn open_row<'a>(row: u64, bytes: &'a [u8], what: &str) -> StorageResult<&'a [u8]> {
    open(&row.to_le_bytes(), bytes, &|| {
        format!("{what} of row/block {row}")
    })
}

/// `seal` for values under u64 keys.
pub fn seal_row(row: u64, body: &[u8]) -> Vec<u8> {
    seal(&row.to_le_bytes(), body)
}

/// `open` for values under string keys.
pub fn open_named<'a>(key: &str, bytes: &'a [u8], what: &str) -> StorageResult<&'a [u8]> {
    open(key.as_bytes(), bytes, &|| format!("{what} '{key}'"))
}

/// `seal` for values under string keys.
pub fn seal_named(key: &str, body: &[u8]) -> Vec<u8> {
    seal(key.as_bytes(), body)
}

/// The value of a payload-index entry: the checksum of its key (the entry is all key).
pub fn key_checksum(key: &[u8]) -> u32 {
    checksum(key, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sealed_values_open_and_every_flip_is_caught(
            key in proptest::collection::vec(any::<u8>(), 0..12),
            body in proptest::collection::vec(any::<u8>(), 0..300),
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let sealed = seal(&key, &body);
            prop_assert_eq!(open(&key, &sealed, &String::new).unwrap(), &body[..]);
            let mut damaged = sealed.clone();
            let at = flip.index(damaged.len());
            damaged[at] ^= 1 << bit;
            prop_assert!(open(&key, &damaged, &String::new).is_err());
            let mut other_key = key.clone();
            other_key.push(1);
            prop_assert!(open(&other_key, &sealed, &String::new).is_err());
        }
    }

    #[test]
    fn short_values_are_corrupted_not_a_panic() {
        for len in 0..TRAILER {
            assert!(open(b"k", &vec![0u8; len], &String::new).is_err());
        }
    }
}
