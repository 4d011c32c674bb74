//! Where tasks that need libtorch run: the sibling binary `pipe-torch` (see
//! `pipe_kind::torch_hook`), so that `pipe` itself and the workers of every other task never load
//! libtorch.

use std::path::PathBuf;

use crate::error::PipeError;
use crate::plan::{Action, Task};

/// File name of the libtorch worker, next to `pipe`.
pub const TORCH_WORKER: &str = "pipe-torch";

/// The binary that computes `task`: this one, or `pipe-torch` beside it for kinds that need libtorch
/// (unless this process already is `pipe-torch`).
pub fn worker_binary(task: &Task) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the pipe binary: {e}"))?;
    let needs_torch = matches!(&task.action, Action::Kind(k) if k.needs_torch());
    if !needs_torch || pipe_kind::torch_hook::installed().is_some() {
        return Ok(exe);
    }
    sibling(&exe).ok_or_else(|| {
        format!(
            "{}: stage kind '{}' needs libtorch, which runs in {TORCH_WORKER}, but there is no {} \
             (build pipe with its default `torch` feature: cargo build --release)",
            task.id,
            task.kind_name(),
            exe.with_file_name(TORCH_WORKER).display()
        )
    })
}

fn sibling(exe: &std::path::Path) -> Option<PathBuf> {
    let torch = exe.with_file_name(TORCH_WORKER);
    torch.is_file().then_some(torch)
}

/// Replaces this process by `pipe-torch` with the same arguments (for commands that need libtorch,
/// such as `pipe models`); returns only on failure.
pub fn exec_self_in_torch_worker() -> Result<i32, PipeError> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()
        .map_err(|e| PipeError::env(format!("cannot find the pipe binary: {e}")))?;
    let Some(torch) = sibling(&exe) else {
        return Err(PipeError::invalid(format!(
            "this needs the model zoo, which runs in {TORCH_WORKER}, but there is no {} (build pipe \
             with its default `torch` feature: cargo build --release)",
            exe.with_file_name(TORCH_WORKER).display()
        )));
    };
    let err = std::process::Command::new(&torch)
        .args(std::env::args_os().skip(1))
        .exec();
    Err(PipeError::env(format!(
        "cannot start {}: {err}",
        torch.display()
    )))
}
