//! A small retrieval evaluator (nDCG@k, recall@k) and a reader for the Cranfield collection
//! (`tests/fixtures/cranfield`). Written here because it is twenty lines of arithmetic; the
//! definitions follow trec_eval: linear gains, log2(rank + 1) discount, ideal ranking from
//! every judged-relevant document.

use std::collections::HashMap;
use std::path::Path;

/// Documents, queries and graded judgments of one test collection.
pub struct TestCollection {
    /// (document id, text).
    pub docs: Vec<(String, String)>,
    pub queries: Vec<String>,
    /// Per query (same order): relevant document id -> gain (> 0).
    pub qrels: Vec<HashMap<String, f64>>,
}

impl TestCollection {
    /// The documents that have a text (Cranfield has a few empty abstracts).
    pub fn docs_with_text(&self) -> Vec<(String, String)> {
        self.docs
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .cloned()
            .collect()
    }
}

/// Reads Cranfield: document text is the `.W` field; queries are numbered by position (the
/// `.I` numbers in `cran.qry` are not 1..225); judgment codes 1..4 give gain 5 − code, code
/// -1 means not relevant.
pub fn cranfield(dir: &Path) -> std::io::Result<TestCollection> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f));
    let docs: Vec<(String, String)> = records(&read("cran.all.1400")?)
        .into_iter()
        .map(|(id, fields)| (id, fields.get("W").cloned().unwrap_or_default()))
        .collect();
    let queries: Vec<String> = records(&read("cran.qry")?)
        .into_iter()
        .map(|(_, fields)| fields.get("W").cloned().unwrap_or_default())
        .collect();
    let mut qrels = vec![HashMap::new(); queries.len()];
    for line in read("cranqrel")?.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [q, d, code] = parts[..] else { continue };
        let (Ok(q), Ok(code)) = (q.parse::<usize>(), code.parse::<i32>()) else {
            continue;
        };
        if (1..=4).contains(&code) && (1..=queries.len()).contains(&q) {
            qrels[q - 1].insert(d.to_owned(), f64::from(5 - code));
        }
    }
    Ok(TestCollection {
        docs,
        queries,
        qrels,
    })
}

/// SMART-format records: `.I id`, then fields `.X` whose text runs to the next marker.
fn records(text: &str) -> Vec<(String, HashMap<String, String>)> {
    let mut out: Vec<(String, HashMap<String, String>)> = Vec::new();
    let mut field: Option<String> = None;
    for line in text.lines() {
        if let Some(id) = line.strip_prefix(".I ") {
            out.push((id.trim().to_owned(), HashMap::new()));
            field = None;
        } else if line.len() == 2 && line.starts_with('.') {
            field = Some(line[1..].to_owned());
        } else if let (Some(f), Some((_, fields))) = (&field, out.last_mut()) {
            let body = fields.entry(f.clone()).or_default();
            if !body.is_empty() {
                body.push(' ');
            }
            body.push_str(line.trim());
        }
    }
    for (_, fields) in &mut out {
        for v in fields.values_mut() {
            *v = v.trim().to_owned();
        }
    }
    out
}

/// nDCG@k of one ranking (document ids, best first).
pub fn ndcg_at(k: usize, ranking: &[String], gains: &HashMap<String, f64>) -> f64 {
    let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = ranking
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| gains.get(d).copied().unwrap_or(0.0) * discount(i))
        .sum();
    let mut ideal: Vec<f64> = gains.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| g * discount(i))
        .sum();
    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

/// Fraction of the relevant documents found in the first `k`.
pub fn recall_at(k: usize, ranking: &[String], gains: &HashMap<String, f64>) -> f64 {
    if gains.is_empty() {
        return 0.0;
    }
    let found = ranking
        .iter()
        .take(k)
        .filter(|d| gains.contains_key(*d))
        .count();
    found as f64 / gains.len() as f64
}

/// Mean nDCG@10 and recall@100 over the queries that have at least one relevant document.
pub fn evaluate(rankings: &[Vec<String>], qrels: &[HashMap<String, f64>]) -> (f64, f64, usize) {
    let judged: Vec<usize> = (0..qrels.len()).filter(|&q| !qrels[q].is_empty()).collect();
    let n = judged.len().max(1) as f64;
    let ndcg = judged
        .iter()
        .map(|&q| ndcg_at(10, &rankings[q], &qrels[q]))
        .sum::<f64>()
        / n;
    let recall = judged
        .iter()
        .map(|&q| recall_at(100, &rankings[q], &qrels[q]))
        .sum::<f64>()
        / n;
    (ndcg, recall, judged.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metrics_by_hand() {
        let gains: HashMap<String, f64> = [("a".to_string(), 3.0), ("b".to_string(), 1.0)].into();
        // Perfect order: nDCG 1.
        assert!((ndcg_at(10, &ids(&["a", "b", "x"]), &gains) - 1.0).abs() < 1e-12);
        // Swapped: (1 + 3/log2 3) / (3 + 1/log2 3).
        let l3 = 3f64.log2();
        let want = (1.0 + 3.0 / l3) / (3.0 + 1.0 / l3);
        assert!((ndcg_at(10, &ids(&["b", "a"]), &gains) - want).abs() < 1e-12);
        assert_eq!(ndcg_at(1, &ids(&["x", "a"]), &gains), 0.0);
        assert_eq!(recall_at(1, &ids(&["a", "b"]), &gains), 0.5);
        assert_eq!(recall_at(100, &ids(&["x"]), &gains), 0.0);
    }

    #[test]
    fn reads_cranfield() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cranfield");
        let c = cranfield(&dir).unwrap();
        assert_eq!(c.docs.len(), 1400);
        assert_eq!(c.queries.len(), 225);
        assert_eq!(c.docs[0].0, "1");
        assert!(
            c.docs[0]
                .1
                .starts_with("experimental investigation of the aerodynamics")
        );
        assert!(c.queries[0].starts_with("what similarity laws must be obeyed"));
        assert_eq!(c.qrels[0].get("184"), Some(&3.0));
        assert!(c.qrels.iter().filter(|q| !q.is_empty()).count() > 200);
    }
}
