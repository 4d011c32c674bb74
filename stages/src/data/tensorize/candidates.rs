//! Candidate variants from allele counts, with DeepVariant's default very-sensitive-caller thresholds.
//!
//! Every read contributes at most one observation per reference position: its base (M/=/X), or, at
//! the base before an insertion, deletion or soft clip, that event (anchored on the preceding base,
//! replacing the anchor's base observation, as DeepVariant's allele counter does; a clip opening the
//! read is anchored on the reference base before it). An indel's allele starts with the read's own base
//! at the anchor, so a read with a substitution there makes a complex allele (`G>AAGAG`: G read as A,
//! then AGAG inserted), counted apart from the plain indel. Bases that are not A/C/G/T or have quality
//! below `min_base_quality` are not counted; an insertion or soft clip with any such base is not
//! counted either and leaves its anchor's base counted (DeepVariant 1.5's allele counter, before its
//! `keep_legacy_behavior` option). Soft clips count in the depth but are never candidates. A read's
//! non-reference observation is kept per read name and mate number, so a read recorded twice counts
//! once for its alt allele (while both records show it in the pileup) and twice for the reference,
//! which DeepVariant only counts. An alt allele passes when `count >= min_count` and
//! `count / total >= min_fraction` (total: all counted observations at the position), with the SNP
//! thresholds for substitutions and the indel thresholds otherwise. The passing alleles at a position
//! form one candidate, multi-allelic when several pass.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use super::pileup::read::{recorded_twice, AlignedRead};
use super::pileup::reference::ReferenceSlice;
use noodles::sam::alignment::record::cigar::op::Kind;

/// Allele-counting thresholds (DeepVariant's short-read WGS defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Bases below this quality are not counted (and reads below it at the candidate get no row).
    pub min_base_quality: u8,
    /// Reads below this mapping quality are dropped.
    pub min_mapping_quality: u8,
    /// Minimum reads supporting a SNP allele.
    pub vsc_min_count_snps: u32,
    /// Minimum reads supporting an indel allele.
    pub vsc_min_count_indels: u32,
    /// Minimum fraction of reads supporting a SNP allele.
    pub vsc_min_fraction_snps: f64,
    /// Minimum fraction of reads supporting an indel allele.
    pub vsc_min_fraction_indels: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_base_quality: 10,
            min_mapping_quality: 5,
            vsc_min_count_snps: 2,
            vsc_min_count_indels: 2,
            vsc_min_fraction_snps: 0.12,
            vsc_min_fraction_indels: 0.06,
        }
    }
}

/// What one read shows at one reference position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Observation {
    /// The reference base.
    Reference,
    /// Another base.
    Substitution(u8),
    /// Bases inserted after this position, led by the read's base at the position.
    Insertion(Vec<u8>),
    /// Reference bases deleted after this position, with the read's base at the position.
    Deletion { anchor: u8, len: usize },
    /// Bases soft-clipped next to this position, led by its base: counted in the depth, never a
    /// candidate.
    SoftClip(Vec<u8>),
}

/// A candidate variant: one position, one reference allele, one or more alt alleles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// 0-based position of the first reference base.
    pub start: i64,
    /// Reference allele (upper case); `start + ref_bases.len()` is the end.
    pub ref_bases: String,
    /// Alt alleles, normalised to the shared reference allele, in a fixed order.
    pub alts: Vec<String>,
    /// For each alt, the indices (into the counted reads) of the reads that show it, both records of
    /// a read recorded twice included.
    pub support: Vec<Vec<usize>>,
    /// For each alt, the reads counted for it (a read recorded twice once): its VCF `AD`.
    pub alt_depths: Vec<u32>,
    /// Reads counted at the position (every counted observation, whatever its allele): VCF `DP`.
    pub depth: u32,
    /// Reads showing the reference at the position: the reference's VCF `AD`.
    pub ref_support: u32,
}

impl Candidate {
    /// 0-based exclusive end of the reference allele.
    pub fn end(&self) -> i64 {
        self.start + self.ref_bases.len() as i64
    }
}

