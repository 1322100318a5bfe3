use super::*;
use crate::element::{bf16, f16};
use proptest::prelude::*;

/// Checks a fast result against the oracle: same length, the distance at every rank agrees
/// within `tol`, and every returned row really is at the distance reported. Together these say
/// the result is a correct top-k, allowing only near-ties (within `tol`) to swap.
fn assert_matches(
    fast: &[Neighbor],
    oracle: &[(u64, f64)],
    k: usize,
    tol: f64,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(fast.len(), k.min(oracle.len()));
    let exact: std::collections::HashMap<u64, f64> = oracle.iter().copied().collect();
    for (i, n) in fast.iter().enumerate() {
        let scale = 1.0 + oracle[i].1.abs();
        prop_assert!(
            (f64::from(n.distance) - oracle[i].1).abs() <= tol * scale,
            "rank {}: distance {} vs oracle {}",
            i,
            n.distance,
            oracle[i].1
        );
        let truth = exact.get(&n.row).copied();
        prop_assert!(truth.is_some(), "row {} is not live", n.row);
        prop_assert!(
            (truth.unwrap_or(f64::NAN) - f64::from(n.distance)).abs() <= tol * scale,
            "row {} reported {} but is at {:?}",
            n.row,
            n.distance,
            truth
        );
    }
    let mut rows: Vec<u64> = fast.iter().map(|n| n.row).collect();
    rows.sort_unstable();
    rows.dedup();
    prop_assert_eq!(rows.len(), fast.len(), "duplicate rows in result");
    Ok(())
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::Cosine), Just(Metric::Dot), Just(Metric::L2)]
}

#[derive(Debug, Clone)]
struct Case {
    metric: Metric,
    dim: usize,
    rows: Vec<(u64, Vec<f32>)>,
    queries: Vec<f32>,
    k: usize,
    threads: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        metric(),
        1usize..24,
        0usize..300,
        1usize..12,
        1usize..40,
        1usize..4,
    )
        .prop_flat_map(|(metric, dim, n, nq, k, threads)| {
            // Components are small integers plus a fraction so exact ties happen sometimes.
            let comp = (-8i32..8, 0u8..4).prop_map(|(a, b)| a as f32 + f32::from(b) * 0.25);
            let rows = proptest::collection::vec(
                (0u64..3000, proptest::collection::vec(comp.clone(), dim)),
                n,
            );
            let queries = proptest::collection::vec(comp, dim * nq);
            (rows, queries).prop_map(move |(rows, queries)| Case {
                metric,
                dim,
                rows,
                queries,
                k,
                threads,
            })
        })
}

fn build<E: Element>(c: &Case) -> VectorArena<E> {
    let mut a = VectorArena::<E>::new(c.dim, c.metric);
    for (row, v) in &c.rows {
        // Cosine collections never hold zero vectors (the engine refuses them).
        if c.metric == Metric::Cosine && v.iter().all(|&x| x == 0.0) {
            continue;
        }
        let e: Vec<E> = v.iter().map(|&x| E::from_f32(x)).collect();
        a.set(*row, &e);
    }
    a
}

