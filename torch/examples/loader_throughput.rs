//! Training-batch throughput of the `train` stage's data path: the examples Parquet read into memory
//! (`train::loader::Dataset`), per-channel statistics, then shuffled batches gathered on a worker thread
//! (`Batches`), padded and normalized on that thread straight into reused f32 NCHW input tensors
//! (`train::host_input::HostInput`) handed over by `train::device::Transform`, exactly as the trainer
//! does on the CPU.
//!
//! Prints one JSON object: seconds to read, to compute the statistics and per epoch, images per second,
//! process CPU seconds, and the mean and standard deviation used; then the same epochs again gathering
//! only the u8 batches (the host side of a GPU run, where the conversion runs on the device). `--dump FILE` also writes the first
//! `--batch` examples in file order, transformed, as little-endian f32 (for a cross-check with the
//! study's loader). `bench/loader/run.sh` runs it side by side with the study's PIL + DataLoader loader.
//!
//! ```text
//! cargo run --release -p pipe-torch --example loader_throughput -- \
//!     --examples examples.parquet --folds folds.parquet --batch 32 --pad 1,62,2,62 --epochs 3
//! ```
//! Options: `--threads N` (transform and libtorch threads; default 1), `--classes K` (default 3),
//! `--seed S`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use pipe_stages::train::params::Pad;
use pipe_torch::train::device::{Pixels, Transform};
use pipe_torch::train::host_input::HostInput;
use pipe_torch::train::host_transform::HostTransform;
use pipe_torch::train::loader::{channel_stats, epoch_order, Batches, Dataset, HostBatch};
use pipe_torch::train::trainer::PREFETCH;
use tch::{Device, Kind};

/// User plus system CPU seconds of this process, all threads (Linux, 100 clock ticks per second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    ticks(11)
        .zip(ticks(12))
        .map_or(f64::NAN, |(u, s)| (u + s) / 100.0)
}

fn main() -> Result<()> {
    // As the pipe-torch worker the train stage runs in.
    pipe_torch::malloc::keep_freed_memory();
    let (mut examples, mut folds, mut dump) = (None, None, None);
    let (mut batch, mut epochs, mut threads, mut classes, mut seed) =
        (32usize, 3usize, 1, 3, 42u64);
    let mut pad = [0u32; 4];
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--examples" => examples = Some(PathBuf::from(value()?)),
            "--folds" => folds = Some(PathBuf::from(value()?)),
            "--dump" => dump = Some(PathBuf::from(value()?)),
            "--batch" => batch = value()?.parse()?,
            "--epochs" => epochs = value()?.parse()?,
            "--threads" => threads = value()?.parse()?,
            "--classes" => classes = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--pad" => {
                let v: Vec<u32> = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
                pad = v
                    .try_into()
                    .ok()
                    .context("--pad takes left,top,right,bottom")?;
            }
            _ => bail!(
                "unknown option {flag}; see the header of stages/examples/loader_throughput.rs"
            ),
        }
    }
    let (Some(examples), Some(folds)) = (examples, folds) else {
        bail!("give --examples and --folds");
    };
    if batch == 0 || epochs == 0 {
        bail!("--batch and --epochs must be at least 1");
    }
    tch::set_num_threads(threads);
    let pad = Pad::Torchvision(pad).sides();

    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let data = Arc::new(Dataset::read(&examples, &folds, classes)?);
    let read_s = t0.elapsed().as_secs_f64();
    let rows: Vec<usize> = (0..data.ids.len()).collect();
    let t1 = Instant::now();
    let (mean, std) = channel_stats(&data, &rows, pad);
    let stats_s = t1.elapsed().as_secs_f64();
    let transform = Transform::new(&data.shape, pad, Some((&mean, &std)), Device::Cpu, false);
    let host = Arc::new(HostInput::new(
        HostTransform::new(&data.shape, pad, Some((&mean, &std)), threads as usize),
        PREFETCH,
    ));
    let (h, w) = transform.output_size();

    let cpu1 = cpu_seconds();
    let mut epoch_s = Vec::with_capacity(epochs);
    let mut checksum = 0.0;
    for epoch in 0..epochs {
        let t = Instant::now();
        let order = epoch_order(&rows, seed, 0, epoch);
        let prepare = {
            let host = host.clone();
            move |images: &[&[u8]]| Pixels::Ready(host.prepare(images))
        };
        for b in Batches::start(data.clone(), order, batch, PREFETCH, prepare) {
            let (x, y) = transform.apply(b)?;
            if x.size() != [y.size()[0], data.shape.channels.len() as i64, h, w] {
                bail!("unexpected batch shape {:?}", x.size());
            }
            // One value per batch keeps the result observed without a second pass over it.
            checksum += x.double_value(&[0, 0, h / 2, w / 2]);
            // SAFETY: `x` is the only handle to the batch's tensor and nothing reads it after this.
            unsafe { host.recycle(x) };
        }
        epoch_s.push(t.elapsed().as_secs_f64());
    }
    let cpu2 = cpu_seconds();
    // The host side alone: u8 batches gathered, as a GPU run receives them (converted on the device).
    let mut gather_s = Vec::with_capacity(epochs);
    let mut gathered = 0usize;
    for epoch in 0..epochs {
        let t = Instant::now();
        let order = epoch_order(&rows, seed, 0, epoch);
        for b in Batches::start(data.clone(), order, batch, PREFETCH, |images| {
            images.concat()
        }) {
            gathered += b.pixels.len();
        }
        gather_s.push(t.elapsed().as_secs_f64());
    }
    let cpu3 = cpu_seconds();
    if gathered != epochs * rows.len() * data.shape.image_len() {
        bail!("gathered {gathered} bytes, expected {epochs} epochs of every image");
    }
    let wall_s = t0.elapsed().as_secs_f64();

    if let Some(path) = dump {
        let first: Vec<usize> = rows.iter().copied().take(batch).collect();
        let images: Vec<&[u8]> = first.iter().map(|&r| data.image(r)).collect();
        let batch = HostBatch {
            pixels: Pixels::Ready(host.prepare(&images)),
            labels: first.iter().map(|&r| data.labels[r]).collect(),
            rows: first,
        };
        let (x, _) = transform.apply(batch)?;
        let values: Vec<f32> = Vec::try_from(x.to_kind(Kind::Float).reshape([-1]))?;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for v in values {
            f.write_all(&v.to_le_bytes())?;
        }
        f.flush()?;
    }

    let n = rows.len() as f64;
    let best = epoch_s.iter().copied().fold(f64::INFINITY, f64::min);
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "{{\"examples\": {}, \"batch\": {batch}, \"threads\": {threads}, \"size\": [{h}, {w}], \
         \"read_s\": {read_s:.6}, \"stats_s\": {stats_s:.6}, \"epoch_s\": [{}], \
         \"first_epoch_ips\": {:.3}, \"best_epoch_ips\": {:.3}, \"with_read_ips\": {:.3}, \
         \"cpu_read_s\": {:.3}, \"cpu_epochs_s\": {:.3}, \"gather_epoch_s\": [{}], \"cpu_gather_s\": {:.3}, \"wall_s\": {wall_s:.3}, \"checksum\": {checksum}, \
         \"mean\": [{}], \"std\": [{}]}}",
        rows.len(),
        list(&epoch_s),
        n / epoch_s[0],
        n / best,
        n / (read_s + stats_s + epoch_s[0]),
        cpu1 - cpu0,
        cpu2 - cpu1,
        list(&gather_s),
        cpu3 - cpu2,
        list(&mean),
        list(&std),
    );
    Ok(())
}
