//! Where to assemble: DeepVariant's window selector, with either of its two models
//! ([`WindowModel`]): the variant-reads threshold (DeepVariant's default, what its 1.5 golden run
//! used) or the allele-count linear model (`--ws_use_window_selector_model`).
//!
//! Alleles are counted over the region widened by `region_expansion` (20 bp) from reads with MAPQ
//! ≥ 20, as DeepVariant 1.5's allele counter does (indels and soft clips anchored on the preceding
//! base, replacing that base's observation; non-ACGT bases are not counted). A base below the window
//! selector's base quality (20) is not counted at all, whether it matches the reference or not, and an
//! insertion or soft clip counts only when every one of its bases reaches it (the counter's behaviour
//! before DeepVariant added `keep_legacy_behavior`; counting low-quality substitutions instead makes
//! chr20:10,003,109's golden image differ). A read recorded twice (same name and mate number) shows its variant alleles
//! once, as the counter keeps one per read, while its reference bases count per record. Each position scores
//! `bias + Σ coefficient × reads`, where a substitution counts at its position, a deletion over the
//! deleted bases and an insertion or soft clip of `n` bases over the `n` positions either side of its
//! anchor's successor. The variant-reads model counts the reads showing a substitution, indel or
//! soft clip that way (reference bases count nothing) and takes positions with 2 to 300 of them; the
//! linear model takes positions scoring above its decision boundary (3). Candidates closer than `2 × min_windows_distance` merge, and each run becomes a window padded by
//! `min_windows_distance` (80 bp) on both sides.

use super::super::pileup::read::{recorded_twice, AlignedRead};
use super::super::pileup::reference::ReferenceSlice;
use noodles::sam::alignment::record::cigar::op::Kind;

/// Which positions seed a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowModel {
    /// Positions where `min_reads..=max_reads` reads show a variant allele
    /// (`VariantReadsThresholdModel`, DeepVariant's default: 2 and 300).
    VariantReads {
        /// `ws_min_num_supporting_reads`.
        min_reads: u32,
        /// `ws_max_num_supporting_reads`.
        max_reads: u32,
    },
    /// Positions scoring above the decision boundary under `_ALLELE_COUNT_LINEAR_MODEL_DEFAULT`.
    AlleleCountLinear,
}

impl WindowModel {
    /// DeepVariant's variant-reads thresholds.
    pub const VARIANT_READS: Self = Self::VariantReads {
        min_reads: 2,
        max_reads: 300,
    };
}

/// Window selector settings (DeepVariant's defaults but for the model, see [`WindowOptions::model`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowOptions {
    /// Which positions seed a window. The default is the allele-count linear model, which pipe used
    /// before it had the other; DeepVariant's default (and its golden run's) is
    /// [`WindowModel::VARIANT_READS`].
    pub model: WindowModel,
    /// Reads below this mapping quality are not counted (`ws_min_mapq`).
    pub min_mapq: u8,
    /// Reference bases below this quality are not counted (`ws_min_base_quality`).
    pub min_base_quality: u8,
    /// Padding of each window, and half the distance under which candidates merge.
    pub min_windows_distance: i64,
    /// Bases counted on each side of the region (`ws_region_expansion_in_bp`).
    pub region_expansion: i64,
}

impl Default for WindowOptions {
    fn default() -> Self {
        Self {
            model: WindowModel::AlleleCountLinear,
            min_mapq: 20,
            min_base_quality: 20,
            min_windows_distance: 80,
            region_expansion: 20,
        }
    }
}

/// DeepVariant's default allele-count linear model (`_ALLELE_COUNT_LINEAR_MODEL_DEFAULT`).
mod model {
    pub const BIAS: f64 = -0.683379;
    pub const SOFT_CLIP: f64 = 2.997;
    pub const SUBSTITUTION: f64 = -0.086644;
    pub const INSERTION: f64 = 2.493585;
    pub const DELETION: f64 = 1.795914;
    pub const REFERENCE: f64 = -0.059787;
    pub const DECISION_BOUNDARY: f64 = 3.0;
}

fn is_canonical(b: u8) -> bool {
    matches!(b, b'A' | b'C' | b'G' | b'T')
}

/// What one read shows at one anchor position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allele {
    Reference,
    Substitution,
    /// `n` bases inserted after the anchor.
    Insertion(usize),
    /// `n` bases soft-clipped next to the anchor.
    SoftClip(usize),
    /// `n` reference bases deleted after the anchor.
    Deletion(usize),
}

