//! The `tensorize` stage kind: DeepVariant-compatible pileup images of candidate variants.
//!
//! Reads an indexed BAM, an indexed FASTA and optionally a truth VCF (bgzipped, tabix-indexed) with
//! its confident-regions BED, realigns each partition's reads to locally assembled haplotypes
//! ([`realigner`], param `realign`), finds candidates by allele counting ([`candidates`]), draws one
//! image per candidate and alt-allele combination ([`pileup`]) and, in training mode, labels it
//! (param `labeler`: DeepVariant's positional [`labeler`], pipe's default so far, or its haplotype
//! labeler, [`haplotype_labeler`]); calling mode makes examples of every candidate, unlabelled
//! ([`mode`]). Every example records its site's alleles and read counts (DP, AD) for the `call` stage. Work is split into partitions of `partition_size` bp that run on a rayon pool
//! a few at a time, so memory stays bounded; examples are written in partition order, so the output
//! is the same bytes on every run. A partition with more than `max_reads_per_partition` reads keeps
//! DeepVariant's sample of them ([`downsample`]). Not done: sorting rows by haplotype.

pub mod candidates;
pub mod downsample;
pub mod haplotype_labeler;
pub mod labeler;
pub mod mode;
pub mod pileup;
pub mod realigner;

#[cfg(test)]
mod downsample_tests;
#[cfg(test)]
mod golden_tests;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use noodles::bam;
use noodles::bgzf;
use noodles::core::{Position, Region};
use noodles::csi::binning_index::ReferenceSequence as _;
use noodles::sam;
use rayon::prelude::*;
use serde::Deserialize;

use crate::data::examples::{Example, ExamplesWriter, ImageShape, Site};
use candidates::{alt_combinations, find_candidates, Candidate, Thresholds};
use labeler::{candidate_genotype, label, Regions, Truth, TruthVariant};
use mode::Mode;
use pileup::channels::{Channel, WGS_CHANNELS};
use pileup::draw::Pileup;
use pileup::geometry::{Geometry, READ_OVERLAP_BUFFER_BP};
use pileup::read::AlignedRead;
use pileup::reference::{Reference, ReferenceSlice};
use pipe_kind::{InputPort, OutputPort, ProgressSink, StageKind, StageParams, TaskContext};
use realigner::window_selector::WindowModel;

/// The `tensorize` stage kind.
pub struct Tensorize;

/// Parameters of `tensorize`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Regions like `chr20:10000000-10010000` (1-based, inclusive) or `chr20`; default: the confident
    /// regions when given, else every BAM contig with mapped reads.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Channel names in image order; default the 7 WGS channels.
    #[serde(default = "default_channels")]
    pub channels: Vec<String>,
    /// Image rows.
    #[serde(default = "default_height")]
    pub height: usize,
    /// Image columns (odd).
    #[serde(default = "default_width")]
    pub width: usize,
    /// Minimum base quality.
    #[serde(default = "default_min_base_quality")]
    pub min_base_quality: u8,
    /// Minimum mapping quality.
    #[serde(default = "default_min_mapping_quality")]
    pub min_mapping_quality: u8,
    /// Minimum reads for a SNP allele.
    #[serde(default = "default_min_count")]
    pub vsc_min_count_snps: u32,
    /// Minimum reads for an indel allele.
    #[serde(default = "default_min_count")]
    pub vsc_min_count_indels: u32,
    /// Minimum read fraction for a SNP allele.
    #[serde(default = "default_fraction_snps")]
    pub vsc_min_fraction_snps: f64,
    /// Minimum read fraction for an indel allele.
    #[serde(default = "default_fraction_indels")]
    pub vsc_min_fraction_indels: f64,
    /// Bases per partition.
    #[serde(default = "default_partition_size")]
    pub partition_size: i64,
    /// Sample name; default the `SM` of the BAM's first read group.
    #[serde(default)]
    pub sample: Option<String>,
    /// `training` (labelled, confident regions only) or `calling` (every candidate, unlabelled);
    /// default training when a truth VCF is given, else calling.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Realign reads to locally assembled haplotypes before counting and drawing (DeepVariant's
    /// `realign_reads`, on for short reads).
    #[serde(default = "default_realign")]
    pub realign: bool,
    /// At most this many reads of a partition are kept, chosen as DeepVariant chooses them
    /// (`--max_reads_per_partition`, 1500; 0 keeps every read): [`downsample`].
    #[serde(default = "default_max_reads_per_partition")]
    pub max_reads_per_partition: usize,
    /// Which positions open a realignment window: `variant_reads` (DeepVariant's default: 2 to 300
    /// reads show a variant allele there) or `allele_count_linear` (its trained linear model).
    #[serde(default)]
    pub window_selector: WindowSelector,
    /// How training examples are labelled from the truth: `positional` (pipe's default so far) or
    /// `haplotype` (DeepVariant's default for training).
    #[serde(default)]
    pub labeler: Labeler,
}

/// How candidates are labelled from the truth VCF (param `labeler`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Labeler {
    /// DeepVariant's positional labeler: the truth record starting at the candidate ([`labeler`]).
    #[default]
    Positional,
    /// DeepVariant's haplotype labeler: the candidate genotypes that make the truth's haplotypes
    /// ([`haplotype_labeler`]).
    Haplotype,
}

/// The realigner's window selection model (param `window_selector`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSelector {
    /// DeepVariant's allele-count linear model (`--ws_use_window_selector_model`).
    AlleleCountLinear,
    /// DeepVariant's default: positions where 2 to 300 reads show a substitution, indel or clip.
    #[default]
    VariantReads,
}

fn default_channels() -> Vec<String> {
    WGS_CHANNELS.iter().map(|c| c.name().to_string()).collect()
}
fn default_height() -> usize {
    100
}
fn default_width() -> usize {
    221
}
fn default_min_base_quality() -> u8 {
    Thresholds::default().min_base_quality
}
fn default_min_mapping_quality() -> u8 {
    Thresholds::default().min_mapping_quality
}
fn default_min_count() -> u32 {
    Thresholds::default().vsc_min_count_snps
}
fn default_fraction_snps() -> f64 {
    Thresholds::default().vsc_min_fraction_snps
}
fn default_fraction_indels() -> f64 {
    Thresholds::default().vsc_min_fraction_indels
}
fn default_partition_size() -> i64 {
    1000
}
fn default_realign() -> bool {
    true
}
fn default_max_reads_per_partition() -> usize {
    downsample::MAX_READS_PER_PARTITION
}

