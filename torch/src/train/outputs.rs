//! The task's outputs once training ends: the `epochs` and `predictions` tables, the `model` directory
//! (weights and `config.json`) and the `tensorboard` event file.

use std::path::Path;

use anyhow::{Context, Result};
use tch::nn;

use super::checkpoint;
use crate::train::loader::Dataset;
use crate::train::tensorboard::EventWriter;
use pipe_kind::TaskContext;
use pipe_stages::analysis::tables::{self, EpochRow};
use pipe_stages::train::model_config::{ModelConfig, Normalization, CONFIG_FILE, WEIGHTS_FILE};
use pipe_stages::train::params::{Sides, TrainParams};

/// Writes the outputs: every epoch row, the last epoch's predictions followed by the best epoch's (when
/// another), the final weights with the model's configuration, and the TensorBoard scalars.
pub(super) fn write_outputs(
    ctx: &TaskContext,
    p: &TrainParams,
    vs: &nn::VarStore,
    state: &checkpoint::Restored,
    data: &Dataset,
    pad: Sides,
    stats: Option<&(Vec<f64>, Vec<f64>)>,
) -> Result<()> {
    tables::write_epochs(ctx.output("epochs")?, &state.rows)?;
    let mut predictions = state.last_predictions.clone();
    let last_epoch = predictions.first().map(|r| r.epoch);
    if state.best_predictions.first().map(|r| r.epoch) != last_epoch {
        predictions.extend(state.best_predictions.iter().cloned());
    }
    tables::write_predictions(ctx.output("predictions")?, &predictions)?;

    let model_dir = ctx.output("model")?;
    std::fs::create_dir_all(model_dir)
        .with_context(|| format!("cannot create {}", model_dir.display()))?;
    vs.save(model_dir.join(WEIGHTS_FILE))
        .context("cannot save the model")?;
    let config = ModelConfig {
        arch: p.arch.clone(),
        channels: data.shape.channels.clone(),
        classes: p.num_classes,
        height: data.shape.height,
        width: data.shape.width,
        padding: pad,
        normalization: stats.map(|(mean, std)| Normalization {
            mean: mean.clone(),
            std: std.clone(),
        }),
        epoch: state.progress.epochs_done,
    };
    std::fs::write(
        model_dir.join(CONFIG_FILE),
        serde_json::to_vec_pretty(&config)?,
    )?;
    write_tensorboard(ctx.output("tensorboard")?, &state.rows)
}

/// Scalars under the study's tags (`train_metrics/f1`, `val_metrics/auc_ovr`, ...; step = epoch + 1;
/// `inference_time` in minutes as the study logged it).
fn write_tensorboard(dir: &Path, rows: &[EpochRow]) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut w = EventWriter::create(dir, now)?;
    for r in rows {
        let prefix = if r.split == "training" {
            "train_metrics"
        } else {
            "val_metrics"
        };
        let step = i64::from(r.epoch) + 1;
        for name in tables::METRICS {
            let v = r.metric(name).unwrap_or(f64::NAN);
            w.scalar(&format!("{prefix}/{name}"), v, step, now)?;
        }
        w.scalar(
            &format!("{prefix}/inference_time"),
            r.seconds / 60.0,
            step,
            now,
        )?;
        w.scalar(
            &format!("{prefix}/images_per_second"),
            r.images_per_second,
            step,
            now,
        )?;
    }
    w.finish()
}
