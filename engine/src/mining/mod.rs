//! Hard-negative mining for contrastive training: for each (query, positive) pair, the records
//! a teacher ranks close to the query that are *not* its positives, with the positive-aware
//! filters of NV-Retriever (TopK-MarginPos, TopK-PercPos) against false negatives.
//!
//! The selection follows sentence-transformers' `util.mine_hard_negatives` step for step
//! (docs/mining.md states each rule; `tests/fixtures/mining_reference` holds its output on
//! Cranfield and the model tests compare), except that random sampling is seeded.
//!
//! ```
//! # use quiver::{CollectionConfig, Database, Metric, Record};
//! # use quiver::mining::{MiningPair, MiningRequest};
//! # let dir = tempfile::tempdir().unwrap();
//! # let db = Database::create(dir.path().join("q.qvr"))?;
//! let c = db.create_collection("docs", CollectionConfig::new(2, Metric::Cosine))?;
//! c.upsert(&[
//!     Record::new("pos", vec![1.0, 0.0]),
//!     Record::new("near", vec![0.9, 0.1]),
//!     Record::new("far", vec![0.0, 1.0]),
//! ])?;
//! let pairs = [MiningPair::vector(vec![1.0, 0.05], ["pos"])];
//! let mined = c.mine_hard_negatives(&MiningRequest::new(&pairs).num_negatives(1))?;
//! assert_eq!(mined.pairs[0].negatives[0].id, "near");
//! # Ok::<(), quiver::Error>(())
//! ```

mod format;
mod options;
mod pack;
mod select;
mod teacher;

pub use format::{MiningFormat, MiningOutput};
pub use options::{OPTIONS, from_options};
pub use pack::{PackRequest, PackedBatches};
pub use select::Skipped;

use crate::collection::Collection;
use crate::embed::CrossEncoder;
use crate::error::{Error, Result};
use select::{Candidate, Rules};
use std::collections::HashMap;
use std::sync::Arc;
use teacher::Ranked;

/// What a pair's query is: a text (embedded with the collection's model for the dense
/// teacher; the keywords for BM25) or a vector of the collection's dimension.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PairQuery {
    Text(String),
    Vector(Vec<f32>),
}

/// One training pair: a query and the ids of its positive records (one or more).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MiningPair {
    pub query: PairQuery,
    pub positives: Vec<String>,
}

impl MiningPair {
    pub fn text<S: Into<String>>(
        query: impl Into<String>,
        positives: impl IntoIterator<Item = S>,
    ) -> Self {
        MiningPair {
            query: PairQuery::Text(query.into()),
            positives: positives.into_iter().map(Into::into).collect(),
        }
    }

    pub fn vector<S: Into<String>>(
        query: Vec<f32>,
        positives: impl IntoIterator<Item = S>,
    ) -> Self {
        MiningPair {
            query: PairQuery::Vector(query),
            positives: positives.into_iter().map(Into::into).collect(),
        }
    }

    /// A pair from its JSON line: `{"query": text or [numbers], "positive": id or [ids]}`
    /// (`"positives"` is read too). The error says what is wrong with it.
    pub fn from_json(v: &serde_json::Value) -> std::result::Result<MiningPair, String> {
        use serde_json::Value;
        let query = match v.get("query") {
            Some(Value::String(t)) => PairQuery::Text(t.clone()),
            Some(Value::Array(xs)) => PairQuery::Vector(
                xs.iter()
                    .map(|x| x.as_f64().map(|x| x as f32))
                    .collect::<Option<Vec<f32>>>()
                    .ok_or("\"query\" is an array with a non-number")?,
            ),
            _ => return Err("\"query\": a text or an array of numbers".into()),
        };
        let positives = match v.get("positive").or_else(|| v.get("positives")) {
            Some(Value::String(id)) => vec![id.clone()],
            Some(Value::Array(xs)) => xs
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("\"positive\" holds a non-string")?,
            Some(_) => return Err("\"positive\": an id or an array of ids".into()),
            None => return Err("no \"positive\"".into()),
        };
        Ok(MiningPair { query, positives })
    }
}

