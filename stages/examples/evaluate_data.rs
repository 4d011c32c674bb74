//! Simulated benchmark inputs for `evaluate` (bench/evaluate/run.sh): a random reference, a truth VCF
//! (bgzipped, tabix-indexed) of SNPs and short indels, its confident regions, and a query VCF equal to
//! the truth except for a fraction of changed records (dropped, wrong genotype, wrong allele, or an
//! extra false SNP after them).
//!
//! `cargo run --release -p pipe-stages --example evaluate_data -- OUT_DIR [RECORDS] [CONTIGS]
//! [CONTIG_LENGTH] [CHANGED]` (defaults: 4,000,000 records on 10 contigs of 100 Mb, 1% changed).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BASES: &[u8; 4] = b"ACGT";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        anyhow::bail!("usage: evaluate_data OUT_DIR [RECORDS] [CONTIGS] [CONTIG_LENGTH] [CHANGED]");
    };
    let arg = |i: usize, default: f64| -> anyhow::Result<f64> {
        Ok(args
            .get(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let records = arg(1, 4e6)? as usize;
    let contigs = arg(2, 10.0)? as usize;
    let length = arg(3, 1e8)? as usize;
    let changed = arg(4, 0.01)?;
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;
    let mut rng = ChaCha8Rng::seed_from_u64(7);

    let mut fasta = BufWriter::new(File::create(out.join("ref.fa"))?);
    let mut fai = BufWriter::new(File::create(out.join("ref.fa.fai"))?);
    let mut bed = BufWriter::new(File::create(out.join("confident.bed"))?);
    let header = |sample: &str| {
        let mut h = String::from("##fileformat=VCFv4.3\n");
        for c in 0..contigs {
            h += &format!("##contig=<ID=sim{c},length={length}>\n");
        }
        h += "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n";
        h + &format!("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n")
    };
    let truth_path = out.join("truth.vcf.gz");
    let mut truth = noodles::bgzf::io::Writer::new(File::create(&truth_path)?);
    let mut query = BufWriter::new(File::create(out.join("query.vcf"))?);
    truth.write_all(header("TRUTH").as_bytes())?;
    query.write_all(header("QUERY").as_bytes())?;

    let mut offset = 0u64;
    let per_contig = records / contigs;
    let mean_gap = length / (per_contig + 1);
    let (mut n_truth, mut n_changed) = (0usize, 0usize);
    for c in 0..contigs {
        let name = format!("sim{c}");
        let seq: Vec<u8> = (0..length).map(|_| BASES[rng.random_range(0..4)]).collect();
        let defline = format!(">{name}\n");
        fasta.write_all(defline.as_bytes())?;
        offset += defline.len() as u64;
        writeln!(fai, "{name}\t{length}\t{offset}\t60\t61")?;
        for line in seq.chunks(60) {
            fasta.write_all(line)?;
            fasta.write_all(b"\n")?;
            offset += line.len() as u64 + 1;
        }
        // Confident: everything but 1 Mb out of every 20 Mb.
        let mut s = 0;
        while s < length {
            let e = (s + 19_000_000).min(length);
            writeln!(bed, "{name}\t{s}\t{e}")?;
            s += 20_000_000;
        }
        let mut pos = 20usize; // 0-based
        let mut extra: Option<usize> = None; // an extra false call to write before the next record
        for _ in 0..per_contig {
            pos += 1 + rng.random_range(0..2 * mean_gap);
            if pos + 30 >= length {
                break;
            }
            if let Some(at) = extra.take().filter(|&at| at + 1 < pos) {
                let alt = BASES[(BASES.iter().position(|&b| b == seq[at]).unwrap() + 2) % 4];
                writeln!(
                    query,
                    "{name}\t{}\t.\t{}\t{}\t5\tPASS\t.\tGT\t0/1",
                    at + 1,
                    seq[at] as char,
                    alt as char
                )?;
            }
            let kind = rng.random_range(0..100);
            let len = rng.random_range(1..=10);
            let (r, a): (Vec<u8>, Vec<u8>) = if kind < 85 {
                let alt = BASES[(BASES.iter().position(|&b| b == seq[pos]).unwrap() + 1) % 4];
                (vec![seq[pos]], vec![alt])
            } else if kind < 92 {
                let mut a = vec![seq[pos]];
                a.extend((0..len).map(|_| BASES[rng.random_range(0..4)]));
                (vec![seq[pos]], a)
            } else {
                (seq[pos..=pos + len].to_vec(), vec![seq[pos]])
            };
            let gt = if rng.random_bool(0.6) { "0/1" } else { "1/1" };
            let line = |gt: &str, alt: &[u8], qual: u32| {
                format!(
                    "{name}\t{}\t.\t{}\t{}\t{qual}\tPASS\t.\tGT\t{gt}\n",
                    pos + 1,
                    String::from_utf8_lossy(&r),
                    String::from_utf8_lossy(alt)
                )
            };
            truth.write_all(line(gt, &a, 50).as_bytes())?;
            n_truth += 1;
            let qual = rng.random_range(1..60);
            if !rng.random_bool(changed) {
                query.write_all(line(gt, &a, qual).as_bytes())?;
                continue;
            }
            n_changed += 1;
            match rng.random_range(0..4) {
                0 => {} // dropped: FN
                1 => {
                    let other = if gt == "0/1" { "1/1" } else { "0/1" };
                    query.write_all(line(other, &a, qual).as_bytes())?;
                }
                2 => {
                    let mut wrong = a.clone();
                    let last = wrong.len() - 1;
                    if r.len() == 1 && a.len() == 1 {
                        wrong[0] = BASES[(BASES.iter().position(|&b| b == a[0]).unwrap() + 1) % 4];
                        if wrong[0] == r[0] {
                            wrong[0] =
                                BASES[(BASES.iter().position(|&b| b == r[0]).unwrap() + 2) % 4];
                        }
                    } else if last > 0 {
                        wrong.push(b'T');
                    } else {
                        wrong = r[..r.len() - 1].to_vec();
                    }
                    query.write_all(line(gt, &wrong, qual).as_bytes())?;
                }
                _ => {
                    query.write_all(line(gt, &a, qual).as_bytes())?;
                    extra = Some(pos + r.len() + 2);
                }
            }
        }
    }
    fasta.flush()?;
    fai.flush()?;
    bed.flush()?;
    query.flush()?;
    truth.finish()?;
    let noodles::vcf::Index::Tabix(index) = noodles::vcf::fs::index(&truth_path)? else {
        anyhow::bail!("noodles built a CSI index for the truth VCF");
    };
    noodles::tabix::fs::write(out.join("truth.vcf.gz.tbi"), &index)?;
    println!("{n_truth} truth records, {n_changed} changed in the query");
    Ok(())
}
