//! Parameters of the `train` stage kind; defaults are the original study's configuration
//! (`regnety_032_30000.config.yaml`: Adam, lr 1e-3, StepLR(5, 0.1), batch 32, 20 epochs, class-balanced
//! cross-entropy, normalization by dataset statistics).

use anyhow::{bail, Result};
use pipe_kind::StageParams;

use crate::train::metrics::METRICS;
use serde::{Deserialize, Serialize};

/// The optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `torch.optim.Adam` (weight decay as L2 added to the gradient).
    Adam,
    /// `torch.optim.AdamW` (decoupled weight decay).
    Adamw,
    /// `torch.optim.SGD` with `momentum` (no dampening, no Nesterov).
    Sgd,
}

/// The learning-rate schedule, stepped once per epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerKind {
    /// `StepLR(step_size, gamma)`.
    Step,
    /// `CosineAnnealingLR(T_max = epochs, eta_min = 0)`.
    Cosine,
    /// Constant learning rate.
    None,
}

/// Class weights of the cross-entropy loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeights {
    /// sklearn's `compute_class_weight('balanced')` on the training fold: `n / (classes * count)`.
    Balanced,
    /// Unweighted.
    None,
}

/// Zero padding added around each image before normalization.
///
/// A list is torchvision's `T.Pad` order, `[left, top, right, bottom]`: the study's `[1, 62, 2, 62]` pads
/// a 100x221 (HxW) image to 224x224 with 1 column left, 2 right, 62 rows on top and 62 below (note that
/// `torch.nn.functional.pad` would read the same list as left, right, top, bottom). An object names the
/// sides explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Pad {
    /// `[left, top, right, bottom]`, as `torchvision.transforms.Pad`.
    Torchvision([u32; 4]),
    /// Named sides.
    Sides {
        /// Columns added on the left.
        #[serde(default)]
        left: u32,
        /// Columns added on the right.
        #[serde(default)]
        right: u32,
        /// Rows added on top.
        #[serde(default)]
        top: u32,
        /// Rows added at the bottom.
        #[serde(default)]
        bottom: u32,
    },
}

/// Padding in pixels per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sides {
    /// Columns on the left.
    pub left: usize,
    /// Columns on the right.
    pub right: usize,
    /// Rows on top.
    pub top: usize,
    /// Rows at the bottom.
    pub bottom: usize,
}

impl Pad {
    /// The padding per side.
    pub fn sides(self) -> Sides {
        match self {
            Pad::Torchvision([left, top, right, bottom])
            | Pad::Sides {
                left,
                right,
                top,
                bottom,
            } => Sides {
                left: left as usize,
                right: right as usize,
                top: top as usize,
                bottom: bottom as usize,
            },
        }
    }
}

/// Early stopping on a validation metric.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// A column of the epochs table (`f1`, `auc_ovr`, `loss`, ...); `loss` is minimized, the rest maximized.
    pub metric: String,
    /// Epochs without improvement after which training stops.
    pub patience: usize,
}

/// Parameters of one `train` task.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// Architecture (timm name, see `pipe models`).
    pub arch: String,
    /// The validation fold: rows whose fold equals this validate, the rest train.
    pub fold: i32,
    /// Epochs.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Examples per batch.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Initial learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Optimizer.
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    /// Weight decay (L2 for Adam and SGD, decoupled for AdamW).
    #[serde(default)]
    pub weight_decay: f64,
    /// SGD momentum.
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Learning-rate schedule.
    #[serde(default = "default_scheduler")]
    pub scheduler: SchedulerKind,
    /// StepLR period in epochs.
    #[serde(default = "default_step_size")]
    pub step_size: usize,
    /// StepLR factor.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Padding around each image (none by default; the study used `[1, 62, 2, 62]`).
    #[serde(default)]
    pub pad: Option<Pad>,
    /// Pad to this `[height, width]` instead, centred, the odd pixel going right/bottom (`[224, 224]`
    /// on 100x221 images is the study's padding).
    #[serde(default)]
    pub pad_to: Option<[usize; 2]>,
    /// Normalize each channel by the training fold's mean and standard deviation.
    #[serde(default = "yes")]
    pub normalize: bool,
    /// Loss class weights.
    #[serde(default = "default_class_weights")]
    pub class_weights: ClassWeights,
    /// Stop when a validation metric stops improving.
    #[serde(default)]
    pub early_stopping: Option<EarlyStopping>,
    /// Deterministic algorithms (cuDNN deterministic, no benchmarking), as the study's `seed_everything`.
    #[serde(default = "yes")]
    pub deterministic: bool,
    /// bf16 autocast on CUDA.
    #[serde(default)]
    pub bf16: bool,
    /// Channels-last memory layout on CUDA.
    #[serde(default)]
    pub channels_last: bool,
    /// Classes the model predicts (2 or 3).
    #[serde(default = "default_num_classes")]
    pub num_classes: usize,
    /// CPU threads for libtorch (default: the task's share).
    #[serde(default)]
    pub threads: Option<usize>,
    /// A negative control: permute the training fold's labels (seeded by the task's seed and fold),
    /// so nothing but memorization is possible and validation metrics fall to chance. Validation
    /// labels stay true.
    #[serde(default)]
    pub shuffle_labels: bool,
}

