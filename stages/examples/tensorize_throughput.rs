//! Tensorization throughput: examples per second and per CPU-second of the `tensorize` stage kind (allele
//! counting, labelling, drawing, Parquet writing) over every confident region of one data set, e.g. the
//! output of the `simulate` kind. Runs each thread count `--runs` times and prints one JSON object per
//! thread count with the best wall time and the CPU time (user + system, all threads) of that run.
//! `--regions chr20:10000000-10010000,...` limits the regions (the stage's `regions` param) and
//! `--realign false` turns the local realigner off; `--window-selector allele_count_linear` picks the
//! realigner's other window model.
//!
//! ```text
//! cargo run --release -p pipe-stages --example tensorize_throughput -- --reads reads.bam \
//!     --reference ref.fa --truth truth.vcf.gz --confident confident.bed --threads 1,2 --runs 3
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use pipe_kind::ProgressSink;
use pipe_stages::data::tensorize::{tensorize, Inputs, Params};

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
    let mut inputs = Inputs {
        reads: PathBuf::new(),
        reference: PathBuf::new(),
        truth: None,
        confident: None,
    };
    let (mut threads, mut runs) = (vec![1usize], 3usize);
    let mut params = Params::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--reads" => inputs.reads = value()?.into(),
            "--reference" => inputs.reference = value()?.into(),
            "--truth" => inputs.truth = Some(value()?.into()),
            "--confident" => inputs.confident = Some(value()?.into()),
            "--threads" => {
                threads = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--runs" => runs = value()?.parse()?,
            "--regions" => params.regions = Some(value()?.split(',').map(String::from).collect()),
            "--realign" => params.realign = value()?.parse()?,
            "--window-selector" => {
                params.window_selector = serde_json::from_value(value()?.into())
                    .context("--window-selector: variant_reads or allele_count_linear")?
            }
            _ => bail!(
                "unknown option {flag}; see the header of stages/examples/tensorize_throughput.rs"
            ),
        }
    }
    if inputs.reads.as_os_str().is_empty() || inputs.reference.as_os_str().is_empty() {
        bail!("give --reads and --reference");
    }
    let out = tempfile::tempdir()?;
    let path = out.path().join("examples.parquet");
    for &t in &threads {
        let mut best: Option<(f64, f64, usize)> = None;
        for _ in 0..runs.max(1) {
            let (cpu, start) = (cpu_seconds(), Instant::now());
            let summary = tensorize(&inputs, &params, t, &path, &ProgressSink::discard())?;
            let wall = start.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu;
            if best.is_none_or(|(w, _, _)| wall < w) {
                best = Some((wall, cpu, summary.examples));
            }
        }
        let Some((wall, cpu, examples)) = best else {
            continue;
        };
        println!(
            "{{\"threads\": {t}, \"examples\": {examples}, \"wall_s\": {wall:.3}, \"cpu_s\": {cpu:.3}, \
             \"examples_per_s\": {:.1}, \"examples_per_cpu_s\": {:.1}}}",
            examples as f64 / wall,
            examples as f64 / cpu
        );
    }
    Ok(())
}
