use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use noodles::sam::alignment::record::cigar::op::Kind;
use noodles::sam::alignment::record::data::field::Tag;

use super::*;
use pipe_kind::Kind as _;
use pipe_kind::ProgressSink;

pub(crate) fn context(dir: &Path, params: serde_json::Value, seed: u64) -> TaskContext {
    let outputs: BTreeMap<String, PathBuf> = OUTPUTS
        .iter()
        .map(|o| (o.name.to_string(), dir.join(o.path)))
        .collect();
    TaskContext {
        task: "data".into(),
        params,
        inputs: BTreeMap::new(),
        outputs,
        state_dir: dir.join("state"),
        devices: vec![],
        threads: 2,
        seed,
        progress: ProgressSink::discard(),
    }
}

fn small() -> serde_json::Value {
    serde_json::json!({"genome_bp": 40000, "coverage": 12, "variant_rate": 0.003, "indel_fraction": 0.3})
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_ok(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn same_seed_gives_same_bytes_and_other_seed_differs() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    Simulate.run(&context(a.path(), small(), 5)).unwrap();
    Simulate.run(&context(b.path(), small(), 5)).unwrap();
    Simulate.run(&context(c.path(), small(), 6)).unwrap();
    for f in [
        "reads.bam",
        "reads.bam.bai",
        "ref.fa",
        "ref.fa.fai",
        "truth.vcf.gz",
        "truth.vcf.gz.tbi",
        "confident.bed",
    ] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        assert_eq!(
            x,
            std::fs::read(b.path().join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    // The .fai only holds lengths and offsets, which do not depend on the seed.
    for f in ["reads.bam", "ref.fa", "truth.vcf.gz", "confident.bed"] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        assert_ne!(
            x,
            std::fs::read(c.path().join(f)).unwrap(),
            "{f} ignores the seed"
        );
    }
    // params.seed overrides the pipeline seed: pipeline seed 5 with seed 6 is the seed-6 data set.
    let d = tempfile::tempdir().unwrap();
    let mut own_seed = small();
    own_seed["seed"] = 6.into();
    Simulate.run(&context(d.path(), own_seed, 5)).unwrap();
    for f in ["reads.bam", "truth.vcf.gz"] {
        assert_eq!(
            std::fs::read(c.path().join(f)).unwrap(),
            std::fs::read(d.path().join(f)).unwrap(),
            "{f}: params.seed is not the data set's seed"
        );
    }
}

#[test]
fn bad_params_name_the_field() {
    let err = Simulate
        .check(&serde_json::json!({"coverage": -1}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("params.coverage"), "{err}");
    let err = Simulate
        .check(&serde_json::json!({"genome_bp": 5000}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("params.genome_bp"), "{err}");
    let err = Simulate
        .check(&serde_json::json!({"covrage": 3}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("covrage"), "{err}");
    Simulate.check(&serde_json::json!({})).unwrap();
}

/// Reads agree with the truth: at every SNP the alternate allele fraction matches the genotype, every read
/// spanning an indel has it in its CIGAR at the truth position, and NM matches the sequence.
#[test]
fn reads_support_the_truth_variants() {
    let dir = tempfile::tempdir().unwrap();
    let p: SimulateParams = pipe_kind::parse_params(&small()).unwrap();
    let ctx = context(dir.path(), small(), 11);
    let summary = simulate(&p, &ctx).unwrap();
    let genome = Genome::generate(
        &GenomeSpec {
            genome_bp: p.genome_bp,
            contigs: p.contigs,
            contig_prefix: p.contig_prefix.clone(),
        },
        &mut rng(11, STREAM_GENOME),
    );
    let vspec = VariantSpec {
        rate: p.variant_rate,
        het_fraction: p.het_fraction,
        indel_fraction: p.indel_fraction,
        max_indel: p.max_indel,
    };
    let truth = variants::generate(&genome, &vspec, &mut rng(11, STREAM_VARIANTS));
    assert_eq!(summary.het + summary.hom_alt, truth.len());
    assert!(summary.by_kind.iter().all(|&n| n > 5), "{summary:?}");
    let reference = &genome.contigs[0].seq;
    let snps: HashMap<usize, &variants::Variant> = truth
        .iter()
        .filter(|v| v.kind() == variants::VariantKind::Snp)
        .map(|v| (v.pos, v))
        .collect();
    let indels: Vec<&variants::Variant> = truth
        .iter()
        .filter(|v| v.kind() != variants::VariantKind::Snp)
        .collect();

    // SNP pos -> (ref count, alt count); indel anchor pos -> (reads spanning, reads with the indel there).
    let mut snp: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut indel: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut reader = noodles::bam::io::reader::Builder
        .build_from_path(dir.path().join("reads.bam"))
        .unwrap();
    let header = reader.read_header().unwrap();
    let mut n = 0;
    let mut last = (0, 0);
    for rec in reader.record_bufs(&header) {
        let rec = rec.unwrap();
        n += 1;
        let start = rec.alignment_start().unwrap().get() - 1;
        let key = (rec.reference_sequence_id().unwrap(), start);
        assert!(key >= last, "not sorted");
        last = key;
        let seq = rec.sequence().as_ref();
        let (mut i, mut r, mut nm) = (0usize, start, 0usize);
        let mut events = Vec::new();
        for op in rec.cigar().as_ref() {
            match op.kind() {
                Kind::Match => {
                    for k in 0..op.len() {
                        nm += usize::from(seq[i + k] != reference[r + k]);
                        if let Some(v) = snps.get(&(r + k)) {
                            let e = snp.entry(v.pos).or_default();
                            if seq[i + k] == v.alt[0] {
                                e.1 += 1
                            } else if seq[i + k] == v.ref_allele[0] {
                                e.0 += 1
                            }
                        }
                    }
                    i += op.len();
                    r += op.len();
                }
                Kind::Insertion => {
                    events.push((r - 1, op.len() as i64));
                    nm += op.len();
                    i += op.len();
                }
                Kind::Deletion => {
                    events.push((r - 1, -(op.len() as i64)));
                    nm += op.len();
                    r += op.len();
                }
                _ => i += op.len(),
            }
        }
        let end = r;
        for v in &indels {
            if v.pos > start + 5 && v.pos + v.ref_allele.len() + 5 < end {
                let e = indel.entry(v.pos).or_default();
                e.0 += 1;
                let delta = v.alt.len() as i64 - v.ref_allele.len() as i64;
                e.1 += usize::from(events.contains(&(v.pos, delta)));
            }
        }
        for &(pos, _) in &events {
            assert!(
                indels.iter().any(|v| v.pos == pos),
                "indel at {pos} is not in the truth"
            );
        }
        let tag = rec
            .data()
            .get(&Tag::EDIT_DISTANCE)
            .and_then(|v| v.as_int())
            .unwrap();
        assert_eq!(tag as usize, nm, "NM of {:?}", rec.name());
    }
    assert_eq!(n, summary.reads);
    let (mut het_alt, mut het_depth) = (0, 0);
    for v in &truth {
        let (refc, altc) = if v.ref_allele.len() == v.alt.len() {
            snp.get(&v.pos).copied().unwrap_or_default()
        } else {
            let (span, with) = indel.get(&v.pos).copied().unwrap_or_default();
            (span - with, with)
        };
        let depth = refc + altc;
        assert!(depth >= 1, "{v:?} is covered by no read");
        if v.is_het() {
            het_alt += altc;
            het_depth += depth;
            assert!(
                depth < 10 || (altc > 0 && refc > 0),
                "{v:?}: het with {refc} ref, {altc} alt"
            );
        } else {
            assert!(
                altc as f64 >= 0.8 * depth as f64,
                "{v:?}: hom-alt with {refc} ref, {altc} alt"
            );
        }
    }
    let frac = het_alt as f64 / het_depth as f64;
    assert!((0.42..0.58).contains(&frac), "het alt fraction {frac}");
}

#[test]
fn samtools_and_bcftools_accept_every_file() {
    if !have("samtools") || !have("bcftools") {
        pipe_testkit::skip(
            "samtools or bcftools not installed (apt-get install samtools bcftools tabix)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), small(), 3);
    let summary = simulate(&pipe_kind::parse_params(&small()).unwrap(), &ctx).unwrap();
    accepted_by_tools(dir.path(), &summary, 40_000);
}

/// The study's default data set (200 kb at 30x). Slow in debug builds; run with
/// `cargo test --release -p pipe-stages --no-default-features --lib default_data_set -- --ignored --nocapture`.
#[test]
#[ignore]
fn default_data_set() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), serde_json::json!({}), 42);
    let started = std::time::Instant::now();
    let summary = simulate(&SimulateParams::default(), &ctx).unwrap();
    println!(
        "simulate 200 kb at 30x: {:.2} s, {summary:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        summary.reads > 55_000 && summary.by_kind[0] > 100,
        "{summary:?}"
    );
    if have("samtools") && have("bcftools") {
        accepted_by_tools(dir.path(), &summary, 200_000);
        let bam = dir.path().join("reads.bam").to_string_lossy().into_owned();
        let stats = run_ok("samtools", &["stats", &bam]);
        for line in stats.lines().filter(|l| l.starts_with("SN\t")) {
            println!("{line}");
        }
    }
}

fn accepted_by_tools(dir: &Path, summary: &Summary, genome_bp: usize) {
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    run_ok("samtools", &["quickcheck", "-v", &path("reads.bam")]);
    let count = run_ok("samtools", &["view", "-c", &path("reads.bam")]);
    assert_eq!(count.trim(), summary.reads.to_string());
    let idx = run_ok("samtools", &["idxstats", &path("reads.bam")]);
    assert!(
        idx.starts_with(&format!("chr1\t{genome_bp}\t{}\t0", summary.reads)),
        "{idx}"
    );
    let region = run_ok(
        "samtools",
        &["view", "-c", &path("reads.bam"), "chr1:20000-20100"],
    );
    assert!(region.trim().parse::<usize>().unwrap() > 0);
    run_ok("samtools", &["flagstat", &path("reads.bam")]);
    let seq = run_ok("samtools", &["faidx", &path("ref.fa"), "chr1:1001-1010"]);
    assert_eq!(seq.lines().nth(1).unwrap().len(), 10);
    let vcf = run_ok("bcftools", &["view", "-H", &path("truth.vcf.gz")]);
    assert_eq!(vcf.lines().count(), summary.het + summary.hom_alt);
    let region = format!("chr1:1-{genome_bp}");
    run_ok(
        "bcftools",
        &["view", "-H", "-r", &region, &path("truth.vcf.gz")],
    );
    let norm = run_ok(
        "bcftools",
        &[
            "norm",
            "-c",
            "e",
            "-f",
            &path("ref.fa"),
            &path("truth.vcf.gz"),
        ],
    );
    assert_eq!(
        norm.lines().filter(|l| !l.starts_with('#')).count(),
        summary.het + summary.hom_alt
    );
    if have("tabix") {
        assert_eq!(
            run_ok("tabix", &["-l", &path("truth.vcf.gz")]).trim(),
            "chr1"
        );
    } else {
        pipe_testkit::skip("the tabix check: tabix not installed (apt-get install tabix)");
    }
    // Left-aligned already: bcftools norm changes nothing.
    let stats = Command::new("bcftools")
        .args([
            "norm",
            "-f",
            &path("ref.fa"),
            &path("truth.vcf.gz"),
            "-o",
            "/dev/null",
        ])
        .output()
        .unwrap();
    let msg = String::from_utf8_lossy(&stats.stderr);
    let n = summary.het + summary.hom_alt;
    assert!(msg.contains(&format!("\t{n}/0/0/0")), "{msg}");
}
