//! The model zoo's catalog: every architecture with its family, and what `pipe models` reports about one.
//! Pure data, so that pipelines are checked (unknown architecture names) without libtorch.

use anyhow::{bail, Result};

/// Families in the stable order of [`names`], each with its variants from small to large.
const FAMILIES: &[(&str, &[&str])] = &[
    ("inception", &["inception_v3"]),
    (
        "regnet",
        &[
            "regnety_002",
            "regnety_004",
            "regnety_008",
            "regnety_016",
            "regnety_032",
            "regnety_040",
        ],
    ),
    (
        "resnext",
        &["resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"],
    ),
    (
        "efficientnet",
        &[
            "efficientnet_b0",
            "efficientnet_b1",
            "efficientnet_b2",
            "efficientnet_b3",
            "efficientnet_b4",
            "efficientnet_b5",
            "efficientnet_b6",
            "efficientnet_b7",
        ],
    ),
    (
        "convnext",
        &[
            "convnext_atto",
            "convnext_tiny",
            "convnext_small",
            "convnext_base",
            "convnext_large",
        ],
    ),
];

/// Every known architecture name, in a stable order (family, then size).
pub fn names() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|(_, archs)| archs.iter().copied())
        .collect()
}

/// The canonical name and the family of `arch`; the error lists the known architectures.
pub fn family_of(arch: &str) -> Result<(&'static str, &'static str)> {
    for (family, archs) in FAMILIES {
        if let Some(name) = archs.iter().find(|a| **a == arch) {
            return Ok((name, family));
        }
    }
    bail!(
        "unknown architecture {arch:?}; known architectures: {}",
        names().join(", ")
    )
}

/// Parameter count and forward GFLOPs of one architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    /// The architecture's name.
    pub arch: &'static str,
    /// Its family (e.g. `resnext`).
    pub family: &'static str,
    /// Trainable parameters.
    pub params: i64,
    /// Forward GFLOPs for one image (2 per multiply-add of convolutions and linear layers).
    pub gflops: f64,
}
