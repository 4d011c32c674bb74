//! Panel (a): a metric's progression over epochs, mean over folds with a 95% bootstrap band per arch.

use std::collections::BTreeMap;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::plot::{color, draw_legend, err, Figure, FAMILY};
use super::Study;
use crate::analysis::significance::bootstrap::{mean_ci, stream_seed};

/// One arch's curve: (1-based epoch, mean, CI low, CI high).
struct Curve {
    label: String,
    color: RGBColor,
    points: Vec<(f64, f64, f64, f64)>,
}

/// The progression figure of one metric.
pub struct Progression {
    metric_label: String,
    curves: Vec<Curve>,
    y_range: (f64, f64),
}

impl Progression {
    /// Means and bootstrap bands of `metric` per epoch for every arch of `study`.
    pub fn new(study: &Study, metric: &str) -> Self {
        let mut curves = Vec::new();
        for (i, arch) in study.archs.iter().enumerate() {
            let mut by_epoch: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
            for row in study.epochs.iter().filter(|r| &r.arch == arch) {
                if let Some(v) = row.metric(metric).filter(|v| !v.is_nan()) {
                    by_epoch.entry(row.epoch).or_default().push(v);
                }
            }
            let points = by_epoch
                .into_iter()
                .map(|(epoch, values)| {
                    let mean = values.iter().sum::<f64>() / values.len() as f64;
                    let label = format!("progression/{metric}/{arch}/{epoch}");
                    let (lo, hi) = mean_ci(
                        &values,
                        study.resamples,
                        0.05,
                        stream_seed(study.seed, &label),
                    );
                    (f64::from(epoch + 1), mean, lo, hi)
                })
                .collect();
            curves.push(Curve {
                label: study.label(arch),
                color: color(i),
                points,
            });
        }
        let unit = !matches!(metric, "loss" | "seconds" | "images_per_second");
        let bands = curves
            .iter()
            .flat_map(|c| c.points.iter().flat_map(|p| [p.2, p.3]));
        let y_range = fit_range(bands, unit);
        Progression {
            metric_label: super::metric_label(metric).to_string(),
            curves,
            y_range,
        }
    }
}

/// A y range that fits `values` (the bands' ends) with a margin of 5% of their span on each side,
/// kept within [0, 1] for a metric in that unit and at or above 0 for the others.
fn fit_range(values: impl Iterator<Item = f64>, unit: bool) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let margin = if hi > lo {
        (hi - lo) * 0.05
    } else if unit {
        0.01
    } else {
        (hi.abs() * 0.05).max(1e-9)
    };
    let (lo, hi) = ((lo - margin).max(0.0), hi + margin);
    if unit {
        (lo, hi.min(1.0))
    } else {
        (lo, hi)
    }
}

impl Figure for Progression {
    fn size(&self) -> (u32, u32) {
        (720, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let name = "progression";
        let last = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .fold(1.0f64, f64::max);
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{} epoch progression", self.metric_label),
                (FAMILY, 22),
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0.5f64..last + 0.5, self.y_range.0..self.y_range.1)
            .map_err(err(name))?;
        chart
            .configure_mesh()
            .x_desc("Epoch")
            .x_labels((last as usize).clamp(2, 20))
            // Epochs are whole numbers: label only the ticks that fall on one.
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-6 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .y_desc(self.metric_label.as_str())
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(220, 220, 220))
            .draw()
            .map_err(err(name))?;
        for curve in &self.curves {
            let band: Vec<(f64, f64)> = curve
                .points
                .iter()
                .map(|p| (p.0, p.3))
                .chain(curve.points.iter().rev().map(|p| (p.0, p.2)))
                .collect();
            let fill = curve.color.mix(0.2);
            chart
                .draw_series(std::iter::once(Polygon::new(band, fill.filled())))
                .map_err(err(name))?
                .label(format!("{}: 95% CI", curve.label))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], fill.filled()));
            let c = curve.color;
            chart
                .draw_series(LineSeries::new(
                    curve.points.iter().map(|p| (p.0, p.1)),
                    c.stroke_width(2),
                ))
                .map_err(err(name))?
                .label(format!("{}: mean", curve.label))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 13, name)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::fit_range;

    #[test]
    fn the_range_fits_the_bands() {
        // F1 bands between 0.91 and 0.96: no longer 0 to 1.
        let (lo, hi) = fit_range([0.91, 0.95, 0.93, 0.96].into_iter(), true);
        assert!(
            (lo - 0.9075).abs() < 1e-9 && (hi - 0.9625).abs() < 1e-9,
            "{lo} {hi}"
        );
        // Within [0, 1] for a unit metric, at or above 0 otherwise.
        assert_eq!(fit_range([0.0, 1.0].into_iter(), true), (0.0, 1.0));
        let (lo, hi) = fit_range([0.2, 0.9].into_iter(), false);
        assert_eq!(lo, 0.165);
        assert!((hi - 0.935).abs() < 1e-9);
        // A flat curve still gets a visible range; NaN bands are left out; nothing at all: 0 to 1.
        let (lo, hi) = fit_range([0.5, f64::NAN, 0.5].into_iter(), true);
        assert!(lo < 0.5 && hi > 0.5);
        assert_eq!(fit_range(std::iter::empty(), true), (0.0, 1.0));
    }
}
