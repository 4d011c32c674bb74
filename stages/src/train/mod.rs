//! The `train` stage kind: one architecture on one cross-validation fold.
//!
//! The pure-Rust parts (metrics, TensorBoard event files, parameters, the data loader) build without
//! libtorch; the training loop, the device transform, the optimizers and checkpoints need the `torch`
//! feature.

pub mod loader;
pub mod metrics;
pub mod params;
pub mod tensorboard;

#[cfg(feature = "torch")]
pub mod checkpoint;
#[cfg(feature = "torch")]
pub mod device;
#[cfg(feature = "torch")]
pub mod optim;
#[cfg(feature = "torch")]
mod stage;
#[cfg(feature = "torch")]
pub mod trainer;
#[cfg(feature = "torch")]
pub use stage::Train;
