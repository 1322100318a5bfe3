//! `quiver cluster`, `quiver outliers`, `quiver map`: a collection's embedding space as a
//! whole (docs/space.md).

use super::*;
use crate::plot::{self, Scatter};
use quiver::space::{MapParams, OutlierParams, RecordOutlier};
use serde_json::Value;
use std::collections::HashMap;

/// The arguments of `quiver cluster`.
#[derive(clap::Args)]
pub struct ClusterArgs {
    pub db: PathBuf,
    pub collection: String,
    /// Number of clusters.
    #[arg(long)]
    pub k: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write each record's cluster into this payload field (one transaction) instead of
    /// printing JSONL.
    #[arg(long)]
    pub into_payload: Option<String>,
    /// Write the JSONL rows ({"id", "cluster", "distance"}) here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub(super) fn cluster(args: ClusterArgs) -> DynResult<()> {
    let db = match args.into_payload {
        Some(_) => open_writer(&args.db)?,
        None => open_reader(&args.db)?,
    };
    let c = db.collection(&args.collection)?;
    let start = Instant::now();
    let clustering = c.cluster(args.k, args.seed)?;
    let mut sizes = clustering.sizes.clone();
    sizes.sort_unstable();
    eprintln!(
        "{} records in {} clusters in {:.2} s: sizes {} to {} (median {}), inertia {:.4}",
        clustering.members.len(),
        sizes.len(),
        start.elapsed().as_secs_f64(),
        sizes.first().unwrap_or(&0),
        sizes.last().unwrap_or(&0),
        sizes.get(sizes.len() / 2).unwrap_or(&0),
        clustering.inertia
    );
    if let Some(field) = &args.into_payload {
        let n = c.label_clusters(&clustering, field)?;
        eprintln!("wrote \"{field}\" into {n} payloads");
        return Ok(());
    }
    write_lines(args.out.as_deref(), |w| {
        for m in &clustering.members {
            let row = json!({"id": m.id, "cluster": m.cluster, "distance": m.distance});
            writeln!(w, "{row}")?;
        }
        Ok(())
    })
}

/// The arguments of `quiver outliers`.
#[derive(clap::Args)]
pub struct OutliersArgs {
    pub db: PathBuf,
    pub collection: String,
    /// Print the N most unusual records (0: every record).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Rank by: neighbours (mean distance to the nearest records) or centroid (distance to
    /// the nearest k-means centroid).
    #[arg(long, default_value = "neighbours")]
    pub by: String,
    /// Nearest records the neighbour score averages.
    #[arg(long, default_value_t = 10)]
    pub neighbours: usize,
    /// k-means clusters of the centroid score (default: round(sqrt(records))).
    #[arg(long)]
    pub clusters: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Exact neighbour search even when the collection has an approximate index.
    #[arg(long)]
    pub exact: bool,
    /// Score this vector (a JSON array) instead of the records; nothing is stored.
    #[arg(long, conflicts_with = "text")]
    pub vector: Option<String>,
    /// Score this text (embedded with the collection's model) instead of the records.
    #[arg(long)]
    pub text: Option<String>,
}

