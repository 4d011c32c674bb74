//! Stage kind `simulate`: a small, realistic, fully seeded genomics data set (reference, truth variants,
//! paired-end reads aligned to the reference, confident regions), the embedded default data of the study
//! pipeline. The same params and seed give the same bytes.

pub mod genome;
pub mod reads;
pub mod systematic;
pub mod variants;
pub mod writers;

use anyhow::{bail, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Deserialize;

use genome::{Genome, GenomeSpec};
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};
use reads::{QualityModel, ReadBuilder, ReadSpec};
use systematic::ErrorSites;
use variants::{Haplotype, VariantSpec};

/// Parameters of `simulate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulateParams {
    /// Total genome length in bases.
    pub genome_bp: usize,
    /// Number of contigs the genome is split into.
    pub contigs: usize,
    /// Contig names: this prefix and a 1-based number (`chr1`).
    pub contig_prefix: String,
    /// Mean read depth.
    pub coverage: f64,
    /// Length of each read of a pair.
    pub read_length: usize,
    /// Mean fragment (insert) length.
    pub insert_mean: f64,
    /// Standard deviation of the fragment length.
    pub insert_sd: f64,
    /// Expected variants per confident base.
    pub variant_rate: f64,
    /// Fraction of heterozygous variants; the rest are homozygous alternate.
    pub het_fraction: f64,
    /// Fraction of variants that are insertions or deletions.
    pub indel_fraction: f64,
    /// Longest insertion or deletion.
    pub max_indel: usize,
    /// Mean per-base sequencing error probability.
    pub error_rate: f64,
    /// Systematic error sites per base: one strand's reads show the same wrong base at low quality, the
    /// source of false candidates (hom-ref examples) in real data.
    pub systematic_error_rate: f64,
    /// Sample name (read group `SM` and VCF sample column).
    pub sample: String,
    /// Seed of this data set; the pipeline seed when absent (a second, independent genome in the
    /// same pipeline, e.g. the study's held-out genome, sets its own).
    pub seed: Option<u64>,
}

impl Default for SimulateParams {
    fn default() -> Self {
        Self {
            genome_bp: 200_000,
            contigs: 1,
            contig_prefix: "chr".into(),
            coverage: 30.0,
            read_length: 101,
            insert_mean: 300.0,
            insert_sd: 30.0,
            variant_rate: 0.001,
            het_fraction: 0.6,
            indel_fraction: 0.15,
            max_indel: 20,
            error_rate: 0.002,
            systematic_error_rate: 0.001,
            sample: "SIM".into(),
            seed: None,
        }
    }
}

impl StageParams for SimulateParams {
    /// Checks ranges; errors name the parameter.
    fn validate(&self) -> Result<()> {
        let p = self;
        if p.contigs == 0 || p.contigs > 1000 {
            bail!("params.contigs: must be 1 to 1000, got {}", p.contigs);
        }
        if p.genome_bp / p.contigs < 10_000 || p.genome_bp > 1_000_000_000 {
            bail!(
                "params.genome_bp: each contig needs at least 10000 bases and the genome at most 1e9 \
                 (got {} over {} contigs)",
                p.genome_bp,
                p.contigs
            );
        }
        if !(30..=1000).contains(&p.read_length) {
            bail!(
                "params.read_length: must be 30 to 1000, got {}",
                p.read_length
            );
        }
        if !(p.coverage > 0.0 && p.coverage <= 500.0) {
            bail!("params.coverage: must be in (0, 500], got {}", p.coverage);
        }
        if !(p.insert_mean >= p.read_length as f64 && p.insert_mean <= 2000.0) {
            bail!(
                "params.insert_mean: must be between read_length ({}) and 2000, got {}",
                p.read_length,
                p.insert_mean
            );
        }
        if !(p.insert_sd >= 0.0 && p.insert_sd <= p.insert_mean / 2.0) {
            bail!(
                "params.insert_sd: must be 0 to insert_mean/2, got {}",
                p.insert_sd
            );
        }
        if !(p.variant_rate > 0.0 && p.variant_rate <= 0.02) {
            bail!(
                "params.variant_rate: must be in (0, 0.02], got {}",
                p.variant_rate
            );
        }
        for (name, v) in [
            ("het_fraction", p.het_fraction),
            ("indel_fraction", p.indel_fraction),
        ] {
            if !(0.0..=1.0).contains(&v) {
                bail!("params.{name}: must be in [0, 1], got {v}");
            }
        }
        if !(1..=50).contains(&p.max_indel) {
            bail!("params.max_indel: must be 1 to 50, got {}", p.max_indel);
        }
        if !(0.0..=0.02).contains(&p.systematic_error_rate) {
            bail!(
                "params.systematic_error_rate: must be in [0, 0.02], got {}",
                p.systematic_error_rate
            );
        }
        if !(0.0002..=0.1).contains(&p.error_rate) {
            bail!(
                "params.error_rate: must be in [0.0002, 0.1], got {}",
                p.error_rate
            );
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if p.sample.is_empty() || !p.sample.chars().all(ok) {
            bail!(
                "params.sample: use letters, digits, '.', '_' or '-', got '{}'",
                p.sample
            );
        }
        if p.contig_prefix.is_empty() || !p.contig_prefix.chars().all(ok) {
            bail!(
                "params.contig_prefix: use letters, digits, '.', '_' or '-', got '{}'",
                p.contig_prefix
            );
        }
        Ok(())
    }
}

/// Counts of what was simulated, for the log and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Reads written (both mates).
    pub reads: usize,
    /// SNPs, insertions and deletions.
    pub by_kind: [usize; 3],
    /// Heterozygous variants.
    pub het: usize,
    /// Homozygous-alternate variants.
    pub hom_alt: usize,
    /// Systematic error sites.
    pub error_sites: usize,
}

