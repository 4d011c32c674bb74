//! The libtorch part of the `train` stage: the training loop, the device transform, the CPU input tensors, the optimizers and
//! checkpoints. Parameters, metrics, TensorBoard files and the data loader are in `pipe_stages::train`.

pub mod checkpoint;
pub mod device;
mod early_stop;
pub mod host_input;
pub mod optim;
mod outputs;
mod pass;
pub mod trainer;
