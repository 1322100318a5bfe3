//! Reading, counting and deleting records.

use super::*;

/// The arguments of `quiver get`.
#[derive(clap::Args)]
pub struct GetArgs {
    pub db: PathBuf,
    pub collection: String,
    #[arg(required_unless_present = "filter")]
    pub ids: Vec<String>,
    /// Print the vectors too.
    #[arg(long)]
    pub vectors: bool,
    #[arg(long, conflicts_with = "ids")]
    pub filter: Option<String>,
    /// With --filter: print at most this many records.
    #[arg(long, default_value_t = 100, requires = "filter")]
    pub limit: usize,
}

pub(super) fn get(args: GetArgs) -> DynResult<()> {
    let GetArgs {
        db,
        collection,
        ids,
        vectors,
        filter,
        limit,
    } = args;
    let db = open_reader(&db)?;
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

/// The arguments of `quiver delete`.
#[derive(clap::Args)]
pub struct DeleteArgs {
    pub db: PathBuf,
    pub collection: String,
    #[arg(required_unless_present = "filter")]
    pub ids: Vec<String>,
    #[arg(long, conflicts_with = "ids")]
    pub filter: Option<String>,
}

pub(super) fn delete(args: DeleteArgs) -> DynResult<()> {
    let DeleteArgs {
        db,
        collection,
        ids,
        filter,
    } = args;
    let db = open_writer(&db)?;
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

/// The arguments of `quiver count`.
#[derive(clap::Args)]
pub struct CountArgs {
    pub db: PathBuf,
    pub collection: String,
    #[arg(long)]
    pub filter: Option<String>,
}

pub(super) fn count(args: CountArgs) -> DynResult<()> {
    let CountArgs {
        db,
        collection,
        filter,
    } = args;
    let db = open_reader(&db)?;
    let c = db.collection(&collection)?;
    let n = match filter {
        Some(f) => c.count_where(&Filter::parse(&f)?)?,
        None => c.count()?,
    };
    println!("{n}");
    Ok(())
}

pub(super) fn print_record(r: &Record, vectors: bool) {
    let mut line = json!({"id": r.id, "payload": r.payload});
    if let Some(text) = &r.text {
        line["text"] = json!(text);
    }
    if vectors {
        line["vector"] = json!(r.vector);
    }
    println!("{line}");
}
