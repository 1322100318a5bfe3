//! Training batches packed by cluster (as in CDE, Morris & Rush 2024): the pairs whose
//! positives lie close together share a batch, so the in-batch negatives a contrastive loss
//! uses are hard ones rather than random documents.
//!
//! Rules (docs/mining.md): the pairs' first positives are clustered with k-means (k =
//! ⌈pairs / batch⌉ unless set, seeded); each cluster fills batches greedily in pair order;
//! a pair that would repeat a query or a positive already in the batch (an in-batch
//! "negative" that is really a positive) waits for the next batch; what is left of each
//! cluster is merged by walking the clusters from the one with most left-overs to the nearest
//! unvisited centroid, and cut into batches the same way. Only the last batches can be short.

use super::{MiningPair, PairQuery, teacher};
use crate::collection::Collection;
use crate::error::{Error, Result};
use crate::kinds::Owned;
use quiver_index::Metric;
use quiver_index::kmeans::{self, KMeansParams};
use quiver_index::multi::normalize_tokens;
use quiver_index::rng::SplitMix64;
use std::collections::HashSet;

/// What [`Collection::pack_batches`] packs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PackRequest<'a> {
    pub pairs: &'a [MiningPair],
    pub batch_size: usize,
    /// k-means clusters of the positives; `None` = ⌈pairs / batch_size⌉.
    pub clusters: Option<usize>,
    /// Seed of the clustering and of the random batches hardness is compared with.
    pub seed: u64,
}

impl<'a> PackRequest<'a> {
    pub fn new(pairs: &'a [MiningPair], batch_size: usize) -> Self {
        PackRequest {
            pairs,
            batch_size,
            clusters: None,
            seed: 0,
        }
    }

