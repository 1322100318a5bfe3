//! Choosing the negatives of one query from a teacher's ranked candidates: positives and
//! duplicates out, the score filters, the rank window, then top or seeded random sampling.
//! Pure (no collection), so every rule is tested on small hand-made lists.

use quiver_index::rng::SplitMix64;

/// The selection rules of a [`super::MiningRequest`], resolved for one request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rules {
    pub range_min: usize,
    pub range_max: usize,
    pub max_score: Option<f32>,
    pub min_score: Option<f32>,
    pub absolute_margin: Option<f32>,
    pub relative_margin: Option<f32>,
    pub num_negatives: usize,
    /// `None`: the best; `Some(seed)`: a uniform sample, from a generator seeded per query.
    pub random: Option<u64>,
}

/// One candidate as the teacher ranked it (best first).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Candidate {
    pub score: f32,
    pub positive: bool,
    /// Same text as the query, a positive or a better-ranked candidate.
    pub duplicate: bool,
}

/// Candidates each rule removed (a candidate is counted by the first rule that removes it;
/// positives are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    pub duplicates: u64,
    pub absolute_margin: u64,
    pub relative_margin: u64,
    pub max_score: u64,
    pub min_score: u64,
}

impl Skipped {
    pub(crate) fn add(&mut self, other: &Skipped) {
        self.duplicates += other.duplicates;
        self.absolute_margin += other.absolute_margin;
        self.relative_margin += other.relative_margin;
        self.max_score += other.max_score;
        self.min_score += other.min_score;
    }
}

/// TopK-PercPos's bound: p − |p| × m, so that a margin lowers the bar whatever p's sign
/// (p × (1 − m) would raise it for negative scores).
fn relative_threshold(p: f32, m: f32) -> f32 {
    p - p.abs() * m
}

