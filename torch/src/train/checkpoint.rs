//! Per-epoch checkpoints in the task's state directory, so an interrupted task resumes from its last
//! complete epoch.
//!
//! A checkpoint is a directory `epoch-NNNN/` with `model.safetensors` (every variable, buffers included),
//! `optimizer.safetensors` (optimizer state), `epochs.parquet` (the rows so far),
//! `best_predictions.parquet`, `last_predictions.parquet` and `state.json`. It is written under a temporary name and renamed, then
//! `LATEST` (the directory's name) is replaced atomically; older checkpoints are removed afterwards. A
//! checkpoint that cannot be written completely is removed, and the previous one stays the latest.
//! The learning rate is a function of the epoch and the shuffling and torch seeds are derived from
//! (seed, fold, epoch), so no scheduler or RNG state needs saving.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use super::optim::Optimizer;
use pipe_stages::analysis::tables::{self, EpochRow, PredictionRow};

/// Training progress besides tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimizer steps taken.
    pub optimizer_steps: i64,
    /// Best epoch so far and its selection-metric value.
    pub best: Option<(usize, f64)>,
    /// Epochs since the best one (early stopping).
    pub since_best: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
}

/// Everything restored from a checkpoint.
pub struct Restored {
    /// Counters.
    pub progress: Progress,
    /// Epoch rows so far.
    pub rows: Vec<EpochRow>,
    /// Validation predictions of the best epoch so far.
    pub best_predictions: Vec<PredictionRow>,
    /// Validation predictions of the last completed epoch.
    pub last_predictions: Vec<PredictionRow>,
}

const LATEST: &str = "LATEST";

/// Saves a checkpoint after an epoch.
pub fn save(
    state_dir: &Path,
    vs: &nn::VarStore,
    opt: &Optimizer,
    progress: &Progress,
    rows: &[EpochRow],
    best_predictions: &[PredictionRow],
    last_predictions: &[PredictionRow],
) -> Result<()> {
    let name = format!("epoch-{:04}", progress.epochs_done);
    let tmp = state_dir.join(format!("{name}.tmp"));
    let dir = state_dir.join(&name);
    let written = write_files(
        &tmp,
        vs,
        opt,
        progress,
        rows,
        best_predictions,
        last_predictions,
    )
    .and_then(|()| {
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&tmp, &dir).with_context(|| format!("cannot rename to {}", dir.display()))
    });
    if let Err(e) = written {
        // A partial checkpoint is of no use and, on a full disk, holds the space a retry needs.
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let latest_tmp = state_dir.join(format!("{LATEST}.tmp"));
    fs::write(&latest_tmp, &name)?;
    fs::rename(&latest_tmp, state_dir.join(LATEST))?;
    for entry in fs::read_dir(state_dir)?.flatten() {
        let path = entry.path();
        let file_name = entry.file_name();
        let n = file_name.to_string_lossy();
        if n.starts_with("epoch-") && n != name.as_str() {
            let _ = fs::remove_dir_all(&path);
        }
    }
    Ok(())
}

/// Writes every file of a checkpoint into the new directory `tmp`.
fn write_files(
    tmp: &Path,
    vs: &nn::VarStore,
    opt: &Optimizer,
    progress: &Progress,
    rows: &[EpochRow],
    best_predictions: &[PredictionRow],
    last_predictions: &[PredictionRow],
) -> Result<()> {
    let _ = fs::remove_dir_all(tmp);
    fs::create_dir_all(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    vs.save(tmp.join("model.safetensors"))
        .context("cannot save the model checkpoint")?;
    Tensor::write_safetensors(&opt.state(), tmp.join("optimizer.safetensors"))
        .context("cannot save the optimizer checkpoint")?;
    tables::write_epochs(&tmp.join("epochs.parquet"), rows)?;
    tables::write_predictions(&tmp.join("best_predictions.parquet"), best_predictions)?;
    tables::write_predictions(&tmp.join("last_predictions.parquet"), last_predictions)?;
    fs::write(tmp.join("state.json"), serde_json::to_vec_pretty(progress)?)?;
    Ok(())
}

/// The latest complete checkpoint, if any.
pub fn latest(state_dir: &Path) -> Option<PathBuf> {
    let name = fs::read_to_string(state_dir.join(LATEST)).ok()?;
    let dir = state_dir.join(name.trim());
    dir.join("state.json").is_file().then_some(dir)
}

/// Loads the checkpoint in `dir` into `vs` and `opt`.
pub fn load(dir: &Path, vs: &mut nn::VarStore, opt: &mut Optimizer) -> Result<Restored> {
    let ctx = || format!("cannot resume from checkpoint {}", dir.display());
    let progress: Progress =
        serde_json::from_slice(&fs::read(dir.join("state.json")).with_context(ctx)?)
            .with_context(ctx)?;
    vs.load(dir.join("model.safetensors")).with_context(ctx)?;
    let state = Tensor::read_safetensors(dir.join("optimizer.safetensors")).with_context(ctx)?;
    let device = vs.device();
    let state = state
        .into_iter()
        .map(|(k, t)| (k, t.to_device(device)))
        .collect();
    opt.load_state(state, progress.optimizer_steps)
        .with_context(ctx)?;
    Ok(Restored {
        rows: tables::read_epochs(&dir.join("epochs.parquet")).with_context(ctx)?,
        best_predictions: tables::read_predictions(&dir.join("best_predictions.parquet"))
            .with_context(ctx)?,
        last_predictions: tables::read_predictions(&dir.join("last_predictions.parquet"))
            .with_context(ctx)?,
        progress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipe_stages::train::params::OptimizerKind;
    use tch::Device;

    fn progress(epochs_done: usize) -> Progress {
        Progress {
            epochs_done,
            optimizer_steps: 3 * epochs_done as i64,
            best: None,
            since_best: 0,
            stopped_early: false,
        }
    }

    fn model() -> (nn::VarStore, Optimizer) {
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = nn::linear(vs.root() / "fc", 4, 3, Default::default());
        let opt = Optimizer::new(&vs, OptimizerKind::Adam, 0.0, 0.0);
        (vs, opt)
    }

    #[test]
    fn a_checkpoint_that_cannot_be_written_leaves_the_previous_one_and_no_partial_copy() {
        let dir = tempfile::tempdir().unwrap();
        let (vs, opt) = model();
        save(dir.path(), &vs, &opt, &progress(1), &[], &[], &[]).unwrap();
        // A file where the second checkpoint's directory goes makes its final rename fail.
        fs::write(dir.path().join("epoch-0002"), b"in the way").unwrap();
        let err = save(dir.path(), &vs, &opt, &progress(2), &[], &[], &[]).unwrap_err();
        assert!(format!("{err:#}").contains("epoch-0002"), "{err:#}");
        assert!(!dir.path().join("epoch-0002.tmp").exists());
        let latest = latest(dir.path()).unwrap();
        assert_eq!(latest, dir.path().join("epoch-0001"));
        let (mut vs2, mut opt2) = model();
        let restored = load(&latest, &mut vs2, &mut opt2).unwrap();
        assert_eq!(restored.progress, progress(1));
    }
}
