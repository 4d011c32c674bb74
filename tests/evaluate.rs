//! `evaluate` through `pipe run` on hand-built VCFs whose counts are known by construction, its
//! errors, and (with `../shared/data` and `PIPE_PYTHON`) its counts on DeepVariant's own calls against
//! the GIAB truth, next to an independent Python count.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::{stderr, Project};

/// Length of the test contig `chr20`.
const LEN: usize = 3000;

/// The reference: pseudo-random bases with an A homopolymer at 1000..1010 (0-based, G before it,
/// C after it) and `CAGTA` at 1299..1304.
fn reference() -> Vec<u8> {
    let mut x: u64 = 12345;
    let mut s: Vec<u8> = (0..LEN)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            b"ACGT"[(x >> 33) as usize % 4]
        })
        .collect();
    s[999] = b'G';
    s[1000..1010].fill(b'A');
    s[1010] = b'C';
    s[1299..1304].copy_from_slice(b"CAGTA");
    s
}

/// One VCF record: 1-based position, REF, ALT, GT, FILTER.
#[derive(Clone)]
struct Rec {
    pos: usize,
    r: String,
    alt: String,
    gt: &'static str,
    filter: &'static str,
}

fn rec(pos: usize, r: &str, alt: &str, gt: &'static str) -> Rec {
    Rec {
        pos,
        r: r.into(),
        alt: alt.into(),
        gt,
        filter: "PASS",
    }
}

/// A SNP at 1-based `pos` to the next base in ACGT order.
fn snp(reference: &[u8], pos: usize, gt: &'static str) -> Rec {
    let base = reference[pos - 1];
    let alt = b"ACGT"[(b"ACGT".iter().position(|&b| b == base).unwrap() + 1) % 4];
    rec(
        pos,
        &(base as char).to_string(),
        &(alt as char).to_string(),
        gt,
    )
}

/// VCF text of `records` on `contig` for `sample`.
fn vcf(contig: &str, sample: &str, records: &[Rec]) -> String {
    let mut text = format!(
        "##fileformat=VCFv4.3\n##contig=<ID={contig},length={LEN}>\n\
         ##FILTER=<ID=PASS,Description=\"All filters passed\">\n\
         ##FILTER=<ID=LowQual,Description=\"Low quality\">\n\
         ##FILTER=<ID=RefCall,Description=\"Reference call\">\n\
         ##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n\
         #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n"
    );
    let mut sorted = records.to_vec();
    sorted.sort_by_key(|r| r.pos);
    for (i, r) in sorted.iter().enumerate() {
        text += &format!(
            "{contig}\t{}\t.\t{}\t{}\t{}\t{}\t.\tGT\t{}\n",
            r.pos,
            r.r,
            r.alt,
            10 + i,
            r.filter,
            r.gt
        );
    }
    text
}

/// Writes `text` bgzipped to `path` with its tabix index next to it.
fn write_indexed(path: &Path, text: &str) {
    let mut w = noodles::bgzf::io::Writer::new(std::fs::File::create(path).unwrap());
    w.write_all(text.as_bytes()).unwrap();
    w.finish().unwrap();
    let noodles::vcf::Index::Tabix(index) = noodles::vcf::fs::index(path).unwrap() else {
        panic!("noodles built a CSI index for a small VCF");
    };
    let mut tbi = path.as_os_str().to_os_string();
    tbi.push(".tbi");
    noodles::tabix::fs::write(PathBuf::from(tbi), &index).unwrap();
}

/// The truth set and the "mixed" query, whose counts are known by construction.
struct Fixture {
    truth: Vec<Rec>,
    mixed: Vec<Rec>,
    /// Grid SNPs in the truth.
    grid: usize,
}

