//! The full-text index kept in step with the records, in the write transaction: a batch's
//! rows are analysed (the replaced and deleted ones as committed, to take their postings
//! out), each touched term's list is changed block by block, row lengths and statistics
//! follow. And the check that the index equals what a rebuild would give.

use super::source::{RowTerms, Source};
use super::spec::{self, TextIndexParams};
use crate::collection::parse_payload;
use crate::db::snapshot::{CollectionState, Snapshot};
use crate::error::{Error, Result};
use quiver_index::text::{Analyzer, CorpusStats};
use quiver_storage::text_postings::Posting;
use quiver_storage::{CollectionRecord, ReadSnapshot, RowReader, WriteBatch};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// One record of a batch as the full-text index sees it.
pub(crate) struct TextPut<'a> {
    /// Position in the batch (for errors).
    pub position: usize,
    pub row: u64,
    pub replaced: bool,
    pub payload: Option<&'a Value>,
    /// The text stored with the record (text writes).
    pub text: Option<&'a str>,
}

pub(crate) fn source_of(params: &TextIndexParams) -> Result<Source> {
    Ok(Source {
        analyzer: Analyzer::new(params.analyzer()),
        paths: params.paths()?,
        fields: params.fields.clone(),
    })
}

/// The terms of a row as committed (a value the index cannot read is damage: upserts refuse
/// such values).
pub(crate) fn committed_terms(source: &Source, reader: &RowReader, row: u64) -> Result<RowTerms> {
    committed_terms_or(source, reader, row, |row, reason| {
        Error::corrupted(format!("row {row}: {reason}"))
    })
}

fn committed_terms_or(
    source: &Source,
    reader: &RowReader,
    row: u64,
    on_bad: impl Fn(u64, String) -> Error,
) -> Result<RowTerms> {
    let payload = if source.paths.is_empty() {
        None
    } else {
        parse_payload(row, reader.payload(row)?)?
    };
    let text = if source.paths.is_empty() {
        reader.text(row)?
    } else {
        None
    };
    source
        .terms(payload.as_ref(), text.as_deref())
        .map_err(|reason| on_bad(row, reason))
}

/// Old and new terms of changed rows → per-term changes, lengths and statistics, written.
pub(crate) fn apply(
    batch: &mut WriteBatch,
    read: &ReadSnapshot,
    record: &CollectionRecord,
    old: &BTreeMap<u64, RowTerms>,
    new: &BTreeMap<u64, RowTerms>,
) -> Result<()> {
    let mut per_term: BTreeMap<&str, (Vec<u64>, Vec<Posting>)> = BTreeMap::new();
    for (&row, terms) in old {
        for term in terms.tfs.keys() {
            per_term.entry(term).or_default().0.push(row);
        }
    }
    for (&row, terms) in new {
        for (term, &tf) in &terms.tfs {
            per_term.entry(term).or_default().1.push(Posting {
                row,
                tf,
                len: terms.len,
            });
        }
    }
    let changes: Vec<(&str, &[u64], &[Posting])> = per_term
        .iter()
        .map(|(term, (removes, adds))| (*term, removes.as_slice(), adds.as_slice()))
        .collect();
    batch.update_text_postings_many(record, &changes)?;
    let mut stats = spec::stats(read, record)?;
    let (mut gone, mut gone_len) = (0u64, 0u64);
    let lengths: Vec<(u64, u32)> = new
        .iter()
        .filter(|(_, t)| t.present)
        .map(|(&r, t)| (r, t.len))
        .collect();
    let empty: Vec<u64> = old
        .keys()
        .filter(|r| new.get(r).is_none_or(|t| !t.present))
        .copied()
        .chain(
            new.iter()
                .filter(|(r, t)| !t.present && !old.contains_key(r))
                .map(|(&r, _)| r),
        )
        .collect();
    for prev in batch
        .put_text_lengths(record, &lengths)?
        .into_iter()
        .chain(batch.remove_text_lengths(record, &empty)?)
        .flatten()
    {
        gone += 1;
        gone_len += u64::from(prev);
    }
    let bad = || {
        Error::corrupted(format!(
            "text index statistics of '{}' below its rows",
            record.name
        ))
    };
    stats.rows = (stats.rows + lengths.len() as u64)
        .checked_sub(gone)
        .ok_or_else(bad)?;
    stats.total_len = (stats.total_len + lengths.iter().map(|l| u64::from(l.1)).sum::<u64>())
        .checked_sub(gone_len)
        .ok_or_else(bad)?;
    spec::put_stats(batch, record, stats)
}

