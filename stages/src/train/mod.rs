//! The `train` stage kind: one architecture on one cross-validation fold.
//!
//! The pure-Rust parts (metrics, TensorBoard event files, parameters) build without libtorch; the
//! training loop, data loader and checkpoints need the `torch` feature.

pub mod loader;
pub mod metrics;
pub mod params;
pub mod tensorboard;
