//! What a full-text index is declared with, pinned in the collection's settings as JSON
//! (`text_index`), and its statistics (`text_stats`: indexed rows u64 LE, their total
//! length in terms u64 LE).

use crate::error::{Error, Result};
use crate::filter::FieldPath;
use quiver_index::text::{AnalyzerConfig, Bm25Params, CorpusStats, Stemming, StopWords};
use quiver_storage::{CollectionRecord, ReadSnapshot, WriteBatch};
use serde::{Deserialize, Serialize};

pub(crate) const SETTING_KEY: &str = "text_index";
pub(crate) const STATS_KEY: &str = "text_stats";
/// The analyzer's version: what its steps are (docs/full-text.md). A file that names a
/// newer one is refused rather than searched with different tokens.
const ANALYZER_VERSION: u32 = 1;

/// How to build a collection's full-text index.
///
/// ```
/// use quiver::{Stemming, TextIndexParams};
/// let over_text = TextIndexParams::text(); // the records' stored text (text collections)
/// let over_fields = TextIndexParams::fields(["title", "body"]).stemming(Stemming::None).k1(1.5);
/// assert_eq!(over_fields.b, 0.75);
/// ```
///
/// Defaults: English stop words (Lucene's 33), Snowball English stemming, k1 = 1.2,
/// b = 0.75.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TextIndexParams {
    /// Dotted payload field paths whose string values (or arrays of strings) are indexed,
    /// together as one text; empty: the record's stored text.
    pub fields: Vec<String>,
    pub stemming: Stemming,
    pub stop_words: StopWords,
    pub k1: f64,
    pub b: f64,
}

impl TextIndexParams {
    /// An index over the records' stored text (records upserted as text).
    pub fn text() -> Self {
        TextIndexParams {
            fields: Vec::new(),
            stemming: Stemming::English,
            stop_words: StopWords::English,
            k1: 1.2,
            b: 0.75,
        }
    }

    /// An index over string payload fields.
    pub fn fields<S: Into<String>>(fields: impl IntoIterator<Item = S>) -> Self {
        TextIndexParams {
            fields: fields.into_iter().map(Into::into).collect(),
            ..TextIndexParams::text()
        }
    }

    pub fn stemming(mut self, stemming: Stemming) -> Self {
        self.stemming = stemming;
        self
    }

    pub fn stop_words(mut self, stop_words: StopWords) -> Self {
        self.stop_words = stop_words;
        self
    }

    pub fn k1(mut self, k1: f64) -> Self {
        self.k1 = k1;
        self
    }

    pub fn b(mut self, b: f64) -> Self {
        self.b = b;
        self
    }

    pub(crate) fn analyzer(&self) -> AnalyzerConfig {
        AnalyzerConfig {
            stemming: self.stemming,
            stop_words: self.stop_words,
        }
    }

    pub(crate) fn bm25(&self) -> Bm25Params {
        Bm25Params {
            k1: self.k1,
            b: self.b,
        }
    }

    pub(crate) fn paths(&self) -> Result<Vec<FieldPath>> {
        self.fields
            .iter()
            .map(|f| {
                FieldPath::new(f).map_err(|reason| Error::InvalidParameter {
                    name: "text index field",
                    reason,
                })
            })
            .collect()
    }

    pub(crate) fn validate(&self) -> Result<()> {
        self.paths()?;
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = self.fields.iter().find(|f| !seen.insert(f.as_str())) {
            return Err(Error::InvalidParameter {
                name: "text index field",
                reason: format!("'{dup}' is named twice"),
            });
        }
        if !(self.k1.is_finite() && self.k1 >= 0.0 && self.k1 <= 1000.0) {
            return Err(Error::InvalidParameter {
                name: "k1",
                reason: format!("{} is not within 0..=1000", self.k1),
            });
        }
        if !(self.b.is_finite() && (0.0..=1.0).contains(&self.b)) {
            return Err(Error::InvalidParameter {
                name: "b",
                reason: format!("{} is not within 0..=1", self.b),
            });
        }
        Ok(())
    }
}

