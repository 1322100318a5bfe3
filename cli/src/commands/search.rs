//! Searching.

use super::*;
use quiver::{Dense, Fusion, Hybrid};
use std::ops::Not;

/// The arguments of `quiver search`.
#[derive(clap::Args)]
pub struct SearchArgs {
    pub db: PathBuf,
    pub collection: String,
    /// A query vector as a JSON array.
    #[arg(long, group = "query")]
    pub vector: Option<String>,
    /// Queries from a file (JSONL arrays or objects with "vector", .npy, .fvecs).
    #[arg(long, group = "query")]
    pub queries: Option<PathBuf>,
    /// Use the stored vector of this record as the query (repeatable).
    #[arg(long, group = "query")]
    pub like: Vec<String>,
    /// A query text, embedded with the collection's model (repeatable).
    #[arg(long, group = "query")]
    pub text: Vec<String>,
    /// Multi-vector collections: query matrices from a file, one per line, as
    /// [[..],..] or {"vectors":[[..],..]}.
    #[arg(long, group = "query")]
    pub vectors: Option<PathBuf>,
    /// Multi-vector collections with a token index: records re-ranked with exact MaxSim
    /// (default max(64 x k, 1024, records / 24)).
    #[arg(long)]
    pub candidates: Option<usize>,
    /// Number of results per query.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// One JSON line per query: {"query":i,"hits":[{"id","score","payload"}]}.
    #[arg(long)]
    pub json: bool,
    /// IVF lists to probe (collections with an index; default nlist / 16, at least 8; 4-bit
    /// indexes nlist / 4, at least 16).
    #[arg(long)]
    pub nprobe: Option<usize>,
    /// Candidates re-ranked exactly, as a multiple of k (default 4; 10 with --dims).
    #[arg(long)]
    pub refine: Option<usize>,
    /// Matryoshka funnel: find candidates on the first D components only, re-rank them on
    /// all (multi-vector: the prefix for candidate generation). Default: every component.
    #[arg(long)]
    pub dims: Option<usize>,
    /// Scan every vector even if the collection has an index.
    #[arg(long)]
    pub exact: bool,
    /// Only records whose payload matches this JSON filter, e.g.
    /// '{"year":{"$gte":2010},"tag":{"$in":["a","b"]}}' (see docs/filters.md).
    #[arg(long)]
    pub filter: Option<String>,
    /// Keywords scored by BM25 over the full-text index ('+word' required, '-word'
    /// excluded). Alone: a keyword search; with --text/--vector/--like/--queries: hybrid.
    #[arg(long)]
    pub keywords: Option<String>,
    /// Hybrid fusion: rrf (reciprocal rank, k 60), dbsf (mean ± 3σ) or relative (min-max).
    #[arg(long, default_value = "rrf")]
    pub fusion: String,
    /// Hybrid weights of the dense and the keyword branch, e.g. 0.7,0.3.
    #[arg(long, default_value = "1,1")]
    pub weights: String,
    /// Hybrid: candidates taken from each branch (default max(k, 100)).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Hybrid: print each hit's rank and score in each branch (in --json: "explain").
    #[arg(long)]
    pub explain: bool,
    /// Re-rank the best candidates with this cross-encoder folder (the hits' scores become
    /// its scores; each hit keeps its first-stage rank and score: --json "stages").
    #[arg(long)]
    pub rerank: Option<PathBuf>,
    /// Re-rank with the collection's pinned default re-ranker.
    #[arg(long, conflicts_with = "rerank")]
    pub rerank_pinned: bool,
    /// Candidates re-ranked (default 100; at least k).
    #[arg(long)]
    pub rerank_top: Option<usize>,
    /// The payload field holding each record's text for the re-ranker (default: the stored
    /// text, else the full-text index's fields).
    #[arg(long)]
    pub rerank_field: Option<String>,
    /// The query text the re-ranker reads (default: --text, else --keywords).
    #[arg(long)]
    pub rerank_query: Option<String>,
}