impl Default for Params {
    fn default() -> Self {
        let t = Thresholds::default();
        Self {
            regions: None,
            channels: default_channels(),
            height: default_height(),
            width: default_width(),
            min_base_quality: t.min_base_quality,
            min_mapping_quality: t.min_mapping_quality,
            vsc_min_count_snps: t.vsc_min_count_snps,
            vsc_min_count_indels: t.vsc_min_count_indels,
            vsc_min_fraction_snps: t.vsc_min_fraction_snps,
            vsc_min_fraction_indels: t.vsc_min_fraction_indels,
            partition_size: default_partition_size(),
            sample: None,
            mode: None,
            realign: default_realign(),
            max_reads_per_partition: default_max_reads_per_partition(),
            window_selector: WindowSelector::default(),
            labeler: Labeler::default(),
        }
    }
}

impl StageParams for Params {
    fn validate(&self) -> Result<()> {
        self.settings().map(|_| ())
    }
}

/// Parameters checked and turned into the types the pipeline uses.
struct Settings {
    channels: Vec<Channel>,
    geometry: Geometry,
    thresholds: Thresholds,
    regions: Option<Vec<(String, i64, i64)>>,
    realigner: Option<realigner::Options>,
    max_reads_per_partition: usize,
    labeler: Labeler,
}

impl Params {
    fn settings(&self) -> Result<Settings> {
        if self.channels.is_empty() {
            bail!("params.channels: give at least one channel");
        }
        let channels = self
            .channels
            .iter()
            .map(|c| Channel::parse(c).map_err(|e| anyhow!("params.channels: {e}")))
            .collect::<Result<Vec<_>>>()?;
        let geometry = Geometry::new(self.height, self.width)?;
        if self.partition_size < 1 {
            bail!(
                "params.partition_size: must be at least 1, got {}",
                self.partition_size
            );
        }
        for (name, f) in [
            ("vsc_min_fraction_snps", self.vsc_min_fraction_snps),
            ("vsc_min_fraction_indels", self.vsc_min_fraction_indels),
        ] {
            if !(0.0..=1.0).contains(&f) {
                bail!("params.{name}: must be within 0..1, got {f}");
            }
        }
        let regions = match &self.regions {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|r| parse_region(r))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        Ok(Settings {
            channels,
            geometry,
            thresholds: Thresholds {
                min_base_quality: self.min_base_quality,
                min_mapping_quality: self.min_mapping_quality,
                vsc_min_count_snps: self.vsc_min_count_snps,
                vsc_min_count_indels: self.vsc_min_count_indels,
                vsc_min_fraction_snps: self.vsc_min_fraction_snps,
                vsc_min_fraction_indels: self.vsc_min_fraction_indels,
            },
            regions,
            realigner: self.realign.then(|| {
                let mut o = realigner::Options::default();
                o.window.model = match self.window_selector {
                    WindowSelector::AlleleCountLinear => WindowModel::AlleleCountLinear,
                    WindowSelector::VariantReads => WindowModel::VARIANT_READS,
                };
                o
            }),
            max_reads_per_partition: self.max_reads_per_partition,
            labeler: self.labeler,
        })
    }
}

/// `chr20:10000001-10010000` (1-based inclusive) → (contig, 0-based start, end); a bare contig name
/// gives `(contig, 0, i64::MAX)`, clipped to the contig later.
pub(crate) fn parse_region(text: &str) -> Result<(String, i64, i64)> {
    let region: Region = text.parse().map_err(|e| {
        anyhow!("params.regions: '{text}' is not a region like chr20:10000000-10010000 ({e})")
    })?;
    let interval = region.interval();
    let start = interval.start().map_or(0, |p| usize::from(p) as i64 - 1);
    let end = interval.end().map_or(i64::MAX, |p| usize::from(p) as i64);
    Ok((region.name().to_string(), start, end))
}

/// Input files of one run.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Indexed BAM.
    pub reads: PathBuf,
    /// Indexed FASTA.
    pub reference: PathBuf,
    /// Truth VCF (bgzipped, tabix-indexed).
    pub truth: Option<PathBuf>,
    /// Confident regions BED.
    pub confident: Option<PathBuf>,
}

/// What a run produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Partitions processed.
    pub partitions: usize,
    /// Candidate sites that produced examples.
    pub candidates: usize,
    /// Examples written.
    pub examples: usize,
}

/// One unit of work: candidates starting inside `allowed` (all within one grid cell of a contig).
#[derive(Debug, Clone)]
struct Partition {
    contig: String,
    start: i64,
    end: i64,
    allowed: Vec<(i64, i64)>,
}

/// Grid cells of `size` bp of `contig` that `regions` touch, each with the parts of the regions
/// inside it.
fn partitions(regions: &Regions, contig: &str, size: i64) -> Vec<Partition> {
    let mut out: Vec<Partition> = Vec::new();
    for &(s, e) in regions.intervals(contig) {
        let mut cell = s.div_euclid(size);
        while cell * size < e {
            let (lo, hi) = ((cell * size).max(s), ((cell + 1) * size).min(e));
            match out.last_mut() {
                Some(p) if p.start.div_euclid(size) == cell => {
                    p.end = hi;
                    p.allowed.push((lo, hi));
                }
                _ => out.push(Partition {
                    contig: contig.to_string(),
                    start: lo,
                    end: hi,
                    allowed: vec![(lo, hi)],
                }),
            }
            cell += 1;
        }
    }
    out
}

/// Most bases one unit of partitions spans: the size of a BAI linear-index bin.
const UNIT_SPAN: i64 = 16_384;

