//! ResNeXt (timm's `resnet.py` with grouped bottlenecks): `resnext50_32x4d`, `resnext101_32x8d`,
//! `resnext101_64x4d`.

/// One ResNeXt variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResNextConfig {
    /// Bottleneck blocks in each of the four stages.
    pub layers: [usize; 4],
    /// Number of groups of the 3x3 convolutions.
    pub cardinality: i64,
    /// Width of each group in the first stage.
    pub base_width: i64,
}

/// The variants, as timm's `resnet.py` configures them.
pub const VARIANTS: &[(&str, ResNextConfig)] = &[
    (
        "resnext50_32x4d",
        ResNextConfig {
            layers: [3, 4, 6, 3],
            cardinality: 32,
            base_width: 4,
        },
    ),
    (
        "resnext101_32x8d",
        ResNextConfig {
            layers: [3, 4, 23, 3],
            cardinality: 32,
            base_width: 8,
        },
    ),
    (
        "resnext101_64x4d",
        ResNextConfig {
            layers: [3, 4, 23, 3],
            cardinality: 64,
            base_width: 4,
        },
    ),
];
