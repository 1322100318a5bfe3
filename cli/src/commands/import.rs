//! Importing records from files.

use super::*;

/// The arguments of `quiver import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    pub db: PathBuf,
    pub collection: String,
    pub file: PathBuf,
    /// File format; guessed from the extension when omitted.
    #[arg(long)]
    pub format: Option<String>,
    /// For .npy/.fvecs: a text file with one id per line (default: the row number).
    #[arg(long)]
    pub ids: Option<PathBuf>,
    /// Records per transaction, each committed durably (default 1000; 128 for texts,
    /// which are embedded batch by batch).
    #[arg(long)]
    pub batch: Option<usize>,
}

pub(super) fn run(args: ImportArgs) -> DynResult<()> {
    let ImportArgs {
        db,
        collection,
        file,
        format,
        ids,
        batch,
    } = args;
    import(
        &db,
        &collection,
        &file,
        format.as_deref(),
        ids.as_deref(),
        batch,
    )
}

pub(super) fn progress(total: u64, unit: &str) -> ProgressBar {
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
pub(super) fn position(e: &Error) -> Option<usize> {
    match e {
        Error::DimensionMismatch { position, .. } | Error::InvalidVector { position, .. } => {
            *position
        }
        Error::InvalidId { position, .. }
        | Error::InvalidPayload { position, .. }
        | Error::PayloadTooLarge { position, .. } => Some(*position),
        Error::InvalidText { position, .. } | Error::InvalidMatrix { position, .. } => *position,
        _ => None,
    }
}

/// A batch error, prefixed with the file position of the record it points at (if any).
pub(super) fn located(e: Error, origin: &[String]) -> Box<dyn std::error::Error> {
    match position(&e).and_then(|p| origin.get(p)) {
        Some(at) => format!("{at}: {e}").into(),
        None => e.into(),
    }
}

pub(super) fn import(
    db: &Path,
    collection: &str,
    file: &Path,
    format: Option<&str>,
    ids_file: Option<&Path>,
    batch_size: Option<usize>,
) -> DynResult<()> {
    let format = readers::format_of(file, format)?;
    let db = open_writer(db)?;
    let c = db.collection(collection)?;
    let has_model = c.model()?.is_some();
    let batch_size = batch_size.unwrap_or(if has_model { 128 } else { 1000 });
    if batch_size == 0 {
        return Err("--batch must be at least 1".into());
    }
    let start = Instant::now();
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
                            flush(&c, &mut multi_batch, &mut multi_origin)?;
                        }
                    }
                    (Some(vector), None, None) => {
                        batch.push(Record::new(id, vector).with_payload(r.payload));
                        origin.push(where_);
                        if batch.len() == batch_size {
                            flush(&c, &mut batch, &mut origin)?;
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
                            flush(&c, &mut text_batch, &mut text_origin)?;
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
            flush(&c, &mut batch, &mut origin)?;
            flush(&c, &mut text_batch, &mut text_origin)?;
            flush(&c, &mut multi_batch, &mut multi_origin)?;
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
                    flush(&c, &mut batch, &mut origin)?;
                    bar.inc(batch_size as u64);
                }
            }
            flush(&c, &mut batch, &mut origin)?;
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

/// Upserts the pending batch (of any record type) in one transaction and empties it;
/// `origin[i]` names where record i came from, for error messages.
fn flush<R>(c: &Collection, batch: &mut Vec<R>, origin: &mut Vec<String>) -> DynResult<()>
where
    for<'a> &'a [R]: Into<Records<'a>>,
{
    if batch.is_empty() {
        return Ok(());
    }
    c.upsert(batch.as_slice()).map_err(|e| located(e, origin))?;
    batch.clear();
    origin.clear();
    Ok(())
}
