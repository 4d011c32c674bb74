//! Built-in stage kinds of `pipe`.
//!
//! Every kind implements [`StageKind`]; the engine finds kinds through [`registry`]. A kind declares its
//! input and output ports, checks its parameters at plan time and runs inside a worker process with a
//! [`TaskContext`] that names its input files, its private output directory and its devices.

pub mod aggregate;
pub mod candidates;
pub mod catalog;
pub mod examples;
pub mod fetch;
pub mod frame;
pub mod import_results;
pub mod inspect;
pub mod kind;
pub mod labeler;
pub mod model_specs;
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
pub mod torch_hook;
pub mod train;

pub use kind::{parse_params, InputPort, OutputPort, ProgressSink, StageKind, TaskContext};

/// Facts about the compute environment for manifests: libtorch and CUDA devices when this process
/// runs libtorch tasks (`pipe-torch`), nothing otherwise.
pub fn environment() -> std::collections::BTreeMap<String, String> {
    torch_hook::installed()
        .map(|h| (h.environment)().into_iter().collect())
        .unwrap_or_default()
}
