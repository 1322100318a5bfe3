//! "Fast scan" for 4-bit product-quantization codes (André, Kermarrec, Le Scouarnec, VLDB 2015;
//! FAISS's `IndexIVFPQFastScan`): with 16 codewords per sub-quantizer, a query's look-up table
//! for one sub-quantizer is 16 entries, which — quantised to bytes — fits one SIMD register, so
//! a byte shuffle (`vpshufb`) looks up 32 codes at once instead of 32 scalar loads.
//!
//! Codes are kept in blocks of [`BLOCK`] rows. Within a block, sub-quantizer `j` owns 16 bytes:
//! byte `i` holds row `i`'s code in its low nibble and row `i + 16`'s in its high nibble. The
//! number of sub-quantizers is padded to an even count (`padded_m`) so that an AVX2 register
//! holds the bytes of two sub-quantizers; the padding sub-quantizer has code 0 and an all-zero
//! table. A block is therefore `padded_m * 16` bytes; rows past the end of a list in its last
//! block have code 0 and are never reported.
//!
//! [`accumulate`] sums the quantised table entries each row selects (u16 per row, exact
//! integers); [`accumulate_portable`] is its slow twin, one row and one sub-quantizer at a time.
//! [`QuantizedTable`] turns a float table into bytes with one scale shared by all sub-quantizers
//! (so sums stay comparable) and a per-sub-quantizer offset; a row's estimate is
//! `offset + sum / scale`, off from the float sum by at most `m / (2 * scale)`.

#[cfg(target_arch = "x86_64")]
mod avx2;

/// Rows per block.
pub const BLOCK: usize = 32;
/// Codewords per sub-quantizer of a 4-bit code.
pub const KSUB4: usize = 16;
/// The largest sub-quantizer count whose sums cannot overflow u16 (`m * 255 <= 65535`).
pub const MAX_M: usize = 256;

/// Sub-quantizers rounded up to an even count.
pub fn padded_m(m: usize) -> usize {
    m.next_multiple_of(2)
}

/// Bytes per block of `m`-sub-quantizer codes.
pub fn block_bytes(m: usize) -> usize {
    padded_m(m) * 16
}

/// Bytes needed for `rows` rows.
pub fn packed_len(rows: usize, m: usize) -> usize {
    rows.div_ceil(BLOCK) * block_bytes(m)
}

/// Where sub-quantizer `j` of row `row` lives: byte offset and whether it is the high nibble.
#[inline]
fn nibble_at(row: usize, j: usize, m: usize) -> (usize, bool) {
    let (block, i) = (row / BLOCK, row % BLOCK);
    (block * block_bytes(m) + j * 16 + i % 16, i >= 16)
}

/// Writes row `row`'s code (`m` values below 16) into `packed`, growing it by a block when the
/// row starts one.
pub fn set_code(packed: &mut Vec<u8>, row: usize, code: &[u8]) {
    let m = code.len();
    let need = packed_len(row + 1, m);
    if packed.len() < need {
        packed.resize(need, 0);
    }
    for (j, &c) in code.iter().enumerate() {
        debug_assert!((c as usize) < KSUB4);
        let (at, high) = nibble_at(row, j, m);
        packed[at] = if high {
            (packed[at] & 0x0F) | (c << 4)
        } else {
            (packed[at] & 0xF0) | (c & 0x0F)
        };
    }
}

/// Row `row`'s code, `m` values.
pub fn code_at(packed: &[u8], row: usize, m: usize) -> Vec<u8> {
    (0..m)
        .map(|j| {
            let (at, high) = nibble_at(row, j, m);
            if high {
                packed[at] >> 4
            } else {
                packed[at] & 0x0F
            }
        })
        .collect()
}

