//! Tensorization throughput on the real NA12878 reads: examples per second on one core.
//!
//! Runs the `tensorize` pipeline (allele counting, labelling, drawing, Parquet writing) with one worker
//! thread over chr20:10,000,000-10,010,000 of the 100 kb BAM in `../shared/data/na12878-chr20/`;
//! skips when the data is absent. Run: `cargo bench -p pipe-stages --no-default-features --bench
//! tensorize`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pipe_kind::ProgressSink;
use pipe_stages::data::examples::ExamplesFile;
use pipe_stages::data::tensorize::{tensorize, Inputs, Params};

const REGION: &str = "chr20:10000000-10010000";

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/na12878-chr20");
    if !dir.exists() {
        println!("skipping: ../shared/data not found");
        return;
    }
    let inputs = Inputs {
        reads: dir.join("NA12878_S1.chr20.10_10p1mb.bam"),
        reference: dir.join("ucsc.hg19.chr20.unittest.fasta.gz"),
        truth: Some(dir.join("test_nist.b37_chr20_100kbp_at_10mb.vcf.gz")),
        confident: Some(dir.join("test_nist.b37_chr20_100kbp_at_10mb.bed")),
    };
    let params = Params {
        regions: Some(vec![REGION.to_string()]),
        ..Params::default()
    };
    let out = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            println!("skipping: no temporary directory ({e})");
            return;
        }
    };
    let path = out.path().join("examples.parquet");
    let run = || tensorize(&inputs, &params, 1, &path, &ProgressSink::discard());
    let summary = match run() {
        Ok(s) => s,
        Err(e) => {
            println!("skipping: tensorize failed: {e:#}");
            return;
        }
    };
    let labels: Vec<Option<i8>> = ExamplesFile::open(&path)
        .and_then(|f| f.read_all())
        .map(|all| all.into_iter().map(|e| e.label).collect())
        .unwrap_or_default();
    let truth = labels.iter().filter(|l| l.is_some_and(|l| l > 0)).count();
    println!(
        "{REGION}: {} confident candidate sites ({truth} of their examples labelled het or hom-alt), {} examples",
        summary.candidates, summary.examples
    );
    // Wall time suffers when other processes share the cores; CPU time much less so.
    if let Some(before) = cpu_seconds() {
        let runs = 10;
        for _ in 0..runs {
            let _ = run();
        }
        if let Some(after) = cpu_seconds() {
            println!(
                "{runs} runs: {:.0} examples per CPU-second (process CPU time from /proc/self/stat)",
                (runs * summary.examples) as f64 / (after - before)
            );
        }
    }
    let mut group = c.benchmark_group("tensorize");
    group.sample_size(10);
    group.throughput(Throughput::Elements(summary.examples as u64));
    group.bench_function("na12878_10kb_1_thread", |b| {
        b.iter(|| run().map(|s| s.examples).unwrap_or(0))
    });
    group.finish();
}

/// User plus system CPU time of this process so far (Linux, 100 clock ticks per second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

criterion_group!(benches, bench);
criterion_main!(benches);
