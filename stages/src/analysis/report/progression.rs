//! Panel (a): a metric's progression over epochs, mean over folds with a 95% bootstrap band per arch.

use std::collections::BTreeMap;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::plot::{color, err, Figure, FAMILY};
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
        let top = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.3))
            .fold(0.0f64, f64::max);
        let y_range = if unit { (0.0, 1.0) } else { (0.0, top * 1.05) };
        Progression {
            metric_label: super::metric_label(metric).to_string(),
            curves,
            y_range,
        }
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FAMILY, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(err(name))?;
        Ok(())
    }
}
