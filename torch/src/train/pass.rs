//! One pass over a split: the batches through the model (with an optimizer step each when training),
//! the mean batch loss, the softmax outputs, progress updates, and the pass's epoch row and predictions.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use tch::{nn, Device, Kind, Reduction, Tensor};

use super::device::{self, Pixels, Transform};
use super::host_input::HostInput;
use super::optim::Optimizer;
use crate::train::loader::{Batches, Dataset};
use pipe_kind::TaskContext;
use pipe_stages::analysis::tables::{EpochRow, PredictionRow};
use pipe_stages::train::metrics;
use pipe_stages::train::params::TrainParams;

/// Minimum seconds between progress updates.
const PROGRESS_EVERY: f64 = 0.5;

/// What one pass over a split produced.
pub(super) struct Pass {
    /// The mean of the batch losses.
    loss: f64,
    /// The examples' labels, in pass order.
    labels: Vec<usize>,
    /// The softmax outputs, `num_classes` per example, in pass order.
    probs: Vec<f64>,
    /// Wall-clock seconds of the pass.
    seconds: f64,
}

/// Everything a pass needs.
pub(super) struct Loop<'a> {
    pub(super) ctx: &'a TaskContext,
    pub(super) p: &'a TrainParams,
    pub(super) data: &'a Arc<Dataset>,
    pub(super) transform: &'a Transform,
    /// The CPU's input tensors, filled on the loader's thread; `None` on a GPU.
    pub(super) host_input: Option<&'a Arc<HostInput>>,
    /// Class weights of the loss, on the device.
    pub(super) weights: &'a Tensor,
    pub(super) model: &'a dyn nn::ModuleT,
    pub(super) device: Device,
}

