//! PNG plots of fitted models and sweeps, drawn with `plotters` on a bitmap and an embedded
//! font (DejaVu Sans, in `assets/fonts/`): no system fonts, fontconfig or other system library
//! is needed.
//!
//! - [`clusters`]: points on two axes (e.g. the first two principal components), coloured by
//!   cluster, with the centres marked;
//! - [`explained_variance`]: each component's share of the variance and the running total;
//! - [`learning_curves`]: score against `partial_fit` calls for every model of an adaptive
//!   search ([`learning_curves_of`] takes a search's [`ModelInfo`]s).
//!
//! Every function checks its input (lengths, finiteness, emptiness) and returns a [`PlotError`]
//! rather than drawing something wrong.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use rask_ml::model_selection::ModelInfo;

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Size of every plot, in pixels.
const SIZE: (u32, u32) = (960, 680);

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The data cannot be plotted (empty, mismatched lengths, not finite).
    #[error("cannot plot {what}: {why}")]
    Data {
        /// Which plot.
        what: &'static str,
        /// What is wrong with its data.
        why: String,
    },
    /// Drawing or writing the file failed.
    #[error("drawing {path}: {message}")]
    Draw {
        /// The file being written.
        path: String,
        /// The backend's message.
        message: String,
    },
}

fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Draw { path: "(font)".into(), message: "the embedded font could not be read".into() })
    }
}

/// Draws on a fresh white PNG of [`SIZE`] at `path`, then writes it.
fn draw_png(
    path: &Path,
    f: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(), PlotError> {
    register_font()?;
    let err = |e: &dyn std::fmt::Display| PlotError::Draw { path: path.display().to_string(), message: e.to_string() };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
    }
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    f(&root).map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// The range of `xs` widened by 5% on each side (and to a unit width when all are equal).
fn padded(xs: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad)..(hi + pad)
}

fn check_finite(what: &'static str, xs: impl IntoIterator<Item = f64>) -> Result<(), PlotError> {
    match xs.into_iter().position(|x| !x.is_finite()) {
        Some(i) => Err(PlotError::Data { what, why: format!("value {i} is not finite") }),
        None => Ok(()),
    }
}

/// A colour per series index, readable on white.
fn colour(i: usize) -> RGBColor {
    const COLOURS: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    COLOURS[i % COLOURS.len()]
}

/// Points on two axes coloured by cluster, with each centre drawn as a black cross.
///
/// `points[i]` belongs to cluster `labels[i]`; `centres[c]` is cluster `c`'s centre on the
/// same axes. `axes` names the two axes (e.g. `("PC1", "PC2")`).
pub fn clusters(
    path: &Path,
    title: &str,
    axes: (&str, &str),
    points: &[[f64; 2]],
    labels: &[usize],
    centres: &[[f64; 2]],
) -> Result<(), PlotError> {
    const WHAT: &str = "clusters";
    if points.is_empty() {
        return Err(PlotError::Data { what: WHAT, why: "no points".into() });
    }
    if labels.len() != points.len() {
        return Err(PlotError::Data {
            what: WHAT,
            why: format!("{} points but {} labels", points.len(), labels.len()),
        });
    }
    if let Some(&l) = labels.iter().find(|&&l| l >= centres.len()) {
        return Err(PlotError::Data { what: WHAT, why: format!("label {l} but only {} centres", centres.len()) });
    }
    check_finite(WHAT, points.iter().chain(centres).flatten().copied())?;
    let xr = padded(points.iter().chain(centres).map(|p| p[0]));
    let yr = padded(points.iter().chain(centres).map(|p| p[1]));
    draw_png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(xr, yr)?;
        chart
            .configure_mesh()
            .x_desc(axes.0)
            .y_desc(axes.1)
            .label_style(("sans-serif", 15))
            .light_line_style(WHITE)
            .draw()?;
        for c in 0..centres.len() {
            let style = colour(c).mix(0.45).filled();
            chart
                .draw_series(
                    points
                        .iter()
                        .zip(labels)
                        .filter(|(_, &l)| l == c)
                        .map(|(p, _)| Circle::new((p[0], p[1]), 2, style)),
                )?
                .label(format!("cluster {c}"))
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour(c).filled()));
        }
        chart
            .draw_series(centres.iter().map(|c| Cross::new((c[0], c[1]), 9, BLACK.stroke_width(3))))?
            .label("centre")
            .legend(|(x, y)| Cross::new((x + 8, y), 6, BLACK.stroke_width(2)));
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    })
}

