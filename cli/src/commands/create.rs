//! Creating collections.

use super::*;

/// The arguments of `quiver create`.
#[derive(clap::Args)]
pub struct CreateArgs {
    pub db: PathBuf,
    pub collection: String,
    /// Vector dimension (taken from the model with --model).
    #[arg(long, required_unless_present = "model")]
    pub dim: Option<usize>,
    /// A sentence-transformers / HuggingFace BERT model folder: the collection embeds its
    /// own text with it (scripts/fetch_model.sh fetches all-MiniLM-L6-v2).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --model: prepended to every query text (e.g. "query: " for e5 models).
    #[arg(long, default_value = "", requires = "model")]
    pub query_prefix: String,
    /// With --model: prepended to every document text (e.g. "passage: " for e5).
    #[arg(long, default_value = "", requires = "model")]
    pub document_prefix: String,
    /// cosine, dot or l2.
    #[arg(long, default_value = "cosine")]
    pub metric: String,
    /// Stored element type: f32, f16 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// A multi-vector collection: records are matrices of --dim-wide token vectors,
    /// searched by MaxSim (metric cosine or dot). With --model it embeds text into token
    /// matrices (the model's normalised token outputs, or ColBERT's with --colbert).
    /// See docs/multi-vector.md.
    #[arg(long)]
    pub multi_vector: bool,
    /// With --multi-vector --model: the folder is a ColBERT checkpoint (BERT trunk +
    /// linear head, query/document markers, [MASK]-expanded queries).
    #[arg(long, requires_all = ["model", "multi_vector"])]
    pub colbert: bool,
    /// With --colbert: a safetensors file holding the head (`linear.weight`), when the
    /// checkpoint folder has none.
    #[arg(long, requires = "colbert")]
    pub projection: Option<PathBuf>,
    /// With --colbert: whether queries attend to their [MASK] expansion tokens (default:
    /// the checkpoint's setting, else true).
    #[arg(long, requires = "colbert")]
    pub attend_expansion: Option<bool>,
}

pub(super) fn run(args: CreateArgs) -> DynResult<()> {
    let CreateArgs {
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
    } = args;
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
            config.metric(metric)
        }
        None if multi_vector => CollectionConfig::multi_vector(dim.unwrap_or_default(), metric),
        None => CollectionConfig::new(dim.unwrap_or_default(), metric),
    }
    .element_type(dtype);
    let dim = config.dim;
    let db = options().create(&db)?;
    db.create_collection(&collection, config)?;
    let kind = if multi_vector { ", multi-vector" } else { "" };
    eprintln!("created collection '{collection}' ({dim}-d, {metric}, {dtype}{kind})");
    Ok(())
}
