//! The training loop of one (architecture, fold) task, as the study's `training.py` runs one fold:
//! class-weighted cross-entropy, an optimizer step per batch, a scheduler step per epoch, metrics of the
//! training pass (train-mode outputs) and of a validation pass every epoch.
//!
//! Differences from the study, on purpose: the epoch loss is the mean of the batch losses (the study
//! meant this but recorded the last batch's loss); normalization statistics come from the training
//! fold only (the study used the whole data set); `seconds` and `images_per_second` replace its
//! `inference_time` in minutes (TensorBoard still gets `inference_time` in minutes).
//!
//! A run is set up once (`Run::set_up`), resumes from the latest checkpoint if there is one (`resume`),
//! trains epoch by epoch (`Run::epoch`, a checkpoint after each) and finally writes its outputs.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use tch::{nn, Device, Kind, Tensor};

use super::checkpoint::{self, Progress, Restored};
use super::device::{self, Pixels, Transform};
use super::early_stop;
use super::host_input::HostInput;
use super::optim::Optimizer;
use super::outputs;
use super::pass::{panic_message, Loop};
use crate::train::host_transform::HostTransform;
use crate::train::loader::{channel_stats, epoch_order, Dataset, HostBatch};
use pipe_kind::StageParams;
use pipe_kind::TaskContext;
use pipe_stages::analysis::tables::EpochRow;
use pipe_stages::data::examples::ImageShape;
use pipe_stages::train::params::{ClassWeights, Sides, TrainParams};

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
    let (run, mut learner) = Run::set_up(ctx, build)?;
    let mut state = resume(&ctx.state_dir, &mut learner)?;
    let plan = EpochPlan::new(&run.train_rows, run.val_rows.len(), run.p.batch_size);
    while state.progress.epochs_done < run.p.epochs && !state.progress.stopped_early {
        run.epoch(&mut learner, &mut state, &plan)?;
        if stop_after == Some(state.progress.epochs_done) {
            return Ok(());
        }
    }
    run.write_outputs(&learner, &state)
}

/// The parts of a run that training reads and does not change, set up once: the task, its parameters,
/// the data and its split, the input pipeline, the loss's class weights and the model.
struct Run<'a> {
    ctx: &'a TaskContext,
    p: TrainParams,
    device: Device,
    data: Arc<Dataset>,
    /// The examples outside `p.fold`, in data order.
    train_rows: Vec<usize>,
    /// The examples of `p.fold`, in data order.
    val_rows: Vec<usize>,
    input: Input,
    /// Class weights of the loss, on the device.
    weights: Tensor,
    model: Box<dyn nn::ModuleT + Send>,
}

/// What training changes and a checkpoint saves besides the progress: the model's variables and the
/// optimizer's state.
struct Learner {
    vs: nn::VarStore,
    opt: Optimizer,
}