pub(super) fn run(args: SearchArgs) -> DynResult<()> {
    let SearchArgs {
        db,
        collection,
        vector,
        queries,
        like,
        text,
        vectors,
        candidates,
        k,
        json,
        nprobe,
        refine,
        dims,
        exact,
        filter,
        keywords,
        fusion,
        weights,
        depth,
        explain,
        rerank,
        rerank_pinned,
        rerank_top,
        rerank_field,
        rerank_query,
    } = args;
    let reranker: Option<Arc<dyn quiver::CrossEncoder>> = match &rerank {
        Some(dir) => Some(Arc::new(quiver_embed::BertCrossEncoder::load(dir)?)),
        None => None,
    };
    let stage = (reranker.is_some() || rerank_pinned).then(|| {
        let mut r = match &reranker {
            Some(m) => quiver::Rerank::with(m.clone()),
            None => quiver::Rerank::pinned(),
        };
        r.top = rerank_top;
        r.query = rerank_query.as_deref();
        r.text_field = rerank_field.as_deref();
        r
    });
    let fusion = Fusion::parse(&fusion)
        .ok_or_else(|| format!("--fusion {fusion}: use rrf, dbsf or relative"))?;
    let weights: Vec<f64> = weights
        .split(',')
        .map(|w| w.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--weights {weights}: {e}"))?;
    let [dense_weight, keyword_weight] = weights[..] else {
        return Err("--weights takes two numbers: dense,keywords".into());
    };
    let filter = filter.as_deref().map(Filter::parse).transpose()?;
    // Bad arguments fail before the database is opened and loaded.
    let vector = vector
        .map(|v| {
            serde_json::from_str::<Vec<f32>>(&v)
                .map_err(|e| format!("--vector is not a JSON array of numbers: {e}"))
        })
        .transpose()?;
    let dense_given = vector.is_some()
        || queries.is_some()
        || like.is_empty().not()
        || text.is_empty().not()
        || vectors.is_some();
    if !dense_given && keywords.is_none() {
        return Err(
            "give a query: --vector JSON, --text TEXT, --queries FILE, --vectors FILE, --like ID or --keywords WORDS"
                .into(),
        );
    }
    let t = Instant::now();
    let db = open_reader(&db)?;
    let c = db.collection(&collection)?;
    let opened = t.elapsed();
    if !dense_given {
        let keywords = keywords.unwrap_or_default();
        let mut options = SearchOptions::new(k);
        options.filter = filter.as_ref();
        options.rerank = stage;
        let start = Instant::now();
        let hits = c.search(Query::Keywords(&keywords), &options)?;
        return print_results(&[hits], &[], json, explain, start.elapsed());
    }
    let t = Instant::now();
    let n = c.load()?;
    if !json {
        eprintln!(
            "opened in {:.1} ms; {n} vectors loaded in {:.1} ms",
            opened.as_secs_f64() * 1e3,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let multi = c.info()?.kind == CollectionKind::MultiVector;
    let queries = match (vector, queries, vectors) {
        _ if !text.is_empty() => Queries::Texts(text),
        (Some(v), _, _) => Queries::Vectors(vec![v]),
        // A multi-vector collection's query file holds matrices, as --vectors does.
        (_, Some(path), _) | (_, _, Some(path)) if multi => {
            Queries::Matrices(readers::read_matrices(&path)?)
        }
        (_, Some(path), _) => Queries::Vectors(readers::read_queries(&path)?),
        (_, _, Some(_)) => {
            return Err(format!(
                "--vectors gives token matrices, but '{collection}' holds one vector a record: \
                 use --queries"
            )
            .into());
        }
        _ if multi => {
            let mut qs = Vec::new();
            for id in &like {
                let r = c
                    .get_multi(id)?
                    .ok_or_else(|| format!("no record '{id}' in '{collection}'"))?;
                qs.push(r.vectors);
            }
            Queries::Matrices(qs)
        }
        _ => {
            let mut qs = Vec::new();
            for id in &like {
                let r = c
                    .get(id)?
                    .ok_or_else(|| format!("no record '{id}' in '{collection}'"))?;
                qs.push(r.vector);
            }
            Queries::Vectors(qs)
        }
    };
    let labels = match &queries {
        Queries::Texts(t) => t.clone(),
        _ => like,
    };
    let mut options = SearchOptions::new(k).exact(exact);
    options.nprobe = nprobe;
    options.refine = refine;
    options.dims = dims;
    options.candidates = candidates;
    options.filter = filter.as_ref();
    options.rerank = stage;
    let mut queries: Vec<Query<'_>> = match &queries {
        Queries::Vectors(v) => v.iter().map(Query::from).collect(),
        Queries::Matrices(m) => m.iter().map(Query::from).collect(),
        Queries::Texts(t) => t.iter().map(Query::from).collect(),
    };
    if let Some(keywords) = &keywords {
        for q in &mut queries {
            let dense = match *q {
                Query::Vector(v) => Dense::Vector(v),
                Query::Matrix(m) => Dense::Matrix(m),
                Query::Text(t) => Dense::Text(t),
                _ => continue,
            };
            let mut h = Hybrid::new(dense, keywords)
                .fusion(fusion)
                .weights(dense_weight, keyword_weight);
            if let Some(d) = depth {
                h = h.depths(d, d);
            }
            *q = Query::Hybrid(h);
        }
    }
    let start = Instant::now();
    // A handful of queries (e.g. --like words) go one by one; files as a batch.
    let results = if queries.len() < 8 {
        queries
            .iter()
            .map(|q| c.search(*q, &options))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        c.search_batch(queries, &options)?
    };
    print_results(&results, &labels, json, explain, start.elapsed())
}

/// The queries of one command line.
enum Queries {
    Vectors(Vec<Vec<f32>>),
    Matrices(Vec<Vec<Vec<f32>>>),
    Texts(Vec<String>),
}

/// Prints each query's hits (a table, or one JSON line per query) and the timing.
pub(super) fn print_results(
    results: &[Vec<Hit>],
    labels: &[String],
    as_json: bool,
    explain: bool,
    elapsed: std::time::Duration,
) -> DynResult<()> {
    let queries = results;
    for (i, hits) in results.iter().enumerate() {
        if as_json {
            let hits: Vec<_> = hits
                .iter()
                .map(|h| {
                    let mut j = hit_json(h);
                    if let (true, Some(e)) = (explain, &h.explain) {
                        j["explain"] = explain_json(e);
                    }
                    if !h.stages.is_empty() {
                        j["stages"] = h
                            .stages
                            .iter()
                            .map(|s| json!({"stage": s.stage.name(), "rank": s.rank, "score": s.score}))
                            .collect();
                    }
                    j
                })
                .collect();
            println!("{}", json!({"query": i, "hits": hits}));
        } else {
            match labels.get(i) {
                Some(label) => println!("{label}:"),
                None if queries.len() > 1 => println!("query {i}:"),
                None => {}
            }
            let width = hits.iter().map(|h| h.id.chars().count()).max().unwrap_or(0);
            for (rank, h) in hits.iter().enumerate() {
                let mut payload = h
                    .payload
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                if let Some(text) = &h.text {
                    let snippet: String = text.chars().take(100).collect();
                    let more = if snippet.len() < text.len() {
                        "…"
                    } else {
                        ""
                    };
                    payload = format!("{snippet}{more} {payload}");
                }
                if let (true, Some(e)) = (explain, &h.explain) {
                    let parts: Vec<String> = e
                        .branches
                        .iter()
                        .map(|b| match (b.rank, b.score) {
                            (Some(r), Some(s)) => format!("{} #{r} {s:.4}", b.branch.name()),
                            _ => format!("{} -", b.branch.name()),
                        })
                        .collect();
                    payload = format!("[{}] {payload}", parts.join(", "));
                }
                if h.stages.len() > 1 {
                    let parts: Vec<String> = h.stages[..h.stages.len() - 1]
                        .iter()
                        .map(|s| format!("{} #{} {:.4}", s.stage.name(), s.rank, s.score))
                        .collect();
                    payload = format!("[{}] {payload}", parts.join(", "));
                }
                println!(
                    "{:>3}. {:<width$}  {:>9.4}  {payload}",
                    rank + 1,
                    h.id,
                    h.score
                );
            }
        }
    }
    let ms = elapsed.as_secs_f64() * 1e3;
    if !as_json {
        eprintln!(
            "{} quer{} in {ms:.2} ms ({:.3} ms per query)",
            queries.len(),
            if queries.len() == 1 { "y" } else { "ies" },
            ms / queries.len() as f64
        );
    }
    Ok(())
}

pub(super) fn hit_json(h: &Hit) -> serde_json::Value {
    let mut hit = json!({"id": h.id, "score": h.score, "payload": h.payload});
    if let Some(text) = &h.text {
        hit["text"] = json!(text);
    }
    hit
}

/// A hit's explanation as JSON: `{"dense": {"rank", "score"}, "keywords": {...}}` (null for a
/// branch that did not return it).
fn explain_json(e: &quiver::Explanation) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for b in &e.branches {
        let v = match (b.rank, b.score) {
            (Some(rank), Some(score)) => json!({"rank": rank, "score": score}),
            _ => serde_json::Value::Null,
        };
        out.insert(b.branch.name().to_owned(), v);
    }
    serde_json::Value::Object(out)
}
