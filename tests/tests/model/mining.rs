//! Hard-negative mining on Cranfield with the real model against sentence-transformers'
//! `util.mine_hard_negatives` (tests/fixtures/mining_reference, made by its generate.py),
//! and the false negatives that the positive-aware filters remove, counted with the qrels.

use super::{fixture, model};
use quiver::mining::{MiningPair, MiningRequest};
use quiver::{Collection, CollectionConfig, Database, TextRecord};
use quiver_tests::ir;
use serde_json::Value;
use std::sync::OnceLock;

/// Cranfield's abstracts embedded once for both tests (the embedding is what takes the
/// time): the temporary folder, the collection and the test data.
type Shared = (tempfile::TempDir, Collection, ir::TestCollection);

fn cranfield() -> &'static Shared {
    static CRANFIELD: OnceLock<Shared> = OnceLock::new();
    CRANFIELD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (c, data) = build(dir.path());
        (dir, c, data)
    })
}

fn build(dir: &std::path::Path) -> (Collection, ir::TestCollection) {
    let data = ir::cranfield(&fixture("cranfield")).unwrap();
    let db = Database::create(dir.join("mine.qvr")).unwrap();
    let c = db
        .create_collection("cran", CollectionConfig::with_embedder(model()))
        .unwrap();
    let records: Vec<TextRecord> = data
        .docs
        .iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(id, text)| TextRecord::new(id.clone(), text.clone()))
        .collect();
    for chunk in records.chunks(200) {
        c.upsert(chunk).unwrap();
    }
    (c, data)
}

fn f32_of(v: &Value) -> Option<f32> {
    v.as_f64().map(|x| x as f32)
}

fn request<'a>(pairs: &'a [MiningPair], params: &Value) -> MiningRequest<'a> {
    let mut r = MiningRequest::new(pairs);
    if let Some(n) = params["num_negatives"].as_u64() {
        r = r.num_negatives(n as usize);
    }
    if let Some(n) = params["range_min"].as_u64() {
        r = r.range_min(n as usize);
    }
    if let Some(n) = params["range_max"].as_u64() {
        r = r.range_max(n as usize);
    }
    r.absolute_margin = f32_of(&params["absolute_margin"]);
    r.relative_margin = f32_of(&params["relative_margin"]);
    r.max_score = f32_of(&params["max_score"]);
    r.min_score = f32_of(&params["min_score"]);
    r
}

/// The scores at which a rule of `params` flips for a query whose weakest positive scores
/// `weakest`: a candidate this close to one may fall either way under float rounding.
fn thresholds(params: &Value, weakest: f32) -> Vec<f32> {
    let mut t = Vec::new();
    if let Some(m) = f32_of(&params["absolute_margin"]) {
        t.push(weakest - m);
    }
    if let Some(m) = f32_of(&params["relative_margin"]) {
        t.push(weakest - weakest.abs() * m);
    }
    t.extend(f32_of(&params["max_score"]));
    t.extend(f32_of(&params["min_score"]));
    t
}

