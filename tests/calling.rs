//! From classifier to caller, end to end with the real binaries: a tiny simulated genome is
//! tensorized for training, a regnety_002 trains one epoch, the same reads are tensorized in calling
//! mode, and `call` writes a VCF that bcftools reads, whose REF alleles match the reference
//! (`bcftools norm -c e`) and that tabix queries through its index. Bad input (a model trained on
//! other channels, examples without site columns) fails with a clear error and publishes nothing.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{stderr, torch_worker_built, Project};
use pipe_stages::calling::probabilities;
use pipe_stages::data::examples::{Example, ExamplesFile, ExamplesWriter};

/// Simulate, train one epoch, tensorize in calling mode, call; `channels` of the calling examples
/// when given (else the default, the model's), and `calling_examples` the input of `call`.
fn pipeline(channels: Option<&str>, calling_examples: &str) -> String {
    let channels = channels.map_or(String::new(), |c| format!(", channels: {c}"));
    format!(
        r#"
name: calling
seed: 7
stages:
  data:
    kind: simulate
    params: {{ genome_bp: 40000, coverage: 20 }}
  examples:
    kind: tensorize
    inputs: {{ reads: data.bam, reference: data.fasta, truth: data.vcf, confident: data.bed }}
    params: {{ height: 32, width: 33 }}
  folds:
    kind: split
    inputs: {{ examples: examples.examples }}
    params: {{ k: 2 }}
  train:
    kind: train
    inputs: {{ examples: examples.examples, folds: folds.folds }}
    params: {{ arch: regnety_002, fold: 0, epochs: 1, batch_size: 16, scheduler: none }}
  candidates:
    kind: tensorize
    inputs: {{ reads: data.bam, reference: data.fasta }}
    params: {{ height: 32, width: 33{channels} }}
  call:
    kind: call
    inputs: {{ model: train.model, examples: {calling_examples}, reference: data.fasta }}
"#
    )
}

/// The path of output `port` of `task`, from `pipe show`.
fn output_path(p: &Project, task: &str, port: &str) -> PathBuf {
    let text = p.ok(&["show", "calling.yaml", task]);
    let prefix = format!("  {port}: ");
    let outputs = text.split("\noutputs:\n").nth(1).unwrap_or_default();
    let line = outputs
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no output {port} of {task} in:\n{text}"));
    PathBuf::from(line)
}

/// Whether `tool` runs; reports the test as skipped when it does not.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok();
    if !ok {
        pipe_testkit::skip(&format!("{tool} is not installed"));
    }
    ok
}

/// Runs `tool args`, asserts success, returns stdout.
fn run_tool(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_trained_model_calls_a_vcf_that_bcftools_and_tabix_read() {
    if !torch_worker_built() || !have("bcftools") || !have("tabix") {
        return;
    }
    let p = Project::new();
    p.write("calling.yaml", &pipeline(None, "candidates.examples"));
    p.ok(&["run", "calling.yaml"]);

    let examples = ExamplesFile::open(&output_path(&p, "candidates", "examples"))
        .unwrap()
        .read_all()
        .unwrap();
    assert!(examples
        .iter()
        .all(|e| e.label.is_none() && e.site.is_some()));
    let mut sites: Vec<(&str, i64)> = examples.iter().map(|e| (e.chrom.as_str(), e.pos)).collect();
    sites.dedup();
    let probs = probabilities::read(&output_path(&p, "call", "probabilities")).unwrap();
    assert_eq!(probs.len(), examples.len());
    assert!(probs
        .iter()
        .all(|r| (r.p.iter().sum::<f64>() - 1.0).abs() < 1e-4));

    let vcf = output_path(&p, "call", "vcf");
    let vcf_text = vcf.to_str().unwrap();
    let body = run_tool("bcftools", &["view", "-H", vcf_text]);
    let records: Vec<&str> = body.lines().collect();
    assert_eq!(records.len(), sites.len(), "one record per candidate site");
    let sample = run_tool("bcftools", &["query", "-l", vcf_text]);
    assert_eq!(sample.trim(), examples[0].sample);
    for r in &records {
        let f: Vec<&str> = r.split('\t').collect();
        assert!(["PASS", "RefCall", "LowQual"].contains(&f[6]), "{r}");
        assert_eq!(f[8], "GT:GQ:DP:AD:VAF:PL", "{r}");
    }
    let fasta = output_path(&p, "data", "fasta");
    let norm = Command::new("bcftools")
        .args([
            "norm",
            "-c",
            "e",
            "-f",
            fasta.to_str().unwrap(),
            "-O",
            "v",
            vcf_text,
        ])
        .output()
        .unwrap();
    assert!(
        norm.status.success(),
        "bcftools norm -c e: REF does not match the reference:\n{}",
        String::from_utf8_lossy(&norm.stderr)
    );
    let first: Vec<&str> = records[0].split('\t').collect();
    let region = format!("{}:{}-{}", first[0], first[1], first[1]);
    let hit = run_tool("tabix", &[vcf_text, &region]);
    assert!(hit.starts_with(records[0]), "tabix {region}: {hit}");
    let filters = |f: &str| {
        records
            .iter()
            .filter(|r| r.split('\t').nth(6) == Some(f))
            .count()
    };
    println!(
        "{} examples, {} sites: {} PASS, {} RefCall, {} LowQual",
        examples.len(),
        sites.len(),
        filters("PASS"),
        filters("RefCall"),
        filters("LowQual")
    );
}

/// Runs `calling.yaml`, expects it to fail with `message`, and checks that `call` published nothing.
fn fails_without_publishing(p: &Project, message: &str) {
    let out = p.run(&["run", "calling.yaml"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "the run succeeded:\n{err}");
    assert!(err.contains(message), "no '{message}' in:\n{err}");
    let vcf = output_path(p, "call", "vcf");
    assert!(!vcf.exists(), "{} was published", vcf.display());
}

#[test]
fn a_model_of_other_channels_and_examples_without_sites_are_refused() {
    if !torch_worker_built() {
        return;
    }
    let p = Project::new();
    p.write(
        "calling.yaml",
        &pipeline(Some("[read_base, base_quality]"), "candidates.examples"),
    );
    fails_without_publishing(&p, "have channels [read_base, base_quality] but the model");

    // Examples with null site columns, as the external sources write them.
    let path = p.path().join("nosite.parquet");
    let shape = ExamplesFile::open(&output_path(&p, "candidates", "examples"))
        .unwrap()
        .shape;
    let mut w = ExamplesWriter::create(&path, shape.clone(), "tfrecord").unwrap();
    w.push(Example {
        id: "chr1:5:A>C".into(),
        sample: "s".into(),
        chrom: "chr1".into(),
        pos: 4,
        ref_allele: "A".into(),
        alt: "C".into(),
        label: None,
        image: vec![0; shape.image_len()],
        site: None,
    })
    .unwrap();
    w.finish().unwrap();
    p.write("calling.yaml", &pipeline(None, "{ file: nosite.parquet }"));
    fails_without_publishing(&p, "example chr1:5:A>C has no site");
}
