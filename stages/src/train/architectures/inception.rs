//! Inception v3 (timm's `inception_v3.py`, without auxiliary logits): one variant, no configuration.

/// The variants: timm's name of each.
pub const VARIANTS: &[(&str, ())] = &[("inception_v3", ())];
