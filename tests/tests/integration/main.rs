//! Quiver's integration tests, compiled into one binary.

mod basics;
mod bm25_reference;
mod concurrency;
mod corruption;
mod crash;
mod embedding_space;
mod error_table;
mod faults;
mod files;
mod filters;
mod fulltext;
mod ivf;
mod matryoshka;
mod mining;
mod multi_vector;
mod pipeline;
mod processes;
mod query_surface;
mod search_oracle;
mod space;
mod texts;
mod upgrade;
mod validation;
