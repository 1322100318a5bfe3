//! Keyword queries: the syntax (words OR-ed; `+word` required, `-word` excluded), the terms
//! they analyse to, and BM25 top-k over the postings of those terms.

use super::spec;
use crate::error::{Error, Result};
use crate::kinds::Found;
use crate::limits::MAX_QUERY_TERMS;
use quiver_index::RowSet;
use quiver_index::text::{Analyzer, Occur, Postings, QueryTerm, bm25};
use quiver_storage::{CollectionRecord, ReadSnapshot};
use std::collections::BTreeMap;

/// The analysed terms of a keyword query, with how each takes part. A term given several
/// times counts once; if it is both required and excluded, nothing matches.
pub(crate) fn parse(analyzer: &Analyzer, keywords: &str) -> Result<Vec<(String, Occur)>> {
    let invalid = |reason: String| Error::InvalidKeywords { reason };
    if keywords.len() > crate::limits::MAX_TEXT_BYTES {
        return Err(invalid(format!(
            "{} bytes; the limit is {}",
            keywords.len(),
            crate::limits::MAX_TEXT_BYTES
        )));
    }
    let mut out: Vec<(String, Occur)> = Vec::new();
    for word in keywords.split_whitespace() {
        let (occur, rest) = match word.as_bytes()[0] {
            b'+' => (Occur::Must, &word[1..]),
            b'-' => (Occur::MustNot, &word[1..]),
            _ => (Occur::Should, word),
        };
        analyzer.for_each_term(rest, |t| match out.iter_mut().find(|(term, _)| term == t) {
            Some(existing) => existing.1 = strongest(existing.1, occur),
            None => out.push((t.to_owned(), occur)),
        });
        if out.len() > MAX_QUERY_TERMS {
            return Err(invalid(format!(
                "more than {MAX_QUERY_TERMS} distinct terms"
            )));
        }
    }
    if !out.iter().any(|(_, o)| *o != Occur::MustNot) {
        return Err(invalid(format!(
            "'{}' has no term to match after analysis (stop words and punctuation are dropped; excluded terms alone match nothing)",
            shorten(keywords)
        )));
    }
    Ok(out)
}

fn strongest(a: Occur, b: Occur) -> Occur {
    match (a, b) {
        (Occur::MustNot, _) | (_, Occur::MustNot) => Occur::MustNot,
        (Occur::Must, _) | (_, Occur::Must) => Occur::Must,
        _ => Occur::Should,
    }
}

fn shorten(s: &str) -> String {
    if s.len() <= 60 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(60).collect::<String>())
    }
}

/// The `k` best rows for `keywords` (BM25), best first; only rows in `allowed` when given.
pub(crate) fn search(
    read: &ReadSnapshot,
    record: &CollectionRecord,
    keywords: &str,
    k: usize,
    allowed: Option<&RowSet>,
) -> Result<Vec<Found>> {
    let params = spec::declared(read, record)?.ok_or_else(|| Error::NoTextIndex {
        collection: record.name.clone(),
    })?;
    let analyzer = Analyzer::new(params.analyzer());
    let terms = parse(&analyzer, keywords)?;
    let stats = spec::stats(read, record)?;
    let mut lists: BTreeMap<&str, Postings> = BTreeMap::new();
    for (term, _) in &terms {
        let stored = read.text_postings(record, term)?;
        let mut p = Postings::default();
        p.rows.reserve(stored.len());
        for s in stored {
            p.rows.push(s.row);
            p.tfs.push(s.tf);
            p.lens.push(s.len);
        }
        lists.insert(term, p);
    }
    let query: Vec<QueryTerm<'_>> = terms
        .iter()
        .filter_map(|(term, occur)| {
            lists.get(term.as_str()).map(|postings| QueryTerm {
                postings,
                occur: *occur,
            })
        })
        .collect();
    Ok(bm25::search(params.bm25(), stats, &query, k, allowed)
        .into_iter()
        .map(|s| Found {
            row: s.row,
            score: s.score,
            vector: None,
        })
        .collect())
}