fn fixture(reference: &[u8]) -> Fixture {
    let special = [1000usize, 1300, 1501];
    let grid_pos: Vec<usize> = (150..2350)
        .step_by(50)
        .filter(|&p: &usize| special.iter().all(|s| p.abs_diff(*s) > 40))
        .collect();
    let grid: Vec<Rec> = grid_pos
        .iter()
        .enumerate()
        .map(|(i, &p)| snp(reference, p, if i % 3 == 0 { "1/1" } else { "0/1" }))
        .collect();
    let b = |pos: usize| (reference[pos - 1] as char).to_string();
    let mut truth = grid.clone();
    truth.push(rec(1000, "G", "GA", "0/1")); // insertion at the homopolymer's start
    truth.push(rec(1300, "CAGTA", "CCA", "1/1")); // SNP + 2-base deletion, one record
    let others: Vec<char> = "ACGT"
        .chars()
        .filter(|c| c.to_string() != b(1501))
        .collect();
    truth.push(rec(
        1501,
        &b(1501),
        &format!("{},{}", others[0], others[1]),
        "1/2",
    ));
    truth.push(snp(reference, 2600, "0/1")); // outside the confident regions: ignored

    let removed = [2, 5, 8];
    let mut mixed: Vec<Rec> = grid
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(i, r)| {
            if i == 1 {
                Rec {
                    gt: "1/1",
                    ..r.clone()
                }
            } else {
                r.clone()
            }
        })
        .collect();
    mixed.push(rec(1010, "A", "AA", "0/1")); // the same insertion at the run's end
    mixed.push(rec(1301, "A", "C", "1/1")); // the complex change as a SNP ...
    mixed.push(rec(1301, "AGT", "A", "1/1")); // ... and a deletion
    mixed.push(rec(1501, &b(1501), &others[1].to_string(), "0/1")); // 1/2 as two records
    mixed.push(rec(1501, &b(1501), &others[0].to_string(), "0/1"));
    for i in [10, 12] {
        mixed.push(snp(reference, grid_pos[i] + 25, "0/1")); // FP inside
    }
    for p in [2700, 2800] {
        mixed.push(snp(reference, p, "0/1")); // UNK outside
    }
    let filtered = |i: usize, gt, filter| Rec {
        filter,
        ..snp(reference, grid_pos[i] + 25, gt)
    };
    mixed.push(filtered(14, "0/1", "LowQual")); // non-PASS: FP under ALL only
    mixed.push(filtered(16, "./.", "RefCall")); // not a call
    mixed.push(filtered(18, "0/0", "PASS")); // not a call
    Fixture {
        truth,
        mixed,
        grid: grid_pos.len(),
    }
}

/// Writes the reference (plain FASTA + .fai), the BEDs and the truth VCF into the project.
fn write_inputs(p: &Project, reference: &[u8], truth: &[Rec]) {
    let defline = ">chr20\n";
    let mut fasta = defline.to_string();
    for line in reference.chunks(60) {
        fasta += std::str::from_utf8(line).unwrap();
        fasta.push('\n');
    }
    p.write("ref.fa", &fasta);
    p.write(
        "ref.fa.fai",
        &format!("chr20\t{LEN}\t{}\t60\t61\n", defline.len()),
    );
    p.write("confident.bed", "chr20\t100\t2400\n");
    p.write("homopolymer.bed", "chr20\t990\t1020\n");
    write_indexed(
        &p.path().join("truth.vcf.gz"),
        &vcf("chr20", "TRUTH", truth),
    );
}

/// A pipeline of `evaluate` stages, one per (stage, query file, extra params).
fn pipeline(stages: &[(&str, &str, &str)]) -> String {
    let mut text = "name: eval\nstages:\n".to_string();
    for (name, query, params) in stages {
        text += &format!(
            "  {name}:\n    kind: evaluate\n    inputs:\n      truth: {{ file: truth.vcf.gz }}\n      \
             confident: {{ file: confident.bed }}\n      reference: {{ file: ref.fa }}\n      \
             query: {{ file: {query} }}\n      strata: {{ files: [homopolymer.bed] }}\n    \
             params: {{ {params} }}\n"
        );
    }
    text += "results:\n";
    for (name, _, _) in stages {
        text += &format!("  {name}: {name}.summary\n");
    }
    text
}

/// summary.csv as (Type, Filter) -> column -> value.
fn read_summary(path: &Path) -> HashMap<(String, String), HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let row: HashMap<String, String> = header
                .iter()
                .zip(&cells)
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect();
            ((cells[0].to_string(), cells[1].to_string()), row)
        })
        .collect()
}

/// The counts of one summary row, in the order TRUTH.TOTAL, TP, FN, QUERY.TOTAL, TP, FP, UNK, FP.gt.
fn counts(
    summary: &HashMap<(String, String), HashMap<String, String>>,
    t: &str,
    f: &str,
) -> [u64; 8] {
    let row = &summary[&(t.to_string(), f.to_string())];
    [
        "TRUTH.TOTAL",
        "TRUTH.TP",
        "TRUTH.FN",
        "QUERY.TOTAL",
        "QUERY.TP",
        "QUERY.FP",
        "QUERY.UNK",
        "FP.gt",
    ]
    .map(|c| row[c].parse().unwrap())
}

