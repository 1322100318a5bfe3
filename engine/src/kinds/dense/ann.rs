//! The approximate (IVF-PQ) index of a collection: parameters and their defaults, training
//! from the in-memory vectors, and conversion to and from its stored form.

use crate::error::{Error, Result};
use crate::schema::Schema;
use quiver_index::ivf::{InvertedList, IvfPq, IvfPqParams as TrainParams, Probe};
use quiver_index::kmeans::KMeansParams;
use quiver_index::pq::ProductQuantizer;
use quiver_index::rng::SplitMix64;
use quiver_index::{AnyArena, Element, with_arena};
use quiver_storage::codec;
use quiver_storage::index_store::{IvfPqHeader, Posting, StoredIndex};
use quiver_storage::{CollectionRecord, ReadSnapshot};

/// How to build an IVF-PQ index. Every field left `None` is derived from the collection.
///
/// ## Defaults
/// - `nlist` = 4 x sqrt(n), rounded, within 1..=65536 and at most n / 39 (so k-means has at
///   least 39 points per centroid, FAISS's warning threshold): the usual IVF trade-off, lists
///   of ~sqrt(n)/4 vectors.
/// - `bits` = 8: codes of one byte per sub-quantizer (256 codewords). `bits(4)` makes 4-bit
///   codes (16 codewords) scanned by the fast-scan kernel: 32 rows per SIMD shuffle instead of
///   one float table look-up per byte.
/// - `m` = the largest divisor of the dimension up to dim / 2 (below 128-d) or dim / 4 (from
///   128-d), with sub-vectors of at least 2 components: 25 for 50-d, 96 for 384-d. Codes of
///   2-4 components per byte keep recall high once candidates are re-ranked exactly. With
///   4-bit codes: up to dim / 2 from 128-d (192 for 384-d), up to dim below (50 for 50-d: one
///   component per sub-quantizer), at most 256; the same bytes per row as 8-bit codes of
///   twice the sub-vector length.
/// - `sample` = 256 x nlist training vectors (k-means's bound; PQ uses the same sample).
/// - `iterations` = 10 for the coarse k-means (FAISS's choice for IVF quantizers: cells need
///   not converge, and each iteration is a pass over the whole sample); the PQ sub-quantizers
///   always run 20. `seed` = 1234.
///
/// Build with `IvfPqParams::default()` and the setters (`.nlist(64).m(8)`); a setter given
/// `None` restores the derived default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IvfPqParams {
    pub nlist: Option<usize>,
    pub m: Option<usize>,
    pub bits: Option<u32>,
    pub sample: Option<usize>,
    pub iterations: Option<usize>,
    pub seed: Option<u64>,
}

impl IvfPqParams {
    /// Inverted lists (coarse centroids).
    pub fn nlist(mut self, nlist: impl Into<Option<usize>>) -> Self {
        self.nlist = nlist.into();
        self
    }

    /// PQ sub-quantizers; must divide the dimension.
    pub fn m(mut self, m: impl Into<Option<usize>>) -> Self {
        self.m = m.into();
        self
    }

    /// Bits per sub-quantizer code: 8 or 4 (fast scan).
    pub fn bits(mut self, bits: impl Into<Option<u32>>) -> Self {
        self.bits = bits.into();
        self
    }

    /// Training vectors.
    pub fn sample(mut self, sample: impl Into<Option<usize>>) -> Self {
        self.sample = sample.into();
        self
    }

    /// Coarse k-means iterations.
    pub fn iterations(mut self, iterations: impl Into<Option<usize>>) -> Self {
        self.iterations = iterations.into();
        self
    }

    pub fn seed(mut self, seed: impl Into<Option<u64>>) -> Self {
        self.seed = seed.into();
        self
    }
}

pub(crate) fn default_nlist(n: usize, bits: u32) -> usize {
    // Fast-scan lists cost little to scan, so fewer, longer lists: the query's distances to
    // every centroid are then the smaller share of its time.
    let per_sqrt = if bits == 4 { 1.0 } else { 4.0 };
    let by_sqrt = (per_sqrt * (n as f64).sqrt()).round() as usize;
    by_sqrt.min(n / 39).clamp(1, 65_536)
}

pub(crate) fn default_m(dim: usize, bits: u32) -> usize {
    // 16 codewords over 2 components are coarse: below 128-d, 4-bit codes quantise each
    // component on its own (GloVe 50-d: recall@10 0.95 was out of reach with m 25 at refine
    // 4, docs/benchmarks.md).
    let (cap, min_dsub) = match (bits, dim >= 128) {
        (8, true) => (dim / 4, 2),
        (8, false) => (dim / 2, 2),
        (_, true) => (dim / 2, 1),
        (_, false) => (dim, 1),
    };
    let cap = if bits == 8 {
        cap
    } else {
        cap.min(quiver_index::pq::fastscan::MAX_M)
    };
    (1..=cap.max(1))
        .rev()
        .find(|m| dim.is_multiple_of(*m) && dim / m >= min_dsub)
        .unwrap_or(1)
}

