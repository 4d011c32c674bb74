//! The calls as DeepVariant's `postprocess_variants` writes them: a bgzipped, tabix-indexed VCF with one
//! sample, the FILTERs PASS / RefCall / LowQual, `FORMAT` `GT:GQ:DP:AD:VAF:PL`, QUAL to one decimal and
//! VAF to six significant digits, and `##contig` lines from the reference's `.fai` (records sorted in
//! its order). Written with noodles' VCF writer and indexed with its tabix indexer.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use noodles::bgzf;
use noodles::core::Position;
use noodles::csi;
use noodles::fasta;
use noodles::tabix;
use noodles::vcf;
use noodles::vcf::variant::io::Write as _;
use noodles::vcf::variant::record_buf::samples::keys::Keys;
use noodles::vcf::variant::record_buf::samples::sample::value::{Array, Genotype};
use noodles::vcf::variant::record_buf::samples::sample::Value;
use noodles::vcf::variant::record_buf::{AlternateBases, Samples};

use super::genotype::Call;

/// A contig of the reference: name and length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contig {
    /// Name.
    pub name: String,
    /// Length in bases.
    pub length: u64,
}

/// The contigs of `reference`'s `.fai`, in its order; the error says how to make a missing index.
pub fn contigs(reference: &Path) -> Result<Vec<Contig>> {
    let mut fai = reference.as_os_str().to_os_string();
    fai.push(".fai");
    let fai = PathBuf::from(fai);
    if !fai.exists() {
        bail!(
            "reference {}: index {} not found; create it with `samtools faidx {}`",
            reference.display(),
            fai.display(),
            reference.display()
        );
    }
    let index = fasta::fai::fs::read(&fai)
        .with_context(|| format!("reference index {}: not a .fai index", fai.display()))?;
    Ok(index
        .as_ref()
        .iter()
        .map(|r| Contig {
            name: r.name().to_string(),
            length: r.length(),
        })
        .collect())
}

/// One VCF record: a site's alleles, its call and read counts.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Contig.
    pub chrom: String,
    /// 0-based position of the reference allele.
    pub pos: i64,
    /// Reference allele.
    pub ref_allele: String,
    /// Alt alleles.
    pub alts: Vec<String>,
    /// The genotype call.
    pub call: Call,
    /// Reads counted at the site.
    pub depth: i32,
    /// Reads supporting the reference, then each of `alts`.
    pub allele_depths: Vec<i32>,
}

/// The header: DeepVariant's FILTER and FORMAT lines, the contigs and the sample.
fn header(sample: &str, contigs: &[Contig]) -> Result<vcf::Header> {
    let mut text = String::from("##fileformat=VCFv4.2\n");
    for line in [
        r#"##FILTER=<ID=PASS,Description="All filters passed">"#,
        r#"##FILTER=<ID=RefCall,Description="Genotyping model thinks this site is reference.">"#,
        r#"##FILTER=<ID=LowQual,Description="Confidence in this variant being real is below calling threshold.">"#,
        r#"##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">"#,
        r#"##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Conditional genotype quality">"#,
        r#"##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">"#,
        r#"##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Read depth for each allele">"#,
        r#"##FORMAT=<ID=VAF,Number=A,Type=Float,Description="Variant allele fractions.">"#,
        r#"##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled genotype likelihoods rounded to the closest integer">"#,
        "##source=pipe-call",
    ] {
        text.push_str(line);
        text.push('\n');
    }
    for c in contigs {
        text.push_str(&format!("##contig=<ID={},length={}>\n", c.name, c.length));
    }
    text.push_str(&format!(
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n"
    ));
    text.parse()
        .with_context(|| format!("invalid VCF header for sample '{sample}'"))
}

/// `x` rounded to `digits` significant digits.
fn significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The noodles record of `r`.
fn record(r: &CallRecord) -> Result<vcf::variant::RecordBuf> {
    let gt = match r.call.genotype {
        Some((a, b)) => format!("{a}/{b}"),
        None => "./.".to_string(),
    };
    let gt: Genotype = gt.parse()?;
    let vaf: Vec<Option<f32>> = r.allele_depths[1..]
        .iter()
        .map(|&d| {
            let v = if r.depth > 0 {
                f64::from(d) / f64::from(r.depth)
            } else {
                0.0
            };
            Some(significant(v, 6) as f32)
        })
        .collect();
    let keys: Keys = ["GT", "GQ", "DP", "AD", "VAF", "PL"]
        .into_iter()
        .map(String::from)
        .collect();
    let values = vec![
        Some(Value::Genotype(gt)),
        Some(Value::Integer(r.call.gq)),
        Some(Value::Integer(r.depth)),
        Some(Value::Array(Array::Integer(
            r.allele_depths.iter().map(|&d| Some(d)).collect(),
        ))),
        Some(Value::Array(Array::Float(vaf))),
        Some(Value::Array(Array::Integer(
            r.call.pl.iter().map(|&p| Some(p)).collect(),
        ))),
    ];
    Ok(vcf::variant::RecordBuf::builder()
        .set_reference_sequence_name(r.chrom.as_str())
        .set_variant_start(Position::try_from(r.pos as usize + 1)?)
        .set_reference_bases(r.ref_allele.as_str())
        .set_alternate_bases(AlternateBases::from(r.alts.clone()))
        .set_quality_score(((r.call.qual * 10.0).round() / 10.0) as f32)
        .set_filters([r.call.filter.name().to_string()].into_iter().collect())
        .set_samples(Samples::new(keys, vec![values]))
        .build())
}

