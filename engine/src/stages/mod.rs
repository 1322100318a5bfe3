//! Query stages that combine or re-order what the first stages found. The first stages are
//! the dense search of each collection kind (`kinds/`) and keyword search (`fulltext/`);
//! [`fusion`] merges a dense and a keyword list into one (hybrid queries).

pub mod fusion;
