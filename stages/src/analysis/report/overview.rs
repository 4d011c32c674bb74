//! Panels (a) and (b) of one metric side by side in one image, as the study's figure 3 shows them.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::comparison::Comparison;
use super::plot::Figure;
use super::progression::Progression;

/// Progression and final-epoch comparison of one metric.
pub struct Overview {
    /// Panel (a).
    pub progression: Progression,
    /// Panel (b).
    pub comparison: Comparison,
}

impl Figure for Overview {
    fn size(&self) -> (u32, u32) {
        let (a, b) = (self.progression.size(), self.comparison.size());
        (a.0 + b.0, a.1.max(b.1))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (left, right) = root.split_horizontally(self.progression.size().0);
        self.progression.draw(&left)?;
        self.comparison.draw(&right)
    }
}
