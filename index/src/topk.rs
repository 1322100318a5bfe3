//! Bounded top-k selection with a deterministic order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A candidate: its row id and its distance to the query (smaller is closer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbor {
    pub distance: f32,
    pub row: u64,
}

impl Neighbor {
    /// Total order: by distance (`f32::total_cmp`, so NaN sorts last), ties broken by the
    /// smaller row id. This makes every search result reproducible.
    #[inline]
    pub fn cmp_closeness(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.row.cmp(&other.row))
    }
}

impl Eq for Neighbor {}
impl PartialOrd for Neighbor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Neighbor {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_closeness(other)
    }
}

/// Keeps the `k` closest neighbors seen so far (a max-heap whose top is the worst kept).
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Neighbor>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The distance a candidate must beat to enter, once `k` are kept.
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |n| n.distance)
        }
    }

    #[inline]
    pub fn push(&mut self, candidate: Neighbor) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate < *worst
        {
            *worst = candidate;
        }
    }

    pub fn merge(&mut self, other: TopK) {
        for n in other.heap {
            self.push(n);
        }
    }

    /// The kept neighbors, closest first.
    pub fn into_sorted_vec(self) -> Vec<Neighbor> {
        self.heap.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keeps_the_k_smallest(ds in proptest::collection::vec(-10i32..10, 0..200), k in 0usize..20) {
            let items: Vec<Neighbor> = ds.iter().enumerate()
                .map(|(i, &d)| Neighbor { distance: d as f32, row: i as u64 }).collect();
            let mut top = TopK::new(k);
            for n in &items { top.push(*n); }
            let mut expected = items.clone();
            expected.sort();
            expected.truncate(k);
            prop_assert_eq!(top.into_sorted_vec(), expected);
        }
    }

    #[test]
    fn ties_prefer_smaller_rows_and_nan_sorts_last() {
        let mut top = TopK::new(2);
        top.push(Neighbor {
            distance: f32::NAN,
            row: 0,
        });
        top.push(Neighbor {
            distance: 1.0,
            row: 9,
        });
        top.push(Neighbor {
            distance: 1.0,
            row: 3,
        });
        let rows: Vec<u64> = top.into_sorted_vec().iter().map(|n| n.row).collect();
        assert_eq!(rows, vec![3, 9]);
    }
}
