//! Paired-end reads sampled from the haplotypes, with a normal insert-size distribution, position-dependent
//! base qualities, sequencing errors drawn from those qualities, and the true alignment of every read
//! (CIGAR with the indels it spans; mapping quality 0 inside duplicated segments, where a read is placed on
//! either copy at random).

use std::ops::Range;

use noodles::core::Position;
use noodles::sam::alignment::record::cigar::op::{Kind, Op};
use noodles::sam::alignment::record::data::field::Tag;
use noodles::sam::alignment::record::{Flags, MappingQuality};
use noodles::sam::alignment::record_buf::data::field::Value;
use noodles::sam::alignment::record_buf::{Cigar, Data, QualityScores, Sequence};
use noodles::sam::alignment::RecordBuf;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::genome::Genome;
use super::systematic::ErrorSites;
use super::variants::{Haplotype, INSERTED};

/// Mapping quality of a read that lies wholly in unique sequence.
pub const MAX_MAPQ: u8 = 60;
/// Highest and lowest base quality.
const MAX_QUAL: u8 = 41;
const MIN_QUAL: u8 = 2;
/// Standard deviation of a base quality around its cycle's mean.
const QUAL_SD: f64 = 4.0;
/// How much the mean quality falls from the first to the last cycle, for read 1 and read 2.
const QUAL_DROP: [f64; 2] = [8.0, 12.0];

/// How reads are drawn.
#[derive(Debug, Clone)]
pub struct ReadSpec {
    /// Mean depth.
    pub coverage: f64,
    /// Length of each read of a pair.
    pub read_length: usize,
    /// Mean fragment length.
    pub insert_mean: f64,
    /// Standard deviation of the fragment length.
    pub insert_sd: f64,
    /// Mean per-base error probability; qualities are calibrated to it.
    pub error_rate: f64,
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn phred_to_p(q: u8) -> f64 {
    10f64.powf(-f64::from(q) / 10.0)
}

/// Mean base quality per cycle for each mate; a base's quality is drawn around it and its error probability
/// is exactly `10^(-q/10)`, so errors agree with qualities.
#[derive(Debug, Clone)]
pub struct QualityModel {
    mean: [Vec<f64>; 2],
}

impl QualityModel {
    /// The profile (falling quadratically along the read, read 2 worse than read 1) whose mean error
    /// probability over both mates and all cycles is `error_rate`.
    pub fn calibrated(read_length: usize, error_rate: f64) -> Self {
        let build = |top: f64| -> [Vec<f64>; 2] {
            let denom = (read_length.max(2) - 1) as f64;
            QUAL_DROP.map(|drop| {
                (0..read_length)
                    .map(|i| top - drop * (i as f64 / denom).powi(2))
                    .collect()
            })
        };
        let mean_error = |top: f64| -> f64 {
            let m = build(top);
            let all: Vec<f64> = m.iter().flatten().map(|&x| expected_error(x)).collect();
            all.iter().sum::<f64>() / all.len() as f64
        };
        let (mut lo, mut hi) = (0.0, 80.0);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if mean_error(mid) > error_rate {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Self { mean: build(hi) }
    }

    /// Draws the quality of `cycle` of `mate` (0 or 1).
    fn sample(&self, mate: usize, cycle: usize, rng: &mut ChaCha8Rng) -> u8 {
        let q = (self.mean[mate][cycle] + QUAL_SD * normal(rng)).round();
        q.clamp(f64::from(MIN_QUAL), f64::from(MAX_QUAL)) as u8
    }
}

/// Expected error probability of a quality drawn around `mean` (clamped like [`QualityModel::sample`]).
fn expected_error(mean: f64) -> f64 {
    let p: Vec<f64> = (0..=MAX_QUAL).map(phred_to_p).collect();
    let (mut total, mut weight) = (0.0, 0.0);
    for k in -80..=80 {
        let z = f64::from(k) / 20.0;
        let w = (-z * z / 2.0).exp();
        let q = (mean + QUAL_SD * z)
            .round()
            .clamp(f64::from(MIN_QUAL), f64::from(MAX_QUAL)) as usize;
        total += w * p[q];
        weight += w;
    }
    total / weight
}

/// One sequenced fragment: which haplotype it comes from, where, and how its reads are placed.
#[derive(Debug, Clone, Copy)]
pub struct Fragment {
    contig: u32,
    hap: u8,
    start: u32,
    len: u32,
    /// Whether read 1 is the forward read at the fragment's left end.
    r1_left: bool,
    /// Shift of both reads onto the other copy of a duplicated segment (0: none).
    shift: i32,
}

/// Sort key of one read: its final reference position, then fragment and mate for ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadKey {
    /// Contig index.
    pub contig: u32,
    /// 0-based alignment start.
    pub pos: u32,
    /// Fragment index.
    pub fragment: u32,
    /// 0 for read 1, 1 for read 2.
    pub mate: u8,
}

/// The true alignment of one read before any relocation.
#[derive(Debug, Clone)]
struct Alignment {
    hap_range: Range<usize>,
    reverse: bool,
    start: usize,
    end: usize,
}

impl Fragment {
    /// The haplotype range and strand of `mate`.
    fn read(&self, mate: usize, read_length: usize) -> (Range<usize>, bool) {
        let (s, e) = (self.start as usize, (self.start + self.len) as usize);
        let left = (mate == 0) == self.r1_left;
        if left {
            (s..s + read_length, false)
        } else {
            (e - read_length..e, true)
        }
    }

