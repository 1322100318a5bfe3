//! Runs one dataset through Quiver and FAISS.

use crate::Args;
use crate::datasets::Dataset;
use quiver::{CollectionConfig, Database, Record, SearchRequest};
use quiver_vecfile::{Matrix, write_npy};
use serde::Serialize;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Instant;

#[derive(Serialize, Default)]
pub struct Stats {
    pub median: f64,
    pub p90: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(mut v: Vec<f64>) -> Stats {
        if v.is_empty() {
            return Stats::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Stats {
            median: at(0.5),
            p90: at(0.9),
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

#[derive(Serialize)]
pub struct EngineResult {
    pub engine: String,
    pub single_ms: Stats,
    pub batch_qps: f64,
    pub batch_qps_runs: Vec<f64>,
}

#[derive(Serialize)]
pub struct DatasetResult {
    pub dataset: String,
    pub rows: usize,
    pub dim: usize,
    pub metric: String,
    pub ingest_vectors_per_s: f64,
    pub file_bytes_per_vector: f64,
    pub open_ms: f64,
    pub load_ms: f64,
    pub rss_mb_after_load: f64,
    pub quiver: EngineResult,
    pub faiss: Option<EngineResult>,
    /// IVF-PQ: build time and recall@10 / QPS over nprobe x refine (with `--ivf`).
    pub ivf: Option<IvfSweep>,
    /// Mean overlap of Quiver's and FAISS's top-10 ids over the batched queries (1.0 = the
    /// same neighbours; both are exact, so anything lower means ties or a bug).
    pub agreement_at_10: Option<f64>,
}

const K: usize = 10;

fn rss_mb() -> f64 {
    proc_status_mb("VmRSS:")
}

/// A memory figure of this process from /proc/self/status (e.g. "VmRSS:", "VmHWM:"), in MB.
pub fn proc_status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn run(d: &Dataset, args: &Args) -> Result<DatasetResult, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.qvr");
    let n = d.base.rows;

    // Durable ingest: batches of 1000, each its own fsynced transaction, into a collection
    // created beforehand (the `quiver create` + `quiver import` flow). redb's file size after
    // close depends on allocation history: ingesting through the handle that created the
    // collection leaves ~1.6x more file behind until compaction (see docs/benchmarks.md).
    Database::create(&path)?
        .create_collection("bench", CollectionConfig::new(d.base.dim, d.metric))?;
    let t = Instant::now();
    {
        let db = Database::open(&path)?;
        let c = db.collection("bench")?;
        let mut batch = Vec::with_capacity(1000);
        for i in 0..n {
            batch.push(Record::new(i.to_string(), d.base.row(i).to_vec()));
            if batch.len() == 1000 || i + 1 == n {
                c.upsert(&batch)?;
                batch.clear();
            }
        }
    }
    let ingest = n as f64 / t.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(&path)?.len() as f64;
    eprintln!(
        "  ingest: {ingest:.0} vectors/s, {:.0} bytes/vector",
        file_bytes / n as f64
    );

    let t = Instant::now();
    let db = Database::open(&path)?;
    let c = db.collection("bench")?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    c.load()?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss = rss_mb();

    let nq_single = args.single.min(d.queries.rows);
    let nb = args.batch.min(d.queries.rows);
    let files = match &args.python {
        Some(_) => Some(PeerFiles::write(dir.path(), d, nb)?),
        None => None,
    };
    let mut faiss = match (&args.python, &files) {
        (Some(py), Some(f)) => Some(Peer::spawn(
            py,
            "faiss_flat.py",
            &[
                f.base.clone(),
                f.queries.clone(),
                d.metric.name().into(),
                K.to_string(),
            ],
        )?),
        _ => None,
    };

    // Interleaved: each round measures Quiver, then FAISS, so drifts in machine speed hit both.
    const ROUNDS: usize = 5;
    let single_queries = |round: usize| {
        let per = nq_single.div_ceil(ROUNDS);
        (round * per..((round + 1) * per).min(nq_single)).map(|i| d.queries.row(i % d.queries.rows))
    };
    let batch_queries: Vec<&[f32]> = (0..nb).map(|i| d.queries.row(i)).collect();
    c.search_with(&SearchRequest::new(d.queries.row(0), K).include_payload(false))?;
    let (mut q_lat, mut f_lat) = (Vec::new(), Vec::new());
    let (mut q_qps, mut f_qps) = (Vec::new(), Vec::new());
    let mut quiver_hits = Vec::new();
    for round in 0..ROUNDS {
        for q in single_queries(round) {
            let t = Instant::now();
            c.search_with(&SearchRequest::new(q, K).include_payload(false))?;
            q_lat.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let t = Instant::now();
        quiver_hits = c.search_batch(&batch_queries, K)?;
        q_qps.push(nb as f64 / t.elapsed().as_secs_f64());
        if let Some(peer) = faiss.as_mut() {
            let n = single_queries(round).count();
            let v = peer.ask(&format!("single {n}"))?;
            f_lat.extend(serde_json::from_value::<Vec<f64>>(v["single_ms"].clone())?);
            let v = peer.ask("batch")?;
            f_qps.push(nb as f64 / v["batch_s"].as_f64().ok_or("faiss: no batch_s")?);
        }
    }
    let quiver = EngineResult {
        engine: "quiver".into(),
        single_ms: Stats::of(q_lat),
        batch_qps: Stats::of(q_qps.clone()).median,
        batch_qps_runs: q_qps,
    };
    eprintln!(
        "  quiver: single {:.3} ms median, batched {:.0} QPS",
        quiver.single_ms.median, quiver.batch_qps
    );
    let (faiss, agreement) = match faiss {
        Some(mut peer) => {
            let ids: Vec<Vec<i64>> = serde_json::from_value(peer.ask("ids")?["ids"].clone())?;
            let _ = peer.ask("quit");
            let agree = quiver_hits
                .iter()
                .zip(&ids)
                .map(|(q, f)| {
                    q.iter()
                        .filter(|h| f.iter().any(|&x| x.to_string() == h.id))
                        .count() as f64
                        / K as f64
                })
                .sum::<f64>()
                / nb as f64;
            let r = EngineResult {
                engine: peer.name,
                single_ms: Stats::of(f_lat),
                batch_qps: Stats::of(f_qps.clone()).median,
                batch_qps_runs: f_qps,
            };
            eprintln!(
                "  faiss: single {:.3} ms median, batched {:.0} QPS, agreement@10 {agree:.4}",
                r.single_ms.median, r.batch_qps
            );
            (Some(r), Some(agree))
        }
        None => (None, None),
    };
    let ivf = if args.ivf {
        let peer = args.python.as_deref().zip(files.as_ref());
        Some(ivf_sweep(
            &c,
            d,
            nb.min(args.ivf_queries),
            peer,
            dir.path(),
        )?)
    } else {
        None
    };
    Ok(DatasetResult {
        dataset: d.name.clone(),
        rows: n,
        dim: d.base.dim,
        metric: d.metric.name().into(),
        ingest_vectors_per_s: ingest,
        file_bytes_per_vector: file_bytes / n as f64,
        open_ms,
        load_ms,
        rss_mb_after_load: rss,
        quiver,
        faiss,
        agreement_at_10: agreement,
        ivf,
    })
}

/// The FAISS peer process, fed commands over a pipe.
pub(crate) struct Peer {
    child: Child,
    out: BufReader<ChildStdout>,
    name: String,
    /// The peer's first line (version, threads, build time).
    pub(crate) ready: serde_json::Value,
}

/// The data files the peers read (written once per dataset).
struct PeerFiles {
    base: String,
    queries: String,
}

impl PeerFiles {
    fn write(dir: &Path, d: &Dataset, nb: usize) -> Result<PeerFiles, Box<dyn std::error::Error>> {
        let base = dir.join("base.npy");
        let queries = dir.join("queries.npy");
        write_npy(&base, &d.base)?;
        write_npy(
            &queries,
            &Matrix {
                rows: nb,
                dim: d.queries.dim,
                data: d.queries.data[..nb * d.queries.dim].to_vec(),
            },
        )?;
        Ok(PeerFiles {
            base: base.display().to_string(),
            queries: queries.display().to_string(),
        })
    }
}

impl Peer {
    /// Starts `benches/peers/SCRIPT ARGS...` and waits for its `ready` line.
    pub(crate) fn spawn(
        python: &Path,
        script: &str,
        args: &[String],
    ) -> Result<Peer, Box<dyn std::error::Error>> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("peers")
            .join(script);
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let out = BufReader::new(child.stdout.take().ok_or("peer: no stdout")?);
        let mut peer = Peer {
            child,
            out,
            name: String::new(),
            ready: serde_json::Value::Null,
        };
        let ready = peer.read()?;
        peer.name = format!(
            "faiss {} ({} threads)",
            ready["version"].as_str().unwrap_or("?"),
            ready["threads"]
        );
        peer.ready = ready;
        Ok(peer)
    }

    fn read(&mut self) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let mut line = String::new();
        if self.out.read_line(&mut line)? == 0 {
            return Err("faiss peer exited (is faiss-cpu installed?)".into());
        }
        Ok(serde_json::from_str(&line)?)
    }

    pub(crate) fn ask(
        &mut self,
        cmd: &str,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let stdin = self.child.stdin.as_mut().ok_or("faiss peer: no stdin")?;
        writeln!(stdin, "{cmd}")?;
        stdin.flush()?;
        if cmd == "quit" {
            let _ = self.child.wait();
            return Ok(serde_json::Value::Null);
        }
        self.read()
    }
}

#[derive(Serialize)]
pub struct IvfPoint {
    pub nprobe: usize,
    pub refine: usize,
    pub recall_at_10: f64,
    pub qps: f64,
    /// FAISS IndexIVFPQ + IndexRefineFlat, same nlist, m, nprobe and refine (k_factor).
    pub faiss_recall_at_10: Option<f64>,
    pub faiss_qps: Option<f64>,
}

#[derive(Serialize)]
pub struct BatchPoint {
    pub nprobe: usize,
    pub qps: f64,
    pub faiss_qps: Option<f64>,
}

#[derive(Serialize)]
pub struct HnswPoint {
    pub ef: usize,
    pub recall_at_10: f64,
    pub qps: f64,
}

#[derive(Serialize)]
pub struct IvfSweep {
    pub nlist: usize,
    pub m: usize,
    pub build_s: f64,
    pub queries: usize,
    pub default_nprobe: usize,
    pub faiss_build_s: Option<f64>,
    /// Codes, row ids, centroids and codebooks in memory (Quiver) / the serialised
    /// IndexIVFPQ (FAISS); the raw vectors both keep for re-ranking are not included.
    pub index_bytes: usize,
    pub faiss_index_bytes: Option<u64>,
    pub points: Vec<IvfPoint>,
    /// hnswlib (M 16, ef_construction 200), one query at a time, over ef.
    pub hnsw_build_s: Option<f64>,
    pub hnsw_points: Vec<HnswPoint>,
    /// Batched (all cores) QPS at refine 2.
    pub batch_points: Vec<BatchPoint>,
}

/// Builds the default IVF-PQ index and measures recall@10 against exact search, one query at
/// a time (one thread per query), over nprobe x refine.
fn ivf_sweep(
    c: &quiver::Collection,
    d: &Dataset,
    nq: usize,
    peer: Option<(&Path, &PeerFiles)>,
    dir: &Path,
) -> Result<IvfSweep, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let info = c
        .create_index(quiver::IvfPqParams::default())?
        .as_ivf_pq()
        .cloned()
        .ok_or("the build returned another index")?;
    let build_s = t.elapsed().as_secs_f64();
    eprintln!(
        "  ivf-pq: nlist {} m {} built in {build_s:.1} s",
        info.nlist, info.m
    );
    let mut faiss = match peer {
        Some((py, files)) => {
            let queries = dir.join("ivf_queries.npy");
            write_npy(
                &queries,
                &Matrix {
                    rows: nq,
                    dim: d.queries.dim,
                    data: d.queries.data[..nq * d.queries.dim].to_vec(),
                },
            )?;
            let p = Peer::spawn(
                py,
                "faiss_ivf.py",
                &[
                    files.base.clone(),
                    queries.display().to_string(),
                    d.metric.name().into(),
                    K.to_string(),
                    info.nlist.to_string(),
                    info.m.to_string(),
                ],
            )?;
            eprintln!(
                "  faiss ivf-pq: built in {:.1} s",
                p.ready["build_s"].as_f64().unwrap_or(0.0)
            );
            Some(p)
        }
        None => None,
    };
    let faiss_build_s = faiss.as_ref().and_then(|p| p.ready["build_s"].as_f64());
    c.load()?;
    let queries: Vec<&[f32]> = (0..nq).map(|i| d.queries.row(i)).collect();
    // Exact answers, computed once per dataset and query count and cached (shared with the
    // stores scenario); ids are row numbers as strings.
    let query_matrix = Matrix {
        rows: nq,
        dim: d.queries.dim,
        data: d.queries.data[..nq * d.queries.dim].to_vec(),
    };
    let truth: Vec<Vec<String>> = crate::stores::ground_truth(c, &d.name, &query_matrix, None)?
        .into_iter()
        .map(|row| row.into_iter().map(|r| r.to_string()).collect())
        .collect();
    // Every grid point is measured in IVF_ROUNDS rounds, Quiver then FAISS each time; QPS is
    // the median of the rounds (recall is deterministic).
    const IVF_ROUNDS: usize = 3;
    let grid: Vec<(usize, usize)> = [1usize, 2, 4, 8]
        .into_iter()
        .flat_map(|refine| {
            [1usize, 2, 4, 8, 16, 32, 64, 128, 256]
                .into_iter()
                .filter(|&nprobe| nprobe <= info.nlist)
                .map(move |nprobe| (nprobe, refine))
        })
        .collect();
    let mut recall = vec![0f64; grid.len()];
    let mut faiss_recall = vec![None; grid.len()];
    let mut q_runs = vec![Vec::new(); grid.len()];
    let mut f_runs = vec![Vec::new(); grid.len()];
    for _ in 0..IVF_ROUNDS {
        for (g, &(nprobe, refine)) in grid.iter().enumerate() {
            let t = Instant::now();
            let mut found = 0;
            for (q, truth) in queries.iter().zip(&truth) {
                let req = SearchRequest::new(q, K)
                    .include_payload(false)
                    .nprobe(nprobe)
                    .refine(refine);
                let hits = c.search_with(&req)?;
                found += hits.iter().filter(|h| truth.contains(&h.id)).count();
            }
            q_runs[g].push(nq as f64 / t.elapsed().as_secs_f64());
            recall[g] = found as f64 / (nq * K) as f64;
            if let Some(p) = faiss.as_mut() {
                let v = p.ask(&format!("sweep {nprobe} {refine}"))?;
                faiss_recall[g] = v["recall"].as_f64();
                if let Some(q) = v["qps"].as_f64() {
                    f_runs[g].push(q);
                }
            }
        }
    }
    let points: Vec<IvfPoint> = grid
        .iter()
        .enumerate()
        .map(|(g, &(nprobe, refine))| IvfPoint {
            nprobe,
            refine,
            recall_at_10: recall[g],
            qps: Stats::of(q_runs[g].clone()).median,
            faiss_recall_at_10: faiss_recall[g],
            faiss_qps: (!f_runs[g].is_empty()).then(|| Stats::of(f_runs[g].clone()).median),
        })
        .collect();
    // hnswlib: a graph index, so its own knob (ef) instead of nprobe x refine.
    let mut hnsw_points = Vec::new();
    let mut hnsw_build_s = None;
    if let Some((py, files)) = peer {
        let queries = dir.join("ivf_queries.npy");
        let mut p = Peer::spawn(
            py,
            "hnsw.py",
            &[
                files.base.clone(),
                queries.display().to_string(),
                d.metric.name().into(),
                K.to_string(),
            ],
        )?;
        hnsw_build_s = p.ready["build_s"].as_f64();
        eprintln!("  hnswlib: built in {:.1} s", hnsw_build_s.unwrap_or(0.0));
        for ef in [16usize, 32, 64, 128, 256, 512] {
            let v = p.ask(&format!("sweep {ef}"))?;
            if let (Some(recall), Some(qps)) = (v["recall"].as_f64(), v["qps"].as_f64()) {
                hnsw_points.push(HnswPoint {
                    ef,
                    recall_at_10: recall,
                    qps,
                });
            }
        }
        let _ = p.ask("quit");
    }
    // All cores: the whole query set as one batch (Quiver splits it over cores, FAISS over
    // OpenMP threads), refine 2, median of IVF_ROUNDS.
    let mut batch_points = Vec::new();
    for nprobe in [1usize, 4, 16, 64, 128, 256]
        .into_iter()
        .filter(|&p| p <= info.nlist)
    {
        let template = SearchRequest::new(&[], K)
            .include_payload(false)
            .nprobe(nprobe)
            .refine(2);
        let (mut q_runs, mut f_runs) = (Vec::new(), Vec::new());
        for _ in 0..IVF_ROUNDS {
            let t = Instant::now();
            c.search_batch_with(&queries, &template)?;
            q_runs.push(nq as f64 / t.elapsed().as_secs_f64());
            if let Some(p) = faiss.as_mut()
                && let Some(q) = p.ask(&format!("batch {nprobe} 2"))?["qps"].as_f64()
            {
                f_runs.push(q);
            }
        }
        batch_points.push(BatchPoint {
            nprobe,
            qps: Stats::of(q_runs).median,
            faiss_qps: (!f_runs.is_empty()).then(|| Stats::of(f_runs).median),
        });
    }
    let faiss_index_bytes = faiss
        .as_mut()
        .and_then(|p| p.ask("size").ok())
        .and_then(|v| v["bytes"].as_u64());
    if let Some(mut p) = faiss {
        let _ = p.ask("quit");
    }
    let default_nprobe = (info.nlist / 16).max(8).min(info.nlist);
    Ok(IvfSweep {
        nlist: info.nlist,
        m: info.m,
        build_s,
        queries: nq,
        default_nprobe,
        faiss_build_s,
        index_bytes: info.memory_bytes,
        faiss_index_bytes,
        points,
        hnsw_build_s,
        hnsw_points,
        batch_points,
    })
}