/// Packs `codes` (`m` bytes per row, back to back, each below 16).
pub fn pack(codes: &[u8], m: usize) -> Vec<u8> {
    let rows = codes.len().checked_div(m).unwrap_or(0);
    let mut packed = Vec::with_capacity(packed_len(rows, m));
    for (row, code) in codes.chunks_exact(m.max(1)).enumerate() {
        set_code(&mut packed, row, code);
    }
    packed
}

/// Removes row `row` of `len` by moving the last row into its place (like `Vec::swap_remove`);
/// the vacated slot is zeroed and a block left empty is dropped.
pub fn swap_remove(packed: &mut Vec<u8>, row: usize, len: usize, m: usize) {
    let last = len - 1;
    if row != last {
        let moved = code_at(packed, last, m);
        set_code(packed, row, &moved);
    }
    set_code(packed, last, &vec![0; m]);
    packed.truncate(packed_len(last, m));
}

/// A float table (`m` rows of 16 entries) quantised to bytes for [`accumulate`].
#[derive(Clone, Debug, Default)]
pub struct QuantizedTable {
    /// `padded_m * 16` bytes; the padding sub-quantizer's entries are 0.
    pub bytes: Vec<u8>,
    /// Sum of every sub-quantizer's smallest entry.
    pub offset: f32,
    /// Float units per byte unit (1 / scale).
    pub step: f32,
}

impl QuantizedTable {
    /// Quantises `table` (`m * 16` floats): entry `t[j][k]` becomes
    /// `round((t[j][k] - min_j) / step)` with `step = max_j (max_j - min_j) / 255`.
    pub fn new(table: &[f32], m: usize) -> QuantizedTable {
        let mut q = QuantizedTable::default();
        q.fill(table, m);
        q
    }

    /// [`QuantizedTable::new`] into this table's buffer (no allocation once it is sized).
    pub fn fill(&mut self, table: &[f32], m: usize) {
        debug_assert_eq!(table.len(), m * KSUB4);
        debug_assert!(m <= MAX_M, "fast scan takes at most {MAX_M} sub-quantizers");
        let (rows, _) = table.as_chunks::<KSUB4>();
        let mut offset = 0f32;
        let mut span = 0f32;
        // Each sub-quantizer's smallest entry, kept for the quantisation pass below.
        let mut lows = [0f32; MAX_M];
        for (row, low) in rows.iter().zip(&mut lows) {
            let (lo, hi) = extremes(row);
            *low = lo;
            offset += lo;
            span = span.max(hi - lo);
        }
        // A table of equal entries: any step works; 1 keeps the arithmetic finite.
        let step = if span > 0.0 && span.is_finite() {
            span / 255.0
        } else {
            1.0
        };
        let inv = 1.0 / step;
        self.bytes.clear();
        self.bytes.resize(padded_m(m) * KSUB4, 0);
        let (outs, _) = self.bytes.as_chunks_mut::<KSUB4>();
        for ((row, out), &lo) in rows.iter().zip(outs).zip(&lows) {
            for (o, &x) in out.iter_mut().zip(row) {
                // Non-negative, so adding 0.5 and truncating rounds (to nearest, halves up)
                // without a libm call.
                *o = ((x - lo) * inv + 0.5).min(255.0) as u8;
            }
        }
        self.offset = offset;
        self.step = step;
    }

    /// The estimate of a row's float table sum from its accumulated byte sum.
    #[inline]
    pub fn estimate(&self, sum: u16) -> f32 {
        self.offset + f32::from(sum) * self.step
    }
}

/// A row's distance estimate: `base + term + sum * step`, in this order everywhere (the
/// selection below and its caller must round alike).
#[inline(always)]
pub fn estimate(base: f32, term: f32, sum: u16, step: f32) -> f32 {
    base + term + f32::from(sum) * step
}