/// Each component's share of the variance as a bar, and the running total as a line.
pub fn explained_variance(path: &Path, title: &str, ratios: &[f64]) -> Result<(), PlotError> {
    const WHAT: &str = "explained variance";
    if ratios.is_empty() {
        return Err(PlotError::Data { what: WHAT, why: "no components".into() });
    }
    check_finite(WHAT, ratios.iter().copied())?;
    if let Some(r) = ratios.iter().find(|&&r| !(0.0..=1.0 + 1e-9).contains(&r)) {
        return Err(PlotError::Data { what: WHAT, why: format!("ratio {r} is outside [0, 1]") });
    }
    let n = ratios.len();
    let cumulative = running_total(ratios);
    draw_png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.4f64..n as f64 + 0.6, 0f64..1.05)?;
        chart
            .configure_mesh()
            .x_desc("component")
            .y_desc("share of variance")
            .x_labels(n.min(20))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{:.0}%", 100.0 * y))
            .label_style(("sans-serif", 15))
            .light_line_style(WHITE)
            .draw()?;
        chart
            .draw_series(ratios.iter().enumerate().map(|(i, &r)| {
                let x = (i + 1) as f64;
                Rectangle::new([(x - 0.35, 0.0), (x + 0.35, r)], colour(0).mix(0.75).filled())
            }))?
            .label("this component")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], colour(0).mix(0.75).filled()));
        let line: Vec<(f64, f64)> = cumulative.iter().enumerate().map(|(i, &c)| ((i + 1) as f64, c)).collect();
        chart
            .draw_series(LineSeries::new(line.iter().copied(), colour(1).stroke_width(3)))?
            .label("cumulative")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], colour(1).stroke_width(3)));
        chart.draw_series(line.iter().map(|&(x, c)| Circle::new((x, c), 4, colour(1).filled())))?;
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::MiddleRight)
            .draw()?;
        Ok(())
    })
}

/// The running total of `ratios`, capped at 1 (rounding can take it just past).
fn running_total(ratios: &[f64]) -> Vec<f64> {
    ratios
        .iter()
        .scan(0.0, |total, r| {
            *total += r;
            Some(f64::min(*total, 1.0))
        })
        .collect()
}

/// One model's learning curve: its score after each number of `partial_fit` calls.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The group it is coloured by (e.g. a Hyperband bracket).
    pub group: usize,
    /// `(partial_fit calls, score)`, in order of calls.
    pub points: Vec<(f64, f64)>,
    /// Drawn on top, thick and black, as the search's best model.
    pub best: bool,
}

/// The learning curves of an adaptive search's models ([`AdaptiveResult::models`](rask_ml::model_selection::AdaptiveResult)),
/// grouped by bracket (models without a bracket form group 0), the best model marked. Models
/// that failed, or that were never scored, have no curve.
pub fn learning_curves_of(models: &[ModelInfo], best_index: usize) -> Vec<Curve> {
    models
        .iter()
        .filter(|m| m.error.is_none() && !m.history.is_empty())
        .map(|m| Curve {
            group: m.bracket.unwrap_or(0),
            points: m.history.iter().map(|r| (r.calls as f64, r.score)).collect(),
            best: m.id == best_index,
        })
        .collect()
}

