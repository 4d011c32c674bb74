//! Writes the simulated data set with noodles: FASTA + .fai, coordinate-sorted BAM + .bai, bgzipped VCF +
//! .tbi (.csi instead of either when a contig is longer than 2^29 bases), and BED.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use noodles::core::Position;
use noodles::sam::alignment::io::Write as _;
use noodles::sam::alignment::RecordBuf;
use noodles::vcf::variant::io::Write as _;
use noodles::vcf::variant::record_buf::samples::sample::value::Genotype;
use noodles::vcf::variant::record_buf::samples::{sample::Value as SampleValue, Keys};
use noodles::vcf::variant::record_buf::{AlternateBases, Samples};
use noodles::{bam, bed, bgzf, csi, fasta, sam, tabix, vcf};

use super::genome::Genome;
use super::variants::Variant;

/// `path` with `ext` appended (`reads.bam` -> `reads.bam.bai`).
pub fn with_suffix(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Writes the contigs as FASTA (60 bases a line) and its `.fai` index.
pub fn write_fasta(path: &Path, genome: &Genome) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = fasta::io::Writer::new(BufWriter::new(file));
    for contig in &genome.contigs {
        let record = fasta::Record::new(
            fasta::record::Definition::new(contig.name.as_str(), None),
            fasta::record::Sequence::from(contig.seq.clone()),
        );
        writer.write_record(&record)?;
    }
    writer
        .get_mut()
        .flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(writer);
    let index =
        fasta::fs::index(path).with_context(|| format!("cannot index {}", path.display()))?;
    fasta::fai::fs::write(with_suffix(path, "fai"), &index)?;
    Ok(())
}

/// The SAM header of the simulated reads: coordinate-sorted, one read group whose sample is `sample`.
pub fn sam_header(genome: &Genome, sample: &str) -> Result<sam::Header> {
    let mut text = String::from("@HD\tVN:1.6\tSO:coordinate\n");
    for c in &genome.contigs {
        text.push_str(&format!("@SQ\tSN:{}\tLN:{}\n", c.name, c.seq.len()));
    }
    text.push_str(&format!(
        "@RG\tID:{sample}\tSM:{sample}\tPL:ILLUMINA\tLB:{sample}-lib\n"
    ));
    text.push_str("@PG\tID:pipe-simulate\tPN:pipe\n");
    text.parse()
        .with_context(|| format!("invalid SAM header for sample '{sample}'"))
}

/// A BAM file being written in coordinate order; [`BamOut::finish`] closes it and writes `.bai`.
pub struct BamOut {
    path: PathBuf,
    header: sam::Header,
    writer: bam::io::Writer<bgzf::io::Writer<File>>,
}

impl BamOut {
    /// Creates `path` and writes `header`.
    pub fn create(path: &Path, header: sam::Header) -> Result<Self> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = bam::io::Writer::new(file);
        writer.write_header(&header)?;
        Ok(Self {
            path: path.to_path_buf(),
            header,
            writer,
        })
    }

    /// Appends one record; records must come in coordinate order.
    pub fn write(&mut self, record: &RecordBuf) -> Result<()> {
        self.writer
            .write_alignment_record(&self.header, record)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Finishes the BGZF stream and writes the `.bai` index beside the file.
    pub fn finish(mut self) -> Result<()> {
        self.writer.try_finish()?;
        drop(self.writer);
        let index = bam::fs::index(&self.path)
            .with_context(|| format!("cannot index {}", self.path.display()))?;
        match index {
            bam::Index::Bai(bai) => bam::bai::fs::write(with_suffix(&self.path, "bai"), &bai)?,
            bam::Index::Csi(csi) => csi::fs::write(with_suffix(&self.path, "csi"), &csi)?,
        }
        Ok(())
    }
}

/// Writes the truth variants as bgzipped VCF with a phased `GT` for `sample`, and its `.tbi` index.
pub fn write_vcf(path: &Path, genome: &Genome, sample: &str, variants: &[Variant]) -> Result<()> {
    let mut text = String::from("##fileformat=VCFv4.2\n");
    text.push_str("##source=pipe-simulate\n");
    text.push_str("##FILTER=<ID=PASS,Description=\"All filters passed\">\n");
    text.push_str("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n");
    for c in &genome.contigs {
        text.push_str(&format!(
            "##contig=<ID={},length={}>\n",
            c.name,
            c.seq.len()
        ));
    }
    text.push_str(&format!(
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n"
    ));
    let header: vcf::Header = text
        .parse()
        .with_context(|| format!("invalid VCF header for sample '{sample}'"))?;
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = vcf::io::Writer::new(bgzf::io::Writer::new(file));
    writer.write_header(&header)?;
    let keys: Keys = [String::from("GT")].into_iter().collect();
    for v in variants {
        let gt: Genotype = v.genotype().parse()?;
        let record = vcf::variant::RecordBuf::builder()
            .set_reference_sequence_name(genome.contigs[v.contig].name.as_str())
            .set_variant_start(Position::try_from(v.pos + 1)?)
            .set_reference_bases(String::from_utf8_lossy(&v.ref_allele))
            .set_alternate_bases(AlternateBases::from(vec![
                String::from_utf8_lossy(&v.alt).into_owned()
            ]))
            .set_filters([String::from("PASS")].into_iter().collect())
            .set_samples(Samples::new(
                keys.clone(),
                vec![vec![Some(SampleValue::Genotype(gt))]],
            ))
            .build();
        writer.write_variant_record(&header, &record)?;
    }
    writer.get_mut().try_finish()?;
    drop(writer);
    let index = vcf::fs::index(path).with_context(|| format!("cannot index {}", path.display()))?;
    match index {
        vcf::Index::Tabix(tbi) => tabix::fs::write(with_suffix(path, "tbi"), &tbi)?,
        vcf::Index::Csi(csi) => csi::fs::write(with_suffix(path, "csi"), &csi)?,
    }
    Ok(())
}

/// Writes 0-based half-open regions as BED3.
pub fn write_bed(path: &Path, genome: &Genome, regions: &[(usize, Range<usize>)]) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = bed::io::Writer::<3, _>::new(BufWriter::new(file));
    for (contig, r) in regions {
        let record = bed::feature::RecordBuf::<3>::builder()
            .set_reference_sequence_name(genome.contigs[*contig].name.as_str())
            .set_feature_start(Position::try_from(r.start + 1)?)
            .set_feature_end(Position::try_from(r.end)?)
            .build();
        writer.write_feature_record(&record)?;
    }
    writer
        .get_mut()
        .flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
