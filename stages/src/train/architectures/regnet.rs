//! RegNetY (timm's `regnet.py`): `regnety_002` .. `regnety_320`. timm's `regnety_320` is torchvision's
//! RegNet_Y_32GF (the original study's "RegNet Y 32", 145.0M parameters with ImageNet's head); timm's
//! `regnety_032` is RegNet_Y_3.2GF.

/// One RegNetY variant: the linear width rule `w0 + wa * i`, quantised on powers of `wm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegNetConfig {
    /// Initial width.
    pub w0: f64,
    /// Width slope.
    pub wa: f64,
    /// Width multiplier between stages.
    pub wm: f64,
    /// Channels per group of the 3x3 convolutions.
    pub group_size: i64,
    /// Total number of blocks.
    pub depth: usize,
}

/// The variants, as timm's `regnet.py` configures them (`se_ratio` 0.25 for every RegNetY).
pub const VARIANTS: &[(&str, RegNetConfig)] = &[
    (
        "regnety_002",
        RegNetConfig {
            w0: 24.0,
            wa: 36.44,
            wm: 2.49,
            group_size: 8,
            depth: 13,
        },
    ),
    (
        "regnety_004",
        RegNetConfig {
            w0: 48.0,
            wa: 27.89,
            wm: 2.09,
            group_size: 8,
            depth: 16,
        },
    ),
    (
        "regnety_006",
        RegNetConfig {
            w0: 48.0,
            wa: 32.54,
            wm: 2.32,
            group_size: 16,
            depth: 15,
        },
    ),
    (
        "regnety_008",
        RegNetConfig {
            w0: 56.0,
            wa: 38.84,
            wm: 2.4,
            group_size: 16,
            depth: 14,
        },
    ),
    (
        "regnety_016",
        RegNetConfig {
            w0: 48.0,
            wa: 20.71,
            wm: 2.65,
            group_size: 24,
            depth: 27,
        },
    ),
    (
        "regnety_032",
        RegNetConfig {
            w0: 80.0,
            wa: 42.63,
            wm: 2.66,
            group_size: 24,
            depth: 21,
        },
    ),
    (
        "regnety_040",
        RegNetConfig {
            w0: 96.0,
            wa: 31.41,
            wm: 2.24,
            group_size: 64,
            depth: 22,
        },
    ),
    (
        "regnety_064",
        RegNetConfig {
            w0: 112.0,
            wa: 33.22,
            wm: 2.27,
            group_size: 72,
            depth: 25,
        },
    ),
    (
        "regnety_080",
        RegNetConfig {
            w0: 192.0,
            wa: 76.82,
            wm: 2.19,
            group_size: 56,
            depth: 17,
        },
    ),
    (
        "regnety_120",
        RegNetConfig {
            w0: 168.0,
            wa: 73.36,
            wm: 2.37,
            group_size: 112,
            depth: 19,
        },
    ),
    (
        "regnety_160",
        RegNetConfig {
            w0: 200.0,
            wa: 106.23,
            wm: 2.48,
            group_size: 112,
            depth: 18,
        },
    ),
    (
        "regnety_320",
        RegNetConfig {
            w0: 232.0,
            wa: 115.89,
            wm: 2.53,
            group_size: 232,
            depth: 20,
        },
    ),
];

impl RegNetConfig {
    /// Width, depth and group size of each stage.
    pub fn stages(&self) -> Vec<(i64, usize, i64)> {
        let widths: Vec<i64> = (0..self.depth)
            .map(|i| {
                let cont = i as f64 * self.wa + self.w0;
                let exp = ((cont / self.w0).ln() / self.wm.ln()).round_ties_even();
                ((self.w0 * self.wm.powf(exp) / 8.0).round_ties_even() * 8.0) as i64
            })
            .collect();
        let mut stages: Vec<(i64, usize, i64)> = Vec::new();
        for w in widths {
            match stages.last_mut() {
                Some((last, n, _)) if *last == w => *n += 1,
                _ => stages.push((w, 1, 0)),
            }
        }
        for (w, _, g) in &mut stages {
            *g = self.group_size.min(*w);
            *w = (*w as f64 / *g as f64).round_ties_even() as i64 * *g;
        }
        stages
    }
}
