//! The `call` stage's computation: a trained model (the `train` stage's `model` folder) run over
//! calling examples in batches, through the same loader and transforms as training, then
//! `pipe_stages::calling::write_calls` (no libtorch) makes the VCF. Its declaration and
//! postprocessing are in `pipe_stages::calling`.
//!
//! Everything that can be checked is checked before inference: the parameters, the model's
//! configuration (three classes; the examples' channels and image size), the examples' site columns
//! and the reference's index.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use tch::{nn, Device, Kind, Tensor};

use crate::train::device;
use crate::train::loader::Dataset;
use crate::train::pass::panic_message;
use crate::train::trainer::{Input, ModelBuilder};
use pipe_kind::{StageParams, TaskContext};
use pipe_stages::calling::params::CallParams;
use pipe_stages::calling::probabilities::{self, ProbabilityRow};
use pipe_stages::calling::{sites, vcf, write_calls};
use pipe_stages::data::examples::ExamplesFile;
use pipe_stages::train::model_config::{ModelConfig, WEIGHTS_FILE};

/// Minimum seconds between progress updates.
const PROGRESS_EVERY: f64 = 0.5;

/// Runs the task: checks the inputs, infers every example's class probabilities, writes them and the
/// VCF.
pub fn run(ctx: &TaskContext, build: &ModelBuilder) -> Result<()> {
    let p: CallParams = ctx.params()?;
    p.validate()?;
    let model_dir = ctx.input("model")?;
    let examples_path = ctx.input("examples")?;
    let config = ModelConfig::read(model_dir)?;
    if config.classes != 3 {
        bail!(
            "model {}: {} classes; calling needs a model of the three genotype classes (train with num_classes: 3)",
            model_dir.display(),
            config.classes
        );
    }
    let examples = sites::read(examples_path)?;
    let contigs = vcf::contigs(ctx.input("reference")?)?;
    let shape = ExamplesFile::open(examples_path)?.shape;
    config.check_examples(&shape, examples_path, model_dir)?;
    let data = Arc::new(Dataset::read_all(examples_path)?);

    let threads = p.threads.unwrap_or(ctx.threads).max(1);
    tch::set_num_threads(i32::try_from(threads).unwrap_or(1));
    let device = device::select(&ctx.devices);
    if p.bf16 && device.is_cuda() {
        device::use_bf16_autocast();
    }
    let model = load_model(build, &config, model_dir, device)?;
    let stats = config
        .normalization
        .as_ref()
        .map(|n| (n.mean.clone(), n.std.clone()));
    let input = Input::with_stats(&data.shape, config.padding, stats, device, false, threads);
    eprintln!(
        "call: {} ({} epochs) on {} examples of {}x{}x{}, device {device:?}",
        config.arch,
        config.epoch,
        data.ids.len(),
        data.shape.height,
        data.shape.width,
        data.shape.channels.len()
    );
    let started = Instant::now();
    let probs = infer(ctx, &*model.1, &data, &input, &p, device)?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "call: inference of {} examples in {seconds:.3} s ({:.1} examples/s; batches of {}, {threads} threads)",
        data.ids.len(),
        data.ids.len() as f64 / seconds,
        p.batch_size
    );
    let rows: Vec<ProbabilityRow> = examples
        .rows
        .iter()
        .zip(&data.ids)
        .zip(probs)
        .map(|((e, id), p)| {
            debug_assert_eq!(&e.id, id);
            ProbabilityRow {
                id: e.id.clone(),
                chrom: e.chrom.clone(),
                pos: e.pos,
                alts: e.alt.clone(),
                p,
            }
        })
        .collect();
    probabilities::write(ctx.output("probabilities")?, &rows)?;
    let summary = write_calls(&examples, &rows, &contigs, ctx.output("vcf")?, &p)?;
    eprintln!(
        "call: {} sites: {} PASS, {} RefCall, {} LowQual",
        summary.sites, summary.pass, summary.ref_call, summary.low_qual
    );
    Ok(())
}

/// The model of `config` with the weights of `dir`, on `device`, in evaluation mode.
fn load_model(
    build: &ModelBuilder,
    config: &ModelConfig,
    dir: &Path,
    device: Device,
) -> Result<(nn::VarStore, Box<dyn nn::ModuleT + Send>)> {
    let mut vs = nn::VarStore::new(device);
    let channels = config.channels.len() as i64;
    let model = build(&vs.root(), &config.arch, channels, config.classes as i64)?;
    let weights = dir.join(WEIGHTS_FILE);
    vs.load(&weights).with_context(|| {
        format!(
            "cannot load {} into {} ({} channels, {} classes); was it trained with this config.json?",
            weights.display(),
            config.arch,
            channels,
            config.classes
        )
    })?;
    Ok((vs, model))
}

/// Class probabilities of every row of `data`, in order, from batches of `p.batch_size`.
fn infer(
    ctx: &TaskContext,
    model: &dyn nn::ModuleT,
    data: &Arc<Dataset>,
    input: &Input,
    p: &CallParams,
    device: Device,
) -> Result<Vec<[f64; 3]>> {
    let n = data.ids.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let n_batches = n.div_ceil(p.batch_size);
    let start = Instant::now();
    let mut last_report = Instant::now();
    let mut outputs: Vec<Tensor> = Vec::with_capacity(n_batches);
    let batches = device::gather(
        data.clone(),
        (0..n).collect(),
        p.batch_size,
        input.host.clone(),
    );
    for (b, batch) in batches.enumerate() {
        let (x, _) = input.transform.apply(batch)?;
        let probs = catch_unwind(AssertUnwindSafe(|| {
            tch::no_grad(|| {
                tch::autocast(p.bf16 && device.is_cuda(), || model.forward_t(&x, false))
                    .to_kind(Kind::Float)
                    .softmax(-1, Kind::Float)
            })
        }))
        .map_err(|e| anyhow!("libtorch failed on batch {}: {}", b + 1, panic_message(&e)))?;
        if let Some(host) = &input.host {
            // SAFETY: the forward pass ran without autograd and its output does not view `x`, so
            // this is the last handle to `x`'s storage.
            unsafe { host.recycle(x) };
        }
        outputs.push(probs);
        if last_report.elapsed().as_secs_f64() >= PROGRESS_EVERY || b + 1 == n_batches {
            let seen = ((b + 1) * p.batch_size).min(n);
            ctx.progress.update(
                b as u64 + 1,
                n_batches as u64,
                format!(
                    "batch {}/{n_batches}, {:.0} examples/s",
                    b + 1,
                    seen as f64 / start.elapsed().as_secs_f64()
                ),
            );
            last_report = Instant::now();
        }
    }
    let all = Tensor::cat(&outputs, 0)
        .to_kind(Kind::Double)
        .to_device(Device::Cpu);
    if all.size() != [n as i64, 3] {
        bail!(
            "the model gave outputs of shape {:?} for {n} examples, expected [{n}, 3]",
            all.size()
        );
    }
    let flat: Vec<f64> = Vec::try_from(all.view([-1]))?;
    Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
}
