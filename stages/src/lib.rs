//! Built-in stage kinds of `pipe`.
//!
//! Every kind implements [`StageKind`]; the engine finds kinds through [`registry`]. A kind declares its
//! input and output ports, checks its parameters at plan time and runs inside a worker process with a
//! [`TaskContext`] that names its input files, its private output directory and its devices.

pub mod aggregate;
pub mod candidates;
pub mod examples;
pub mod fetch;
pub mod frame;
pub mod import_results;
pub mod inspect;
pub mod kind;
pub mod labeler;
#[cfg(feature = "torch")]
pub mod model_specs;
#[cfg(feature = "torch")]
pub mod models;
pub mod pileup;
pub mod registry;
pub mod report;
pub mod significance;
pub mod simulate;
pub mod sources;
pub mod split;
pub mod summarize;
pub mod tables;
pub mod tensorize;
pub mod train;

pub use kind::{parse_params, InputPort, OutputPort, ProgressSink, StageKind, TaskContext};

/// Facts about the compute environment for manifests (libtorch build, CUDA devices).
pub fn environment() -> std::collections::BTreeMap<String, String> {
    #[allow(unused_mut)]
    let mut env = std::collections::BTreeMap::new();
    #[cfg(feature = "torch")]
    {
        env.insert(
            "torch_cuda_devices".to_string(),
            tch::Cuda::device_count().to_string(),
        );
        env.insert(
            "torch_cudnn".to_string(),
            tch::Cuda::cudnn_is_available().to_string(),
        );
    }
    env
}
