//! Documented limits on what a record may hold. Each is checked before any write.

/// Longest external id, in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 512;
/// Largest payload, as compact JSON text.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;
/// Largest vector dimension.
pub const MAX_DIM: usize = 65_536;
/// Longest collection name, in bytes.
pub const MAX_COLLECTION_NAME: usize = 64;
/// Largest `k` a search accepts.
pub const MAX_K: usize = 100_000;
/// Largest source text of a record or query, in UTF-8 bytes (models read only the first
/// few hundred tokens of it; the whole text is stored).
pub const MAX_TEXT_BYTES: usize = 1 << 20;
/// Most token vectors in one multi-vector record (ColBERT documents are at most 512 tokens
/// long; long-context encoders reach 8192).
pub const MAX_TOKENS: usize = 8192;
/// Most token vectors in one multi-vector query.
pub const MAX_QUERY_TOKENS: usize = 1024;
/// Most distinct terms in one keyword query.
pub const MAX_QUERY_TERMS: usize = 1024;
