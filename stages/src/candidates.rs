//! Candidate variants from allele counts, with DeepVariant's default very-sensitive-caller thresholds.
//!
//! Every read contributes at most one observation per reference position: its base (M/=/X), or, at
//! the base before an insertion or deletion, that indel (indels are anchored on the preceding base and
//! replace the anchor's base observation, as DeepVariant's allele counter does). Bases that are not
//! A/C/G/T or have quality below `min_base_quality`, and insertions whose mean quality is below it, are
//! not counted at all (DeepVariant flags them low-quality; the exact effect on its totals is
//! unconfirmed). Soft clips are not counted. An alt allele passes when `count >= min_count` and
//! `count / total >= min_fraction` (total: all counted observations at the position), with the SNP
//! thresholds for substitutions and the indel thresholds otherwise. The passing alleles at a position
//! form one candidate, multi-allelic when several pass.

use std::collections::BTreeMap;

use crate::pileup::read::AlignedRead;
use crate::pileup::reference::ReferenceSlice;
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
    /// Bases inserted after this position.
    Insertion(Vec<u8>),
    /// Reference bases deleted after this position.
    Deletion(usize),
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
    /// For each alt, the indices (into the counted reads) of the reads that show it.
    pub support: Vec<Vec<usize>>,
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
    // Replaces the observation at the anchor `pos` (the base before an indel) if the read has one.
    let anchor = |out: &mut Vec<(i64, Option<Observation>)>, pos: i64, obs: Option<Observation>| {
        if let Some(last) = out.last_mut().filter(|(p, _)| *p == pos) {
            last.1 = obs;
        }
    };
    for op in &read.cigar {
        match op.kind {
            Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => {
                for k in 0..op.len {
                    let (pos, i) = (ref_pos + k as i64, read_i + k);
                    let (base, ref_base) = (read.bases[i], reference.base(pos));
                    let obs = (is_canonical(base) && read.quals[i] >= min_bq).then(|| {
                        if base == ref_base {
                            Observation::Reference
                        } else {
                            Observation::Substitution(base)
                        }
                    });
                    out.push((pos, obs));
                }
                ref_pos += op.len as i64;
                read_i += op.len;
            }
            Kind::Insertion => {
                let bases = &read.bases[read_i..read_i + op.len];
                let quals = &read.quals[read_i..read_i + op.len];
                let mean = quals.iter().map(|&q| f64::from(q)).sum::<f64>() / op.len.max(1) as f64;
                let obs = (bases.iter().all(|&b| is_canonical(b)) && mean >= f64::from(min_bq))
                    .then(|| Observation::Insertion(bases.to_vec()));
                anchor(&mut out, ref_pos - 1, obs);
                read_i += op.len;
            }
            Kind::Deletion => {
                anchor(&mut out, ref_pos - 1, Some(Observation::Deletion(op.len)));
                ref_pos += op.len as i64;
            }
            Kind::Skip => ref_pos += op.len as i64,
            Kind::SoftClip => read_i += op.len,
            Kind::HardClip | Kind::Pad => {}
        }
    }
    out
}

/// Candidates starting in `[start, end)`, from `reads` (already filtered) against `reference`, which
/// must cover `[start, end)` plus the longest deletion. Sorted by position.
pub fn find_candidates(
    reads: &[AlignedRead],
    reference: &ReferenceSlice,
    start: i64,
    end: i64,
    t: &Thresholds,
) -> Vec<Candidate> {
    let span = (end - start).max(0) as usize;
    let mut at: Vec<Vec<(usize, Observation)>> = vec![Vec::new(); span];
    for (r, read) in reads.iter().enumerate() {
        if !read.overlaps(start, end) {
            continue;
        }
        for (pos, obs) in observations(read, reference, t.min_base_quality) {
            if let (Some(obs), true) = (obs, (start..end).contains(&pos)) {
                at[(pos - start) as usize].push((r, obs));
            }
        }
    }
    let mut out = Vec::new();
    for (offset, obs) in at.into_iter().enumerate() {
        let pos = start + offset as i64;
        if obs.is_empty() || !is_canonical(reference.base(pos)) {
            continue;
        }
        let total = obs.len() as f64;
        let mut alleles: BTreeMap<Observation, Vec<usize>> = BTreeMap::new();
        for (r, o) in obs {
            if o != Observation::Reference {
                alleles.entry(o).or_default().push(r);
            }
        }
        let passing: Vec<(Observation, Vec<usize>)> = alleles
            .into_iter()
            .filter(|(allele, reads)| {
                let (min_count, min_fraction) = match allele {
                    Observation::Substitution(_) => (t.vsc_min_count_snps, t.vsc_min_fraction_snps),
                    _ => (t.vsc_min_count_indels, t.vsc_min_fraction_indels),
                };
                reads.len() as u32 >= min_count && reads.len() as f64 / total >= min_fraction
            })
            .collect();
        if !passing.is_empty() {
            out.push(candidate(pos, passing, reference));
        }
    }
    out
}

/// Builds the (possibly multi-allelic) candidate at `pos` with a shared reference allele.
fn candidate(
    pos: i64,
    passing: Vec<(Observation, Vec<usize>)>,
    reference: &ReferenceSlice,
) -> Candidate {
    let ref_len = passing
        .iter()
        .map(|(a, _)| match a {
            Observation::Deletion(n) => n + 1,
            _ => 1,
        })
        .max()
        .unwrap_or(1);
    let ref_bases = reference.window(pos, pos + ref_len as i64);
    let anchor = ref_bases[0];
    let mut alleles: Vec<(String, Vec<usize>)> = passing
        .into_iter()
        .map(|(allele, reads)| {
            let alt: Vec<u8> = match allele {
                Observation::Substitution(b) => [&[b][..], &ref_bases[1..]].concat(),
                Observation::Insertion(ins) => [&[anchor][..], &ins, &ref_bases[1..]].concat(),
                Observation::Deletion(n) => [&[anchor][..], &ref_bases[n + 1..]].concat(),
                Observation::Reference => ref_bases.clone(),
            };
            (String::from_utf8_lossy(&alt).into_owned(), reads)
        })
        .collect();
    alleles.sort();
    let (alts, support) = alleles.into_iter().unzip();
    Candidate {
        start: pos,
        ref_bases: String::from_utf8_lossy(&ref_bases).into_owned(),
        alts,
        support,
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
