//! The filter and payload-index operations of a collection: declaring and dropping indexes,
//! counting, reading and deleting by filter.

use super::Filter;
use super::maintain::allowed_rows;
use super::payload_index::{self, PayloadIndex, PayloadIndexKind};
use crate::collection::{Collection, Record, parse_payload};
use crate::error::{Error, Result};
use crate::kinds::{self, CollectionKind, Owned};

impl Collection {
    /// Declares a payload index on `field` (a dotted path) and fills it from the stored
    /// payloads, in one transaction. From then on every record's value at `field` must be of
    /// `kind` (or null, missing, or an array of `kind`): upserts that break this are refused
    /// with [`Error::InvalidPayload`]. Refused with [`Error::InvalidParameter`] when a stored
    /// record already breaks it (naming the record) or the field is indexed as another kind;
    /// declaring the same index again does nothing.
    pub fn create_payload_index(&self, field: &str, kind: PayloadIndexKind) -> Result<()> {
        let spec = PayloadIndex {
            field: field.to_owned(),
            kind,
        };
        let path = spec.path()?;
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let mut list = payload_index::declared(&snap.read, &state.record)?;
            if let Some(existing) = list.iter().find(|i| i.field == field) {
                if existing.kind == kind {
                    return Ok(((), Vec::new()));
                }
                return Err(Error::InvalidParameter {
                    name: "payload index",
                    reason: format!(
                        "field '{field}' is already indexed as {}; drop that index first",
                        existing.kind.name()
                    ),
                });
            }
            let mut entries = Vec::new();
            let mut failure = None;
            let reader = snap.read.row_reader(&state.record)?;
            snap.read.for_each_payload(&state.record, |row, bytes| {
                if failure.is_some() {
                    return Ok(());
                }
                let parsed = serde_json::from_slice::<serde_json::Value>(bytes);
                match parsed {
                    Ok(value) => match spec.entries(&path, Some(&value), row) {
                        Ok(keys) => entries.extend(keys),
                        Err(reason) => {
                            let id = reader.id(row)?.unwrap_or_default();
                            failure = Some(Error::InvalidParameter {
                                name: "payload index",
                                reason: format!("record '{id}': {reason}"),
                            });
                        }
                    },
                    Err(e) => {
                        failure = Some(Error::corrupted(format!(
                            "payload of row {row} is not JSON: {e}"
                        )))
                    }
                }
                Ok(())
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
            batch.put_field_entries(&state.record, &entries)?;
            list.push(spec.clone());
            batch.put_setting(
                &state.record,
                payload_index::SETTING_KEY,
                &payload_index::encode(&list)?,
            )?;
            Ok(((), Vec::new()))
        })
    }

    /// Removes the payload index on `field`; returns whether there was one. Filters on the
    /// field keep working (by reading payloads).
    pub fn drop_payload_index(&self, field: &str) -> Result<bool> {
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let mut list = payload_index::declared(&snap.read, &state.record)?;
            let before = list.len();
            list.retain(|i| i.field != field);
            if list.len() == before {
                return Ok((false, Vec::new()));
            }
            batch.clear_field(&state.record, field)?;
            batch.put_setting(
                &state.record,
                payload_index::SETTING_KEY,
                &payload_index::encode(&list)?,
            )?;
            Ok((true, Vec::new()))
        })
    }

    /// The declared payload indexes, in creation order.
    pub fn payload_indexes(&self) -> Result<Vec<PayloadIndex>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        payload_index::declared(&snap.read, &state.record)
    }

    /// How many records match `filter`.
    pub fn count_where(&self, filter: &Filter) -> Result<u64> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        Ok(allowed_rows(&snap.read, state, filter)?.len() as u64)
    }

    /// Up to `limit` records matching `filter`, oldest first (insertion order).
    pub fn get_where(&self, filter: &Filter, limit: usize) -> Result<Vec<Record>> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        kinds::expect(
            &self.name,
            state.kind.kind(),
            CollectionKind::Vectors,
            "get_where",
        )?;
        let rows = allowed_rows(&snap.read, state, filter)?;
        let reader = snap.read.row_reader(&state.record)?;
        rows.iter()
            .take(limit)
            .map(|row| {
                let id = reader
                    .id(row)?
                    .ok_or_else(|| Error::corrupted(format!("row {row} has no id")))?;
                let Owned::Vector(vector) = state.kind.get(state.at(&snap.read), row)? else {
                    return Err(Error::corrupted(format!("record '{id}' has no vector")));
                };
                Ok(Record {
                    vector,
                    payload: parse_payload(row, reader.payload(row)?)?,
                    text: reader.text(row)?,
                    id,
                })
            })
            .collect()
    }

    /// Deletes every record matching `filter`, in one transaction (evaluated on the latest
    /// commit, with writes excluded meanwhile); returns how many.
    pub fn delete_where(&self, filter: &Filter) -> Result<usize> {
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let rows = allowed_rows(&snap.read, state, filter)?;
            let reader = snap.read.row_reader(&state.record)?;
            let ids = rows
                .iter()
                .map(|row| {
                    reader
                        .id(row)?
                        .ok_or_else(|| Error::corrupted(format!("row {row} has no id")))
                })
                .collect::<Result<Vec<String>>>()?;
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            self.delete_in(batch, snap, &ids)
        })
    }
}