fn is_canonical(b: u8) -> bool {
    matches!(b, b'A' | b'C' | b'G' | b'T')
}

/// The observations of `read`, in reference order, as (position, observation); `None` marks a
/// position the read covers but that is not counted.
fn observations(
    read: &AlignedRead,
    reference: &ReferenceSlice,
    min_bq: u8,
) -> Vec<(i64, Option<Observation>)> {
    let mut out: Vec<(i64, Option<Observation>)> = Vec::with_capacity(read.bases.len());
    let (mut ref_pos, mut read_i) = (read.start, 0usize);
    // Puts an indel at its anchor `pos` (the base before it), replacing the read's observation there,
    // as DeepVariant's allele counter does: the anchor base is the read's base before the indel, or the
    // reference's when the indel opens the read, and must be A, C, G or T for the indel to count.
    // `indel` makes the observation from the anchor base (`None`: not counted).
    let anchor = |out: &mut Vec<(i64, Option<Observation>)>,
                  read_i: usize,
                  pos: i64,
                  indel: &dyn Fn(u8) -> Option<Observation>| {
        let anchor_base = match read_i {
            0 => reference.base(pos),
            i => read.bases[i - 1],
        };
        if !is_canonical(anchor_base) {
            return;
        }
        let Some(obs) = indel(anchor_base) else {
            return;
        };
        match out.last_mut() {
            Some(last) if last.0 == pos => last.1 = Some(obs),
            _ => out.push((pos, Some(obs))),
        }
    };
    for op in &read.cigar {
        match op.kind {
            Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => {
                for k in 0..op.len {
                    let (pos, i) = (ref_pos + k as i64, read_i + k);
                    let (base, ref_base) = (read.bases[i], reference.base(pos));
                    let obs = (is_canonical(base) && read.quals[i] >= min_bq).then_some(
                        if base == ref_base {
                            Observation::Reference
                        } else {
                            Observation::Substitution(base)
                        },
                    );
                    out.push((pos, obs));
                }
                ref_pos += op.len as i64;
                read_i += op.len;
            }
            Kind::Insertion => {
                let bases = &read.bases[read_i..read_i + op.len];
                let quals = &read.quals[read_i..read_i + op.len];
                let usable =
                    bases.iter().all(|&b| is_canonical(b)) && quals.iter().all(|&q| q >= min_bq);
                let insertion =
                    |a: u8| usable.then(|| Observation::Insertion([&[a], bases].concat()));
                anchor(&mut out, read_i, ref_pos - 1, &insertion);
                read_i += op.len;
            }
            Kind::Deletion => {
                // Deleting a base that is not A, C, G or T is not counted (DeepVariant's rule too).
                let len = op.len;
                let usable = (0..len as i64).all(|k| is_canonical(reference.base(ref_pos + k)));
                let deletion = |a: u8| usable.then_some(Observation::Deletion { anchor: a, len });
                anchor(&mut out, read_i, ref_pos - 1, &deletion);
                ref_pos += op.len as i64;
            }
            Kind::Skip => ref_pos += op.len as i64,
            Kind::SoftClip => {
                let bases = &read.bases[read_i..read_i + op.len];
                let quals = &read.quals[read_i..read_i + op.len];
                let usable =
                    bases.iter().all(|&b| is_canonical(b)) && quals.iter().all(|&q| q >= min_bq);
                let clip = |a: u8| usable.then(|| Observation::SoftClip([&[a], bases].concat()));
                anchor(&mut out, read_i, ref_pos - 1, &clip);
                read_i += op.len;
            }
            Kind::HardClip | Kind::Pad => {}
        }
    }
    out
}

