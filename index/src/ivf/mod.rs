//! IVF-PQ: a coarse k-means quantizer splits the space into `nlist` cells (inverted lists);
//! each vector is stored in its nearest cell as the PQ code of its residual (vector minus the
//! cell's centroid). A query probes its `nprobe` nearest cells and scores their codes with
//! per-cell lookup tables; the best `candidates` go to exact re-ranking (`flat::rerank`).
//!
//! With 4-bit codes (`bits: 4`, 16 codewords per sub-quantizer) lists are kept in the
//! [`fastscan`] block layout and scanned 32 rows per SIMD shuffle with a byte-quantised table;
//! with 8-bit codes each row's `m` bytes are scanned with float table look-ups.
//!
//! Cosine collections are indexed on unit-normalised vectors (where squared L2 ranks like
//! cosine); dot-product collections probe cells by inner product with the centroid and score
//! codes with inner-product tables.

use crate::kmeans::{self, KMeansParams};
use crate::metric::Metric;
use crate::pq::fastscan::{self, QuantizedTable};
use crate::pq::{KSUB, ProductQuantizer, scan_codes, scan_selected};
use crate::rowset::RowSet;
use crate::topk::{Neighbor, TopK};
use std::sync::Arc;

/// Which cells a query probes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Probe {
    /// The `n` nearest cells.
    Nearest(usize),
    /// Every cell whose centroid distance is at most `(1 + ratio)` times the nearest cell's,
    /// but at least `min` and at most `max` cells (SPANN's query-aware pruning, Chen et al.,
    /// NeurIPS 2021): a query close to one centroid — a document-like query — probes few
    /// cells, a query about equally far from many — a short question against passages —
    /// probes many. Dot-product indexes (distances of either sign) probe `min`.
    Within { ratio: f32, min: usize, max: usize },
}

impl From<usize> for Probe {
    fn from(n: usize) -> Probe {
        Probe::Nearest(n)
    }
}

/// Training parameters.
#[derive(Clone, Debug)]
pub struct IvfPqParams {
    pub nlist: usize,
    /// Sub-quantizers; must divide the dimension.
    pub m: usize,
    /// Bits per sub-quantizer code: 8 (256 codewords, float table look-ups) or 4 (16
    /// codewords, fast scan; at most [`fastscan::MAX_M`] sub-quantizers).
    pub bits: u32,
    /// The coarse quantizer's k-means (its seed also seeds the PQ training).
    pub kmeans: KMeansParams,
    /// Lloyd iterations for each PQ sub-quantizer (256 centroids on a small sample: cheap).
    pub pq_iterations: usize,
}

/// One cell: row ids and their codes, contiguous (`codes.len() == rows.len() * m`).
/// In a fast-scan index ([`IvfPq::fast_scan`]) the codes live in `packed` instead, in the
/// [`fastscan`] block layout, and `codes` is empty: read a row's code with [`InvertedList::code`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvertedList {
    pub rows: Vec<u64>,
    pub codes: Vec<u8>,
    /// 4-bit codes in blocks of 32 rows (fast-scan indexes only).
    pub packed: Vec<u8>,
    /// Per row (L2 and cosine indexes): `2<c, r> + ||r||^2` for the cell's centroid `c` and
    /// the decoded residual `r`, so that `||q - c - r||^2 = ||q - c||^2 + term - 2<q, r>`
    /// needs only one query-wide `<q, codeword>` table instead of one table per probed cell.
    /// Derived from the codes: [`IvfPq::from_parts`] and [`IvfPq::insert_code`] compute it.
    pub terms: Vec<f32>,
}

impl InvertedList {
    /// The code of the row at position `i` (`m` bytes), in either layout.
    pub fn code(&self, i: usize, m: usize) -> Vec<u8> {
        if self.codes.is_empty() && !self.packed.is_empty() {
            fastscan::code_at(&self.packed, i, m)
        } else {
            self.codes[i * m..(i + 1) * m].to_vec()
        }
    }
}