fn default_epochs() -> usize {
    20
}
fn default_batch_size() -> usize {
    32
}
fn default_lr() -> f64 {
    1e-3
}
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam
}
fn default_momentum() -> f64 {
    0.9
}
fn default_scheduler() -> SchedulerKind {
    SchedulerKind::Step
}
fn default_step_size() -> usize {
    5
}
fn default_gamma() -> f64 {
    0.1
}
fn yes() -> bool {
    true
}
fn default_class_weights() -> ClassWeights {
    ClassWeights::Balanced
}
fn default_num_classes() -> usize {
    3
}

impl StageParams for TrainParams {
    /// Checks values serde cannot; errors name the field.
    fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            bail!("params.epochs: must be at least 1");
        }
        if self.batch_size == 0 {
            bail!("params.batch_size: must be at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("params.lr: must be a positive number, got {}", self.lr);
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            bail!("params.weight_decay: must be >= 0");
        }
        if !(0.0..1.0).contains(&self.momentum) {
            bail!("params.momentum: must be in [0, 1)");
        }
        if self.scheduler == SchedulerKind::Step && self.step_size == 0 {
            bail!("params.step_size: must be at least 1");
        }
        if !(self.gamma.is_finite() && self.gamma > 0.0) {
            bail!("params.gamma: must be positive");
        }
        if self.pad.is_some() && self.pad_to.is_some() {
            bail!("params.pad_to: give either pad or pad_to, not both");
        }
        if !(2..=3).contains(&self.num_classes) {
            bail!(
                "params.num_classes: must be 2 or 3 (the predictions table has columns p0..p2), got {}",
                self.num_classes
            );
        }
        if self.fold < 0 {
            bail!("params.fold: must be >= 0");
        }
        if let Some(es) = &self.early_stopping {
            if !METRICS.contains(&es.metric.as_str()) {
                bail!(
                    "params.early_stopping.metric: unknown metric '{}'; use one of {}",
                    es.metric,
                    METRICS.join(", ")
                );
            }
            if es.patience == 0 {
                bail!("params.early_stopping.patience: must be at least 1");
            }
        }
        Ok(())
    }
}

impl TrainParams {
    /// Padding for images of `height` x `width`.
    pub fn padding(&self, height: usize, width: usize) -> Result<Sides> {
        if let Some(pad) = self.pad {
            return Ok(pad.sides());
        }
        let Some([h, w]) = self.pad_to else {
            return Ok(Sides::default());
        };
        if h < height || w < width {
            bail!("params.pad_to: [{h}, {w}] is smaller than the images ({height}x{width})");
        }
        let (dh, dw) = (h - height, w - width);
        Ok(Sides {
            left: dw / 2,
            right: dw - dw / 2,
            top: dh / 2,
            bottom: dh - dh / 2,
        })
    }

    /// The learning rate during 0-based `epoch`, as the PyTorch scheduler sets it after `epoch` steps.
    pub fn lr_at(&self, epoch: usize) -> f64 {
        match self.scheduler {
            SchedulerKind::None => self.lr,
            SchedulerKind::Step => {
                let mut lr = self.lr;
                for e in 1..=epoch {
                    if e % self.step_size == 0 {
                        lr *= self.gamma;
                    }
                }
                lr
            }
            SchedulerKind::Cosine => {
                let t = epoch as f64 / self.epochs as f64;
                self.lr * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
            }
        }
    }

    /// The metric that picks the best epoch (early stopping's, else validation F1), and whether lower
    /// is better.
    pub fn selection_metric(&self) -> (&str, bool) {
        let metric = self
            .early_stopping
            .as_ref()
            .map_or("f1", |e| e.metric.as_str());
        (metric, metric == "loss")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipe_kind::parse_params;

    fn params(extra: serde_json::Value) -> TrainParams {
        let mut v = serde_json::json!({"arch": "regnety_002", "fold": 0});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        parse_params(&v).unwrap()
    }

    #[test]
    fn study_padding_is_left_top_right_bottom() {
        let p = params(serde_json::json!({"pad": [1, 62, 2, 62]}));
        let s = p.padding(100, 221).unwrap();
        assert_eq!((s.left, s.top, s.right, s.bottom), (1, 62, 2, 62));
        assert_eq!((100 + s.top + s.bottom, 221 + s.left + s.right), (224, 224));
        // pad_to reproduces the study's sides.
        let q = params(serde_json::json!({"pad_to": [224, 224]}));
        assert_eq!(q.padding(100, 221).unwrap(), s);
        let named =
            params(serde_json::json!({"pad": {"left": 1, "right": 2, "top": 62, "bottom": 62}}));
        assert_eq!(named.padding(100, 221).unwrap(), s);
        assert!(q.padding(300, 10).is_err());
    }

    #[test]
    fn step_lr_matches_torch() {
        let p = params(serde_json::json!({}));
        assert_eq!(p.lr_at(4), 1e-3);
        assert!((p.lr_at(5) - 1e-4).abs() < 1e-18);
        assert!((p.lr_at(19) - 1e-6).abs() < 1e-18);
        let c = params(serde_json::json!({"scheduler": "cosine", "epochs": 4}));
        assert!((c.lr_at(2) - 5e-4).abs() < 1e-15);
    }

    #[test]
    fn bad_values_name_the_field() {
        let p = params(serde_json::json!({"early_stopping": {"metric": "f2", "patience": 2}}));
        let err = p.validate().unwrap_err().to_string();
        assert!(
            err.contains("early_stopping.metric") && err.contains("auc_ovr"),
            "{err}"
        );
        let p = params(serde_json::json!({"num_classes": 5}));
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("num_classes"));
    }
}
