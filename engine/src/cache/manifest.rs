//! `manifest.json`: what an entry holds and how it was made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io_error, PipeError};

/// One output of an entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutputRecord {
    /// Path relative to the entry's `out/`.
    pub path: String,
    /// blake3 of the file, or of the directory tree.
    pub digest: String,
    /// Size in bytes (all files of a directory).
    pub bytes: u64,
}

/// What the manifest says about how a command ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfinementRecord {
    /// Whether writes outside the folders below were refused by the kernel.
    pub confined: bool,
    /// The folders it could write in.
    pub writable: Vec<PathBuf>,
    /// Whether TCP was refused by the kernel.
    pub network_refused: bool,
    /// Why confinement or the network rule was not enforced, when it was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Provenance of one cache entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The entry's key.
    pub key: String,
    /// Task id when it was computed.
    pub task: String,
    /// Stage name when it was computed.
    pub stage: String,
    /// What the key was computed from (kind, version, params, seed, inputs).
    pub components: serde_json::Value,
    /// Output name to record.
    pub outputs: BTreeMap<String, OutputRecord>,
    /// Start, UNIX seconds.
    pub started: f64,
    /// End, UNIX seconds.
    pub finished: f64,
    /// Devices the task held (physical GPU ids; empty on CPU).
    pub devices: Vec<usize>,
    /// Host it ran on.
    pub host: String,
    /// Environment: pipe version, libtorch version, GPU name, cluster job id, when known.
    pub environment: BTreeMap<String, String>,
    /// For a command: whether it ran confined, and where it could write (absent for a kind, whose
    /// code is the engine's own, and in entries made before confinement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confinement: Option<ConfinementRecord>,
}

impl Manifest {
    /// Reads a manifest file.
    pub fn read(path: &Path) -> Result<Self, PipeError> {
        let bytes = std::fs::read(path).map_err(|e| io_error("cannot read", path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| PipeError::env(format!("{}: damaged manifest: {e}", path.display())))
    }

    /// Writes it (pretty JSON) to `path`.
    pub fn write(&self, path: &Path) -> Result<(), PipeError> {
        let bytes = serde_json::to_vec_pretty(self).expect("manifest serializes");
        std::fs::write(path, bytes).map_err(|e| io_error("cannot write", path, e))
    }
}