#[derive(Clone, Debug)]
pub struct IvfPq {
    metric: Metric,
    dim: usize,
    /// Trained parts, immutable: shared by every snapshot's clone.
    quantizers: Arc<Quantizers>,
    /// Behind `Arc`s so a snapshot clone shares untouched lists (copy on write).
    lists: Vec<Arc<InvertedList>>,
    len: usize,
    seed: u64,
}

/// The trained, immutable parts of an index.
#[derive(Debug)]
struct Quantizers {
    centroids: Vec<f32>,
    /// Centroids in blocks of [`DOT_BLOCK`], each block transposed (dim x DOT_BLOCK, the last
    /// block zero-padded): a query's inner products with one block's centroids stay in vector
    /// registers across all `dim` components and read the block contiguously.
    centroids_t: Vec<f32>,
    /// Squared norm of each centroid.
    centroid_sq: Vec<f32>,
    pq: ProductQuantizer,
    /// Codes are 4-bit and lists use the fast-scan layout.
    fast: bool,
}

impl Quantizers {
    fn new(dim: usize, centroids: Vec<f32>, pq: ProductQuantizer) -> Self {
        let nlist = centroids.len() / dim;
        let mut centroids_t = vec![0f32; nlist.div_ceil(DOT_BLOCK) * DOT_BLOCK * dim];
        for (c, cent) in centroids.chunks_exact(dim).enumerate() {
            let block = &mut centroids_t[c / DOT_BLOCK * DOT_BLOCK * dim..];
            for (t, &x) in cent.iter().enumerate() {
                block[t * DOT_BLOCK + c % DOT_BLOCK] = x;
            }
        }
        let centroid_sq = centroids
            .chunks_exact(dim)
            .map(|c| c.iter().map(|x| x * x).sum())
            .collect();
        let fast = pq.ksub() <= fastscan::KSUB4 && pq.m() <= fastscan::MAX_M;
        Quantizers {
            centroids,
            centroids_t,
            centroid_sq,
            pq,
            fast,
        }
    }

    /// `2<c, r> + ||r||^2` for the centroid of `cell` and the residual `code` decodes to.
    fn row_term(&self, cell: usize, code: &[u8]) -> f32 {
        let dim = self.centroids.len() / self.centroid_sq.len().max(1);
        let c = &self.centroids[cell * dim..(cell + 1) * dim];
        let dsub = dim / self.pq.m().max(1);
        let mut term = 0f32;
        for (j, &k) in code.iter().enumerate() {
            let r = self.pq.codeword(j, k as usize);
            for (x, y) in r.iter().zip(&c[j * dsub..(j + 1) * dsub]) {
                term += x * (2.0 * y + x);
            }
        }
        term
    }

    /// Inner products of `q` with every centroid (each a sequential sum over the components,
    /// whichever build runs: the same floats on every CPU).
    fn dots(&self, q: &[f32]) -> Vec<f32> {
        let nlist = self.centroid_sq.len();
        let mut out = vec![0f32; nlist.div_ceil(DOT_BLOCK) * DOT_BLOCK];
        #[cfg(target_arch = "x86_64")]
        {
            if crate::cpu::avx2_fma() {
                // SAFETY: the CPU has AVX2 (checked above).
                #[allow(unsafe_code)]
                unsafe {
                    dots_avx2(q, &self.centroids_t, &mut out)
                };
                out.truncate(nlist);
                return out;
            }
        }
        dots_portable(q, &self.centroids_t, &mut out);
        out.truncate(nlist);
        out
    }
}

/// Centroids per block of the blocked, transposed centroid layout: 8 AVX2 registers of sums.
const DOT_BLOCK: usize = 64;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dots_avx2(q: &[f32], blocks: &[f32], out: &mut [f32]) {
    dots_portable(q, blocks, out)
}