#[test]
fn counts_on_hand_built_calls_are_those_known_by_construction() {
    let reference = reference();
    let fx = fixture(&reference);
    let p = Project::new();
    write_inputs(&p, &reference, &fx.truth);
    let inside: Vec<Rec> = fx.truth.iter().filter(|r| r.pos < 2400).cloned().collect();
    p.write("identical.vcf", &vcf("chr20", "NA12878", &inside));
    p.write("mixed.vcf", &vcf("chr20", "NA12878", &fx.mixed));
    p.write(
        "eval.yaml",
        &pipeline(&[
            ("identical", "identical.vcf", "sample: NA12878"),
            ("mixed", "mixed.vcf", "qual_thresholds: [0, 20]"),
        ]),
    );
    p.ok(&["run", "eval.yaml"]);
    let results = p.path().join("results/eval");

    let identical = read_summary(&results.join("identical.csv"));
    let g = fx.grid as u64;
    for f in ["ALL", "PASS"] {
        assert_eq!(
            counts(&identical, "ALL", f),
            [g + 3, g + 3, 0, g + 3, g + 3, 0, 0, 0]
        );
        for t in ["SNP", "INDEL", "ALL"] {
            assert_eq!(
                identical[&(t.to_string(), f.to_string())]["METRIC.F1_Score"],
                "1.0"
            );
        }
    }

    let mixed = read_summary(&results.join("mixed.csv"));
    // 3 grid SNPs removed (FN), one het called hom-alt (FN + FP with FP.gt), 2 calls added inside
    // (FP) and 2 outside (UNK); the shifted insertion, the complex change in two records and the 1/2
    // site in two records are TPs (the two records of each counted as two query TPs).
    assert_eq!(
        counts(&mixed, "ALL", "PASS"),
        [g + 3, g - 1, 4, g + 6, g + 1, 3, 2, 1]
    );
    // The LowQual call is an FP when every call is compared.
    assert_eq!(
        counts(&mixed, "ALL", "ALL"),
        [g + 3, g - 1, 4, g + 7, g + 1, 4, 2, 1]
    );
    assert_eq!(
        counts(&mixed, "SNP", "PASS"),
        [g + 1, g - 3, 4, g + 4, g - 1, 3, 2, 1]
    );
    assert_eq!(counts(&mixed, "INDEL", "PASS"), [2, 2, 0, 2, 2, 0, 0, 0]);
    let row = &mixed[&("ALL".to_string(), "PASS".to_string())];
    let recall: f64 = row["METRIC.Recall"].parse().unwrap();
    assert!((recall - (g - 1) as f64 / (g + 3) as f64).abs() < 1e-12);
    let frac_na: f64 = row["METRIC.Frac_NA"].parse().unwrap();
    assert!((frac_na - 2.0 / (g + 6) as f64).abs() < 1e-12);

    let outputs = std::fs::canonicalize(results.join("mixed.csv")).unwrap();
    let dir = outputs.parent().unwrap();
    for name in ["summary.parquet", "extended.parquet", "pr_curve.parquet"] {
        assert!(dir.join(name).metadata().unwrap().len() > 0, "{name}");
    }
}

#[test]
fn regions_count_as_if_the_inputs_were_cut_to_them() {
    let reference = reference();
    let fx = fixture(&reference);
    let p = Project::new();
    write_inputs(&p, &reference, &fx.truth);
    p.write("mixed.vcf", &vcf("chr20", "NA12878", &fx.mixed));
    // The same comparison by hand: the query cut to the first 1,200 bases (1-based positions), the
    // confident regions (chr20:101-2400) cut to chr20:101-1200.
    let cut: Vec<Rec> = fx.mixed.iter().filter(|r| r.pos <= 1200).cloned().collect();
    p.write("cut.vcf", &vcf("chr20", "NA12878", &cut));
    p.write("cut.bed", "chr20\t100\t1200\n");
    let mut text = pipeline(&[
        ("targeted", "mixed.vcf", "regions: [chr20:1-1200]"),
        ("whole", "mixed.vcf", ""),
    ]);
    text = text.replace(
        "stages:\n",
        "stages:\n  cut:\n    kind: evaluate\n    inputs:\n      truth: { file: truth.vcf.gz }\n      \
         confident: { file: cut.bed }\n      reference: { file: ref.fa }\n      \
         query: { file: cut.vcf }\n",
    );
    text += "  cut: cut.summary\n";
    p.write("eval.yaml", &text);
    p.ok(&["run", "eval.yaml"]);
    let results = p.path().join("results/eval");
    let (targeted, cut, whole) = (
        read_summary(&results.join("targeted.csv")),
        read_summary(&results.join("cut.csv")),
        read_summary(&results.join("whole.csv")),
    );
    for t in ["SNP", "INDEL", "ALL"] {
        for f in ["ALL", "PASS"] {
            assert_eq!(counts(&targeted, t, f), counts(&cut, t, f), "{t} {f}");
        }
    }
    let (inside, everywhere) = (
        counts(&targeted, "ALL", "ALL"),
        counts(&whole, "ALL", "ALL"),
    );
    assert!(
        inside[0] > 0 && inside[0] < everywhere[0],
        "{inside:?} {everywhere:?}"
    );
    // The two calls outside the confident regions (UNK) lie outside the regions too: left out.
    assert_eq!((inside[6], everywhere[6]), (0, 2));

    let err = failure(&p, "mixed.vcf", "regions: [chr20:x-y]");
    assert!(
        err.contains("params.regions: 'chr20:x-y' is not a region"),
        "{err}"
    );
    let err = failure(&p, "mixed.vcf", "regions: [chr21:1-100]");
    assert!(
        err.contains("params.regions has records on contig 'chr21'"),
        "{err}"
    );
}