/// Search defaults: probe 1/16 of the lists (at least 8), re-rank 4 x k candidates exactly.
/// Measured on GloVe 400k x 50 (cosine, nlist 2530, m 25; `quiver-bench --ivf`): nprobe 128
/// gives recall@10 0.979 at refine 4, nprobe 256 gives 0.992; refine beyond 2 adds little
/// there because m = 25 codes are already fine-grained.
///
/// 4-bit (fast-scan) indexes have 4x fewer, longer lists and scan them ~2x faster per row, and
/// probe 1/4 of the lists (at least 16): on WordNet x MiniLM (nlist 343) short questions and
/// usage examples need nprobe 64-128 for recall@10 0.95-0.97 where documents as queries need
/// 32 (docs/ann.md).
pub(crate) fn default_nprobe(ivf: &IvfPq) -> usize {
    nprobe_for(ivf.nlist(), ivf.fast_scan())
}

/// The cells a query probes when it names no nprobe. 8-bit indexes: the
/// [`default_nprobe`] nearest. 4-bit indexes: every cell within (1 + ratio) of the nearest
/// cell's distance (SPANN's rule), between nlist / 16 (at least 8) and nlist / 2 cells.
pub(crate) fn default_probe(ivf: &IvfPq) -> Probe {
    let nlist = ivf.nlist();
    if !ivf.fast_scan() {
        return Probe::Nearest(default_nprobe(ivf));
    }
    Probe::Within {
        ratio: DEFAULT_PROBE_RATIO,
        min: (nlist / 16).max(8).min(nlist),
        max: (nlist / 2).max(8).min(nlist),
    }
}

/// Measured on WordNet x MiniLM (117k, nlist 343; `benches/run.sh --ann`): ratio 0.2 gave
/// recall@10 0.952 / 0.924 / 0.856 for definitions / usage examples / short questions as
/// queries, 0.35 gave 0.978 / 0.968 / 0.948, 0.4 gives 0.986 / 0.978 / 0.964, 0.5 gave
/// 0.988 / 0.989 / 0.976 at 40% lower QPS.
pub(crate) const DEFAULT_PROBE_RATIO: f32 = 0.4;

fn nprobe_for(nlist: usize, fast_scan: bool) -> usize {
    if fast_scan {
        (nlist / 4).max(16).min(nlist)
    } else {
        (nlist / 16).max(8).min(nlist)
    }
}

pub(crate) const DEFAULT_REFINE: usize = 4;

/// Trains on the arena's vectors and encodes every row.
pub(crate) fn build(
    schema: &Schema,
    arena: &AnyArena,
    params: &IvfPqParams,
) -> Result<(IvfPq, Vec<Posting>)> {
    let n = arena.len();
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "index",
            reason: "cannot train an index on an empty collection".into(),
        });
    }
    let bits = params.bits.unwrap_or(8);
    let nlist = params.nlist.unwrap_or_else(|| default_nlist(n, bits));
    if nlist == 0 || nlist > n {
        return Err(Error::InvalidParameter {
            name: "nlist",
            reason: format!("{nlist} is not between 1 and the record count {n}"),
        });
    }
    if bits != 4 && bits != 8 {
        return Err(Error::InvalidParameter {
            name: "bits",
            reason: format!("{bits}: codes have 4 or 8 bits"),
        });
    }
    let m = params.m.unwrap_or_else(|| default_m(schema.dim, bits));
    if m == 0 || !schema.dim.is_multiple_of(m) {
        return Err(Error::InvalidParameter {
            name: "m",
            reason: format!("{m} does not divide the dimension {}", schema.dim),
        });
    }
    if bits == 4 && m > quiver_index::pq::fastscan::MAX_M {
        return Err(Error::InvalidParameter {
            name: "m",
            reason: format!(
                "{m}: 4-bit codes allow at most {} sub-quantizers",
                quiver_index::pq::fastscan::MAX_M
            ),
        });
    }
    let seed = params.seed.unwrap_or(1234);
    let kmeans = KMeansParams {
        iterations: params.iterations.unwrap_or(10),
        seed,
        ..KMeansParams::default()
    };
    let sample = params
        .sample
        .unwrap_or(nlist.saturating_mul(256))
        .clamp(nlist, n);
    let rows: Vec<u64> = with_arena!(arena, a => a.rows().collect());
    let mut rng = SplitMix64::new(seed ^ 0x5A4D);
    let mut picked = rng.sample_indices(rows.len(), sample);
    picked.sort_unstable();
    let mut training = Vec::with_capacity(sample * schema.dim);
    for &i in &picked {
        training.extend(stored(arena, rows[i]));
    }
    let (ivf, training_cells) = IvfPq::train_assigning(
        schema.metric,
        schema.dim,
        &training,
        &TrainParams {
            nlist,
            m,
            bits,
            kmeans,
            pq_iterations: 20,
        },
    )
    .map_err(|reason| Error::InvalidParameter {
        name: "index",
        reason,
    })?;
    let mut ivf_filled = ivf;
    let mut postings = Vec::with_capacity(n);
    // Encode in blocks: the coarse assignment as matrix products (`encode_batch`), or, when
    // the training sample was every row (in row order), the training vectors and the cells
    // training found.
    let all_trained = picked.len() == rows.len();
    const BLOCK: usize = 16_384;
    for (b, block) in rows.chunks(BLOCK).enumerate() {
        let encoded = if all_trained {
            let at = b * BLOCK;
            ivf_filled.encode_batch_in(
                &training[at * schema.dim..(at + block.len()) * schema.dim],
                &training_cells[at..at + block.len()],
            )
        } else {
            let vectors: Vec<f32> = block.iter().flat_map(|&row| stored(arena, row)).collect();
            ivf_filled.encode_batch(&vectors)
        };
        for (&row, (cell, code)) in block.iter().zip(encoded) {
            ivf_filled.insert_code(row, cell, &code);
            postings.push(Posting {
                row,
                cell: cell as u32,
                code,
            });
        }
    }
    ivf_filled.shrink_to_fit();
    Ok((ivf_filled, postings))
}

