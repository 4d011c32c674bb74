//! Panel (g): the critical-difference diagram (Demšar 2006) of one metric when three or more archs are
//! compared: mean ranks over folds (1 = best) on an axis, the Nemenyi critical difference as a bar, and
//! thick lines joining groups of archs whose mean ranks differ by less than it.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::{color, err, Figure, FAMILY};
use super::Study;
use crate::analysis::significance::friedman::{friedman, nemenyi_cd};
use crate::analysis::significance::paired::Paired;

/// The CD diagram of one metric.
pub struct CriticalDifference {
    metric_label: String,
    /// (label, color index, mean rank), sorted by rank.
    ranks: Vec<(String, usize, f64)>,
    cd: f64,
    p_value: f64,
}

impl CriticalDifference {
    /// The diagram for `paired` (None with fewer than three archs). Ranks put the best value first:
    /// the highest, or the lowest for loss and time.
    pub fn new(study: &Study, paired: &Paired) -> Option<Self> {
        let archs: Vec<&String> = study
            .archs
            .iter()
            .filter(|a| paired.values.contains_key(*a))
            .collect();
        if archs.len() < 3 {
            return None;
        }
        let sign = if matches!(paired.metric.as_str(), "loss" | "seconds") {
            1.0
        } else {
            -1.0
        };
        let blocks: Vec<Vec<f64>> = (0..paired.folds.len())
            .map(|i| archs.iter().map(|a| sign * paired.values[*a][i]).collect())
            .collect();
        let f = friedman(&blocks);
        let mut ranks: Vec<(String, usize, f64)> = archs
            .iter()
            .enumerate()
            .map(|(i, a)| (study.label(a), i, f.mean_ranks[i]))
            .collect();
        ranks.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.1.cmp(&b.1)));
        Some(CriticalDifference {
            metric_label: super::metric_label(&paired.metric).to_string(),
            ranks,
            cd: nemenyi_cd(archs.len(), f.n, study.alpha),
            p_value: f.p_value,
        })
    }

    /// Maximal groups (first, last index into the sorted ranks) whose rank range is below the CD.
    fn cliques(&self) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        for i in 0..self.ranks.len() {
            let mut j = i;
            while j + 1 < self.ranks.len() && self.ranks[j + 1].2 - self.ranks[i].2 < self.cd {
                j += 1;
            }
            if j > i && out.last().is_none_or(|&(_, last)| j > last) {
                out.push((i, j));
            }
        }
        out
    }
}

impl Figure for CriticalDifference {
    fn size(&self) -> (u32, u32) {
        (760, 150 + 34 * self.ranks.len().div_ceil(2) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let name = "critical difference";
        let k = self.ranks.len() as f64;
        let rows = self.ranks.len().div_ceil(2) as f64;
        // x: ranks with room for labels on both sides; y: 0 at the axis, growing downwards.
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "{}: mean ranks (Friedman p = {}, Nemenyi CD = {:.3})",
                    self.metric_label,
                    super::format_p(self.p_value),
                    self.cd
                ),
                (FAMILY, 18),
            )
            .margin(14)
            .build_cartesian_2d(1.0 - 0.9 * k..2.0 * k - 0.1 * k, (rows + 1.5)..-2.0f64)
            .map_err(err(name))?;
        let axis = BLACK.stroke_width(1);
        let text = |s: String, at: (f64, f64), h: HPos| {
            Text::new(
                s,
                at,
                TextStyle::from((FAMILY, 14).into_font()).pos(Pos::new(h, VPos::Center)),
            )
        };
        chart
            .draw_series([PathElement::new([(1.0, 0.0), (k, 0.0)], axis)])
            .map_err(err(name))?;
        for r in 1..=self.ranks.len() {
            let x = r as f64;
            chart
                .draw_series([PathElement::new([(x, 0.0), (x, -0.3)], axis)])
                .map_err(err(name))?;
            chart
                .draw_series([text(r.to_string(), (x, -0.7), HPos::Center)])
                .map_err(err(name))?;
        }
        // The CD bar, above the axis at the left.
        chart
            .draw_series([
                PathElement::new([(1.0, -1.5), (1.0 + self.cd, -1.5)], BLACK.stroke_width(2)),
                PathElement::new([(1.0, -1.3), (1.0, -1.7)], axis),
                PathElement::new([(1.0 + self.cd, -1.3), (1.0 + self.cd, -1.7)], axis),
            ])
            .map_err(err(name))?;
        chart
            .draw_series([text("CD".into(), (1.0 + self.cd + 0.1, -1.5), HPos::Left)])
            .map_err(err(name))?;
        // Labels: the better half to the left, the rest to the right.
        let half = self.ranks.len().div_ceil(2);
        for (i, (label, c, rank)) in self.ranks.iter().enumerate() {
            let (y, end, h) = if i < half {
                (1.0 + i as f64, 1.0 - 0.1 * k, HPos::Right)
            } else {
                (
                    1.0 + (self.ranks.len() - 1 - i) as f64,
                    k + 0.1 * k,
                    HPos::Left,
                )
            };
            let style = color(*c).stroke_width(2);
            chart
                .draw_series([PathElement::new(
                    [(*rank, 0.0), (*rank, y), (end, y)],
                    style,
                )])
                .map_err(err(name))?;
            let offset = if i < half { -0.05 } else { 0.05 };
            chart
                .draw_series([text(format!("{label} ({rank:.2})"), (end + offset, y), h)])
                .map_err(err(name))?;
        }
        for (n, (a, b)) in self.cliques().into_iter().enumerate() {
            let y = 0.35 + 0.2 * n as f64;
            chart
                .draw_series([PathElement::new(
                    [(self.ranks[a].2 - 0.03, y), (self.ranks[b].2 + 0.03, y)],
                    BLACK.stroke_width(4),
                )])
                .map_err(err(name))?;
        }
        Ok(())
    }
}