/// The body of [`Quantizers::dots`], inlined into each target-feature build (plain loops over
/// fixed-size arrays, which the compiler keeps in registers; no FMA, so every build rounds
/// alike).
#[inline(always)]
fn dots_portable(q: &[f32], blocks: &[f32], out: &mut [f32]) {
    let dim = q.len();
    for (block, sums) in blocks
        .chunks_exact(DOT_BLOCK * dim.max(1))
        .zip(out.chunks_exact_mut(DOT_BLOCK))
    {
        let mut acc = [0f32; DOT_BLOCK];
        for (&x, row) in q.iter().zip(block.chunks_exact(DOT_BLOCK)) {
            for (a, &w) in acc.iter_mut().zip(row) {
                *a += x * w;
            }
        }
        sums.copy_from_slice(&acc);
    }
}

/// Unit-normalises for cosine; other metrics use vectors as they are.
pub fn prepare(metric: Metric, v: &[f32]) -> Vec<f32> {
    if metric != Metric::Cosine {
        return v.to_vec();
    }
    let n = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    let inv = if n > 0.0 { (1.0 / n) as f32 } else { 0.0 };
    v.iter().map(|x| x * inv).collect()
}

impl IvfPq {
    /// Trains the quantizers on `training` (n x dim, raw vectors); the index starts empty.
    pub fn train(
        metric: Metric,
        dim: usize,
        training: &[f32],
        params: &IvfPqParams,
    ) -> Result<IvfPq, String> {
        Self::train_assigning(metric, dim, training, params).map(|(ivf, _)| ivf)
    }

    /// [`IvfPq::train`], also returning the cell of every training vector (computed anyway
    /// for the residuals): when the training set is the whole collection,
    /// [`IvfPq::encode_batch_in`] encodes it without a second pass over the centroids.
    pub fn train_assigning(
        metric: Metric,
        dim: usize,
        training: &[f32],
        params: &IvfPqParams,
    ) -> Result<(IvfPq, Vec<u32>), String> {
        if dim == 0 || !training.len().is_multiple_of(dim) || training.is_empty() {
            return Err("training data must be a non-empty n x dim matrix".into());
        }
        if params.nlist == 0 {
            return Err("nlist must be at least 1".into());
        }
        let codewords = match params.bits {
            8 => KSUB,
            4 if params.m <= fastscan::MAX_M => fastscan::KSUB4,
            4 => {
                return Err(format!(
                    "4-bit codes allow at most {} sub-quantizers, not {}",
                    fastscan::MAX_M,
                    params.m
                ));
            }
            bits => return Err(format!("codes have 4 or 8 bits, not {bits}")),
        };
        let prepared: Vec<f32> = training
            .chunks_exact(dim)
            .flat_map(|v| prepare(metric, v))
            .collect();
        let centroids = kmeans::train(&prepared, dim, params.nlist, &params.kmeans);
        let assignment = kmeans::assign(&prepared, dim, &centroids, params.kmeans.threads);
        let mut residuals = prepared;
        for (v, &(c, _)) in residuals.chunks_exact_mut(dim).zip(&assignment) {
            let cent = &centroids[c as usize * dim..(c as usize + 1) * dim];
            v.iter_mut().zip(cent).for_each(|(x, c)| *x -= c);
        }
        let pq_params = KMeansParams {
            seed: params.kmeans.seed ^ 0x5051,
            iterations: params.pq_iterations,
            ..params.kmeans.clone()
        };
        let pq =
            ProductQuantizer::train_codewords(&residuals, dim, params.m, codewords, &pq_params)?;
        let nlist = centroids.len() / dim;
        let cells = assignment.into_iter().map(|(c, _)| c).collect();
        let ivf = IvfPq {
            metric,
            dim,
            quantizers: Arc::new(Quantizers::new(dim, centroids, pq)),
            lists: (0..nlist)
                .map(|_| Arc::new(InvertedList::default()))
                .collect(),
            len: 0,
            seed: params.kmeans.seed,
        };
        Ok((ivf, cells))
    }