    pub fn clusters(mut self, clusters: impl Into<Option<usize>>) -> Self {
        self.clusters = clusters.into();
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Batches of pair positions, and how hard their in-batch negatives are.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PackedBatches {
    /// Each batch: positions in the request's pairs. Every pair is in exactly one batch.
    pub batches: Vec<Vec<usize>>,
    pub clusters: usize,
    /// Batches whose pairs all come from one cluster.
    pub single_cluster: usize,
    /// Mean similarity of each query to the other pairs' positives in its batch (the
    /// in-batch negatives), averaged over batches: cosine similarity, inner product, or
    /// −(squared distance) for l2.
    pub hardness: f64,
    /// The same for the pairs shuffled (seeded) into batches of the same size, under the
    /// same no-repeat rule.
    pub random_hardness: f64,
}

impl Collection {
    /// Packs training pairs into batches whose positives share a k-means cluster, and
    /// measures the in-batch hardness against random batches.
    ///
    /// ```
    /// # use quiver::{CollectionConfig, Database, Metric, Record};
    /// # use quiver::mining::{MiningPair, PackRequest};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = Database::create(dir.path().join("q.qvr"))?;
    /// let c = db.create_collection("c", CollectionConfig::new(2, Metric::Cosine))?;
    /// c.upsert(&[
    ///     Record::new("x1", vec![1.0, 0.0]), Record::new("x2", vec![0.9, 0.1]),
    ///     Record::new("y1", vec![0.0, 1.0]), Record::new("y2", vec![0.1, 0.9]),
    /// ])?;
    /// let pairs = [
    ///     MiningPair::vector(vec![1.0, 0.0], ["x1"]), MiningPair::vector(vec![0.0, 1.0], ["y1"]),
    ///     MiningPair::vector(vec![0.9, 0.1], ["x2"]), MiningPair::vector(vec![0.1, 0.9], ["y2"]),
    /// ];
    /// let packed = c.pack_batches(&PackRequest::new(&pairs, 2))?;
    /// assert!(packed.batches.contains(&vec![0, 2]) && packed.batches.contains(&vec![1, 3]));
    /// assert!(packed.hardness > packed.random_hardness);
    /// # Ok::<(), quiver::Error>(())
    /// ```
    ///
    /// Errors: a batch size below 2, no pairs, a positive the collection lacks
    /// ([`Error::InvalidPair`]), `clusters` 0 or above the pair count.
    pub fn pack_batches(&self, request: &PackRequest<'_>) -> Result<PackedBatches> {
        let pairs = request.pairs;
        let b = request.batch_size;
        if b < 2 {
            return Err(Error::InvalidParameter {
                name: "batch_size",
                reason: format!("{b}: a batch needs 2 pairs for in-batch negatives"),
            });
        }
        if pairs.is_empty() {
            return Err(Error::InvalidParameter {
                name: "pairs",
                reason: "no pairs to pack".into(),
            });
        }
        let k = request.clusters.unwrap_or(pairs.len().div_ceil(b));
        if k == 0 || k > pairs.len() {
            return Err(Error::InvalidParameter {
                name: "clusters",
                reason: format!("{k}: between 1 and the {} pairs", pairs.len()),
            });
        }
        let info = self.info()?;
        let dim = info.dim;
        let mut positives = Vec::with_capacity(pairs.len() * dim);
        for (i, p) in pairs.iter().enumerate() {
            let Some(id) = p.positives.first() else {
                return Err(Error::InvalidPair {
                    pair: i,
                    reason: "no positive".into(),
                });
            };
            let record = self.get(id)?.ok_or_else(|| teacher::missing(i, id))?;
            positives.extend(record.vector);
        }
        let mut queries = Vec::with_capacity(pairs.len() * dim);
        for (i, q) in teacher::embedded(self, pairs)?.into_iter().enumerate() {
            match q {
                Owned::Vector(v) if v.len() == dim => queries.extend(v),
                Owned::Vector(v) => {
                    return Err(Error::DimensionMismatch {
                        expected: dim,
                        found: v.len(),
                        position: Some(i),
                    });
                }
                Owned::Matrix(_) => {
                    return Err(Error::WrongCollectionKind {
                        name: self.name.clone(),
                        multi_vector: true,
                        operation: "packing batches",
                    });
                }
            }
        }
        if info.metric == Metric::Cosine {
            normalize_tokens(&mut positives, dim);
            normalize_tokens(&mut queries, dim);
        }
        let params = KMeansParams {
            seed: request.seed,
            ..KMeansParams::default()
        };
        let centroids = kmeans::train(&positives, dim, k, &params);
        let cluster_of: Vec<u32> = kmeans::assign(&positives, dim, &centroids, 0)
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let keys = conflict_keys(pairs);
        let batches = pack(&cluster_of, &centroids, dim, b, &keys);
        let single_cluster = batches
            .iter()
            .filter(|batch| batch.iter().all(|&i| cluster_of[i] == cluster_of[batch[0]]))
            .count();
        let mut shuffled: Vec<usize> = (0..pairs.len()).collect();
        let mut rng = SplitMix64::new(request.seed ^ 0x5241_4E44);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i + 1));
        }
        // The baseline obeys the same rule (no repeated query or positive in a batch), or
        // its "negatives" would include positives and look harder than they are.
        let random = cut(shuffled, b, &keys);
        let similarity = |q: usize, d: usize| {
            let (x, y) = (
                &queries[q * dim..(q + 1) * dim],
                &positives[d * dim..(d + 1) * dim],
            );
            match info.metric {
                Metric::L2 => -x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(),
                _ => x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>(),
            }
        };
        Ok(PackedBatches {
            hardness: hardness(&batches, similarity),
            random_hardness: hardness(&random, similarity),
            batches,
            clusters: centroids.len() / dim,
            single_cluster,
        })
    }
}

/// What two pairs of one batch must not share: the query (text, or vector bits) and any
/// positive id.
fn conflict_keys(pairs: &[MiningPair]) -> Vec<Vec<String>> {
    pairs
        .iter()
        .map(|p| {
            let query = match &p.query {
                PairQuery::Text(t) => format!("q\u{0}{t}"),
                PairQuery::Vector(v) => {
                    let bits: Vec<String> = v.iter().map(|x| x.to_bits().to_string()).collect();
                    format!("v\u{0}{}", bits.join(","))
                }
            };
            std::iter::once(query)
                .chain(p.positives.iter().map(|id| format!("p\u{0}{id}")))
                .collect()
        })
        .collect()
}

