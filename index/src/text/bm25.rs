//! BM25 top-k over decoded posting lists: [`search`] (MaxScore dynamic pruning) and
//! [`search_exhaustive`], its slow twin (every matching row scored), which it is proptested
//! against: same rows, same scores, same order.
//!
//! Lucene's BM25 (since Lucene 8, without the constant `k1 + 1` factor, as bm25s'
//! `method="lucene"`):
//!
//! ```text
//! score(q, d) = Σ_{t ∈ q} idf(t) · tf / (tf + k1 · (1 − b + b · |d| / avgdl))
//! idf(t)      = ln(1 + (N − n_t + 0.5) / (n_t + 0.5))
//! ```
//!
//! `N` is the number of indexed rows, `n_t` the rows holding `t`, `|d|` the row's exact
//! length in terms (not quantized to a byte as Lucene and tantivy do), `avgdl` the mean
//! length. Each distinct query term counts once. Terms are summed in the order given, in f64,
//! and rounded to f32 at the end, so both functions give bit-identical scores.

use crate::RowSet;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

/// BM25's two parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation (default 1.2).
    pub k1: f64,
    /// Length normalisation, 0 (none) to 1 (full) (default 0.75).
    pub b: f64,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params { k1: 1.2, b: 0.75 }
    }
}

/// Collection statistics over the indexed rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CorpusStats {
    /// Indexed rows (N).
    pub rows: u64,
    /// Sum of their lengths in terms.
    pub total_len: u64,
}

impl CorpusStats {
    fn avg_len(&self) -> f64 {
        if self.rows == 0 {
            1.0
        } else {
            (self.total_len as f64 / self.rows as f64).max(f64::MIN_POSITIVE)
        }
    }
}

/// One term's postings: rows ascending, with the term's frequency in each and each row's
/// length.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Postings {
    pub rows: Vec<u64>,
    pub tfs: Vec<u32>,
    pub lens: Vec<u32>,
}

impl Postings {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// How a query term takes part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Occur {
    /// Scored; a row needs at least one such term (unless the query has required ones).
    Should,
    /// Scored, and a row must hold it (`+term`).
    Must,
    /// A row holding it is excluded (`-term`); not scored.
    MustNot,
}

/// A query term with its postings.
#[derive(Clone, Copy, Debug)]
pub struct QueryTerm<'a> {
    pub postings: &'a Postings,
    pub occur: Occur,
}

/// A scored row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoredRow {
    pub row: u64,
    pub score: f32,
}

struct Scorer {
    k1: f64,
    b: f64,
    avg_len: f64,
}

impl Scorer {
    fn new(params: Bm25Params, stats: CorpusStats) -> Self {
        Scorer {
            k1: params.k1,
            b: params.b,
            avg_len: stats.avg_len(),
        }
    }

    #[inline]
    fn tf_part(&self, tf: u32, len: u32) -> f64 {
        let tf = f64::from(tf);
        tf / (tf + self.k1 * (1.0 - self.b + self.b * f64::from(len) / self.avg_len))
    }
}

/// `ln(1 + (N − n + 0.5) / (n + 0.5))`.
pub fn idf(rows: u64, doc_freq: u64) -> f64 {
    let (n_all, n) = (rows as f64, doc_freq as f64);
    (1.0 + (n_all - n + 0.5) / (n + 0.5)).ln()
}

/// A candidate in the heap: best = highest score, then lowest row.
#[derive(Clone, Copy, PartialEq)]
struct Entry {
    score: f64,
    row: u64,
}

impl Eq for Entry {}
impl Ord for Entry {
    /// "Greater" is "worse", so the max-heap's top is the worst kept.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.row.cmp(&other.row))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

struct Best {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl Best {
    fn new(k: usize) -> Self {
        Best {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    fn push(&mut self, e: Entry) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && e < *worst
        {
            *worst = e;
        }
    }

    /// The score a new row must beat (rows come in ascending order, so a tie loses);
    /// `None` until k rows are held.
    fn threshold(&self) -> Option<f64> {
        if self.heap.len() < self.k {
            None
        } else {
            self.heap.peek().map(|e| e.score)
        }
    }

    fn into_sorted(self) -> Vec<ScoredRow> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| ScoredRow {
                row: e.row,
                score: e.score as f32,
            })
            .collect()
    }
}

/// The distinct scored terms (first occurrence wins), the excluded rows, and the index of
/// required terms.
struct Prepared<'a> {
    scored: Vec<(&'a Postings, f64, bool)>,
    excluded: HashSet<u64>,
}

fn prepare<'a>(terms: &[QueryTerm<'a>], stats: CorpusStats) -> Prepared<'a> {
    let mut scored: Vec<(&'a Postings, f64, bool)> = Vec::new();
    let mut excluded = HashSet::new();
    for t in terms {
        match t.occur {
            Occur::MustNot => excluded.extend(t.postings.rows.iter().copied()),
            occur => {
                let must = occur == Occur::Must;
                if let Some(same) = scored
                    .iter_mut()
                    .find(|(p, _, _)| std::ptr::eq(*p, t.postings))
                {
                    same.2 |= must;
                } else {
                    let weight = idf(stats.rows, t.postings.len() as u64);
                    scored.push((t.postings, weight, must));
                }
            }
        }
    }
    Prepared { scored, excluded }
}

