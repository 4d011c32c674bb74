//! Panel (b): final-epoch paired comparison: a box per arch, each fold's points joined across archs,
//! the mean as a red line and the test's p-value of each arch against the baseline.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::plot::{color, err, quantile, Figure, FAMILY};
use super::Study;
use crate::analysis::significance::paired::Paired;

/// Box statistics of one arch (matplotlib's boxplot defaults: whiskers at the furthest values within
/// 1.5 IQR of the quartiles).
struct BoxStats {
    q1: f64,
    median: f64,
    q3: f64,
    low: f64,
    high: f64,
    mean: f64,
}

impl BoxStats {
    fn new(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (q1, median, q3) = (
            quantile(&sorted, 0.25),
            quantile(&sorted, 0.5),
            quantile(&sorted, 0.75),
        );
        let iqr = q3 - q1;
        let low = sorted
            .iter()
            .copied()
            .find(|v| *v >= q1 - 1.5 * iqr)
            .unwrap_or(q1);
        let high = sorted
            .iter()
            .rev()
            .copied()
            .find(|v| *v <= q3 + 1.5 * iqr)
            .unwrap_or(q3);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        BoxStats {
            q1,
            median,
            q3,
            low,
            high,
            mean,
        }
    }
}

/// The comparison figure of one metric.
pub struct Comparison {
    metric_label: String,
    labels: Vec<String>,
    /// Per arch (in study order): its fold values in fold order.
    values: Vec<Vec<f64>>,
    /// Per arch: the p-value text shown above it (empty for the baseline).
    p_texts: Vec<String>,
}

impl Comparison {
    /// The figure for `metric` from the paired final values.
    pub fn new(study: &Study, paired: &Paired) -> Self {
        let mut values = Vec::new();
        let mut p_texts = Vec::new();
        for arch in &study.archs {
            values.push(paired.values.get(arch).cloned().unwrap_or_default());
            p_texts.push(match study.p_value(&paired.metric, arch) {
                Some(p) if arch != &study.baseline => format!("p = {}", super::format_p(p)),
                _ => String::new(),
            });
        }
        Comparison {
            metric_label: super::metric_label(&paired.metric).to_string(),
            labels: study.archs.iter().map(|a| study.label(a)).collect(),
            values,
            p_texts,
        }
    }
}

impl Figure for Comparison {
    fn size(&self) -> (u32, u32) {
        (180 + 150 * self.labels.len() as u32, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let name = "comparison";
        let all: Vec<f64> = self.values.iter().flatten().copied().collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.08).max(1e-4);
        let k = self.labels.len();
        let labels = self.labels.clone();
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{} final epoch comparison", self.metric_label),
                (FAMILY, 22),
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(-0.5f64..k as f64 - 0.5, lo - pad..hi + 2.0 * pad)
            .map_err(err(name))?;
        chart
            .configure_mesh()
            .y_desc(self.metric_label.as_str())
            .x_labels(k)
            .x_label_formatter(&move |x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(220, 220, 220))
            .draw()
            .map_err(err(name))?;
        for (i, values) in self.values.iter().enumerate() {
            if values.is_empty() {
                continue;
            }
            let s = BoxStats::new(values);
            let x = i as f64;
            let w = 0.18;
            let c = color(i);
            chart
                .draw_series([
                    Rectangle::new([(x - w, s.q1), (x + w, s.q3)], c.filled()),
                    Rectangle::new([(x - w, s.q1), (x + w, s.q3)], BLACK.stroke_width(1)),
                ])
                .map_err(err(name))?;
            let segments = [
                ((x - w, s.median), (x + w, s.median), BLACK),
                ((x, s.q3), (x, s.high), BLACK),
                ((x, s.q1), (x, s.low), BLACK),
                ((x - w / 2.0, s.high), (x + w / 2.0, s.high), BLACK),
                ((x - w / 2.0, s.low), (x + w / 2.0, s.low), BLACK),
                ((x - w, s.mean), (x + w, s.mean), RED),
            ];
            chart
                .draw_series(
                    segments
                        .iter()
                        .map(|(a, b, col)| PathElement::new([*a, *b], col.stroke_width(1))),
                )
                .map_err(err(name))?;
        }
        let folds = self.values.iter().map(Vec::len).max().unwrap_or(0);
        let grey = RGBColor(190, 190, 190);
        for f in 0..folds {
            let points: Vec<(f64, f64)> = self
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.get(f).map(|y| (i as f64, *y)))
                .collect();
            chart
                .draw_series(DashedLineSeries::new(points, 6, 4, grey.stroke_width(2)))
                .map_err(err(name))?;
        }
        for (i, values) in self.values.iter().enumerate() {
            let (x, c) = (i as f64, color(i));
            chart
                .draw_series(values.iter().flat_map(|y| {
                    [
                        Circle::new((x, *y), 5, c.filled()),
                        Circle::new((x, *y), 5, BLACK.stroke_width(1)),
                    ]
                }))
                .map_err(err(name))?;
            if !self.p_texts[i].is_empty() {
                let label_x = if k == 2 { 0.5 } else { x };
                chart
                    .draw_series(std::iter::once(Text::new(
                        self.p_texts[i].clone(),
                        (label_x, hi + 1.6 * pad),
                        TextStyle::from((FAMILY, 15).into_font()).pos(
                            plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Center,
                                plotters::style::text_anchor::VPos::Center,
                            ),
                        ),
                    )))
                    .map_err(err(name))?;
            }
        }
        Ok(())
    }
}
