//! Query stages that combine or re-order what the first stages found. The first stages are
//! the dense search of each collection kind (`kinds/`) and keyword search (`fulltext/`);
//! [`fusion`] merges a dense and a keyword list into one (hybrid queries); [`rescore`]
//! scores candidates again exactly in another collection of the same ids (MaxSim on a
//! multi-vector collection); [`rerank`] re-orders the top candidates with a cross-encoder.
//! A search that runs a later stage records every stage's score in [`crate::Hit::stages`].

pub mod fusion;
pub mod rerank;
pub mod rescore;

/// A stage of a retrieval pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// The first stage: dense, keyword or hybrid search in the collection searched.
    Retrieve,
    /// Exact re-scoring in another collection of the same ids ([`rescore::Rescore`]).
    Rescore,
    /// Cross-encoder re-ranking ([`rerank::Rerank`]).
    Rerank,
}

impl Stage {
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Retrieve => "retrieve",
            Stage::Rescore => "rescore",
            Stage::Rerank => "rerank",
        }
    }
}

/// A hit's place after one stage.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct StageScore {
    pub stage: Stage,
    /// Rank in the stage's output, from 1.
    pub rank: usize,
    /// The stage's score: the first stage's (cosine, dot, l2, MaxSim, BM25 or fused), the
    /// re-scoring collection's, or the cross-encoder's.
    pub score: f32,
}

/// Records `stage`'s rank and score on each hit, in list order.
pub(crate) fn record(stage: Stage, hits: &mut [crate::Hit]) {
    for (i, h) in hits.iter_mut().enumerate() {
        h.stages.push(StageScore {
            stage,
            rank: i + 1,
            score: h.score,
        });
    }
}