/// Every row holding a scored term, scored term by term: the oracle. Terms are told apart by
/// their postings' address: give a repeated term the same `Postings` to count it once.
pub fn search_exhaustive(
    params: Bm25Params,
    stats: CorpusStats,
    terms: &[QueryTerm<'_>],
    k: usize,
    allowed: Option<&RowSet>,
) -> Vec<ScoredRow> {
    let p = prepare(terms, stats);
    let scorer = Scorer::new(params, stats);
    let required = p.scored.iter().filter(|s| s.2).count();
    // row -> (per-term contribution, required terms held)
    let mut parts: std::collections::BTreeMap<u64, (Vec<f64>, usize)> = Default::default();
    for (i, (postings, weight, must)) in p.scored.iter().enumerate() {
        for j in 0..postings.len() {
            let entry = parts
                .entry(postings.rows[j])
                .or_insert_with(|| (vec![0.0; p.scored.len()], 0));
            entry.0[i] = weight * scorer.tf_part(postings.tfs[j], postings.lens[j]);
            entry.1 += usize::from(*must);
        }
    }
    let mut best = Best::new(k);
    for (row, (contributions, held)) in parts {
        if held < required || p.excluded.contains(&row) || allowed.is_some_and(|a| !a.contains(row))
        {
            continue;
        }
        best.push(Entry {
            score: contributions.iter().sum(),
            row,
        });
    }
    best.into_sorted()
}

/// A position in one posting list.
struct Cursor<'a> {
    postings: &'a Postings,
    at: usize,
    weight: f64,
    /// No row's contribution from this term exceeds this.
    bound: f64,
    /// The term's place in the query (its place in the sum).
    slot: usize,
}

impl Cursor<'_> {
    #[inline]
    fn row(&self) -> Option<u64> {
        self.postings.rows.get(self.at).copied()
    }

    /// Moves to the first row ≥ `row` (galloping, then binary search).
    fn seek(&mut self, row: u64) {
        let rows = &self.postings.rows;
        if self.at >= rows.len() || rows[self.at] >= row {
            return;
        }
        let mut step = 1;
        let mut hi = self.at + 1;
        while hi < rows.len() && rows[hi] < row {
            self.at = hi;
            hi += step;
            step *= 2;
        }
        let hi = hi.min(rows.len());
        self.at += rows[self.at..hi].partition_point(|&r| r < row);
    }
}

/// Rounding slack on upper bounds: bounds and scores are computed by different float
/// operations, so a bound is trusted only when it is below the threshold by more than this.
const SLACK: f64 = 1e-9;

/// How [`search`] walks the lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walk {
    /// Term at a time into a dense accumulator over the rows the lists span.
    Accumulate,
    /// Document at a time with MaxScore pruning.
    MaxScore,
}

/// The same top-k as [`search_exhaustive`]. Pure disjunctions whose lists span few rows
/// (at most four per posting) are scored term at a time into a dense accumulator — a few
/// additions per posting; others document at a time with MaxScore pruning (Turtle &
/// Flood): terms sorted by their score bound, a row whose bound cannot beat the k-th score
/// skipped without reading the lists that could only add to it. With required terms,
/// candidates come from the shortest required list and every other list is sought.
pub fn search(
    params: Bm25Params,
    stats: CorpusStats,
    terms: &[QueryTerm<'_>],
    k: usize,
    allowed: Option<&RowSet>,
) -> Vec<ScoredRow> {
    let postings: usize = terms.iter().map(|t| t.postings.len()).sum();
    let (lo, hi) = row_span(terms.iter().map(|t| t.postings));
    let strategy = if hi - lo < 4 * postings as u64 + 64 {
        Walk::Accumulate
    } else {
        Walk::MaxScore
    };
    search_with(params, stats, terms, k, allowed, strategy)
}

/// The smallest and largest row of some lists ((0, 0) when all are empty).
fn row_span<'a>(lists: impl Iterator<Item = &'a Postings> + Clone) -> (u64, u64) {
    let lo = lists.clone().filter_map(|p| p.rows.first()).min();
    let hi = lists.filter_map(|p| p.rows.last()).max();
    (lo.copied().unwrap_or(0), hi.copied().unwrap_or(0))
}