    /// Rebuilds an index from stored parts.
    pub fn from_parts(
        metric: Metric,
        dim: usize,
        centroids: Vec<f32>,
        pq: ProductQuantizer,
        mut lists: Vec<InvertedList>,
        seed: u64,
    ) -> Result<IvfPq, String> {
        let m = pq.m();
        // Lists may come in either layout (a fast-scan index's own lists are packed).
        for list in &mut lists {
            if list.codes.is_empty() && !list.packed.is_empty() {
                if list.packed.len() != fastscan::packed_len(list.rows.len(), m) {
                    return Err("packed codes do not fit their rows".into());
                }
                list.codes = (0..list.rows.len())
                    .flat_map(|i| fastscan::code_at(&list.packed, i, m))
                    .collect();
            }
            list.packed = Vec::new();
        }
        if dim == 0 || !centroids.len().is_multiple_of(dim) || centroids.len() / dim != lists.len()
        {
            return Err(format!(
                "{} centroid values and {} lists do not fit dimension {dim}",
                centroids.len(),
                lists.len()
            ));
        }
        if let Some((i, _)) = lists.iter().enumerate().find(|(_, l)| {
            l.codes.len() != l.rows.len() * m || l.codes.iter().any(|&c| c as usize >= pq.ksub())
        }) {
            return Err(format!(
                "inverted list {i} has codes that do not fit its rows"
            ));
        }
        let len = lists.iter().map(|l| l.rows.len()).sum();
        let quantizers = Quantizers::new(dim, centroids, pq);
        let fast = quantizers.fast;
        let lists = lists
            .into_iter()
            .enumerate()
            .map(|(cell, mut list)| {
                list.terms = if metric == Metric::Dot {
                    Vec::new()
                } else {
                    list.codes
                        .chunks_exact(m.max(1))
                        .map(|code| quantizers.row_term(cell, code))
                        .collect()
                };
                if fast {
                    list.packed = fastscan::pack(&list.codes, m);
                    list.codes = Vec::new();
                }
                Arc::new(list)
            })
            .collect();
        Ok(IvfPq {
            metric,
            dim,
            quantizers: Arc::new(quantizers),
            lists,
            len,
            seed,
        })
    }

    /// The seed the quantizers were trained with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn nlist(&self) -> usize {
        self.lists.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn centroids(&self) -> &[f32] {
        &self.quantizers.centroids
    }

    pub fn quantizer(&self) -> &ProductQuantizer {
        &self.quantizers.pq
    }

    /// Whether codes are 4-bit, kept and scanned in the fast-scan layout.
    pub fn fast_scan(&self) -> bool {
        self.quantizers.fast
    }

    pub fn list(&self, i: usize) -> &InvertedList {
        &self.lists[i]
    }

    /// Releases the spare capacity lists gathered while being filled (after a build or load).
    pub fn shrink_to_fit(&mut self) {
        for list in &mut self.lists {
            let list = Arc::make_mut(list);
            list.rows.shrink_to_fit();
            list.codes.shrink_to_fit();
            list.packed.shrink_to_fit();
            list.terms.shrink_to_fit();
        }
    }

    /// Bytes held by codes, row ids, centroids and codebooks.
    pub fn memory_bytes(&self) -> usize {
        self.lists
            .iter()
            .map(|l| {
                l.codes.capacity()
                    + l.packed.capacity()
                    + l.rows.capacity() * 8
                    + l.terms.capacity() * 4
            })
            .sum::<usize>()
            // Centroids and codebooks are each held twice (row-major and transposed).
            + self.quantizers.centroids.len() * 4 * 2
            + self.quantizers.centroid_sq.len() * 4
            + self.quantizers.pq.codebooks().len() * 4 * 2
    }

    /// The cell a vector belongs to and its code.
    pub fn encode(&self, v: &[f32]) -> (usize, Vec<u8>) {
        let p = prepare(self.metric, v);
        let (cell, _) = kmeans::nearest(&p, &self.quantizers.centroids);
        let cell = cell as usize;
        (cell, self.residual_code(&p, cell))
    }

