//! The `train` stage kind: one architecture on one cross-validation fold.
//!
//! Here are the parts that need no libtorch: the stage's declaration and parameter checks, metrics,
//! TensorBoard event files and the data loader. The training loop is in the `pipe-torch` crate, which
//! runs the stage's tasks (see [`crate::torch_hook`]).

pub mod host_transform;
pub mod loader;
pub mod metrics;
pub mod params;
pub mod tensorboard;

mod stage;
pub use stage::Train;