/// Mean over batches of the mean in-batch negative similarity (batches of one pair have no
/// negatives and are left out).
fn hardness(batches: &[Vec<usize>], similarity: impl Fn(usize, usize) -> f32) -> f64 {
    let per_batch: Vec<f64> = batches
        .iter()
        .filter(|b| b.len() > 1)
        .map(|b| {
            let mut sum = 0f64;
            for &i in b {
                for &j in b {
                    if i != j {
                        sum += f64::from(similarity(i, j));
                    }
                }
            }
            sum / (b.len() * (b.len() - 1)) as f64
        })
        .collect();
    per_batch.iter().sum::<f64>() / per_batch.len().max(1) as f64
}

/// Batches of at most `b` positions: each cluster's pairs first, then the merged
/// left-overs (module docs). `keys[i]` are what pair `i` may not share with a batch-mate.
pub(crate) fn pack(
    cluster_of: &[u32],
    centroids: &[f32],
    dim: usize,
    b: usize,
    keys: &[Vec<String>],
) -> Vec<Vec<usize>> {
    let k = centroids.len() / dim.max(1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k.max(1)];
    for (i, &c) in cluster_of.iter().enumerate() {
        members[(c as usize).min(k.saturating_sub(1))].push(i);
    }
    let mut batches = Vec::new();
    let mut left: Vec<Vec<usize>> = Vec::with_capacity(members.len());
    for m in &members {
        let (full, rest) = fill(m, b, keys);
        batches.extend(full);
        left.push(rest);
    }
    // Walk the clusters with left-overs: the one with most first (lowest id on ties), then
    // always the nearest unvisited centroid, so merged batches mix neighbouring clusters.
    let mut order = Vec::new();
    let mut todo: Vec<usize> = (0..left.len()).filter(|&c| !left[c].is_empty()).collect();
    let mut at = todo
        .iter()
        .copied()
        .max_by(|&x, &y| left[x].len().cmp(&left[y].len()).then(y.cmp(&x)));
    while let Some(c) = at {
        order.push(c);
        todo.retain(|&t| t != c);
        let here = &centroids[c * dim..(c + 1) * dim];
        at = todo.iter().copied().min_by(|&x, &y| {
            let d = |t: usize| {
                here.iter()
                    .zip(&centroids[t * dim..(t + 1) * dim])
                    .map(|(p, q)| (p - q) * (p - q))
                    .sum::<f32>()
            };
            d(x).total_cmp(&d(y)).then(x.cmp(&y))
        });
    }
    let rest: Vec<usize> = order
        .iter()
        .flat_map(|&c| left[c].iter().copied())
        .collect();
    batches.extend(cut(rest, b, keys));
    // With several keys a pair, pairs waiting for one short batch can still fill a whole
    // one: keep every short batch at the end all the same.
    let (mut full, short): (Vec<_>, Vec<_>) = batches.into_iter().partition(|x| x.len() == b);
    full.extend(short);
    full
}

/// `items` in batches of at most `b`, greedily in order, never two conflicting pairs in a
/// batch: full batches while they can be filled, then short ones.
pub(crate) fn cut(mut rest: Vec<usize>, b: usize, keys: &[Vec<String>]) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    loop {
        let (full, remaining) = fill(&rest, b, keys);
        batches.extend(full);
        if remaining.is_empty() {
            return batches;
        }
        // `remaining` is one partial batch's worth that fits together, then pairs that
        // conflict with it: the first becomes a short batch, the others go round again.
        let (short, again) = compatible_prefix(&remaining, keys);
        batches.push(short);
        rest = again;
    }
}

