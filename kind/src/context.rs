//! What a running task may use: its parameters, input and output paths, state folder, devices and
//! progress sink.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde::de::DeserializeOwned;

use crate::params::parse_params;
use crate::progress::ProgressSink;

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

#[cfg(test)]
impl TaskContext {
    /// A context with no inputs, outputs or devices, for this crate's tests.
    pub(crate) fn for_test(task: &str) -> Self {
        Self {
            task: task.to_string(),
            params: serde_json::Value::Null,
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            state_dir: PathBuf::new(),
            devices: Vec::new(),
            threads: 1,
            seed: 0,
            progress: ProgressSink::discard(),
        }
    }
}
