//! The training loop of one (architecture, fold) task, as the study's `training.py` runs one fold:
//! class-weighted cross-entropy, an optimizer step per batch, a scheduler step per epoch, metrics of the
//! training pass (train-mode outputs) and of a validation pass every epoch.
//!
//! Differences from the study, on purpose: the epoch loss is the mean of the batch losses (the study
//! meant this but recorded the last batch's loss); normalization statistics come from the training
//! fold only (the study used the whole data set); `seconds` and `images_per_second` replace its
//! `inference_time` in minutes (TensorBoard still gets `inference_time` in minutes).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use tch::{nn, Kind, Tensor};

use super::checkpoint::{self, Progress};
use super::device::{self, Pixels, Transform};
use super::early_stop;
use super::host_input::HostInput;
use super::optim::Optimizer;
use super::outputs::write_outputs;
use super::pass::{panic_message, Loop};
use pipe_stages::kind::TaskContext;
use pipe_stages::train::host_transform::HostTransform;
use pipe_stages::train::loader::{channel_stats, epoch_order, Dataset, HostBatch};
use pipe_stages::train::params::{ClassWeights, TrainParams};

/// Builds a model under a var-store path: `(path, arch, in_channels, num_classes)`.
pub type ModelBuilder =
    dyn Fn(&nn::Path, &str, i64, i64) -> Result<Box<dyn nn::ModuleT + Send>> + Sync;

/// Batches gathered ahead of the training loop.
pub const PREFETCH: usize = 4;

/// Runs the task: trains, then writes the outputs `epochs`, `predictions`, `model` and `tensorboard`.
pub fn run(ctx: &TaskContext, build: &ModelBuilder) -> Result<()> {
    train(ctx, build, None)
}