/// The alleles of `read` as (anchor position, allele), in read order, before resolving anchors.
fn alleles(read: &AlignedRead, reference: &ReferenceSlice, min_bq: u8) -> Vec<(i64, Allele)> {
    let mut out = Vec::with_capacity(read.bases.len());
    let (mut pos, mut i) = (read.start, 0usize);
    // The base before an indel or clip: the read's, or the reference's at the read's first op.
    let prev_ok = |i: usize, pos: i64| {
        if i == 0 {
            is_canonical(reference.base(pos - 1))
        } else {
            is_canonical(read.bases[i - 1])
        }
    };
    for op in &read.cigar {
        match op.kind {
            Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => {
                for k in 0..op.len {
                    let (p, b) = (pos + k as i64, read.bases[i + k]);
                    if !is_canonical(b) {
                        continue;
                    }
                    if read.quals[i + k] < min_bq {
                        continue;
                    }
                    let allele = if b == reference.base(p) {
                        Allele::Reference
                    } else {
                        Allele::Substitution
                    };
                    out.push((p, allele));
                }
                pos += op.len as i64;
                i += op.len;
            }
            Kind::Insertion | Kind::SoftClip => {
                let bases = &read.bases[i..i + op.len];
                let usable = bases.iter().all(|&b| is_canonical(b))
                    && read.quals[i..i + op.len].iter().all(|&q| q >= min_bq);
                if prev_ok(i, pos) && usable {
                    let allele = if op.kind == Kind::Insertion {
                        Allele::Insertion(op.len)
                    } else {
                        Allele::SoftClip(op.len)
                    };
                    out.push((pos - 1, allele));
                }
                i += op.len;
            }
            Kind::Deletion => {
                let deleted_ok =
                    (pos..pos + op.len as i64).all(|p| is_canonical(reference.base(p)));
                if prev_ok(i, pos) && deleted_ok {
                    out.push((pos - 1, Allele::Deletion(op.len)));
                }
                pos += op.len as i64;
            }
            Kind::Skip | Kind::Pad => pos += op.len as i64,
            Kind::HardClip => {}
        }
    }
    out
}

/// Per-allele weights of a position's score: the linear model's coefficients and bias, or 1 for
/// every variant allele and 0 for the reference (the variant-reads count).
struct Weights {
    bias: f64,
    reference: f64,
    substitution: f64,
    insertion: f64,
    soft_clip: f64,
    deletion: f64,
}

impl Weights {
    fn of(model: WindowModel) -> Self {
        match model {
            WindowModel::VariantReads { .. } => Self {
                bias: 0.0,
                reference: 0.0,
                substitution: 1.0,
                insertion: 1.0,
                soft_clip: 1.0,
                deletion: 1.0,
            },
            WindowModel::AlleleCountLinear => Self {
                bias: model::BIAS,
                reference: model::REFERENCE,
                substitution: model::SUBSTITUTION,
                insertion: model::INSERTION,
                soft_clip: model::SOFT_CLIP,
                deletion: model::DELETION,
            },
        }
    }
}

/// Whether a position with this score seeds a window.
fn is_candidate(model: WindowModel, score: f64) -> bool {
    match model {
        WindowModel::VariantReads {
            min_reads,
            max_reads,
        } => (f64::from(min_reads)..=f64::from(max_reads)).contains(&score),
        WindowModel::AlleleCountLinear => score > model::DECISION_BOUNDARY,
    }
}

/// Positions `[from, to)` and the weight one allele adds to each.
type Span = (i64, i64, f64);