impl<'a> Run<'a> {
    /// Reads and checks the parameters and the data, configures libtorch, and builds the model (from
    /// the task's seed) and its optimizer.
    fn set_up(ctx: &'a TaskContext, build: &ModelBuilder) -> Result<(Self, Learner)> {
        let p: TrainParams = ctx.params()?;
        p.validate()?;
        let threads = p.threads.unwrap_or(ctx.threads).max(1);
        let device = configure_libtorch(&p, threads, &ctx.devices);
        let (data, train_rows, val_rows) = read_split(ctx, &p)?;
        let input = Input::new(&data, &train_rows, &p, device, threads)?;
        let weights = class_weights(&data, &train_rows, &p);
        let shape = &data.shape;
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
            input.transform.output_size()
        );
        let weights = Tensor::from_slice(&weights)
            .to_kind(Kind::Float)
            .to_device(device);
        let (vs, model) = build_model(ctx, build, &p, shape.channels.len() as i64, device)?;
        check_input_fits(&*model, &data, &input.transform, &p)?;
        let opt = Optimizer::new(&vs, p.optimizer, p.weight_decay, p.momentum);
        let run = Run {
            ctx,
            p,
            device,
            data,
            train_rows,
            val_rows,
            input,
            weights,
            model,
        };
        Ok((run, Learner { vs, opt }))
    }

    /// Trains epoch `state.progress.epochs_done` and validates it, records its rows and validation
    /// predictions, keeps the best epoch and checks early stopping, then saves a checkpoint.
    fn epoch(&self, learner: &mut Learner, state: &mut Restored, plan: &EpochPlan) -> Result<()> {
        let (ctx, p) = (self.ctx, &self.p);
        let epoch = state.progress.epochs_done;
        // Dropout and other random ops draw from a generator seeded per epoch, so resuming needs no
        // generator state.
        tch::manual_seed(epoch_seed(ctx.seed, p.fold, epoch));
        let done_before = plan.batches_before(epoch);
        let total = plan.batches_before(p.epochs);
        let lr = p.lr_at(epoch);
        let mut order = epoch_order(&self.train_rows, ctx.seed, p.fold, epoch);
        order.truncate(plan.train_examples);
        let passes = self.passes();
        let train_pass = passes.pass(
            epoch,
            &order,
            Some((&mut learner.opt, lr)),
            done_before,
            total,
        )?;
        let val_done_before = done_before + plan.train_batches as u64;
        let val_pass = passes.pass(epoch, &self.val_rows, None, val_done_before, total)?;
        let train_row = passes.row(epoch, "training", &train_pass);
        let val_row = passes.row(epoch, "validation", &val_pass);
        let predictions = passes.predictions(epoch, &self.val_rows, &val_pass);
        let (select, lower_better) = p.selection_metric();
        let value = val_row.metric(select).unwrap_or(f64::NAN);
        if early_stop::record_epoch(&mut state.progress, epoch, value, lower_better) {
            state.best_predictions = predictions.clone();
        }
        log_epoch(p, epoch, lr, &train_row, &val_row);
        state.rows.push(train_row);
        state.rows.push(val_row);
        state.last_predictions = predictions;
        state.progress.epochs_done = epoch + 1;
        state.progress.optimizer_steps = learner.opt.steps;
        early_stop::stop_if_patience_ran_out(&mut state.progress, p);
        learner.save_checkpoint(&ctx.state_dir, state)
    }

    /// Writes the outputs once training has ended.
    fn write_outputs(&self, learner: &Learner, state: &Restored) -> Result<()> {
        let input = &self.input;
        outputs::write_outputs(
            self.ctx,
            &self.p,
            &learner.vs,
            state,
            &self.data,
            input.pad,
            input.stats.as_ref(),
        )
    }

    /// What a pass over a split reads.
    fn passes(&self) -> Loop<'_> {
        Loop {
            ctx: self.ctx,
            p: &self.p,
            data: &self.data,
            transform: &self.input.transform,
            host_input: self.input.host.as_ref(),
            weights: &self.weights,
            model: &*self.model,
            device: self.device,
        }
    }
}

impl Learner {
    /// Saves the variables, the optimizer and `state` as the checkpoint after the last epoch done.
    fn save_checkpoint(&self, state_dir: &Path, state: &Restored) -> Result<()> {
        checkpoint::save(
            state_dir,
            &self.vs,
            &self.opt,
            &state.progress,
            &state.rows,
            &state.best_predictions,
            &state.last_predictions,
        )
    }
}

/// Sets libtorch's threads, determinism and (on CUDA, when asked) bf16 autocast; returns the device.
fn configure_libtorch(p: &TrainParams, threads: usize, devices: &[usize]) -> Device {
    tch::set_num_threads(i32::try_from(threads).unwrap_or(1));
    if p.deterministic && std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
        // cuBLAS reads this when CUDA starts (below); deterministic GEMMs need it.
        std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
    }
    device::set_deterministic(p.deterministic);
    let device = device::select(devices);
    if p.bf16 && device.is_cuda() {
        device::use_bf16_autocast();
    }
    device
}

/// Reads the examples and folds and splits them into training and validation rows, checked; the
/// shuffled-label control permutes the training labels here.
fn read_split(
    ctx: &TaskContext,
    p: &TrainParams,
) -> Result<(Arc<Dataset>, Vec<usize>, Vec<usize>)> {
    let examples = ctx.input("examples")?;
    let mut data = Dataset::read(examples, ctx.input("folds")?, p.num_classes)?;
    let (train_rows, val_rows) = data.split(p.fold);
    check_split(&data, &train_rows, &val_rows, p)?;
    if p.shuffle_labels {
        eprintln!("train: shuffled-label control: the training labels are permuted");
        data.permute_labels(&train_rows, ctx.seed.wrapping_add(p.fold as u64));
    }
    Ok((Arc::new(data), train_rows, val_rows))
}

/// How examples become model inputs: in training and in calling (see `crate::calling`).
pub(crate) struct Input {
    pub(crate) pad: Sides,
    /// Per-channel mean and standard deviation of the training fold, when normalizing.
    pub(crate) stats: Option<(Vec<f64>, Vec<f64>)>,
    pub(crate) transform: Transform,
    /// On the CPU the loader's thread pads and normalizes into the input tensors, ahead of the model;
    /// a GPU gets u8 pixels (`None`).
    pub(crate) host: Option<Arc<HostInput>>,
}

impl Input {
    /// The padding, normalization and transforms `p` asks for, statistics from `train_rows`.
    fn new(
        data: &Dataset,
        train_rows: &[usize],
        p: &TrainParams,
        device: Device,
        threads: usize,
    ) -> Result<Self> {
        let shape = &data.shape;
        let pad = p.padding(shape.height, shape.width)?;
        let stats = p.normalize.then(|| channel_stats(data, train_rows, pad));
        Ok(Self::with_stats(
            shape,
            pad,
            stats,
            device,
            p.channels_last,
            threads,
        ))
    }