    fn alignment(&self, hap: &Haplotype, mate: usize, read_length: usize) -> Alignment {
        let (hap_range, reverse) = self.read(mate, read_length);
        let (start, end) = aligned_span(&hap.ref_pos[hap_range.clone()]);
        Alignment {
            hap_range,
            reverse,
            start,
            end,
        }
    }
}

/// First aligned reference position and one past the last.
fn aligned_span(ref_pos: &[u32]) -> (usize, usize) {
    let mut aligned = ref_pos.iter().filter(|&&r| r != INSERTED);
    let first = aligned.next().copied().unwrap_or(0) as usize;
    let last = ref_pos
        .iter()
        .rev()
        .find(|&&r| r != INSERTED)
        .copied()
        .unwrap_or(0) as usize;
    (first, last + 1)
}

/// The CIGAR of a read whose bases align to `ref_pos`: inserted bases at either end become soft clips.
fn cigar(ref_pos: &[u32]) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let push = |ops: &mut Vec<Op>, kind: Kind, len: usize| match ops.last_mut() {
        Some(last) if last.kind() == kind => *last = Op::new(kind, last.len() + len),
        _ => ops.push(Op::new(kind, len)),
    };
    let mut prev: Option<u32> = None;
    for &r in ref_pos {
        if r == INSERTED {
            let kind = if prev.is_none() {
                Kind::SoftClip
            } else {
                Kind::Insertion
            };
            push(&mut ops, kind, 1);
        } else {
            if let Some(p) = prev {
                if r > p + 1 {
                    push(&mut ops, Kind::Deletion, (r - p - 1) as usize);
                }
            }
            push(&mut ops, Kind::Match, 1);
            prev = Some(r);
        }
    }
    if let Some(last) = ops.last_mut() {
        if last.kind() == Kind::Insertion {
            *last = Op::new(Kind::SoftClip, last.len());
        }
    }
    ops
}

