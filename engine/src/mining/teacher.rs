//! Running a teacher over a batch of pairs: each query's ranked candidates and the teacher's
//! score of each of its positives, on one scale where higher is better.

use super::{MiningPair, MiningRequest, PairQuery, Scored, Teacher};
use crate::collection::{Collection, CollectionInfo, Dense, Hit, Hybrid, Query, SearchOptions};
use crate::embed::CrossEncoder;
use crate::error::{Error, Result};
use crate::fulltext;
use crate::kinds::{CollectionKind, Owned};
use quiver_index::{Metric, RowSet};
use std::collections::HashMap;

/// One query's candidates (best first) and its positives' scores.
pub(crate) struct Ranked {
    pub hits: Vec<Hit>,
    /// (id, score) of every positive of the query (the pairs with this query together).
    pub positive_scores: Vec<(String, f32)>,
    pub positive_texts: Vec<Option<String>>,
}

impl Ranked {
    /// The lowest positive score: the one the margins compare against.
    pub fn weakest(&self) -> Option<f32> {
        self.positive_scores
            .iter()
            .map(|(_, s)| *s)
            .min_by(|a, b| a.total_cmp(b))
    }

    pub fn positive(&self, id: &str, teacher: Teacher) -> Scored {
        let at = self.positive_scores.iter().position(|(p, _)| p == id);
        Scored {
            id: id.to_owned(),
            score: at.map_or(f32::NAN, |i| self.positive_scores[i].1),
            text: at.and_then(|i| self.positive_texts[i].clone()),
            teacher,
        }
    }
}

/// Ranks the queries of `pairs` (at positions `first..` of the request) with `teacher`:
/// `depth` candidates each. `positives[j]` are the ids whose scores pair j needs.
pub(crate) fn rank(
    coll: &Collection,
    teacher: Teacher,
    pairs: &[MiningPair],
    positives: &[Vec<&str>],
    depth: usize,
    request: &MiningRequest<'_>,
    first: usize,
) -> Result<Vec<Ranked>> {
    let info = coll.info()?;
    let texts = positive_texts(coll, &info, positives, first)?;
    let ranked = match teacher {
        Teacher::Dense => dense(coll, &info, pairs, positives, depth, request.exact, first)?,
        Teacher::Keywords => keywords(coll, pairs, positives, depth, first)?,
        Teacher::Hybrid => hybrid(coll, pairs, positives, depth, first)?,
    };
    Ok(ranked
        .into_iter()
        .zip(texts)
        .map(|((hits, positive_scores), positive_texts)| Ranked {
            hits,
            positive_scores,
            positive_texts,
        })
        .collect())
}

type Scores = (Vec<Hit>, Vec<(String, f32)>);

/// Replaces the teacher's scores of `r` (candidates and positives) by `model`'s for the
/// pair's query text, candidates re-ordered by them (stable: the teacher's order breaks ties).
pub(crate) fn rescore(
    model: &dyn CrossEncoder,
    pair: &MiningPair,
    at: usize,
    r: &mut Ranked,
) -> Result<()> {
    let PairQuery::Text(query) = &pair.query else {
        return Err(Error::InvalidPair {
            pair: at,
            reason: "cross-encoder re-scoring needs a text query".into(),
        });
    };
    let no_text = |id: &str| Error::InvalidParameter {
        name: "rerank",
        reason: format!("record '{id}' has no stored text for the cross-encoder"),
    };
    let texts: Vec<&str> = r
        .hits
        .iter()
        .map(|h| h.text.as_deref().ok_or_else(|| no_text(&h.id)))
        .collect::<Result<_>>()?;
    let scores = scored(model, query, &texts)?;
    for (h, s) in r.hits.iter_mut().zip(scores) {
        h.score = s;
    }
    r.hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    let positives: Vec<&str> = r
        .positive_scores
        .iter()
        .zip(&r.positive_texts)
        .map(|((id, _), t)| t.as_deref().ok_or_else(|| no_text(id)))
        .collect::<Result<_>>()?;
    let scores = scored(model, query, &positives)?;
    for ((_, s), new) in r.positive_scores.iter_mut().zip(scores) {
        *s = new;
    }
    Ok(())
}

