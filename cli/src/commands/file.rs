//! The database file: listing, checking, compacting, upgrading, dropping collections.

use super::*;

/// The arguments of `quiver info`.
#[derive(clap::Args)]
pub struct InfoArgs {
    pub db: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub(super) fn info(args: InfoArgs) -> DynResult<()> {
    let InfoArgs { db, json } = args;
    list(&db, json)
}

/// The arguments of `quiver drop`.
#[derive(clap::Args)]
pub struct DropArgs {
    pub db: PathBuf,
    pub collection: String,
}

pub(super) fn drop(args: DropArgs) -> DynResult<()> {
    let DropArgs { db, collection } = args;
    open_writer(&db)?.drop_collection(&collection)?;
    eprintln!("dropped collection '{collection}'");
    Ok(())
}

/// The arguments of `quiver check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    pub db: PathBuf,
}

pub(super) fn check(args: CheckArgs) -> DynResult<()> {
    let CheckArgs { db } = args;
    let db = open_reader(&db)?;
    for info in db.collections()? {
        let n = db.collection(&info.name)?.check()?;
        println!("{}: ok ({n} records)", info.name);
    }
    Ok(())
}

/// The arguments of `quiver compact`.
#[derive(clap::Args)]
pub struct CompactArgs {
    pub db: PathBuf,
}

pub(super) fn compact(args: CompactArgs) -> DynResult<()> {
    let CompactArgs { db } = args;
    let (before, after) = options().compact(&db)?;
    eprintln!("compacted {}: {before} -> {after} bytes", db.display());
    Ok(())
}

/// The arguments of `quiver upgrade`.
#[derive(clap::Args)]
pub struct UpgradeArgs {
    pub old: PathBuf,
    pub new: PathBuf,
}

pub(super) fn upgrade(args: UpgradeArgs) -> DynResult<()> {
    let UpgradeArgs { old, new } = args;
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

fn list(path: &Path, as_json: bool) -> DynResult<()> {
    let db = open_reader(path)?;
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
                    "reranker": db.collection(&c.name)?.reranker_identity()?,
                    "multi_vector": c.multi_vector,
                    "payload_indexes": db.collection(&c.name)?.payload_indexes()?,
                    "text_index": db.collection(&c.name)?.text_index()?.map(|t| json!({
                        "fields": t.params.fields, "rows": t.rows, "avg_len": t.avg_len,
                        "k1": t.params.k1, "b": t.params.b, "blocks": t.blocks, "bytes": t.bytes,
                        "stemming": t.params.stemming_name(),
                        "stop_words": t.params.stop_words_name(),
                    }))}),
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
        if let Some(t) = handle.text_index()? {
            index.push_str(&format!("; {}", describe_text_index(&t)));
        }
        if let Some(r) = handle.reranker_identity()? {
            index.push_str(&format!("; re-ranker {}", r.fingerprint()));
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
