//! EfficientNet (timm's `efficientnet.py`, not the `tf_` variants): `efficientnet_b0` .. `efficientnet_b7`.

/// One EfficientNet variant: channel and depth multipliers of B0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EfficientNetConfig {
    /// Channel multiplier.
    pub width: f64,
    /// Depth multiplier (repeats rounded up).
    pub depth: f64,
}

/// The variants, as timm's `efficientnet.py` configures them.
pub const VARIANTS: &[(&str, EfficientNetConfig)] = &[
    (
        "efficientnet_b0",
        EfficientNetConfig {
            width: 1.0,
            depth: 1.0,
        },
    ),
    (
        "efficientnet_b1",
        EfficientNetConfig {
            width: 1.0,
            depth: 1.1,
        },
    ),
    (
        "efficientnet_b2",
        EfficientNetConfig {
            width: 1.1,
            depth: 1.2,
        },
    ),
    (
        "efficientnet_b3",
        EfficientNetConfig {
            width: 1.2,
            depth: 1.4,
        },
    ),
    (
        "efficientnet_b4",
        EfficientNetConfig {
            width: 1.4,
            depth: 1.8,
        },
    ),
    (
        "efficientnet_b5",
        EfficientNetConfig {
            width: 1.6,
            depth: 2.2,
        },
    ),
    (
        "efficientnet_b6",
        EfficientNetConfig {
            width: 1.8,
            depth: 2.6,
        },
    ),
    (
        "efficientnet_b7",
        EfficientNetConfig {
            width: 2.0,
            depth: 3.1,
        },
    ),
];