/// Who ranks the candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Teacher {
    /// The collection's vectors: the query embedded with its model (or given as a vector),
    /// scored like [`Collection::search`] (cosine similarity, inner product, or −(squared
    /// distance) for l2 so that higher is better everywhere).
    Dense,
    /// BM25 over the collection's full-text index (text queries).
    Keywords,
    /// Dense and BM25 fused by reciprocal rank ([`crate::Hybrid::text`]'s defaults); a
    /// positive neither branch retrieved scores 0, as fusion scores what it did not see.
    Hybrid,
}

impl Teacher {
    /// By its name: `dense`, `bm25` (or `keywords`), `hybrid`.
    pub fn parse(name: &str) -> Result<Teacher> {
        match name {
            "dense" => Ok(Teacher::Dense),
            "bm25" | "keywords" => Ok(Teacher::Keywords),
            "hybrid" => Ok(Teacher::Hybrid),
            _ => Err(Error::InvalidParameter {
                name: "teacher",
                reason: format!("'{name}': dense, bm25 or hybrid"),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Teacher::Dense => "dense",
            Teacher::Keywords => "bm25",
            Teacher::Hybrid => "hybrid",
        }
    }
}

/// How the negatives are drawn from the candidates that pass the filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Sampling {
    /// The best-scored ones (sentence-transformers' `"top"`; NV-Retriever's TopK).
    #[default]
    Top,
    /// A uniform sample of the window, reproducible: the same seed, pairs and collection
    /// give the same negatives (sentence-transformers' `"random"` is unseeded).
    Random { seed: u64 },
}

/// A mining job: the pairs, the teacher(s) and the selection rules. Defaults are
/// sentence-transformers': 3 negatives, `range_min` 0, `range_max` derived (below), no
/// filters, top sampling; the teacher is [`Teacher::Dense`], searched exactly.
///
/// ## Semantics (per pair, per teacher)
/// 1. The teacher retrieves the `range_max + P + 1` best records, where P is the largest
///    number of positives of any pair in the request (so positives found, and the query's own
///    text if the collection holds it, do not eat the window).
/// 2. The pair's positives are removed, and so are duplicates: records whose stored text
///    equals the query's, a positive's or a better-ranked candidate's (sentence-transformers
///    de-duplicates its corpus by text). Pairs with the same query share their positives.
/// 3. Filters, against the score of the *weakest* positive p (the teacher's score of each
///    positive id): `absolute_margin` m removes candidates with score + m > p
///    (TopK-MarginPos); `relative_margin` r removes those with score > p − |p| × r
///    (TopK-PercPos; NV-Retriever's best is r = 0.05); then `max_score` (score > max) and
///    `min_score` (score < min).
/// 4. Of what remains, the `range_max` best; of those, the first `range_min` are skipped
///    (the rank counts *after* filtering).
/// 5. `num_negatives` of that window: the best ([`Sampling::Top`]) or a seeded sample
///    (best first in the output).
///
/// `range_max` defaults to `range_min + num_negatives + P`, or `range_min + 10 ×
/// num_negatives + P` when a margin or `max_score` is set (filters remove candidates).
///
/// Several teachers (an ensemble): each selects on its own, and the negatives are taken
/// from their lists in turn (first of each, then second of each, ...), a record already
/// taken skipped, up to `num_negatives`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MiningRequest<'a> {
    pub pairs: &'a [MiningPair],
    pub teachers: Vec<Teacher>,
    pub range_min: usize,
    pub range_max: Option<usize>,
    pub max_score: Option<f32>,
    pub min_score: Option<f32>,
    pub absolute_margin: Option<f32>,
    pub relative_margin: Option<f32>,
    pub num_negatives: usize,
    pub sampling: Sampling,
    /// Dense teacher: scan every record even when the collection has an index (default).
    pub exact: bool,
    /// A cross-encoder that re-scores every candidate and positive (query text against the
    /// record's stored text) before the filters; its scores replace the teacher's.
    pub rerank: Option<Arc<dyn CrossEncoder>>,
}

impl<'a> MiningRequest<'a> {
    pub fn new(pairs: &'a [MiningPair]) -> Self {
        MiningRequest {
            pairs,
            teachers: vec![Teacher::Dense],
            range_min: 0,
            range_max: None,
            max_score: None,
            min_score: None,
            absolute_margin: None,
            relative_margin: None,
            num_negatives: 3,
            sampling: Sampling::Top,
            exact: true,
            rerank: None,
        }
    }

