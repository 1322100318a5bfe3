//! Records of every kind, and the one write path for them: [`Collection::upsert`] and
//! [`Collection::delete`].

use super::Collection;
use crate::db::snapshot::{Change, Snapshot, Touched};
use crate::embed;
use crate::error::{Error, Result};
use crate::filter;
use crate::fulltext::{self, TextPut};
use crate::kinds::{self, CollectionKind, Data, Owned, Prepared};
use crate::validate;
use quiver_storage::{PutRecord, WriteBatch};
use serde_json::Value;

/// A one-vector record: stored (as given to `upsert`) or read back (as `get` returns it).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Record {
    pub id: String,
    pub vector: Vec<f32>,
    /// A JSON object, or `None`.
    pub payload: Option<Value>,
    /// The text the vector was computed from, for records inserted as text
    /// ([`Records::Texts`]); ignored when upserting vectors, which store none.
    pub text: Option<String>,
}

impl Record {
    pub fn new(id: impl Into<String>, vector: Vec<f32>) -> Self {
        Record {
            id: id.into(),
            vector,
            payload: None,
            text: None,
        }
    }

    /// A JSON object (or `None`: no payload).
    pub fn with_payload(mut self, payload: impl Into<Option<Value>>) -> Self {
        self.payload = payload.into();
        self
    }
}

/// A multi-vector record: an id, a matrix of token vectors (one `Vec` per token, each of the
/// collection's dimension), an optional JSON-object payload and source text.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MultiRecord {
    pub id: String,
    pub vectors: Vec<Vec<f32>>,
    pub payload: Option<Value>,
    /// The text the matrix was computed from (text collections; ignored when upserting
    /// matrices).
    pub text: Option<String>,
}

impl MultiRecord {
    pub fn new(id: impl Into<String>, vectors: Vec<Vec<f32>>) -> Self {
        MultiRecord {
            id: id.into(),
            vectors,
            payload: None,
            text: None,
        }
    }

    /// A JSON object (or `None`: no payload).
    pub fn with_payload(mut self, payload: impl Into<Option<Value>>) -> Self {
        self.payload = payload.into();
        self
    }
}

/// A record to embed with the collection's model and store.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TextRecord {
    pub id: String,
    pub text: String,
    /// A JSON object, or `None`.
    pub payload: Option<Value>,
}

impl TextRecord {
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        TextRecord {
            id: id.into(),
            text: text.into(),
            payload: None,
        }
    }

    /// A JSON object (or `None`: no payload).
    pub fn with_payload(mut self, payload: impl Into<Option<Value>>) -> Self {
        self.payload = payload.into();
        self
    }
}

/// A batch for [`Collection::upsert`]: converts from slices (and `Vec`s, arrays) of any
/// record type.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Records<'a> {
    /// One vector each (one-vector collections).
    Vectors(&'a [Record]),
    /// A token matrix each (multi-vector collections).
    Matrices(&'a [MultiRecord]),
    /// Texts, embedded with the collection's pinned model into what it stores; the text is
    /// stored too.
    Texts(&'a [TextRecord]),
    /// One-vector records as columns, the vectors borrowed in place (bindings hand over a
    /// NumPy array or a C buffer without copying it).
    Columns(VectorColumns<'a>),
}

/// One-vector records as columns: `vectors` holds `ids.len()` rows of the collection's
/// dimension, row-major; `payloads`, when given, one entry per id.
#[derive(Clone, Copy, Debug)]
pub struct VectorColumns<'a> {
    pub ids: &'a [String],
    pub vectors: &'a [f32],
    pub payloads: Option<&'a [Option<Value>]>,
}

impl<'a> From<VectorColumns<'a>> for Records<'a> {
    fn from(c: VectorColumns<'a>) -> Self {
        Records::Columns(c)
    }
}

macro_rules! records_from {
    ($record:ty => $variant:ident) => {
        impl<'a> From<&'a [$record]> for Records<'a> {
            fn from(r: &'a [$record]) -> Self {
                Records::$variant(r)
            }
        }
        impl<'a> From<&'a Vec<$record>> for Records<'a> {
            fn from(r: &'a Vec<$record>) -> Self {
                Records::$variant(r)
            }
        }
        impl<'a, const N: usize> From<&'a [$record; N]> for Records<'a> {
            fn from(r: &'a [$record; N]) -> Self {
                Records::$variant(r)
            }
        }
    };
}

