//! What each subcommand does.

use crate::Command;
use crate::readers::{self, DynResult, Format, JsonRecord};
use indicatif::{ProgressBar, ProgressStyle};
use quiver::{
    Collection, CollectionConfig, Database, ElementType, Embedder, Error, Filter, Hit, IndexInfo,
    IvfPqParams, Metric, MultiIndexParams, MultiRecord, MultiSearchRequest, PayloadIndexKind,
    Record, SearchRequest, TextRecord,
};
use quiver_embed::{BertEmbedder, BertOptions, ColbertEmbedder, ColbertOptions};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub fn run(command: Command) -> DynResult<()> {
    match command {
        Command::Create {
            db,
            collection,
            dim,
            model,
            query_prefix,
            document_prefix,
            metric,
            dtype,
            multi_vector,
            colbert,
            projection,
            attend_expansion,
        } => {
            let metric: Metric = metric.parse()?;
            let dtype: ElementType = dtype.parse()?;
            let config = match model {
                Some(dir) => {
                    let embedder: Arc<dyn Embedder> = if colbert {
                        let options = ColbertOptions {
                            projection,
                            attend_to_expansion: attend_expansion,
                            ..ColbertOptions::default()
                        };
                        Arc::new(ColbertEmbedder::load_with(&dir, &options)?)
                    } else {
                        Arc::new(load_model(&dir, query_prefix, document_prefix)?)
                    };
                    let model_dim = embedder.identity().dim;
                    if let Some(d) = dim.filter(|&d| d != model_dim) {
                        return Err(format!("--dim {d}, but the model outputs {model_dim}").into());
                    }
                    eprintln!("model: {}", embedder.identity().fingerprint());
                    let config = if multi_vector {
                        CollectionConfig::multi_vector_with_embedder(embedder)
                    } else {
                        CollectionConfig::with_embedder(embedder)
                    };
                    CollectionConfig { metric, ..config }
                }
                None if multi_vector => {
                    CollectionConfig::multi_vector(dim.unwrap_or_default(), metric)
                }
                None => CollectionConfig::new(dim.unwrap_or_default(), metric),
            }
            .element_type(dtype);
            let dim = config.dim;
            let db = Database::create(&db)?;
            db.create_collection(&collection, config)?;
            let kind = if multi_vector { ", multi-vector" } else { "" };
            eprintln!("created collection '{collection}' ({dim}-d, {metric}, {dtype}{kind})");
            Ok(())
        }
        Command::Embed {
            file,
            npy,
            model,
            query,
            query_prefix,
            document_prefix,
        } => {
            let embedder = load_model(&model, query_prefix, document_prefix)?;
            embed(&file, &embedder, query, npy.as_deref())
        }
        Command::Import {
            db,
            collection,
            file,
            format,
            ids,
            batch,
        } => import(
            &db,
            &collection,
            &file,
            format.as_deref(),
            ids.as_deref(),
            batch,
        ),
        Command::Search {
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
            exact,
            filter,
        } => {
            let filter = filter.as_deref().map(Filter::parse).transpose()?;
            // Bad arguments fail before the database is opened and loaded.
            let vector = vector
                .map(|v| {
                    serde_json::from_str::<Vec<f32>>(&v)
                        .map_err(|e| format!("--vector is not a JSON array of numbers: {e}"))
                })
                .transpose()?;
            if vector.is_none()
                && queries.is_none()
                && like.is_empty()
                && text.is_empty()
                && vectors.is_none()
            {
                return Err(
                    "give a query: --vector JSON, --text TEXT, --queries FILE, --vectors FILE or --like ID"
                        .into(),
                );
            }
            let t = Instant::now();
            let db = Database::open(&db)?;
            let c = db.collection(&collection)?;
            let opened = t.elapsed();
            let t = Instant::now();
            let n = c.load()?;
            if !json {
                eprintln!(
                    "opened in {:.1} ms; {n} vectors loaded in {:.1} ms",
                    opened.as_secs_f64() * 1e3,
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
            if let Some(path) = vectors {
                let matrices = readers::read_matrices(&path)?;
                let filter = filter.as_ref();
                let start = Instant::now();
                let results = matrices
                    .iter()
                    .map(|m| {
                        let mut req = MultiSearchRequest::new(m, k).exact(exact);
                        req.nprobe = nprobe;
                        req.candidates = candidates;
                        req.filter = filter;
                        c.search_multi_with(&req)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                return print_results(&results, &[], json, start.elapsed());
            }
            if !text.is_empty() && c.info()?.multi_vector {
                let start = Instant::now();
                let results = text
                    .iter()
                    .map(|t| {
                        let mut req = MultiSearchRequest::new(&[], k).exact(exact);
                        req.nprobe = nprobe;
                        req.candidates = candidates;
                        req.filter = filter.as_ref();
                        c.search_multi_text_with(t, &req)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                return print_results(&results, &text, json, start.elapsed());
            }
            let (queries, labels) = match (vector, queries, like.is_empty()) {
                _ if !text.is_empty() => {
                    let refs: Vec<&str> = text.iter().map(String::as_str).collect();
                    (c.embedder()?.embed_queries(&refs)?, text)
                }
                (Some(v), _, _) => (vec![v], Vec::new()),
                (_, Some(path), _) => (readers::read_queries(&path)?, Vec::new()),
                (_, _, false) => {
                    let mut qs = Vec::new();
                    for id in &like {
                        let r = c
                            .get(id)?
                            .ok_or_else(|| format!("no record '{id}' in '{collection}'"))?;
                        qs.push(r.vector);
                    }
                    (qs, like)
                }
                _ => {
                    return Err(
                        "give a query: --vector JSON, --text TEXT, --queries FILE or --like ID"
                            .into(),
                    );
                }
            };
            let tuning = Tuning {
                nprobe,
                refine,
                exact,
                filter,
            };
            search(&c, &queries, &labels, k, json, &tuning)
        }
        Command::Get {
            db,
            collection,
            ids,
            vectors,
            filter,
            limit,
        } => {
            let db = Database::open(&db)?;
            let c = db.collection(&collection)?;
            if let Some(filter) = filter {
                for r in c.get_where(&Filter::parse(&filter)?, limit)? {
                    print_record(&r, vectors);
                }
                return Ok(());
            }
            let mut missing = 0;
            for id in &ids {
                match c.get(id)? {
                    Some(r) => print_record(&r, vectors),
                    None => {
                        eprintln!("quiver: no record '{id}'");
                        missing += 1;
                    }
                }
            }
            if missing > 0 {
                return Err(format!("{missing} of {} ids not found", ids.len()).into());
            }
            Ok(())
        }
        Command::Delete {
            db,
            collection,
            ids,
            filter,
        } => {
            let db = Database::open(&db)?;
            if let Some(filter) = filter {
                let n = db
                    .collection(&collection)?
                    .delete_where(&Filter::parse(&filter)?)?;
                eprintln!("deleted {n} records");
                return Ok(());
            }
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let n = db.collection(&collection)?.delete(&refs)?;
            eprintln!("deleted {n} of {} records", ids.len());
            Ok(())
        }
        Command::Info { db, json } => info(&db, json),
        Command::Count {
            db,
            collection,
            filter,
        } => {
            let db = Database::open(&db)?;
            let c = db.collection(&collection)?;
            let n = match filter {
                Some(f) => c.count_where(&Filter::parse(&f)?)?,
                None => c.count()?,
            };
            println!("{n}");
            Ok(())
        }
        Command::PayloadIndex {
            db,
            collection,
            field,
            kind,
            drop,
        } => {
            let db = Database::open(&db)?;
            let c = db.collection(&collection)?;
            if drop {
                let had = c.drop_payload_index(&field)?;
                eprintln!(
                    "{}",
                    if had {
                        "payload index dropped"
                    } else {
                        "no payload index on that field"
                    }
                );
                return Ok(());
            }
            let kind = kind.unwrap_or_default();
            let kind = PayloadIndexKind::parse(&kind).ok_or_else(|| {
                format!("--kind '{kind}': expected keyword, integer, float or bool")
            })?;
            let t = Instant::now();
            c.create_payload_index(&field, kind)?;
            eprintln!(
                "payload index on '{field}' ({}) ready in {:.2} s",
                kind.name(),
                t.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Index {
            db,
            collection,
            nlist,
            m,
            seed,
            centroids,
            drop,
        } => {
            let db = Database::open(&db)?;
            let c = db.collection(&collection)?;
            if !drop && c.info()?.multi_vector {
                let t = Instant::now();
                let mut params = MultiIndexParams {
                    centroids,
                    ..MultiIndexParams::default()
                };
                if let Some(seed) = seed {
                    params.seed = seed;
                }
                let info = c.create_multi_index(&params)?;
                eprintln!(
                    "indexed {} records: {} token centroids in {:.2} s",
                    info.indexed,
                    info.centroids,
                    t.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if drop {
                let had = c.drop_index()?;
                eprintln!(
                    "{}",
                    if had {
                        "index dropped"
                    } else {
                        "no index to drop"
                    }
                );
                return Ok(());
            }
            let t = Instant::now();
            let info = c.create_index(&IvfPqParams {
                nlist,
                m,
                seed,
                ..IvfPqParams::default()
            })?;
            eprintln!(
                "indexed {} records: {} in {:.2} s",
                info.indexed(),
                describe_index(&info),
                t.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Drop { db, collection } => {
            Database::open(&db)?.drop_collection(&collection)?;
            eprintln!("dropped collection '{collection}'");
            Ok(())
        }
        Command::Compact { db } => {
            let (before, after) = Database::compact(&db)?;
            eprintln!("compacted {}: {before} -> {after} bytes", db.display());
            Ok(())
        }
        Command::Upgrade { old, new } => {
            let r = Database::upgrade(&old, &new)?;
            if r.already_current {
                eprintln!(
                    "{} is already in the current format; nothing written",
                    old.display()
                );
            } else {
                eprintln!(
                    "upgraded {} -> {}: {} collections, {} values",
                    old.display(),
                    new.display(),
                    r.collections,
                    r.values
                );
            }
            Ok(())
        }
        Command::Check { db } => {
            let db = Database::open(&db)?;
            for info in db.collections()? {
                let n = db.collection(&info.name)?.check()?;
                println!("{}: ok ({n} records)", info.name);
            }
            Ok(())
        }
    }
}

fn progress(total: u64, unit: &str) -> ProgressBar {
    // indicatif draws only when stderr is a terminal, so scripts see no bar.
    let bar = ProgressBar::new(total);
    let template = format!(
        "{{elapsed_precise}} [{{wide_bar}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, ETA {{eta}})"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The batch position an error points at, if any.
fn position(e: &Error) -> Option<usize> {
    match e {
        Error::DimensionMismatch { position, .. } | Error::InvalidVector { position, .. } => {
            *position
        }
        Error::InvalidId { position, .. }
        | Error::InvalidPayload { position, .. }
        | Error::PayloadTooLarge { position, .. } => Some(*position),
        Error::InvalidText { position, .. } => *position,
        _ => None,
    }
}

/// A batch error, prefixed with the file position of the record it points at (if any).
fn located(e: Error, origin: &[String]) -> Box<dyn std::error::Error> {
    match position(&e).and_then(|p| origin.get(p)) {
        Some(at) => format!("{at}: {e}").into(),
        None => e.into(),
    }
}

fn import(
    db: &Path,
    collection: &str,
    file: &Path,
    format: Option<&str>,
    ids_file: Option<&Path>,
    batch_size: Option<usize>,
) -> DynResult<()> {
    let format = readers::format_of(file, format)?;
    let db = Database::open(db)?;
    let c = db.collection(collection)?;
    let has_model = c.model()?.is_some();
    let batch_size = batch_size.unwrap_or(if has_model { 128 } else { 1000 });
    if batch_size == 0 {
        return Err("--batch must be at least 1".into());
    }
    let start = Instant::now();
    // `origin[i]` names where record i of the pending batch came from, for error messages.
    let flush = |batch: &mut Vec<Record>, origin: &mut Vec<String>| -> DynResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        c.upsert(batch.as_slice()).map_err(|e| located(e, origin))?;
        batch.clear();
        origin.clear();
        Ok(())
    };
    let flush_multi = |batch: &mut Vec<MultiRecord>, origin: &mut Vec<String>| -> DynResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        c.upsert(batch.as_slice()).map_err(|e| located(e, origin))?;
        batch.clear();
        origin.clear();
        Ok(())
    };
    let flush_texts = |batch: &mut Vec<TextRecord>, origin: &mut Vec<String>| -> DynResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        c.upsert(batch.as_slice()).map_err(|e| located(e, origin))?;
        batch.clear();
        origin.clear();
        Ok(())
    };
    let mut batch = Vec::with_capacity(batch_size);
    let mut origin = Vec::with_capacity(batch_size);
    let (mut text_batch, mut text_origin) = (Vec::new(), Vec::new());
    let (mut multi_batch, mut multi_origin) = (Vec::new(), Vec::new());
    let mut total = 0u64;
    match format {
        Format::Jsonl => {
            let bar = progress(std::fs::metadata(file)?.len(), "bytes");
            for (n, line) in readers::lines(file)? {
                let line = line.map_err(|e| format!("{}:{n}: {e}", file.display()))?;
                bar.inc(line.len() as u64 + 1);
                let where_ = format!("{}:{n}", file.display());
                let r: JsonRecord =
                    serde_json::from_str(&line).map_err(|e| format!("{where_}: {e}"))?;
                let id = readers::id_text(&r.id)
                    .ok_or_else(|| format!("{where_}: \"id\" must be a string or an integer"))?;
                match (r.vector, r.text, r.vectors) {
                    (None, None, Some(vectors)) => {
                        let mut record = MultiRecord::new(id, vectors);
                        record.payload = r.payload;
                        multi_batch.push(record);
                        multi_origin.push(where_);
                        if multi_batch.len() == batch_size {
                            flush_multi(&mut multi_batch, &mut multi_origin)?;
                        }
                    }
                    (Some(vector), None, None) => {
                        batch.push(Record {
                            id,
                            vector,
                            payload: r.payload,
                            text: None,
                        });
                        origin.push(where_);
                        if batch.len() == batch_size {
                            flush(&mut batch, &mut origin)?;
                        }
                    }
                    (None, Some(text), None) => {
                        if !has_model {
                            return Err(format!(
                                "{where_}: a text record, but '{collection}' has no model \
                                 (create it with --model to import text)"
                            )
                            .into());
                        }
                        let mut record = TextRecord::new(id, text);
                        record.payload = r.payload;
                        text_batch.push(record);
                        text_origin.push(where_);
                        if text_batch.len() == batch_size {
                            flush_texts(&mut text_batch, &mut text_origin)?;
                        }
                    }
                    _ => {
                        return Err(format!(
                            "{where_}: give exactly one of \"vector\", \"vectors\" and \"text\""
                        )
                        .into());
                    }
                }
                total += 1;
            }
            flush(&mut batch, &mut origin)?;
            flush_texts(&mut text_batch, &mut text_origin)?;
            flush_multi(&mut multi_batch, &mut multi_origin)?;
            bar.finish_and_clear();
        }
        Format::Npy | Format::Fvecs => {
            let m = if format == Format::Npy {
                readers::read_npy(file)?
            } else {
                readers::read_fvecs(file)?
            };
            let ids: Option<Vec<String>> = match ids_file {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .map_err(|e| format!("{}: {e}", p.display()))?
                        .lines()
                        .map(str::to_owned)
                        .collect(),
                ),
                None => None,
            };
            if let Some(ids) = &ids
                && ids.len() < m.rows
            {
                return Err(format!("{} ids for {} vectors", ids.len(), m.rows).into());
            }
            let bar = progress(m.rows as u64, "vectors");
            for i in 0..m.rows {
                let id = ids
                    .as_ref()
                    .map_or_else(|| i.to_string(), |ids| ids[i].clone());
                batch.push(Record::new(id, m.row(i).to_vec()));
                origin.push(format!("{} row {i}", file.display()));
                if batch.len() == batch_size {
                    flush(&mut batch, &mut origin)?;
                    bar.inc(batch_size as u64);
                }
            }
            flush(&mut batch, &mut origin)?;
            bar.finish_and_clear();
            total = m.rows as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "imported {total} records into '{collection}' in {secs:.2} s ({:.0} records/s)",
        total as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// An index's shape in one phrase.
fn describe_index(info: &IndexInfo) -> String {
    match info {
        IndexInfo::IvfPq(i) => format!("IVF-PQ nlist {} m {}", i.nlist, i.m),
        IndexInfo::Tokens(i) => format!("token index, {} centroids", i.centroids),
        _ => "an index".to_owned(),
    }
}

fn hit_json(h: &Hit) -> serde_json::Value {
    let mut hit = json!({"id": h.id, "score": h.score, "payload": h.payload});
    if let Some(text) = &h.text {
        hit["text"] = json!(text);
    }
    hit
}

fn load_model(
    dir: &Path,
    query_prefix: String,
    document_prefix: String,
) -> DynResult<BertEmbedder> {
    let options = BertOptions {
        query_prefix,
        document_prefix,
        ..BertOptions::default()
    };
    Ok(BertEmbedder::load_with(dir, &options)?)
}

/// `quiver embed`: texts in, one JSON vector line out per text, streamed in chunks (or one
/// .npy matrix, with a progress bar).
fn embed(
    file: &Path,
    embedder: &BertEmbedder,
    as_queries: bool,
    npy: Option<&Path>,
) -> DynResult<()> {
    let input: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let dim = embedder.identity().dim;
    let mut matrix = quiver::vecfile::Matrix {
        rows: 0,
        dim,
        data: Vec::new(),
    };
    let bar = match npy {
        // A file is counted first, so the bar has a length and an ETA.
        Some(_) if file != Path::new("-") => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            Some(progress(
                text.lines().filter(|l| !l.trim().is_empty()).count() as u64,
                "texts",
            ))
        }
        Some(_) => Some(progress(0, "texts")),
        None => None,
    };
    let mut write_chunk = |chunk: &mut Vec<String>| -> DynResult<()> {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let vectors = if as_queries {
            embedder.embed_queries(&refs)?
        } else {
            embedder.embed_documents(&refs)?
        };
        for v in vectors {
            if npy.is_some() {
                matrix.data.extend_from_slice(&v);
                matrix.rows += 1;
            } else {
                writeln!(out, "{}", json!({ "vector": v }))?;
            }
        }
        out.flush()?;
        if let Some(bar) = &bar {
            bar.inc(chunk.len() as u64);
        }
        chunk.clear();
        Ok(())
    };
    let mut chunk: Vec<String> = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let text = if line.trim_start().starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
            v.get("text")
                .and_then(|t| t.as_str())
                .ok_or_else(|| format!("{}:{}: no \"text\" string", file.display(), n + 1))?
                .to_owned()
        } else {
            line
        };
        chunk.push(text);
        if chunk.len() == 256 {
            write_chunk(&mut chunk)?;
        }
    }
    if !chunk.is_empty() {
        write_chunk(&mut chunk)?;
    }
    if let Some(path) = npy {
        quiver::vecfile::write_npy(path, &matrix)?;
        eprintln!(
            "wrote {} x {dim} vectors to {}",
            matrix.rows,
            path.display()
        );
    }
    Ok(())
}

/// Search parameters from the command line.
struct Tuning {
    nprobe: Option<usize>,
    refine: Option<usize>,
    exact: bool,
    filter: Option<Filter>,
}

fn search(
    c: &Collection,
    queries: &[Vec<f32>],
    labels: &[String],
    k: usize,
    as_json: bool,
    tuning: &Tuning,
) -> DynResult<()> {
    let start = Instant::now();
    let mut template = SearchRequest::new(&[], k).exact(tuning.exact);
    template.nprobe = tuning.nprobe;
    template.refine = tuning.refine;
    template.filter = tuning.filter.as_ref();
    // A handful of queries (e.g. --like words) go one by one; files as a batch.
    let results = if queries.len() < 8 {
        queries
            .iter()
            .map(|q| {
                c.search_with(&SearchRequest {
                    vector: q,
                    ..template.clone()
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        c.search_batch_with(queries, &template)?
    };
    print_results(&results, labels, as_json, start.elapsed())
}

/// Prints each query's hits (a table, or one JSON line per query) and the timing.
fn print_results(
    results: &[Vec<Hit>],
    labels: &[String],
    as_json: bool,
    elapsed: std::time::Duration,
) -> DynResult<()> {
    let queries = results;
    for (i, hits) in results.iter().enumerate() {
        if as_json {
            let hits: Vec<_> = hits.iter().map(hit_json).collect();
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

fn print_record(r: &Record, vectors: bool) {
    let mut line = json!({"id": r.id, "payload": r.payload});
    if let Some(text) = &r.text {
        line["text"] = json!(text);
    }
    if vectors {
        line["vector"] = json!(r.vector);
    }
    println!("{line}");
}

fn info(path: &Path, as_json: bool) -> DynResult<()> {
    let db = Database::open(path)?;
    let size = db.file_size()?;
    let colls = db.collections()?;
    if as_json {
        let list = colls
            .iter()
            .map(|c| {
                let model = db.collection(&c.name)?.model()?;
                Ok(
                    json!({"name": c.name, "dim": c.dim, "metric": c.metric.name(),
                       "dtype": c.element_type.name(), "count": c.count,
                       "created_at_ms": c.created_at_ms, "model": model,
                       "multi_vector": c.multi_vector,
                       "payload_indexes": db.collection(&c.name)?.payload_indexes()?}),
                )
            })
            .collect::<Result<Vec<_>, Error>>()?;
        println!(
            "{}",
            json!({"path": path, "file_size": size, "collections": list})
        );
        return Ok(());
    }
    println!(
        "{}: {} bytes, {} collection(s)",
        path.display(),
        size,
        colls.len()
    );
    if !colls.is_empty() {
        println!(
            "  {:<24} {:>6} {:<7} {:<5} {:>12}  index",
            "name", "dim", "metric", "dtype", "records"
        );
    }
    for c in colls {
        let handle = db.collection(&c.name)?;
        let mut index = match handle.index_info()? {
            Some(i) => describe_index(&i),
            None => "flat".to_owned(),
        };
        if let Some(model) = handle.model()? {
            index.push_str(&format!("; model {}", model.fingerprint()));
        }
        for p in handle.payload_indexes()? {
            index.push_str(&format!("; {} {}", p.kind.name(), p.field));
        }
        println!(
            "  {:<24} {:>6} {:<7} {:<5} {:>12}  {index}",
            c.name,
            c.dim,
            c.metric.name(),
            c.element_type.name(),
            c.count
        );
    }
    Ok(())
}