    /// Re-score the candidates and positives with `model` before filtering (as
    /// sentence-transformers does with its `cross_encoder`): margins and bounds then apply to
    /// the cross-encoder's scores. Needs text queries and records with stored text.
    pub fn rerank(mut self, model: Arc<dyn CrossEncoder>) -> Self {
        self.rerank = Some(model);
        self
    }

    pub fn teachers(mut self, teachers: impl IntoIterator<Item = Teacher>) -> Self {
        self.teachers = teachers.into_iter().collect();
        self
    }

    pub fn range_min(mut self, r: usize) -> Self {
        self.range_min = r;
        self
    }

    pub fn range_max(mut self, r: usize) -> Self {
        self.range_max = Some(r);
        self
    }

    pub fn max_score(mut self, s: f32) -> Self {
        self.max_score = Some(s);
        self
    }

    pub fn min_score(mut self, s: f32) -> Self {
        self.min_score = Some(s);
        self
    }

    /// TopK-MarginPos: keep a candidate only if score + margin ≤ the weakest positive's.
    pub fn absolute_margin(mut self, m: f32) -> Self {
        self.absolute_margin = Some(m);
        self
    }

    /// TopK-PercPos: keep a candidate only if score ≤ p − |p| × margin, p the weakest
    /// positive's score (0.05: at most 95% of a positive p).
    pub fn relative_margin(mut self, m: f32) -> Self {
        self.relative_margin = Some(m);
        self
    }

    pub fn num_negatives(mut self, n: usize) -> Self {
        self.num_negatives = n;
        self
    }

    pub fn sampling(mut self, s: Sampling) -> Self {
        self.sampling = s;
        self
    }

    /// Dense teacher through the collection's approximate index (`false`) or exactly.
    pub fn exact(mut self, yes: bool) -> Self {
        self.exact = yes;
        self
    }

    fn validate(&self) -> Result<()> {
        let bad =
            |name: &'static str, reason: String| Err(Error::InvalidParameter { name, reason });
        if self.teachers.is_empty() {
            return bad("teachers", "at least one teacher".into());
        }
        if self.num_negatives == 0 {
            return bad("num_negatives", "at least 1".into());
        }
        crate::validate::search_parameter("num_negatives", self.num_negatives)?;
        if let Some(r) = self.range_max {
            crate::validate::search_parameter("range_max", r)?;
            if r <= self.range_min {
                return bad(
                    "range_max",
                    format!("{r} leaves no candidate after range_min {}", self.range_min),
                );
            }
        }
        crate::validate::search_parameter("range_min", self.range_min.max(1))?;
        for (name, v) in [
            ("max_score", self.max_score),
            ("min_score", self.min_score),
            ("absolute_margin", self.absolute_margin),
            ("relative_margin", self.relative_margin),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return bad(name, "a finite number".into());
            }
        }
        if let Some(r) = self.relative_margin
            && !(0.0..1.0).contains(&r)
        {
            return bad("relative_margin", format!("{r} is not in [0, 1)"));
        }
        for (i, p) in self.pairs.iter().enumerate() {
            if p.positives.is_empty() {
                return Err(Error::InvalidPair {
                    pair: i,
                    reason: "no positive".into(),
                });
            }
        }
        Ok(())
    }

    fn rules(&self, most_positives: usize) -> Rules {
        let filtered = self.absolute_margin.is_some()
            || self.relative_margin.is_some()
            || self.max_score.is_some();
        let per = if filtered { 10 } else { 1 };
        Rules {
            range_min: self.range_min,
            range_max: self
                .range_max
                .unwrap_or(self.range_min + per * self.num_negatives + most_positives),
            max_score: self.max_score,
            min_score: self.min_score,
            absolute_margin: self.absolute_margin,
            relative_margin: self.relative_margin,
            num_negatives: self.num_negatives,
            random: match self.sampling {
                Sampling::Top => None,
                Sampling::Random { seed } => Some(seed),
            },
        }
    }
}

