//! Training without libtorch: the `train` stage's declaration and parameters, the metrics it
//! computes, the trained model's `config.json`, the model zoo's architectures, the `model_specs`
//! stage and `pipe models`. The training loop runs in the `pipe-torch` crate (see
//! [`pipe_kind::torch_hook`]).

pub mod architectures;
pub mod metrics;
pub mod model_config;
pub mod model_specs;
pub mod models;
pub mod params;

mod stage;
pub use stage::Train;
