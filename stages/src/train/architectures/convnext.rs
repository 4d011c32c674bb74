//! ConvNeXt (timm's `convnext.py`): `convnext_atto`, `convnext_tiny`, `convnext_small`, `convnext_base`,
//! `convnext_large`.

/// One ConvNeXt variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvNextConfig {
    /// Blocks in each of the four stages.
    pub depths: [usize; 4],
    /// Channels of each stage.
    pub dims: [i64; 4],
    /// Whether the block MLP is made of 1x1 convolutions on NCHW (timm's `conv_mlp`) rather than linear
    /// layers on channels-last tensors.
    pub conv_mlp: bool,
}

/// The variants, as timm's `convnext.py` configures them.
pub const VARIANTS: &[(&str, ConvNextConfig)] = &[
    (
        "convnext_atto",
        ConvNextConfig {
            depths: [2, 2, 6, 2],
            dims: [40, 80, 160, 320],
            conv_mlp: true,
        },
    ),
    (
        "convnext_tiny",
        ConvNextConfig {
            depths: [3, 3, 9, 3],
            dims: [96, 192, 384, 768],
            conv_mlp: false,
        },
    ),
    (
        "convnext_small",
        ConvNextConfig {
            depths: [3, 3, 27, 3],
            dims: [96, 192, 384, 768],
            conv_mlp: false,
        },
    ),
    (
        "convnext_base",
        ConvNextConfig {
            depths: [3, 3, 27, 3],
            dims: [128, 256, 512, 1024],
            conv_mlp: false,
        },
    ),
    (
        "convnext_large",
        ConvNextConfig {
            depths: [3, 3, 27, 3],
            dims: [192, 384, 768, 1536],
            conv_mlp: false,
        },
    ),
];
