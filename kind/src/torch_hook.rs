//! How the kinds that need libtorch (`train`, `model_specs`) reach their implementation without the
//! `pipe` binary linking libtorch.
//!
//! Loading libtorch costs about half a second of CPU per process (operator registration at load, static
//! destructors at exit), which every `pipe` command and every `cmd` worker would pay. So `pipe` itself
//! knows these kinds only by their ports and parameter checks, and runs their tasks in the sibling
//! binary `pipe-torch`, which links libtorch and installs [`TorchHooks`] at start.

use std::sync::OnceLock;

use anyhow::{bail, Result};

use crate::context::TaskContext;

/// The libtorch-backed entry points a `pipe-torch` process provides (`pipe_torch::hooks`).
#[derive(Clone, Copy)]
pub struct TorchHooks {
    /// Runs a task of a kind whose `needs_torch()` is true.
    pub run: fn(kind: &str, ctx: &TaskContext) -> Result<()>,
    /// Parameter count and GFLOPs of an architecture: `(arch, in_channels, classes, height, width)`.
    pub summarize: fn(&str, i64, i64, i64, i64) -> Result<ModelSummary>,
    /// Facts about libtorch and the CUDA devices for manifests.
    pub environment: fn() -> Vec<(String, String)>,
}

static HOOKS: OnceLock<TorchHooks> = OnceLock::new();

/// Installs the hooks (once per process; later calls are ignored).
pub fn install(hooks: TorchHooks) {
    let _ = HOOKS.set(hooks);
}

/// The installed hooks: `Some` only inside `pipe-torch`.
pub fn installed() -> Option<&'static TorchHooks> {
    HOOKS.get()
}

/// Facts about the compute environment for manifests: libtorch and CUDA devices when this process
/// runs libtorch tasks (`pipe-torch`), nothing otherwise.
pub fn environment() -> std::collections::BTreeMap<String, String> {
    HOOKS
        .get()
        .map(|h| (h.environment)().into_iter().collect())
        .unwrap_or_default()
}

/// Runs a libtorch task through the installed hooks; outside `pipe-torch` the error says where it runs.
pub fn run(kind: &str, ctx: &TaskContext) -> Result<()> {
    match HOOKS.get() {
        Some(h) => (h.run)(kind, ctx),
        None => bail!(
            "{}: stage kind '{kind}' needs libtorch and runs in the pipe-torch worker, not in this \
             process (pipe starts pipe-torch for it; build it with the default `torch` feature)",
            ctx.task
        ),
    }
}

/// Parameter count and forward GFLOPs of one architecture, as [`TorchHooks::summarize`] measures them.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    /// The architecture's name.
    pub arch: &'static str,
    /// Its family (e.g. `resnext`).
    pub family: &'static str,
    /// Trainable parameters.
    pub params: i64,
    /// Forward GFLOPs for one image (2 per multiply-add of convolutions and linear layers).
    pub gflops: f64,
}
