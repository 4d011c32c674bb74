//! Panel (f): one-vs-rest ROC curves of the final-epoch predictions (pooled over folds), one plot per
//! arch with a curve per class.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::plot::{draw_grid, draw_legend, err, legend_line, Figure, FAMILY, PALETTE};
use super::predictions::CLASSES;
use crate::analysis::tables::PredictionRow;

/// ROC points (false positive rate, true positive rate) of class `class` against the rest, from
/// (0, 0) to (1, 1), one point per distinct score (ties move diagonally, as scikit-learn's roc_curve).
pub fn roc_curve(rows: &[&PredictionRow], class: usize) -> Vec<(f64, f64)> {
    let mut scored: Vec<(f64, bool)> = rows
        .iter()
        .map(|r| (r.p[class], usize::try_from(r.label) == Ok(class)))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = scored.iter().filter(|s| s.1).count() as f64;
    let negatives = scored.len() as f64 - positives;
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (i, (score, positive)) in scored.iter().enumerate() {
        if *positive {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if scored.get(i + 1).is_none_or(|next| next.0 != *score) {
            let fpr = if negatives > 0.0 { fp / negatives } else { 0.0 };
            let tpr = if positives > 0.0 { tp / positives } else { 0.0 };
            points.push((fpr, tpr));
        }
    }
    points
}

/// Area under a ROC curve by the trapezoidal rule.
pub fn auc(points: &[(f64, f64)]) -> f64 {
    points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum()
}

/// A ROC curve: (false positive rate, true positive rate) points.
pub type Curve = Vec<(f64, f64)>;

/// ROC curves of every arch.
pub struct Roc {
    /// (label, one curve per class) per arch in study order.
    pub curves: Vec<(String, Vec<Curve>)>,
}

impl Figure for Roc {
    fn size(&self) -> (u32, u32) {
        (380 * self.curves.len().max(1) as u32, 400)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let name = "roc";
        let areas = root.split_evenly((1, self.curves.len().max(1)));
        for ((label, curves), area) in self.curves.iter().zip(areas) {
            let mut chart = ChartBuilder::on(&area)
                .caption(label, (FAMILY, 18))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..1.0, 0f64..1.0)
                .map_err(err(name))?;
            draw_grid(
                &mut chart,
                "False positive rate",
                "True positive rate",
                name,
            )?;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, 0.0), (1.0, 1.0)],
                    5,
                    5,
                    RGBColor(160, 160, 160).stroke_width(1),
                ))
                .map_err(err(name))?;
            for (k, points) in curves.iter().enumerate() {
                let c = PALETTE[(k + 3) % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                    .map_err(err(name))?
                    .label(format!("{} (AUC {:.4})", CLASSES[k], auc(points)))
                    .legend(legend_line(c));
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 12, name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: i8, p0: f64) -> PredictionRow {
        PredictionRow {
            arch: "a".into(),
            id: "x".into(),
            fold: 0,
            epoch: 0,
            label,
            p: [p0, 1.0 - p0, 0.0],
        }
    }

    #[test]
    fn roc_and_auc_match_hand_computation() {
        // sklearn.metrics.roc_auc_score([1,1,0,0], [0.9,0.4,0.6,0.2]) = 0.75
        let rows = [row(0, 0.9), row(0, 0.4), row(1, 0.6), row(1, 0.2)];
        let refs: Vec<&PredictionRow> = rows.iter().collect();
        let curve = roc_curve(&refs, 0);
        assert_eq!(curve.first(), Some(&(0.0, 0.0)));
        assert_eq!(curve.last(), Some(&(1.0, 1.0)));
        assert!((auc(&curve) - 0.75).abs() < 1e-12);
        // A tie between a positive and a negative counts half.
        let tied = [row(0, 0.5), row(1, 0.5)];
        let refs: Vec<&PredictionRow> = tied.iter().collect();
        assert!((auc(&roc_curve(&refs, 0)) - 0.5).abs() < 1e-12);
    }
}
