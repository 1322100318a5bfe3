//! Declaring a full-text index (indexing what the collection holds, in one transaction),
//! dropping it, describing it, and showing what a text becomes.

use super::maintain::{all_terms, apply, source_of};
use super::spec::{self, TextIndexInfo, TextIndexParams};
use crate::collection::Collection;
use crate::error::{Error, Result};
use quiver_index::text::Analyzer;
use std::collections::BTreeMap;

impl Collection {
    /// Declares the collection's full-text (BM25) index and indexes every stored record, in
    /// one transaction; from then on every upsert and delete keeps it in step, in its own
    /// transaction. A collection has at most one full-text index: declaring another gives
    /// [`Error::TextIndexExists`] (drop it first). A stored record whose indexed field holds
    /// something other than strings is refused ([`Error::InvalidParameter`], naming it);
    /// so are later upserts of such records ([`Error::InvalidPayload`]).
    ///
    /// ```
    /// # use quiver::{CollectionConfig, Database, Metric, Query, Record, TextIndexParams};
    /// # use serde_json::json;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = Database::create(dir.path().join("q.qvr"))?;
    /// let c = db.create_collection("c", CollectionConfig::new(2, Metric::Cosine))?;
    /// c.upsert(&[
    ///     Record::new("a", vec![1.0, 0.0]).with_payload(json!({"title": "Supersonic flow over wings"})),
    ///     Record::new("b", vec![0.0, 1.0]).with_payload(json!({"title": "Heat transfer in plates"})),
    /// ])?;
    /// c.create_text_index(&TextIndexParams::fields(["title"]))?;
    /// let hits = c.search(Query::Keywords("wing flows"), 10)?;
    /// assert_eq!(hits[0].id, "a");
    /// # Ok::<(), quiver::Error>(())
    /// ```
    pub fn create_text_index(&self, params: &TextIndexParams) -> Result<TextIndexInfo> {
        self.create_text_index_with_progress(params, |_, _| {})
    }

    /// [`Collection::create_text_index`], calling `progress(done, total)` as records are
    /// analysed.
    pub fn create_text_index_with_progress(
        &self,
        params: &TextIndexParams,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<TextIndexInfo> {
        params.validate()?;
        let source = source_of(params)?;
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let record = &state.record;
            if spec::declared(&snap.read, record)?.is_some() {
                return Err(Error::TextIndexExists {
                    collection: self.name.clone(),
                });
            }
            let total = record.count;
            let reader = snap.read.row_reader(record)?;
            let on_bad = |row: u64, reason: String| {
                let id = reader.id(row).ok().flatten().unwrap_or_default();
                Error::InvalidParameter {
                    name: "text index",
                    reason: format!("record '{id}': {reason}"),
                }
            };
            let new = all_terms(&snap.read, record, &source, on_bad, |done| {
                progress(done, total)
            })?;
            progress(total, total);
            batch.put_setting(record, spec::SETTING_KEY, &spec::encode(params)?)?;
            apply(batch, &snap.read, record, &BTreeMap::new(), &new)?;
            Ok(((), Vec::new()))
        })?;
        self.text_index()?.ok_or_else(|| Error::Internal {
            detail: "text index missing after its creation".into(),
        })
    }

    /// Removes the full-text index; returns whether there was one.
    pub fn drop_text_index(&self) -> Result<bool> {
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let had = batch.remove_setting(&state.record, spec::SETTING_KEY)?;
            batch.remove_setting(&state.record, spec::STATS_KEY)?;
            batch.clear_text_index(&state.record)?;
            Ok((had, Vec::new()))
        })
    }

    /// The full-text index, if the collection has one.
    pub fn text_index(&self) -> Result<Option<TextIndexInfo>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        let Some(params) = spec::declared(&snap.read, &state.record)? else {
            return Ok(None);
        };
        let stats = spec::stats(&snap.read, &state.record)?;
        let (blocks, bytes) = snap.read.text_index_size(&state.record)?;
        Ok(Some(TextIndexInfo {
            params,
            rows: stats.rows,
            avg_len: if stats.rows == 0 {
                0.0
            } else {
                stats.total_len as f64 / stats.rows as f64
            },
            blocks,
            bytes,
        }))
    }

    /// The terms `text` becomes under the collection's full-text analyzer, in order (what
    /// `quiver analyze` prints): index and queries both go through it.
    pub fn analyze(&self, text: &str) -> Result<Vec<String>> {
        let params = self.text_index()?.ok_or_else(|| Error::NoTextIndex {
            collection: self.name.clone(),
        })?;
        crate::embed::check_text(None, text)?;
        Ok(Analyzer::new(params.params.analyzer()).terms(text))
    }
}
