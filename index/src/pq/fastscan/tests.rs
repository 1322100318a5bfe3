use super::*;
use crate::cpu;
use crate::rng::SplitMix64;
use proptest::prelude::*;

fn codes(rows: usize, m: usize, seed: u64) -> Vec<u8> {
    let mut r = SplitMix64::new(seed);
    (0..rows * m).map(|_| (r.next_u64() % 16) as u8).collect()
}

proptest! {
    /// Every instruction set's kernel gives the portable twin's sums, and both equal the sums
    /// of the table bytes each row's code selects.
    #[test]
    fn accumulate_equals_table_lookups(
        rows in 0usize..150, m in 1usize..=MAX_M, seed in 0u64..1000
    ) {
        let codes = codes(rows, m, seed);
        let packed = pack(&codes, m);
        prop_assert_eq!(packed.len(), packed_len(rows, m));
        let mut r = SplitMix64::new(seed ^ 77);
        let mut table: Vec<u8> = (0..padded_m(m) * KSUB4).map(|_| r.next_u64() as u8).collect();
        // The padding sub-quantizer's table is zero (as `QuantizedTable` makes it).
        table[m * KSUB4..].fill(0);
        let expect: Vec<u16> = codes
            .chunks_exact(m)
            .map(|c| c.iter().enumerate().map(|(j, &k)| u16::from(table[j * KSUB4 + k as usize])).sum())
            .collect();
        let mut portable = vec![0u16; rows.div_ceil(BLOCK) * BLOCK];
        accumulate_portable(&packed, m, &table, &mut portable);
        prop_assert_eq!(&portable[..rows], &expect[..]);
        let mut fast = Vec::new();
        cpu::each_isa(|_| {
            accumulate(&packed, m, &table, &mut fast);
            assert_eq!(fast, portable);
        });
    }

    /// Packing round-trips, and swap-removal keeps the other rows' codes (the last one moved).
    #[test]
    fn layout_round_trips_and_swap_removes(
        rows in 1usize..100, m in 1usize..40, seed in 0u64..1000, at in 0usize..100
    ) {
        let codes = codes(rows, m, seed);
        let mut packed = pack(&codes, m);
        for (row, code) in codes.chunks_exact(m).enumerate() {
            prop_assert_eq!(code_at(&packed, row, m), code.to_vec());
        }
        let at = at % rows;
        let mut expect: Vec<Vec<u8>> = codes.chunks_exact(m).map(<[u8]>::to_vec).collect();
        expect.swap_remove(at);
        swap_remove(&mut packed, at, rows, m);
        prop_assert_eq!(packed.clone(), pack(&expect.concat(), m));
    }

    /// A quantised table's estimate is within m / 2 steps of the float sum.
    #[test]
    fn quantised_estimates_are_within_half_a_step_per_subquantizer(
        m in 1usize..100, seed in 0u64..1000, spread in 0.001f32..100.0
    ) {
        let mut r = SplitMix64::new(seed);
        let table: Vec<f32> = (0..m * KSUB4)
            .map(|_| ((r.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * spread)
            .collect();
        let q = QuantizedTable::new(&table, m);
        let code = codes(1, m, seed + 1);
        let exact: f32 = code.iter().enumerate().map(|(j, &k)| table[j * KSUB4 + k as usize]).sum();
        let sum: u16 = code.iter().enumerate().map(|(j, &k)| u16::from(q.bytes[j * KSUB4 + k as usize])).sum();
        let bound = m as f32 * q.step * 0.5 + 1e-4 * (1.0 + exact.abs());
        prop_assert!((q.estimate(sum) - exact).abs() <= bound, "{} vs {exact}", q.estimate(sum));
    }
}

#[test]
fn a_constant_table_estimates_exactly() {
    let q = QuantizedTable::new(&[2.5; 3 * KSUB4], 3);
    assert!(q.bytes.iter().all(|&b| b == 0));
    assert_eq!(q.estimate(0), 7.5);
}

proptest! {
    /// The selection keeps exactly the rows whose estimate is at most the threshold, in order,
    /// on every instruction set.
    #[test]
    fn select_below_keeps_the_rows_under_the_threshold(
        n in 0usize..100, seed in 0u64..1000, with_terms in any::<bool>(),
        threshold in -2f32..40.0,
    ) {
        let mut r = SplitMix64::new(seed);
        let sums: Vec<u16> = (0..n.next_multiple_of(BLOCK)).map(|_| (r.next_u64() % 4000) as u16).collect();
        let terms: Vec<f32> = if with_terms {
            (0..n).map(|_| (r.next_u64() % 1000) as f32 / 100.0 - 5.0).collect()
        } else {
            Vec::new()
        };
        let scale = (-1.5f32, 0.01f32);
        let want: Vec<u32> = (0..n)
            .filter(|&i| estimate(scale.0, terms.get(i).copied().unwrap_or(0.0), sums[i], scale.1) <= threshold)
            .map(|i| i as u32)
            .collect();
        cpu::each_isa(|_| {
            let mut got = Vec::new();
            select_below(&sums, &terms, n, scale, threshold, &mut got);
            assert_eq!(got, want);
        });
    }
}
