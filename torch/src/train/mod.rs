//! The `train` stage's computation: the data loader, the host and device transforms, the training
//! loop, the optimizers, checkpoints and TensorBoard files. Its declaration, parameters and metrics
//! (what needs no libtorch) are in `pipe_stages::train`.

pub mod checkpoint;
pub mod device;
mod early_stop;
pub mod host_input;
pub mod host_transform;
pub mod loader;
pub mod optim;
mod outputs;
pub(crate) mod pass;
pub mod tensorboard;
pub mod trainer;
