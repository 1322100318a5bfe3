//! Fusing ranked lists: reciprocal rank fusion, distribution-based score fusion and min-max
//! (relative) score fusion, each with per-branch weights. Every fused hit keeps its rank and
//! score in each branch (its [`Explanation`]); ties are broken by insertion order (row id),
//! so the fused order is deterministic and paging over it is stable.

use std::collections::BTreeMap;

/// How a hybrid query merges its dense and keyword lists. Scores of a branch are taken
/// "higher is better" (an l2 distance enters negated).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Fusion {
    /// Reciprocal rank fusion (Cormack et al. 2009): Σ weight / (k + rank), ranks from 1;
    /// scores are not used. The default, with k = 60.
    Rrf { k: f64 },
    /// Distribution-based score fusion (as Qdrant's DBSF): each branch's scores mapped by
    /// (s − (μ − 3σ)) / 6σ, μ and σ over that branch's list, then Σ weight × mapped.
    Dbsf,
    /// Relative score fusion (as Weaviate's `relativeScoreFusion`): each branch's scores
    /// mapped to [0, 1] by its list's min and max, then Σ weight × mapped. Weights
    /// (α, 1 − α) are Weaviate's α.
    Relative,
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion::Rrf { k: 60.0 }
    }
}

impl Fusion {
    /// `rrf`, `dbsf` or `relative` with their defaults.
    pub fn parse(name: &str) -> Option<Fusion> {
        match name {
            "rrf" => Some(Fusion::default()),
            "dbsf" => Some(Fusion::Dbsf),
            "relative" => Some(Fusion::Relative),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Fusion::Rrf { .. } => "rrf",
            Fusion::Dbsf => "dbsf",
            Fusion::Relative => "relative",
        }
    }
}

/// Which branch of a hybrid query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Branch {
    /// Vector, token-matrix (MaxSim) or embedded-text search.
    Dense,
    /// BM25 over the full-text index.
    Keywords,
}

impl Branch {
    pub fn name(&self) -> &'static str {
        match self {
            Branch::Dense => "dense",
            Branch::Keywords => "keywords",
        }
    }
}

/// A hit's place in one branch.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BranchScore {
    pub branch: Branch,
    /// Rank in the branch's list, from 1; `None` when the branch did not return the record
    /// (within its depth).
    pub rank: Option<usize>,
    /// The branch's own score (cosine, dot, l2 distance, MaxSim, BM25).
    pub score: Option<f32>,
}

/// Why a fused hit is where it is: each branch's rank and score; the fused score is the
/// hit's `score`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Explanation {
    pub branches: Vec<BranchScore>,
}

/// One branch's list, best first.
pub(crate) struct Ranked<'a> {
    pub branch: Branch,
    pub weight: f64,
    /// (row, score) best first.
    pub hits: &'a [(u64, f32)],
    /// Whether a larger score is better (false for l2 distances).
    pub higher_is_better: bool,
}

/// A fused hit.
pub(crate) struct Fused {
    pub row: u64,
    pub score: f32,
    pub explain: Explanation,
}

