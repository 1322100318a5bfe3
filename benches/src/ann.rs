//! The ANN scenario (`--ann`): Quiver's IVF-PQ with 8-bit codes and with 4-bit fast-scan codes
//! against hnswlib (HNSW, M 16, efC 200) and FAISS's IVF-PQ fast scan + refine
//! (`benches/peers/ann.py`), on the same base vectors and the same query sets, one query at a
//! time on one thread, recall@10 against the same exact answers. Each data set has its
//! documents-as-queries set and, where given, sets of queries unlike the documents (WordNet's
//! usage examples against its definitions; Cranfield's questions against its abstracts),
//! because that is how users search. Reports every grid point, the recall and QPS at Quiver's
//! defaults, the nprobe each set needs for recall 0.95 and 0.99, and batched QPS.

use crate::datasets::Dataset;
use crate::measure::{Peer, Stats};
use quiver::{CollectionConfig, Database, IvfPqParams, Record, SearchRequest};
use quiver_vecfile::{Matrix, write_npy};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

const K: usize = 10;
const ROUNDS: usize = 3;
const NPROBES: [usize; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const REFINES: [usize; 4] = [1, 2, 4, 8];
const EFS: [usize; 8] = [10, 16, 32, 64, 128, 256, 512, 1024];

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A named set of queries against one data set (the name is one word: peers read it from a
/// command line).
pub struct QuerySet {
    pub name: String,
    pub queries: Matrix,
}

#[derive(Serialize, Clone)]
pub struct Point {
    /// "nprobe 64, refine 4", "ef 32", "defaults".
    pub setting: String,
    pub nprobe: Option<usize>,
    pub recall_at_10: f64,
    /// Median of the rounds.
    pub qps: f64,
}

#[derive(Serialize)]
pub struct SetResult {
    pub set: String,
    pub queries: usize,
    pub points: Vec<Point>,
    /// Quiver only: search with no nprobe or refine given.
    pub defaults: Option<Point>,
    /// Batched (all cores) QPS at nprobe 16 / 64 / 256, refine 4.
    pub batch: Vec<Point>,
}

#[derive(Serialize)]
pub struct EngineResult {
    pub engine: String,
    pub build_s: f64,
    pub index_bytes: Option<u64>,
    pub sets: Vec<SetResult>,
}

#[derive(Serialize)]
pub struct DataResult {
    pub dataset: String,
    pub rows: usize,
    pub dim: usize,
    pub nlist: usize,
    pub engines: Vec<EngineResult>,
}

/// Runs the scenario on `d` (its own queries as the set "documents") plus `extra` sets.
pub fn run(
    d: &Dataset,
    bits_list: &[u32],
    nq: usize,
    extra: &[QuerySet],
    python: Option<&Path>,
    dir: &Path,
) -> Res<DataResult> {
    let path = dir.join(format!("{}.qvr", d.name));
    let _ = std::fs::remove_file(&path);
    let db = Database::create(&path)?;
    let c = db.create_collection("ann", CollectionConfig::new(d.base.dim, d.metric))?;
    for start in (0..d.base.rows).step_by(20_000) {
        let end = (start + 20_000).min(d.base.rows);
        let batch: Vec<Record> = (start..end)
            .map(|i| Record::new(i.to_string(), d.base.row(i).to_vec()))
            .collect();
        c.upsert(&batch)?;
    }
    let own = QuerySet {
        name: "documents".into(),
        queries: Matrix {
            rows: nq.min(d.queries.rows),
            dim: d.queries.dim,
            data: d.queries.data[..nq.min(d.queries.rows) * d.queries.dim].to_vec(),
        },
    };
    let sets: Vec<&QuerySet> = std::iter::once(&own).chain(extra).collect();
    let mut truths = Vec::new();
    for s in &sets {
        let key = format!("{}-ann-{}", d.name, s.name);
        let t: Vec<Vec<usize>> = crate::stores::ground_truth(&c, &key, &s.queries, None)?;
        truths.push(t);
    }
    let mut engines = Vec::new();
    let mut shape = (0, 0);
    for &bits in bits_list {
        let t = Instant::now();
        let info = c
            .create_index(IvfPqParams::default().bits(bits))?
            .as_ivf_pq()
            .cloned()
            .ok_or("not an IVF-PQ index")?;
        let build_s = t.elapsed().as_secs_f64();
        c.load()?;
        eprintln!(
            "  quiver {bits}-bit: nlist {} m {} built in {build_s:.1} s",
            info.nlist, info.m
        );
        // The peers get the shape of the last (4-bit) index: same nlist and m.
        shape = (info.nlist, info.m);
        let mut results = Vec::new();
        for (s, truth) in sets.iter().zip(&truths) {
            results.push(sweep_quiver(&c, s, truth, info.nlist)?);
        }
        engines.push(EngineResult {
            engine: format!("quiver ivf-pq {bits}-bit (m {})", info.m),
            build_s,
            index_bytes: Some(info.memory_bytes as u64),
            sets: results,
        });
    }
    if let Some(py) = python {
        let files = write_peer_files(dir, d, &sets, &truths)?;
        for engine in ["hnsw", "faiss-fs"] {
            // A peer that fails (not installed, crashed) is reported, not fatal: Quiver's
            // figures stand on their own.
            match sweep_peer(py, dir, engine, d, &files, &sets, shape) {
                Ok(r) => engines.push(r),
                Err(e) => eprintln!("  {engine}: {e}"),
            }
        }
    }
    Ok(DataResult {
        dataset: d.name.clone(),
        rows: d.base.rows,
        dim: d.base.dim,
        nlist: shape.0,
        engines,
    })
}

fn recall(hits: &[quiver::Hit], truth: &[usize]) -> usize {
    hits.iter()
        .filter(|h| h.id.parse::<usize>().is_ok_and(|id| truth.contains(&id)))
        .count()
}

fn sweep_quiver(
    c: &quiver::Collection,
    s: &QuerySet,
    truth: &[Vec<usize>],
    nlist: usize,
) -> Res<SetResult> {
    let queries: Vec<&[f32]> = (0..s.queries.rows).map(|i| s.queries.row(i)).collect();
    let mut settings: Vec<(Option<usize>, Option<usize>)> = vec![(None, None)];
    for refine in REFINES {
        for nprobe in NPROBES.into_iter().filter(|&p| p <= nlist) {
            settings.push((Some(nprobe), Some(refine)));
        }
    }
    let mut runs = vec![Vec::new(); settings.len()];
    let mut recalls = vec![0.0; settings.len()];
    for _ in 0..ROUNDS {
        for (g, &(nprobe, refine)) in settings.iter().enumerate() {
            let mut found = 0;
            let t = Instant::now();
            for (q, truth) in queries.iter().zip(truth) {
                let mut req = SearchRequest::new(q, K).include_payload(false);
                if let (Some(p), Some(r)) = (nprobe, refine) {
                    req = req.nprobe(p).refine(r);
                }
                found += recall(&c.search_with(&req)?, truth);
            }
            runs[g].push(queries.len() as f64 / t.elapsed().as_secs_f64());
            recalls[g] = found as f64 / (queries.len() * K) as f64;
        }
    }
    let mut points: Vec<Point> = settings
        .iter()
        .zip(runs)
        .zip(recalls)
        .map(|((&(nprobe, refine), runs), recall_at_10)| Point {
            setting: match (nprobe, refine) {
                (Some(p), Some(r)) => format!("nprobe {p}, refine {r}"),
                _ => "defaults".into(),
            },
            nprobe,
            recall_at_10,
            qps: Stats::of(runs).median,
        })
        .collect();
    let defaults = points.remove(0);
    eprintln!(
        "    {}: defaults recall {:.3} at {:.0} QPS",
        s.name, defaults.recall_at_10, defaults.qps
    );
    let mut batch = Vec::new();
    for nprobe in [16usize, 64, 256].into_iter().filter(|&p| p <= nlist) {
        let template = SearchRequest::new(&[], K)
            .include_payload(false)
            .nprobe(nprobe)
            .refine(4);
        let mut runs = Vec::new();
        let mut found = 0;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let hits = c.search_batch_with(&queries, &template)?;
            runs.push(queries.len() as f64 / t.elapsed().as_secs_f64());
            found = hits.iter().zip(truth).map(|(h, t)| recall(h, t)).sum();
        }
        batch.push(Point {
            setting: format!("batch nprobe {nprobe}, refine 4"),
            nprobe: Some(nprobe),
            recall_at_10: found as f64 / (queries.len() * K) as f64,
            qps: Stats::of(runs).median,
        });
    }
    Ok(SetResult {
        set: s.name.clone(),
        queries: queries.len(),
        points,
        defaults: Some(defaults),
        batch,
    })
}

/// `SET=QUERIES.npy,TRUTH.json` arguments for the peer, one per set.
fn write_peer_files(
    dir: &Path,
    d: &Dataset,
    sets: &[&QuerySet],
    truths: &[Vec<Vec<usize>>],
) -> Res<Vec<String>> {
    let mut specs = Vec::new();
    for (s, truth) in sets.iter().zip(truths) {
        let q = dir.join(format!("{}-{}-queries.npy", d.name, s.name));
        let t = dir.join(format!("{}-{}-truth.json", d.name, s.name));
        write_npy(&q, &s.queries)?;
        std::fs::write(&t, serde_json::to_string(truth)?)?;
        specs.push(format!("{}={},{}", s.name, q.display(), t.display()));
    }
    Ok(specs)
}

#[allow(clippy::too_many_arguments)]
fn sweep_peer(
    py: &Path,
    dir: &Path,
    engine: &str,
    d: &Dataset,
    specs: &[String],
    sets: &[&QuerySet],
    (nlist, m): (usize, usize),
) -> Res<EngineResult> {
    let base_file = dir.join(format!("{}-base.npy", d.name));
    if !base_file.exists() {
        write_npy(&base_file, &d.base)?;
    }
    let mut args = vec![
        engine.to_string(),
        base_file.display().to_string(),
        d.metric.name().into(),
        K.to_string(),
    ];
    if engine == "faiss-fs" {
        args.push(nlist.to_string());
        args.push(m.to_string());
    }
    args.extend(specs.iter().cloned());
    let mut p = Peer::spawn(py, "ann.py", &args)?;
    let build_s = p.ready["build_s"].as_f64().unwrap_or(f64::NAN);
    let index_bytes = p.ready["bytes"].as_u64();
    eprintln!("  {engine}: built in {build_s:.1} s");
    let mut results = Vec::new();
    for s in sets {
        let grid: Vec<(String, String, Option<usize>)> = if engine == "hnsw" {
            EFS.iter()
                .map(|ef| (format!("{ef}"), format!("ef {ef}"), None))
                .collect()
        } else {
            REFINES
                .iter()
                .flat_map(|r| {
                    NPROBES.iter().filter(|&&n| n <= nlist).map(move |n| {
                        (
                            format!("{n} {r}"),
                            format!("nprobe {n}, refine {r}"),
                            Some(*n),
                        )
                    })
                })
                .collect()
        };
        let mut runs = vec![Vec::new(); grid.len()];
        let mut recalls = vec![0.0; grid.len()];
        for _ in 0..ROUNDS {
            for (g, (arg, _, _)) in grid.iter().enumerate() {
                let v = p.ask(&format!("sweep {} {arg}", s.name))?;
                recalls[g] = v["recall"].as_f64().ok_or("peer: no recall")?;
                runs[g].push(v["qps"].as_f64().ok_or("peer: no qps")?);
            }
        }
        let points = grid
            .into_iter()
            .zip(runs)
            .zip(recalls)
            .map(|(((_, setting, nprobe), runs), recall_at_10)| Point {
                setting,
                nprobe,
                recall_at_10,
                qps: Stats::of(runs).median,
            })
            .collect();
        let mut batch = Vec::new();
        if engine == "faiss-fs" {
            for nprobe in [16usize, 64, 256].into_iter().filter(|&n| n <= nlist) {
                let runs = (0..ROUNDS)
                    .map(|_| {
                        p.ask(&format!("batch {} {nprobe} 4", s.name))
                            .map(|v| v["qps"].as_f64().unwrap_or(f64::NAN))
                    })
                    .collect::<Res<Vec<f64>>>()?;
                batch.push(Point {
                    setting: format!("batch nprobe {nprobe}, refine 4"),
                    nprobe: Some(nprobe),
                    recall_at_10: f64::NAN,
                    qps: Stats::of(runs).median,
                });
            }
        }
        results.push(SetResult {
            set: s.name.clone(),
            queries: s.queries.rows,
            points,
            defaults: None,
            batch,
        });
    }
    let _ = p.ask("quit");
    let name = match engine {
        "hnsw" => "hnswlib HNSW (M 16, efC 200)".to_string(),
        _ => format!("faiss IVF-PQ fast scan 4-bit + refine (m {m})"),
    };
    Ok(EngineResult {
        engine: name,
        build_s,
        index_bytes,
        sets: results,
    })
}

/// The best QPS among points with recall at least `target`, and its setting.
fn best_at(points: &[Point], target: f64) -> Option<&Point> {
    points
        .iter()
        .filter(|p| p.recall_at_10 >= target)
        .max_by(|a, b| a.qps.total_cmp(&b.qps))
}

pub fn markdown(results: &[DataResult]) -> String {
    let mut s = String::new();
    for r in results {
        let _ = writeln!(
            s,
            "\n### {} ({} x {}, nlist {})\n",
            r.dataset, r.rows, r.dim, r.nlist
        );
        let _ = writeln!(
            s,
            "| engine | build s | index MB | query set | defaults: recall / QPS | best QPS at recall 0.90 | 0.95 | 0.99 |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        for e in &r.engines {
            for set in &e.sets {
                let at = |t: f64| {
                    best_at(&set.points, t).map_or("not reached".into(), |p| {
                        format!("{:.0} ({})", p.qps, p.setting)
                    })
                };
                let defaults = set.defaults.as_ref().map_or("-".into(), |p| {
                    format!("{:.3} / {:.0}", p.recall_at_10, p.qps)
                });
                let _ = writeln!(
                    s,
                    "| {} | {:.1} | {} | {} ({}) | {} | {} | {} | {} |",
                    e.engine,
                    e.build_s,
                    e.index_bytes
                        .map_or("-".into(), |b| format!("{:.1}", b as f64 / 1e6)),
                    set.set,
                    set.queries,
                    defaults,
                    at(0.90),
                    at(0.95),
                    at(0.99)
                );
            }
        }
        let _ = writeln!(s, "\nBatched (all cores), refine 4:\n");
        let _ = writeln!(s, "| engine | query set | nprobe 16 | 64 | 256 |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for e in &r.engines {
            for set in e.sets.iter().filter(|s| !s.batch.is_empty()) {
                let cells: Vec<String> =
                    set.batch.iter().map(|p| format!("{:.0}", p.qps)).collect();
                let _ = writeln!(s, "| {} | {} | {} |", e.engine, set.set, cells.join(" | "));
            }
        }
    }
    s
}

/// Cranfield's abstracts embedded with `model` as a data set (cosine), with its 225 questions
/// as the query set "questions" (short questions against abstracts).
pub fn cranfield(model: &Path, dir: &Path, nq: usize) -> Res<(Dataset, QuerySet)> {
    use quiver::Embedder;
    let data = quiver_tests::ir::cranfield(dir)?;
    let embedder = quiver_embed::BertEmbedder::load(model)?;
    let docs = data.docs_with_text();
    let texts: Vec<&str> = docs.iter().map(|(_, t)| t.as_str()).collect();
    let mut base = Vec::new();
    for chunk in texts.chunks(64) {
        base.extend(embedder.embed_documents(chunk)?.into_iter().flatten());
    }
    let dim = base.len() / texts.len().max(1);
    let mut questions = Vec::new();
    for q in &data.queries {
        questions.extend(embedder.embed_query(q)?);
    }
    let base = Matrix {
        rows: texts.len(),
        dim,
        data: base,
    };
    // Documents as queries: every fifth abstract (they are in the base too, as in GloVe's and
    // WordNet's sets).
    let picks: Vec<usize> = (0..base.rows).step_by(5).take(nq).collect();
    let own = Matrix {
        rows: picks.len(),
        dim,
        data: picks.iter().flat_map(|&i| base.row(i).to_vec()).collect(),
    };
    let set = QuerySet {
        name: "questions".into(),
        queries: Matrix {
            rows: data.queries.len(),
            dim,
            data: questions,
        },
    };
    Ok((
        Dataset {
            name: format!("cranfield-minilm-{}", base.rows),
            metric: quiver::Metric::Cosine,
            base,
            queries: own,
        },
        set,
    ))
}

/// Short questions about WordNet entries ("what does the word 'X' mean?", X the first lemma of
/// a seeded random choice of `definitions` lines, `lemma, lemma: gloss`) embedded with `model`:
/// a few words against the 117k one-line definitions.
pub fn wordnet_questions(model: &Path, definitions: &Path, n: usize) -> Res<QuerySet> {
    use quiver::Embedder;
    let text = std::fs::read_to_string(definitions)?;
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(':')).collect();
    let embedder = quiver_embed::BertEmbedder::load(model)?;
    let mut rng = quiver_index::rng::SplitMix64::new(25);
    let mut data = Vec::new();
    let mut rows = 0;
    while rows < n.min(lines.len()) {
        let line = lines[(rng.next_u64() % lines.len() as u64) as usize];
        let lemma = line.split([':', ',']).next().unwrap_or(line).trim();
        data.extend(embedder.embed_query(&format!("what does the word '{lemma}' mean?"))?);
        rows += 1;
    }
    let dim = data.len() / rows.max(1);
    Ok(QuerySet {
        name: "questions".into(),
        queries: Matrix { rows, dim, data },
    })
}