/// The indices (into `candidates`) of the chosen negatives, best first, and what the rules
/// removed. `weakest` is the lowest score of the query's positives (the margins compare
/// against it; without it, the margins keep everything). `salt` varies the random sample per
/// query (the pair's position), so a seed gives the same negatives whatever the batching.
pub(crate) fn select(
    candidates: &[Candidate],
    weakest: Option<f32>,
    rules: &Rules,
    salt: u64,
) -> (Vec<usize>, Skipped) {
    let mut skipped = Skipped::default();
    let mut survivors: Vec<usize> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        if c.positive {
            continue;
        }
        let s = c.score;
        if c.duplicate {
            skipped.duplicates += 1;
        } else if let (Some(m), Some(p)) = (rules.absolute_margin, weakest)
            && s + m > p
        {
            skipped.absolute_margin += 1;
        } else if let (Some(m), Some(p)) = (rules.relative_margin, weakest)
            && s > relative_threshold(p, m)
        {
            skipped.relative_margin += 1;
        } else if rules.max_score.is_some_and(|m| s > m) {
            skipped.max_score += 1;
        } else if rules.min_score.is_some_and(|m| s < m) {
            skipped.min_score += 1;
        } else {
            survivors.push(i);
        }
    }
    // The teacher's order is best first already; a stable sort keeps its tie order.
    survivors.sort_by(|&a, &b| candidates[b].score.total_cmp(&candidates[a].score));
    survivors.truncate(rules.range_max);
    let window: Vec<usize> = survivors.into_iter().skip(rules.range_min).collect();
    let chosen = match rules.random {
        None => window.into_iter().take(rules.num_negatives).collect(),
        Some(seed) => {
            let mut rng = SplitMix64::new(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut picked: Vec<usize> = rng
                .sample_indices(window.len(), rules.num_negatives)
                .into_iter()
                .map(|j| window[j])
                .collect();
            picked.sort_by(|&a, &b| {
                candidates[b]
                    .score
                    .total_cmp(&candidates[a].score)
                    .then(a.cmp(&b))
            });
            picked
        }
    };
    (chosen, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cands(scores: &[f32]) -> Vec<Candidate> {
        scores
            .iter()
            .map(|&score| Candidate {
                score,
                positive: false,
                duplicate: false,
            })
            .collect()
    }

    fn rules(n: usize) -> Rules {
        Rules {
            range_min: 0,
            range_max: 100,
            max_score: None,
            min_score: None,
            absolute_margin: None,
            relative_margin: None,
            num_negatives: n,
            random: None,
        }
    }

    #[test]
    fn top_skips_positives_and_duplicates() {
        let mut c = cands(&[0.9, 0.8, 0.7, 0.6, 0.5]);
        c[0].positive = true;
        c[2].duplicate = true;
        let (chosen, skipped) = select(&c, Some(0.9), &rules(2), 0);
        assert_eq!(chosen, vec![1, 3]);
        assert_eq!(skipped.duplicates, 1);
    }

    #[test]
    fn margins_compare_against_the_weakest_positive() {
        let c = cands(&[0.85, 0.8, 0.76, 0.7]);
        let r = Rules {
            absolute_margin: Some(0.05),
            ..rules(3)
        };
        // Kept only when score + 0.05 <= 0.8: 0.7 (0.76 + 0.05 = 0.81 > 0.8).
        let (chosen, skipped) = select(&c, Some(0.8), &r, 0);
        assert_eq!(chosen, vec![3]);
        assert_eq!(skipped.absolute_margin, 3);
        let r = Rules {
            relative_margin: Some(0.05),
            ..rules(3)
        };
        // Kept only when score <= 0.8 - 0.05 x 0.8 = 0.76.
        let (chosen, skipped) = select(&c, Some(0.8), &r, 0);
        assert_eq!(chosen, vec![2, 3]);
        assert_eq!(skipped.relative_margin, 2);
        // No positive score: the margins keep everything.
        assert_eq!(select(&c, None, &r, 0).0, vec![0, 1, 2]);
    }

    #[test]
    fn score_bounds_and_the_rank_window_counted_after_filtering() {
        let c = cands(&[0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.1]);
        let r = Rules {
            max_score: Some(0.92),
            min_score: Some(0.2),
            range_min: 1,
            range_max: 4,
            ..rules(10)
        };
        // Survivors 0.9 0.8 0.7 0.6 0.5; the best 4 of them; the first skipped.
        let (chosen, skipped) = select(&c, None, &r, 0);
        assert_eq!(chosen, vec![2, 3, 4]);
        assert_eq!((skipped.max_score, skipped.min_score), (1, 1));
    }

    #[test]
    fn random_sampling_is_seeded_sorted_and_within_the_window() {
        let c = cands(&(0..50).map(|i| 1.0 - i as f32 / 100.0).collect::<Vec<_>>());
        let r = Rules {
            range_min: 5,
            range_max: 30,
            random: Some(7),
            ..rules(6)
        };
        let (a, _) = select(&c, None, &r, 3);
        assert_eq!(a.len(), 6);
        assert!(a.iter().all(|&i| (5..30).contains(&i)));
        assert!(a.windows(2).all(|w| w[0] < w[1]), "best first: {a:?}");
        assert_eq!(
            select(&c, None, &r, 3).0,
            a,
            "same seed and query, same sample"
        );
        let others: Vec<Vec<usize>> = (4..10).map(|s| select(&c, None, &r, s).0).collect();
        assert!(others.iter().any(|o| *o != a), "the salt varies the sample");
        // Fewer candidates than wanted: all of them.
        let r = Rules {
            range_max: 3,
            range_min: 0,
            ..r
        };
        assert_eq!(select(&c, None, &r, 3).0, vec![0, 1, 2]);
    }

    /// sentence-transformers' formulation, as the twin: scores in a dense row, removed
    /// entries set to −∞, the `range_max` best taken, `range_min` sliced off, the first
    /// `num_negatives` finite ones kept.
    fn masked_twin(c: &[Candidate], weakest: Option<f32>, r: &Rules) -> Vec<usize> {
        let mut s: Vec<f32> = c.iter().map(|c| c.score).collect();
        for (i, c) in c.iter().enumerate() {
            if c.positive || c.duplicate {
                s[i] = f32::NEG_INFINITY;
            }
        }
        if let Some(p) = weakest {
            if let Some(m) = r.absolute_margin {
                s.iter_mut()
                    .filter(|x| **x + m > p)
                    .for_each(|x| *x = f32::NEG_INFINITY);
            }
            if let Some(m) = r.relative_margin {
                let bound = p - p.abs() * m;
                s.iter_mut()
                    .filter(|x| **x > bound)
                    .for_each(|x| *x = f32::NEG_INFINITY);
            }
        }
        if let Some(m) = r.max_score {
            s.iter_mut()
                .filter(|x| **x > m)
                .for_each(|x| *x = f32::NEG_INFINITY);
        }
        if let Some(m) = r.min_score {
            s.iter_mut()
                .filter(|x| **x < m)
                .for_each(|x| *x = f32::NEG_INFINITY);
        }
        let mut order: Vec<usize> = (0..s.len()).collect();
        order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
        order
            .into_iter()
            .take(r.range_max)
            .skip(r.range_min)
            .take(r.num_negatives)
            .filter(|&i| s[i].is_finite())
            .collect()
    }

    proptest! {
        #[test]
        fn top_selection_equals_the_masked_twin(
            raw in prop::collection::vec((-100i32..100, any::<bool>(), prop::bool::weighted(0.1)), 0..60),
            weakest in prop::option::of(-100i32..100),
            range in (0usize..10, 0usize..70),
            n in 0usize..12,
            bounds in (prop::option::of(-100i32..100), prop::option::of(-100i32..100)),
            margins in (prop::option::of(0i32..30), prop::option::of(0i32..30)),
        ) {
            // Distinct scores in teacher order (best first), on a grid so ties do not arise.
            let mut raw = raw;
            raw.sort_by_key(|r| std::cmp::Reverse(r.0));
            raw.dedup_by_key(|r| r.0);
            let c: Vec<Candidate> = raw.iter().map(|&(s, positive, duplicate)| Candidate {
                score: s as f32 / 100.0, positive, duplicate,
            }).collect();
            let r = Rules {
                range_min: range.0,
                range_max: range.1,
                max_score: bounds.0.map(|x| x as f32 / 100.0),
                min_score: bounds.1.map(|x| x as f32 / 100.0),
                absolute_margin: margins.0.map(|x| x as f32 / 100.0),
                relative_margin: margins.1.map(|x| x as f32 / 100.0),
                num_negatives: n,
                random: None,
            };
            let weakest = weakest.map(|x| x as f32 / 100.0);
            prop_assert_eq!(select(&c, weakest, &r, 0).0, masked_twin(&c, weakest, &r));
        }
    }
}