/// Appends to `out` the positions `i < n` whose [`estimate`] (with `terms[i]`, or 0 when
/// `terms` is empty) is at most `threshold`: eight rows per step, so that the compiler keeps
/// them in vector registers and only the few rows that pass are looked at one by one.
pub fn select_below(
    sums: &[u16],
    terms: &[f32],
    n: usize,
    (base, step): (f32, f32),
    threshold: f32,
    out: &mut Vec<u32>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::avx2_fma() {
            // SAFETY: the CPU has AVX2 (checked above).
            #[allow(unsafe_code)]
            unsafe {
                avx2::select_below(sums, terms, n, (base, step), threshold, out)
            };
            return;
        }
    }
    select_below_portable(sums, terms, n, (base, step), threshold, out)
}

/// The body of [`select_below`], inlined into each target-feature build.
#[inline(always)]
pub(crate) fn select_below_portable(
    sums: &[u16],
    terms: &[f32],
    n: usize,
    (base, step): (f32, f32),
    threshold: f32,
    out: &mut Vec<u32>,
) {
    const LANES: usize = 8;
    let zeros = [0f32; LANES];
    let full = n / LANES * LANES;
    for start in (0..full).step_by(LANES) {
        let s: &[u16; LANES] = sums[start..start + LANES].try_into().unwrap_or(&[0; LANES]);
        let t: &[f32; LANES] = if terms.is_empty() {
            &zeros
        } else {
            terms[start..start + LANES].try_into().unwrap_or(&zeros)
        };
        let mut mask = 0u32;
        for l in 0..LANES {
            mask |= u32::from(estimate(base, t[l], s[l], step) <= threshold) << l;
        }
        while mask != 0 {
            out.push(start as u32 + mask.trailing_zeros());
            mask &= mask - 1;
        }
    }
    for (i, &sum) in sums.iter().enumerate().take(n).skip(full) {
        let term = terms.get(i).copied().unwrap_or(0.0);
        if estimate(base, term, sum, step) <= threshold {
            out.push(i as u32);
        }
    }
}

/// The smallest and largest of 16 entries, as a halving tree of element-wise comparisons (which
/// compile to vector min / max; a running `f32::min` fold stays one scalar chain).
#[inline]
fn extremes(row: &[f32; KSUB4]) -> (f32, f32) {
    let (mut lo, mut hi) = (*row, *row);
    let mut width = KSUB4 / 2;
    while width > 0 {
        for i in 0..width {
            lo[i] = if lo[i + width] < lo[i] {
                lo[i + width]
            } else {
                lo[i]
            };
            hi[i] = if hi[i + width] > hi[i] {
                hi[i + width]
            } else {
                hi[i]
            };
        }
        width /= 2;
    }
    (lo[0], hi[0])
}

/// For every row of `packed` (`blocks` blocks of `m`-sub-quantizer codes), the sum of the table
/// bytes its code selects: `out[r] = sum_j table.bytes[j * 16 + code_j(r)]`. `out` gets
/// `blocks * 32` values (rows past the list's end included).
pub fn accumulate(packed: &[u8], m: usize, table: &[u8], out: &mut Vec<u16>) {
    let blocks = packed.len() / block_bytes(m);
    out.clear();
    out.resize(blocks * BLOCK, 0);
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::avx2_fma() {
            // SAFETY: the CPU has AVX2 (checked above).
            #[allow(unsafe_code)]
            unsafe {
                avx2::accumulate(packed, padded_m(m), table, out)
            };
            return;
        }
    }
    accumulate_portable(packed, m, table, out)
}

/// The slow twin of [`accumulate`]: each row's code read back nibble by nibble.
pub fn accumulate_portable(packed: &[u8], m: usize, table: &[u8], out: &mut [u16]) {
    let blocks = packed.len() / block_bytes(m);
    for (row, o) in out.iter_mut().enumerate().take(blocks * BLOCK) {
        *o = code_at(packed, row, m)
            .iter()
            .enumerate()
            .map(|(j, &c)| u16::from(table[j * KSUB4 + c as usize]))
            .sum();
    }
}

#[cfg(test)]
mod tests;
