//! Stored approximate-index data: the IVF-PQ header, centroids and codebooks (table
//! `c{ID}.index`), and one posting per indexed row (table `c{ID}.postings`). They change in
//! the same transactions as the vectors, so the index never disagrees with the data.
//!
//! Header (`c{ID}.index` key `ivfpq.header`, 24 bytes, little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | header version (1) |
//! | 1 | 3 | reserved, 0 |
//! | 4 | 4 | nlist (u32) |
//! | 8 | 4 | m, sub-quantizers (u32) |
//! | 12 | 4 | ksub, trained codewords per sub-quantizer (u32, <= 256) |
//! | 16 | 8 | training seed (u64) |
//!
//! `ivfpq.centroids`: nlist x dim f32; `ivfpq.codebooks`: m x 256 x (dim / m) f32 (codewords
//! beyond ksub are zero). Posting (`c{ID}.postings`, key = row id): cell (u32) then the m-byte
//! PQ code.

use crate::codec::{read_u8, read_u32, read_u64};
use crate::error::{StorageError, StorageResult};

pub const HEADER_KEY: &str = "ivfpq.header";
pub const CENTROIDS_KEY: &str = "ivfpq.centroids";
pub const CODEBOOKS_KEY: &str = "ivfpq.codebooks";
/// Multi-vector collections' token index (see `docs/file-format.md`): header and centroids.
pub const TOKENS_HEADER_KEY: &str = "tokens.header";
pub const TOKENS_CENTROIDS_KEY: &str = "tokens.centroids";
const HEADER_VERSION: u8 = 1;
const HEADER_LEN: usize = 24;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IvfPqHeader {
    pub nlist: u32,
    pub m: u32,
    pub ksub: u32,
    pub seed: u64,
}

impl IvfPqHeader {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = HEADER_VERSION;
        out[4..8].copy_from_slice(&self.nlist.to_le_bytes());
        out[8..12].copy_from_slice(&self.m.to_le_bytes());
        out[12..16].copy_from_slice(&self.ksub.to_le_bytes());
        out[16..24].copy_from_slice(&self.seed.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> StorageResult<Self> {
        let version = read_u8(bytes, 0)?;
        if version > HEADER_VERSION {
            return Err(StorageError::UnsupportedVersion {
                found: u32::from(version),
                supported: u32::from(HEADER_VERSION),
            });
        }
        if version == 0 || bytes.len() != HEADER_LEN {
            return Err(StorageError::corrupted(format!(
                "index header: version {version}, {} bytes",
                bytes.len()
            )));
        }
        Ok(IvfPqHeader {
            nlist: read_u32(bytes, 4)?,
            m: read_u32(bytes, 8)?,
            ksub: read_u32(bytes, 12)?,
            seed: read_u64(bytes, 16)?,
        })
    }
}

/// A stored index as read back (centroids and codebooks still encoded).
#[derive(Clone, Debug)]
pub struct StoredIndex {
    pub header: IvfPqHeader,
    pub centroids: Vec<u8>,
    pub codebooks: Vec<u8>,
}

/// One row's place in the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    pub row: u64,
    pub cell: u32,
    pub code: Vec<u8>,
}

pub fn encode_posting(cell: u32, code: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + code.len());
    out.extend_from_slice(&cell.to_le_bytes());
    out.extend_from_slice(code);
    out
}

/// (cell, code) of a stored posting.
pub fn decode_posting(bytes: &[u8]) -> StorageResult<(u32, &[u8])> {
    let cell = read_u32(bytes, 0)?;
    Ok((cell, &bytes[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_posting_round_trip() {
        let h = IvfPqHeader {
            nlist: 1024,
            m: 25,
            ksub: 256,
            seed: 9,
        };
        assert_eq!(IvfPqHeader::decode(&h.encode()).unwrap(), h);
        assert!(IvfPqHeader::decode(&h.encode()[..20]).is_err());
        let p = encode_posting(7, &[1, 2, 3]);
        assert_eq!(decode_posting(&p).unwrap(), (7, &[1u8, 2, 3][..]));
        assert!(decode_posting(&[1, 2]).is_err());
    }
}
