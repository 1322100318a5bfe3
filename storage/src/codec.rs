//! Byte encodings of stored values. Everything is little-endian; nothing assumes alignment
//! (redb hands out values at any address), so every number is read from a copied array.

use crate::error::{StorageError, StorageResult};

fn field<const N: usize>(bytes: &[u8], offset: usize) -> StorageResult<[u8; N]> {
    bytes
        .get(offset..offset + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| {
            StorageError::corrupted(format!(
                "record of {} bytes has no {N}-byte field at offset {offset}",
                bytes.len()
            ))
        })
}

pub fn read_u8(bytes: &[u8], offset: usize) -> StorageResult<u8> {
    Ok(field::<1>(bytes, offset)?[0])
}

pub fn read_u32(bytes: &[u8], offset: usize) -> StorageResult<u32> {
    Ok(u32::from_le_bytes(field(bytes, offset)?))
}

pub fn read_u64(bytes: &[u8], offset: usize) -> StorageResult<u64> {
    Ok(u64::from_le_bytes(field(bytes, offset)?))
}

pub fn read_i64(bytes: &[u8], offset: usize) -> StorageResult<i64> {
    Ok(i64::from_le_bytes(field(bytes, offset)?))
}

/// The `ids` table's value for `id`: its row (u64 LE), sealed under the id.
pub fn encode_row_of(id: &str, row: u64) -> Vec<u8> {
    crate::seal::seal_named(id, &row.to_le_bytes())
}

pub fn decode_row_of(id: &str, bytes: &[u8]) -> StorageResult<u64> {
    let body = crate::seal::open_named(id, bytes, "row of id")?;
    if body.len() != 8 {
        return Err(StorageError::corrupted(format!(
            "row of id '{id}' is {} bytes",
            body.len()
        )));
    }
    read_u64(body, 0)
}

/// The `keys` table's value: the external id (UTF-8), sealed under the row.
pub fn decode_id_of(row: u64, bytes: &[u8]) -> StorageResult<String> {
    let body = crate::seal::open_row(row, bytes, "id")?;
    String::from_utf8(body.to_vec())
        .map_err(|_| StorageError::corrupted(format!("id of row {row} is not UTF-8")))
}