fn check_case<E: Element>(c: &Case, tol: f64) -> Result<(), TestCaseError> {
    let arena = build::<E>(c);
    // parallel_threshold 0 forces the multi-threaded split even on tiny arenas.
    let opts = SearchOptions {
        threads: c.threads,
        parallel_threshold: 0,
    };
    let batch = search_batch(&arena, &c.queries, c.k, &opts);
    prop_assert_eq!(batch.len(), c.queries.len() / c.dim);
    for (q, fast_batch) in c.queries.chunks_exact(c.dim).zip(&batch) {
        let oracle = naive_search(&arena, q);
        let single = search(&arena, q, c.k, &opts);
        assert_matches(&single, &oracle, c.k, tol)?;
        assert_matches(fast_batch, &oracle, c.k, tol)?;
        // Filtered: a dense set (scan with membership test) and a sparse one (row visits).
        for modulus in [2u64, 11] {
            let allowed: RowSet = c
                .rows
                .iter()
                .map(|(r, _)| *r)
                .filter(|r| r % modulus == 1)
                .collect();
            let kept: Vec<(u64, f64)> = oracle
                .iter()
                .copied()
                .filter(|(r, _)| allowed.contains(*r))
                .collect();
            let filtered = search_filtered(&arena, q, c.k, &opts, &allowed);
            assert_matches(&filtered, &kept, c.k, tol)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn flat_f32_equals_naive_sort(c in case()) {
        check_case::<f32>(&c, 1e-4)?;
    }

    #[test]
    fn flat_f16_equals_naive_sort(c in case()) {
        // The query is rounded to f16 for the single-query kernels: allow for that rounding.
        check_case::<f16>(&c, 2e-3)?;
    }

    #[test]
    fn flat_bf16_equals_naive_sort(c in case()) {
        check_case::<bf16>(&c, 2e-2)?;
    }
}

#[test]
fn many_queries_use_the_matrix_path_across_chunks() {
    // 3000 rows span three chunks; 20 queries take the matmul path.
    let dim = 16;
    let mut a = VectorArena::<f32>::new(dim, Metric::L2);
    let val = |i: usize, j: usize| ((i * 31 + j * 17) % 23) as f32 - 11.0;
    for i in 0..3000 {
        let v: Vec<f32> = (0..dim).map(|j| val(i, j)).collect();
        a.set(i as u64, &v);
    }
    let queries: Vec<f32> = (0..20 * dim)
        .map(|t| val(t / dim + 5000, t % dim) * 0.5)
        .collect();
    let batch = search_batch(
        &a,
        &queries,
        5,
        &SearchOptions {
            threads: 2,
            parallel_threshold: 0,
        },
    );
    for (q, got) in queries.chunks_exact(dim).zip(&batch) {
        let oracle = naive_search(&a, q);
        assert_matches(got, &oracle, 5, 1e-4).expect("batched result matches the oracle");
    }
}

/// The funnel's parts against their oracles: the prefix pass equals the f64 prefix ranking
/// (near-ties may swap), a pass over given rows equals it restricted to them, and with as many
/// candidates as rows the funnel is the exact full search.
fn check_prefix_case<E: Element>(c: &Case, dims: usize, tol: f64) -> Result<(), TestCaseError> {
    let arena = build::<E>(c);
    let dims = dims.clamp(1, c.dim);
    let opts = SearchOptions {
        threads: c.threads,
        parallel_threshold: 0,
    };
    for q in c.queries.chunks_exact(c.dim) {
        let oracle = naive_prefix_search(&arena, q, dims);
        let fast = prefix_candidates(&arena, q, dims, c.k, &opts, None);
        assert_matches(&fast, &oracle, c.k, tol)?;
        // The batched pass: the query repeated to a matrix-product batch.
        let batch: Vec<f32> = q
            .iter()
            .copied()
            .cycle()
            .take(c.dim * MATMUL_MIN_QUERIES)
            .collect();
        for got in prefix_candidates_batch(&arena, &batch, dims, c.k, &opts) {
            assert_matches(&got, &oracle, c.k, tol)?;
        }
        for modulus in [2u64, 11] {
            let allowed: RowSet = c
                .rows
                .iter()
                .map(|(r, _)| *r)
                .filter(|r| r % modulus == 1)
                .collect();
            let kept: Vec<(u64, f64)> = oracle
                .iter()
                .copied()
                .filter(|(r, _)| allowed.contains(*r))
                .collect();
            let filtered = prefix_candidates(&arena, q, dims, c.k, &opts, Some(&allowed));
            assert_matches(&filtered, &kept, c.k, tol)?;
            let given = rank_prefix(&arena, q, dims, allowed.iter().chain([u64::MAX]), c.k);
            assert_matches(&given, &kept, c.k, tol)?;
        }
        let everything = arena.len().max(1);
        let funnel = search_prefix(&arena, q, c.k, dims, everything, &opts, None);
        assert_matches(&funnel, &naive_search(&arena, q), c.k, tol)?;
        for got in search_prefix_batch(&arena, &batch, c.k, dims, everything, &opts) {
            assert_matches(&got, &naive_search(&arena, q), c.k, tol)?;
        }
        // Fewer candidates: every hit is still at its exact full distance, best first.
        let narrow = search_prefix(&arena, q, c.k, dims, c.k, &opts, None);
        let full: std::collections::HashMap<u64, f64> =
            naive_search(&arena, q).into_iter().collect();
        prop_assert_eq!(narrow.len(), c.k.min(arena.len()));
        for pair in narrow.windows(2) {
            prop_assert!(pair[0].distance <= pair[1].distance);
        }
        for n in &narrow {
            let truth = full[&n.row];
            prop_assert!((f64::from(n.distance) - truth).abs() <= tol * (1.0 + truth.abs()));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn prefix_f32_equals_naive_prefix_sort(c in case(), dims in 1usize..24) {
        check_prefix_case::<f32>(&c, dims, 1e-4)?;
    }

    #[test]
    fn prefix_f16_equals_naive_prefix_sort(c in case(), dims in 1usize..24) {
        check_prefix_case::<f16>(&c, dims, 2e-3)?;
    }
}

#[test]
fn a_prefix_heavy_set_is_found_on_its_prefix() {
    // Rows whose first 4 components carry the signal and whose last 12 are small noise: the
    // funnel on 4 components with 3 x k candidates returns the exact top 5.
    let dim = 16;
    let mut a = VectorArena::<f32>::new(dim, Metric::Cosine);
    let val = |i: usize, j: usize| {
        let h = ((i * 2654435761 + j * 40503) % 1000) as f32 / 1000.0 - 0.5;
        if j < 4 { h * 10.0 } else { h * 0.01 }
    };
    for i in 0..2000 {
        let v: Vec<f32> = (0..dim).map(|j| val(i, j)).collect();
        a.set(i as u64, &v);
    }
    let q: Vec<f32> = (0..dim).map(|j| val(7777, j)).collect();
    let opts = SearchOptions::default();
    let exact: Vec<u64> = search(&a, &q, 5, &opts).iter().map(|n| n.row).collect();
    let funnel: Vec<u64> = search_prefix(&a, &q, 5, 4, 15, &opts, None)
        .iter()
        .map(|n| n.row)
        .collect();
    assert_eq!(funnel, exact);
}
