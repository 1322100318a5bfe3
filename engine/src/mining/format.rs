//! Mined pairs as the rows trainers read: sentence-transformers' triplets, n-tuples and
//! labeled pairs, and FlagEmbedding's `{query, pos, neg}` JSON lines.

use super::{MinedPair, MiningReport, PairQuery, Scored};
use crate::error::{Error, Result};
use serde_json::{Map, Value, json};
use std::io::Write;

/// The shape of the rows (docs/mining.md shows one of each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MiningFormat {
    /// `{anchor, positive, negative}`: one row per positive and negative.
    #[default]
    Triplet,
    /// `{anchor, positive, negative_1, …, negative_n}`: one row per positive, only for
    /// pairs that found all n negatives (the others are counted in `MiningReport::short`).
    NTuple,
    /// `{anchor, passage, label}`: label 1 for each positive, 0 for each negative.
    Pairs,
    /// FlagEmbedding: `{query, pos: [...], neg: [...]}`, one row per pair.
    Flag,
}

impl MiningFormat {
    pub fn parse(name: &str) -> Result<MiningFormat> {
        Ok(match name {
            "triplet" => MiningFormat::Triplet,
            "ntuple" | "n-tuple" => MiningFormat::NTuple,
            "pairs" | "labeled-pair" => MiningFormat::Pairs,
            "flag" => MiningFormat::Flag,
            _ => {
                return Err(Error::InvalidParameter {
                    name: "format",
                    reason: format!("'{name}': triplet, ntuple, pairs or flag"),
                });
            }
        })
    }
}

/// How to write a [`MiningReport`]: the format, whether rows carry the teacher's scores
/// (`score`: positive first, then negatives; Flag: `pos_scores` / `neg_scores`), and whether
/// records appear as ids instead of their stored texts (collections without text always
/// give ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MiningOutput {
    pub format: MiningFormat,
    pub scores: bool,
    pub ids: bool,
}

impl MiningOutput {
    pub fn new(format: MiningFormat) -> Self {
        MiningOutput {
            format,
            scores: false,
            ids: false,
        }
    }

    pub fn scores(mut self, yes: bool) -> Self {
        self.scores = yes;
        self
    }

    pub fn ids(mut self, yes: bool) -> Self {
        self.ids = yes;
        self
    }
}

impl MiningReport {
    /// The rows of `out.format`, in pair order.
    pub fn rows(&self, out: &MiningOutput) -> Vec<Value> {
        let mut rows = Vec::new();
        for p in &self.pairs {
            rows_of(p, out, self.num_negatives, &mut rows);
        }
        rows
    }

    /// Writes [`MiningReport::rows`] as JSON lines; returns the number of rows.
    pub fn write_jsonl(&self, out: &MiningOutput, mut w: impl Write) -> Result<u64> {
        let mut n = 0;
        for row in self.rows(out) {
            serde_json::to_writer(&mut w, &row).map_err(|e| Error::Io { source: e.into() })?;
            w.write_all(b"\n").map_err(|source| Error::Io { source })?;
            n += 1;
        }
        Ok(n)
    }
}