/// The fused list, best first: all rows any branch returned (a caller cuts it to k).
pub(crate) fn fuse(fusion: Fusion, lists: &[Ranked<'_>]) -> Vec<Fused> {
    let mut fused: BTreeMap<u64, (f64, Vec<BranchScore>)> = BTreeMap::new();
    for (b, list) in lists.iter().enumerate() {
        let oriented: Vec<f64> = list
            .hits
            .iter()
            .map(|&(_, s)| {
                if list.higher_is_better {
                    f64::from(s)
                } else {
                    -f64::from(s)
                }
            })
            .collect();
        let mapped = normalised(fusion, &oriented);
        for (i, &(row, score)) in list.hits.iter().enumerate() {
            let entry = fused.entry(row).or_insert_with(|| {
                (
                    0.0,
                    lists
                        .iter()
                        .map(|l| BranchScore {
                            branch: l.branch,
                            rank: None,
                            score: None,
                        })
                        .collect(),
                )
            });
            let part = match fusion {
                Fusion::Rrf { k } => 1.0 / (k + (i + 1) as f64),
                Fusion::Dbsf | Fusion::Relative => mapped[i],
            };
            entry.0 += list.weight * part;
            entry.1[b].rank = Some(i + 1);
            entry.1[b].score = Some(score);
        }
    }
    let mut out: Vec<(u64, f64, Vec<BranchScore>)> =
        fused.into_iter().map(|(row, (s, b))| (row, s, b)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.into_iter()
        .map(|(row, score, branches)| Fused {
            row,
            score: score as f32,
            explain: Explanation { branches },
        })
        .collect()
}

/// Scores mapped for score fusion (unused by RRF). A list whose scores are all equal maps
/// to 1 (DBSF: 0.5, the middle of its range).
fn normalised(fusion: Fusion, scores: &[f64]) -> Vec<f64> {
    if scores.is_empty() {
        return Vec::new();
    }
    match fusion {
        Fusion::Rrf { .. } => vec![0.0; scores.len()],
        Fusion::Relative => {
            let lo = scores.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            scores
                .iter()
                .map(|&s| if hi > lo { (s - lo) / (hi - lo) } else { 1.0 })
                .collect()
        }
        Fusion::Dbsf => {
            let n = scores.len() as f64;
            let mean = scores.iter().sum::<f64>() / n;
            let sd = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
            scores
                .iter()
                .map(|&s| {
                    if sd > 0.0 {
                        (s - (mean - 3.0 * sd)) / (6.0 * sd)
                    } else {
                        0.5
                    }
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(f: &[Fused]) -> Vec<u64> {
        f.iter().map(|h| h.row).collect()
    }

    #[test]
    fn rrf_by_hand_with_explanations() {
        let dense = [(1, 0.9), (2, 0.8), (3, 0.1)];
        let kw = [(3, 12.0), (1, 5.0)];
        let lists = [
            Ranked {
                branch: Branch::Dense,
                weight: 1.0,
                hits: &dense,
                higher_is_better: true,
            },
            Ranked {
                branch: Branch::Keywords,
                weight: 1.0,
                hits: &kw,
                higher_is_better: true,
            },
        ];
        let f = fuse(Fusion::default(), &lists);
        // 1: 1/61 + 1/62; 3: 1/63 + 1/61; 2: 1/62.
        assert_eq!(rows(&f), [1, 3, 2]);
        assert!((f64::from(f[0].score) - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-7);
        assert_eq!(f[1].explain.branches[0].rank, Some(3));
        assert_eq!(f[1].explain.branches[1].rank, Some(1));
        assert_eq!(f[1].explain.branches[1].score, Some(12.0));
        assert_eq!(f[2].explain.branches[1].rank, None);
    }

    #[test]
    fn ties_go_to_the_older_row() {
        let a = [(5, 1.0)];
        let b = [(4, 1.0)];
        let lists = [
            Ranked {
                branch: Branch::Dense,
                weight: 1.0,
                hits: &a,
                higher_is_better: true,
            },
            Ranked {
                branch: Branch::Keywords,
                weight: 1.0,
                hits: &b,
                higher_is_better: true,
            },
        ];
        for fusion in [Fusion::default(), Fusion::Dbsf, Fusion::Relative] {
            assert_eq!(rows(&fuse(fusion, &lists)), [4, 5]);
        }
    }

    #[test]
    fn score_fusions_normalise_each_branch() {
        // l2 distances: smaller is better, so row 7 (0.1) is the dense branch's best.
        let dense = [(7, 0.1), (8, 0.5), (9, 0.9)];
        let kw = [(9, 30.0), (8, 20.0), (7, 10.0)];
        let lists = |w: f64| {
            [
                Ranked {
                    branch: Branch::Dense,
                    weight: w,
                    hits: &dense,
                    higher_is_better: false,
                },
                Ranked {
                    branch: Branch::Keywords,
                    weight: 1.0 - w,
                    hits: &kw,
                    higher_is_better: true,
                },
            ]
        };
        let f = fuse(Fusion::Relative, &lists(0.75));
        assert_eq!(rows(&f), [7, 8, 9]);
        assert!((f[0].score - 0.75).abs() < 1e-6);
        assert!((f[1].score - 0.5).abs() < 1e-6);
        let f = fuse(Fusion::Relative, &lists(0.25));
        assert_eq!(rows(&f), [9, 8, 7]);
        let f = fuse(Fusion::Dbsf, &lists(0.5));
        // Symmetric lists: every row fuses to the same score (up to rounding).
        assert_eq!(f.len(), 3);
        assert!((f[0].score - f[2].score).abs() < 1e-6);
        assert!((f[0].score - 0.5).abs() < 1e-6);
    }
}