/// Full batches of `b` filled greedily from `items` in order, a conflicting pair waiting
/// for the next batch; and what is left (the unfinished batch first, then pairs waiting).
fn fill(items: &[usize], b: usize, keys: &[Vec<String>]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut full = Vec::new();
    let mut waiting: Vec<usize> = Vec::new();
    let mut batch: Vec<usize> = Vec::with_capacity(b);
    let mut taken: HashSet<&str> = HashSet::new();
    let fits =
        |taken: &HashSet<&str>, i: usize| keys[i].iter().all(|k| !taken.contains(k.as_str()));
    for &i in items {
        if fits(&taken, i) {
            taken.extend(keys[i].iter().map(String::as_str));
            batch.push(i);
        } else {
            waiting.push(i);
        }
        while batch.len() == b {
            full.push(std::mem::take(&mut batch));
            taken.clear();
            // The next batch takes the waiting pairs first, in their order.
            let before = std::mem::take(&mut waiting);
            for w in before {
                if batch.len() < b && fits(&taken, w) {
                    taken.extend(keys[w].iter().map(String::as_str));
                    batch.push(w);
                } else {
                    waiting.push(w);
                }
            }
        }
    }
    batch.extend(waiting);
    (full, batch)
}

/// The longest run of `items` from the start whose pairs share nothing, and the rest.
fn compatible_prefix(items: &[usize], keys: &[Vec<String>]) -> (Vec<usize>, Vec<usize>) {
    let mut taken: HashSet<&str> = HashSet::new();
    let mut prefix = Vec::new();
    let mut rest = Vec::new();
    for &i in items {
        if rest.is_empty() && keys[i].iter().all(|k| !taken.contains(k.as_str())) {
            taken.extend(keys[i].iter().map(String::as_str));
            prefix.push(i);
        } else {
            rest.push(i);
        }
    }
    (prefix, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_pair_once_no_conflicts_and_short_batches_only_at_the_end(
            clusters in proptest::collection::vec(0u32..6, 1..120),
            positives in proptest::collection::vec(0u8..40, 1..120),
            b in 2usize..9,
        ) {
            let n = clusters.len().min(positives.len());
            let cluster_of = &clusters[..n];
            let keys: Vec<Vec<String>> =
                positives[..n].iter().map(|p| vec![format!("p{p}")]).collect();
            let centroids: Vec<f32> = (0..6).flat_map(|c| [c as f32, (c * c) as f32]).collect();
            let batches = pack(cluster_of, &centroids, 2, b, &keys);
            let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..n).collect::<Vec<_>>());
            for batch in &batches {
                prop_assert!(!batch.is_empty() && batch.len() <= b);
                let mut ks: Vec<&String> = batch.iter().flat_map(|&i| &keys[i]).collect();
                let all = ks.len();
                ks.sort();
                ks.dedup();
                prop_assert_eq!(ks.len(), all, "a batch repeats a positive: {:?}", batch);
            }
            // Short batches come only after every full one.
            let first_short = batches.iter().position(|x| x.len() < b).unwrap_or(batches.len());
            prop_assert!(batches[first_short..].iter().all(|x| x.len() < b));
        }

        #[test]
        fn without_conflicts_clusters_fill_whole_batches(
            clusters in proptest::collection::vec(0u32..5, 1..150),
            b in 2usize..9,
        ) {
            let n = clusters.len();
            let keys: Vec<Vec<String>> = (0..n).map(|i| vec![i.to_string()]).collect();
            let centroids: Vec<f32> = (0..5).map(|c| c as f32).collect();
            let batches = pack(&clusters, &centroids, 1, b, &keys);
            prop_assert!(batches.iter().filter(|x| x.len() < b).count() <= 1);
            let pure = batches
                .iter()
                .filter(|x| x.iter().all(|&i| clusters[i] == clusters[x[0]]))
                .count();
            let expected: usize = (0..5u32)
                .map(|c| clusters.iter().filter(|&&x| x == c).count() / b)
                .sum();
            prop_assert!(pure >= expected);
        }
    }
}
