//! Text in, text out: collections that embed with their pinned model.

use crate::collection::Collection;
use crate::embed::{self, Embedder, ModelIdentity, StoredEmbedder};
use crate::error::{Error, Result};
use crate::multi::{MultiRecord, MultiSearchRequest};
use crate::search::{Hit, Record, SearchRequest, TextRecord};
use crate::validate;
use std::sync::Arc;

impl Collection {
    /// The identity of the model this collection is pinned to, if it has one.
    pub fn model(&self) -> Result<Option<ModelIdentity>> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        Ok(state.embedder(&snap.read)?.map(|e| e.identity))
    }

    /// The collection's embedder. A model loaded from a folder is loaded again from there on
    /// first use after reopening (and refused with [`Error::ModelMismatch`] if the folder now
    /// holds a different model); an application's own embedder must be attached again with
    /// [`Collection::attach_embedder`].
    pub fn embedder(&self) -> Result<Arc<dyn Embedder>> {
        let (id, pinned) = self.pinned()?;
        self.db.inner.models.get(&self.name, id, &pinned)
    }

    /// Makes `embedder` serve this collection (e.g. after reopening a database whose
    /// collection uses an application-defined embedder). Its identity must equal the pinned
    /// one.
    pub fn attach_embedder(&self, embedder: Arc<dyn Embedder>) -> Result<()> {
        let (id, pinned) = self.pinned()?;
        self.db
            .inner
            .models
            .attach(&self.name, id, &pinned, embedder)
    }

    fn is_multi_vector(&self) -> Result<bool> {
        let snap = self.db.snapshot();
        Ok(snap.collection(&self.name)?.record.is_multi_vector())
    }

    /// The collection's id and pinned model; `NoEmbedder` for a plain vector collection.
    fn pinned(&self) -> Result<(u64, StoredEmbedder)> {
        let snap = self.db.snapshot();
        let state = snap.collection(&self.name)?;
        let pinned = state
            .embedder(&snap.read)?
            .ok_or_else(|| Error::NoEmbedder {
                collection: self.name.clone(),
                reason: "it was created without a model (CollectionConfig::with_embedder)".into(),
            })?;
        Ok((state.record.id, pinned))
    }

    /// Embeds the texts with the collection's model and stores each record's vector, text
    /// (compressed) and payload, replacing records with the same id — one transaction, as
    /// [`Collection::upsert`]. Texts longer than the model's window are embedded from their
    /// first `max_tokens` tokens; the whole text is stored.
    pub fn upsert_texts(&self, records: &[TextRecord]) -> Result<()> {
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
        let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
        if self.is_multi_vector()? {
            let matrices = embedder.embed_document_tokens(&texts)?;
            check_output(embedder.as_ref(), matrices.len(), records.len())?;
            let records: Vec<MultiRecord> = records
                .iter()
                .zip(matrices)
                .map(|(r, vectors)| MultiRecord {
                    id: r.id.clone(),
                    vectors,
                    payload: r.payload.clone(),
                    text: Some(r.text.clone()),
                })
                .collect();
            return self.upsert_multi_records(&records, true);
        }
        let vectors = embedder.embed_documents(&texts)?;
        check_output(embedder.as_ref(), vectors.len(), records.len())?;
        let records: Vec<Record> = records
            .iter()
            .zip(vectors)
            .map(|(r, vector)| Record {
                id: r.id.clone(),
                vector,
                payload: r.payload.clone(),
                text: Some(r.text.clone()),
            })
            .collect();
        self.upsert_records(&records, true)
    }

    /// The `k` records closest to the query text, closest first.
    pub fn search_text(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        self.search_text_with(query, &SearchRequest::new(&[], k))
    }

    /// [`Collection::search_text`] with the options of `template` (k, payloads, vectors,
    /// exact, nprobe, refine); `template.vector` is ignored.
    ///
    /// In a multi-vector collection the query becomes a token matrix and `k`, `exact`,
    /// `nprobe`, `filter` and `include_payload` apply as in
    /// [`Collection::search_multi_text_with`].
    pub fn search_text_with(&self, query: &str, template: &SearchRequest<'_>) -> Result<Vec<Hit>> {
        embed::check_text(None, query)?;
        if self.is_multi_vector()? {
            let mut req = MultiSearchRequest::new(&[], template.k);
            req.exact = template.exact;
            req.nprobe = template.nprobe;
            req.filter = template.filter;
            req.include_payload = template.include_payload;
            return self.search_multi_text_with(query, &req);
        }
        let embedder = self.embedder()?;
        let vector = embedder.embed_query(query)?;
        let req = SearchRequest {
            vector: &vector,
            ..template.clone()
        };
        self.search_with(&req)
    }

    /// Searches a multi-vector collection with a text: the model turns it into a query
    /// matrix (ColBERT: `query_length` rows, `[MASK]`-expanded), scored by MaxSim with the
    /// options of `template` (`template.query` is ignored).
    pub fn search_multi_text_with(
        &self,
        query: &str,
        template: &MultiSearchRequest<'_>,
    ) -> Result<Vec<Hit>> {
        embed::check_text(None, query)?;
        let embedder = self.embedder()?;
        let matrix = embedder.embed_query_tokens(query)?;
        let req = MultiSearchRequest {
            query: &matrix,
            ..template.clone()
        };
        self.search_multi_with(&req)
    }

    /// Many text queries: embedded together (faster than one by one), then searched as a
    /// batch. Results are in query order.
    pub fn search_texts_with(
        &self,
        queries: &[&str],
        template: &SearchRequest<'_>,
    ) -> Result<Vec<Vec<Hit>>> {
        for q in queries {
            embed::check_text(None, q)?;
        }
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        if self.is_multi_vector()? {
            return queries
                .iter()
                .map(|q| self.search_text_with(q, template))
                .collect();
        }
        let embedder = self.embedder()?;
        let vectors = embedder.embed_queries(queries)?;
        check_output(embedder.as_ref(), vectors.len(), queries.len())?;
        self.search_batch_with(&vectors, template)
    }
}

fn check_output(embedder: &dyn Embedder, got: usize, expected: usize) -> Result<()> {
    if got != expected {
        return Err(Error::Inference {
            detail: format!(
                "model {} returned {got} vectors for {expected} texts",
                embedder.identity().fingerprint()
            ),
        });
    }
    Ok(())
}
