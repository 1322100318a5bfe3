//! Scatter plots for `quiver map`, as PNG or SVG (by the file's extension), with `plotters`.
//! Text is drawn from the DejaVu Sans font compiled into the binary (no system fonts).

use crate::readers::DynResult;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::Path;
use std::sync::Once;

/// Tableau 10: distinguishable, and readable by most colour-blind viewers.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(89, 161, 79),
    RGBColor(225, 87, 89),
    RGBColor(176, 122, 161),
    RGBColor(118, 183, 178),
    RGBColor(237, 201, 72),
    RGBColor(156, 117, 95),
    RGBColor(255, 157, 167),
    RGBColor(186, 176, 172),
];
const OTHER: RGBColor = RGBColor(200, 200, 200);
const HIGHLIGHT: RGBColor = RGBColor(200, 0, 0);

/// What to draw: points, optionally in named groups (the ten largest coloured, the rest
/// grey as "other"), some highlighted.
pub struct Scatter<'a> {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub points: &'a [[f32; 2]],
    /// Per point, its group's name (None: no grouping).
    pub groups: Option<Vec<String>>,
    /// Per point (or empty): drawn on top, ringed, under `highlight_label`.
    pub highlight: Vec<bool>,
    pub highlight_label: String,
}

pub fn render(path: &Path, scatter: &Scatter<'_>) -> DynResult<()> {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // The embedded font parses; if it somehow did not, plotters reports missing glyphs
        // when drawing, which the caller sees as an error.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
    let size = (1200, 900);
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") => {
            draw(SVGBackend::new(path, size).into_drawing_area(), scatter)
        }
        Some(e) if e.eq_ignore_ascii_case("png") => {
            draw(BitMapBackend::new(path, size).into_drawing_area(), scatter)
        }
        _ => Err(format!("{}: the map is written as .png or .svg", path.display()).into()),
    }
}

/// The group index of each point (`usize::MAX` = other) and the legend's names, largest
/// group first (ties by name, so the colours do not depend on record order).
fn legend(groups: &[String]) -> (Vec<usize>, Vec<(String, usize)>) {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for g in groups {
        *counts.entry(g).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let shown: Vec<(String, usize)> = ranked
        .iter()
        .take(PALETTE.len())
        .map(|&(g, n)| (g.to_owned(), n))
        .collect();
    let index = groups
        .iter()
        .map(|g| shown.iter().position(|(s, _)| s == g).unwrap_or(usize::MAX))
        .collect();
    (index, shown)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    s: &Scatter<'_>,
) -> DynResult<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in s.points {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    if s.points.is_empty() {
        (x0, x1, y0, y1) = (-1.0, 1.0, -1.0, 1.0);
    }
    let pad = |lo: f32, hi: f32| ((hi - lo) * 0.05).max(1e-6);
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    let mut chart = ChartBuilder::on(&root)
        .caption(&s.title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(&s.x_label)
        .y_desc(&s.y_label)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let radius = if s.points.len() > 5_000 { 2 } else { 3 };
    match &s.groups {
        None => {
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|p| Circle::new((p[0], p[1]), radius, PALETTE[0].mix(0.5).filled())),
                )
                .map_err(err)?
                .label(format!("records ({})", s.points.len()))
                .legend(|(x, y)| Circle::new((x, y), 5, PALETTE[0].filled()));
        }
        Some(groups) => {
            let (index, shown) = legend(groups);
            // "other" first, so that named groups are drawn over it.
            let others = index.iter().filter(|&&g| g == usize::MAX).count();
            if others > 0 {
                chart
                    .draw_series(
                        s.points
                            .iter()
                            .zip(&index)
                            .filter(|(_, g)| **g == usize::MAX)
                            .map(|(p, _)| {
                                Circle::new((p[0], p[1]), radius, OTHER.mix(0.5).filled())
                            }),
                    )
                    .map_err(err)?
                    .label(format!("other ({others})"))
                    .legend(|(x, y)| Circle::new((x, y), 5, OTHER.filled()));
            }
            for (g, (name, n)) in shown.iter().enumerate() {
                let colour = PALETTE[g];
                chart
                    .draw_series(
                        s.points
                            .iter()
                            .zip(&index)
                            .filter(|(_, i)| **i == g)
                            .map(|(p, _)| {
                                Circle::new((p[0], p[1]), radius, colour.mix(0.5).filled())
                            }),
                    )
                    .map_err(err)?
                    .label(format!("{name} ({n})"))
                    .legend(move |(x, y)| Circle::new((x, y), 5, colour.filled()));
            }
        }
    }
    let highlighted = s.highlight.iter().filter(|&&h| h).count();
    if highlighted > 0 {
        chart
            .draw_series(
                s.points
                    .iter()
                    .zip(&s.highlight)
                    .filter(|(_, h)| **h)
                    .map(|(p, _)| Circle::new((p[0], p[1]), radius + 3, HIGHLIGHT.stroke_width(2))),
            )
            .map_err(err)?
            .label(format!("{} ({highlighted})", s.highlight_label))
            .legend(|(x, y)| Circle::new((x, y), 6, HIGHLIGHT.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
