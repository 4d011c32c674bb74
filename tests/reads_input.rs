//! tensorize on reads that are not what it expects: a region past the contig's end, MD tags that
//! disagree with the reference, a BAM without read groups. Each is a clear error or documented
//! behaviour, never a panic. (A CIGAR that does not match its sequence is refused by samtools itself;
//! tensorize's own check is a unit test of `pileup::read`.)

mod common;

use std::path::Path;
use std::process::Command;

use common::{stderr, Project};

/// A 3 kb contig of pseudo-random bases.
fn contig() -> Vec<u8> {
    let mut state: u64 = 7;
    (0..3000)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            b"ACGT"[(state >> 62) as usize]
        })
        .collect()
}

/// Writes ref.fa (indexed) and NAME.bam (indexed) with 60 reads over a het SNP at 1,200; `header_rg`
/// adds a read group with sample S1, `md` an MD tag on every read that claims a mismatch at its
/// fourth base (which the reference does not have).
fn write_inputs(p: &Project, name: &str, header_rg: bool, md: bool) {
    let seq = contig();
    let fasta: String = seq
        .chunks(60)
        .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
        .collect();
    p.write("ref.fa", &format!(">chr1\n{fasta}"));
    let mut sam = String::from("@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:3000\n");
    if header_rg {
        sam.push_str("@RG\tID:rg1\tSM:S1\n");
    }
    for i in 0..60usize {
        let pos = 1110 + i;
        let mut read = seq[pos - 1..pos - 1 + 100].to_vec();
        if i % 2 == 0 {
            let at = 1200 - pos;
            read[at] = if read[at] == b'A' { b'C' } else { b'A' };
        }
        let mut tags = String::new();
        if header_rg {
            tags.push_str("\tRG:Z:rg1");
        }
        if md {
            tags.push_str("\tMD:Z:3A96");
        }
        sam.push_str(&format!(
            "r{i}\t0\tchr1\t{pos}\t60\t100M\t*\t0\t0\t{}\t{}{tags}\n",
            String::from_utf8_lossy(&read),
            "I".repeat(100)
        ));
    }
    let sam_path = p.write(&format!("{name}.sam"), &sam);
    let bam = p.path().join(format!("{name}.bam"));
    tool(&["samtools", "view", "-b", "-o"], &[&bam, &sam_path]);
    tool(&["samtools", "index"], &[&bam]);
    tool(&["samtools", "faidx"], &[&p.path().join("ref.fa")]);
}

fn tool(args: &[&str], paths: &[&Path]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .args(paths)
        .output()
        .expect("samtools runs");
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

fn have_samtools() -> bool {
    let found = Command::new("samtools")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        pipe_testkit::skip("samtools not found (it writes the test's BAMs)");
    }
    found
}

fn pipeline(p: &Project, name: &str, bam: &str, region: &str) -> String {
    let file = format!("{name}.yaml");
    p.write(
        &file,
        &format!(
            "name: {name}\nstages:\n  ex:\n    kind: tensorize\n    inputs: {{ reads: {{ file: {bam} }}, reference: {{ file: ref.fa }} }}\n    \
             params: {{ mode: calling, height: 48, width: 61, regions: [\"{region}\"] }}\nresults: {{ examples: ex.examples }}\n"
        ),
    );
    file
}

#[test]
fn a_region_past_the_contigs_end_is_a_clear_error_and_nothing_is_published() {
    if !have_samtools() {
        return;
    }
    let p = Project::new();
    write_inputs(&p, "reads", true, false);
    let file = pipeline(&p, "outside", "reads.bam", "chr1:5001-6000");
    let out = p.run(&["run", &file]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("'chr1:5001-6000' starts past the end of contig 'chr1' (3000 bp"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!p.path().join("results/outside").exists());
    // A region that only runs past the end is cut there, as DeepVariant does.
    let file = pipeline(&p, "overhang", "reads.bam", "chr1:1101-4000");
    p.ok(&["run", &file]);
}

#[test]
fn md_tags_that_disagree_with_the_reference_are_ignored() {
    if !have_samtools() {
        return;
    }
    let p = Project::new();
    write_inputs(&p, "plain", true, false);
    write_inputs(&p, "md", true, true);
    let plain = pipeline(&p, "plain", "plain.bam", "chr1:1101-1400");
    let md = pipeline(&p, "md", "md.bam", "chr1:1101-1400");
    p.ok(&["run", &plain]);
    p.ok(&["run", &md]);
    let a = std::fs::read(p.path().join("results/plain/examples.parquet")).unwrap();
    let b = std::fs::read(p.path().join("results/md/examples.parquet")).unwrap();
    assert!(!a.is_empty());
    assert!(a == b, "the MD tags changed the examples");
}

#[test]
fn a_bam_without_read_groups_is_tensorized_under_its_file_stem() {
    if !have_samtools() {
        return;
    }
    let p = Project::new();
    write_inputs(&p, "no_rg", false, false);
    let file = pipeline(&p, "no-rg", "no_rg.bam", "chr1:1101-1400");
    let out = p.run(&["run", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.path().join("results/no-rg/examples.parquet").exists());
}