/// Random stream of each part, so that changing one part's draws leaves the others alone.
const STREAM_GENOME: u64 = 1;
const STREAM_VARIANTS: u64 = 2;
const STREAM_FRAGMENTS: u64 = 3;
const STREAM_ERROR_SITES: u64 = 4;
/// Mixed into the seed of the per-read streams.
const READ_SEED_SALT: u64 = 0x5EED_5EAD_0000_0001;
/// Reads built per parallel batch (bounds memory).
const BATCH: usize = 20_000;

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Generates the data set into `ctx`'s outputs.
pub fn simulate(p: &SimulateParams, ctx: &TaskContext) -> Result<Summary> {
    p.validate()?;
    let seed = p.seed.unwrap_or(ctx.seed);
    let spec = GenomeSpec {
        genome_bp: p.genome_bp,
        contigs: p.contigs,
        contig_prefix: p.contig_prefix.clone(),
    };
    let genome = Genome::generate(&spec, &mut rng(seed, STREAM_GENOME));
    let vspec = VariantSpec {
        rate: p.variant_rate,
        het_fraction: p.het_fraction,
        indel_fraction: p.indel_fraction,
        max_indel: p.max_indel,
    };
    let truth = variants::generate(&genome, &vspec, &mut rng(seed, STREAM_VARIANTS));
    ctx.progress.update(1, 4, "genome and variants");

    writers::write_fasta(ctx.output("fasta")?, &genome)?;
    writers::write_vcf(ctx.output("vcf")?, &genome, &p.sample, &truth)?;
    let confident: Vec<_> = (0..genome.contigs.len())
        .flat_map(|c| genome.confident(c).into_iter().map(move |r| (c, r)))
        .collect();
    writers::write_bed(ctx.output("bed")?, &genome, &confident)?;
    ctx.progress
        .update(2, 4, "reference, truth and regions written");

    let haplotypes: Vec<[Haplotype; 2]> = (0..genome.contigs.len())
        .map(|c| [0, 1].map(|h| variants::haplotype(&genome.contigs[c].seq, &truth, c, h)))
        .collect();
    let rspec = ReadSpec {
        coverage: p.coverage,
        read_length: p.read_length,
        insert_mean: p.insert_mean,
        insert_sd: p.insert_sd,
        error_rate: p.error_rate,
    };
    let (fragments, keys) = reads::sample_fragments(
        &genome,
        &haplotypes,
        &rspec,
        &mut rng(seed, STREAM_FRAGMENTS),
    );
    let qualities = QualityModel::calibrated(p.read_length, p.error_rate);
    let error_sites = ErrorSites::generate(
        &genome,
        &truth,
        p.systematic_error_rate,
        &mut rng(seed, STREAM_ERROR_SITES),
    );
    let builder = ReadBuilder {
        genome: &genome,
        haplotypes: &haplotypes,
        fragments: &fragments,
        read_length: p.read_length,
        qualities: &qualities,
        error_sites: &error_sites,
        seed: seed ^ READ_SEED_SALT,
        read_group: &p.sample,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.threads.max(1))
        .build()?;
    let mut bam =
        writers::BamOut::create(ctx.output("bam")?, writers::sam_header(&genome, &p.sample)?)?;
    for (i, batch) in keys.chunks(BATCH).enumerate() {
        let records: Vec<_> = pool.install(|| batch.par_iter().map(|k| builder.build(k)).collect());
        for r in &records {
            bam.write(r)?;
        }
        let done = ((i + 1) * BATCH).min(keys.len());
        ctx.progress
            .update(2, 4, format!("{done}/{} reads", keys.len()));
    }
    bam.finish()?;
    ctx.progress.update(4, 4, "done");

    let mut summary = Summary {
        reads: keys.len(),
        error_sites: error_sites.len(),
        ..Summary::default()
    };
    for v in &truth {
        summary.by_kind[v.kind() as usize] += 1;
        if v.is_het() {
            summary.het += 1;
        } else {
            summary.hom_alt += 1;
        }
    }
    Ok(summary)
}

/// The `simulate` stage kind.
pub struct Simulate;

static OUTPUTS: &[OutputPort] = &[
    OutputPort {
        name: "bam",
        path: "reads.bam",
        doc: "coordinate-sorted paired-end reads (BAM, with reads.bam.bai beside it)",
    },
    OutputPort {
        name: "fasta",
        path: "ref.fa",
        doc: "reference genome (FASTA, with ref.fa.fai beside it)",
    },
    OutputPort {
        name: "vcf",
        path: "truth.vcf.gz",
        doc: "truth variants, phased GT, left-aligned (bgzipped VCF, with .tbi beside it)",
    },
    OutputPort {
        name: "bed",
        path: "confident.bed",
        doc: "confident regions: the genome minus contig ends and duplicated segments (BED)",
    },
];

impl StageKind for Simulate {
    type Params = SimulateParams;

    fn name(&self) -> &'static str {
        "simulate"
    }
    fn version(&self) -> u32 {
        2
    }
    fn about(&self) -> &'static str {
        "simulate a reference, truth variants, aligned paired-end reads and confident regions"
    }
    fn inputs(&self) -> &'static [InputPort] {
        &[]
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, p: SimulateParams, ctx: &TaskContext) -> Result<()> {
        let s = simulate(&p, ctx)?;
        eprintln!(
            "simulate: {} bp, {} reads, {} SNPs, {} insertions, {} deletions ({} het, {} hom-alt), \
             {} systematic error sites",
            p.genome_bp,
            s.reads,
            s.by_kind[0],
            s.by_kind[1],
            s.by_kind[2],
            s.het,
            s.hom_alt,
            s.error_sites
        );
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;
