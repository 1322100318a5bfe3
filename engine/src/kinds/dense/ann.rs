//! The approximate (IVF-PQ) index of a collection: parameters and their defaults, training
//! from the in-memory vectors, and conversion to and from its stored form.

use crate::error::{Error, Result};
use crate::schema::Schema;
use quiver_index::ivf::{InvertedList, IvfPq, IvfPqParams as TrainParams};
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
/// - `m` = the largest divisor of the dimension up to dim / 2 (below 128-d) or dim / 4 (from
///   128-d), with sub-vectors of at least 2 components: 25 for 50-d, 96 for 384-d. Codes of
///   2-4 components per byte keep recall high once candidates are re-ranked exactly.
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

pub(crate) fn default_nlist(n: usize) -> usize {
    let by_sqrt = (4.0 * (n as f64).sqrt()).round() as usize;
    by_sqrt.min(n / 39).clamp(1, 65_536)
}

pub(crate) fn default_m(dim: usize) -> usize {
    let cap = if dim >= 128 { dim / 4 } else { dim / 2 };
    (1..=cap.max(1))
        .rev()
        .find(|m| dim.is_multiple_of(*m) && dim / m >= 2)
        .unwrap_or(1)
}

/// Search defaults: probe 1/16 of the lists (at least 8), re-rank 4 x k candidates exactly.
/// Measured on GloVe 400k x 50 (cosine, nlist 2530, m 25; `quiver-bench --ivf`): nprobe 128
/// gives recall@10 0.979 at refine 4, nprobe 256 gives 0.992; refine beyond 2 adds little
/// there because m = 25 codes are already fine-grained.
pub(crate) fn default_nprobe(nlist: usize) -> usize {
    (nlist / 16).max(8).min(nlist)
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
    let nlist = params.nlist.unwrap_or_else(|| default_nlist(n));
    if nlist == 0 || nlist > n {
        return Err(Error::InvalidParameter {
            name: "nlist",
            reason: format!("{nlist} is not between 1 and the record count {n}"),
        });
    }
    let m = params.m.unwrap_or_else(|| default_m(schema.dim));
    if m == 0 || !schema.dim.is_multiple_of(m) {
        return Err(Error::InvalidParameter {
            name: "m",
            reason: format!("{m} does not divide the dimension {}", schema.dim),
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
        assert_eq!(default_m(50), 25);
        assert_eq!(default_m(384), 96);
        assert_eq!(default_m(3), 1);
        assert_eq!(default_m(1), 1);
        assert_eq!(default_nlist(400_000), 2530);
        assert_eq!(default_nlist(100), 2);
        assert_eq!(default_nlist(5), 1);
        assert_eq!(default_nprobe(2530), 158);
        assert_eq!(default_nprobe(4), 4);
    }
}
