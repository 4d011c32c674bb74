//! Reads to haplotypes, haplotypes to the reference (DeepVariant's `FastPassAligner`).
//!
//! Every haplotype and the reference carry the same reference prefix and suffix around the window. A
//! fast pass places reads on each haplotype without gaps through an index of the reads' 32-mers,
//! accepting up to 2 mismatches (`N` matches anything); a non-reference haplotype with a position inside
//! the window that some read's 32-mer hits but no accepted read covers (counting reads in order of
//! their first hit) is dropped as unsupported. Reads the fast pass places nowhere are aligned to every
//! kept haplotype by Smith-Waterman. Haplotypes are aligned to the reference by Smith-Waterman. Each
//! read takes its best-scoring haplotype, haplotypes visited from least to most supported (total fast
//! pass score), a tie going to the later non-reference one.

use std::collections::{HashMap, HashSet};

use super::alignment::{ungapped, Alignment, Cigar, LocalAligner, Op};
use super::striped::{self, QueryProfile};

/// Length of the read k-mers of the fast pass (`kmer_size`).
pub const FAST_PASS_KMER: usize = 32;
/// Mismatches the fast pass accepts (`max_num_mismatches`).
pub const FAST_PASS_MAX_MISMATCHES: usize = 2;

/// A haplotype aligned to the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaplotypeAlignment {
    /// Reference offset of the first aligned haplotype base.
    pub ref_pos: usize,
    /// Operations over the whole haplotype.
    pub cigar: Cigar,
    /// Whether the haplotype aligns to the reference without any difference.
    pub is_reference: bool,
}

/// A read's best alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlacement {
    /// Index of the haplotype.
    pub haplotype: usize,
    /// The read's alignment to that haplotype.
    pub alignment: Alignment,
}

/// Fast pass results of one haplotype: total score and each read's best ungapped placement.
struct FastPass {
    score: i32,
    reads: Vec<Option<Alignment>>,
}

/// The reads' k-mers: k-mer → (read, offset).
type KmerIndex<'a> = HashMap<&'a [u8], Vec<(usize, usize)>>;

fn index_reads<'a>(reads: &[&'a [u8]]) -> KmerIndex<'a> {
    let mut index: KmerIndex = HashMap::new();
    for (r, bases) in reads.iter().enumerate() {
        if bases.len() <= FAST_PASS_KMER {
            continue;
        }
        for (i, kmer) in bases.windows(FAST_PASS_KMER).enumerate() {
            index.entry(kmer).or_default().push((r, i));
        }
    }
    index
}

/// Ungapped placements of the reads on `haplotype`; score 0 and no placements when the haplotype
/// (not the reference) has an unsupported position within `core`.
fn fast_pass(
    haplotype: &[u8],
    is_ref: bool,
    core: (usize, usize),
    reads: &[&[u8]],
    index: &KmerIndex,
) -> FastPass {
    let mut out = FastPass {
        score: 0,
        reads: vec![None; reads.len()],
    };
    let mut coverage = vec![0u32; haplotype.len()];
    let mut tried: HashSet<(usize, usize)> = HashSet::new();
    for i in 0..(haplotype.len() + 1).saturating_sub(FAST_PASS_KMER) {
        let Some(hits) = index.get(&haplotype[i..i + FAST_PASS_KMER]) else {
            continue;
        };
        for &(r, offset) in hits {
            let (start, len) = (i.saturating_sub(offset), reads[r].len());
            if start + len > haplotype.len() || !tried.insert((r, start)) {
                continue;
            }
            let Some((score, _)) = ungapped(
                &haplotype[start..start + len],
                reads[r],
                FAST_PASS_MAX_MISMATCHES,
            ) else {
                continue;
            };
            for c in &mut coverage[start..start + len] {
                *c += 1;
            }
            let best = out.reads[r].as_ref().map_or(0, |a| a.score);
            if score > best {
                out.score += score - best;
                out.reads[r] = Some(Alignment {
                    score,
                    target_start: start,
                    cigar: vec![(Op::Match, len)],
                });
            }
        }
        if coverage[i] == 0 && (core.0..core.1).contains(&i) && !is_ref {
            return FastPass {
                score: 0,
                reads: vec![None; reads.len()],
            };
        }
    }
    out
}

