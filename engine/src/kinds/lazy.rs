//! A kind's two in-memory parts of one commit — its records and its optional index — each
//! loaded from the read transaction on first use (once, even when readers race) and carried
//! to the next commit with the batch applied, sharing what did not change.

use crate::error::Result;
use parking_lot::Mutex;
use std::sync::{Arc, OnceLock};

pub(crate) struct Parts<D, I> {
    data: OnceLock<Arc<D>>,
    /// `Some(None)` once known to have no index.
    index: OnceLock<Option<Arc<I>>>,
    /// Serialises first loads, so two readers never load the same part twice.
    load: Mutex<()>,
}

impl<D: Clone, I: Clone> Parts<D, I> {
    /// Parts holding what is given; the rest loads on first use.
    pub fn new(data: Option<Arc<D>>, index: Option<Option<Arc<I>>>) -> Self {
        Parts {
            data: cell_with(data),
            index: cell_with(index),
            load: Mutex::new(()),
        }
    }

    /// The records, computed by `load` the first time.
    pub fn data(&self, load: impl FnOnce() -> Result<D>) -> Result<Arc<D>> {
        self.once(&self.data, || Ok(Arc::new(load()?)))
    }

    /// The index if there is one, computed by `load` the first time.
    pub fn index(&self, load: impl FnOnce() -> Result<Option<I>>) -> Result<Option<Arc<I>>> {
        self.once(&self.index, || Ok(load()?.map(Arc::new)))
    }

    pub fn loaded_data(&self) -> Option<&Arc<D>> {
        self.data.get()
    }

    pub fn loaded_index(&self) -> Option<&I> {
        self.index.get().and_then(|i| i.as_deref())
    }

    /// The parts of the next commit: each loaded part cloned (cheap: chunks and lists are
    /// shared until written) and changed by `data` / `index`; unloaded parts stay unloaded.
    pub fn next(&self, data: impl FnOnce(&mut D), index: impl FnOnce(&mut I)) -> Self {
        let d = self.data.get().map(|d| {
            let mut d = D::clone(d);
            data(&mut d);
            Arc::new(d)
        });
        let i = self.index.get().map(|i| {
            i.as_ref().map(|i| {
                let mut i = I::clone(i);
                index(&mut i);
                Arc::new(i)
            })
        });
        Self::new(d, i)
    }

    /// The same records with `index` as the index (`None`: no index).
    pub fn with_index(&self, data: Option<Arc<D>>, index: Option<Arc<I>>) -> Self {
        Self::new(data.or_else(|| self.data.get().cloned()), Some(index))
    }

    fn once<T: Clone>(&self, cell: &OnceLock<T>, load: impl FnOnce() -> Result<T>) -> Result<T> {
        if let Some(v) = cell.get() {
            return Ok(v.clone());
        }
        let _guard = self.load.lock();
        if let Some(v) = cell.get() {
            return Ok(v.clone());
        }
        let v = load()?;
        let _ = cell.set(v.clone());
        Ok(v)
    }
}

fn cell_with<T>(value: Option<T>) -> OnceLock<T> {
    let cell = OnceLock::new();
    if let Some(v) = value {
        let _ = cell.set(v);
    }
    cell
}
