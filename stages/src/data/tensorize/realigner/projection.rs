//! A read's alignment to a haplotype carried through the haplotype's alignment to the reference: the
//! read's new reference offset and CIGAR.
//!
//! A read base on a haplotype base that aligns to a reference base is `M` there; on a base the
//! haplotype inserts, `I`; on a base the haplotype leaves clipped, `S`; read insertions and clips stay
//! `I` and `S`. Reference bases skipped between two consecutive `M` bases become `D`. An insertion next
//! to a deletion cancels base for base into `M`, as DeepVariant's merge does. The result is kept even
//! when an indel in it could move left with the same bases: DeepVariant 1.5 kept such alignments (its
//! later releases refuse them unless they normalise reads); refusing them leaves chr20:10,009,844's
//! `G>AAGAGAGAG` uncalled and calls an `A>G` at 10,009,877 that DeepVariant does not.

use super::alignment::{push, query_len, Alignment, Cigar, Op};
use super::read_aligner::HaplotypeAlignment;

/// Where a haplotype base lies on the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HapBase {
    /// Aligned to this reference offset.
    Ref(usize),
    /// Inserted by the haplotype.
    Inserted,
    /// Left unaligned at an end of the haplotype.
    Clipped,
}

fn hap_bases(hap: &HaplotypeAlignment) -> Vec<HapBase> {
    let mut out = Vec::new();
    let mut r = hap.ref_pos;
    for &(op, len) in &hap.cigar {
        match op {
            Op::Match => {
                out.extend((r..r + len).map(HapBase::Ref));
                r += len;
            }
            Op::Ins => out.extend(std::iter::repeat_n(HapBase::Inserted, len)),
            Op::Clip => out.extend(std::iter::repeat_n(HapBase::Clipped, len)),
            Op::Del => r += len,
        }
    }
    out
}

/// Cancels adjacent `I` and `D` base for base into `M`.
fn cancel_indel_pairs(cigar: Cigar) -> Cigar {
    let mut out = Cigar::new();
    for (op, len) in cigar {
        match out.last().copied() {
            Some((prev, n)) if matches!((prev, op), (Op::Ins, Op::Del) | (Op::Del, Op::Ins)) => {
                out.pop();
                let both = n.min(len);
                push(&mut out, Op::Match, both);
                if n > len {
                    push(&mut out, prev, n - both);
                } else {
                    push(&mut out, op, len - both);
                }
            }
            _ => push(&mut out, op, len),
        }
    }
    out
}

/// The read's alignment to the reference, as (reference offset of its first `M` base, operations),
/// from its alignment to the haplotype `hap`; `None` when it does not land on any reference base or
/// the result is not a valid alignment of all `read_len` bases (a clip inside the read).
pub fn project(
    read: &Alignment,
    hap: &HaplotypeAlignment,
    read_len: usize,
) -> Option<(usize, Cigar)> {
    let bases = hap_bases(hap);
    let mut out = Cigar::new();
    let (mut h, mut first, mut last): (usize, Option<usize>, Option<usize>) =
        (read.target_start, None, None);
    for &(op, len) in &read.cigar {
        match op {
            Op::Clip | Op::Ins => push(&mut out, op, len),
            Op::Del => h += len,
            Op::Match => {
                for _ in 0..len {
                    match *bases.get(h)? {
                        HapBase::Ref(r) => {
                            if let Some(l) = last {
                                push(&mut out, Op::Del, r - l - 1);
                            }
                            first.get_or_insert(r);
                            last = Some(r);
                            push(&mut out, Op::Match, 1);
                        }
                        HapBase::Inserted => push(&mut out, Op::Ins, 1),
                        HapBase::Clipped => push(&mut out, Op::Clip, 1),
                    }
                    h += 1;
                }
            }
        }
    }
    let out = cancel_indel_pairs(out);
    let inner = out.iter().skip(1).take(out.len().saturating_sub(2));
    if inner.clone().any(|(op, _)| *op == Op::Clip) || query_len(&out) != read_len {
        return None;
    }
    Some((first?, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hap(ref_pos: usize, cigar: Cigar) -> HaplotypeAlignment {
        HaplotypeAlignment {
            ref_pos,
            cigar,
            is_reference: false,
        }
    }

    fn read(target_start: usize, cigar: Cigar) -> Alignment {
        Alignment {
            score: 1,
            target_start,
            cigar,
        }
    }

    #[test]
    fn a_read_across_a_haplotype_deletion_gets_the_deletion() {
        // Haplotype = reference with bases 30..32 deleted.
        let h = hap(0, vec![(Op::Match, 30), (Op::Del, 2), (Op::Match, 40)]);
        let r = read(20, vec![(Op::Match, 20)]);
        assert_eq!(
            project(&r, &h, 20),
            Some((20, vec![(Op::Match, 10), (Op::Del, 2), (Op::Match, 10)]))
        );
    }

    #[test]
    fn a_read_on_a_haplotype_insertion_gets_the_insertion_and_keeps_its_clips() {
        // Haplotype inserts 3 bases after reference base 29; it starts 5 bases into the reference.
        let h = hap(5, vec![(Op::Match, 25), (Op::Ins, 3), (Op::Match, 40)]);
        let r = read(20, vec![(Op::Clip, 2), (Op::Match, 15)]);
        assert_eq!(
            project(&r, &h, 17),
            Some((
                25,
                vec![(Op::Clip, 2), (Op::Match, 5), (Op::Ins, 3), (Op::Match, 7)]
            ))
        );
    }

    #[test]
    fn a_read_deletion_of_a_haplotype_insertion_cancels_out() {
        // The haplotype inserts 2 bases that the read deletes: the read is the reference there.
        let h = hap(0, vec![(Op::Match, 10), (Op::Ins, 2), (Op::Match, 10)]);
        let r = read(0, vec![(Op::Match, 10), (Op::Del, 2), (Op::Match, 10)]);
        assert_eq!(project(&r, &h, 20), Some((0, vec![(Op::Match, 20)])));
        // A read insertion against a haplotype deletion becomes matches.
        let h = hap(0, vec![(Op::Match, 10), (Op::Del, 1), (Op::Match, 10)]);
        let r = read(0, vec![(Op::Match, 10), (Op::Ins, 1), (Op::Match, 10)]);
        assert_eq!(project(&r, &h, 21), Some((0, vec![(Op::Match, 21)])));
    }

    #[test]
    fn a_read_running_into_a_clipped_haplotype_end_is_clipped() {
        let h = hap(0, vec![(Op::Match, 20), (Op::Clip, 5)]);
        let r = read(10, vec![(Op::Match, 15)]);
        assert_eq!(
            project(&r, &h, 15),
            Some((10, vec![(Op::Match, 10), (Op::Clip, 5)]))
        );
    }
}