/// Candidates starting in `[start, end)`, from `reads` (already filtered) against `reference`, which
/// must cover `[start, end)` plus the longest deletion. Sorted by position.
pub fn find_candidates<R: Borrow<AlignedRead>>(
    reads: &[R],
    reference: &ReferenceSlice,
    start: i64,
    end: i64,
    t: &Thresholds,
) -> Vec<Candidate> {
    let span = (end - start).max(0) as usize;
    // Per position: (read, observation, whether it is counted); a read recorded twice counts once.
    let mut at: Vec<Vec<(usize, Observation, bool)>> = vec![Vec::new(); span];
    let twice = recorded_twice(reads);
    for (r, read) in reads.iter().enumerate() {
        let read = read.borrow();
        if !read.overlaps(start, end) {
            continue;
        }
        for (pos, obs) in observations(read, reference, t.min_base_quality) {
            if let (Some(obs), true) = (obs, (start..end).contains(&pos)) {
                let here = &mut at[(pos - start) as usize];
                // A read's non-reference allele is kept per read name and mate number, so a second
                // record of the same read replaces the first in the counts (DeepVariant's read-allele
                // map) while both records show it; reference bases are only counted, so each counts.
                let earlier = |(o, held, counted): &(usize, Observation, bool)| {
                    *counted && *held != Observation::Reference && {
                        let other: &AlignedRead = reads[*o].borrow();
                        other.name == read.name && other.read_number == read.read_number
                    }
                };
                if twice[r] && obs != Observation::Reference {
                    if let Some(i) = here.iter().position(earlier) {
                        here[i] = (here[i].0, obs.clone(), false);
                    }
                }
                here.push((r, obs, true));
            }
        }
    }
    let mut out = Vec::new();
    for (offset, obs) in at.into_iter().enumerate() {
        let pos = start + offset as i64;
        if obs.is_empty() || !is_canonical(reference.base(pos)) {
            continue;
        }
        let depth = obs.iter().filter(|o| o.2).count() as u32;
        let total = f64::from(depth);
        // Per alt allele: the reads counted, and every record showing it.
        let mut alleles: BTreeMap<Observation, (u32, Vec<usize>)> = BTreeMap::new();
        let mut ref_support = 0;
        for (r, o, counted) in obs {
            if o == Observation::Reference {
                ref_support += 1;
            } else {
                let entry = alleles.entry(o).or_default();
                entry.0 += u32::from(counted);
                entry.1.push(r);
            }
        }
        let passing: Vec<(Observation, u32, Vec<usize>)> = alleles
            .into_iter()
            .filter(|(allele, (count, _))| {
                let (min_count, min_fraction) = match allele {
                    Observation::SoftClip(_) => return false,
                    Observation::Substitution(_) => (t.vsc_min_count_snps, t.vsc_min_fraction_snps),
                    _ => (t.vsc_min_count_indels, t.vsc_min_fraction_indels),
                };
                *count >= min_count && f64::from(*count) / total >= min_fraction
            })
            .map(|(allele, (count, reads))| (allele, count, reads))
            .collect();
        if !passing.is_empty() {
            out.push(candidate(pos, passing, reference, depth, ref_support));
        }
    }
    out
}

/// Builds the (possibly multi-allelic) candidate at `pos` with a shared reference allele, `depth`
/// reads counted there and `ref_support` of them showing the reference.
fn candidate(
    pos: i64,
    passing: Vec<(Observation, u32, Vec<usize>)>,
    reference: &ReferenceSlice,
    depth: u32,
    ref_support: u32,
) -> Candidate {
    let ref_len = passing
        .iter()
        .map(|(a, _, _)| match a {
            Observation::Deletion { len, .. } => len + 1,
            _ => 1,
        })
        .max()
        .unwrap_or(1);
    let ref_bases = reference.window(pos, pos + ref_len as i64);
    let mut alleles: Vec<(String, u32, Vec<usize>)> = passing
        .into_iter()
        .map(|(allele, count, reads)| {
            let alt: Vec<u8> = match allele {
                Observation::Substitution(b) => [&[b][..], &ref_bases[1..]].concat(),
                Observation::Insertion(bases) => [&bases[..], &ref_bases[1..]].concat(),
                Observation::Deletion { anchor, len } => {
                    [&[anchor][..], &ref_bases[len + 1..]].concat()
                }
                Observation::Reference | Observation::SoftClip(_) => ref_bases.clone(),
            };
            (String::from_utf8_lossy(&alt).into_owned(), count, reads)
        })
        .collect();
    alleles.sort();
    let mut alts = Vec::new();
    let mut alt_depths = Vec::new();
    let mut support = Vec::new();
    for (alt, count, reads) in alleles {
        alts.push(alt);
        alt_depths.push(count);
        support.push(reads);
    }
    Candidate {
        start: pos,
        ref_bases: String::from_utf8_lossy(&ref_bases).into_owned(),
        alts,
        support,
        alt_depths,
        depth,
        ref_support,
    }
}