fn rows_of(p: &MinedPair, out: &MiningOutput, n: usize, rows: &mut Vec<Value>) {
    let anchor = match &p.query {
        PairQuery::Text(t) => json!(t),
        PairQuery::Vector(v) => json!(v),
    };
    let doc = |s: &Scored| -> Value {
        match (&s.text, out.ids) {
            (Some(t), false) => json!(t),
            _ => json!(s.id),
        }
    };
    let score = |s: &Scored| -> Value { json!(s.score) };
    match out.format {
        MiningFormat::Triplet => {
            for pos in &p.positives {
                for neg in &p.negatives {
                    let mut row =
                        json!({"anchor": anchor, "positive": doc(pos), "negative": doc(neg)});
                    if out.scores {
                        row["score"] = json!([score(pos), score(neg)]);
                    }
                    rows.push(row);
                }
            }
        }
        MiningFormat::NTuple => {
            if p.negatives.len() < n {
                return;
            }
            for pos in &p.positives {
                let mut row = Map::new();
                row.insert("anchor".into(), anchor.clone());
                row.insert("positive".into(), doc(pos));
                for (i, neg) in p.negatives.iter().enumerate() {
                    row.insert(format!("negative_{}", i + 1), doc(neg));
                }
                if out.scores {
                    let all: Vec<Value> = std::iter::once(pos)
                        .chain(&p.negatives)
                        .map(score)
                        .collect();
                    row.insert("score".into(), Value::Array(all));
                }
                rows.push(Value::Object(row));
            }
        }
        MiningFormat::Pairs => {
            let labelled = p
                .positives
                .iter()
                .map(|s| (s, 1))
                .chain(p.negatives.iter().map(|s| (s, 0)));
            for (s, label) in labelled {
                let mut row = json!({"anchor": anchor, "passage": doc(s), "label": label});
                if out.scores {
                    row["score"] = score(s);
                }
                rows.push(row);
            }
        }
        MiningFormat::Flag => {
            let mut row = json!({
                "query": anchor,
                "pos": p.positives.iter().map(doc).collect::<Vec<_>>(),
                "neg": p.negatives.iter().map(doc).collect::<Vec<_>>(),
            });
            if out.scores {
                row["pos_scores"] = p.positives.iter().map(score).collect();
                row["neg_scores"] = p.negatives.iter().map(score).collect();
            }
            rows.push(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Teacher;
    use super::*;

    fn scored(id: &str, text: Option<&str>, score: f32) -> Scored {
        Scored {
            id: id.into(),
            score,
            text: text.map(Into::into),
            teacher: Teacher::Dense,
        }
    }

    fn report() -> MiningReport {
        MiningReport {
            pairs: vec![
                MinedPair {
                    pair: 0,
                    query: PairQuery::Text("q".into()),
                    positives: vec![scored("p", Some("P"), 0.75)],
                    negatives: vec![scored("a", Some("A"), 0.5), scored("b", None, 0.25)],
                },
                MinedPair {
                    pair: 1,
                    query: PairQuery::Vector(vec![1.0, 0.0]),
                    positives: vec![scored("p2", None, 0.5)],
                    negatives: vec![scored("c", None, 0.25)],
                },
            ],
            num_negatives: 2,
            ..MiningReport::default()
        }
    }

    #[test]
    fn each_format_writes_the_rows_trainers_read() {
        let r = report();
        let t = r.rows(&MiningOutput::new(MiningFormat::Triplet).scores(true));
        assert_eq!(t.len(), 3);
        assert_eq!(
            t[0],
            json!({"anchor": "q", "positive": "P", "negative": "A", "score": [0.75, 0.5]})
        );
        assert_eq!(t[1]["negative"], "b", "no text: the id");
        assert_eq!(t[2]["anchor"], json!([1.0, 0.0]));
        let n = r.rows(&MiningOutput::new(MiningFormat::NTuple));
        assert_eq!(
            n,
            vec![json!({"anchor": "q", "positive": "P", "negative_1": "A", "negative_2": "b"})],
            "the pair with one negative of two is left out"
        );
        let p = r.rows(&MiningOutput::new(MiningFormat::Pairs).ids(true));
        let labels: Vec<(&str, i64)> = p
            .iter()
            .map(|r| (r["passage"].as_str().unwrap(), r["label"].as_i64().unwrap()))
            .collect();
        assert_eq!(labels, [("p", 1), ("a", 0), ("b", 0), ("p2", 1), ("c", 0)]);
        let f = r.rows(&MiningOutput::new(MiningFormat::Flag).scores(true));
        assert_eq!(
            f[0],
            json!({"query": "q", "pos": ["P"], "neg": ["A", "b"], "pos_scores": [0.75], "neg_scores": [0.5, 0.25]})
        );
        let mut out = Vec::new();
        assert_eq!(
            r.write_jsonl(&MiningOutput::new(MiningFormat::Flag), &mut out)
                .unwrap(),
            2
        );
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
        assert!(MiningFormat::parse("csv").is_err());
    }
}
