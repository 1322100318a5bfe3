//! Multi-vector collections: each record is a matrix of token vectors, searched by MaxSim
//! (ColBERT-style late interaction).
//!
//! Stored: the token matrix of each row in the `matrices` table (the collection's element
//! type); with a token index, its centroids in the `index` table and each row's centroid
//! set in `postings` — all written in the same transaction as the records. In memory: a
//! [`TokenStore`] of prepared matrices (widened to f32, normalised for cosine) and the
//! [`TokenIndex`], carried from commit to commit like the one-vector arena.

mod records;
mod search;
mod tokens;

pub(crate) use records::delete_in;
pub use records::{MultiIndexInfo, MultiRecord};
pub use search::MultiSearchRequest;
pub(crate) use tokens::{check, load_token_index, load_tokens};
