use super::*;
use crate::arena::VectorArena;
use crate::flat::{self, SearchOptions};
use crate::rng::SplitMix64;
use proptest::prelude::*;

/// Clustered data: `n` points around `clusters` random centres.
fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut r = SplitMix64::new(seed);
    let mut u = move || (r.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
    let centres: Vec<f32> = (0..clusters * dim).map(|_| u() * 8.0).collect();
    (0..n)
        .flat_map(|i| {
            let c = i % clusters;
            (0..dim)
                .map(|j| centres[c * dim + j] + u())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn params(nlist: usize, m: usize) -> IvfPqParams {
    params_bits(nlist, m, 8)
}

fn params_bits(nlist: usize, m: usize, bits: u32) -> IvfPqParams {
    IvfPqParams {
        nlist,
        m,
        bits,
        kmeans: KMeansParams {
            iterations: 8,
            ..KMeansParams::default()
        },
        pq_iterations: 8,
    }
}

fn build(metric: Metric, data: &[f32], dim: usize, p: &IvfPqParams) -> (IvfPq, VectorArena<f32>) {
    let mut ivf = IvfPq::train(metric, dim, data, p).expect("train");
    let mut arena = VectorArena::<f32>::new(dim, metric);
    for (i, v) in data.chunks_exact(dim).enumerate() {
        ivf.add(i as u64, v);
        arena.set(i as u64, v);
    }
    (ivf, arena)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// With every cell probed and every candidate re-ranked, IVF-PQ is flat search exactly.
    #[test]
    fn exhaustive_parameters_equal_flat(
        metric in prop_oneof![Just(Metric::Cosine), Just(Metric::Dot), Just(Metric::L2)],
        n in 20usize..400, nlist in 1usize..12, m in prop_oneof![Just(1usize), Just(2), Just(4)],
        k in 1usize..15, seed in 0u64..1000, bits in prop_oneof![Just(4u32), Just(8)],
    ) {
        let dim = 8;
        let data = clustered(n, dim, 5, seed);
        let (ivf, arena) = build(metric, &data, dim, &params_bits(nlist, m, bits));
        prop_assert_eq!(ivf.fast_scan(), bits == 4);
        prop_assert_eq!(ivf.len(), n);
        for q in clustered(5, dim, 3, seed + 1).chunks_exact(dim) {
            let candidates = ivf.search(q, ivf.nlist(), n);
            prop_assert_eq!(candidates.len(), n);
            let got = flat::rerank(&arena, q, candidates.iter().map(|c| c.row), k);
            let want = flat::search(&arena, q, k, &SearchOptions::default());
            prop_assert_eq!(got, want);
            // Filtered: only allowed rows become candidates, and exhaustively it is exact.
            let allowed: RowSet = (0..n as u64).filter(|r| r % 3 == seed % 3).collect();
            let candidates = ivf.search_filtered(q, ivf.nlist(), n, &allowed);
            prop_assert_eq!(candidates.len(), allowed.len());
            prop_assert!(candidates.iter().all(|c| allowed.contains(c.row)));
            let got = flat::rerank(&arena, q, candidates.iter().map(|c| c.row), k);
            let want = flat::search_filtered(&arena, q, k, &SearchOptions::default(), &allowed);
            prop_assert_eq!(got, want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// The scan's approximate distances (one query-wide table plus per-row terms) equal the
    /// distance from the query to each row's decoded vector (centroid + decoded residual).
    #[test]
    fn scan_distances_equal_distances_to_decoded_vectors(
        metric in prop_oneof![Just(Metric::Cosine), Just(Metric::Dot), Just(Metric::L2)],
        n in 20usize..300, nlist in 1usize..8, m in prop_oneof![Just(1usize), Just(2), Just(4)],
        seed in 0u64..1000, filtered in any::<bool>(), bits in prop_oneof![Just(4u32), Just(8)],
    ) {
        let dim = 8;
        let data = clustered(n, dim, 5, seed);
        let (ivf, _) = build(metric, &data, dim, &params_bits(nlist, m, bits));
        let mut decoded = std::collections::HashMap::new();
        for cell in 0..ivf.nlist() {
            let list = ivf.list(cell);
            let c = &ivf.centroids()[cell * dim..(cell + 1) * dim];
            for (i, &row) in list.rows.iter().enumerate() {
                let r = ivf.quantizer().decode(&list.code(i, m));
                let v: Vec<f64> = c.iter().zip(&r).map(|(a, b)| f64::from(*a) + f64::from(*b)).collect();
                decoded.insert(row, v);
            }
        }
        let allowed: RowSet = (0..n as u64).filter(|r| !filtered || r % 2 == 0).collect();
        for q in clustered(3, dim, 3, seed + 7).chunks_exact(dim) {
            let p: Vec<f64> = prepare(metric, q).iter().map(|&x| f64::from(x)).collect();
            // 4-bit: the byte-quantised table is off by at most half a step per sub-quantizer.
            let slack = if bits == 4 {
                let mut t = vec![0f32; m * fastscan::KSUB4];
                ivf.quantizer().dot_table16(&prepare(metric, q), &mut t);
                let factor = if metric == Metric::Dot { 1.0 } else { 2.0 };
                let span = t.chunks_exact(fastscan::KSUB4).map(|r| {
                    r.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x))
                        - r.iter().fold(f32::INFINITY, |a, &x| a.min(x))
                }).fold(0f32, f32::max);
                f64::from(factor * span / 255.0) * m as f64 * 0.5
            } else {
                0.0
            };
            let found = ivf.search_filtered(q, ivf.nlist(), n, &allowed);
            prop_assert_eq!(found.len(), allowed.len());
            // The fast-scan kernel of every instruction set gives the portable twin's answer.
            crate::cpu::each_isa(|_| {
                assert_eq!(ivf.search_filtered(q, ivf.nlist(), n, &allowed), found);
                assert_eq!(ivf.search(q, nlist.min(3), n / 2), {
                    let mut top = ivf.search(q, nlist.min(3), n);
                    top.truncate(n / 2);
                    top
                });
            });
            for nb in found {
                let v = &decoded[&nb.row];
                let want = match metric {
                    Metric::Dot => -p.iter().zip(v).map(|(a, b)| a * b).sum::<f64>(),
                    _ => p.iter().zip(v).map(|(a, b)| (a - b).powi(2)).sum::<f64>(),
                };
                prop_assert!((f64::from(nb.distance) - want).abs() <= slack + 1e-3 * (1.0 + want.abs()),
                    "row {}: {} vs {}", nb.row, nb.distance, want);
            }
        }
    }
}

#[test]
fn recall_with_few_probes_on_clustered_data() {
    recall_with_few_probes_with(8, 8);
    recall_with_few_probes_with(16, 4);
}

fn recall_with_few_probes_with(m: usize, bits: u32) {
    let (dim, n) = (32, 20_000);
    let data = clustered(n, dim, 200, 11);
    let (ivf, arena) = build(Metric::L2, &data, dim, &params_bits(128, m, bits));
    // Queries: stored points, slightly moved.
    let mut r = SplitMix64::new(12);
    let queries: Vec<f32> = data[..100 * dim]
        .iter()
        .map(|x| x + ((r.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1)
        .collect();
    let mut hit = 0;
    for q in queries.chunks_exact(dim) {
        let cand = ivf.search(q, 16, 100);
        let got = flat::rerank(&arena, q, cand.iter().map(|c| c.row), 10);
        let want = flat::search(&arena, q, 10, &SearchOptions::default());
        hit += got
            .iter()
            .filter(|g| want.iter().any(|w| w.row == g.row))
            .count();
    }
    let recall = hit as f64 / 1000.0;
    assert!(recall >= 0.9, "{bits}-bit codes: recall@10 {recall}");
}

#[test]
fn remove_and_rebuild_from_parts() {
    remove_and_rebuild_from_parts_with(8);
    remove_and_rebuild_from_parts_with(4);
}

fn remove_and_rebuild_from_parts_with(bits: u32) {
    let dim = 8;
    let data = clustered(500, dim, 10, 3);
    let (mut ivf, _) = build(Metric::Cosine, &data, dim, &params_bits(10, 4, bits));
    assert!(ivf.remove(7, &data[7 * dim..8 * dim]));
    assert!(!ivf.remove(7, &data[7 * dim..8 * dim]));
    // A wrong vector still finds the row (fallback scan of every cell).
    assert!(ivf.remove(8, &data[100 * dim..101 * dim]));
    assert_eq!(ivf.len(), 498);
    let all: Vec<u64> = ivf
        .search(&data[..dim], ivf.nlist(), 1000)
        .iter()
        .map(|n| n.row)
        .collect();
    assert_eq!(all.len(), 498);
    assert!(!all.contains(&7) && !all.contains(&8));
    let lists: Vec<InvertedList> = (0..ivf.nlist()).map(|i| ivf.list(i).clone()).collect();
    let back = IvfPq::from_parts(
        Metric::Cosine,
        dim,
        ivf.centroids().to_vec(),
        ivf.quantizer().clone(),
        lists,
        ivf.seed(),
    )
    .expect("from parts");
    assert_eq!(
        back.search(&data[..dim], 3, 20),
        ivf.search(&data[..dim], 3, 20)
    );
    assert!(
        IvfPq::from_parts(
            Metric::Cosine,
            dim,
            vec![0.0; 3],
            ivf.quantizer().clone(),
            vec![],
            0
        )
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// `probe` returns the nprobe cells nearest by the naive distance to each centroid, nearest
    /// first; probing every cell visits every row once, and the prefix funnel over all of them
    /// with every row a candidate is the exact flat search.
    #[test]
    fn probe_returns_the_nearest_cells_in_order(
        metric in prop_oneof![Just(Metric::Cosine), Just(Metric::Dot), Just(Metric::L2)],
        n in 20usize..300, nlist in 1usize..12, nprobe in 1usize..14, dims in 1usize..9,
        seed in 0u64..1000,
    ) {
        let dim = 8;
        let data = clustered(n, dim, 5, seed);
        let (ivf, arena) = build(metric, &data, dim, &params(nlist, 2));
        for q in clustered(4, dim, 3, seed + 1).chunks_exact(dim) {
            let p = prepare(metric, q);
            let cell_distance = |c: &[f32]| match metric {
                Metric::Dot => -crate::distance::scalar::dot(&p, c),
                _ => crate::distance::scalar::l2sq(&p, c),
            };
            let mut naive: Vec<f64> = ivf.centroids().chunks_exact(dim).map(cell_distance).collect();
            naive.sort_by(f64::total_cmp);
            let lists = ivf.probe(q, nprobe);
            prop_assert_eq!(lists.len(), nprobe.min(ivf.nlist()));
            let probed: Vec<f64> = lists
                .iter()
                .map(|l| {
                    let cell = (0..ivf.nlist()).find(|&c| std::ptr::eq(ivf.list(c), *l));
                    let c = cell.unwrap_or(usize::MAX);
                    cell_distance(&ivf.centroids()[c * dim..(c + 1) * dim])
                })
                .collect();
            for (got, want) in probed.iter().zip(&naive) {
                prop_assert!((got - want).abs() <= 1e-3 * (1.0 + want.abs()), "{} vs {}", got, want);
            }
            let all = ivf.probe(q, ivf.nlist());
            let mut rows: Vec<u64> = all.iter().flat_map(|l| l.rows.iter().copied()).collect();
            rows.sort_unstable();
            prop_assert_eq!(rows, (0..n as u64).collect::<Vec<_>>());
            let pre = flat::rank_prefix(&arena, q, dims, all.iter().flat_map(|l| l.rows.iter().copied()), n);
            let got = flat::rerank(&arena, q, pre.iter().map(|c| c.row), 5);
            prop_assert_eq!(got, flat::search(&arena, q, 5, &SearchOptions::default()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// `Probe::Within` probes the cells within (1 + ratio) of the nearest cell's distance,
    /// clamped to `min..=max`: with every candidate kept, the rows found are exactly those of
    /// that many nearest cells (by the naive distance to each centroid).
    #[test]
    fn probing_within_a_ratio_takes_the_cells_within_it(
        metric in prop_oneof![Just(Metric::Cosine), Just(Metric::L2)],
        n in 50usize..400, nlist in 2usize..16, ratio in 0f32..1.5, min in 1usize..6,
        extra in 0usize..8, seed in 0u64..1000, bits in prop_oneof![Just(4u32), Just(8)],
    ) {
        let dim = 8;
        let data = clustered(n, dim, 6, seed);
        let (ivf, _) = build(metric, &data, dim, &params_bits(nlist, 2, bits));
        let max = min + extra;
        for q in clustered(4, dim, 3, seed + 3).chunks_exact(dim) {
            let p = prepare(metric, q);
            let mut d: Vec<(f64, usize)> = ivf
                .centroids()
                .chunks_exact(dim)
                .map(|c| crate::distance::scalar::l2sq(&p, c))
                .zip(0..)
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0));
            let bound = d[0].0 * (1.0 + f64::from(ratio));
            // Distances within float error of the bound may fall on either side.
            prop_assume!(d.iter().all(|c| (c.0 - bound).abs() > 1e-4 * (1.0 + bound)));
            let within = d.iter().filter(|c| c.0 <= bound).count();
            let count = within.clamp(min, max).clamp(1, ivf.nlist());
            prop_assume!(count == d.len() || (d[count].0 - d[count - 1].0).abs() > 1e-4);
            let rows: usize = d[..count].iter().map(|&(_, c)| ivf.list(c).rows.len()).sum();
            let found = ivf.search(q, Probe::Within { ratio, min, max }, n);
            prop_assert_eq!(found.len(), rows);
        }
    }
}