/// [`run`], returning after `stop_after` epochs (with the checkpoint written) as if interrupted.
pub fn train(ctx: &TaskContext, build: &ModelBuilder, stop_after: Option<usize>) -> Result<()> {
    let p: TrainParams = ctx.params()?;
    p.validate()?;
    let threads = p.threads.unwrap_or(ctx.threads).max(1);
    tch::set_num_threads(i32::try_from(threads).unwrap_or(1));
    if p.deterministic && std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
        // cuBLAS reads this when CUDA starts (below); deterministic GEMMs need it.
        std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
    }
    device::set_deterministic(p.deterministic);
    let device = device::select(&ctx.devices);
    let cuda = device.is_cuda();
    if p.bf16 && cuda {
        device::use_bf16_autocast();
    }
    let examples = ctx.input("examples")?;
    let mut data = Dataset::read(examples, ctx.input("folds")?, p.num_classes)?;
    let (train_rows, val_rows) = data.split(p.fold);
    check_split(&data, &train_rows, &val_rows, &p)?;
    if p.shuffle_labels {
        eprintln!("train: shuffled-label control: the training labels are permuted");
        data.permute_labels(&train_rows, ctx.seed.wrapping_add(p.fold as u64));
    }
    let data = Arc::new(data);
    let shape = &data.shape;
    let pad = p.padding(shape.height, shape.width)?;
    let stats = p.normalize.then(|| channel_stats(&data, &train_rows, pad));
    let transform = Transform::new(
        shape,
        pad,
        stats.as_ref().map(|(m, s)| (m.as_slice(), s.as_slice())),
        device,
        p.channels_last && cuda,
    );
    // On the CPU the loader's thread pads and normalizes into the input tensors, ahead of the model;
    // a GPU gets u8 pixels.
    let host_input = (!cuda).then(|| {
        let transform = HostTransform::new(
            shape,
            pad,
            stats.as_ref().map(|(m, s)| (m.as_slice(), s.as_slice())),
            threads,
        );
        Arc::new(HostInput::new(transform, PREFETCH))
    });
    let k = p.num_classes;
    let weights = class_weights(&data, &train_rows, &p);
    eprintln!(
        "train: {} on fold {}: {} training, {} validation examples of {}x{}x{} padded to {:?}, \
         device {device:?}, class weights {weights:?}",
        p.arch,
        p.fold,
        train_rows.len(),
        val_rows.len(),
        shape.height,
        shape.width,
        shape.channels.len(),
        transform.output_size()
    );
    let weights = Tensor::from_slice(&weights)
        .to_kind(Kind::Float)
        .to_device(device);

    tch::manual_seed(ctx.seed as i64);
    let mut vs = nn::VarStore::new(device);
    let channels = shape.channels.len() as i64;
    let model = build(&vs.root(), &p.arch, channels, k as i64)?;
    if p.channels_last && cuda {
        device::vars_channels_last(&vs);
    }
    check_input_fits(&*model, &data, &transform, &p)?;
    let mut opt = Optimizer::new(&vs, p.optimizer, p.weight_decay, p.momentum);

    let mut state = match checkpoint::latest(&ctx.state_dir) {
        Some(dir) => {
            let r = checkpoint::load(&dir, &mut vs, &mut opt)?;
            eprintln!(
                "train: resuming after epoch {} from {}",
                r.progress.epochs_done,
                dir.display()
            );
            r
        }
        None => checkpoint::Restored {
            progress: Progress {
                epochs_done: 0,
                optimizer_steps: 0,
                best: None,
                since_best: 0,
                stopped_early: false,
            },
            rows: Vec::new(),
            best_predictions: Vec::new(),
            last_predictions: Vec::new(),
        },
    };

    let loop_ctx = Loop {
        ctx,
        p: &p,
        data: &data,
        transform: &transform,
        host_input: host_input.as_ref(),
        weights: &weights,
        model: &*model,
        device,
    };
    // BatchNorm cannot train on one example (PyTorch refuses; libtorch's running variance becomes
    // NaN), so a lone example left over at the end of a training epoch sits that epoch out. The order
    // is reshuffled every epoch, so it is a different example each time.
    let train_per_epoch = if train_rows.len() > 1 && train_rows.len() % p.batch_size == 1 {
        eprintln!(
            "train: {} training examples leave one alone in the last batch of {}; each epoch skips \
             its last example (BatchNorm cannot train on a batch of one)",
            train_rows.len(),
            p.batch_size
        );
        train_rows.len() - 1
    } else {
        train_rows.len()
    };
    let train_batches = train_per_epoch.div_ceil(p.batch_size);
    let batches_per_epoch = train_batches + val_rows.len().div_ceil(p.batch_size);
    let total = (batches_per_epoch * p.epochs) as u64;
    let (select, lower_better) = p.selection_metric();
    while state.progress.epochs_done < p.epochs && !state.progress.stopped_early {
        let epoch = state.progress.epochs_done;
        // Dropout and other random ops draw from a generator seeded per epoch, so resuming needs no
        // generator state.
        tch::manual_seed(epoch_seed(ctx.seed, p.fold, epoch));
        let done_before = (batches_per_epoch * epoch) as u64;
        let lr = p.lr_at(epoch);
        let mut order = epoch_order(&train_rows, ctx.seed, p.fold, epoch);
        order.truncate(train_per_epoch);
        let train_pass = loop_ctx.pass(epoch, &order, Some((&mut opt, lr)), done_before, total)?;
        let val_pass = loop_ctx.pass(
            epoch,
            &val_rows,
            None,
            done_before + train_batches as u64,
            total,
        )?;
        let train_row = loop_ctx.row(epoch, "training", &train_pass);
        let val_row = loop_ctx.row(epoch, "validation", &val_pass);
        let predictions = loop_ctx.predictions(epoch, &val_rows, &val_pass);
        let value = val_row.metric(select).unwrap_or(f64::NAN);
        if early_stop::record_epoch(&mut state.progress, epoch, value, lower_better) {
            state.best_predictions = predictions.clone();
        }
        eprintln!(
            "train: epoch {}/{} lr {lr:e}: training loss {:.4} f1 {:.4}; validation loss {:.4} f1 {:.4} \
             auc_ovr {:.4} ({:.1} s, {:.0} img/s)",
            epoch + 1,
            p.epochs,
            train_row.loss,
            train_row.f1,
            val_row.loss,
            val_row.f1,
            val_row.auc_ovr,
            train_row.seconds + val_row.seconds,
            train_row.images_per_second
        );
        state.rows.push(train_row);
        state.rows.push(val_row);
        state.last_predictions = predictions;
        state.progress.epochs_done = epoch + 1;
        state.progress.optimizer_steps = opt.steps;
        early_stop::stop_if_patience_ran_out(&mut state.progress, &p);
        checkpoint::save(
            &ctx.state_dir,
            &vs,
            &opt,
            &state.progress,
            &state.rows,
            &state.best_predictions,
            &state.last_predictions,
        )?;
        if stop_after == Some(state.progress.epochs_done) {
            return Ok(());
        }
    }
    write_outputs(ctx, &p, &vs, &state, &data, pad, stats.as_ref())
}