fn search_with(
    params: Bm25Params,
    stats: CorpusStats,
    terms: &[QueryTerm<'_>],
    k: usize,
    allowed: Option<&RowSet>,
    strategy: Walk,
) -> Vec<ScoredRow> {
    let p = prepare(terms, stats);
    let scorer = Scorer::new(params, stats);
    let n_terms = p.scored.len();
    if n_terms == 0 || k == 0 {
        return Vec::new();
    }
    let mut cursors: Vec<Cursor<'_>> = p
        .scored
        .iter()
        .enumerate()
        .map(|(slot, (postings, weight, _))| {
            let max_tf = postings.tfs.iter().copied().max().unwrap_or(0);
            let min_len = postings.lens.iter().copied().min().unwrap_or(0);
            Cursor {
                postings,
                at: 0,
                weight: *weight,
                bound: weight * scorer.tf_part(max_tf, min_len) * (1.0 + SLACK),
                slot,
            }
        })
        .collect();
    let required: Vec<usize> = (0..n_terms).filter(|&i| p.scored[i].2).collect();
    let mut best = Best::new(k);
    let mut parts = vec![0.0f64; n_terms];
    let skip = |row: u64| {
        (!p.excluded.is_empty() && p.excluded.contains(&row))
            || allowed.is_some_and(|a| !a.contains(row))
    };
    if required.is_empty() && strategy == Walk::Accumulate {
        // Every contribution is > 0 (idf > 0, tf ≥ 1), so 0 marks a row no list holds;
        // adding in term order gives the sums of `search_exhaustive` bit for bit.
        let (lo, hi) = row_span(cursors.iter().map(|c| c.postings));
        let mut acc = vec![0.0f64; (hi - lo + 1) as usize];
        for c in &cursors {
            let lists = c.postings;
            for j in 0..lists.len() {
                acc[(lists.rows[j] - lo) as usize] +=
                    c.weight * scorer.tf_part(lists.tfs[j], lists.lens[j]);
            }
        }
        for (i, &score) in acc.iter().enumerate() {
            let row = lo + i as u64;
            if score > 0.0 && !skip(row) {
                best.push(Entry { score, row });
            }
        }
        return best.into_sorted();
    }
    if !required.is_empty() {
        let lead = required
            .iter()
            .copied()
            .min_by_key(|&i| cursors[i].postings.len())
            .unwrap_or(0);
        let lead_rows = &cursors[lead].postings.rows.clone();
        'rows: for &row in lead_rows {
            if skip(row) {
                continue;
            }
            parts.iter_mut().for_each(|x| *x = 0.0);
            for c in cursors.iter_mut() {
                c.seek(row);
                if c.row() == Some(row) {
                    parts[c.slot] =
                        c.weight * scorer.tf_part(c.postings.tfs[c.at], c.postings.lens[c.at]);
                } else if p.scored[c.slot].2 {
                    continue 'rows;
                }
            }
            best.push(Entry {
                score: parts.iter().sum(),
                row,
            });
        }
        return best.into_sorted();
    }
    // Pure disjunction: MaxScore.
    cursors.sort_by(|a, b| a.bound.total_cmp(&b.bound).then(a.slot.cmp(&b.slot)));
    // prefix[i] = sum of the bounds of cursors[..i]
    let mut prefix = vec![0.0f64; n_terms + 1];
    for i in 0..n_terms {
        prefix[i + 1] = prefix[i] + cursors[i].bound;
    }
    // cursors[..first_essential] are non-essential: together they cannot beat the threshold.
    let mut first_essential = 0;
    while let Some(row) = cursors[first_essential..]
        .iter()
        .filter_map(Cursor::row)
        .min()
    {
        let threshold = best.threshold();
        parts.iter_mut().for_each(|x| *x = 0.0);
        let mut partial = 0.0f64;
        for c in cursors[first_essential..].iter_mut() {
            if c.row() == Some(row) {
                let v = c.weight * scorer.tf_part(c.postings.tfs[c.at], c.postings.lens[c.at]);
                parts[c.slot] = v;
                partial += v;
                c.at += 1;
            }
        }
        if skip(row) {
            continue;
        }
        // Non-essential lists, strongest first, while the row can still win.
        let mut competitive = true;
        for i in (0..first_essential).rev() {
            if let Some(t) = threshold
                && partial + prefix[i + 1] <= t
            {
                competitive = false;
                break;
            }
            let c = &mut cursors[i];
            c.seek(row);
            if c.row() == Some(row) {
                let v = c.weight * scorer.tf_part(c.postings.tfs[c.at], c.postings.lens[c.at]);
                parts[c.slot] = v;
                partial += v;
            }
        }
        if !competitive {
            continue;
        }
        let score: f64 = parts.iter().sum();
        best.push(Entry { score, row });
        if let Some(t) = best.threshold() {
            while first_essential < n_terms && prefix[first_essential + 1] <= t {
                first_essential += 1;
            }
        }
    }
    best.into_sorted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn postings(entries: &[(u64, u32, u32)]) -> Postings {
        Postings {
            rows: entries.iter().map(|e| e.0).collect(),
            tfs: entries.iter().map(|e| e.1).collect(),
            lens: entries.iter().map(|e| e.2).collect(),
        }
    }

    #[test]
    fn lucene_formula_by_hand() {
        // 3 rows, lengths 4, 2, 6 (avg 4); "x" in rows 0 (tf 2) and 2 (tf 1).
        let x = postings(&[(0, 2, 4), (2, 1, 6)]);
        let stats = CorpusStats {
            rows: 3,
            total_len: 12,
        };
        let terms = [QueryTerm {
            postings: &x,
            occur: Occur::Should,
        }];
        let got = search(Bm25Params::default(), stats, &terms, 10, None);
        let idf = (1.0f64 + (3.0 - 2.0 + 0.5) / (2.0 + 0.5)).ln();
        let s0 = idf * 2.0 / (2.0 + 1.2 * (1.0 - 0.75 + 0.75 * 4.0 / 4.0));
        let s2 = idf * 1.0 / (1.0 + 1.2 * (1.0 - 0.75 + 0.75 * 6.0 / 4.0));
        assert_eq!(
            got,
            vec![
                ScoredRow {
                    row: 0,
                    score: s0 as f32
                },
                ScoredRow {
                    row: 2,
                    score: s2 as f32
                }
            ]
        );
    }

    #[test]
    fn required_excluded_and_repeated_terms() {
        let a = postings(&[(0, 1, 3), (1, 1, 3), (2, 1, 3)]);
        let b = postings(&[(1, 1, 3), (2, 2, 3)]);
        let c = postings(&[(2, 1, 3)]);
        let stats = CorpusStats {
            rows: 4,
            total_len: 12,
        };
        let p = Bm25Params::default();
        let t = |postings, occur| QueryTerm { postings, occur };
        let rows = |hits: Vec<ScoredRow>| hits.iter().map(|h| h.row).collect::<Vec<_>>();
        let q = [
            t(&a, Occur::Should),
            t(&b, Occur::Must),
            t(&c, Occur::MustNot),
        ];
        assert_eq!(rows(search(p, stats, &q, 10, None)), [1]);
        assert_eq!(rows(search_exhaustive(p, stats, &q, 10, None)), [1]);
        let once = search(p, stats, &[t(&b, Occur::Should)], 10, None);
        let twice = search(
            p,
            stats,
            &[t(&b, Occur::Should), t(&b, Occur::Should)],
            10,
            None,
        );
        assert_eq!(once, twice);
    }

    fn arb_query() -> impl Strategy<Value = (Vec<Postings>, Vec<Occur>, u64, usize, Vec<u64>)> {
        let list =
            prop::collection::btree_map(0u64..300, (1u32..6, 1u32..40), 0..120).prop_map(|m| {
                postings(
                    &m.into_iter()
                        .map(|(r, (tf, len))| (r, tf, len.max(tf)))
                        .collect::<Vec<_>>(),
                )
            });
        (
            prop::collection::vec(list, 1..6),
            prop::collection::vec(prop_oneof![6 => Just(Occur::Should), 1 => Just(Occur::Must), 1 => Just(Occur::MustNot)], 6),
            300u64..400,
            0usize..40,
            prop::collection::vec(0u64..300, 0..200),
        )
            .prop_map(|(lists, occurs, n, k, allowed)| (lists, occurs, n, k, allowed))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn maxscore_equals_exhaustive((lists, occurs, n, k, allowed) in arb_query(), filtered: bool, b in 0.0f64..1.0) {
            let stats = CorpusStats { rows: n, total_len: n * 20 };
            let params = Bm25Params { k1: 1.2, b };
            let terms: Vec<QueryTerm<'_>> = lists.iter().zip(&occurs).map(|(p, &occur)| QueryTerm { postings: p, occur }).collect();
            let set: RowSet = {
                let mut s = RowSet::new();
                allowed.iter().for_each(|&r| { s.insert(r); });
                s
            };
            let allowed = filtered.then_some(&set);
            let slow = search_exhaustive(params, stats, &terms, k, allowed);
            for strategy in [Walk::Accumulate, Walk::MaxScore] {
                let fast = search_with(params, stats, &terms, k, allowed, strategy);
                prop_assert_eq!(&fast, &slow, "{:?}", strategy);
            }
            prop_assert_eq!(search(params, stats, &terms, k, allowed), slow);
        }
    }
}