pub(super) fn outliers(args: OutliersArgs) -> DynResult<()> {
    let by_centroid = match args.by.as_str() {
        "neighbours" | "neighbors" => false,
        "centroid" => true,
        other => return Err(format!("--by {other}: neighbours or centroid").into()),
    };
    let db = open_reader(&args.db)?;
    let c = db.collection(&args.collection)?;
    let params = OutlierParams::default()
        .neighbours(args.neighbours)
        .clusters(args.clusters)
        .seed(args.seed)
        .exact(args.exact);
    let scorer = c.outlier_scorer(&params)?;
    let single = match (&args.vector, &args.text) {
        (Some(v), _) => {
            let v: Vec<f32> = serde_json::from_str(v)
                .map_err(|e| format!("--vector: a JSON array of numbers: {e}"))?;
            Some(scorer.score(&v)?)
        }
        (None, Some(t)) => Some(scorer.score_text(t)?),
        (None, None) => None,
    };
    if let Some(s) = single {
        let row = json!({
            "neighbour_distance": s.neighbour_distance,
            "centroid_distance": s.centroid_distance,
        });
        println!("{row}");
        return Ok(());
    }
    let bar = progress(c.count()?, "records");
    let mut scores = scorer.records_with_progress(|done, _| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    rank(&mut scores, by_centroid);
    let top = if args.top == 0 {
        scores.len()
    } else {
        args.top
    };
    write_lines(None, |w| {
        for (rank, s) in scores.iter().take(top).enumerate() {
            let row = json!({
                "rank": rank + 1,
                "id": s.id,
                "neighbour_distance": s.score.neighbour_distance,
                "centroid_distance": s.score.centroid_distance,
            });
            writeln!(w, "{row}")?;
        }
        Ok(())
    })
}

/// Most unusual first (ties: insertion order).
fn rank(scores: &mut [RecordOutlier], by_centroid: bool) {
    let key = |s: &RecordOutlier| match by_centroid {
        true => s.score.centroid_distance,
        false => s.score.neighbour_distance,
    };
    scores.sort_by(|a, b| key(b).total_cmp(&key(a)));
}

/// The arguments of `quiver map`.
#[derive(clap::Args)]
pub struct MapArgs {
    pub db: PathBuf,
    pub collection: String,
    /// The picture: .png or .svg (with --json: the coordinates; stdout without --out).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Colour points by "cluster" (k-means, --clusters) or by a payload field's value.
    #[arg(long)]
    pub color_by: Option<String>,
    /// Clusters of --color-by cluster.
    #[arg(long, default_value_t = 10)]
    pub clusters: usize,
    /// Ring the most unusual records: "outliers" (by the neighbour score).
    #[arg(long)]
    pub highlight: Option<String>,
    /// Share of records --highlight outliers rings.
    #[arg(long, default_value_t = 0.01)]
    pub outlier_share: f64,
    /// Records drawn (a seeded sample; 0: all).
    #[arg(long, default_value_t = 20_000)]
    pub sample: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the 2-D coordinates as JSON instead of a picture.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn map(args: MapArgs) -> DynResult<()> {
    if !args.json && args.out.is_none() {
        return Err("--out map.png|map.svg (or --json for the coordinates)".into());
    }
    if let Some(h) = args.highlight.as_deref().filter(|h| *h != "outliers") {
        return Err(format!("--highlight {h}: only \"outliers\"").into());
    }
    if !(0.0..=1.0).contains(&args.outlier_share) {
        return Err(format!("--outlier-share {}: between 0 and 1", args.outlier_share).into());
    }
    let db = open_reader(&args.db)?;
    let c = db.collection(&args.collection)?;
    let total = c.count()?;
    let start = Instant::now();
    let sample = (args.sample > 0).then_some(args.sample);
    let map = c.map(&MapParams::default().sample(sample).seed(args.seed))?;
    let groups = match args.color_by.as_deref() {
        None => None,
        Some("cluster") => {
            let clustering = c.cluster(args.clusters, args.seed)?;
            let of: HashMap<&str, u32> = clustering
                .members
                .iter()
                .map(|m| (m.id.as_str(), m.cluster))
                .collect();
            Some(
                map.ids
                    .iter()
                    .map(|id| {
                        of.get(id.as_str())
                            .map_or("?".into(), |k| format!("cluster {k}"))
                    })
                    .collect::<Vec<String>>(),
            )
        }
        Some(field) => Some(
            map.ids
                .iter()
                .map(|id| {
                    let payload = c.get(id)?.and_then(|r| r.payload);
                    Ok(match payload.as_ref().and_then(|p| p.get(field)) {
                        None | Some(Value::Null) => "(none)".to_owned(),
                        Some(Value::String(s)) => s.clone(),
                        Some(v) => v.to_string(),
                    })
                })
                .collect::<quiver::Result<Vec<String>>>()?,
        ),
    };
    let highlight: Vec<bool> = match args.highlight {
        None => Vec::new(),
        Some(_) => {
            let scorer = c.outlier_scorer(&OutlierParams::default().seed(args.seed))?;
            let bar = progress(total, "records scored");
            let mut scores =
                scorer.records_with_progress(|done, _| bar.set_position(done as u64))?;
            bar.finish_and_clear();
            rank(&mut scores, false);
            let n = (scores.len() as f64 * args.outlier_share).ceil() as usize;
            let unusual: std::collections::HashSet<&str> =
                scores[..n].iter().map(|s| s.id.as_str()).collect();
            map.ids
                .iter()
                .map(|id| unusual.contains(id.as_str()))
                .collect()
        }
    };
    let axis = |a: usize| {
        format!(
            "PC{} ({:.1}% of the variance)",
            a + 1,
            100.0 * map.explained[a]
        )
    };
    if args.json {
        let points: Vec<Value> = map
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut p = json!({"id": id, "x": map.points[i][0], "y": map.points[i][1]});
                if let Some(g) = &groups {
                    p["group"] = json!(g[i]);
                }
                if let Some(&h) = highlight.get(i) {
                    p["outlier"] = json!(h);
                }
                p
            })
            .collect();
        let doc = json!({"method": "pca", "explained": map.explained, "points": points});
        return write_lines(args.out.as_deref(), |w| Ok(writeln!(w, "{doc}")?));
    }
    let Some(out) = &args.out else {
        return Err("--out map.png|map.svg".into());
    };
    let title = format!(
        "{}: {} of {total} records, PCA",
        args.collection,
        map.ids.len()
    );
    let highlight_label = format!("outliers (top {:.1}%)", 100.0 * args.outlier_share);
    plot::render(
        out,
        &Scatter {
            title,
            x_label: axis(0),
            y_label: axis(1),
            points: &map.points,
            groups,
            highlight,
            highlight_label,
        },
    )?;
    eprintln!(
        "{}: {} points in {:.2} s; PC1 {:.1}%, PC2 {:.1}% of the variance",
        out.display(),
        map.ids.len(),
        start.elapsed().as_secs_f64(),
        100.0 * map.explained[0],
        100.0 * map.explained[1]
    );
    Ok(())
}
