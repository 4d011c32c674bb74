//! The contract between `pipe`'s engine and its stage kinds.
//!
//! A stage kind implements [`StageKind`]: it declares its input and output [ports](InputPort), its
//! parameters (a [`StageParams`] type, checked at plan time) and computes its outputs in a worker
//! process from a [`TaskContext`], reporting [`Progress`]. The binaries assemble a [`Registry`] of
//! kinds (and of the [commands](DomainCommand) of their domains) and hand it to the engine at start;
//! the engine sees kinds only through this crate. [`torch_hook`] is how the `pipe-torch` worker provides
//! the kinds that need libtorch.

mod command;
mod context;
mod kind;
mod params;
mod port;
mod progress;
mod registry;
pub mod torch_hook;

pub use command::{CommandError, DomainCommand};
pub use context::TaskContext;
pub use kind::{Kind, StageKind};
pub use params::{parse_params, StageParams};
pub use port::{InputPort, OutputPort};
pub use progress::{Progress, ProgressSink};
pub use registry::Registry;
