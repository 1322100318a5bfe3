//! [`RowSet`]: a set of row ids as a bitmap, the form filtered searches take their allowed rows
//! in. Row ids are dense (assigned in insertion order), so a bitmap over `0..=max row` costs
//! one bit per row ever inserted (125 KB per million) and answers membership in one load.
//! Written here rather than taken from a crate: we need only insert/contains/and/or/difference
//! over dense ids, and roaring's compression would buy little at this density.

/// A set of row ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowSet {
    words: Vec<u64>,
    len: usize,
}

impl RowSet {
    pub fn new() -> Self {
        RowSet::default()
    }

    pub fn insert(&mut self, row: u64) -> bool {
        let (w, bit) = ((row / 64) as usize, row % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let fresh = self.words[w] & (1 << bit) == 0;
        self.words[w] |= 1 << bit;
        self.len += usize::from(fresh);
        fresh
    }

    #[inline]
    pub fn contains(&self, row: u64) -> bool {
        self.words
            .get((row / 64) as usize)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rows in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros();
                w &= w - 1;
                Some(i as u64 * 64 + u64::from(bit))
            })
        })
    }

    /// Keeps the rows also in `other`.
    pub fn intersect_with(&mut self, other: &RowSet) {
        self.words.truncate(other.words.len());
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
        self.recount();
    }

    /// Adds the rows of `other`.
    pub fn union_with(&mut self, other: &RowSet) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
        self.recount();
    }

    /// Removes the rows of `other`.
    pub fn difference_with(&mut self, other: &RowSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
        self.recount();
    }

    fn recount(&mut self) {
        self.len = self.words.iter().map(|w| w.count_ones() as usize).sum();
    }
}

impl FromIterator<u64> for RowSet {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        let mut set = RowSet::new();
        for row in iter {
            set.insert(row);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        #[test]
        fn behaves_like_a_btreeset(
            a in proptest::collection::vec(0u64..300, 0..80),
            b in proptest::collection::vec(0u64..300, 0..80),
        ) {
            let (sa, sb): (RowSet, RowSet) = (a.iter().copied().collect(), b.iter().copied().collect());
            let (ta, tb): (BTreeSet<u64>, BTreeSet<u64>) = (a.into_iter().collect(), b.into_iter().collect());
            prop_assert_eq!(sa.len(), ta.len());
            prop_assert_eq!(sa.iter().collect::<Vec<_>>(), ta.iter().copied().collect::<Vec<_>>());
            for r in 0..310 {
                prop_assert_eq!(sa.contains(r), ta.contains(&r));
            }
            let mut and = sa.clone();
            and.intersect_with(&sb);
            prop_assert_eq!(and.iter().collect::<Vec<_>>(), ta.intersection(&tb).copied().collect::<Vec<_>>());
            prop_assert_eq!(and.len(), ta.intersection(&tb).count());
            let mut or = sa.clone();
            or.union_with(&sb);
            prop_assert_eq!(or.iter().collect::<Vec<_>>(), ta.union(&tb).copied().collect::<Vec<_>>());
            let mut diff = sa.clone();
            diff.difference_with(&sb);
            prop_assert_eq!(diff.iter().collect::<Vec<_>>(), ta.difference(&tb).copied().collect::<Vec<_>>());
        }
    }
}
