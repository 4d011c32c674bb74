//! Built-in stage kinds of `pipe`.
//!
//! Every kind implements [`StageKind`]; the engine finds kinds through [`registry`]. A kind declares its
//! input and output ports, checks its parameters at plan time and runs inside a worker process with a
//! [`TaskContext`] that names its input files, its private output directory and its devices.

pub mod examples;
pub mod fetch;
pub mod kind;
pub mod registry;
pub mod simulate;
pub mod split;
pub mod tables;

pub use kind::{parse_params, InputPort, OutputPort, ProgressSink, StageKind, TaskContext};
