//! The libtorch half of `pipe`: the model zoo (timm's architectures in tch), the training loop of the
//! `train` stage, the batched inference of the `call` stage and the `model_specs` stage, and the
//! [`hooks`] through which `pipe-torch` runs them.
//!
//! `pipe` itself never links libtorch (loading it costs about half a second per process); it knows
//! these stage kinds by their ports and parameter checks in `pipe-stages` and starts `pipe-torch` for
//! their tasks.

pub mod calling;
pub mod malloc;
pub mod models;
pub mod specs;
pub mod train;

use pipe_kind::torch_hook::TorchHooks;

/// The entry points `pipe-torch` installs (see `pipe_kind::torch_hook`).
pub fn hooks() -> TorchHooks {
    TorchHooks {
        run: |kind, ctx| match kind {
            "train" => train::trainer::run(ctx, &models::build),
            "call" => calling::run(ctx, &models::build),
            "model_specs" => specs::run(ctx),
            other => anyhow::bail!(
                "{}: stage kind '{other}' has no libtorch implementation",
                ctx.task
            ),
        },
        summarize: models::summarize,
        environment,
    }
}

/// libtorch's view of the machine, for manifests.
fn environment() -> Vec<(String, String)> {
    vec![
        (
            "torch_cuda_devices".to_string(),
            tch::Cuda::device_count().to_string(),
        ),
        (
            "torch_cudnn".to_string(),
            tch::Cuda::cudnn_is_available().to_string(),
        ),
    ]
}
