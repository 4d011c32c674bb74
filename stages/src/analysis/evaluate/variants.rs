//! Reading the truth and query VCFs: one sample's genotype, QUAL and FILTER of every record, grouped
//! by contig and sorted by position.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};
use noodles::bgzf;
use noodles::tabix;
use noodles::vcf;
use noodles::vcf::variant::record::samples::series::Value;
use noodles::vcf::variant::record::samples::Sample as _;
use noodles::vcf::variant::record::AlternateBases as _;

/// One VCF record as one sample called it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// 0-based position of REF.
    pub start: i64,
    /// REF, upper case.
    pub ref_bases: Vec<u8>,
    /// ALT alleles, upper case (`*` and symbolic alleles kept as written).
    pub alts: Vec<Vec<u8>>,
    /// Genotype allele indices (0: REF, i: `alts[i - 1]`); a missing allele (`.`) reads as 0 and a
    /// haploid genotype as homozygous.
    pub gt: [u8; 2],
    /// QUAL, NaN when missing.
    pub qual: f32,
    /// Whether FILTER is `PASS` or missing (`.`).
    pub pass: bool,
}

impl Call {
    /// Whether the genotype carries an alternate allele (0/0 and ./. are not calls).
    pub fn is_variant(&self) -> bool {
        self.gt.iter().any(|&g| g > 0)
    }

    /// The record's reference span `[start, start + len(REF))`, used for region membership.
    pub fn span(&self) -> (i64, i64) {
        (self.start, self.start + self.ref_bases.len().max(1) as i64)
    }
}

/// The records of one VCF: contig by contig (in first-seen order), each sorted by position.
#[derive(Debug, Default)]
pub struct Calls {
    /// The sample whose genotypes were read.
    pub sample: String,
    /// (contig, its records sorted by start).
    pub contigs: Vec<(String, Vec<Call>)>,
}

impl Calls {
    /// Names of the contigs with records.
    pub fn contig_names(&self) -> impl Iterator<Item = &str> {
        self.contigs.iter().map(|(c, _)| c.as_str())
    }