/// Runs a one-stage pipeline on `query` with `params`; returns the failing run's stderr.
fn failure(p: &Project, query: &str, params: &str) -> String {
    p.write("fail.yaml", &pipeline(&[("check", query, params)]));
    let out = p.run(&["run", "fail.yaml"]);
    assert!(!out.status.success(), "the run should fail");
    stderr(&out)
}

#[test]
fn bad_inputs_fail_with_a_clear_message() {
    let reference = reference();
    let fx = fixture(&reference);
    let p = Project::new();
    write_inputs(&p, &reference, &fx.truth);
    p.write("q20.vcf", &vcf("20", "NA12878", &fx.mixed[..3]));
    let err = failure(&p, "q20.vcf", "");
    assert!(
        err.contains("names contig '20' but reference") && err.contains("names it 'chr20'"),
        "{err}"
    );

    p.write("q.vcf", &vcf("chr20", "NA12878", &fx.mixed[..3]));
    let err = failure(&p, "q.vcf", "sample: HG002");
    assert!(
        err.contains("has no sample 'HG002' (params.sample); its samples are: NA12878"),
        "{err}"
    );

    let mut other = vcf("chr21", "NA12878", &fx.mixed[..1]);
    other = other.replace(
        "##contig=<ID=chr21",
        "##contig=<ID=chr20>\n##contig=<ID=chr21",
    );
    p.write("q21.vcf", &other);
    let err = failure(&p, "q21.vcf", "");
    assert!(
        err.contains("has records on contig 'chr21', which is not in reference"),
        "{err}"
    );

    std::fs::remove_file(p.path().join("truth.vcf.gz.tbi")).unwrap();
    let err = failure(&p, "q.vcf", "");
    assert!(err.contains("truth.vcf.gz.tbi not found"), "{err}");
}

#[test]
fn deepvariant_calls_against_giab_agree_with_an_independent_count() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("../shared/data");
    let na12878 = data.join("na12878-chr20");
    let query = data.join("deepvariant-golden/golden.postprocess_single_site_output.vcf");
    if !query.exists() || !na12878.exists() {
        pipe_testkit::skip(&format!(
            "{} not found (../shared is absent)",
            data.display()
        ));
        return;
    }
    let Some(python) = std::env::var_os("PIPE_PYTHON") else {
        pipe_testkit::skip("PIPE_PYTHON is not set (the independent count runs in Python)");
        return;
    };
    let p = Project::new();
    // The GIAB confident regions cut to chr20:10,000,000-10,010,000, where DeepVariant's calls are.
    let bed =
        std::fs::read_to_string(na12878.join("test_nist.b37_chr20_100kbp_at_10mb.bed")).unwrap();
    let mut window = String::new();
    for line in bed.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (s, e): (u64, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        let (s, e) = (s.max(9_999_999), e.min(10_010_000));
        if s < e {
            window += &format!("{}\t{s}\t{e}\n", f[0]);
        }
    }
    let confident = p.write("confident.bed", &window);
    let truth = na12878.join("test_nist.b37_chr20_100kbp_at_10mb.vcf.gz");
    let reference = na12878.join("ucsc.hg19.chr20.unittest.fasta.gz");
    p.write(
        "dv.yaml",
        &format!(
            "name: dv\nstages:\n  eval:\n    kind: evaluate\n    inputs:\n      truth: {{ file: {} }}\n      \
             confident: {{ file: confident.bed }}\n      reference: {{ file: {} }}\n      \
             query: {{ file: {} }}\nresults:\n  summary: eval.summary\n",
            truth.display(),
            reference.display(),
            query.display()
        ),
    );
    p.ok(&["run", "dv.yaml"]);
    let summary = read_summary(&p.path().join("results/dv/summary.csv"));
    let ours = counts(&summary, "ALL", "PASS");

    let out = std::process::Command::new(python)
        .arg(root.join("tests/evaluate_reference.py"))
        .args([&truth, &query, &confident, &reference])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let theirs: HashMap<String, u64> = serde_json::from_slice(&out.stdout).unwrap();
    let names = [
        "TRUTH.TOTAL",
        "TRUTH.TP",
        "TRUTH.FN",
        "QUERY.TOTAL",
        "QUERY.TP",
        "QUERY.FP",
        "QUERY.UNK",
        "FP.gt",
    ];
    println!("pipe evaluate (ALL, PASS): {names:?} = {ours:?}");
    println!(
        "evaluate_reference.py:     {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
    assert_eq!(ours, names.map(|n| theirs[n]));
}