/// Runs of consecutive partitions on one contig spanning at most [`UNIT_SPAN`] bp, read from the BAM
/// with one query.
fn units(parts: &[Partition]) -> Vec<&[Partition]> {
    let mut out = Vec::new();
    let mut begin = 0;
    for i in 1..=parts.len() {
        let split = i == parts.len()
            || parts[i].contig != parts[begin].contig
            || parts[i].end - parts[begin].start > UNIT_SPAN;
        if split {
            out.push(&parts[begin..i]);
            begin = i;
        }
    }
    out
}

/// Per-thread file handles.
struct Readers {
    bam: bam::io::Reader<bgzf::io::Reader<File>>,
    reference: Reference,
    truth: Option<Truth>,
}

/// What every partition shares.
struct Shared {
    inputs: Inputs,
    header: Arc<sam::Header>,
    index: Arc<bam::bai::Index>,
    truth: Option<Truth>,
    settings: Settings,
    confident: Option<Regions>,
    sample: String,
    pool: Mutex<Vec<Readers>>,
}

impl Shared {
    fn open_readers(&self) -> Result<Readers> {
        Ok(Readers {
            bam: open_bam_reader(&self.inputs.reads)?,
            reference: Reference::open(&self.inputs.reference)?,
            truth: self.truth.as_ref().map(Truth::reopen).transpose()?,
        })
    }

    fn with_readers<T>(&self, f: impl FnOnce(&mut Readers) -> Result<T>) -> Result<T> {
        let taken = self.pool.lock().ok().and_then(|mut p| p.pop());
        let mut readers = match taken {
            Some(r) => r,
            None => self.open_readers()?,
        };
        let out = f(&mut readers);
        if let Ok(mut p) = self.pool.lock() {
            p.push(readers);
        }
        out
    }
}

fn open_bam_reader(path: &Path) -> Result<bam::io::Reader<bgzf::io::Reader<File>>> {
    let file = File::open(path).with_context(|| format!("cannot open BAM {}", path.display()))?;
    Ok(bam::io::Reader::new(file))
}

/// The BAM's header and index; the error says how to make a missing index.
fn open_bam(path: &Path) -> Result<(sam::Header, bam::bai::Index)> {
    let mut bai = path.as_os_str().to_os_string();
    bai.push(".bai");
    let bai = PathBuf::from(bai);
    if !bai.exists() {
        bail!(
            "reads {}: index {} not found; sort and index the BAM with `samtools sort` and `samtools index`",
            path.display(),
            bai.display()
        );
    }
    let index = bam::bai::fs::read(&bai).with_context(|| {
        format!(
            "reads {}: cannot read the index {}",
            path.display(),
            bai.display()
        )
    })?;
    let header = open_bam_reader(path)?
        .read_header()
        .with_context(|| format!("reads {}: not a BAM file or invalid header", path.display()))?;
    Ok((header, index))
}

/// Filtered, decoded reads of `contig` overlapping `[start, end)`.
fn query_reads(
    readers: &mut Readers,
    shared: &Shared,
    contig: &str,
    start: i64,
    end: i64,
) -> Result<Vec<AlignedRead>> {
    let min_mapq = shared.settings.thresholds.min_mapping_quality;
    let start = start.max(0);
    if start >= end {
        return Ok(Vec::new());
    }
    let region = Region::new(
        contig,
        Position::try_from(start as usize + 1)?..=Position::try_from(end as usize)?,
    );
    let path = &shared.inputs.reads;
    let mut out = Vec::new();
    let query = readers
        .bam
        .query(&shared.header, shared.index.as_ref(), &region)
        .with_context(|| format!("reads {}: cannot query {region}", path.display()))?;
    for record in query.records() {
        let record =
            record.with_context(|| format!("reads {}: bad record in {region}", path.display()))?;
        let decoded = AlignedRead::decode(&record, &shared.header, min_mapq)
            .with_context(|| format!("reads {}", path.display()))?;
        if let Ok(read) = decoded {
            if read.overlaps(start, end) {
                out.push(read);
            }
        }
    }
    Ok(out)
}

