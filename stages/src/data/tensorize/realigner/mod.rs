//! DeepVariant's local realigner: reads near likely indels are realigned to locally assembled
//! haplotypes before candidates are counted and pileups drawn.
//!
//! For the reads of one partition: [`window_selector`] picks windows where reads disagree with the
//! reference; per window [`debruijn`] assembles the reads into candidate haplotypes (a window whose
//! graph stays cyclic, or whose only haplotype is the reference, is left alone); each read goes to the
//! window it overlaps most; [`read_aligner`] aligns the window's haplotypes to the reference and its
//! reads to the haplotypes ([`alignment`]: Smith-Waterman with DeepVariant's scores, reporting among tied
//! alignments the one DeepVariant's SSW library reports, [`ssw_path`]); and
//! [`projection`] turns each read's alignment to its best haplotype into a new position and CIGAR.
//! Reads longer than 500 bases, reads outside every window and reads without a better alignment keep
//! theirs. All settings are DeepVariant's defaults for short reads.

pub mod alignment;
pub mod debruijn;
pub mod projection;
pub mod read_aligner;
pub mod ssw_path;
pub mod striped;
pub mod window_selector;

#[cfg(test)]
mod tests;

use noodles::sam::alignment::record::cigar::op::Kind;

use super::pileup::read::{AlignedRead, CigarOp};
use super::pileup::reference::ReferenceSlice;
use alignment::{target_len, LocalAligner, Op};
use debruijn::{Graph, GraphOptions};
use window_selector::{select_windows, WindowOptions};

/// Realigner settings (DeepVariant's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Window selection.
    pub window: WindowOptions,
    /// Assembly.
    pub graph: GraphOptions,
    /// Windows longer than this are not assembled (`ws_max_window_size`).
    pub max_window_size: i64,
    /// Reads with more bases are not realigned (`max_read_length_to_realign`).
    pub max_read_length: usize,
    /// Reference bases added on both sides of a window's reads for alignment (`_REF_ALIGN_MARGIN`).
    pub ref_margin: i64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            window: WindowOptions::default(),
            graph: GraphOptions::default(),
            max_window_size: 1000,
            max_read_length: 500,
            ref_margin: 20,
        }
    }
}

/// The reference span `[lo, hi)` that [`realign`] needs for `reads` and the region `[start, end)`.
pub fn reference_span(reads: &[&AlignedRead], start: i64, end: i64, o: &Options) -> (i64, i64) {
    let reach = o.window.region_expansion + o.window.min_windows_distance + o.ref_margin;
    let lo = reads
        .iter()
        .map(|r| r.start)
        .min()
        .unwrap_or(start)
        .min(start - reach);
    let hi = reads
        .iter()
        .map(|r| r.end)
        .max()
        .unwrap_or(end)
        .max(end + reach);
    (lo - o.ref_margin, hi + o.ref_margin)
}

/// A window with its candidate haplotypes (not only the reference).
struct Assembled {
    start: i64,
    end: i64,
    haplotypes: Vec<Vec<u8>>,
}

/// What [`realign`] gives back.
#[derive(Debug, Clone, Default)]
pub struct Realigned {
    /// Per read, its new alignment, or `None` where it keeps the one it has.
    pub reads: Vec<Option<AlignedRead>>,
    /// The read indices in the order DeepVariant lists its realigned reads: reads too long to realign,
    /// then reads assigned to no assembled window, then each window's reads, window by window; each
    /// group in input order.
    pub order: Vec<usize>,
}

/// Realigns `reads` (the reads of the region `[start, end)` of a contig of `contig_len` bp) against
/// `reference`, which covers [`reference_span`].
pub fn realign(
    reads: &[&AlignedRead],
    reference: &ReferenceSlice,
    contig_len: i64,
    start: i64,
    end: i64,
    o: &Options,
) -> Realigned {
    let mut out = vec![None; reads.len()];
    let eligible: Vec<usize> = (0..reads.len())
        .filter(|&i| reads[i].bases.len() <= o.max_read_length)
        .collect();
    let short: Vec<&AlignedRead> = eligible.iter().map(|&i| reads[i]).collect();
    let regions = assemble(&short, reference, contig_len, start, end, o);
    let long = (0..reads.len()).filter(|&i| reads[i].bases.len() > o.max_read_length);
    if regions.is_empty() {
        return Realigned {
            reads: out,
            order: long.chain(eligible).collect(),
        };
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); regions.len()];
    let mut unassigned = Vec::new();
    for &i in &eligible {
        let r = reads[i];
        let overlap = |a: &Assembled| r.end.min(a.end) - r.start.max(a.start);
        let best = (0..regions.len()).fold(None, |best: Option<usize>, w| {
            let o = overlap(&regions[w]);
            match best {
                _ if o <= 0 => best,
                Some(b) if overlap(&regions[b]) >= o => best,
                _ => Some(w),
            }
        });
        match best {
            Some(w) => members[w].push(i),
            None => unassigned.push(i),
        }
    }
    let mut aligner = LocalAligner::default();
    for (region, ids) in regions.iter().zip(&members) {
        let group: Vec<&AlignedRead> = ids.iter().map(|&i| reads[i]).collect();
        let new = realign_region(region, &group, reference, contig_len, o, &mut aligner);
        for (&i, read) in ids.iter().zip(new) {
            out[i] = read;
        }
    }
    let order = long
        .chain(unassigned)
        .chain(members.into_iter().flatten())
        .collect();
    Realigned { reads: out, order }
}