    /// Images of `shape` padded by `pad`, normalized by per-channel `stats` when given, for `device`
    /// (channels-last on CUDA when asked; on the CPU made on the loader's thread with `threads`).
    pub(crate) fn with_stats(
        shape: &ImageShape,
        pad: Sides,
        stats: Option<(Vec<f64>, Vec<f64>)>,
        device: Device,
        channels_last: bool,
        threads: usize,
    ) -> Self {
        let cuda = device.is_cuda();
        let mean_std = stats.as_ref().map(|(m, s)| (m.as_slice(), s.as_slice()));
        let transform = Transform::new(shape, pad, mean_std, device, channels_last && cuda);
        let host = (!cuda).then(|| {
            let transform = HostTransform::new(shape, pad, mean_std, threads);
            Arc::new(HostInput::new(transform, PREFETCH))
        });
        Input {
            pad,
            stats,
            transform,
            host,
        }
    }
}

/// The model and its variables, initialized from the task's seed (channels-last on CUDA when asked).
fn build_model(
    ctx: &TaskContext,
    build: &ModelBuilder,
    p: &TrainParams,
    channels: i64,
    device: Device,
) -> Result<(nn::VarStore, Box<dyn nn::ModuleT + Send>)> {
    tch::manual_seed(ctx.seed as i64);
    let vs = nn::VarStore::new(device);
    let model = build(&vs.root(), &p.arch, channels, p.num_classes as i64)?;
    if p.channels_last && device.is_cuda() {
        device::vars_channels_last(&vs);
    }
    Ok((vs, model))
}

/// Loads the latest checkpoint in `state_dir` into `learner` and returns its progress and tables; with
/// none, training starts at epoch 0.
fn resume(state_dir: &Path, learner: &mut Learner) -> Result<Restored> {
    let Some(dir) = checkpoint::latest(state_dir) else {
        return Ok(Restored {
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
        });
    };
    let restored = checkpoint::load(&dir, &mut learner.vs, &mut learner.opt)?;
    eprintln!(
        "train: resuming after epoch {} from {}",
        restored.progress.epochs_done,
        dir.display()
    );
    Ok(restored)
}

/// How the batches of every epoch add up, for the progress updates.
struct EpochPlan {
    /// Training examples per epoch: all of them, or all but one that would be alone in a batch.
    train_examples: usize,
    /// Training batches per epoch.
    train_batches: usize,
    /// Training and validation batches per epoch.
    batches_per_epoch: usize,
}

impl EpochPlan {
    /// The plan for `train_rows` and `val_examples` in batches of `batch_size`.
    fn new(train_rows: &[usize], val_examples: usize, batch_size: usize) -> Self {
        // BatchNorm cannot train on one example (PyTorch refuses; libtorch's running variance becomes
        // NaN), so a lone example left over at the end of a training epoch sits that epoch out. The
        // order is reshuffled every epoch, so it is a different example each time.
        let n = train_rows.len();
        let train_examples = if n > 1 && n % batch_size == 1 {
            eprintln!(
                "train: {n} training examples leave one alone in the last batch of {batch_size}; each \
                 epoch skips its last example (BatchNorm cannot train on a batch of one)"
            );
            n - 1
        } else {
            n
        };
        let train_batches = train_examples.div_ceil(batch_size);
        EpochPlan {
            train_examples,
            train_batches,
            batches_per_epoch: train_batches + val_examples.div_ceil(batch_size),
        }
    }

    /// Batches of the epochs before `epoch`.
    fn batches_before(&self, epoch: usize) -> u64 {
        (self.batches_per_epoch * epoch) as u64
    }
}

/// The seed of the torch generator in `epoch`.
fn epoch_seed(seed: u64, fold: i32, epoch: usize) -> i64 {
    seed.wrapping_mul(1_000_003)
        .wrapping_add((fold as u64) << 20)
        .wrapping_add(epoch as u64) as i64
}

/// Prints the epoch's summary line.
fn log_epoch(p: &TrainParams, epoch: usize, lr: f64, train: &EpochRow, val: &EpochRow) {
    eprintln!(
        "train: epoch {}/{} lr {lr:e}: training loss {:.4} f1 {:.4}; validation loss {:.4} f1 {:.4} \
         auc_ovr {:.4} ({:.1} s, {:.0} img/s)",
        epoch + 1,
        p.epochs,
        train.loss,
        train.f1,
        val.loss,
        val.f1,
        val.auc_ovr,
        train.seconds + val.seconds,
        train.images_per_second
    );
}

/// Fails on an empty validation or training split, or a training split of one class.
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
