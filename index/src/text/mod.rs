//! Full-text search on memory: the [`analyzer`] that turns texts into terms and BM25 top-k
//! over posting lists ([`bm25`]). The engine stores the postings (in redb, in the records'
//! transactions) and hands the decoded lists of a query's terms to [`bm25::search`].

pub mod analyzer;
pub mod bm25;

pub use analyzer::{Analyzer, AnalyzerConfig, Stemming, StopWords};
pub use bm25::{Bm25Params, CorpusStats, Occur, Postings, QueryTerm, ScoredRow};