records_from!(Record => Vectors);
records_from!(MultiRecord => Matrices);
records_from!(TextRecord => Texts);

/// One record of a batch, whatever its type.
struct Row<'a> {
    id: &'a str,
    data: Data<'a>,
    payload: Option<&'a Value>,
    /// Stored with the record (text writes only).
    text: Option<&'a str>,
}

impl Collection {
    /// Inserts records, replacing any with the same id (data and payload both; a record
    /// without payload removes the old payload, and a record not written as text loses its
    /// stored text). The batch is one transaction: when this returns `Ok`, all of it is
    /// durable; when it returns `Err`, none of it was written. Within a batch, a later
    /// record with the same id wins.
    ///
    /// Bad input is refused before anything is written: ids, payloads, dimensions,
    /// non-finite components, (multi-vector) empty matrices or more than
    /// [`crate::limits::MAX_TOKENS`] tokens, records of the other kind of collection.
    /// Texts ([`Records::Texts`]) are embedded before the writer lock is taken (embedding is
    /// slow; other threads' writes are not held up); texts longer than the model's window
    /// are embedded from their first `max_tokens` tokens, and the whole text is stored.
    pub fn upsert<'a>(&self, records: impl Into<Records<'a>>) -> Result<()> {
        match records.into() {
            Records::Vectors(records) => {
                let rows: Vec<Row<'_>> = records
                    .iter()
                    .map(|r| Row {
                        id: &r.id,
                        data: Data::Vector(&r.vector),
                        payload: r.payload.as_ref(),
                        text: None,
                    })
                    .collect();
                self.write_rows(&rows, CollectionKind::Vectors)
            }
            Records::Matrices(records) => {
                let rows: Vec<Row<'_>> = records
                    .iter()
                    .map(|r| Row {
                        id: &r.id,
                        data: Data::Matrix(&r.vectors),
                        payload: r.payload.as_ref(),
                        text: None,
                    })
                    .collect();
                self.write_rows(&rows, CollectionKind::MultiVector)
            }
            Records::Texts(records) => self.upsert_texts_now(records),
            Records::Columns(c) => {
                let n = c.ids.len();
                if c.payloads.is_some_and(|p| p.len() != n) {
                    return Err(Error::InvalidParameter {
                        name: "payloads",
                        reason: format!(
                            "{} payloads for {n} ids",
                            c.payloads.map_or(0, <[_]>::len)
                        ),
                    });
                }
                if n == 0 {
                    return match c.vectors.is_empty() {
                        true => Ok(()),
                        false => Err(Error::InvalidParameter {
                            name: "vectors",
                            reason: format!("{} components for no ids", c.vectors.len()),
                        }),
                    };
                }
                // Rows of the collection's dimension: a length that does not split evenly
                // is a dimension mismatch on the first row, as separate records would give.
                let dim = self.info()?.dim;
                if c.vectors.len() != n * dim {
                    return Err(Error::DimensionMismatch {
                        expected: dim,
                        found: c.vectors.len() / n,
                        position: Some(0),
                    });
                }
                let rows: Vec<Row<'_>> = c
                    .ids
                    .iter()
                    .zip(c.vectors.chunks_exact(dim))
                    .enumerate()
                    .map(|(i, (id, v))| Row {
                        id,
                        data: Data::Vector(v),
                        payload: c.payloads.and_then(|p| p[i].as_ref()),
                        text: None,
                    })
                    .collect();
                self.write_rows(&rows, CollectionKind::Vectors)
            }
        }
    }

    fn upsert_texts_now(&self, records: &[TextRecord]) -> Result<()> {
        for (position, r) in records.iter().enumerate() {
            validate::id(position, &r.id)?;
            embed::check_text(Some(position), &r.text)?;
            if let Some(p) = &r.payload {
                validate::payload(position, p)?;
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        let embedder = self.embedder()?;
        let kind = {
            let snap = self.db.snapshot()?;
            snap.collection(&self.name)?.kind.clone()
        };
        let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
        let embedded: Vec<Owned> = kind.embed_documents(embedder.as_ref(), &texts)?;
        let rows: Vec<Row<'_>> = records
            .iter()
            .zip(&embedded)
            .map(|(r, data)| Row {
                id: &r.id,
                data: data.as_data(),
                payload: r.payload.as_ref(),
                text: Some(&r.text),
            })
            .collect();
        self.write_rows(&rows, kind.kind())
    }

    /// Validates `rows` (all of kind `kind`), then writes them in one transaction.
    fn write_rows(&self, rows: &[Row<'_>], kind: CollectionKind) -> Result<()> {
        let snap = self.db.snapshot()?;
        let state = snap.collection(&self.name)?;
        let operation = match kind {
            CollectionKind::MultiVector => "records with token matrices",
            _ => "records with one vector",
        };
        kinds::expect(&self.name, state.kind.kind(), kind, operation)?;
        let collection_id = state.record.id;
        let mut payloads = Vec::with_capacity(rows.len());
        for (position, r) in rows.iter().enumerate() {
            validate::id(position, r.id)?;
            payloads.push(
                r.payload
                    .map(|p| validate::payload(position, p))
                    .transpose()?,
            );
        }
        let data: Vec<Data<'_>> = rows.iter().map(|r| r.data).collect();
        let prepared = state.kind.prepare(&data)?;
        if rows.is_empty() {
            return Ok(());
        }
        drop(snap);
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            if state.record.id != collection_id {
                // Dropped and re-created since validation (and embedding).
                return Err(Error::CollectionNotFound {
                    name: self.name.clone(),
                });
            }
            let changes = self.put_rows_in(batch, snap, rows, &payloads, prepared)?;
            Ok(((), changes))
        })
    }

    /// Writes validated, prepared rows inside a write transaction: records, payload and
    /// full-text indexes, the kind's data and index.
    fn put_rows_in(
        &self,
        batch: &mut WriteBatch,
        snap: &Snapshot,
        rows: &[Row<'_>],
        payloads: &[Option<Vec<u8>>],
        prepared: Prepared,
    ) -> Result<Vec<Change>> {
        let state = snap.collection(&self.name)?;
        let mut record = state.record.clone();
        let puts: Vec<PutRecord<'_>> = rows
            .iter()
            .zip(&prepared.stored)
            .zip(payloads)
            .map(|((r, stored), payload)| PutRecord {
                id: r.id,
                vector: stored,
                payload: payload.as_deref(),
                text: r.text.map(str::as_bytes),
            })
            .collect();
        let outcomes = batch.put_many(&mut record, &puts)?;
        batch.save_collection(&record)?;
        let indexed: Vec<_> = outcomes
            .iter()
            .zip(rows)
            .enumerate()
            .map(|(position, (o, r))| (position, o.row, o.replaced, r.payload))
            .collect();
        filter::index_puts(batch, snap, state, &indexed)?;
        let text_puts: Vec<TextPut<'_>> = outcomes
            .iter()
            .zip(rows)
            .enumerate()
            .map(|(position, (o, r))| TextPut {
                position,
                row: o.row,
                replaced: o.replaced,
                payload: r.payload,
                text: r.text,
            })
            .collect();
        fulltext::index_puts(batch, snap, state, &text_puts)?;
        let put_rows: Vec<u64> = outcomes.iter().map(|o| o.row).collect();
        let kind = state
            .kind
            .put(batch, state.at(&snap.read), &put_rows, prepared)?;
        let touched = Touched::Rows(put_rows);
        Ok(vec![Change::Updated {
            record,
            kind,
            touched,
        }])
    }

    /// Sets one top-level payload field of existing records, keeping their vectors, texts and
    /// other fields, all in one transaction (a record without a payload gets `{field:
    /// value}`). Ids the collection no longer holds are skipped; returns how many records
    /// were written. A record whose new payload is refused (too large) fails the whole call,
    /// before anything is written.
    pub fn set_payload_field(&self, field: &str, values: &[(&str, Value)]) -> Result<usize> {
        if field.is_empty() {
            return Err(Error::InvalidParameter {
                name: "field",
                reason: "an empty field name".into(),
            });
        }
        {
            let snap = self.db.snapshot()?;
            let state = snap.collection(&self.name)?;
            kinds::expect(
                &self.name,
                state.kind.kind(),
                CollectionKind::Vectors,
                "setting payload fields",
            )?;
        }
        self.db.write(|batch, snap| {
            let state = snap.collection(&self.name)?;
            let at = state.at(&snap.read);
            // Read back inside the write transaction: what is rewritten is exactly what the
            // commit before holds, whatever other writers did since the caller looked.
            let mut owned: Vec<(&str, Owned, Value, Option<String>)> =
                Vec::with_capacity(values.len());
            for (id, value) in values {
                let Some(row) = snap.read.row_of(&state.record, id)? else {
                    continue;
                };
                let data = state.kind.get(at, row)?;
                let mut payload =
                    super::parse_payload(row, snap.read.payload(&state.record, row)?)?
                        .unwrap_or_else(|| Value::Object(Default::default()));
                match payload.as_object_mut() {
                    Some(map) => {
                        map.insert(field.to_owned(), value.clone());
                    }
                    None => {
                        return Err(Error::corrupted(format!(
                            "row {row}'s payload is not an object"
                        )));
                    }
                }
                owned.push((id, data, payload, snap.read.text(&state.record, row)?));
            }
            let rows: Vec<Row<'_>> = owned
                .iter()
                .map(|(id, data, payload, text)| Row {
                    id,
                    data: data.as_data(),
                    payload: Some(payload),
                    text: text.as_deref(),
                })
                .collect();
            let payloads = rows
                .iter()
                .enumerate()
                .map(|(position, r)| {
                    r.payload
                        .map(|p| validate::payload(position, p))
                        .transpose()
                })
                .collect::<Result<Vec<_>>>()?;
            if rows.is_empty() {
                return Ok((0, Vec::new()));
            }
            let data: Vec<Data<'_>> = rows.iter().map(|r| r.data).collect();
            let prepared = state.kind.prepare(&data)?;
            let changes = self.put_rows_in(batch, snap, &rows, &payloads, prepared)?;
            Ok((rows.len(), changes))
        })
    }

    /// Deletes records by id in one transaction; unknown ids are ignored. Returns how many
    /// records were deleted.
    pub fn delete(&self, ids: &[&str]) -> Result<usize> {
        self.db
            .write(|batch, snap| self.delete_in(batch, snap, ids))
    }

    /// `delete` inside a write transaction.
    pub(crate) fn delete_in(
        &self,
        batch: &mut WriteBatch,
        snap: &Snapshot,
        ids: &[&str],
    ) -> Result<(usize, Vec<Change>)> {
        let state = snap.collection(&self.name)?;
        let mut record = state.record.clone();
        let rows = batch.delete_many(&mut record, ids)?;
        let deletes: Vec<u64> = rows.into_iter().flatten().collect();
        filter::index_deletes(batch, snap, state, &deletes)?;
        fulltext::index_deletes(batch, snap, state, &deletes)?;
        if !deletes.is_empty() {
            batch.save_collection(&record)?;
        }
        let kind = state.kind.delete(batch, state.at(&snap.read), &deletes)?;
        let count = deletes.len();
        let touched = Touched::Rows(deletes);
        Ok((
            count,
            vec![Change::Updated {
                record,
                kind,
                touched,
            }],
        ))
    }
}