    /// The records of `contig` (empty when it has none).
    pub fn of(&self, contig: &str) -> &[Call] {
        self.contigs
            .iter()
            .find(|(c, _)| c == contig)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

/// Reads the truth VCF, which must be bgzipped with a tabix index (`.tbi`) next to it.
pub fn read_truth(path: &Path, sample: Option<&str>) -> Result<Calls> {
    let what = format!("truth VCF {}", path.display());
    let mut tbi = path.as_os_str().to_os_string();
    tbi.push(".tbi");
    if !Path::new(&tbi).exists() {
        bail!(
            "{what}: index {} not found; the truth VCF must be bgzipped and indexed \
             (`bgzip truth.vcf && tabix -p vcf truth.vcf.gz`)",
            Path::new(&tbi).display()
        );
    }
    tabix::fs::read(&tbi).with_context(|| format!("{what}: cannot read its index"))?;
    let file = File::open(path).with_context(|| format!("cannot open {what}"))?;
    read(bgzf::io::Reader::new(file), sample, &what, "truth_sample")
}

/// Reads the query VCF, plain or compressed (bgzip or gzip, told apart from plain text by its first
/// bytes).
pub fn read_query(path: &Path, sample: Option<&str>) -> Result<Calls> {
    let what = format!("query VCF {}", path.display());
    let mut file = BufReader::new(File::open(path).with_context(|| format!("cannot open {what}"))?);
    let gzipped = file
        .fill_buf()
        .with_context(|| format!("cannot read {what}"))?
        .starts_with(&[0x1f, 0x8b]);
    if gzipped {
        read(
            flate2::bufread::MultiGzDecoder::new(file),
            sample,
            &what,
            "sample",
        )
    } else {
        read(file, sample, &what, "sample")
    }
}

/// Reads every record of the VCF text in `input`; `what` names the file in errors and `param` the
/// parameter that chooses its sample.
fn read<R: Read>(input: R, sample: Option<&str>, what: &str, param: &str) -> Result<Calls> {
    let mut reader = vcf::io::Reader::new(BufReader::with_capacity(1 << 20, input));
    let header = reader
        .read_header()
        .with_context(|| format!("{what}: invalid header"))?;
    let (sample_index, sample) = pick_sample(&header, sample, what, param)?;
    let mut contigs: Vec<(String, Vec<Call>)> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut record = vcf::Record::default();
    for n in 1u64.. {
        let read = reader
            .read_record(&mut record)
            .with_context(|| format!("{what}: record {n} is not valid VCF"))?;
        if read == 0 {
            break;
        }
        let name = record.reference_sequence_name();
        let at = || format!("{what}: record {n} ({name}:{:?})", record.variant_start());
        let call = parse_call(&record, &header, sample_index).with_context(at)?;
        let slot = match by_name.get(name) {
            Some(&i) => i,
            None => {
                by_name.insert(name.to_string(), contigs.len());
                contigs.push((name.to_string(), Vec::new()));
                contigs.len() - 1
            }
        };
        contigs[slot].1.push(call);
    }
    for (_, calls) in &mut contigs {
        calls.sort_by_key(|c| c.start);
    }
    Ok(Calls { sample, contigs })
}

/// The index and name of the sample to read: `wanted`, or the first.
fn pick_sample(
    header: &vcf::Header,
    wanted: Option<&str>,
    what: &str,
    param: &str,
) -> Result<(usize, String)> {
    let names = header.sample_names();
    if names.is_empty() {
        bail!("{what}: has no sample column; a genotype (GT) per record is needed");
    }
    match wanted {
        None => Ok((0, names[0].clone())),
        Some(w) => match names.get_index_of(w) {
            Some(i) => Ok((i, w.to_string())),
            None => bail!(
                "{what}: has no sample '{w}' (params.{param}); its samples are: {}",
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        },
    }
}

/// One record as the sample at `sample` called it.
fn parse_call(record: &vcf::Record, header: &vcf::Header, sample: usize) -> Result<Call> {
    let start = match record.variant_start().transpose()? {
        Some(p) => usize::from(p) as i64 - 1,
        None => bail!("POS is missing"),
    };
    let ref_bases = record.reference_bases().to_ascii_uppercase().into_bytes();
    let alts = record
        .alternate_bases()
        .iter()
        .map(|a| a.map(|a| a.to_ascii_uppercase().into_bytes()))
        .collect::<std::io::Result<Vec<_>>>()?;
    let qual = record.quality_score().transpose()?.unwrap_or(f32::NAN);
    let filters = record.filters();
    let pass = matches!(filters.as_ref(), "PASS" | "." | "");
    let gt = genotype(record, header, sample, alts.len())?;
    Ok(Call {
        start,
        ref_bases,
        alts,
        gt,
        qual,
        pass,
    })
}

/// The sample's GT as two allele indices (missing alleles as 0; no GT at all as 0/0).
fn genotype(
    record: &vcf::Record,
    header: &vcf::Header,
    sample: usize,
    alts: usize,
) -> Result<[u8; 2]> {
    let Some(s) = record.samples().get_index(sample) else {
        bail!("has no column for sample {}", sample + 1);
    };
    let Some(value) = s.get(header, "GT") else {
        return Ok([0, 0]);
    };
    let Some(Value::Genotype(gt)) = value? else {
        return Ok([0, 0]);
    };
    let mut alleles = Vec::with_capacity(2);
    for allele in gt.iter() {
        let index = allele?.0.unwrap_or(0);
        if index > alts {
            bail!("GT allele {index} but the record has {alts} ALT alleles");
        }
        alleles.push(index as u8);
    }
    match alleles.as_slice() {
        [] => Ok([0, 0]),
        [a] => Ok([*a, *a]),
        [a, b] => Ok([*a, *b]),
        _ => bail!(
            "GT has ploidy {}; only haploid and diploid genotypes can be compared",
            alleles.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VCF: &str = "##fileformat=VCFv4.3\n##contig=<ID=c>\n\
        ##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n\
        #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n\
        c\t9\t.\tg\tT\t30\tPASS\t.\tGT\t0/1\t1|1\n\
        c\t3\t.\tA\tC,G\t.\tLow\t.\tGT\t1/2\t./.\n\
        c\t5\t.\tA\tC\t7\t.\t.\tGT\t1\t0/0\n";

    #[test]
    fn records_are_read_for_the_chosen_sample_and_sorted() {
        let calls = read(VCF.as_bytes(), None, "query VCF q.vcf", "sample").unwrap();
        assert_eq!(calls.sample, "A");
        let c = calls.of("c");
        assert_eq!(c.iter().map(|c| c.start).collect::<Vec<_>>(), [2, 4, 8]);
        assert_eq!(
            (c[0].gt, c[0].pass, c[0].qual.is_nan()),
            ([1, 2], false, true)
        );
        assert_eq!((c[1].gt, c[1].pass), ([1, 1], true));
        assert_eq!(c[2].ref_bases, b"G");
        let b = read(VCF.as_bytes(), Some("B"), "query VCF q.vcf", "sample").unwrap();
        assert!(!b.of("c")[0].is_variant() && !b.of("c")[1].is_variant());
        assert!(b.of("c")[2].is_variant());
    }

    #[test]
    fn a_missing_sample_is_named_with_the_samples_there_are() {
        let err = read(VCF.as_bytes(), Some("NA12878"), "query VCF q.vcf", "sample")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "query VCF q.vcf: has no sample 'NA12878' (params.sample); its samples are: A, B"
        );
    }
}