/// The windows of the region that assemble into haplotypes other than the reference alone.
fn assemble(
    reads: &[&AlignedRead],
    reference: &ReferenceSlice,
    contig_len: i64,
    start: i64,
    end: i64,
    o: &Options,
) -> Vec<Assembled> {
    let mut out = Vec::new();
    for (ws, we) in select_windows(reads, reference, contig_len, start, end, &o.window) {
        if we - ws > o.max_window_size || ws < 0 || we > contig_len {
            continue;
        }
        let bases = reference.window(ws, we);
        let overlapping: Vec<&AlignedRead> = reads
            .iter()
            .copied()
            .filter(|r| r.overlaps(ws, we))
            .collect();
        let Some(graph) = Graph::build(&bases, &overlapping, &o.graph) else {
            continue;
        };
        match graph.haplotypes(o.graph.max_num_paths) {
            Some(h) if h.len() > 1 || h.first() != Some(&bases) => out.push(Assembled {
                start: ws,
                end: we,
                haplotypes: h,
            }),
            _ => {}
        }
    }
    out
}

/// New alignments of the reads assigned to one assembled window.
fn realign_region(
    region: &Assembled,
    reads: &[&AlignedRead],
    reference: &ReferenceSlice,
    contig_len: i64,
    o: &Options,
    aligner: &mut LocalAligner,
) -> Vec<Option<AlignedRead>> {
    let span_start = reads.iter().map(|r| r.start).min().unwrap_or(region.start);
    let span_end = reads.iter().map(|r| r.end).max().unwrap_or(region.end);
    let ref_start = (span_start.min(region.start) - o.ref_margin).max(0);
    let ref_end = (span_end.max(region.end) + o.ref_margin).min(contig_len);
    if ref_end <= region.end {
        return vec![None; reads.len()];
    }
    let prefix = reference.window(ref_start, region.start);
    let suffix = reference.window(region.end, ref_end);
    let local = reference.window(ref_start, ref_end);
    let haplotypes: Vec<Vec<u8>> = region
        .haplotypes
        .iter()
        .map(|h| [&prefix[..], h, &suffix[..]].concat())
        .collect();
    let bases: Vec<&[u8]> = reads.iter().map(|r| r.bases.as_slice()).collect();
    let (haps, placements) = read_aligner::align_reads(
        &local,
        &haplotypes,
        prefix.len(),
        suffix.len(),
        &bases,
        aligner,
    );
    reads
        .iter()
        .zip(placements)
        .map(|(read, placement)| {
            let p = placement?;
            let hap = haps[p.haplotype].as_ref()?;
            let (offset, cigar) = projection::project(&p.alignment, hap, read.bases.len())?;
            // A haplotype's substitution next to a read's indel in a repeat can leave an indel that
            // could move left; DeepVariant keeps such a read's own alignment.
            if !projection::is_left_normalized(&cigar, offset, &read.bases, &local) {
                return None;
            }
            let start = ref_start + offset as i64;
            let cigar: Vec<CigarOp> = cigar
                .iter()
                .map(|&(op, len)| CigarOp {
                    kind: match op {
                        Op::Match => Kind::Match,
                        Op::Ins => Kind::Insertion,
                        Op::Del => Kind::Deletion,
                        Op::Clip => Kind::SoftClip,
                    },
                    len,
                })
                .collect();
            let unchanged = start == read.start && same_alignment(&cigar, &read.cigar);
            (!unchanged).then(|| AlignedRead {
                start,
                end: start + target_len(&to_ops(&cigar)) as i64,
                cigar,
                ..(*read).clone()
            })
        })
        .collect()
}

/// The realigner's view of a CIGAR (hard clips and pads dropped, `=`/`X` as `M`).
fn to_ops(cigar: &[CigarOp]) -> alignment::Cigar {
    let mut out = alignment::Cigar::new();
    for op in cigar {
        let op2 = match op.kind {
            Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => Op::Match,
            Kind::Insertion => Op::Ins,
            Kind::Deletion | Kind::Skip => Op::Del,
            Kind::SoftClip => Op::Clip,
            Kind::HardClip | Kind::Pad => continue,
        };
        alignment::push(&mut out, op2, op.len);
    }
    out
}

/// Whether two CIGARs align the read the same way.
fn same_alignment(a: &[CigarOp], b: &[CigarOp]) -> bool {
    to_ops(a) == to_ops(b)
}