/// Examples of one partition, in order, from `unit_reads` (the reads of its unit, in file order).
fn process(
    shared: &Shared,
    p: &Partition,
    unit_reads: &[AlignedRead],
    readers: &mut Readers,
) -> Result<(usize, Vec<Example>)> {
    let s = &shared.settings;
    let g = s.geometry;
    let buffer = READ_OVERLAP_BUFFER_BP;
    let (lo_pos, hi_pos) = ((p.start - buffer).max(0), p.end + buffer);
    let reads: Vec<&AlignedRead> = unit_reads
        .iter()
        .filter(|r| r.overlaps(lo_pos, hi_pos))
        .collect();
    // Downsampled in file order before the realigner sees them, as DeepVariant does.
    let mut reads =
        downsample::reservoir_sample(reads, s.max_reads_per_partition, downsample::RANDOM_SEED);
    let realigned = match &s.realigner {
        Some(o) => {
            let (lo, hi) = realigner::reference_span(&reads, p.start, p.end, o);
            let slice = readers.reference.slice(&p.contig, lo, hi)?;
            let contig_len = readers.reference.length(&p.contig).unwrap_or(hi);
            realigner::realign(&reads, &slice, contig_len, p.start, p.end, o)
        }
        None => realigner::Realigned::default(),
    };
    if s.realigner.is_some() {
        // DeepVariant's order of the realigned reads, which decides the order of tied rows.
        reads = realigned
            .order
            .iter()
            .map(|&i| realigned.reads[i].as_ref().unwrap_or(reads[i]))
            .collect();
    }
    let slice_for = |reads: &[&AlignedRead], end: i64| {
        // One base before the first read: the anchor of an indel that opens it.
        let lo = reads.iter().map(|r| r.start - 1).min().unwrap_or(p.start);
        let hi = reads.iter().map(|r| r.end).max().unwrap_or(end);
        (lo.min(p.start - g.half()), hi.max(end + g.half() + 1))
    };
    let (lo, hi) = slice_for(&reads, p.end);
    let mut reference: ReferenceSlice = readers.reference.slice(&p.contig, lo, hi)?;
    let candidates: Vec<Candidate> =
        find_candidates(&reads, &reference, p.start, p.end, &s.thresholds)
            .into_iter()
            .filter(|c| p.allowed.iter().any(|&(a, b)| (a..b).contains(&c.start)))
            .collect();
    let labelled = readers.truth.is_some();
    // Labelled before the confident-regions filter: the haplotype labeler groups every candidate.
    let genotypes: Vec<Vec<usize>> = match (s.labeler, readers.truth.as_mut()) {
        (Labeler::Haplotype, Some(t)) => haplotype_labeler::partition_genotypes(
            t,
            &mut readers.reference,
            shared.confident.as_ref(),
            (&p.contig, p.start, p.end),
            &candidates,
        )?,
        (Labeler::Positional, Some(t)) => {
            let records: Vec<TruthVariant> = t.query(&p.contig, p.start, p.end)?;
            candidates
                .iter()
                .map(|c| candidate_genotype(c, records.iter().find(|t| t.start == c.start)))
                .collect()
        }
        (_, None) => candidates
            .iter()
            .map(|c| candidate_genotype(c, None))
            .collect(),
    };
    let (candidates, genotypes): (Vec<Candidate>, Vec<Vec<usize>>) = candidates
        .into_iter()
        .zip(genotypes)
        .filter(|(c, _)| {
            !labelled
                || shared
                    .confident
                    .as_ref()
                    .is_none_or(|r| r.overlaps(&p.contig, c.start, c.end()))
        })
        .unzip();
    // Long deletions reach past the reads fetched for counting: fetch the reads that start after them.
    let max_end = candidates.iter().map(Candidate::end).max().unwrap_or(p.end);
    let extra = if max_end > p.end {
        query_reads(readers, shared, &p.contig, hi_pos, max_end + buffer)?
    } else {
        Vec::new()
    };
    if !extra.is_empty() {
        reads.extend(extra.iter().filter(|r| r.start >= hi_pos));
        let (lo, hi) = slice_for(&reads, max_end);
        reference = readers.reference.slice(&p.contig, lo, hi)?;
    }
    let mut examples = Vec::new();
    for (c, genotype) in candidates.iter().zip(&genotypes) {
        let window = reference.window(
            g.window_start(c.start),
            g.window_start(c.start) + g.width as i64,
        );
        let pileup = Pileup {
            geometry: g,
            channels: &s.channels,
            min_base_quality: s.thresholds.min_base_quality,
            start: c.start,
            end: c.end(),
            reference: &window,
        };
        for alt_indices in alt_combinations(c.alts.len()) {
            let mut supports = vec![false; reads.len()];
            for &a in &alt_indices {
                for &r in &c.support[a] {
                    supports[r] = true;
                }
            }
            let image = pileup.draw(&reads, &|i| supports[i]);
            let alt = alt_indices
                .iter()
                .map(|&a| c.alts[a].as_str())
                .collect::<Vec<_>>()
                .join(",");
            examples.push(Example {
                id: format!("{}:{}:{}>{}", p.contig, c.start + 1, c.ref_bases, alt),
                sample: shared.sample.clone(),
                chrom: p.contig.clone(),
                pos: c.start,
                ref_allele: c.ref_bases.clone(),
                alt,
                label: labelled.then(|| label(genotype, &alt_indices)),
                image: image.data,
                site: Some(site(c)),
            });
        }
    }
    Ok((candidates.len(), examples))
}

/// The site of candidate `c` as its examples record it: every alt, DP and AD.
fn site(c: &Candidate) -> Site {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let mut allele_depths = vec![count(c.ref_support as usize)];
    allele_depths.extend(c.alt_depths.iter().map(|&d| count(d as usize)));
    Site {
        alts: c.alts.clone(),
        depth: count(c.depth as usize),
        allele_depths,
    }
}