fn scored(model: &dyn CrossEncoder, query: &str, texts: &[&str]) -> Result<Vec<f32>> {
    let scores = model.score(query, texts)?;
    if scores.len() != texts.len() {
        return Err(Error::Inference {
            detail: format!(
                "{} returned {} scores for {} texts",
                model.identity().fingerprint(),
                scores.len(),
                texts.len()
            ),
        });
    }
    Ok(scores)
}

/// The stored text of each positive; a positive the collection does not hold is refused.
fn positive_texts(
    coll: &Collection,
    info: &CollectionInfo,
    positives: &[Vec<&str>],
    first: usize,
) -> Result<Vec<Vec<Option<String>>>> {
    let multi = info.kind == CollectionKind::MultiVector;
    let mut out = Vec::with_capacity(positives.len());
    for (j, ids) in positives.iter().enumerate() {
        let mut texts = Vec::with_capacity(ids.len());
        for id in ids {
            let text = if multi {
                coll.get_multi(id)?.map(|r| r.text)
            } else {
                coll.get(id)?.map(|r| r.text)
            };
            match text {
                Some(t) => texts.push(t),
                None => return Err(missing(first + j, id)),
            }
        }
        out.push(texts);
    }
    Ok(out)
}

pub(crate) fn missing(pair: usize, id: &str) -> Error {
    Error::InvalidPair {
        pair,
        reason: format!("positive '{id}' is not in the collection"),
    }
}

/// The dense query of each pair: its vector, or its text embedded as a query (all texts of
/// the batch in one call).
pub(crate) fn embedded(coll: &Collection, pairs: &[MiningPair]) -> Result<Vec<Owned>> {
    let texts: Vec<&str> = pairs
        .iter()
        .filter_map(|p| match &p.query {
            PairQuery::Text(t) => Some(t.as_str()),
            PairQuery::Vector(_) => None,
        })
        .collect();
    for t in &texts {
        crate::embed::check_text(None, t)?;
    }
    let mut from_model = if texts.is_empty() {
        Vec::new()
    } else {
        let snap = coll.db.snapshot()?;
        let state = snap.collection(&coll.name)?;
        let embedder = coll.embedder()?;
        state.kind.embed_queries(embedder.as_ref(), &texts)?
    }
    .into_iter();
    pairs
        .iter()
        .map(|p| match &p.query {
            PairQuery::Vector(v) => Ok(Owned::Vector(v.clone())),
            PairQuery::Text(_) => from_model.next().ok_or_else(|| Error::Internal {
                detail: "fewer embedded queries than texts".into(),
            }),
        })
        .collect()
}

fn as_query(o: &Owned) -> Query<'_> {
    match o {
        Owned::Vector(v) => Query::Vector(v),
        Owned::Matrix(m) => Query::Matrix(m),
    }
}

fn as_dense(o: &Owned) -> Dense<'_> {
    match o {
        Owned::Vector(v) => Dense::Vector(v),
        Owned::Matrix(m) => Dense::Matrix(m),
    }
}

/// The query text of each pair (pairs at positions `first..`); a vector query is refused,
/// `teacher` reads words.
fn query_texts(pairs: &[MiningPair], first: usize, teacher: Teacher) -> Result<Vec<&str>> {
    pairs
        .iter()
        .enumerate()
        .map(|(j, p)| match &p.query {
            PairQuery::Text(t) => Ok(t.as_str()),
            PairQuery::Vector(_) => Err(Error::InvalidPair {
                pair: first + j,
                reason: format!("the {} teacher needs a text query", teacher.name()),
            }),
        })
        .collect()
}