#[test]
fn mining_matches_sentence_transformers_on_cranfield() {
    let (_, c, _) = cranfield();
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("mining_reference/reference.json")).unwrap(),
    )
    .unwrap();
    for config in reference["configs"].as_array().unwrap() {
        let name = config["name"].as_str().unwrap();
        let params = &config["params"];
        let expected = config["pairs"].as_array().unwrap();
        let pairs: Vec<MiningPair> = expected
            .iter()
            .map(|p| {
                let ids = p["positives"].as_array().unwrap();
                MiningPair::text(
                    p["query"].as_str().unwrap(),
                    ids.iter().map(|i| i.as_str().unwrap().to_owned()),
                )
            })
            .collect();
        let report = c.mine_hard_negatives(&request(&pairs, params)).unwrap();
        let (mut same, mut near_ties) = (0, 0);
        for (p, (mined, want)) in report.pairs.iter().zip(expected).enumerate() {
            let got: Vec<&str> = mined.negatives.iter().map(|s| s.id.as_str()).collect();
            let theirs: Vec<&str> = want["negatives"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            for (s, w) in mined
                .positives
                .iter()
                .zip(want["positive_scores"].as_array().unwrap())
            {
                let w = f32_of(w).unwrap();
                assert!(
                    (s.score - w).abs() < 1e-4,
                    "{name} pair {p}: positive {} vs {w}",
                    s.score
                );
            }
            if got == theirs {
                same += 1;
                continue;
            }
            // Lists may part only where two candidates (or a candidate and a rule's
            // threshold) are within float noise of each other.
            let their_scores: Vec<f32> = want["negative_scores"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(f32_of)
                .collect();
            let at = got.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
            let weakest = mined
                .positives
                .iter()
                .map(|s| s.score)
                .fold(f32::INFINITY, f32::min);
            let mut near: Vec<f32> = thresholds(params, weakest);
            near.extend(their_scores.get(at).copied());
            near.extend(mined.negatives.get(at).map(|s| s.score));
            let ours = mined.negatives.get(at).map(|s| s.score);
            let theirs_at = their_scores.get(at).copied();
            let explained = [ours, theirs_at].into_iter().flatten().any(|s| {
                near.iter()
                    .any(|&t| (s - t).abs() < 2e-4 && (s != t || ours != theirs_at))
            });
            assert!(
                explained,
                "{name} pair {p}: ours {got:?} {:?}, sentence-transformers {theirs:?} {their_scores:?}",
                mined.negatives.iter().map(|s| s.score).collect::<Vec<_>>()
            );
            near_ties += 1;
            println!(
                "  {name} pair {p}: part at {at}: ours {:?}, theirs {:?}, thresholds {:?}",
                mined
                    .negatives
                    .iter()
                    .map(|s| (s.id.as_str(), s.score))
                    .collect::<Vec<_>>(),
                theirs.iter().zip(&their_scores).collect::<Vec<_>>(),
                thresholds(params, weakest)
            );
        }
        println!(
            "mining {name}: {same} of {} pairs identical to sentence-transformers, {near_ties} part at a near-tie",
            expected.len()
        );
        assert!(
            near_ties * 50 <= expected.len(),
            "{name}: {near_ties} near-ties of {}",
            expected.len()
        );
    }
}

#[test]
fn positive_aware_filters_cut_false_negatives_on_cranfield() {
    let (_, c, data) = cranfield();
    // Each judged query with its most relevant document as the positive; the other judged
    // documents are relevant too, so mining one of them is a false negative.
    let mut pairs = Vec::new();
    let mut judged = Vec::new();
    for (q, rel) in data.qrels.iter().enumerate() {
        let mut best: Vec<(&String, &f64)> = rel.iter().collect();
        best.sort_by(|a, b| {
            b.1.total_cmp(a.1).then(
                a.0.parse::<u32>()
                    .unwrap()
                    .cmp(&b.0.parse::<u32>().unwrap()),
            )
        });
        if let Some((id, _)) = best.iter().find(|(id, _)| c.get(id).unwrap().is_some()) {
            pairs.push(MiningPair::text(data.queries[q].clone(), [(*id).clone()]));
            judged.push(q);
        }
    }
    let rate = |r: MiningRequest<'_>| -> (f64, usize) {
        let report = c.mine_hard_negatives(&r).unwrap();
        let (mut negatives, mut relevant) = (0usize, 0usize);
        for (mined, &q) in report.pairs.iter().zip(&judged) {
            negatives += mined.negatives.len();
            relevant += mined
                .negatives
                .iter()
                .filter(|s| data.qrels[q].contains_key(&s.id))
                .count();
        }
        (relevant as f64 / negatives.max(1) as f64, negatives)
    };
    let base = || MiningRequest::new(&pairs).num_negatives(10);
    let (naive, n0) = rate(base());
    let (margin, n1) = rate(base().absolute_margin(0.05));
    let (perc, n2) = rate(base().relative_margin(0.05));
    println!(
        "false negatives on Cranfield ({} pairs, 10 negatives each): naive top-k {:.1}% of {n0}, \
         TopK-MarginPos(0.05) {:.1}% of {n1}, TopK-PercPos(95%) {:.1}% of {n2}",
        pairs.len(),
        naive * 100.0,
        margin * 100.0,
        perc * 100.0
    );
    assert!(perc < naive * 0.8, "PercPos {perc} vs naive {naive}");
    assert!(margin < naive * 0.8, "MarginPos {margin} vs naive {naive}");
}