/// Keeps the index in step with a batch of puts (a later put of the same row wins).
pub(crate) fn index_puts(
    batch: &mut WriteBatch,
    snap: &Snapshot,
    state: &CollectionState,
    puts: &[TextPut<'_>],
) -> Result<()> {
    let Some(params) = spec::declared(&snap.read, &state.record)? else {
        return Ok(());
    };
    let source = source_of(&params)?;
    let reader = snap.read.row_reader(&state.record)?;
    let mut old = BTreeMap::new();
    let mut new = BTreeMap::new();
    for p in puts {
        if p.replaced && !new.contains_key(&p.row) && !old.contains_key(&p.row) {
            old.insert(p.row, committed_terms(&source, &reader, p.row)?);
        }
        let terms = source
            .terms(p.payload, p.text)
            .map_err(|reason| Error::InvalidPayload {
                position: p.position,
                reason,
            })?;
        new.insert(p.row, terms);
    }
    apply(batch, &snap.read, &state.record, &old, &new)
}

/// Takes deleted rows (as committed) out of the index.
pub(crate) fn index_deletes(
    batch: &mut WriteBatch,
    snap: &Snapshot,
    state: &CollectionState,
    rows: &[u64],
) -> Result<()> {
    let Some(params) = spec::declared(&snap.read, &state.record)? else {
        return Ok(());
    };
    if rows.is_empty() {
        return Ok(());
    }
    let source = source_of(&params)?;
    let reader = snap.read.row_reader(&state.record)?;
    let mut old = BTreeMap::new();
    for &row in rows {
        old.insert(row, committed_terms(&source, &reader, row)?);
    }
    apply(batch, &snap.read, &state.record, &old, &BTreeMap::new())
}

/// Every live row's terms, as a rebuild would index them; `on_bad` makes the error for a
/// row whose indexed value is not text.
pub(crate) fn all_terms(
    read: &ReadSnapshot,
    record: &CollectionRecord,
    source: &Source,
    on_bad: impl Fn(u64, String) -> Error,
    mut progress: impl FnMut(u64),
) -> Result<BTreeMap<u64, RowTerms>> {
    let mut rows = Vec::new();
    read.for_each_key(record, |row, _| {
        rows.push(row);
        Ok(())
    })?;
    let reader = read.row_reader(record)?;
    let mut out = BTreeMap::new();
    for (i, row) in rows.into_iter().enumerate() {
        out.insert(row, committed_terms_or(source, &reader, row, &on_bad)?);
        if i % 1024 == 1023 {
            progress(i as u64 + 1);
        }
    }
    Ok(out)
}

/// Checks that postings, lengths and statistics are exactly what the stored rows give.
pub(crate) fn check(snap: &Snapshot, state: &CollectionState) -> Result<()> {
    let record = &state.record;
    let Some(params) = spec::declared(&snap.read, record)? else {
        return Ok(());
    };
    let source = source_of(&params)?;
    let expected = all_terms(
        &snap.read,
        record,
        &source,
        |row, reason| Error::corrupted(format!("row {row}: {reason}")),
        |_| {},
    )?;
    let bad = |what: String| Error::corrupted(format!("text index of '{}': {what}", record.name));
    let mut want: BTreeMap<&str, Vec<Posting>> = BTreeMap::new();
    for (&row, terms) in &expected {
        for (term, &tf) in &terms.tfs {
            want.entry(term).or_default().push(Posting {
                row,
                tf,
                len: terms.len,
            });
        }
    }
    let mut found: BTreeMap<String, Vec<Posting>> = BTreeMap::new();
    snap.read.for_each_text_posting(record, |term, p| {
        found.entry(term.to_owned()).or_default().push(p);
        Ok(())
    })?;
    if found.len() != want.len()
        || found
            .iter()
            .zip(&want)
            .any(|((ta, a), (tb, b))| ta != tb || a != b)
    {
        return Err(bad(format!(
            "{} terms stored, the records give {}, or their postings differ",
            found.len(),
            want.len()
        )));
    }
    let mut lengths = Vec::new();
    snap.read.for_each_text_length(record, |row, len| {
        lengths.push((row, len));
        Ok(())
    })?;
    let want_lengths: Vec<(u64, u32)> = expected
        .iter()
        .filter(|(_, t)| t.present)
        .map(|(&r, t)| (r, t.len))
        .collect();
    if lengths != want_lengths {
        return Err(bad(format!(
            "{} row lengths stored, the records give {}",
            lengths.len(),
            want_lengths.len()
        )));
    }
    let stats = spec::stats(&snap.read, record)?;
    let want_stats = CorpusStats {
        rows: want_lengths.len() as u64,
        total_len: want_lengths.iter().map(|l| u64::from(l.1)).sum(),
    };
    if stats != want_stats {
        return Err(bad(format!(
            "statistics {stats:?}, the records give {want_stats:?}"
        )));
    }
    let live: HashSet<u64> = expected.keys().copied().collect();
    if let Some((row, _)) = lengths.iter().find(|(r, _)| !live.contains(r)) {
        return Err(bad(format!("row {row} is indexed but not stored")));
    }
    Ok(())
}
