//! Training and inference images per second of one model-zoo architecture, the way the `train` stage
//! runs them: `models::build`, the trainer's Adam step (`train::optim`), cross-entropy, `forward_t(x,
//! true)` then backward for a training step, `no_grad` + `forward_t(x, false)` for inference.
//!
//! One fixed random batch is reused for every step (no data loading). Prints one JSON object per
//! architecture on stdout. `bench/train/run.sh` runs it side by side with PyTorch + timm.
//!
//! ```text
//! cargo run --release -p pipe-torch --example train_throughput -- \
//!     --arch regnety_002 --batch 16 --threads 2 --warmup 2 --steps 5
//! ```
//! Options: `--arch A` (repeatable), `--batch N`, `--threads N`, `--warmup N`, `--steps N`,
//! `--channels C`, `--size H` (square input), `--classes K`, `--device cpu|cuda`, `--channels-last`,
//! `--bf16`, `--mode train|infer|both`.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use pipe_stages::train::params::OptimizerKind;
use pipe_torch::models;
use pipe_torch::train::device;
use pipe_torch::train::optim::Optimizer;
use tch::nn;
use tch::{Device, Kind, Reduction, Tensor};

/// Command-line options.
struct Options {
    archs: Vec<String>,
    batch: i64,
    threads: i32,
    warmup: usize,
    steps: usize,
    channels: i64,
    size: i64,
    classes: i64,
    cuda: bool,
    channels_last: bool,
    bf16: bool,
    train: bool,
    infer: bool,
}

fn parse() -> Result<Options> {
    let mut o = Options {
        archs: Vec::new(),
        batch: 16,
        threads: 1,
        warmup: 2,
        steps: 5,
        channels: 7,
        size: 224,
        classes: 3,
        cuda: false,
        channels_last: false,
        bf16: false,
        train: true,
        infer: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--arch" => o.archs.push(value()?),
            "--batch" => o.batch = value()?.parse()?,
            "--threads" => o.threads = value()?.parse()?,
            "--warmup" => o.warmup = value()?.parse()?,
            "--steps" => o.steps = value()?.parse()?,
            "--channels" => o.channels = value()?.parse()?,
            "--size" => o.size = value()?.parse()?,
            "--classes" => o.classes = value()?.parse()?,
            "--device" => o.cuda = value()? == "cuda",
            "--channels-last" => o.channels_last = true,
            "--bf16" => o.bf16 = true,
            "--mode" => {
                let m = value()?;
                o.train = m != "infer";
                o.infer = m != "train";
            }
            _ => bail!(
                "unknown option {flag}; see the header of stages/examples/train_throughput.rs"
            ),
        }
    }
    if o.archs.is_empty() || o.steps == 0 {
        bail!("give at least one --arch and --steps of 1 or more");
    }
    Ok(o)
}

/// Waits for queued device work (CUDA kernels run asynchronously).
fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Images per second of `steps` calls of `step` after `warmup` untimed ones.
fn rate(o: &Options, device: Device, mut step: impl FnMut() -> Tensor) -> f64 {
    for _ in 0..o.warmup {
        let _ = step();
    }
    sync(device);
    let start = Instant::now();
    let mut last = Tensor::zeros([1], (Kind::Float, device));
    for _ in 0..o.steps {
        last = step();
    }
    // Reading a value waits for the last step on any device.
    let _ = last.reshape([-1]).double_value(&[0]);
    sync(device);
    (o.steps as i64 * o.batch) as f64 / start.elapsed().as_secs_f64()
}

fn bench(o: &Options, arch: &str, device: Device) -> Result<(Option<f64>, Option<f64>)> {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let model = models::build(&vs.root(), arch, o.channels, o.classes)?;
    let mut x = Tensor::randn([o.batch, o.channels, o.size, o.size], (Kind::Float, device));
    let y = Tensor::randint(o.classes, [o.batch], (Kind::Int64, device));
    if o.channels_last {
        device::vars_channels_last(&vs);
        x = device::channels_last(&x);
    }
    let autocast = o.bf16 && device.is_cuda();
    let forward = |train: bool| tch::autocast(autocast, || model.forward_t(&x, train));
    let train = o.train.then(|| {
        let mut opt = Optimizer::new(&vs, OptimizerKind::Adam, 0.0, 0.9);
        rate(o, device, || {
            opt.zero_grad();
            let loss = forward(true)
                .to_kind(Kind::Float)
                .cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0);
            loss.backward();
            opt.step(1e-3);
            loss.detach()
        })
    });
    let infer = o
        .infer
        .then(|| rate(o, device, || tch::no_grad(|| forward(false))));
    Ok((train, infer))
}

fn main() -> Result<()> {
    // As the pipe-torch worker the train stage runs in.
    pipe_torch::malloc::keep_freed_memory();
    let o = parse()?;
    tch::set_num_threads(o.threads);
    let device = if o.cuda {
        if !tch::Cuda::is_available() {
            bail!("--device cuda: libtorch sees no CUDA device");
        }
        Device::Cuda(0)
    } else {
        Device::Cpu
    };
    device::set_deterministic(false);
    if o.bf16 && device.is_cuda() {
        device::use_bf16_autocast();
    }
    for arch in &o.archs {
        let (train, infer) = bench(&o, arch, device)?;
        let json = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.3}"));
        println!(
            "{{\"impl\": \"pipe\", \"arch\": \"{arch}\", \"batch\": {}, \"threads\": {}, \"train_ips\": {}, \
             \"infer_ips\": {}}}",
            o.batch,
            tch::get_num_threads(),
            json(train),
            json(infer)
        );
    }
    Ok(())
}