/// Draws the fragments of all reads and returns them with the sorted keys of their reads.
pub fn sample_fragments(
    genome: &Genome,
    haplotypes: &[[Haplotype; 2]],
    spec: &ReadSpec,
    rng: &mut ChaCha8Rng,
) -> (Vec<Fragment>, Vec<ReadKey>) {
    let total = genome.len() as f64;
    let pairs = (spec.coverage * total / (2.0 * spec.read_length as f64)).round() as usize;
    let lengths: Vec<usize> = genome.contigs.iter().map(|c| c.seq.len()).collect();
    let mut fragments = Vec::with_capacity(pairs);
    let mut keys = Vec::with_capacity(2 * pairs);
    for i in 0..pairs {
        let mut x = rng.random_range(0..genome.len());
        let contig = lengths
            .iter()
            .position(|&l| {
                let inside = x < l;
                x = x.saturating_sub(l);
                inside
            })
            .unwrap_or(0);
        let hap = usize::from(rng.random_bool(0.5));
        let h = &haplotypes[contig][hap];
        let len = (spec.insert_mean + spec.insert_sd * normal(rng)).round();
        let len = (len.max(spec.read_length as f64) as usize).min(h.seq.len());
        let start = rng.random_range(0..=h.seq.len() - len);
        let mut f = Fragment {
            contig: contig as u32,
            hap: hap as u8,
            start: start as u32,
            len: len as u32,
            r1_left: rng.random_bool(0.5),
            shift: 0,
        };
        let a = [0, 1].map(|m| f.alignment(h, m, spec.read_length));
        let shifts = a
            .clone()
            .map(|a| genome.other_copy_shift(contig, &(a.start..a.end)));
        let relocate = rng.random_bool(0.5);
        if let [Some(s0), Some(s1)] = shifts {
            if s0 == s1 && relocate {
                f.shift = s0 as i32;
            }
        }
        for (mate, a) in a.iter().enumerate() {
            keys.push(ReadKey {
                contig: contig as u32,
                pos: (a.start as i64 + i64::from(f.shift)) as u32,
                fragment: i as u32,
                mate: mate as u8,
            });
        }
        fragments.push(f);
    }
    keys.sort_unstable();
    (fragments, keys)
}

/// Everything [`ReadBuilder::build`] needs, shared by all reads.
pub struct ReadBuilder<'a> {
    /// The genome.
    pub genome: &'a Genome,
    /// Both haplotypes of every contig.
    pub haplotypes: &'a [[Haplotype; 2]],
    /// All fragments.
    pub fragments: &'a [Fragment],
    /// Read length.
    pub read_length: usize,
    /// Base qualities.
    pub qualities: &'a QualityModel,
    /// Systematic error sites.
    pub error_sites: &'a ErrorSites,
    /// Seed of the per-read random streams.
    pub seed: u64,
    /// Read group id (the sample name).
    pub read_group: &'a str,
}

impl ReadBuilder<'_> {
    /// The alignment record of the read `key` names.
    pub fn build(&self, key: &ReadKey) -> RecordBuf {
        let f = self.fragments[key.fragment as usize];
        let (contig, mate) = (f.contig as usize, usize::from(key.mate));
        let hap = &self.haplotypes[contig][usize::from(f.hap)];
        let this = f.alignment(hap, mate, self.read_length);
        let other = f.alignment(hap, 1 - mate, self.read_length);
        let shift = |p: usize| (p as i64 + i64::from(f.shift)) as usize;

        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(u64::from(key.fragment) * 2 + u64::from(key.mate));
        let mut seq = hap.seq[this.hap_range.clone()].to_vec();
        let mut qual = vec![0u8; seq.len()];
        for cycle in 0..seq.len() {
            let i = if this.reverse {
                seq.len() - 1 - cycle
            } else {
                cycle
            };
            let q = self.qualities.sample(mate, cycle, &mut rng);
            qual[i] = q;
            if rng.random_bool(phred_to_p(q)) {
                let others: Vec<u8> = b"ACGT".iter().copied().filter(|&b| b != seq[i]).collect();
                seq[i] = others[rng.random_range(0..3)];
            }
        }

        let ref_pos = &hap.ref_pos[this.hap_range.clone()];
        self.error_sites
            .apply(contig, ref_pos, this.reverse, &mut seq, &mut qual, &mut rng);
        let ops = cigar(ref_pos);
        let reference = &self.genome.contigs[contig].seq;
        let nm = edit_distance(&seq, &ops, &reference[shift(this.start)..shift(this.end)]);
        let span = this.start..this.end;
        let overlap = self.genome.duplicated_overlap(contig, &span);
        let mapq =
            (usize::from(MAX_MAPQ) * (span.len() - overlap.min(span.len())) / span.len()) as u8;

        let mut flags = Flags::SEGMENTED | Flags::PROPERLY_SEGMENTED;
        flags |= if mate == 0 {
            Flags::FIRST_SEGMENT
        } else {
            Flags::LAST_SEGMENT
        };
        if this.reverse {
            flags |= Flags::REVERSE_COMPLEMENTED;
        }
        if other.reverse {
            flags |= Flags::MATE_REVERSE_COMPLEMENTED;
        }
        let left = this.start.min(other.start);
        let right = this.end.max(other.end);
        let leftmost = this.start < other.start || (this.start == other.start && mate == 0);
        let tlen = (right - left) as i32 * if leftmost { 1 } else { -1 };
        let position = |p: usize| Position::try_from(shift(p) + 1).unwrap_or(Position::MIN);

        let data: Data = [
            (Tag::READ_GROUP, Value::from(self.read_group)),
            (Tag::EDIT_DISTANCE, Value::from(nm as i32)),
        ]
        .into_iter()
        .collect();
        RecordBuf::builder()
            .set_name(format!("r{}", key.fragment))
            .set_flags(flags)
            .set_reference_sequence_id(contig)
            .set_alignment_start(position(this.start))
            .set_mapping_quality(MappingQuality::new(mapq).unwrap_or(MappingQuality::MIN))
            .set_cigar(Cigar::from(ops))
            .set_mate_reference_sequence_id(contig)
            .set_mate_alignment_start(position(other.start))
            .set_template_length(tlen)
            .set_sequence(Sequence::from(seq))
            .set_quality_scores(QualityScores::from(qual))
            .set_data(data)
            .build()
    }
}