/// A full-text index as `Collection::text_index` reports it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TextIndexInfo {
    pub params: TextIndexParams,
    /// Records with something to index (a text, or a string in an indexed field), even if it
    /// analyses to no terms: N in BM25's idf.
    pub rows: u64,
    /// Their mean length in terms.
    pub avg_len: f64,
    /// Postings blocks stored, and their bytes.
    pub blocks: u64,
    pub bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    analyzer_version: u32,
    fields: Vec<String>,
    stemming: String,
    stop_words: String,
    k1: f64,
    b: f64,
}

/// The names settings, the CLI and `info` use for the analyzer's choices: `english`, `none`.
impl TextIndexParams {
    pub fn stemming_name(&self) -> &'static str {
        match self.stemming {
            Stemming::English => "english",
            _ => "none",
        }
    }

    pub fn stop_words_name(&self) -> &'static str {
        match self.stop_words {
            StopWords::English => "english",
            _ => "none",
        }
    }

    /// `english` or `none`.
    pub fn parse_stemming(name: &str) -> Option<Stemming> {
        match name {
            "english" => Some(Stemming::English),
            "none" => Some(Stemming::None),
            _ => None,
        }
    }

    /// `english` or `none`.
    pub fn parse_stop_words(name: &str) -> Option<StopWords> {
        match name {
            "english" => Some(StopWords::English),
            "none" => Some(StopWords::None),
            _ => None,
        }
    }
}

pub(crate) fn encode(params: &TextIndexParams) -> Result<Vec<u8>> {
    serde_json::to_vec(&Stored {
        analyzer_version: ANALYZER_VERSION,
        fields: params.fields.clone(),
        stemming: params.stemming_name().into(),
        stop_words: params.stop_words_name().into(),
        k1: params.k1,
        b: params.b,
    })
    .map_err(|e| Error::Internal {
        detail: format!("text index settings: {e}"),
    })
}

/// The collection's full-text index, if it has one.
pub(crate) fn declared(
    read: &ReadSnapshot,
    record: &CollectionRecord,
) -> Result<Option<TextIndexParams>> {
    let Some(bytes) = read.setting(record, SETTING_KEY)? else {
        return Ok(None);
    };
    let bad = |why: String| Error::corrupted(format!("text index of '{}': {why}", record.name));
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if stored.analyzer_version > ANALYZER_VERSION {
        return Err(Error::UnsupportedVersion {
            found: stored.analyzer_version,
            supported: ANALYZER_VERSION,
        });
    }
    let params = TextIndexParams {
        fields: stored.fields,
        stemming: TextIndexParams::parse_stemming(&stored.stemming)
            .ok_or_else(|| bad(format!("stemming '{}'", stored.stemming)))?,
        stop_words: TextIndexParams::parse_stop_words(&stored.stop_words)
            .ok_or_else(|| bad(format!("stop words '{}'", stored.stop_words)))?,
        k1: stored.k1,
        b: stored.b,
    };
    params.validate().map_err(|e| bad(e.to_string()))?;
    Ok(Some(params))
}

pub(crate) fn stats(read: &ReadSnapshot, record: &CollectionRecord) -> Result<CorpusStats> {
    match read.setting(record, STATS_KEY)? {
        None => Ok(CorpusStats::default()),
        Some(bytes) if bytes.len() == 16 => {
            let rows = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
            let total_len = u64::from_le_bytes(bytes[8..].try_into().unwrap_or_default());
            Ok(CorpusStats { rows, total_len })
        }
        Some(bytes) => Err(Error::corrupted(format!(
            "text index statistics of '{}': {} bytes",
            record.name,
            bytes.len()
        ))),
    }
}

pub(crate) fn put_stats(
    batch: &mut WriteBatch,
    record: &CollectionRecord,
    stats: CorpusStats,
) -> Result<()> {
    let mut bytes = stats.rows.to_le_bytes().to_vec();
    bytes.extend_from_slice(&stats.total_len.to_le_bytes());
    batch.put_setting(record, STATS_KEY, &bytes)?;
    Ok(())
}
