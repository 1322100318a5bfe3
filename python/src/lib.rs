//! `quiver._quiver`: Quiver's engine as a CPython extension module. The `quiver` package
//! (python/quiver/) re-exports it with docstrings and type stubs; docs/python.md is the guide.
//!
//! Every call that searches, writes or embeds releases the GIL (`Python::detach`), so Python
//! threads run them in parallel; vectors come in as NumPy views without copies where the
//! engine reads them in place (queries), and go out as NumPy arrays the module owns.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod collection;
mod convert;
mod database;
mod errors;
mod mining;
mod models;
mod search;
mod space;

use pyo3::prelude::*;

#[pymodule]
fn _quiver(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Reopened text collections find their pinned model folders by themselves.
    quiver_embed::register();
    errors::register(m)?;
    m.add_class::<database::Database>()?;
    m.add_class::<collection::Collection>()?;
    m.add_class::<search::Hit>()?;
    m.add_class::<models::Reranker>()?;
    m.add_function(wrap_pyfunction!(database::open, m)?)?;
    m.add_function(wrap_pyfunction!(database::create, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