/// Mismatches plus inserted and deleted bases of `seq` against `reference` (the aligned span).
fn edit_distance(seq: &[u8], ops: &[Op], reference: &[u8]) -> usize {
    let (mut i, mut r, mut nm) = (0, 0, 0);
    for op in ops {
        match op.kind() {
            Kind::Match => {
                nm += (0..op.len())
                    .filter(|k| seq[i + k] != reference[r + k])
                    .count();
                i += op.len();
                r += op.len();
            }
            Kind::Insertion => {
                nm += op.len();
                i += op.len();
            }
            Kind::Deletion => {
                nm += op.len();
                r += op.len();
            }
            _ => i += op.len(),
        }
    }
    nm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cigar_reports_indels_and_clips_end_insertions() {
        let i = INSERTED;
        let ops = cigar(&[10, 11, i, i, 12, 15, 16]);
        let text: Vec<(Kind, usize)> = ops.iter().map(|o| (o.kind(), o.len())).collect();
        assert_eq!(
            text,
            [
                (Kind::Match, 2),
                (Kind::Insertion, 2),
                (Kind::Match, 1),
                (Kind::Deletion, 2),
                (Kind::Match, 2)
            ]
        );
        let ops = cigar(&[i, 3, 4, i]);
        let text: Vec<(Kind, usize)> = ops.iter().map(|o| (o.kind(), o.len())).collect();
        assert_eq!(
            text,
            [(Kind::SoftClip, 1), (Kind::Match, 2), (Kind::SoftClip, 1)]
        );
        assert_eq!(aligned_span(&[i, 3, 4, i]), (3, 5));
    }

    #[test]
    fn qualities_are_calibrated_to_the_error_rate() {
        let model = QualityModel::calibrated(101, 0.002);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut total = 0.0;
        let n = 200_000;
        for k in 0..n {
            total += phred_to_p(model.sample(k % 2, k % 101, &mut rng));
        }
        let mean = total / n as f64;
        assert!((mean - 0.002).abs() < 0.0003, "{mean}");
        assert!(model.mean[0][0] > model.mean[0][100]);
        assert!(model.mean[0][100] > model.mean[1][100]);
    }

    #[test]
    fn edit_distance_counts_mismatches_and_gaps() {
        let ops = [
            Op::new(Kind::Match, 2),
            Op::new(Kind::Deletion, 1),
            Op::new(Kind::Match, 2),
        ];
        assert_eq!(edit_distance(b"ACGA", &ops, b"ACTGT"), 2);
    }
}
