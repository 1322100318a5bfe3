//! Approximate and payload indexes.

use super::*;

/// The arguments of `quiver index`.
#[derive(clap::Args)]
pub struct IndexArgs {
    pub db: PathBuf,
    pub collection: String,
    /// Inverted lists (default 4 x sqrt(n)).
    #[arg(long)]
    pub nlist: Option<usize>,
    /// PQ sub-quantizers; must divide the dimension (default about dim / 2 or dim / 4).
    #[arg(long)]
    pub m: Option<usize>,
    /// Bits per PQ code: 8, or 4 for fast-scan codes (docs/ann.md).
    #[arg(long)]
    pub bits: Option<u32>,
    /// Training seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Multi-vector collections: token centroids (default 2 x sqrt(tokens), a power of 2).
    #[arg(long)]
    pub centroids: Option<usize>,
    /// Remove the index instead (searches become exact).
    #[arg(long)]
    pub drop: bool,
}

pub(super) fn index(args: IndexArgs) -> DynResult<()> {
    let IndexArgs {
        db,
        collection,
        nlist,
        m,
        bits,
        seed,
        centroids,
        drop,
    } = args;
    let db = open_writer(&db)?;
    let c = db.collection(&collection)?;
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
    let params = if c.info()?.kind == CollectionKind::MultiVector {
        let mut params = MultiIndexParams::default().centroids(centroids);
        if let Some(seed) = seed {
            params.seed = seed;
        }
        IndexParams::Tokens(params)
    } else {
        IndexParams::IvfPq(
            IvfPqParams::default()
                .nlist(nlist)
                .m(m)
                .bits(bits)
                .seed(seed),
        )
    };
    let t = Instant::now();
    let info = c.create_index(params)?;
    eprintln!(
        "indexed {} records: {} in {:.2} s",
        info.indexed(),
        describe_index(&info),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The arguments of `quiver payload-index`.
#[derive(clap::Args)]
pub struct PayloadIndexArgs {
    pub db: PathBuf,
    pub collection: String,
    /// Dotted field path, e.g. user.id.
    pub field: String,
    /// keyword, integer, float or bool.
    #[arg(long, required_unless_present = "drop")]
    pub kind: Option<String>,
    #[arg(long)]
    pub drop: bool,
}

pub(super) fn payload_index(args: PayloadIndexArgs) -> DynResult<()> {
    let PayloadIndexArgs {
        db,
        collection,
        field,
        kind,
        drop,
    } = args;
    let db = open_writer(&db)?;
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
    let kind = PayloadIndexKind::parse(&kind)
        .ok_or_else(|| format!("--kind '{kind}': expected keyword, integer, float or bool"))?;
    let t = Instant::now();
    c.create_payload_index(&field, kind)?;
    eprintln!(
        "payload index on '{field}' ({}) ready in {:.2} s",
        kind.name(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An index's shape in one phrase.
pub(super) fn describe_index(info: &IndexInfo) -> String {
    match info {
        IndexInfo::IvfPq(i) => format!("IVF-PQ nlist {} m {} ({}-bit codes)", i.nlist, i.m, i.bits),
        IndexInfo::Tokens(i) => format!("token index, {} centroids", i.centroids),
        _ => "an index".to_owned(),
    }
}
