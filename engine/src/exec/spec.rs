//! The task description the engine hands to a worker (`task.json`), the same for every executor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::confine::Confine;
use crate::cache::Cache;
use crate::error::{io_error, PipeError};
use crate::plan::{Action, Plan, Source};

/// What the worker runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerAction {
    /// A built-in stage kind by name.
    Kind(String),
    /// An external command: argv with `${inputs.x}` / `${outputs.x}` still to replace.
    Cmd(Vec<String>),
}

/// Everything a worker needs to compute one task and publish it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerSpec {
    /// Content key.
    pub key: String,
    /// Task id.
    pub task: String,
    /// Stage name.
    pub stage: String,
    /// What to run.
    pub action: WorkerAction,
    /// Resolved parameters.
    pub params: serde_json::Value,
    /// Input name to absolute paths.
    pub inputs: BTreeMap<String, Vec<PathBuf>>,
    /// Output name to a path relative to the entry's `out/`.
    pub outputs: BTreeMap<String, String>,
    /// What the key was computed from (copied into the manifest).
    pub components: serde_json::Value,
    /// The cache root.
    pub cache: PathBuf,
    /// The working directory of commands (the pipeline file's folder).
    pub workdir: PathBuf,
    /// The pipeline seed.
    pub seed: u64,
    /// CPU threads.
    pub threads: usize,
    /// Physical GPU ids assigned by the local scheduler (a cluster executor leaves it empty and the
    /// worker reads `CUDA_VISIBLE_DEVICES`).
    pub devices: Vec<usize>,
    /// Recompute even if the key is cached, replacing the entry (`--force`).
    pub force: bool,
    /// For a command: run it confined by these rules (`None`: unconfined, or a kind).
    #[serde(default)]
    pub confine: Option<Confine>,
}

impl WorkerSpec {
    /// The spec of task `i` of `plan`, whose upstream outputs are in `cache`.
    pub fn for_task(
        plan: &Plan,
        i: usize,
        cache: &Cache,
        devices: Vec<usize>,
        force: bool,
    ) -> Self {
        let t = &plan.tasks[i];
        let inputs = t
            .inputs
            .iter()
            .map(|(port, sources)| {
                let paths = sources
                    .iter()
                    .map(|s| match s {
                        Source::Task { task, output } => {
                            let up = &plan.tasks[*task];
                            cache.output_path(&up.key, &up.outputs[output])
                        }
                        Source::File(p) => std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()),
                    })
                    .collect();
                (port.clone(), paths)
            })
            .collect();
        let workdir =
            std::fs::canonicalize(plan.pipeline.dir()).unwrap_or_else(|_| plan.pipeline.dir());
        Self {
            key: t.key.clone(),
            task: t.id.clone(),
            stage: t.stage.to_string(),
            action: match &t.action {
                Action::Kind(k) => WorkerAction::Kind(k.name().to_string()),
                Action::Cmd(argv) => WorkerAction::Cmd(argv.to_vec()),
            },
            params: t.params(),
            inputs,
            outputs: t
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            components: plan.components(i),
            cache: cache.root().to_path_buf(),
            workdir,
            seed: plan.pipeline.seed,
            threads: t.resources.cpus as usize,
            devices,
            force,
            confine: t.confine.as_ref().map(|c| Confine {
                writable: c
                    .writable
                    .iter()
                    .map(|w| std::fs::canonicalize(w).unwrap_or_else(|_| w.clone()))
                    .collect(),
                network: c.network,
            }),
        }
    }

    /// Writes the spec as `task.json` into `dir`; returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, PipeError> {
        let path = dir.join("task.json");
        let bytes = serde_json::to_vec_pretty(self).expect("spec serializes");
        std::fs::write(&path, bytes).map_err(|e| io_error("cannot write", &path, e))?;
        Ok(path)
    }

    /// Reads a spec file.
    pub fn read(path: &Path) -> Result<Self, PipeError> {
        let bytes = std::fs::read(path).map_err(|e| io_error("cannot read", path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| PipeError::env(format!("{}: not a task spec: {e}", path.display())))
    }
}