/// Writes `records` (sorted by contig in `contigs`' order, then position) for `sample` as bgzipped VCF
/// at `path`, with its tabix index beside it (`.csi` when a contig is too long for tabix).
pub fn write(path: &Path, sample: &str, contigs: &[Contig], records: &[CallRecord]) -> Result<()> {
    let header = header(sample, contigs)?;
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = vcf::io::Writer::new(bgzf::io::Writer::new(file));
    writer.write_header(&header)?;
    for r in records {
        let rec = record(r)
            .with_context(|| format!("the call at {}:{} cannot be written", r.chrom, r.pos + 1))?;
        writer
            .write_variant_record(&header, &rec)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    writer.get_mut().try_finish()?;
    drop(writer);
    let index = vcf::fs::index(path).with_context(|| format!("cannot index {}", path.display()))?;
    let mut out = path.as_os_str().to_os_string();
    match index {
        vcf::Index::Tabix(tbi) => {
            out.push(".tbi");
            tabix::fs::write(PathBuf::from(out), &tbi)?
        }
        vcf::Index::Csi(index) => {
            out.push(".csi");
            csi::fs::write(PathBuf::from(out), &index)?
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calling::genotype::{call, Thresholds};
    use std::io::Read as _;

    fn records() -> Vec<CallRecord> {
        let t = Thresholds::default();
        vec![
            CallRecord {
                chrom: "chr1".into(),
                pos: 99,
                ref_allele: "C".into(),
                alts: vec!["T".into()],
                call: call(&[0.01, 0.98, 0.01], t),
                depth: 55,
                allele_depths: vec![25, 30],
            },
            CallRecord {
                chrom: "chr1".into(),
                pos: 199,
                ref_allele: "G".into(),
                alts: vec!["GTT".into(), "GTTT".into()],
                call: call(&[0.01, 0.05, 0.01, 0.02, 0.9, 0.01], t),
                depth: 51,
                allele_depths: vec![2, 27, 15],
            },
            CallRecord {
                chrom: "chr2".into(),
                pos: 9,
                ref_allele: "A".into(),
                alts: vec!["C".into()],
                call: call(&[0.6, 0.3, 0.1], t),
                depth: 40,
                allele_depths: vec![35, 5],
            },
        ]
    }

    #[test]
    fn writes_deepvariants_fields_and_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let fa = dir.path().join("ref.fa");
        std::fs::write(
            dir.path().join("ref.fa.fai"),
            "chr1\t1000\t6\t60\t61\nchr2\t500\t1030\t60\t61\n",
        )
        .unwrap();
        let contigs = contigs(&fa).unwrap();
        assert_eq!(
            contigs[1],
            Contig {
                name: "chr2".into(),
                length: 500
            }
        );
        let path = dir.path().join("calls.vcf.gz");
        write(&path, "NA12878", &contigs, &records()).unwrap();
        assert!(dir.path().join("calls.vcf.gz.tbi").exists());
        let mut text = String::new();
        bgzf::io::Reader::new(File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.contains("##contig=<ID=chr2,length=500>"), "{text}");
        assert!(text.contains("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA12878\n"));
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "chr1\t100\t.\tC\tT\t20\tPASS\t.\tGT:GQ:DP:AD:VAF:PL\t0/1:17:55:25,30:0.545455:20,0,20",
                "chr1\t200\t.\tG\tGTT,GTTT\t20\tPASS\t.\tGT:GQ:DP:AD:VAF:PL\t1/2:10:51:2,27,15:0.529412,0.294118:20,13,20,17,0,20",
                "chr2\t10\t.\tA\tC\t2.2\tRefCall\t.\tGT:GQ:DP:AD:VAF:PL\t./.:4:40:35,5:0.125:0,3,8",
            ]
        );
    }

    /// bcftools reads the file and tabix finds the records through the index.
    #[test]
    fn bcftools_and_tabix_read_it() {
        let have = |tool: &str| {
            std::process::Command::new(tool)
                .arg("--version")
                .output()
                .is_ok()
        };
        if !(have("bcftools") && have("tabix")) {
            pipe_testkit::skip("bcftools or tabix is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let contigs = [
            Contig {
                name: "chr1".into(),
                length: 1000,
            },
            Contig {
                name: "chr2".into(),
                length: 500,
            },
        ];
        let path = dir.path().join("calls.vcf.gz");
        write(&path, "S", &contigs, &records()).unwrap();
        let run = |cmd: &str, args: &[&str]| {
            let out = std::process::Command::new(cmd).args(args).output().unwrap();
            assert!(
                out.status.success(),
                "{cmd} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let p = path.to_str().unwrap();
        assert_eq!(run("bcftools", &["view", "-H", p]).lines().count(), 3);
        let hits = run("tabix", &[p, "chr1:150-250"]);
        assert!(
            hits.starts_with("chr1\t200\t") && hits.lines().count() == 1,
            "{hits}"
        );
    }

    #[test]
    fn a_reference_without_fai_is_a_clear_error() {
        let err = contigs(Path::new("/nowhere/ref.fa"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("samtools faidx"), "{err}");
    }
}