impl Loop<'_> {
    /// One pass over `rows` in order: training when `opt` is given (with its learning rate).
    pub(super) fn pass(
        &self,
        epoch: usize,
        rows: &[usize],
        mut opt: Option<(&mut Optimizer, f64)>,
        done_before: u64,
        total: u64,
    ) -> Result<Pass> {
        let p = self.p;
        let training = opt.is_some();
        let start = Instant::now();
        let n_batches = rows.len().div_ceil(p.batch_size);
        let mut losses: Vec<Tensor> = Vec::with_capacity(n_batches);
        let mut probs: Vec<Tensor> = Vec::with_capacity(n_batches);
        let mut loss_values: Vec<f64> = Vec::with_capacity(n_batches);
        let mut last_report = Instant::now();
        for (b, batch) in self.batches(rows).enumerate() {
            let (x, y) = self.transform.apply(batch)?;
            let optimizer = opt.as_mut().map(|(o, lr)| (&mut **o, *lr));
            let (logits, loss) = self.step(&x, &y, optimizer, epoch, b)?;
            if let Some(host) = self.host_input {
                // SAFETY: the step is over and this is the last handle to `x`'s storage: backward
                // released what autograd saved of it, and the detached logits and loss do not view it.
                unsafe { host.recycle(x) };
            }
            probs.push(logits.softmax(-1, Kind::Float));
            losses.push(loss);
            if last_report.elapsed().as_secs_f64() >= PROGRESS_EVERY || b + 1 == n_batches {
                self.collect_losses(&mut losses, &mut loss_values, epoch, training)?;
                let seen = ((b + 1) * p.batch_size).min(rows.len());
                let mean = loss_values.iter().sum::<f64>() / loss_values.len() as f64;
                self.ctx.progress.update(
                    done_before + b as u64 + 1,
                    total,
                    format!(
                        "epoch {}/{} {} batch {}/{n_batches} loss {mean:.3} {:.0} img/s",
                        epoch + 1,
                        p.epochs,
                        if training { "train" } else { "val" },
                        b + 1,
                        seen as f64 / start.elapsed().as_secs_f64()
                    ),
                );
                last_report = Instant::now();
            }
        }
        let probs = Tensor::cat(&probs, 0)
            .to_kind(Kind::Double)
            .to_device(Device::Cpu);
        let probs: Vec<f64> = Vec::try_from(probs.view([-1]))?;
        let seconds = start.elapsed().as_secs_f64();
        Ok(Pass {
            loss: loss_values.iter().sum::<f64>() / loss_values.len() as f64,
            labels: rows.iter().map(|&r| self.data.labels[r] as usize).collect(),
            probs,
            seconds,
        })
    }

    /// Starts gathering `rows` in batches on the loader's thread: u8 pixels for a GPU, the model's input
    /// tensors on the CPU.
    fn batches(&self, rows: &[usize]) -> Batches<Pixels> {
        device::gather(
            self.data.clone(),
            rows.to_vec(),
            self.p.batch_size,
            self.host_input.cloned(),
        )
    }

    /// One batch through the model: its logits and loss, detached, after an optimizer step when `opt`
    /// is given (with its learning rate). A libtorch panic becomes an error naming `epoch` and `batch`.
    fn step(
        &self,
        x: &Tensor,
        y: &Tensor,
        opt: Option<(&mut Optimizer, f64)>,
        epoch: usize,
        batch: usize,
    ) -> Result<(Tensor, Tensor)> {
        let p = self.p;
        let training = opt.is_some();
        let step = catch_unwind(AssertUnwindSafe(|| {
            let forward = || {
                let logits = tch::autocast(p.bf16 && self.device.is_cuda(), || {
                    self.model.forward_t(x, training)
                })
                .to_kind(Kind::Float);
                let loss =
                    logits.cross_entropy_loss(y, Some(self.weights), Reduction::Mean, -100, 0.0);
                (logits, loss)
            };
            match opt {
                Some((o, lr)) => {
                    o.zero_grad();
                    let (logits, loss) = forward();
                    loss.backward();
                    o.step(lr);
                    (logits.detach(), loss.detach())
                }
                None => tch::no_grad(forward),
            }
        }));
        step.map_err(|e| self.torch_error(epoch, batch, &e))
    }

    /// Moves pending batch losses to the host (one synchronization) and stops on a non-finite one.
    fn collect_losses(
        &self,
        pending: &mut Vec<Tensor>,
        values: &mut Vec<f64>,
        epoch: usize,
        training: bool,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let t = Tensor::stack(pending, 0)
            .to_kind(Kind::Double)
            .to_device(Device::Cpu);
        let new: Vec<f64> = Vec::try_from(t)?;
        pending.clear();
        for v in new {
            if !v.is_finite() {
                bail!(
                    "the {} loss is {v} at epoch {} batch {} (1-based); lower params.lr or check the inputs",
                    if training { "training" } else { "validation" },
                    epoch + 1,
                    values.len() + 1
                );
            }
            values.push(v);
        }
        Ok(())
    }

    /// A libtorch panic at `epoch` and `batch` as an error; out of memory suggests a smaller batch.
    fn torch_error(
        &self,
        epoch: usize,
        batch: usize,
        e: &Box<dyn std::any::Any + Send>,
    ) -> anyhow::Error {
        let msg = panic_message(e);
        if msg.contains("out of memory") {
            anyhow!(
                "out of memory on {:?} with batch_size {} (epoch {} batch {}); try params.batch_size {}",
                self.device,
                self.p.batch_size,
                epoch + 1,
                batch + 1,
                (self.p.batch_size / 2).max(1)
            )
        } else {
            anyhow!(
                "libtorch failed at epoch {} batch {}: {msg}",
                epoch + 1,
                batch + 1
            )
        }
    }

    /// The epoch row of `split` from its pass; prints the metrics' warnings.
    pub(super) fn row(&self, epoch: usize, split: &str, pass: &Pass) -> EpochRow {
        let report = metrics::evaluate(&pass.labels, &pass.probs, self.p.num_classes);
        for w in &report.warnings {
            eprintln!("train: warning: epoch {} {split}: {w}", epoch + 1);
        }
        let m = report.metrics;
        EpochRow {
            arch: self.p.arch.clone(),
            fold: self.p.fold,
            epoch: epoch as i32,
            split: split.to_string(),
            loss: pass.loss,
            accuracy: m.accuracy,
            precision: m.precision,
            recall: m.recall,
            f1: m.f1,
            auc_ovr: m.auc_ovr,
            auc_ovo: m.auc_ovo,
            mcc: m.mcc,
            seconds: pass.seconds,
            images_per_second: pass.labels.len() as f64 / pass.seconds,
        }
    }

    /// The pass's predictions of `rows`, one row per example.
    pub(super) fn predictions(
        &self,
        epoch: usize,
        rows: &[usize],
        pass: &Pass,
    ) -> Vec<PredictionRow> {
        let k = self.p.num_classes;
        rows.iter()
            .zip(pass.probs.chunks(k))
            .map(|(&r, probs)| {
                let mut p = [0.0; 3];
                p[..k].copy_from_slice(probs);
                PredictionRow {
                    arch: self.p.arch.clone(),
                    id: self.data.ids[r].clone(),
                    fold: self.p.fold,
                    epoch: epoch as i32,
                    label: self.data.labels[r] as i8,
                    p,
                }
            })
            .collect()
    }
}

/// The first line of a libtorch panic's message.
pub(crate) fn panic_message(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "libtorch error".to_string())
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