/// `haplotype` aligned to `reference`, or `None` when they do not align.
fn to_reference(
    haplotype: &[u8],
    reference: &[u8],
    aligner: &mut LocalAligner,
) -> Option<HaplotypeAlignment> {
    if haplotype == reference {
        return Some(HaplotypeAlignment {
            ref_pos: 0,
            cigar: vec![(Op::Match, haplotype.len())],
            is_reference: true,
        });
    }
    let a = aligner.align(haplotype, reference)?;
    let is_reference = a.cigar == [(Op::Match, haplotype.len())]
        && reference.get(a.target_start..a.target_start + haplotype.len()) == Some(haplotype);
    Some(HaplotypeAlignment {
        ref_pos: a.target_start,
        cigar: a.cigar,
        is_reference,
    })
}

/// Aligns `haplotypes` to `reference` and `reads` to the haplotypes; `core` is the haplotypes' window
/// part, `[prefix length, length − suffix length)`, the same for all as the prefix and suffix are.
/// Returns each haplotype's alignment (`None`: it does not align to the reference, and no read is
/// placed on it) and each read's best placement (`None`: no alignment scored above 0).
pub fn align_reads(
    reference: &[u8],
    haplotypes: &[Vec<u8>],
    prefix_len: usize,
    suffix_len: usize,
    reads: &[&[u8]],
    aligner: &mut LocalAligner,
) -> (Vec<Option<HaplotypeAlignment>>, Vec<Option<ReadPlacement>>) {
    let index = index_reads(reads);
    let haps: Vec<Option<HaplotypeAlignment>> = haplotypes
        .iter()
        .map(|h| to_reference(h, reference, aligner))
        .collect();
    let mut passes: Vec<FastPass> = haplotypes
        .iter()
        .zip(&haps)
        .map(|(h, a)| {
            let core = (prefix_len, h.len().saturating_sub(suffix_len));
            let is_ref = h.as_slice() == reference;
            match a {
                Some(_) => fast_pass(h, is_ref, core, reads, &index),
                None => FastPass {
                    score: 0,
                    reads: vec![None; reads.len()],
                },
            }
        })
        .collect();
    // Reads placed nowhere: Smith-Waterman scores (striped, one query profile per read) against every
    // haplotype the fast pass kept; the alignment itself is traced back for the chosen haplotype only.
    let mut sw: Vec<Vec<Option<i32>>> = vec![vec![None; reads.len()]; haplotypes.len()];
    for r in 0..reads.len() {
        if passes.iter().any(|p| p.reads[r].is_some()) {
            continue;
        }
        let mut profile = QueryProfile::new(reads[r]);
        for (h, pass) in passes.iter().enumerate() {
            if pass.score == 0 || haps[h].is_none() {
                continue;
            }
            sw[h][r] = striped::score(&mut profile, &haplotypes[h]);
        }
    }
    let mut order: Vec<usize> = (0..haplotypes.len()).collect();
    order.sort_by_key(|&h| passes[h].score);
    let best = (0..reads.len())
        .map(|r| {
            let mut best: Option<(usize, i32)> = None;
            for &h in &order {
                let fast = passes[h].reads[r].as_ref().map(|a| a.score);
                let Some(score) = fast.or(sw[h][r]) else {
                    continue;
                };
                let non_ref = haps[h].as_ref().is_some_and(|a| !a.is_reference);
                match best {
                    Some((_, b)) if score < b || (score == b && !non_ref) => {}
                    _ if score <= 0 => {}
                    _ => best = Some((h, score)),
                }
            }
            let (h, _) = best?;
            let alignment = match passes[h].reads[r].take() {
                Some(a) => a,
                None => aligner.align(reads[r], &haplotypes[h])?,
            };
            Some(ReadPlacement {
                haplotype: h,
                alignment,
            })
        })
        .collect::<Vec<_>>();
    (haps, best)
}