/// A record with a teacher's score for a query.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Scored {
    pub id: String,
    pub score: f32,
    /// The record's stored text (text collections), for trainers that read texts.
    pub text: Option<String>,
    /// The teacher that scored it ([`MiningRequest::teachers`]' first for positives).
    pub teacher: Teacher,
}

/// The outcome for one pair.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MinedPair {
    /// Position of the pair in the request.
    pub pair: usize,
    pub query: PairQuery,
    /// The pair's positives with the (first) teacher's score.
    pub positives: Vec<Scored>,
    /// Best first; fewer than `num_negatives` when the filters left fewer.
    pub negatives: Vec<Scored>,
}

/// Everything a mining job produced, with the counts to judge its settings by.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct MiningReport {
    pub pairs: Vec<MinedPair>,
    /// Candidates the teachers retrieved (positives included).
    pub candidates: u64,
    /// Candidates each rule removed.
    pub skipped: Skipped,
    /// Pairs with fewer negatives than asked (none included).
    pub short: usize,
    /// Pairs with no negative at all.
    pub empty: usize,
    /// The `range_max` used (given, or derived).
    pub range_max: usize,
    /// Negatives asked for a pair.
    pub num_negatives: usize,
}

/// Pairs mined per call of the teachers: one batch of query embeddings and searches.
const BATCH: usize = 64;

impl Collection {
    /// Mines hard negatives for `request.pairs` (see [`MiningRequest`] for every rule).
    ///
    /// Errors: a positive id the collection does not hold, or a pair with no positive →
    /// [`Error::InvalidPair`]; a keyword or hybrid teacher without a full-text index →
    /// [`Error::NoTextIndex`]; a text query without a model → [`Error::NoEmbedder`]; a vector
    /// query of the wrong dimension → [`Error::DimensionMismatch`]. Nothing is written.
    pub fn mine_hard_negatives(&self, request: &MiningRequest<'_>) -> Result<MiningReport> {
        self.mine_hard_negatives_with_progress(request, |_, _| {})
    }

    /// [`Collection::mine_hard_negatives`], calling `progress(done, total)` as pairs are
    /// mined.
    pub fn mine_hard_negatives_with_progress(
        &self,
        request: &MiningRequest<'_>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<MiningReport> {
        request.validate()?;
        let pairs = request.pairs;
        self.check_positives(pairs)?;
        let most = pairs.iter().map(|p| p.positives.len()).max().unwrap_or(0);
        let rules = request.rules(most);
        // One more than sentence-transformers' window needs: the query's own text, should
        // the collection hold it, takes a place and is removed.
        let depth = rules.range_max + most + 1;
        // Pairs with the same query share their positives (as sentence-transformers groups
        // its rows by anchor), so one pair's positive is never another's negative.
        let mut by_query: HashMap<QueryKey, Vec<usize>> = HashMap::new();
        for (i, p) in pairs.iter().enumerate() {
            by_query.entry(QueryKey::of(&p.query)).or_default().push(i);
        }
        let positives_of = |i: usize| -> Vec<&str> {
            let mut all: Vec<&str> = Vec::new();
            for &j in &by_query[&QueryKey::of(&pairs[i].query)] {
                for id in &pairs[j].positives {
                    if !all.contains(&id.as_str()) {
                        all.push(id);
                    }
                }
            }
            all
        };
        let mut report = MiningReport {
            range_max: rules.range_max,
            num_negatives: request.num_negatives,
            ..MiningReport::default()
        };
        let total = pairs.len() as u64;
        progress(0, total);
        for (b, chunk) in pairs.chunks(BATCH).enumerate() {
            let first = b * BATCH;
            let shared: Vec<Vec<&str>> = (first..first + chunk.len()).map(positives_of).collect();
            let mut per_teacher: Vec<Vec<Ranked>> = Vec::with_capacity(request.teachers.len());
            for &t in &request.teachers {
                let mut ranked = teacher::rank(self, t, chunk, &shared, depth, request, first)?;
                if let Some(model) = &request.rerank {
                    for (j, r) in ranked.iter_mut().enumerate() {
                        teacher::rescore(model.as_ref(), &chunk[j], first + j, r)?;
                    }
                }
                per_teacher.push(ranked);
            }
            for (j, pair) in chunk.iter().enumerate() {
                let i = first + j;
                let mut lists: Vec<Vec<Scored>> = Vec::with_capacity(per_teacher.len());
                for (t, ranked) in request.teachers.iter().zip(&per_teacher) {
                    let r = &ranked[j];
                    report.candidates += r.hits.len() as u64;
                    let candidates = mark(r, &shared[j], &pair.query);
                    let (chosen, skipped) =
                        select::select(&candidates, r.weakest(), &rules, i as u64);
                    report.skipped.add(&skipped);
                    lists.push(
                        chosen
                            .into_iter()
                            .map(|c| Scored {
                                id: r.hits[c].id.clone(),
                                score: r.hits[c].score,
                                text: r.hits[c].text.clone(),
                                teacher: *t,
                            })
                            .collect(),
                    );
                }
                let negatives = interleave(lists, request.num_negatives);
                if negatives.len() < request.num_negatives {
                    report.short += 1;
                }
                if negatives.is_empty() {
                    report.empty += 1;
                }
                let first_teacher = &per_teacher[0][j];
                report.pairs.push(MinedPair {
                    pair: i,
                    query: pair.query.clone(),
                    positives: pair
                        .positives
                        .iter()
                        .map(|id| first_teacher.positive(id, request.teachers[0]))
                        .collect(),
                    negatives,
                });
            }
            progress((first + chunk.len()) as u64, total);
        }
        Ok(report)
    }
}