/// A stored row's vector as f32 (as stored: rounded to the element type).
pub(crate) fn stored(arena: &AnyArena, row: u64) -> Vec<f32> {
    with_arena!(arena, a => a.get(row).map(|v| v.iter().map(|x| x.to_f32()).collect()).unwrap_or_default())
}

pub(crate) fn header(ivf: &IvfPq) -> IvfPqHeader {
    IvfPqHeader {
        nlist: ivf.nlist() as u32,
        m: ivf.quantizer().m() as u32,
        ksub: ivf.quantizer().ksub() as u32,
        seed: ivf.seed(),
    }
}

pub(crate) fn encode_parts(ivf: &IvfPq) -> (Vec<u8>, Vec<u8>) {
    (
        codec::encode_f32(ivf.centroids()),
        codec::encode_f32(ivf.quantizer().codebooks()),
    )
}

/// Loads the stored index of a collection, if it has one.
pub(crate) fn load(
    schema: &Schema,
    record: &CollectionRecord,
    read: &ReadSnapshot,
) -> Result<Option<IvfPq>> {
    let Some(StoredIndex {
        header,
        centroids,
        codebooks,
    }) = read.index(record)?
    else {
        return Ok(None);
    };
    let (nlist, m) = (header.nlist as usize, header.m as usize);
    let bad = |what: String| Error::corrupted(format!("index of '{}': {what}", record.name));
    if nlist == 0 || m == 0 || !schema.dim.is_multiple_of(m) || nlist > 1 << 20 {
        return Err(bad(format!("nlist {nlist}, m {m}")));
    }
    let centroids = codec::decode_f32(&centroids, nlist * schema.dim)?;
    let codebooks = codec::decode_f32(&codebooks, m * 256 * (schema.dim / m))?;
    let pq = ProductQuantizer::from_parts(schema.dim, m, header.ksub as usize, codebooks)
        .map_err(bad)?;
    let mut lists = vec![InvertedList::default(); nlist];
    read.for_each_posting(record, |row, cell, code| {
        let list = lists.get_mut(cell as usize).ok_or_else(|| {
            quiver_storage::StorageError::Corrupted {
                detail: format!("posting of row {row} names cell {cell} of {nlist}"),
            }
        })?;
        list.rows.push(row);
        list.codes.extend_from_slice(code);
        Ok(())
    })?;
    let mut ivf = IvfPq::from_parts(schema.metric, schema.dim, centroids, pq, lists, header.seed)
        .map_err(bad)?;
    ivf.shrink_to_fit();
    if ivf.len() as u64 != record.count {
        return Err(bad(format!(
            "{} postings for {} records",
            ivf.len(),
            record.count
        )));
    }
    Ok(Some(ivf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        assert_eq!(default_m(50, 8), 25);
        assert_eq!(default_m(384, 8), 96);
        assert_eq!(default_m(3, 8), 1);
        assert_eq!(default_m(1, 8), 1);
        assert_eq!(default_m(50, 4), 50);
        assert_eq!(default_m(3, 4), 3);
        assert_eq!(default_m(384, 4), 192);
        assert_eq!(default_m(1024, 4), 256);
        assert_eq!(default_nlist(400_000, 8), 2530);
        assert_eq!(default_nlist(100, 8), 2);
        assert_eq!(default_nlist(5, 8), 1);
        assert_eq!(default_nlist(400_000, 4), 632);
        assert_eq!(default_nlist(117_659, 4), 343);
        assert_eq!(nprobe_for(2530, false), 158);
        assert_eq!(nprobe_for(4, false), 4);
        assert_eq!(nprobe_for(343, true), 85);
        assert_eq!(nprobe_for(35, true), 16);
        assert_eq!(nprobe_for(10, true), 10);
    }
}
