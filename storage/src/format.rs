//! The file header Quiver keeps inside redb: a magic value and a format version.
//!
//! Layout of the `quiver.meta` value under key [`HEADER_KEY`] (16 bytes, little-endian):
//!
//! | offset | size | field                               |
//! |--------|------|-------------------------------------|
//! | 0      | 8    | magic `QUIVERDB` (ASCII)            |
//! | 8      | 4    | format version (u32)                |
//! | 12     | 4    | flags (u32, reserved, written as 0) |

use crate::error::{StorageError, StorageResult};

pub const MAGIC: [u8; 8] = *b"QUIVERDB";
/// The format this build writes. Version history is in `docs/file-format.md`.
/// 2: every stored value carries a checksum (`seal`).
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format this build reads without an upgrade. Version 1 files (no checksums)
/// are refused with `UpgradeRequired`: their values cannot be told apart from damaged ones.
pub const MIN_READ_VERSION: u32 = 2;

pub const HEADER_KEY: &str = "header";
pub const NEXT_COLLECTION_ID_KEY: &str = "next_collection_id";

const MAGIC_OFFSET: usize = 0;
const VERSION_OFFSET: usize = 8;
const FLAGS_OFFSET: usize = 12;
pub const HEADER_LEN: usize = 16;

/// The collection-id counter's value: u64 LE, sealed under its key.
pub fn encode_counter(next: u64) -> Vec<u8> {
    crate::seal::seal_named(NEXT_COLLECTION_ID_KEY, &next.to_le_bytes())
}

pub fn decode_counter(bytes: &[u8]) -> StorageResult<u64> {
    let body = crate::seal::open_named(NEXT_COLLECTION_ID_KEY, bytes, "meta entry")?;
    if body.len() != 8 {
        return Err(StorageError::corrupted(format!(
            "collection id counter of {} bytes",
            body.len()
        )));
    }
    crate::codec::read_u64(body, 0)
}

pub fn encode_header() -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[MAGIC_OFFSET..VERSION_OFFSET].copy_from_slice(&MAGIC);
    out[VERSION_OFFSET..FLAGS_OFFSET].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[FLAGS_OFFSET..HEADER_LEN].copy_from_slice(&0u32.to_le_bytes());
    out
}

/// What a header says about a file.
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderCheck {
    Ok,
    BadMagic,
}

/// Checks magic and version; returns `BadMagic` for a redb file that is not ours.
pub fn check_header(bytes: &[u8]) -> StorageResult<HeaderCheck> {
    if bytes.len() < VERSION_OFFSET || bytes[MAGIC_OFFSET..VERSION_OFFSET] != MAGIC {
        return Ok(HeaderCheck::BadMagic);
    }
    if bytes.len() != HEADER_LEN {
        return Err(StorageError::corrupted(format!(
            "header is {} bytes, expected {HEADER_LEN}",
            bytes.len()
        )));
    }
    let version = crate::codec::read_u32(bytes, VERSION_OFFSET)?;
    if version > FORMAT_VERSION {
        return Err(StorageError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version < MIN_READ_VERSION {
        return Err(StorageError::UpgradeRequired {
            found: version,
            supported: MIN_READ_VERSION,
        });
    }
    Ok(HeaderCheck::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_version_errors() {
        assert_eq!(check_header(&encode_header()).unwrap(), HeaderCheck::Ok);
        let mut newer = encode_header();
        newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(
            check_header(&newer),
            Err(StorageError::UnsupportedVersion { .. })
        ));
        let mut older = encode_header();
        older[8..12].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            check_header(&older),
            Err(StorageError::UpgradeRequired { .. })
        ));
        assert_eq!(check_header(b"SQLITE").unwrap(), HeaderCheck::BadMagic);
        assert!(matches!(
            check_header(&encode_header()[..12]),
            Err(StorageError::Corrupted { .. })
        ));
    }
}
