//! Panel (e): confusion matrices of the final-epoch predictions, summed over folds, one per arch.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::{color, err, Figure, FAMILY};
use super::predictions::{predicted, CLASSES};
use crate::analysis::tables::PredictionRow;

/// counts[true][predicted] over `rows`; labels outside 0..3 are skipped.
pub fn confusion(rows: &[&PredictionRow]) -> [[u64; 3]; 3] {
    let mut m = [[0u64; 3]; 3];
    for r in rows {
        if let Ok(t) = usize::try_from(r.label) {
            if t < 3 {
                m[t][predicted(r)] += 1;
            }
        }
    }
    m
}

/// Confusion matrices of every arch.
pub struct Confusion {
    /// (label, matrix) per arch in study order.
    pub matrices: Vec<(String, [[u64; 3]; 3])>,
}

impl Figure for Confusion {
    fn size(&self) -> (u32, u32) {
        (340 * self.matrices.len().max(1) as u32, 380)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let name = "confusion";
        let areas = root.split_evenly((1, self.matrices.len().max(1)));
        for (i, ((label, m), area)) in self.matrices.iter().zip(areas).enumerate() {
            let mut chart = ChartBuilder::on(&area)
                .caption(label, (FAMILY, 18))
                .margin(10)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d(-0.5f64..2.5, -0.5f64..2.5)
                .map_err(err(name))?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(3)
                .y_labels(3)
                .x_label_formatter(&|x| class_name(*x, false))
                .y_label_formatter(&|y| class_name(*y, true))
                .x_desc("Predicted")
                .y_desc("True")
                .label_style((FAMILY, 13))
                .axis_desc_style((FAMILY, 14))
                .draw()
                .map_err(err(name))?;
            let max = m.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
            let base = color(i);
            for (t, row) in m.iter().enumerate() {
                for (p, &count) in row.iter().enumerate() {
                    let (x, y) = (p as f64, 2.0 - t as f64);
                    let share = count as f64 / max;
                    let fill = base.mix(0.1 + 0.9 * share);
                    chart
                        .draw_series([Rectangle::new(
                            [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                            fill.filled(),
                        )])
                        .map_err(err(name))?;
                    let style = TextStyle::from((FAMILY, 15).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    chart
                        .draw_series([Text::new(count.to_string(), (x, y), style)])
                        .map_err(err(name))?;
                }
            }
        }
        Ok(())
    }
}

/// The class name at integer axis position `v` (rows run top to bottom when `reversed`).
fn class_name(v: f64, reversed: bool) -> String {
    let i = v.round();
    if (v - i).abs() > 1e-6 || !(0.0..=2.0).contains(&i) {
        return String::new();
    }
    let k = if reversed { 2 - i as usize } else { i as usize };
    CLASSES[k].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_true_by_predicted() {
        let row = |label: i8, p: [f64; 3]| PredictionRow {
            arch: "a".into(),
            id: "x".into(),
            fold: 0,
            epoch: 0,
            label,
            p,
        };
        let rows = [
            row(0, [0.8, 0.1, 0.1]),
            row(1, [0.6, 0.3, 0.1]),
            row(2, [0.1, 0.2, 0.7]),
        ];
        let refs: Vec<&PredictionRow> = rows.iter().collect();
        let m = confusion(&refs);
        assert_eq!(m, [[1, 0, 0], [1, 0, 0], [0, 0, 1]]);
    }
}