    /// The PQ code of a prepared vector's residual in `cell`.
    fn residual_code(&self, prepared: &[f32], cell: usize) -> Vec<u8> {
        let residual: Vec<f32> = prepared
            .iter()
            .zip(&self.quantizers.centroids[cell * self.dim..(cell + 1) * self.dim])
            .map(|(x, c)| x - c)
            .collect();
        let mut code = vec![0u8; self.quantizers.pq.m()];
        self.quantizers.pq.encode(&residual, &mut code);
        code
    }

    /// [`IvfPq::encode`] for many vectors (n x dim), the cell search done as blocked matrix
    /// products over all cores. Near-ties between cells may resolve differently than in
    /// `encode`; either cell is a valid home (postings record the cell they used).
    pub fn encode_batch(&self, vectors: &[f32]) -> Vec<(usize, Vec<u8>)> {
        self.encode_prepared(&self.prepare_all(vectors), None)
    }

    /// [`IvfPq::encode_batch`] for vectors whose cells are known (from
    /// [`IvfPq::train_assigning`]); `cells.len()` must be the number of vectors.
    pub fn encode_batch_in(&self, vectors: &[f32], cells: &[u32]) -> Vec<(usize, Vec<u8>)> {
        assert_eq!(cells.len() * self.dim, vectors.len(), "one cell per vector");
        self.encode_prepared(&self.prepare_all(vectors), Some(cells))
    }

    fn prepare_all(&self, vectors: &[f32]) -> Vec<f32> {
        vectors
            .chunks_exact(self.dim)
            .flat_map(|v| prepare(self.metric, v))
            .collect()
    }

