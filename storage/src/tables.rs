//! Table definitions. Names and key/value types are part of the file format: redb stores the
//! type names with each table and refuses a mismatch.

use redb::TableDefinition;

/// Database-wide settings: the header (magic + version) and counters.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("quiver.meta");
/// Collection name -> catalog record.
pub const CATALOG: TableDefinition<&str, &[u8]> = TableDefinition::new("quiver.catalog");

/// The tables of one collection, named after its id (not its name, so a dropped and
/// re-created collection never sees old data).
pub struct CollectionTables {
    pub ids: String,
    pub keys: String,
    pub vectors: String,
    pub payloads: String,
    pub index: String,
    pub postings: String,
    pub texts: String,
    pub settings: String,
    pub fields: String,
    pub matrices: String,
    pub text_postings: String,
    pub text_lengths: String,
    pub changes: String,
}

impl CollectionTables {
    pub fn of(collection_id: u64) -> Self {
        let p = format!("c{collection_id:016x}");
        CollectionTables {
            ids: format!("{p}.ids"),
            keys: format!("{p}.keys"),
            vectors: format!("{p}.vectors"),
            payloads: format!("{p}.payloads"),
            index: format!("{p}.index"),
            postings: format!("{p}.postings"),
            texts: format!("{p}.texts"),
            settings: format!("{p}.settings"),
            fields: format!("{p}.fields"),
            matrices: format!("{p}.matrices"),
            text_postings: format!("{p}.text_postings"),
            text_lengths: format!("{p}.text_lengths"),
            changes: format!("{p}.changes"),
        }
    }

    /// External id (UTF-8) -> row id (u64 LE), sealed under the id (see `seal`).
    pub fn ids(&self) -> TableDefinition<'_, &'static str, &'static [u8]> {
        TableDefinition::new(&self.ids)
    }

    /// Row id -> external id (UTF-8), sealed under the row.
    pub fn keys(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.keys)
    }

    /// Block number -> a block of vectors (see `blocks`).
    pub fn vectors(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.vectors)
    }

    /// Approximate-index metadata: header, centroids, codebooks (see `index_store`).
    pub fn index(&self) -> TableDefinition<'_, &'static str, &'static [u8]> {
        TableDefinition::new(&self.index)
    }

    /// Row id -> the row's IVF cell and PQ code.
    pub fn postings(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.postings)
    }

    /// Row id -> encoded source text (only rows inserted as text; see `codec::encode_text`).
    pub fn texts(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.texts)
    }

    /// Collection settings fixed at creation, e.g. the pinned embedding model (engine-defined
    /// keys and values).
    pub fn settings(&self) -> TableDefinition<'_, &'static str, &'static [u8]> {
        TableDefinition::new(&self.settings)
    }

    /// Payload-index entries (see `fields`): all in the key; the value is the key's
    /// `seal::key_checksum`.
    pub fn fields(&self) -> TableDefinition<'_, &'static [u8], u32> {
        TableDefinition::new(&self.fields)
    }

    /// Row id -> token matrix (multi-vector collections; see `codec::matrix_token_count`).
    pub fn matrices(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.matrices)
    }

    /// Full-text postings blocks (see `text_postings`): term and first row -> block.
    pub fn text_postings(&self) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
        TableDefinition::new(&self.text_postings)
    }

    /// Row id -> the row's length in terms, u32 LE sealed under the row (every row the
    /// full-text index reads text from, also those whose text has no terms).
    pub fn text_lengths(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.text_lengths)
    }

    /// Commit counter -> the rows that commit changed in this collection (see `commits`).
    pub fn changes(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.changes)
    }

    /// Row id -> encoded payload (only rows that have one).
    pub fn payloads(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.payloads)
    }
}