fn epoch_seed(seed: u64, fold: i32, epoch: usize) -> i64 {
    seed.wrapping_mul(1_000_003)
        .wrapping_add((fold as u64) << 20)
        .wrapping_add(epoch as u64) as i64
}

fn check_split(data: &Dataset, train: &[usize], val: &[usize], p: &TrainParams) -> Result<()> {
    if val.is_empty() {
        let mut folds: Vec<i32> = data.folds.clone();
        folds.sort_unstable();
        folds.dedup();
        bail!(
            "no labeled example is in fold {} (the folds table has folds {folds:?}); check params.fold",
            p.fold
        );
    }
    if train.is_empty() {
        bail!(
            "every labeled example is in fold {}: nothing is left to train on; split into more folds",
            p.fold
        );
    }
    let mut classes: Vec<i64> = train.iter().map(|&i| data.labels[i]).collect();
    classes.sort_unstable();
    classes.dedup();
    if classes.len() < 2 {
        bail!(
            "the training part of fold {} has only class {:?}; a classifier needs at least two classes \
             (stratify the split by label)",
            p.fold,
            classes
        );
    }
    Ok(())
}

/// sklearn's `compute_class_weight('balanced')` over the classes present in the training fold
/// (`n / (present * count)`); a class absent from the training fold gets weight 1.
fn class_weights(data: &Dataset, train: &[usize], p: &TrainParams) -> Vec<f64> {
    let k = p.num_classes;
    if p.class_weights == ClassWeights::None {
        return vec![1.0; k];
    }
    let mut counts = vec![0usize; k];
    for &i in train {
        counts[data.labels[i] as usize] += 1;
    }
    let present = counts.iter().filter(|&&c| c > 0).count();
    counts
        .iter()
        .enumerate()
        .map(|(class, &c)| {
            if c == 0 {
                eprintln!("train: warning: class {class} has no training example; its weight is 1");
                1.0
            } else {
                train.len() as f64 / (present * c) as f64
            }
        })
        .collect()
}

/// Runs one example through the model to turn a shape mismatch into a clear error before training.
fn check_input_fits(
    model: &dyn nn::ModuleT,
    data: &Dataset,
    transform: &Transform,
    p: &TrainParams,
) -> Result<()> {
    let batch = HostBatch {
        rows: vec![0],
        pixels: Pixels::Raw(data.image(0).to_vec()),
        labels: vec![data.labels[0]],
    };
    let (x, _) = transform.apply(batch)?;
    let (h, w) = transform.output_size();
    let out = catch_unwind(AssertUnwindSafe(|| {
        tch::no_grad(|| model.forward_t(&x, false).size())
    }))
    .map_err(|e| {
        anyhow!(
            "{} cannot take images of {}x{h}x{w} (channels x height x width, after padding): {}; \
             pad them with params.pad_to",
            p.arch,
            data.shape.channels.len(),
            panic_message(&e)
        )
    })?;
    if out != [1, p.num_classes as i64] {
        bail!(
            "{} outputs shape {out:?} for one image, expected [1, {}]",
            p.arch,
            p.num_classes
        );
    }
    Ok(())
}