/// The alt-allele index sets that get one example each (DeepVariant's `ADD_HET_ALT_IMAGES`): every
/// pair `i < j` over `[ref] + alts`; `[j-1]` when `i` is the reference, else `[i-1, j-1]`. For two alts:
/// `[0], [1], [0, 1]`.
pub fn alt_combinations(n_alts: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for i in 0..=n_alts {
        for j in i + 1..=n_alts {
            if i == 0 {
                out.push(vec![j - 1]);
            } else {
                out.push(vec![i - 1, j - 1]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tensorize::pileup::read::CigarOp;

    fn reference() -> ReferenceSlice {
        ReferenceSlice {
            start: 0,
            bases: b"ACGTTGCA".iter().copied().cycle().take(400).collect(),
        }
    }

    /// A read at `start` whose bases are the reference except as `edit` changes them, named apart
    /// from every other.
    fn read(start: i64, cigar: &[(Kind, usize)], edit: impl Fn(&mut Vec<u8>)) -> AlignedRead {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = reference();
        let mut bases = Vec::new();
        let mut pos = start;
        for &(kind, len) in cigar {
            match kind {
                Kind::Match => {
                    bases.extend(r.window(pos, pos + len as i64));
                    pos += len as i64;
                }
                Kind::Insertion => bases.extend(std::iter::repeat_n(b'G', len)),
                Kind::Deletion => pos += len as i64,
                _ => {}
            }
        }
        edit(&mut bases);
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

    fn plain(n: usize) -> Vec<AlignedRead> {
        (0..n)
            .map(|_| read(100, &[(Kind::Match, 50)], |_| {}))
            .collect()
    }

    #[test]
    fn snp_needs_two_reads_and_twelve_percent() {
        let r = reference();
        // Position 120 is 'A' (120 % 8 == 0): make it 'T'.
        assert_eq!(r.base(120), b'A');
        let snp = |b: &mut Vec<u8>| b[20] = b'T';
        let mut reads = plain(14);
        reads.push(read(100, &[(Kind::Match, 50)], snp));
        let t = Thresholds::default();
        assert!(
            find_candidates(&reads, &r, 100, 150, &t).is_empty(),
            "one read is not enough"
        );
        reads.push(read(100, &[(Kind::Match, 50)], snp));
        let c = find_candidates(&reads, &r, 100, 150, &t);
        assert_eq!(c.len(), 1, "2 of 16 = 12.5 %");
        assert_eq!((c[0].start, c[0].ref_bases.as_str()), (120, "A"));
        assert_eq!(c[0].alts, ["T"]);
        assert_eq!(c[0].support, [vec![14, 15]]);
        assert_eq!((c[0].depth, c[0].ref_support), (16, 14));
        let mut reads = plain(15);
        reads.extend((0..2).map(|_| read(100, &[(Kind::Match, 50)], snp)));
        assert!(
            find_candidates(&reads, &r, 100, 150, &t).is_empty(),
            "2/17 < 12 %"
        );
    }

    #[test]
    fn low_quality_bases_are_not_counted() {
        let r = reference();
        let mut reads = plain(4);
        for _ in 0..2 {
            let mut x = read(100, &[(Kind::Match, 50)], |b| b[20] = b'T');
            x.quals[20] = 9;
            reads.push(x);
        }
        assert!(find_candidates(&reads, &r, 100, 150, &Thresholds::default()).is_empty());
    }

    #[test]
    fn an_insertion_with_one_base_below_the_quality_is_not_counted() {
        let r = reference();
        let ins = [(Kind::Match, 20), (Kind::Insertion, 3), (Kind::Match, 27)];
        let mut reads = plain(4);
        reads.extend((0..2).map(|_| read(100, &ins, |_| {})));
        assert_eq!(
            find_candidates(&reads, &r, 100, 150, &Thresholds::default()).len(),
            1
        );
        // One of the three inserted bases at quality 9 (the mean stays above 10): not counted.
        for x in &mut reads[4..] {
            x.quals[21] = 9;
        }
        assert!(find_candidates(&reads, &r, 100, 150, &Thresholds::default()).is_empty());
    }

    #[test]
    fn an_unusable_insertion_leaves_its_anchor_counted_and_soft_clips_only_add_depth() {
        let r = reference();
        assert_eq!(r.base(120), b'A');
        let mut reads = plain(10);
        // T at 120, then three inserted bases, one below the base quality: the insertion is not
        // counted, the T still is.
        let ins = [(Kind::Match, 21), (Kind::Insertion, 3), (Kind::Match, 26)];
        for _ in 0..2 {
            let mut x = read(100, &ins, |b| b[20] = b'T');
            x.quals[22] = 9;
            reads.push(x);
        }
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(
            (c[0].start, &c[0].alts[..], c[0].depth),
            (120, &["T".to_string()][..], 12)
        );
        // Reads opening with a soft clip after 120: an allele at 120 in the depth, never a candidate.
        for _ in 0..4 {
            let mut x = read(121, &[(Kind::Match, 29)], |_| {});
            x.cigar.insert(
                0,
                CigarOp {
                    kind: Kind::SoftClip,
                    len: 5,
                },
            );
            x.bases.splice(0..0, *b"GGGGG");
            x.quals.splice(0..0, [30; 5]);
            reads.push(x);
        }
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(
            (c[0].depth, c[0].ref_support, &c[0].alt_depths[..]),
            (16, 10, &[2][..])
        );
        // A clip with a base below the quality is not counted at all.
        for x in &mut reads[12..] {
            x.quals[0] = 9;
        }
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!(c[0].depth, 12);
    }

    #[test]
    fn a_read_recorded_twice_counts_once_for_its_alt_allele() {
        let r = reference();
        let snp = |b: &mut Vec<u8>| b[20] = b'T';
        let mut reads = plain(10);
        let x = read(100, &[(Kind::Match, 50)], snp);
        reads.extend([x.clone(), x]);
        assert!(find_candidates(&reads, &r, 100, 150, &Thresholds::default()).is_empty());
        reads.push(read(100, &[(Kind::Match, 50)], snp));
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!(c.len(), 1, "{c:?}");
        // Both records show the allele in the pileup; the counts have the read once.
        assert_eq!(c[0].support, [vec![10, 11, 12]]);
        assert_eq!(
            (c[0].depth, c[0].ref_support, &c[0].alt_depths[..]),
            (12, 10, &[2][..])
        );
        // A reference base is only counted: each record counts.
        reads.push(reads[0].clone());
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!((c[0].depth, c[0].ref_support), (13, 11));
    }

    #[test]
    fn indels_are_anchored_and_merge_with_snps_into_one_candidate() {
        let r = reference();
        let mut reads = plain(10);
        // Deletion of 2 bases after position 119, insertion of GG after 119, SNP at 119.
        for _ in 0..2 {
            reads.push(read(
                100,
                &[(Kind::Match, 20), (Kind::Deletion, 2), (Kind::Match, 28)],
                |_| {},
            ));
            reads.push(read(
                100,
                &[(Kind::Match, 20), (Kind::Insertion, 2), (Kind::Match, 28)],
                |_| {},
            ));
            reads.push(read(100, &[(Kind::Match, 50)], |b| b[19] = b'T'));
        }
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!(c.len(), 1, "{c:?}");
        let c = &c[0];
        // Reference at 119..122 is "AAC".
        let ref3 = String::from_utf8(r.window(119, 122)).unwrap();
        assert_eq!(c.ref_bases, ref3);
        let mut want = vec![
            format!("{}", &ref3[..1]),
            format!("{}GG{}", &ref3[..1], &ref3[1..]),
            format!("T{}", &ref3[1..]),
        ];
        want.sort();
        assert_eq!(c.alts, want);
        assert_eq!(c.end(), 122);
    }

    #[test]
    fn an_insertion_opening_a_read_counts_at_the_reference_base_before_it() {
        let r = reference();
        let mut reads = plain(10);
        // Two reads with GG inserted after position 119, one of them opening with it.
        reads.push(read(
            100,
            &[(Kind::Match, 20), (Kind::Insertion, 2), (Kind::Match, 28)],
            |_| {},
        ));
        reads.push(read(
            120,
            &[(Kind::Insertion, 2), (Kind::Match, 30)],
            |_| {},
        ));
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!((c[0].start, c[0].alts.len()), (119, 1));
        assert_eq!(c[0].support, [vec![10, 11]]);
        assert_eq!(c[0].depth, 12);
        // After a soft clip the clip's last base anchors it: an N there leaves it uncounted.
        let clipped = |last: u8| {
            let mut x = read(120, &[(Kind::Insertion, 2), (Kind::Match, 30)], |_| {});
            x.cigar.insert(
                0,
                CigarOp {
                    kind: Kind::SoftClip,
                    len: 3,
                },
            );
            x.bases.splice(0..0, [b'A', b'C', last]);
            x.quals.splice(0..0, [30; 3]);
            x
        };
        reads.pop();
        reads.push(clipped(b'N'));
        assert!(find_candidates(&reads, &r, 100, 150, &Thresholds::default()).is_empty());
        // A T there makes its own allele (T + GG), so neither allele has two reads.
        reads.pop();
        reads.push(clipped(b'T'));
        assert!(find_candidates(&reads, &r, 100, 150, &Thresholds::default()).is_empty());
        reads.pop();
        reads.push(clipped(b'A'));
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!(c[0].support, [vec![10, 11]]);
    }

    #[test]
    fn an_indel_after_a_substituted_anchor_is_its_own_complex_allele() {
        let r = reference();
        // Position 119 is 'A'; its successor 120 is 'A' too (ACGTTGCA repeats every 8 bases).
        assert_eq!(r.window(119, 121), b"AA");
        let ins = [(Kind::Match, 20), (Kind::Insertion, 2), (Kind::Match, 28)];
        let del = [(Kind::Match, 20), (Kind::Deletion, 1), (Kind::Match, 29)];
        let mut reads = plain(10);
        for _ in 0..2 {
            reads.push(read(100, &ins, |_| {}));
            // The anchor read as T, then the same GG: T + GG, not the plain insertion.
            reads.push(read(100, &ins, |b| b[19] = b'T'));
            reads.push(read(100, &del, |b| b[19] = b'T'));
        }
        let c = find_candidates(&reads, &r, 100, 150, &Thresholds::default());
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].ref_bases, "AA");
        // Sorted: the plain insertion AGG+A, the deletion T (anchor read as T), the complex TGG+A.
        assert_eq!(c[0].alts, ["AGGA", "T", "TGGA"]);
        assert_eq!(c[0].support, [vec![10, 13], vec![12, 15], vec![11, 14]]);
    }

    #[test]
    fn alt_combinations_follow_deepvariant() {
        assert_eq!(alt_combinations(1), [vec![0]]);
        assert_eq!(alt_combinations(2), [vec![0], vec![1], vec![0, 1]]);
        assert_eq!(alt_combinations(3).len(), 6);
    }
}