/// Scores of the positions `[lo, hi)` under `o.model`'s weights.
fn scores(
    reads: &[&AlignedRead],
    reference: &ReferenceSlice,
    lo: i64,
    hi: i64,
    o: &WindowOptions,
) -> Vec<f64> {
    let w = Weights::of(o.model);
    let mut score = vec![w.bias; (hi - lo).max(0) as usize];
    let mut add = |(from, to, by): (i64, i64, f64)| {
        for p in from.max(lo)..to.min(hi) {
            score[(p - lo) as usize] += by;
        }
    };
    // The allele counter keeps one non-reference allele per read name, mate number and position: a
    // read recorded twice replaces what its first record added there.
    let twice = recorded_twice(reads);
    let mut kept: std::collections::HashMap<(&[u8], u8, i64), Span> =
        std::collections::HashMap::new();
    for (read, &twice) in reads
        .iter()
        .zip(&twice)
        .filter(|(r, _)| r.mapq >= o.min_mapq)
    {
        let alleles = alleles(read, reference, o.min_base_quality);
        for (k, &(anchor, allele)) in alleles.iter().enumerate() {
            // An indel or clip anchored on a base replaces that base's observation.
            if alleles.get(k + 1).is_some_and(|(next, _)| *next == anchor) {
                continue;
            }
            if !(lo..hi).contains(&anchor) {
                continue;
            }
            let after = anchor + 1;
            let span = match allele {
                Allele::Reference => (anchor, after, w.reference),
                Allele::Substitution => (anchor, after, w.substitution),
                Allele::Insertion(n) => (after - n as i64, after + n as i64, w.insertion),
                Allele::SoftClip(n) => (after - n as i64, after + n as i64, w.soft_clip),
                Allele::Deletion(n) => (after, after + n as i64, w.deletion),
            };
            if twice && allele != Allele::Reference {
                let key = (read.name.as_slice(), read.read_number, anchor);
                if let Some((from, to, by)) = kept.insert(key, span) {
                    add((from, to, -by));
                }
            }
            add(span);
        }
    }
    score
}

