//! `quiver pack`: training pairs packed into batches by cluster (hard in-batch negatives).

use super::*;
use quiver::mining::{PackRequest, PairQuery};

/// The arguments of `quiver pack`.
#[derive(clap::Args)]
pub struct PackArgs {
    pub db: PathBuf,
    pub collection: String,
    /// Pairs: JSONL lines {"query": text or [vector], "positive": id or [ids]} ('-' reads
    /// stdin).
    pub pairs: PathBuf,
    /// Pairs per batch (the trainer's batch size).
    #[arg(long)]
    pub batch_size: usize,
    /// k-means clusters of the positives (default: pairs / batch size, rounded up).
    #[arg(long)]
    pub clusters: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write positive ids instead of the records' stored texts.
    #[arg(long)]
    pub ids: bool,
    /// Write the rows here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub(super) fn run(args: PackArgs) -> DynResult<()> {
    let (pairs, lines) = super::mine::read_pairs(&args.pairs)?;
    let db = open_reader(&args.db)?;
    let c = db.collection(&args.collection)?;
    let start = Instant::now();
    let request = PackRequest::new(&pairs, args.batch_size)
        .clusters(args.clusters)
        .seed(args.seed);
    let packed = c.pack_batches(&request).map_err(|e| match &e {
        Error::InvalidPair { pair, .. } => {
            format!("{}:{}: {e}", args.pairs.display(), lines[*pair])
        }
        _ => e.to_string(),
    })?;
    // Positives as texts (the records' stored texts), or ids.
    let positive = |id: &str| -> DynResult<serde_json::Value> {
        if args.ids {
            return Ok(json!(id));
        }
        let text = c.get(id)?.and_then(|r| r.text);
        text.map(|t| json!(t))
            .ok_or_else(|| format!("record '{id}' has no stored text: write ids with --ids").into())
    };
    write_lines(args.out.as_deref(), |w| {
        for (b, batch) in packed.batches.iter().enumerate() {
            for &i in batch {
                let p = &pairs[i];
                let anchor = match &p.query {
                    PairQuery::Text(t) => json!(t),
                    PairQuery::Vector(v) => json!(v),
                    _ => return Err("a query that is neither a text nor a vector".into()),
                };
                let first = p.positives.first().ok_or("a pair without positive")?;
                let row = json!({"batch": b, "anchor": anchor, "positive": positive(first)?});
                writeln!(w, "{row}")?;
            }
        }
        Ok(())
    })?;
    let short = packed
        .batches
        .iter()
        .filter(|b| b.len() < args.batch_size)
        .count();
    eprintln!(
        "{} pairs in {} batches of {} in {:.2} s ({} single-cluster of {} clusters, {short} \
         short); in-batch negative similarity {:.4} (random batches: {:.4})",
        pairs.len(),
        packed.batches.len(),
        args.batch_size,
        start.elapsed().as_secs_f64(),
        packed.single_cluster,
        packed.clusters,
        packed.hardness,
        packed.random_hardness,
    );
    Ok(())
}