/// Score against `partial_fit` calls for every curve, one colour per group; `group_name` names
/// a group in the legend (e.g. `|b| format!("bracket {b}")`).
pub fn learning_curves(
    path: &Path,
    title: &str,
    score_name: &str,
    curves: &[Curve],
    group_name: impl Fn(usize) -> String,
) -> Result<(), PlotError> {
    const WHAT: &str = "learning curves";
    if curves.iter().all(|c| c.points.is_empty()) {
        return Err(PlotError::Data { what: WHAT, why: "no scored models".into() });
    }
    check_finite(WHAT, curves.iter().flat_map(|c| c.points.iter().flat_map(|&(x, y)| [x, y])))?;
    if let Some(&(x, _)) = curves.iter().flat_map(|c| &c.points).find(|p| p.0 < 1.0) {
        return Err(PlotError::Data { what: WHAT, why: format!("{x} calls: every point needs at least one call") });
    }
    let max_calls = curves.iter().flat_map(|c| c.points.iter().map(|p| p.0)).fold(1.0, f64::max);
    let yr = padded(curves.iter().flat_map(|c| c.points.iter().map(|p| p.1)));
    let mut groups: Vec<usize> = curves.iter().map(|c| c.group).collect();
    groups.sort_unstable();
    groups.dedup();
    draw_png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d((0.8f64..max_calls * 1.25).log_scale(), yr)?;
        chart
            .configure_mesh()
            .x_desc("partial_fit calls (blocks seen), log scale")
            .y_desc(score_name)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.3}"))
            .label_style(("sans-serif", 15))
            .light_line_style(WHITE)
            .draw()?;
        for (gi, &g) in groups.iter().enumerate() {
            let style = colour(gi).mix(0.55).stroke_width(2);
            let mut labelled = false;
            for c in curves.iter().filter(|c| c.group == g && !c.best) {
                let series = chart.draw_series(LineSeries::new(c.points.iter().copied(), style).point_size(2))?;
                if !labelled {
                    series
                        .label(group_name(g))
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour(gi).stroke_width(3)));
                    labelled = true;
                }
            }
        }
        for c in curves.iter().filter(|c| c.best) {
            chart
                .draw_series(LineSeries::new(c.points.iter().copied(), BLACK.stroke_width(3)).point_size(3))?
                .label("best model")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.stroke_width(3)));
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PNG's size from its header, and how many distinct colours its pixels hold.
    fn inspect(path: &Path) -> ((u32, u32), usize) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        let colours: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
        ((w, h), colours.len())
    }

    #[test]
    fn the_three_plots_are_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let points: Vec<[f64; 2]> =
            (0..300).map(|i| [(i % 3) as f64 * 5.0 + (i as f64).sin(), (i as f64).cos()]).collect();
        let labels: Vec<usize> = (0..300).map(|i| i % 3).collect();
        let centres = [[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]];
        let p = dir.path().join("sub/clusters.png");
        clusters(&p, "three clusters", ("PC1", "PC2"), &points, &labels, &centres).unwrap();
        let (size, colours) = inspect(&p);
        assert_eq!(size, SIZE);
        // White, black, grey grid and anti-aliased text, and three cluster colours at least.
        assert!(colours > 10, "{colours} colours");

        let p = dir.path().join("variance.png");
        explained_variance(&p, "variance", &[0.5, 0.3, 0.1, 0.05]).unwrap();
        assert_eq!(inspect(&p).0, SIZE);

        let curves = vec![
            Curve { group: 0, points: vec![(1.0, 0.5), (3.0, 0.6), (9.0, 0.7)], best: false },
            Curve { group: 1, points: vec![(3.0, 0.55), (9.0, 0.8)], best: true },
        ];
        let p = dir.path().join("curves.png");
        learning_curves(&p, "curves", "accuracy", &curves, |b| format!("bracket {b}")).unwrap();
        assert_eq!(inspect(&p).0, SIZE);
    }

    #[test]
    fn bad_data_is_refused_with_a_reason() {
        let p = Path::new("/nonexistent-dir-never-written/x.png");
        let e = clusters(p, "t", ("a", "b"), &[[0.0, f64::NAN]], &[0], &[[0.0, 0.0]]).unwrap_err();
        assert_eq!(e.to_string(), "cannot plot clusters: value 1 is not finite");
        let e = clusters(p, "t", ("a", "b"), &[[0.0, 0.0]], &[1], &[[0.0, 0.0]]).unwrap_err();
        assert_eq!(e.to_string(), "cannot plot clusters: label 1 but only 1 centres");
        let e = clusters(p, "t", ("a", "b"), &[[0.0, 0.0]], &[], &[[0.0, 0.0]]).unwrap_err();
        assert_eq!(e.to_string(), "cannot plot clusters: 1 points but 0 labels");
        let e = explained_variance(p, "t", &[]).unwrap_err();
        assert_eq!(e.to_string(), "cannot plot explained variance: no components");
        let e = explained_variance(p, "t", &[1.5]).unwrap_err();
        assert_eq!(e.to_string(), "cannot plot explained variance: ratio 1.5 is outside [0, 1]");
        assert_eq!(running_total(&[0.5, 0.25, 0.25, 1e-12]), vec![0.5, 0.75, 1.0, 1.0]);
        let at_zero = [Curve { group: 0, points: vec![(0.0, 0.5)], best: false }];
        let e = learning_curves(p, "t", "s", &at_zero, |_| String::new()).unwrap_err();
        assert_eq!(e.to_string(), "cannot plot learning curves: 0 calls: every point needs at least one call");
        let e = learning_curves(p, "t", "s", &[], |_| String::new()).unwrap_err();
        assert_eq!(e.to_string(), "cannot plot learning curves: no scored models");
    }

    #[test]
    fn an_unwritable_path_is_an_error_not_a_panic() {
        let e = explained_variance(Path::new("/proc/rask-cannot-write-here/x.png"), "t", &[0.5]).unwrap_err();
        assert!(e.to_string().starts_with("drawing /proc/rask-cannot-write-here/x.png: "), "{e}");
    }
}