/// Runs tensorization of `inputs` into the examples file `out` with `threads` worker threads.
pub fn tensorize(
    inputs: &Inputs,
    params: &Params,
    threads: usize,
    out: &Path,
    progress: &ProgressSink,
) -> Result<Summary> {
    let inputs = &Mode::resolve(params.mode, inputs)?.inputs(inputs);
    let (shared, regions) = open_inputs(inputs, params)?;
    let shape = ImageShape {
        height: shared.settings.geometry.height,
        width: shared.settings.geometry.width,
        channels: shared
            .settings
            .channels
            .iter()
            .map(|c| c.name().to_string())
            .collect(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .context("cannot start the worker threads")?;
    let mut writer = ExamplesWriter::create(out, shape, "bam")?;
    let summary = write_partitions(
        &shared,
        &regions,
        params.partition_size,
        &pool,
        &mut writer,
        progress,
    )?;
    writer.finish()?;
    Ok(summary)
}

/// Opens and checks the inputs (BAM and index, reference, truth and confident regions; contigs named
/// alike) and the regions to tensorize.
fn open_inputs(inputs: &Inputs, params: &Params) -> Result<(Shared, Regions)> {
    let settings = params.settings()?;
    let (header, index) = open_bam(&inputs.reads)?;
    let reference = Reference::open(&inputs.reference)?;
    let truth = inputs.truth.as_deref().map(Truth::open).transpose()?;
    if let Some(truth) = &truth {
        for contig in truth.contigs() {
            if reference.length(&contig).is_none() {
                bail!(
                    "truth VCF {}: contig '{contig}' is not in the reference {}; use a truth set for the same reference (naming: chr20 vs 20)",
                    inputs.truth.as_deref().unwrap_or(Path::new("")).display(),
                    inputs.reference.display()
                );
            }
        }
    }
    let confident = inputs
        .confident
        .as_deref()
        .map(Regions::read_bed)
        .transpose()?;
    let regions = target_regions(
        &settings,
        confident.as_ref(),
        &index,
        &header,
        &inputs.reads,
    )?;
    check_contigs(&regions, &header, &reference, inputs)?;
    let sample = match &params.sample {
        Some(s) => s.clone(),
        None => sample_name(&header, &inputs.reads),
    };
    let shared = Shared {
        inputs: inputs.clone(),
        header: Arc::new(header),
        index: Arc::new(index),
        truth,
        settings,
        confident,
        sample,
        pool: Mutex::new(Vec::new()),
    };
    Ok((shared, regions))
}

/// The partition loop: contig by contig (in the BAM header's order), a batch of units at a time, every
/// partition's examples written in partition order.
fn write_partitions(
    shared: &Shared,
    regions: &Regions,
    size: i64,
    pool: &rayon::ThreadPool,
    writer: &mut ExamplesWriter,
    progress: &ProgressSink,
) -> Result<Summary> {
    let mut contigs: Vec<String> = regions.contigs().map(str::to_string).collect();
    contigs.sort_by_key(|c| {
        shared
            .header
            .reference_sequences()
            .get_index_of(c.as_bytes())
    });
    let total: usize = contigs
        .iter()
        .map(|c| partitions(regions, c, size).len())
        .sum();
    let mut summary = Summary {
        partitions: total,
        candidates: 0,
        examples: 0,
    };
    let batch = pool.current_num_threads() * 2;
    let mut finished = 0u64;
    // Partitions are made contig by contig so a whole genome never holds millions of them at once.
    for contig in &contigs {
        let parts = partitions(regions, contig, size);
        for chunk in units(&parts).chunks(batch) {
            let results = process_units(shared, pool, chunk)?;
            finished += results.len() as u64;
            for result in results {
                let (candidates, examples) = result?;
                summary.candidates += candidates;
                for e in examples {
                    writer.push(e)?;
                    summary.examples += 1;
                }
            }
            progress.update(
                finished,
                total as u64,
                format!("{} examples", summary.examples),
            );
        }
    }
    Ok(summary)
}

/// Candidates found and examples made by each partition of `units`, in partition order.
type PartitionResults = Vec<Result<(usize, Vec<Example>)>>;

/// Reads each unit with one BAM query (BAI's 16 kb linear bins make per-partition queries re-read the
/// same blocks), then processes every partition of the units in parallel.
fn process_units(
    shared: &Shared,
    pool: &rayon::ThreadPool,
    units: &[&[Partition]],
) -> Result<PartitionResults> {
    let unit_reads: Vec<Result<Vec<AlignedRead>>> = pool.install(|| {
        units
            .par_iter()
            .map(|u| {
                let (first, last) = (&u[0], &u[u.len() - 1]);
                shared.with_readers(|r| {
                    query_reads(
                        r,
                        shared,
                        &first.contig,
                        first.start - READ_OVERLAP_BUFFER_BP,
                        last.end + READ_OVERLAP_BUFFER_BP,
                    )
                })
            })
            .collect()
    });
    let unit_reads = unit_reads.into_iter().collect::<Result<Vec<_>>>()?;
    let jobs: Vec<(&Partition, &[AlignedRead])> = units
        .iter()
        .zip(&unit_reads)
        .flat_map(|(u, reads)| u.iter().map(move |p| (p, reads.as_slice())))
        .collect();
    Ok(pool.install(|| {
        jobs.par_iter()
            .map(|(p, reads)| {
                shared
                    .with_readers(|r| process(shared, p, reads, r))
                    .with_context(|| format!("partition {}:{}-{}", p.contig, p.start + 1, p.end))
            })
            .collect()
    }))
}

/// The regions to scan: the `regions` param, else the confident regions, else the BAM's contigs
/// with mapped reads; clipped to the contig lengths of the BAM header.
fn target_regions(
    settings: &Settings,
    confident: Option<&Regions>,
    index: &bam::bai::Index,
    header: &sam::Header,
    path: &Path,
) -> Result<Regions> {
    let contig_len = |name: &str| -> Result<i64> {
        header
            .reference_sequences()
            .get(name.as_bytes())
            .map(|rs| usize::from(rs.length()) as i64)
            .ok_or_else(|| {
                anyhow!(
                    "contig '{name}' is not in the header of the reads {}",
                    path.display()
                )
            })
    };
    let mut intervals = Vec::new();
    if let Some(list) = &settings.regions {
        for (contig, s, e) in list {
            // A region that runs past the contig's end is cut at it (as DeepVariant does); one that
            // starts past it names nothing to scan.
            let len = contig_len(contig)?;
            if *s >= len {
                bail!(
                    "params.regions: '{contig}:{}-{e}' starts past the end of contig '{contig}' ({len} bp in the reads {}); give a region inside it",
                    s + 1,
                    path.display()
                );
            }
            intervals.push((contig.clone(), *s, (*e).min(len)));
        }
    } else if let Some(confident) = confident {
        for (contig, s, e) in confident.iter() {
            if let Ok(len) = contig_len(contig) {
                intervals.push((contig.to_string(), s, e.min(len)));
            }
        }
    } else {
        for (i, (name, rs)) in header.reference_sequences().iter().enumerate() {
            let mapped = index
                .reference_sequences()
                .get(i)
                .and_then(|r| r.metadata())
                .map(|m| m.mapped_record_count());
            if mapped != Some(0) {
                intervals.push((name.to_string(), 0, usize::from(rs.length()) as i64));
            }
        }
    }
    Ok(Regions::from_intervals(intervals))
}

/// Every contig to scan must be in the reference with the BAM's length.
fn check_contigs(
    regions: &Regions,
    header: &sam::Header,
    reference: &Reference,
    inputs: &Inputs,
) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for (contig, _, _) in regions.iter() {
        if !seen.insert(contig) {
            continue;
        }
        let Some(ref_len) = reference.length(contig) else {
            bail!(
                "reference {} has no contig '{contig}', which the reads {} use; use the reference the reads were aligned to",
                inputs.reference.display(),
                inputs.reads.display()
            );
        };
        if let Some(rs) = header.reference_sequences().get(contig.as_bytes()) {
            let bam_len = usize::from(rs.length()) as i64;
            if bam_len != ref_len {
                bail!(
                    "contig '{contig}' is {bam_len} bp in the reads {} but {ref_len} bp in the reference {}; use the reference the reads were aligned to",
                    inputs.reads.display(),
                    inputs.reference.display()
                );
            }
        }
    }
    Ok(())
}

/// `SM` of the first read group, else the BAM's file stem.
fn sample_name(header: &sam::Header, path: &Path) -> String {
    use sam::header::record::value::map::read_group::tag::SAMPLE;
    header
        .read_groups()
        .values()
        .find_map(|rg| rg.other_fields().get(&SAMPLE).map(|s| s.to_string()))
        .unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sample".to_string())
        })
}

