//! In-memory search algorithms for Quiver: distance kernels, bounded top-k selection, a
//! copy-on-write vector arena and exact (flat) search.
//!
//! This crate does no I/O and knows nothing about the file format: the engine fills a
//! [`VectorArena`] from storage and asks it questions. Every fast path has a slow twin it is
//! tested against (`distance::scalar`, `flat::naive_search`).
//!
//! ```
//! use quiver_index::{Metric, VectorArena, flat};
//!
//! let mut arena = VectorArena::<f32>::new(2, Metric::L2);
//! arena.set(0, &[0.0, 0.0]);
//! arena.set(1, &[1.0, 1.0]);
//! arena.set(7, &[5.0, 5.0]);
//! let hits = flat::search(&arena, &[0.9, 0.9], 2, &flat::SearchOptions::default());
//! assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), vec![1, 0]);
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![deny(unsafe_code)]

pub mod arena;
pub mod cpu;
pub mod distance;
pub mod element;
pub mod flat;
pub mod ivf;
pub mod kmeans;
mod matmul;
pub mod metric;
pub mod multi;
pub mod pca;
pub mod pq;
pub mod rng;
pub mod rowset;
pub mod text;
pub mod topk;

pub use arena::{AnyArena, VectorArena};
pub use element::{Element, bf16, f16};
pub use metric::{ElementType, Metric};
pub use rowset::RowSet;
pub use topk::{Neighbor, TopK};
