//! [`TokenStore`]: each document's token matrix, in memory, by row id.

use std::sync::Arc;

/// Token matrices (row-major f32, `dim` columns) by row id. Cloning shares every matrix:
/// a write clones the store and replaces only the documents it touched.
#[derive(Clone, Debug)]
pub struct TokenStore {
    dim: usize,
    docs: Vec<Option<Arc<[f32]>>>,
    live: usize,
    tokens: usize,
}

impl TokenStore {
    pub fn new(dim: usize) -> Self {
        assert!(dim > 0, "dimension must be positive");
        TokenStore {
            dim,
            docs: Vec::new(),
            live: 0,
            tokens: 0,
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of token vectors over all documents.
    pub fn token_count(&self) -> usize {
        self.tokens
    }

    /// Bytes held by the matrices and the row table.
    pub fn memory_bytes(&self) -> usize {
        self.tokens * self.dim * 4 + self.docs.len() * std::mem::size_of::<Option<Arc<[f32]>>>()
    }

    /// Inserts or replaces the document at `row` (`tokens`: n x dim, row-major).
    pub fn set(&mut self, row: u64, tokens: Arc<[f32]>) {
        assert_eq!(tokens.len() % self.dim, 0, "tokens must be n x dim");
        let i = row as usize;
        if i >= self.docs.len() {
            self.docs.resize(i + 1, None);
        }
        if let Some(old) = self.docs[i].replace(tokens.clone()) {
            self.tokens -= old.len() / self.dim;
        } else {
            self.live += 1;
        }
        self.tokens += tokens.len() / self.dim;
    }

    /// Removes the document at `row`; returns whether there was one.
    pub fn remove(&mut self, row: u64) -> bool {
        match self.docs.get_mut(row as usize).and_then(Option::take) {
            Some(old) => {
                self.tokens -= old.len() / self.dim;
                self.live -= 1;
                true
            }
            None => false,
        }
    }

    pub fn get(&self, row: u64) -> Option<&Arc<[f32]>> {
        self.docs.get(row as usize).and_then(Option::as_ref)
    }

    /// Live documents in row order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[f32])> + '_ {
        self.docs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.as_deref().map(|d| (i as u64, d)))
    }

    /// The row table, for splitting scans over threads.
    pub(crate) fn slots(&self) -> &[Option<Arc<[f32]>>] {
        &self.docs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_writes() {
        let mut s = TokenStore::new(2);
        s.set(3, Arc::from(vec![1.0, 2.0, 3.0, 4.0]));
        s.set(0, Arc::from(vec![1.0, 0.0]));
        assert_eq!((s.len(), s.token_count()), (2, 3));
        s.set(3, Arc::from(vec![5.0, 6.0]));
        assert_eq!((s.len(), s.token_count()), (2, 2));
        let copy = s.clone();
        assert!(s.remove(3));
        assert!(!s.remove(3));
        assert_eq!((s.len(), s.token_count()), (1, 1));
        assert_eq!(copy.get(3).map(|d| d.len()), Some(2));
        assert_eq!(s.iter().map(|(r, _)| r).collect::<Vec<_>>(), vec![0]);
    }
}
