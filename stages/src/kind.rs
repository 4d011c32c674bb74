//! The contract between the engine and a stage kind.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One input a stage kind accepts, referenced in a pipeline as `inputs: { <name>: stage.output }`.
#[derive(Debug, Clone, Copy)]
pub struct InputPort {
    /// Name used in the pipeline file.
    pub name: &'static str,
    /// Whether a pipeline must bind it.
    pub required: bool,
    /// Whether it takes a fan-in list (`train[*].metrics`) rather than exactly one path.
    pub many: bool,
    /// One line for `pipe kinds` and error messages.
    pub doc: &'static str,
}

/// One output a stage kind produces: a file or directory inside the task's output directory.
#[derive(Debug, Clone, Copy)]
pub struct OutputPort {
    /// Name used in references (`examples.examples`).
    pub name: &'static str,
    /// Path relative to the task's output directory.
    pub path: &'static str,
    /// One line for `pipe kinds`.
    pub doc: &'static str,
}

/// A built-in stage kind.
///
/// Implementations are stateless values registered in [`crate::registry`]. `run` is called in a worker
/// process; everything it needs comes through the [`TaskContext`].
pub trait StageKind: Send + Sync {
    /// The name used as `kind:` in pipeline files.
    fn name(&self) -> &'static str;
    /// Code version: bump it when the outputs for the same params and inputs change, so cached
    /// results are recomputed.
    fn version(&self) -> u32;
    /// One line describing the kind.
    fn about(&self) -> &'static str;
    /// Declared inputs.
    fn inputs(&self) -> &'static [InputPort];
    /// Declared outputs.
    fn outputs(&self) -> &'static [OutputPort];
    /// Checks the resolved parameters at plan time; errors name the offending field.
    fn check(&self, params: &serde_json::Value) -> Result<()>;
    /// Whether a task with these parameters cannot run without a GPU.
    fn requires_gpu(&self, _params: &serde_json::Value) -> bool {
        false
    }
    /// Whether its tasks need libtorch, so run in the `pipe-torch` worker (see [`crate::torch_hook`]).
    fn needs_torch(&self) -> bool {
        false
    }
    /// Computes the outputs.
    fn run(&self, ctx: &TaskContext) -> Result<()>;
}

/// Deserializes stage parameters, naming the offending field in errors (`params.lr: invalid type ...`).
///
/// Parameter structs should use `#[serde(deny_unknown_fields)]` so typos are caught at plan time.
pub fn parse_params<T: DeserializeOwned>(params: &serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            anyhow!("params: {}", e.inner())
        } else {
            anyhow!("params.{path}: {}", e.inner())
        }
    })
}

/// Everything a running task may use.
#[derive(Debug)]
pub struct TaskContext {
    /// Task id, e.g. `train[arch=inception_v3,fold=0]`.
    pub task: String,
    /// Resolved parameters, matrix values included.
    pub params: serde_json::Value,
    /// Input port name to paths (one path, or several for a fan-in).
    pub inputs: BTreeMap<String, Vec<PathBuf>>,
    /// Output port name to the path the kind must create.
    pub outputs: BTreeMap<String, PathBuf>,
    /// A directory that survives an interrupted attempt of this same task (same key), for checkpoints.
    pub state_dir: PathBuf,
    /// GPU ordinals this task may use, as the process sees them (0..k once `CUDA_VISIBLE_DEVICES` is set).
    /// Empty on CPU.
    pub devices: Vec<usize>,
    /// CPU threads this task may use.
    pub threads: usize,
    /// The pipeline seed.
    pub seed: u64,
    /// Where progress updates go.
    pub progress: ProgressSink,
}

impl TaskContext {
    /// Parameters as a typed struct; see [`parse_params`].
    pub fn params<T: DeserializeOwned>(&self) -> Result<T> {
        parse_params(&self.params)
    }

    /// The single path bound to input `name`.
    pub fn input(&self, name: &str) -> Result<&Path> {
        match self.inputs.get(name).map(Vec::as_slice) {
            Some([one]) => Ok(one),
            Some([]) | None => Err(anyhow!("input '{name}' is not bound")),
            Some(many) => Err(anyhow!(
                "input '{name}' takes one path, got {} (use a single reference, not a fan-in)",
                many.len()
            )),
        }
    }

    /// The single path bound to input `name`, or `None` when the pipeline left it out.
    pub fn optional_input(&self, name: &str) -> Result<Option<&Path>> {
        if self.inputs.get(name).is_none_or(Vec::is_empty) {
            Ok(None)
        } else {
            self.input(name).map(Some)
        }
    }

    /// All paths bound to input `name` (empty when unbound).
    pub fn inputs_of(&self, name: &str) -> &[PathBuf] {
        self.inputs.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The path the kind must write output `name` to. Its parent directory exists.
    pub fn output(&self, name: &str) -> Result<&Path> {
        self.outputs
            .get(name)
            .map(PathBuf::as_path)
            .with_context(|| format!("output '{name}' is not declared by this stage kind"))
    }
}

/// One progress update of a running task.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Progress {
    /// Units done so far.
    pub done: u64,
    /// Units in all (0 when unknown).
    pub total: u64,
    /// A short status line, e.g. `epoch 3/20 loss 0.41 212 img/s`.
    pub message: String,
}

/// Sends [`Progress`] updates to the engine (one JSON line each on the worker's progress stream).
#[derive(Default)]
pub struct ProgressSink {
    out: Option<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressSink")
            .field("connected", &self.out.is_some())
            .finish()
    }
}

impl ProgressSink {
    /// A sink that writes JSON lines to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            out: Some(Mutex::new(out)),
        }
    }

    /// A sink that drops every update (tests, direct calls).
    pub fn discard() -> Self {
        Self::default()
    }

    /// Reports `done` of `total` units with a status line. Errors writing progress are ignored: progress
    /// must never fail a task.
    pub fn update(&self, done: u64, total: u64, message: impl Into<String>) {
        let Some(out) = &self.out else { return };
        let event = Progress {
            done,
            total,
            message: message.into(),
        };
        if let (Ok(mut w), Ok(line)) = (out.lock(), serde_json::to_string(&event)) {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        lr: f64,
    }

    #[test]
    fn parse_params_names_the_field() {
        let err = parse_params::<P>(&serde_json::json!({"lr": "x"})).unwrap_err();
        assert!(err.to_string().starts_with("params.lr:"), "{err}");
        let err = parse_params::<P>(&serde_json::json!({"lr": 1.0, "lrr": 2})).unwrap_err();
        assert!(err.to_string().contains("unknown field `lrr`"), "{err}");
    }

    #[test]
    fn progress_lines_are_json() {
        let buf = std::sync::Arc::new(Mutex::new(Vec::new()));
        struct W(std::sync::Arc<Mutex<Vec<u8>>>);
        impl Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = ProgressSink::new(Box::new(W(buf.clone())));
        sink.update(3, 10, "epoch 3/10");
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let p: Progress = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(p.done, 3);
        assert_eq!(p.message, "epoch 3/10");
    }
}
