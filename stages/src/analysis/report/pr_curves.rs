//! The variant-calling panel's precision/recall curves: one plot per variant type, a curve per
//! (arch, fold) model in its arch's color, each point the calls with QUAL at least a threshold.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::calling::{Calls, CurvePoint, CALL_TYPES};
use super::plot::{color, draw_grid, draw_legend, err, legend_line, Figure, FAMILY};
use super::Study;

/// One model's curve.
pub struct Curve {
    /// Index of its arch in the study's order (its color).
    pub arch: usize,
    /// (recall, precision) points by ascending QUAL threshold.
    pub points: Vec<(f64, f64)>,
}

/// Precision/recall curves per type.
pub struct PrCurves {
    /// Display names of the archs, in study order.
    pub labels: Vec<String>,
    /// (type, its curves).
    pub types: Vec<(String, Vec<Curve>)>,
}

impl PrCurves {
    /// The curves of the shown archs; `None` when the calls have none.
    pub fn new(study: &Study, calls: &Calls) -> Option<Self> {
        if calls.curves.is_empty() {
            return None;
        }
        let types = CALL_TYPES
            .iter()
            .map(|vtype| {
                let curves = calls
                    .curves
                    .iter()
                    .filter(|((_, _, t), _)| t == vtype)
                    .filter_map(|((arch, _, _), points)| {
                        let arch = study.archs.iter().position(|a| a == arch)?;
                        let points = points
                            .iter()
                            .map(|p: &CurvePoint| (p.recall, p.precision))
                            .collect();
                        Some(Curve { arch, points })
                    })
                    .collect();
                (vtype.to_string(), curves)
            })
            .collect();
        Some(PrCurves {
            labels: study.archs.iter().map(|a| study.label(a)).collect(),
            types,
        })
    }
}

/// The lower end of an axis that shows every value in `values` (at most 1), rounded down to 0.05.
fn lower_bound(values: impl Iterator<Item = f64>) -> f64 {
    let lo = values.fold(1.0f64, f64::min);
    ((lo - 0.02).max(0.0) * 20.0).floor() / 20.0
}

impl Figure for PrCurves {
    fn size(&self) -> (u32, u32) {
        (460 * self.types.len().max(1) as u32, 440)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let name = "pr_curves";
        let areas = root.split_evenly((1, self.types.len().max(1)));
        for ((vtype, curves), area) in self.types.iter().zip(areas) {
            let all = || curves.iter().flat_map(|c| c.points.iter());
            let x_lo = lower_bound(all().map(|p| p.0));
            let y_lo = lower_bound(all().map(|p| p.1));
            let mut chart = ChartBuilder::on(&area)
                .caption(
                    format!("{vtype}: precision against recall over QUAL"),
                    (FAMILY, 17),
                )
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(x_lo..1.0, y_lo..1.0)
                .map_err(err(name))?;
            draw_grid(&mut chart, "Recall", "Precision", name)?;
            let mut labelled = vec![false; self.labels.len()];
            for curve in curves {
                let c = color(curve.arch);
                let series = chart
                    .draw_series(LineSeries::new(
                        curve.points.iter().copied(),
                        c.stroke_width(2),
                    ))
                    .map_err(err(name))?;
                if !std::mem::replace(&mut labelled[curve.arch], true) {
                    series
                        .label(self.labels[curve.arch].clone())
                        .legend(legend_line(c));
                }
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerLeft, 12, name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_start_below_the_lowest_value() {
        assert_eq!(lower_bound([0.96, 0.99].into_iter()), 0.9);
        assert_eq!(lower_bound([0.5, 1.0].into_iter()), 0.45);
        assert_eq!(lower_bound([0.01].into_iter()), 0.0);
        assert_eq!(lower_bound(std::iter::empty()), 0.95);
    }
}