impl StageKind for Tensorize {
    type Params = Params;

    fn name(&self) -> &'static str {
        "tensorize"
    }

    fn version(&self) -> u32 {
        // 3: partitions with more than `max_reads_per_partition` reads are downsampled.
        // 4: rows of reads starting together keep their input order (a stable sort); indels opening a
        // read are counted; pairs split across contigs are skipped; `variant_reads` windows by default.
        4
    }

    fn about(&self) -> &'static str {
        "DeepVariant-compatible pileup images of candidate variants from BAM + FASTA (+ truth VCF, BED)"
    }

    fn inputs(&self) -> &'static [InputPort] {
        &[
            InputPort {
                name: "reads",
                required: true,
                many: false,
                doc: "indexed BAM (.bai)",
            },
            InputPort {
                name: "reference",
                required: true,
                many: false,
                doc: "indexed FASTA (.fai; .gzi when bgzipped)",
            },
            InputPort {
                name: "truth",
                required: false,
                many: false,
                doc: "truth VCF, bgzipped with .tbi: labels 0/1/2 (training mode; without it, calling mode)",
            },
            InputPort {
                name: "confident",
                required: false,
                many: false,
                doc: "confident regions BED: in training mode only candidates inside produce examples",
            },
        ]
    }

    fn outputs(&self) -> &'static [OutputPort] {
        &[OutputPort {
            name: "examples",
            path: "examples.parquet",
            doc: "one pileup image per candidate and alt-allele combination, with the site's alleles, DP and AD",
        }]
    }

    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let inputs = Inputs {
            reads: ctx.input("reads")?.to_path_buf(),
            reference: ctx.input("reference")?.to_path_buf(),
            truth: ctx.optional_input("truth")?.map(Path::to_path_buf),
            confident: ctx.optional_input("confident")?.map(Path::to_path_buf),
        };
        let summary = tensorize(
            &inputs,
            &params,
            ctx.threads,
            ctx.output("examples")?,
            &ctx.progress,
        )?;
        eprintln!(
            "tensorize: {} partitions, {} candidates, {} examples",
            summary.partitions, summary.candidates, summary.examples
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::examples::ExamplesFile;
    use pipe_kind::Kind as _;

    #[test]
    fn the_sample_is_the_read_groups_sm_else_the_bams_file_stem() {
        let with_rg: sam::Header = "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:3000\n@RG\tID:a\tSM:NA12878\n"
            .parse()
            .unwrap();
        let without: sam::Header = "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:3000\n".parse().unwrap();
        let bam = Path::new("/data/HG002.chr20.bam");
        assert_eq!(sample_name(&with_rg, bam), "NA12878");
        assert_eq!(sample_name(&without, bam), "HG002.chr20");
    }

    fn shared_data() -> Option<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/na12878-chr20");
        if dir.exists() {
            Some(dir)
        } else {
            pipe_testkit::skip("../shared/data not found");
            None
        }
    }

    fn real_inputs(dir: &Path, bam: &str) -> Inputs {
        Inputs {
            reads: dir.join(bam),
            reference: dir.join("ucsc.hg19.chr20.unittest.fasta.gz"),
            truth: Some(dir.join("test_nist.b37_chr20_100kbp_at_10mb.vcf.gz")),
            confident: Some(dir.join("test_nist.b37_chr20_100kbp_at_10mb.bed")),
        }
    }

    /// Tensorizes `inputs` with the default parameters on two threads into `out` and reads the
    /// examples back.
    fn tensorize_and_read(inputs: &Inputs, out: &Path) -> (Summary, Vec<Example>) {
        let summary =
            tensorize(inputs, &Params::default(), 2, out, &ProgressSink::discard()).unwrap();
        let examples = ExamplesFile::open(out).unwrap().read_all().unwrap();
        assert_eq!(examples.len(), summary.examples);
        (summary, examples)
    }

    #[test]
    fn real_reads_give_every_confident_truth_variant_its_label() {
        let Some(dir) = shared_data() else { return };
        let out = tempfile::tempdir().unwrap();
        let path = out.path().join("examples.parquet");
        let inputs = real_inputs(&dir, "NA12878_small.bam");
        let (summary, examples) = tensorize_and_read(&inputs, &path);
        assert_eq!(ExamplesFile::open(&path).unwrap().shape.channels.len(), 7);
        let expected = [
            ("chr20:10001019:T>G", 1),
            ("chr20:10001298:T>A", 2),
            ("chr20:10001436:A>AAGGCT", 2),
            ("chr20:10001474:C>T", 2),
            ("chr20:10001617:C>A", 1),
            ("chr20:10001628:G>A", 2),
            ("chr20:10001661:T>C", 2),
            ("chr20:10001670:T>G", 2),
        ];
        for (id, want) in expected {
            let e = examples.iter().find(|e| e.id == id);
            assert!(e.is_some(), "no example {id}");
            assert_eq!(e.unwrap().label, Some(want), "{id}");
        }
        println!(
            "{} candidates, {} examples; the others:",
            summary.candidates,
            examples.len()
        );
        for e in &examples {
            if !expected.iter().any(|(id, _)| *id == e.id) {
                println!("  {} label {:?}", e.id, e.label);
            }
            assert_eq!(e.sample, "NA12878");
        }
        // The same bytes on a second run with another thread count.
        let again = out.path().join("again.parquet");
        tensorize(
            &inputs,
            &Params::default(),
            1,
            &again,
            &ProgressSink::discard(),
        )
        .unwrap();
        assert!(std::fs::read(&path).unwrap() == std::fs::read(&again).unwrap());
    }

    /// DeepVariant's 49 labelled candidates of chr20:10,000,000-10,010,000 (its golden training
    /// examples) as (example id, label).
    fn deepvariant_golden(dir: &Path) -> Option<Vec<(String, i8)>> {
        let path = dir.join("../deepvariant-golden/golden.training_examples.vcf");
        let Ok(text) = std::fs::read_to_string(&path) else {
            pipe_testkit::skip("../shared/data/deepvariant-golden not found");
            return None;
        };
        let rows = text.lines().filter(|l| !l.starts_with('#')).map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let gt = f[9].split(':').next().unwrap_or("");
            let label = gt.split(['/', '|']).filter(|a| *a != "0").count() as i8;
            (format!("{}:{}:{}>{}", f[0], f[1], f[3], f[4]), label)
        });
        Some(rows.collect())
    }

    /// Issue 16's check of the realigner on the real window: DeepVariant's 49 candidates are all found
    /// with DeepVariant's labels with and without realignment, and realignment removes the 6 spurious
    /// candidates next to indels that DeepVariant's realigner removes. Prints the differences.
    #[test]
    fn realignment_brings_the_candidates_close_to_deepvariants() {
        let Some(dir) = shared_data() else { return };
        let Some(golden) = deepvariant_golden(&dir) else {
            return;
        };
        assert_eq!(golden.len(), 49);
        let inputs = real_inputs(&dir, "NA12878_S1.chr20.10_10p1mb.bam");
        let out = tempfile::tempdir().unwrap();
        let mut extra_counts = Vec::new();
        for realign in [false, true] {
            let params = Params {
                regions: Some(vec!["chr20:10000000-10010000".into()]),
                realign,
                ..Params::default()
            };
            let path = out.path().join(format!("realign-{realign}.parquet"));
            tensorize(&inputs, &params, 2, &path, &ProgressSink::discard()).unwrap();
            let examples = ExamplesFile::open(&path).unwrap().read_all().unwrap();
            let ours: std::collections::BTreeMap<&str, Option<i8>> =
                examples.iter().map(|e| (e.id.as_str(), e.label)).collect();
            let missing: Vec<String> = golden
                .iter()
                .filter(|(id, label)| ours.get(id.as_str()) != Some(&Some(*label)))
                .map(|(id, label)| {
                    format!("{id} (label {label}, ours {:?})", ours.get(id.as_str()))
                })
                .collect();
            let extra: Vec<String> = ours
                .iter()
                .filter(|(id, _)| !golden.iter().any(|(g, _)| g == *id))
                .map(|(id, label)| format!("{id} (label {label:?})"))
                .collect();
            println!(
                "realign {realign}: {} examples; DeepVariant's missing or labelled otherwise: {missing:?}; \
                 {} extra: {extra:?}",
                examples.len(),
                extra.len()
            );
            assert!(missing.is_empty(), "realign {realign}: {missing:?}");
            extra_counts.push(extra.len());
        }
        assert_eq!(extra_counts[0], 6, "without realignment");
        // With realignment the candidate set is DeepVariant's exactly.
        assert_eq!(extra_counts[1], 0, "with realignment");
    }

    /// Issue 3's recall check on the study's default simulated data (200 kb at 30x): at least 95% of
    /// the truth variants get an example with the truth's alleles and genotype class; prints the class
    /// counts.
    #[test]
    fn tensorize_labels_nearly_every_simulated_truth_variant() {
        use crate::data::simulate::{simulate, tests::context, SimulateParams};
        use labeler::Truth;

        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path(), serde_json::json!({}), 42);
        let p = SimulateParams::default();
        assert_eq!((p.genome_bp, p.coverage), (200_000, 30.0));
        simulate(&p, &ctx).unwrap();
        let inputs = Inputs {
            reads: dir.path().join("reads.bam"),
            reference: dir.path().join("ref.fa"),
            truth: Some(dir.path().join("truth.vcf.gz")),
            confident: Some(dir.path().join("confident.bed")),
        };
        let (summary, examples) = tensorize_and_read(&inputs, &dir.path().join("examples.parquet"));

        let mut truth = Truth::open(inputs.truth.as_ref().unwrap()).unwrap();
        let mut variants = Vec::new();
        for contig in truth.contigs() {
            for v in truth.query(&contig, 0, p.genome_bp as i64).unwrap() {
                variants.push((contig.clone(), v));
            }
        }
        let mut found = 0;
        for (contig, v) in &variants {
            let want = if v.genotype.iter().all(|a| *a == Some(1)) {
                2
            } else {
                1
            };
            let example = examples.iter().find(|e| {
                e.chrom == *contig
                    && e.pos == v.start
                    && e.ref_allele == v.ref_bases
                    && e.alt.split(',').any(|a| v.alts.iter().any(|t| t == a))
            });
            match example {
                Some(e) if e.label == Some(want) => found += 1,
                Some(e) => println!(
                    "{contig}:{} {v:?}: example {} label {:?}",
                    v.start + 1,
                    e.id,
                    e.label
                ),
                None => println!("{contig}:{} {v:?}: no example", v.start + 1),
            }
        }
        let mut classes = [0usize; 4];
        for e in &examples {
            classes[e.label.map_or(3, |l| l as usize)] += 1;
        }
        println!(
            "{} truth variants, {found} with an example of the truth label; {} candidates, {} examples: \
             {} hom-ref, {} het, {} hom-alt, {} unlabeled",
            variants.len(),
            summary.candidates,
            examples.len(),
            classes[0],
            classes[1],
            classes[2],
            classes[3]
        );
        assert!(variants.len() > 150, "{} truth variants", variants.len());
        assert!(
            found as f64 >= 0.95 * variants.len() as f64,
            "{found} of {} truth variants found with their label",
            variants.len()
        );
    }

    /// A one-read BAM on `chr1` (indexed when `index_bam`), a FASTA with `fasta_contig`, and with
    /// `vcf_contig` a one-record truth VCF on that contig.
    fn tiny_inputs(
        dir: &Path,
        fasta_contig: &str,
        vcf_contig: Option<&str>,
        index_bam: bool,
    ) -> Inputs {
        use noodles::sam::alignment::io::Write as _;
        use noodles::sam::alignment::record::cigar::op::{Kind, Op};
        use noodles::sam::alignment::record::MappingQuality;
        use std::io::Write as _;

        let header: sam::Header = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:1000\n"
            .parse()
            .unwrap();
        let record = sam::alignment::RecordBuf::builder()
            .set_name("r1")
            .set_flags(sam::alignment::record::Flags::empty())
            .set_reference_sequence_id(0)
            .set_alignment_start(Position::try_from(101).unwrap())
            .set_mapping_quality(MappingQuality::new(60).unwrap())
            .set_cigar([Op::new(Kind::Match, 50)].into_iter().collect())
            .set_sequence(vec![b'A'; 50].into())
            .set_quality_scores(vec![30; 50].into())
            .build();
        let reads = dir.join("reads.bam");
        let mut writer = bam::io::Writer::new(File::create(&reads).unwrap());
        writer.write_header(&header).unwrap();
        writer.write_alignment_record(&header, &record).unwrap();
        writer.try_finish().unwrap();
        drop(writer);
        if index_bam {
            let bam::Index::Bai(index) = bam::fs::index(&reads).unwrap() else {
                panic!("noodles built a CSI index for a small BAM");
            };
            bam::bai::fs::write(dir.join("reads.bam.bai"), &index).unwrap();
        }
        let reference = dir.join("ref.fa");
        let defline = format!(">{fasta_contig}\n");
        std::fs::write(&reference, format!("{defline}{}\n", "A".repeat(1000))).unwrap();
        std::fs::write(
            dir.join("ref.fa.fai"),
            format!("{fasta_contig}\t1000\t{}\t1000\t1001\n", defline.len()),
        )
        .unwrap();
        let truth = vcf_contig.map(|contig| {
            let path = dir.join("truth.vcf.gz");
            let mut w = bgzf::io::Writer::new(File::create(&path).unwrap());
            write!(
                w,
                "##fileformat=VCFv4.3\n##contig=<ID={contig}>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n{contig}\t5\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\n"
            )
            .unwrap();
            w.finish().unwrap();
            let noodles::vcf::Index::Tabix(index) = noodles::vcf::fs::index(&path).unwrap() else {
                panic!("noodles built a CSI index for a small VCF");
            };
            noodles::tabix::fs::write(dir.join("truth.vcf.gz.tbi"), &index).unwrap();
            path
        });
        Inputs {
            reads,
            reference,
            truth,
            confident: None,
        }
    }

    fn run_tiny(inputs: &Inputs, dir: &Path) -> Result<Summary> {
        tensorize(
            inputs,
            &Params::default(),
            1,
            &dir.join("out.parquet"),
            &ProgressSink::discard(),
        )
    }

    #[test]
    fn well_formed_tiny_inputs_run() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = tiny_inputs(dir.path(), "chr1", Some("chr1"), true);
        let summary = run_tiny(&inputs, dir.path()).unwrap();
        assert_eq!(
            summary.examples, 0,
            "reads equal the reference: no candidates"
        );
        assert_eq!(summary.partitions, 1);
    }

    #[test]
    fn bam_without_index_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = tiny_inputs(dir.path(), "chr1", None, false);
        let err = format!("{:#}", run_tiny(&inputs, dir.path()).unwrap_err());
        assert!(
            err.contains("reads.bam.bai not found") && err.contains("samtools index"),
            "{err}"
        );
    }

    #[test]
    fn reference_without_a_bam_contig_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = tiny_inputs(dir.path(), "chrX", None, true);
        let err = format!("{:#}", run_tiny(&inputs, dir.path()).unwrap_err());
        assert!(
            err.contains("ref.fa has no contig 'chr1'") && err.contains("reads.bam"),
            "{err}"
        );
    }

    #[test]
    fn truth_contig_missing_from_the_reference_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = tiny_inputs(dir.path(), "chr1", Some("chr21"), true);
        let err = format!("{:#}", run_tiny(&inputs, dir.path()).unwrap_err());
        assert!(
            err.contains("truth.vcf.gz: contig 'chr21' is not in the reference"),
            "{err}"
        );
    }

    #[test]
    fn a_region_on_an_unknown_contig_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = tiny_inputs(dir.path(), "chr1", None, true);
        let params = Params {
            regions: Some(vec!["chr9:1-100".into()]),
            ..Params::default()
        };
        let out = dir.path().join("out.parquet");
        let err = tensorize(&inputs, &params, 1, &out, &ProgressSink::discard()).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("contig 'chr9' is not in the header of the reads"),
            "{err}"
        );
    }

    #[test]
    fn bad_params_name_the_field() {
        let check = |v: serde_json::Value| Tensorize.check(&v).unwrap_err().to_string();
        assert!(check(serde_json::json!({"width": 220})).contains("params.width"));
        assert!(check(serde_json::json!({"channels": ["rgb"]})).contains("unknown channel 'rgb'"));
        assert!(check(serde_json::json!({"regions": ["chr1:x-y"]})).contains("params.regions"));
        assert!(check(serde_json::json!({"heigth": 5})).contains("unknown field `heigth`"));
        assert!(check(serde_json::json!({"labeler": "nearest"})).contains("unknown variant"));
        Tensorize
            .check(&serde_json::json!({"labeler": "haplotype"}))
            .unwrap();
        Tensorize
            .check(&serde_json::json!({"regions": ["chr20:1-100"], "channels": ["haplotype"]}))
            .unwrap();
    }

    #[test]
    fn partitions_follow_the_grid_and_units_span_at_most_16_kb() {
        let regions = Regions::from_intervals([
            ("c".to_string(), 950, 1200),
            ("c".to_string(), 1500, 1600),
            ("c".to_string(), 5000, 40_000),
        ]);
        let parts = partitions(&regions, "c", 1000);
        let spans: Vec<(i64, i64, usize)> = parts
            .iter()
            .map(|p| (p.start, p.end, p.allowed.len()))
            .collect();
        assert_eq!(
            spans[..3],
            [(950, 1000, 1), (1000, 1600, 2), (5000, 6000, 1)]
        );
        assert_eq!(parts.len(), 2 + 35);
        let units = units(&parts);
        assert!(units
            .iter()
            .all(|u| u[u.len() - 1].end - u[0].start <= UNIT_SPAN));
        assert_eq!(units.iter().map(|u| u.len()).sum::<usize>(), parts.len());
        // 950..17000 fits in 16,384 bp; 17000-18000 does not.
        assert_eq!(units[0].len(), 2 + 12);
        assert_eq!(units[1][0].start, 17_000);
    }
}