fn dense(
    coll: &Collection,
    info: &CollectionInfo,
    pairs: &[MiningPair],
    positives: &[Vec<&str>],
    depth: usize,
    exact: bool,
    first: usize,
) -> Result<Vec<Scores>> {
    let queries = embedded(coll, pairs)?;
    // Scores on one scale where higher is better: l2 distances negated.
    let sign = if info.metric == Metric::L2 { -1.0 } else { 1.0 };
    let options = SearchOptions::new(depth).exact(exact).include_payload(true);
    let found = coll.search_batch(queries.iter().map(as_query), options)?;
    let mut out = Vec::with_capacity(pairs.len());
    for (j, (mut hits, q)) in found.into_iter().zip(&queries).enumerate() {
        for h in &mut hits {
            h.score *= sign;
        }
        let (scores, _) = coll.exact_scores(as_query(q), &positives[j])?;
        let mut pos = Vec::with_capacity(scores.len());
        for (id, s) in positives[j].iter().zip(scores) {
            let s = s.ok_or_else(|| missing(first + j, id))?;
            pos.push(((*id).to_owned(), s * sign));
        }
        out.push((hits, pos));
    }
    Ok(out)
}

fn keywords(
    coll: &Collection,
    pairs: &[MiningPair],
    positives: &[Vec<&str>],
    depth: usize,
    first: usize,
) -> Result<Vec<Scores>> {
    let texts = query_texts(pairs, first, Teacher::Keywords)?;
    let options = SearchOptions::new(depth).include_payload(true);
    let found = coll.search_batch(texts.iter().map(|t| Query::Keywords(t)), options)?;
    let mut out = Vec::with_capacity(pairs.len());
    for (j, hits) in found.into_iter().enumerate() {
        let scores = keyword_scores(coll, texts[j], &positives[j], first + j)?;
        out.push((hits, scores));
    }
    Ok(out)
}

/// BM25 scores of `keywords` for the records `ids`; 0 for a record that matches no term
/// (BM25 sums over the terms it holds).
fn keyword_scores(
    coll: &Collection,
    keywords: &str,
    ids: &[&str],
    pair: usize,
) -> Result<Vec<(String, f32)>> {
    let snap = coll.db.snapshot()?;
    let state = snap.collection(&coll.name)?;
    let mut allowed = RowSet::new();
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let row = snap
            .read
            .row_of(&state.record, id)?
            .ok_or_else(|| missing(pair, id))?;
        allowed.insert(row);
        rows.push(row);
    }
    let found = fulltext::search(
        &snap.read,
        &state.record,
        keywords,
        ids.len(),
        Some(&allowed),
    )?;
    let score: HashMap<u64, f32> = found.into_iter().map(|f| (f.row, f.score)).collect();
    Ok(ids
        .iter()
        .zip(rows)
        .map(|(id, row)| ((*id).to_owned(), score.get(&row).copied().unwrap_or(0.0)))
        .collect())
}

fn hybrid(
    coll: &Collection,
    pairs: &[MiningPair],
    positives: &[Vec<&str>],
    depth: usize,
    first: usize,
) -> Result<Vec<Scores>> {
    let texts = query_texts(pairs, first, Teacher::Hybrid)?;
    let queries = embedded(coll, pairs)?;
    // Every record either branch retrieved is in the fused list, so a positive's fused
    // score is read off it (0 when neither branch saw it).
    let branch = depth.max(crate::collection::DEFAULT_DEPTH);
    let hybrid: Vec<Query<'_>> = queries
        .iter()
        .zip(&texts)
        .map(|(q, t)| Query::Hybrid(Hybrid::new(as_dense(q), t).depths(branch, branch)))
        .collect();
    let options = SearchOptions::new(2 * branch).include_payload(true);
    let found = coll.search_batch(hybrid, options)?;
    let mut out = Vec::with_capacity(pairs.len());
    for (j, mut hits) in found.into_iter().enumerate() {
        let pos = positives[j]
            .iter()
            .map(|id| {
                let s = hits.iter().find(|h| h.id == *id).map_or(0.0, |h| h.score);
                ((*id).to_owned(), s)
            })
            .collect();
        hits.truncate(depth);
        out.push((hits, pos));
    }
    Ok(out)
}