    fn encode_prepared(&self, prepared: &[f32], cells: Option<&[u32]>) -> Vec<(usize, Vec<u8>)> {
        let cells: std::borrow::Cow<[u32]> = match cells {
            Some(c) => c.into(),
            None => kmeans::assign(prepared, self.dim, &self.quantizers.centroids, 0)
                .into_iter()
                .map(|(c, _)| c)
                .collect(),
        };
        let encode =
            |(p, &cell): (&[f32], &u32)| (cell as usize, self.residual_code(p, cell as usize));
        let n = cells.len();
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        let per = n.div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = prepared
                .chunks(per * self.dim)
                .zip(cells.chunks(per))
                .map(|(rows, cells)| {
                    s.spawn(move || {
                        rows.chunks_exact(self.dim)
                            .zip(cells)
                            .map(encode)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// Adds a row with a code computed by [`IvfPq::encode`] (or loaded from storage).
    pub fn insert_code(&mut self, row: u64, cell: usize, code: &[u8]) {
        let term = (self.metric != Metric::Dot).then(|| self.quantizers.row_term(cell, code));
        let fast = self.quantizers.fast;
        let list = Arc::make_mut(&mut self.lists[cell]);
        if fast {
            fastscan::set_code(&mut list.packed, list.rows.len(), code);
        } else {
            list.codes.extend_from_slice(code);
        }
        list.rows.push(row);
        list.terms.extend(term);
        self.len += 1;
    }

    /// Removes `row` from `cell`; returns whether it was there.
    pub fn remove_from(&mut self, row: u64, cell: usize) -> bool {
        let Some(pos) = self
            .lists
            .get(cell)
            .and_then(|l| l.rows.iter().position(|&r| r == row))
        else {
            return false;
        };
        let m = self.quantizers.pq.m();
        let fast = self.quantizers.fast;
        let list = Arc::make_mut(&mut self.lists[cell]);
        if fast {
            fastscan::swap_remove(&mut list.packed, pos, list.rows.len(), m);
        }
        list.rows.swap_remove(pos);
        if !list.terms.is_empty() {
            list.terms.swap_remove(pos);
        }
        let last = list.rows.len();
        if !fast && pos != last {
            let (head, tail) = list.codes.split_at_mut(last * m);
            head[pos * m..(pos + 1) * m].copy_from_slice(&tail[..m]);
        }
        if !fast {
            list.codes.truncate(last * m);
        }
        self.len -= 1;
        true
    }

    /// Adds `row` (whose vector is `v`). The caller guarantees the row is not already present.
    pub fn add(&mut self, row: u64, v: &[f32]) {
        let (cell, code) = self.encode(v);
        self.insert_code(row, cell, &code);
    }

    /// Removes `row` (whose vector is `v`); returns whether it was present. Looks in the cell
    /// `v` encodes to first, then everywhere (so a row is found even after a retrain).
    pub fn remove(&mut self, row: u64, v: &[f32]) -> bool {
        let (home, _) = self.encode(v);
        self.remove_from(row, home)
            || (0..self.lists.len()).any(|cell| cell != home && self.remove_from(row, cell))
    }

    /// The `candidates` best rows by approximate (PQ) distance among the `nprobe` cells nearest
    /// to `query`, closest first. Distances are approximations: re-rank them exactly.
    pub fn search(
        &self,
        query: &[f32],
        probe: impl Into<Probe>,
        candidates: usize,
    ) -> Vec<Neighbor> {
        self.scan(query, probe.into(), candidates, None::<fn(u64) -> bool>)
    }

    /// [`IvfPq::search`] over the rows of `allowed` only (a filter's matching set): codes of
    /// other rows are skipped, so all `candidates` slots go to matching rows.
    pub fn search_filtered(
        &self,
        query: &[f32],
        probe: impl Into<Probe>,
        candidates: usize,
        allowed: &RowSet,
    ) -> Vec<Neighbor> {
        self.scan(
            query,
            probe.into(),
            candidates,
            Some(|row| allowed.contains(row)),
        )
    }

    /// The `nprobe` cells nearest to `query` (clamped to 1..=nlist), nearest first: the rows
    /// a probe visits, for a caller that scores them another way (the Matryoshka funnel scores
    /// them on a prefix of their stored vectors).
    pub fn probe(&self, query: &[f32], nprobe: usize) -> Vec<&InvertedList> {
        let q = prepare(self.metric, query);
        let mut cells = self.rank_cells(&q, Probe::Nearest(nprobe));
        cells.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        cells.into_iter().map(|(_, c)| &*self.lists[c]).collect()
    }

    /// The cells `probe` picks for a prepared query, with their distances, in no order.
    fn rank_cells(&self, q: &[f32], probe: Probe) -> Vec<(f32, usize)> {
        let nlist = self.lists.len();
        // Rank cells: L2 to the centroid (cosine, l2) or inner product (dot).
        // ||q - c||^2 = ||q||^2 + ||c||^2 - 2 <q, c>; the constant ||q||^2 is kept so that
        // cell distances are true distances (dot: -<q, c>).
        let q_sq: f32 = q.iter().map(|x| x * x).sum();
        let mut cells: Vec<(f32, usize)> = self
            .quantizers
            .dots(q)
            .into_iter()
            .zip(&self.quantizers.centroid_sq)
            .enumerate()
            .map(|(i, (dot, &c_sq))| {
                let d = match self.metric {
                    Metric::Dot => -dot,
                    Metric::Cosine | Metric::L2 => (q_sq + c_sq - 2.0 * dot).max(0.0),
                };
                (d, i)
            })
            .collect();
        let nprobe = match probe {
            Probe::Nearest(n) => n,
            Probe::Within { min, .. } if self.metric == Metric::Dot => min,
            Probe::Within { ratio, min, max } => {
                let nearest = cells.iter().map(|c| c.0).fold(f32::INFINITY, f32::min);
                let bound = nearest * (1.0 + ratio.max(0.0));
                let within = cells.iter().filter(|c| c.0 <= bound).count();
                within.clamp(min.min(max), max)
            }
        };
        let nprobe = nprobe.clamp(1, nlist.max(1));
        if nprobe < cells.len() {
            cells
                .select_nth_unstable_by(nprobe - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            cells.truncate(nprobe);
        }
        cells
    }

    fn scan(
        &self,
        query: &[f32],
        probe: Probe,
        candidates: usize,
        keep: Option<impl Fn(u64) -> bool>,
    ) -> Vec<Neighbor> {
        let q = prepare(self.metric, query);
        let cells = self.rank_cells(&q, probe);
        if self.quantizers.fast {
            return self.scan_fast(&q, &cells, candidates, keep);
        }
        let m = self.quantizers.pq.m();
        // One table per query: <q_j, codeword(j, k)>. Dot: distance = -(<q, c> + sum);
        // L2 / cosine: ||q - c||^2 + term(row) - 2 sum (see `InvertedList::terms`).
        let mut table = vec![0f32; m * KSUB];
        self.quantizers.pq.dot_table(&q, &mut table);
        let mut top = TopK::new(candidates);
        let mut selected = Vec::new();
        for &(cell_d, cell) in &cells {
            let list = &self.lists[cell];
            if list.rows.is_empty() {
                continue;
            }
            let mut offer = |i: usize, sum: f32| {
                let d = if self.metric == Metric::Dot {
                    cell_d - sum
                } else {
                    cell_d + list.terms[i] - 2.0 * sum
                };
                if d <= top.threshold() {
                    top.push(Neighbor {
                        distance: d,
                        row: list.rows[i],
                    });
                }
            };
            match &keep {
                None => scan_codes(&table, &list.codes, m, &mut offer),
                Some(keep) => {
                    selected.clear();
                    selected.extend((0..list.rows.len()).filter(|&i| keep(list.rows[i])));
                    scan_selected(&table, &list.codes, m, &selected, &mut offer);
                }
            }
        }
        top.into_sorted_vec()
    }

    /// [`IvfPq::scan`] of a fast-scan index: per list, the byte sums of all rows at once
    /// ([`fastscan::accumulate`]), then each row's estimate against the running threshold. The
    /// table holds the per-row part of the distance (`-2<q_j, r_j>`, or `-<q_j, r_j>` for dot)
    /// quantised to bytes, so estimates differ from [`IvfPq::scan`]'s float sums by at most
    /// `m / 2` table steps; re-ranking is exact.
    fn scan_fast(
        &self,
        q: &[f32],
        cells: &[(f32, usize)],
        candidates: usize,
        keep: Option<impl Fn(u64) -> bool>,
    ) -> Vec<Neighbor> {
        let m = self.quantizers.pq.m();
        let mut table = vec![0f32; m * fastscan::KSUB4];
        self.quantizers.pq.dot_table16(q, &mut table);
        let factor = if self.metric == Metric::Dot {
            -1.0
        } else {
            -2.0
        };
        table.iter_mut().for_each(|x| *x *= factor);
        let table = QuantizedTable::new(&table, m);
        let mut top = TopK::new(candidates);
        let mut sums = Vec::new();
        let mut passed = Vec::new();
        for (at, &(cell_d, cell)) in cells.iter().enumerate() {
            let list = &self.lists[cell];
            if let Some(&(_, next)) = cells.get(at + 1) {
                // The next list's codes load while this one is scanned.
                crate::cpu::prefetch(&self.lists[next].packed);
            }
            if list.rows.is_empty() {
                continue;
            }
            fastscan::accumulate(&list.packed, m, &table.bytes, &mut sums);
            let base = cell_d + table.offset;
            // Rows that beat the threshold as it stood before this list (it only falls):
            // usually a few, checked one by one against the current threshold.
            passed.clear();
            let n = list.rows.len();
            let scale = (base, table.step);
            fastscan::select_below(&sums, &list.terms, n, scale, top.threshold(), &mut passed);
            for &i in &passed {
                let i = i as usize;
                let term = list.terms.get(i).copied().unwrap_or(0.0);
                let d = fastscan::estimate(base, term, sums[i], table.step);
                if d <= top.threshold() && keep.as_ref().is_none_or(|keep| keep(list.rows[i])) {
                    top.push(Neighbor {
                        distance: d,
                        row: list.rows[i],
                    });
                }
            }
        }
        top.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests;
