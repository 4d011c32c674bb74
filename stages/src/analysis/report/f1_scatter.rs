//! The variant-calling panel's scatter of classification F1 against variant-calling F1: one plot
//! per variant type, a point per (arch, fold) model in its arch's color (validation macro F1 of the
//! final epoch on x, F1 of its calls on the held-out genome on y).

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::calling::{Calls, CALL_TYPES};
use super::plot::{color, draw_grid, draw_legend, err, Figure, FAMILY};
use super::Study;

/// One model's point: (arch index, classification F1, calling F1).
pub type Point = (usize, f64, f64);

/// Classification against variant-calling F1 per type.
pub struct F1Scatter {
    /// Display names of the archs, in study order.
    pub labels: Vec<String>,
    /// (type, points (arch index, classification F1, calling F1)).
    pub types: Vec<(String, Vec<Point>)>,
}

impl F1Scatter {
    /// The points of every (arch, fold) that has both a final classification row and calls.
    pub fn new(study: &Study, calls: &Calls) -> Self {
        let types = CALL_TYPES
            .iter()
            .map(|vtype| {
                let mut points = Vec::new();
                for (i, arch) in study.archs.iter().enumerate() {
                    for (fold, calling) in calls.f1(arch, vtype) {
                        let classification = study
                            .finals
                            .iter()
                            .find(|r| &r.arch == arch && i64::from(r.fold) == fold);
                        if let Some(row) = classification {
                            points.push((i, row.f1, calling));
                        }
                    }
                }
                (vtype.to_string(), points)
            })
            .collect();
        F1Scatter {
            labels: study.archs.iter().map(|a| study.label(a)).collect(),
            types,
        }
    }
}

/// An axis range around `values` with a margin (a small one when they are all equal).
fn range(values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.1).max(0.005);
    lo - pad..hi + pad
}

impl Figure for F1Scatter {
    fn size(&self) -> (u32, u32) {
        (440 * self.types.len().max(1) as u32, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let name = "f1_scatter";
        let areas = root.split_evenly((1, self.types.len().max(1)));
        for ((vtype, points), area) in self.types.iter().zip(areas) {
            let mut chart = ChartBuilder::on(&area)
                .caption(
                    format!("{vtype}: calling F1 against classification F1"),
                    (FAMILY, 16),
                )
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(
                    range(points.iter().map(|p| p.1)),
                    range(points.iter().map(|p| p.2)),
                )
                .map_err(err(name))?;
            draw_grid(
                &mut chart,
                "Classification F1 (validation)",
                &format!("{vtype} F1 (held-out genome)"),
                name,
            )?;
            for (i, label) in self.labels.iter().enumerate() {
                let c = color(i);
                let mine: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| p.0 == i)
                    .map(|p| (p.1, p.2))
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                chart
                    .draw_series(mine.iter().flat_map(|&xy| {
                        [
                            Circle::new(xy, 5, c.filled()),
                            Circle::new(xy, 5, BLACK.stroke_width(1)),
                        ]
                    }))
                    .map_err(err(name))?
                    .label(label.clone())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.filled()));
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 12, name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_every_value() {
        let r = range([0.9, 0.95].into_iter());
        assert!(r.start < 0.9 && r.end > 0.95);
        let r = range([0.5].into_iter());
        assert!((r.end - r.start - 0.01).abs() < 1e-12);
        assert_eq!(range(std::iter::empty()), 0.0..1.0);
    }
}
