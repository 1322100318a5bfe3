//! `quiver-bench`: Quiver's end-to-end benchmarks, with FAISS run on the same data in the same
//! run. Prints a markdown table and writes `results/<date>.json` and `results/<date>.md`.
//!
//! Scenarios (per dataset): durable ingest (batches of 1000, each committed with fsync), file
//! size per vector, cold open + load, flat single-query latency (k = 10) and batched QPS, and
//! the same searches in FAISS `IndexFlatIP`/`IndexFlatL2` (vectors normalised for cosine).
//! Figures are medians; single-query latency also has p90 and min/max.

mod ann;
mod datasets;
mod embed;
mod filters;
mod fulltext;
mod matryoshka;
mod measure;
mod mining;
mod multi;
mod peak;
mod processes;
mod python_binding;
mod report;
mod rerank;
mod space;
mod stores;
mod stores_report;

use clap::Parser;
use std::path::{Path, PathBuf};

// As the CLI: model inference churns through large tensors (see quiver_embed::BertOptions).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Quiver benchmarks with FAISS side by side")]
pub struct Args {
    /// Small sizes for a smoke run (finishes in about a minute).
    #[arg(long)]
    quick: bool,
    /// Python with faiss-cpu installed (benches/run.sh makes one); skip FAISS when absent.
    #[arg(long)]
    python: Option<PathBuf>,
    /// Folder with glove_6B_50d_emb.npy (scripts/fetch_glove.sh); skipped when absent.
    #[arg(long)]
    glove: Option<PathBuf>,
    /// Where to write results (default: results/).
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Queries for single-query latency.
    #[arg(long, default_value_t = 200)]
    single: usize,
    /// Queries in the batched measurement.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Also build the default IVF-PQ index and sweep nprobe x refine (recall@10 and QPS).
    #[arg(long)]
    ivf: bool,
    /// WordNet definitions embedded with all-MiniLM-L6-v2 (117,659 x 384, from
    /// scripts/wordnet_vectors.sh); skipped when absent.
    #[arg(long)]
    wordnet: Option<PathBuf>,
    /// Skip the synthetic data set (GloVe only).
    #[arg(long)]
    no_synthetic: bool,
    /// Add the synthetic 1M x 128 set (labelled synthetic; cold open and first query at 1M).
    #[arg(long)]
    synthetic_1m: bool,
    /// Run only the ANN scenario (`ann.rs`): Quiver's IVF-PQ with 8-bit and 4-bit fast-scan
    /// codes against hnswlib and FAISS's fast scan (through --python) on --glove and --wordnet,
    /// documents as queries and, with --embed-model and --ann-examples, WordNet's usage
    /// examples as queries; writes results/<date>-ann.{json,md}.
    #[arg(long)]
    ann: bool,
    /// Code sizes of Quiver's indexes in the ANN scenario (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [8u32, 4])]
    ann_bits: Vec<u32>,
    /// One WordNet usage example per line (benches/peers/wordnet_examples.py).
    #[arg(long)]
    ann_examples: Option<PathBuf>,
    /// WordNet's definitions (scripts/fetch_wordnet.sh): short questions about their words
    /// become a query set of --wordnet (with --embed-model).
    #[arg(long)]
    ann_definitions: Option<PathBuf>,
    /// Queries for the IVF-PQ sweep.
    #[arg(long, default_value_t = 200)]
    ivf_queries: usize,
    /// Embedding throughput with this model folder (scripts/fetch_model.sh), against
    /// sentence-transformers when --st-python is given.
    #[arg(long)]
    embed_model: Option<PathBuf>,
    /// A corpus for the embedding benchmark, NAME=FILE with one text per line (repeatable).
    #[arg(long, value_parser = embed::parse_corpus)]
    embed_texts: Vec<(String, PathBuf)>,
    /// Texts per corpus in the embedding benchmark (batch 1 uses the first 200).
    #[arg(long, default_value_t = 1000)]
    embed_limit: usize,
    /// Python with sentence-transformers (benches/run.sh --embed makes one).
    #[arg(long)]
    st_python: Option<PathBuf>,
    /// Run only the embedding benchmark.
    #[arg(long)]
    embed_only: bool,
    /// Run only the re-ranking benchmark with this cross-encoder folder (pairs/s against
    /// sentence-transformers through --st-python; a Cranfield pipeline with --embed-model).
    #[arg(long)]
    rerank_model: Option<PathBuf>,
    /// Run only the hard-negative mining benchmark with --embed-model on Cranfield
    /// (against sentence-transformers through --st-python), writing
    /// results/<date>-mining.{json,md}.
    #[arg(long)]
    mining: bool,
    /// Run only the embedding-space benchmark (outlier ROC AUC on --wordnet with injected
    /// outliers, cluster/score/map times, cluster-packed batches on Cranfield with
    /// --embed-model), keeping its database at --space-db; results/<date>-space.{json,md}.
    #[arg(long)]
    space: bool,
    #[arg(long, default_value = "results/space.qvr")]
    space_db: PathBuf,
    /// Run only the filtered-search benchmark (recall and latency by selectivity; see
    /// `filters.rs`), writing results/<date>-filters.{json,md}.
    #[arg(long)]
    filters: bool,
    /// Run only the multi-vector benchmark on the token outputs of --embed-model for the
    /// corpora of --embed-texts (first --multi-docs lines; the next --ivf-queries lines are
    /// the queries unless --multi-queries NAME=FILE gives them), writing
    /// results/<date>-multi.{json,md}.
    #[arg(long)]
    multi: bool,
    /// Document counts to evaluate (repeatable; the corpus is embedded once).
    #[arg(long, default_values_t = [10_000])]
    multi_docs: Vec<usize>,
    #[arg(long, value_parser = embed::parse_corpus)]
    multi_queries: Vec<(String, PathBuf)>,
    /// Run only the embedded-stores scenario (Quiver vs usearch, sqlite-vec, LanceDB and
    /// Chroma through --python; see `stores.rs`), writing results/<date>-stores.{json,md}.
    #[arg(long)]
    stores: bool,
    /// Peers in the stores scenario (comma-separated; default all four).
    #[arg(long, value_delimiter = ',', default_values_t = stores::PEERS.map(String::from))]
    stores_engines: Vec<String>,
    /// Use only the first N vectors of each dataset in the stores scenario (--quick: 20000).
    #[arg(long)]
    stores_rows: Option<usize>,
    /// Run only the full-text scenario on NAME=DOCS,QUERIES (one text per line; repeatable):
    /// Quiver's BM25 against tantivy and bm25s (through --python), writing
    /// results/<date>-fulltext.{json,md}.
    #[arg(long, value_parser = fulltext::parse)]
    fulltext: Vec<fulltext::Corpus>,
    /// Run only the Matryoshka funnel benchmark (`dims`): a labelled prefix-heavy synthetic
    /// set and, with --wordnet, WordNet x MiniLM (held-out definitions as queries, plus
    /// --matryoshka-examples embedded with --embed-model), writing
    /// results/<date>-matryoshka.{json,md}.
    #[arg(long)]
    matryoshka: bool,
    /// One query text per line for the Matryoshka benchmark's question-like queries.
    #[arg(long)]
    matryoshka_examples: Option<PathBuf>,
    /// Run only the Python-binding benchmark on the first --python-rows vectors of --wordnet
    /// (the next 200 are the queries): Quiver from Rust and through `import quiver`, and the
    /// stores through their Python APIs (--python), writing results/<date>-python.{json,md}.
    #[arg(long)]
    python_binding: bool,
    #[arg(long, default_value_t = 50_000)]
    python_rows: usize,
    /// Run only the many-processes benchmark (`processes.rs`): shared against exclusive
    /// handles, and durable ingest with 0 and 4 reader processes beside it, writing
    /// results/<date>-processes.{json,md}.
    #[arg(long)]
    processes: bool,
    /// Vectors in the processes benchmark's collection before the writes.
    #[arg(long, default_value_t = 50_000)]
    processes_rows: usize,
    /// Batches the processes benchmark's writer commits beside the readers.
    #[arg(long, default_value_t = 1000)]
    processes_writes: usize,
    /// (internal) One reader process of the processes benchmark.
    #[arg(long, hide = true)]
    processes_reader: Option<PathBuf>,
    #[arg(long, hide = true, default_value_t = 0.0)]
    processes_reader_seconds: f64,
    /// (internal) One cold open of a stores-scenario database, run in a fresh process.
    #[arg(long, hide = true, requires = "cold_queries")]
    cold_open: Option<PathBuf>,
    #[arg(long, hide = true)]
    cold_queries: Option<PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::parse();
    if let (Some(db), Some(queries)) = (&args.cold_open, &args.cold_queries) {
        return stores::cold_open(db, queries);
    }
    if let Some(db) = &args.processes_reader {
        return processes::reader(db, args.processes_reader_seconds);
    }
    if args.processes {
        // On the disk the results go to (a tmpfs would hide what a sync costs).
        std::fs::create_dir_all(&args.out)?;
        let dir = tempfile::tempdir_in(&args.out)?;
        let rows = if args.quick {
            5_000
        } else {
            args.processes_rows
        };
        let writes = if args.quick {
            200
        } else {
            args.processes_writes
        };
        let r = processes::run(dir.path(), rows, writes)?;
        let table = processes::markdown(&r);
        println!("{table}");
        return report::write_scenario(
            &args.out,
            "processes",
            &table,
            serde_json::json!({"machine": report::machine(), "run": r}),
        );
    }
    if args.mining {
        let embedder = args
            .embed_model
            .as_ref()
            .ok_or("--mining needs --embed-model")?;
        let cranfield = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cranfield");
        let run = mining::run(embedder, &cranfield, args.st_python.as_deref())?;
        let table = mining::markdown(&run);
        println!("{table}");
        return report::write_scenario(
            &args.out,
            "mining",
            &table,
            serde_json::json!({"machine": report::machine(), "run": run}),
        );
    }
    if args.space {
        let (Some(wordnet), Some(embedder)) = (&args.wordnet, &args.embed_model) else {
            return Err("--space needs --wordnet and --embed-model".into());
        };
        let cranfield = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cranfield");
        let run = space::run(wordnet, embedder, &cranfield, &args.space_db)?;
        let table = space::markdown(&run);
        println!("{table}");
        return report::write_scenario(
            &args.out,
            "space",
            &table,
            serde_json::json!({"machine": report::machine(), "run": run}),
        );
    }
    if let (Some(model), Some(embedder)) = (&args.rerank_model, &args.embed_model) {
        let cranfield = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cranfield");
        let run = rerank::run(model, embedder, &cranfield, args.st_python.as_deref())?;
        let table = rerank::markdown(&run);
        println!("{table}");
        return report::write_scenario(
            &args.out,
            "rerank",
            &table,
            serde_json::json!({"machine": report::machine(), "run": run}),
        );
    }
    if args.python_binding {
        let path = args
            .wordnet
            .as_ref()
            .ok_or("--python-binding needs --wordnet")?;
        let all = quiver_vecfile::read_npy(path)?;
        let (n, dim) = (args.python_rows.min(all.rows - 200), all.dim);
        let base = quiver_vecfile::Matrix {
            rows: n,
            dim,
            data: all.data[..n * dim].to_vec(),
        };
        let queries = quiver_vecfile::Matrix {
            rows: 200,
            dim,
            data: all.data[n * dim..(n + 200) * dim].to_vec(),
        };
        let peers = ["quiver", "sqlite-vec", "lancedb", "chroma"];
        let runs = python_binding::run(base, queries, args.python.as_deref(), &peers)?;
        let table = python_binding::markdown(n, dim, &runs);
        let json =
            serde_json::json!({"machine": report::machine(), "rows": n, "dim": dim, "runs": runs});
        return report::write_scenario(&args.out, "python", &table, json);
    }
    if args.matryoshka {
        let nq = args.ivf_queries;
        let mut sets = vec![matryoshka::prefix_heavy(args.quick, nq)];
        if let Some(path) = &args.wordnet {
            let examples = match (&args.embed_model, &args.matryoshka_examples) {
                (Some(model), Some(file)) => Some(matryoshka::embed_queries(model, file, nq)?),
                _ => None,
            };
            let all = quiver_vecfile::read_npy(path)?;
            sets.push(matryoshka::wordnet(all, nq, examples, args.quick));
        }
        let dir = tempfile::tempdir()?;
        let mut results = Vec::new();
        for set in &sets {
            eprintln!(
                "== matryoshka: {} ({} x {})",
                set.name, set.base.rows, set.base.dim
            );
            results.extend(matryoshka::run(set, dir.path())?);
        }
        let table = matryoshka::markdown(&results);
        let json = serde_json::json!({"machine": report::machine(), "results": results});
        return report::write_scenario(&args.out, "matryoshka", &table, json);
    }
    if !args.fulltext.is_empty() {
        let mut results = Vec::new();
        for c in &args.fulltext {
            eprintln!("== fulltext: {}", c.name);
            results.push(fulltext::run(c, args.python.as_deref())?);
        }
        let table = fulltext::markdown(&results);
        let json = serde_json::json!({"machine": report::machine(), "results": results});
        return report::write_scenario(&args.out, "fulltext", &table, json);
    }
    if args.multi {
        let model = args
            .embed_model
            .as_ref()
            .ok_or("--multi needs --embed-model")?;
        let dir = tempfile::tempdir()?;
        let mut results = Vec::new();
        for (name, file) in &args.embed_texts {
            eprintln!("== multi-vector: {name} ({})", file.display());
            let queries = args
                .multi_queries
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f.as_path());
            results.extend(multi::run(
                model,
                name,
                file,
                &args.multi_docs,
                queries,
                args.ivf_queries,
                dir.path(),
            )?);
        }
        let table = multi::markdown(&results);
        report::write_scenario(
            &args.out,
            "multi",
            &table,
            serde_json::json!({
                "machine": report::machine(),
                "results": results,
            }),
        )?;
        return Ok(());
    }
    if let Some(model) = args.embed_model.as_ref().filter(|_| !args.ann) {
        let mut runs = Vec::new();
        for (name, file) in &args.embed_texts {
            eprintln!("== embedding: {name} ({})", file.display());
            runs.push(embed::run(
                model,
                name,
                file,
                args.embed_limit,
                args.st_python.as_deref(),
            )?);
        }
        let table = embed::markdown(&runs);
        report::write_scenario(
            &args.out,
            "embed",
            &table,
            serde_json::json!({
                "machine": report::machine(),
                "runs": runs,
            }),
        )?;
        if args.embed_only {
            return Ok(());
        }
    }
    let mut sets = Vec::new();
    if !args.no_synthetic {
        sets.push(datasets::synthetic(&args));
    }
    if args.synthetic_1m {
        sets.push(datasets::synthetic_1m(&args));
    }
    if let Some(dir) = &args.glove {
        match datasets::glove(dir, &args) {
            Ok(d) => sets.push(d),
            Err(e) => eprintln!("skipping GloVe: {e}"),
        }
    }
    if let Some(path) = &args.wordnet {
        match datasets::real_npy("wordnet-minilm-384", path, &args) {
            Ok(d) => sets.push(d),
            Err(e) => eprintln!("skipping WordNet: {e}"),
        }
    }
    if args.ann {
        let dir = tempfile::tempdir()?;
        let mut results = Vec::new();
        let mut sets: Vec<(datasets::Dataset, Vec<ann::QuerySet>)> =
            sets.into_iter().map(|d| (d, Vec::new())).collect();
        if let Some(model) = &args.embed_model {
            let cranfield =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cranfield");
            let (d, questions) = ann::cranfield(model, &cranfield, args.ivf_queries)?;
            sets.insert(0, (d, vec![questions]));
        }
        for (d, extra) in &mut sets {
            eprintln!("== ann: {} ({} x {})", d.name, d.base.rows, d.base.dim);
            if d.name.starts_with("wordnet")
                && let Some(model) = &args.embed_model
            {
                if let Some(file) = &args.ann_examples {
                    extra.push(ann::QuerySet {
                        name: "usage-examples".into(),
                        queries: matryoshka::embed_queries(model, file, args.ivf_queries)?,
                    });
                }
                if let Some(file) = &args.ann_definitions {
                    extra.push(ann::wordnet_questions(model, file, args.ivf_queries)?);
                }
            }
            results.push(ann::run(
                d,
                &args.ann_bits,
                args.ivf_queries,
                extra,
                args.python.as_deref(),
                dir.path(),
            )?);
        }
        let table = ann::markdown(&results);
        let json = serde_json::json!({"machine": report::machine(), "results": results});
        return report::write_scenario(&args.out, "ann", &table, json);
    }
    if args.stores {
        if args.quick {
            args.stores_rows.get_or_insert(20_000);
            args.ivf_queries = args.ivf_queries.min(50);
        }
        let mut results = Vec::new();
        for d in &sets {
            eprintln!("== stores: {} ({} x {})", d.name, d.base.rows, d.base.dim);
            results.push(stores::run(d, &args, &args.stores_engines)?);
        }
        let table = stores_report::markdown(&results, &report::machine())?;
        report::write_scenario(
            &args.out,
            "stores",
            &table,
            serde_json::json!({
                "date": report::today(),
                "machine": report::machine(),
                "quick": args.quick,
                "stores": results,
            }),
        )?;
        return Ok(());
    }
    if args.filters {
        let mut results = Vec::new();
        for d in &sets {
            eprintln!("== filters: {} ({} x {})", d.name, d.base.rows, d.base.dim);
            results.push(filters::run(d, args.ivf_queries)?);
        }
        let table = filters::markdown(&results);
        report::write_scenario(
            &args.out,
            "filters",
            &table,
            serde_json::json!({
                "machine": report::machine(),
                "results": results,
            }),
        )?;
        return Ok(());
    }
    let mut results = Vec::new();
    for d in &sets {
        eprintln!(
            "== {} ({} x {}, {})",
            d.name, d.base.rows, d.base.dim, d.metric
        );
        results.push(measure::run(d, &args)?);
    }
    report::write(&results, &args)?;
    Ok(())
}