/// Windows `[start, end)` to assemble for the region `[start, end)` of a contig of `contig_len` bp.
/// `reference` must cover the region widened by `region_expansion` plus the longest deletion.
pub fn select_windows(
    reads: &[&AlignedRead],
    reference: &ReferenceSlice,
    contig_len: i64,
    start: i64,
    end: i64,
    o: &WindowOptions,
) -> Vec<(i64, i64)> {
    if reads.is_empty() {
        return Vec::new();
    }
    let (lo, hi) = (
        (start - o.region_expansion).max(0),
        (end + o.region_expansion).min(contig_len),
    );
    let candidates = scores(reads, reference, lo, hi, o)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| is_candidate(o.model, *s))
        .map(|(i, _)| lo + i as i64);
    let d = o.min_windows_distance;
    let mut windows = Vec::new();
    let mut run: Option<(i64, i64)> = None;
    for pos in candidates {
        run = match run {
            Some((first, last)) if pos <= last + 2 * d => Some((first, pos)),
            Some((first, last)) => {
                windows.push((first - d, last + d));
                Some((pos, pos))
            }
            None => Some((pos, pos)),
        };
    }
    if let Some((first, last)) = run {
        windows.push((first - d, last + d));
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tensorize::pileup::read::CigarOp;

    fn reference() -> ReferenceSlice {
        ReferenceSlice {
            start: 0,
            bases: b"ACGTTGCA".iter().copied().cycle().take(2000).collect(),
        }
    }

    /// A read named apart from every other.
    fn read(start: i64, cigar: &[(Kind, usize)]) -> AlignedRead {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = reference();
        let (mut bases, mut pos) = (Vec::new(), start);
        for &(kind, len) in cigar {
            match kind {
                Kind::Match => {
                    bases.extend(r.window(pos, pos + len as i64));
                    pos += len as i64;
                }
                Kind::Insertion | Kind::SoftClip => bases.extend(std::iter::repeat_n(b'G', len)),
                Kind::Deletion => pos += len as i64,
                _ => {}
            }
        }
        AlignedRead {
            name: format!("r{n}").into_bytes(),
            read_number: 0,
            start,
            end: pos,
            reverse: false,
            mapq: 60,
            tlen: 0,
            hp: None,
            cigar: cigar
                .iter()
                .map(|&(kind, len)| CigarOp { kind, len })
                .collect(),
            quals: vec![30; bases.len()],
            bases,
        }
    }

    #[test]
    fn reads_matching_the_reference_give_no_window() {
        let reads: Vec<AlignedRead> = (0..20).map(|_| read(900, &[(Kind::Match, 100)])).collect();
        let refs: Vec<&AlignedRead> = reads.iter().collect();
        let o = WindowOptions::default();
        assert!(select_windows(&refs, &reference(), 2000, 900, 1000, &o).is_empty());
    }

    #[test]
    fn three_reads_with_a_deletion_open_a_padded_window_and_two_do_not() {
        let o = WindowOptions::default();
        let mut reads: Vec<AlignedRead> =
            (0..10).map(|_| read(900, &[(Kind::Match, 100)])).collect();
        let del = [(Kind::Match, 50), (Kind::Deletion, 2), (Kind::Match, 50)];
        reads.extend((0..2).map(|_| read(900, &del)));
        let refs: Vec<&AlignedRead> = reads.iter().collect();
        // 2 × 1.796 − 0.683 − 10 × 0.060 < 3.
        assert!(select_windows(&refs, &reference(), 2000, 900, 1000, &o).is_empty());
        reads.push(read(900, &del));
        let refs: Vec<&AlignedRead> = reads.iter().collect();
        // The deleted bases 950 and 951 score 3 × 1.796 − 0.683 − 10 × 0.060 > 3.
        let windows = select_windows(&refs, &reference(), 2000, 900, 1000, &o);
        assert_eq!(windows, [(950 - 80, 951 + 80)]);
    }

    #[test]
    fn a_read_recorded_twice_shows_its_variant_once() {
        let r = reference();
        let o = WindowOptions {
            model: WindowModel::VARIANT_READS,
            ..WindowOptions::default()
        };
        let del = [(Kind::Match, 50), (Kind::Deletion, 1), (Kind::Match, 50)];
        let x = read(400, &del);
        let twice = [&x, &x];
        assert!(select_windows(&twice, &r, 2000, 300, 700, &o).is_empty());
        let y = read(400, &del);
        assert_eq!(
            select_windows(&[&x, &x, &y], &r, 2000, 300, 700, &o),
            [(450 - 80, 450 + 80)]
        );
    }

    #[test]
    fn the_variant_reads_model_takes_positions_with_2_to_300_variant_reads() {
        let o = WindowOptions {
            model: WindowModel::VARIANT_READS,
            ..WindowOptions::default()
        };
        let del = [(Kind::Match, 50), (Kind::Deletion, 2), (Kind::Match, 50)];
        let mut reads: Vec<AlignedRead> =
            (0..10).map(|_| read(900, &[(Kind::Match, 100)])).collect();
        reads.push(read(900, &del));
        let refs: Vec<&AlignedRead> = reads.iter().collect();
        // One read is not enough, whatever the reference reads.
        assert!(select_windows(&refs, &reference(), 2000, 900, 1000, &o).is_empty());
        reads.push(read(900, &del));
        let refs: Vec<&AlignedRead> = reads.iter().collect();
        // Two are (the linear model needs three), over the deleted bases.
        assert_eq!(
            select_windows(&refs, &reference(), 2000, 900, 1000, &o),
            [(950 - 80, 951 + 80)]
        );
        // More than 300 is a repeat or a mapping artefact, not a window.
        let many: Vec<AlignedRead> = (0..301).map(|_| read(900, &del)).collect();
        let refs: Vec<&AlignedRead> = many.iter().collect();
        assert!(select_windows(&refs, &reference(), 2000, 900, 1000, &o).is_empty());
    }

    #[test]
    fn substitutions_and_clips_with_bases_below_the_quality_do_not_count() {
        let o = WindowOptions {
            model: WindowModel::VARIANT_READS,
            ..WindowOptions::default()
        };
        let snp = |q: u8| {
            let mut r = read(900, &[(Kind::Match, 100)]);
            r.bases[50] = if r.bases[50] == b'A' { b'C' } else { b'A' };
            r.quals[50] = q;
            r
        };
        let clip = |q: u8| {
            let mut r = read(800, &[(Kind::SoftClip, 3), (Kind::Match, 60)]);
            r.quals[1] = q;
            r
        };
        let windows = |reads: &[AlignedRead]| {
            let refs: Vec<&AlignedRead> = reads.iter().collect();
            select_windows(&refs, &reference(), 2000, 700, 1100, &o)
        };
        assert_eq!(windows(&[snp(20), snp(20)]), [(950 - 80, 950 + 80)]);
        assert!(windows(&[snp(20), snp(19)]).is_empty());
        assert_eq!(windows(&[clip(20), clip(20)]), [(797 - 80, 802 + 80)]);
        assert!(windows(&[clip(20), clip(19)]).is_empty());
    }

    #[test]
    fn soft_clips_count_on_both_sides_of_the_clip_and_far_candidates_split() {
        let o = WindowOptions::default();
        let clip = |s| read(s, &[(Kind::SoftClip, 3), (Kind::Match, 60)]);
        let reads: Vec<AlignedRead> = (0..2)
            .map(|_| clip(700))
            .chain((0..2).map(|_| clip(1100)))
            .collect();
        let refs: Vec<&AlignedRead> = reads.iter().collect();
        // A 3-base clip before 700 marks 697..703; 1100 is more than 160 bp further.
        let windows = select_windows(&refs, &reference(), 2000, 700, 1100, &o);
        assert_eq!(windows, [(697 - 80, 702 + 80), (1097 - 80, 1102 + 80)]);
    }
}