impl Collection {
    /// Every positive names a record of the collection (checked up front, so the error
    /// names the pair that gave the id, not another pair with the same query).
    fn check_positives(&self, pairs: &[MiningPair]) -> Result<()> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        for (i, p) in pairs.iter().enumerate() {
            for id in &p.positives {
                if snap.read.row_of(&state.record, id)?.is_none() {
                    return Err(teacher::missing(i, id));
                }
            }
        }
        Ok(())
    }
}

/// Candidates of one ranked list, with positives and duplicate texts marked (a record whose
/// text is the query's, a positive's or a better-ranked candidate's).
fn mark(r: &Ranked, positives: &[&str], query: &PairQuery) -> Vec<Candidate> {
    let mut seen: std::collections::HashSet<&str> = r
        .positive_texts
        .iter()
        .filter_map(|t| t.as_deref())
        .collect();
    if let PairQuery::Text(t) = query {
        seen.insert(t);
    }
    r.hits
        .iter()
        .map(|h| {
            let positive = positives.contains(&h.id.as_str());
            let duplicate = !positive && h.text.as_deref().is_some_and(|t| !seen.insert(t));
            Candidate {
                score: h.score,
                positive,
                duplicate,
            }
        })
        .collect()
}

/// Round-robin over the teachers' lists, each record once, up to `n`.
fn interleave(lists: Vec<Vec<Scored>>, n: usize) -> Vec<Scored> {
    if lists.len() == 1 {
        return lists.into_iter().flatten().take(n).collect();
    }
    let mut out: Vec<Scored> = Vec::new();
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    'outer: for rank in 0..longest {
        for list in &lists {
            if let Some(s) = list.get(rank)
                && !out.iter().any(|o| o.id == s.id)
            {
                out.push(s.clone());
                if out.len() == n {
                    break 'outer;
                }
            }
        }
    }
    out
}

/// Equal queries: the same text, or the same vector bit for bit.
#[derive(Hash, PartialEq, Eq)]
enum QueryKey {
    Text(String),
    Vector(Vec<u32>),
}

impl QueryKey {
    fn of(q: &PairQuery) -> QueryKey {
        match q {
            PairQuery::Text(t) => QueryKey::Text(t.clone()),
            PairQuery::Vector(v) => QueryKey::Vector(v.iter().map(|x| x.to_bits()).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, teacher: Teacher) -> Scored {
        Scored {
            id: id.into(),
            score: 0.0,
            text: None,
            teacher,
        }
    }

    #[test]
    fn ensembles_take_turns_and_skip_records_taken() {
        let a = vec![
            s("x", Teacher::Dense),
            s("y", Teacher::Dense),
            s("z", Teacher::Dense),
        ];
        let b = vec![s("x", Teacher::Keywords), s("w", Teacher::Keywords)];
        let got: Vec<String> = interleave(vec![a, b], 3)
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(got, ["x", "y", "w"]);
    }
}