/// f32 components as 4-byte little-endian IEEE 754 values, back to back.
pub fn encode_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Decodes `dim` f32 components; any other length is corruption.
pub fn decode_f32(bytes: &[u8], dim: usize) -> StorageResult<Vec<f32>> {
    check_len(bytes, dim, 4)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Tokens in a stored token matrix (rows of `vector_bytes` back to back, at least one);
/// `None` when `bytes` is not such a matrix.
pub fn matrix_token_count(bytes: &[u8], vector_bytes: usize) -> Option<usize> {
    (vector_bytes > 0 && !bytes.is_empty() && bytes.len().is_multiple_of(vector_bytes))
        .then(|| bytes.len() / vector_bytes)
}

/// 16-bit components (f16 or bf16 bit patterns) as 2-byte little-endian values.
pub fn encode_u16(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn decode_u16(bytes: &[u8], dim: usize) -> StorageResult<Vec<u16>> {
    check_len(bytes, dim, 2)?;
    Ok(bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect())
}

fn check_len(bytes: &[u8], dim: usize, size: usize) -> StorageResult<()> {
    if bytes.len() != dim * size {
        return Err(StorageError::corrupted(format!(
            "vector of {} bytes, expected {dim} x {size}",
            bytes.len()
        )));
    }
    Ok(())
}

/// Payloads are JSON text; those longer than this are zstd-compressed when that saves space.
pub const PAYLOAD_COMPRESS_THRESHOLD: usize = 1024;
const PAYLOAD_PLAIN: u8 = 0;
const PAYLOAD_ZSTD: u8 = 1;
const ZSTD_LEVEL: i32 = 3;
/// Upper bound on a decompressed payload: larger than any payload the engine accepts, small
/// enough that a corrupted size cannot exhaust memory.
pub const MAX_DECODED_PAYLOAD: usize = 64 << 20;

/// Source texts longer than this are zstd-compressed when that saves space (shorter ones
/// rarely shrink: a zstd frame costs about a dozen bytes).
pub const TEXT_COMPRESS_THRESHOLD: usize = 96;

/// Tag byte (0 = plain UTF-8 JSON, 1 = zstd frame) followed by the body.
pub fn encode_payload(json: &[u8]) -> Vec<u8> {
    encode_blob(json, PAYLOAD_COMPRESS_THRESHOLD)
}

pub fn decode_payload(bytes: &[u8]) -> StorageResult<Vec<u8>> {
    decode_blob(bytes, "payload")
}

/// A record's source text, encoded like a payload (tag byte, then plain or zstd body).
pub fn encode_text(text: &[u8]) -> Vec<u8> {
    encode_blob(text, TEXT_COMPRESS_THRESHOLD)
}

pub fn decode_text(bytes: &[u8]) -> StorageResult<Vec<u8>> {
    decode_blob(bytes, "text")
}

fn encode_blob(json: &[u8], threshold: usize) -> Vec<u8> {
    if json.len() > threshold
        && let Ok(z) = zstd::bulk::compress(json, ZSTD_LEVEL)
        && z.len() < json.len()
    {
        let mut out = Vec::with_capacity(z.len() + 1);
        out.push(PAYLOAD_ZSTD);
        out.extend_from_slice(&z);
        return out;
    }
    let mut out = Vec::with_capacity(json.len() + 1);
    out.push(PAYLOAD_PLAIN);
    out.extend_from_slice(json);
    out
}

fn decode_blob(bytes: &[u8], what: &str) -> StorageResult<Vec<u8>> {
    match bytes.split_first() {
        Some((&PAYLOAD_PLAIN, body)) => Ok(body.to_vec()),
        Some((&PAYLOAD_ZSTD, body)) => zstd::bulk::decompress(body, MAX_DECODED_PAYLOAD)
            .map_err(|e| StorageError::corrupted(format!("{what} does not decompress: {e}"))),
        Some((tag, _)) => Err(StorageError::corrupted(format!(
            "unknown {what} encoding {tag}"
        ))),
        None => Err(StorageError::corrupted(format!("empty {what} record"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn f32_round_trip(v in proptest::collection::vec(any::<f32>(), 0..64)) {
            let back = decode_f32(&encode_f32(&v), v.len()).unwrap();
            prop_assert_eq!(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }

        #[test]
        fn u16_round_trip(v in proptest::collection::vec(any::<u16>(), 0..64)) {
            prop_assert_eq!(decode_u16(&encode_u16(&v), v.len()).unwrap(), v);
        }

        #[test]
        fn payload_round_trip(s in ".{0,3000}") {
            prop_assert_eq!(decode_payload(&encode_payload(s.as_bytes())).unwrap(), s.as_bytes());
            prop_assert_eq!(decode_text(&encode_text(s.as_bytes())).unwrap(), s.as_bytes());
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), dim in 0usize..20) {
            let _ = decode_f32(&bytes, dim);
            let _ = decode_u16(&bytes, dim);
            let _ = decode_payload(&bytes);
        }
    }

    #[test]
    fn large_payloads_are_compressed_and_wrong_lengths_are_corruption() {
        let json = format!("{{\"text\":\"{}\"}}", "abc ".repeat(1000));
        let enc = encode_payload(json.as_bytes());
        assert_eq!(enc[0], 1);
        assert!(enc.len() < json.len() / 4);
        assert!(matches!(
            decode_f32(&[0, 0, 0], 1),
            Err(StorageError::Corrupted { .. })
        ));
        assert_eq!(encode_f32(&[1.0]), vec![0, 0, 0x80, 0x3f]);
    }
}
