//! A read's alignment to a haplotype carried through the haplotype's alignment to the reference: the
//! read's new reference offset and CIGAR, as DeepVariant 1.5's fast-pass aligner composes them.
//!
//! The two edit lists are walked operation by operation (`CalculateReadToRefAlignment`): aligned or
//! clipped read bases on aligned or clipped haplotype bases stay `M` (`S` where either side clips); a
//! read deletion of aligned haplotype bases, a haplotype deletion under aligned read bases, or both,
//! become `D`; a read insertion, read bases on haplotype-inserted bases, or both, become `I`. Each
//! operation joins the last one when it is of the same kind and is otherwise appended, so a deletion
//! next to an insertion stays a deletion followed by an insertion (`1D3I`, not `1M2I`: chr20:10,002,457's
//! `AG>A` in DeepVariant's calls comes from such reads). A read insertion against a haplotype deletion,
//! or a read deletion of haplotype-inserted bases, gives no alignment and the read keeps its own. The
//! result is kept even when an indel in it could move left with the same bases: DeepVariant 1.5 kept
//! such alignments (its later releases cancel `D`/`I` pairs and refuse alignments that are not
//! left-normalised; with those rules chr20:10,009,844's `G>AAGAGAGAG` goes uncalled and an `A>G` at
//! 10,009,877 appears that DeepVariant does not call). An alignment whose bases do not add up to the
//! read, or that clips inside the read, is not used.

use std::collections::VecDeque;

use super::alignment::{query_len, Alignment, Cigar, Op};
use super::read_aligner::HaplotypeAlignment;

/// The haplotype's edit list from haplotype offset `pos` on (`LeftTrimHaplotypeToRefAlignment`):
/// operations before it dropped, deletions there included.
fn trimmed(cigar: &[(Op, usize)], pos: usize) -> VecDeque<(Op, usize)> {
    let mut ops: VecDeque<(Op, usize)> = cigar.iter().copied().collect();
    let mut at = 0;
    while at < pos {
        let Some((op, len)) = ops.pop_front() else {
            break;
        };
        if op == Op::Del {
            continue;
        }
        if at + len > pos {
            ops.push_front((op, at + len - pos));
        }
        at = (at + len).min(pos);
    }
    if matches!(ops.front(), Some((Op::Del, _))) {
        ops.pop_front();
    }
    ops
}

/// Reference offset of haplotype base `pos` (`SetPositionsMap`): the haplotype's start plus `pos`,
/// shifted by the deletions before it and back by its clipped and inserted bases.
fn reference_offset(hap: &HaplotypeAlignment, pos: usize) -> Option<usize> {
    let (mut at, mut shift) = (0usize, 0i64);
    for &(op, len) in &hap.cigar {
        match op {
            Op::Del => shift += len as i64,
            Op::Match | Op::Clip | Op::Ins => {
                if op == Op::Clip {
                    shift -= len as i64;
                }
                if pos < at + len {
                    if op == Op::Ins {
                        shift -= (pos - at) as i64;
                    }
                    return usize::try_from(hap.ref_pos as i64 + pos as i64 + shift).ok();
                }
                if op == Op::Ins {
                    shift -= len as i64;
                }
                at += len;
            }
        }
    }
    None
}

/// Bases of the read the operations place (all but deletions).
fn aligned_len(cigar: &[(Op, usize)]) -> usize {
    cigar
        .iter()
        .filter(|(op, _)| *op != Op::Del)
        .map(|(_, n)| n)
        .sum()
}

/// Appends `len` of `op` as DeepVariant's `MergeCigarOp` does: never past the read's `read_len` bases,
/// nothing once they are all placed, joined to the last operation when of the same kind.
fn merge(cigar: &mut Cigar, op: Op, len: usize, read_len: usize) {
    let placed = aligned_len(cigar);
    let len = if op == Op::Del {
        len
    } else {
        len.min(read_len.saturating_sub(placed))
    };
    if len == 0 || placed == read_len {
        return;
    }
    match cigar.last_mut() {
        Some((last, n)) if *last == op => *n += len,
        _ => cigar.push((op, len)),
    }
}

fn put_back(ops: &mut VecDeque<(Op, usize)>, op: Op, len: usize) {
    if len > 0 {
        ops.push_front((op, len));
    }
}

/// The read's alignment to the reference, as (reference offset of its first aligned base, operations),
/// from its alignment to the haplotype `hap`; `None` where DeepVariant keeps the read's own alignment,
/// or where the result does not place exactly the read's `read_len` bases or clips inside the read.
pub fn project(
    read: &Alignment,
    hap: &HaplotypeAlignment,
    read_len: usize,
) -> Option<(usize, Cigar)> {
    let offset = reference_offset(hap, read.target_start)?;
    let mut reads: VecDeque<(Op, usize)> = read.cigar.iter().copied().collect();
    let mut haps = trimmed(&hap.cigar, read.target_start);
    if haps.is_empty() {
        return None;
    }
    let mut out = Cigar::new();
    if let Some(&(Op::Clip, n)) = reads.front() {
        merge(&mut out, Op::Clip, n, read_len);
        reads.pop_front();
    }
    let aligned = |op: Op| matches!(op, Op::Match | Op::Clip);
    while (!reads.is_empty() || !haps.is_empty()) && aligned_len(&out) < read_len {
        let Some((r, r_len)) = reads.pop_front() else {
            break;
        };
        let Some((h, h_len)) = haps.pop_front() else {
            // Past the haplotype's end (a read aligned to it in part): the read's own operations.
            merge(&mut out, r, r_len, read_len);
            continue;
        };
        match (r, h) {
            (r, h) if aligned(r) && aligned(h) => {
                let n = r_len.min(h_len);
                let op = if r == Op::Clip || h == Op::Clip {
                    Op::Clip
                } else {
                    Op::Match
                };
                merge(&mut out, op, n, read_len);
                put_back(&mut reads, r, r_len - n);
                put_back(&mut haps, h, h_len - n);
            }
            (Op::Del, h) if aligned(h) => {
                merge(&mut out, Op::Del, r_len, read_len);
                put_back(&mut haps, h, h_len.saturating_sub(r_len));
            }
            (r, Op::Del) if aligned(r) => {
                merge(&mut out, Op::Del, h_len, read_len);
                put_back(&mut reads, r, r_len);
            }
            (Op::Del, Op::Del) => merge(&mut out, Op::Del, r_len + h_len, read_len),
            (Op::Ins, h) if aligned(h) => {
                let n = r_len.min(read_len - aligned_len(&out));
                merge(&mut out, Op::Ins, n, read_len);
                put_back(&mut haps, h, h_len);
            }
            (r, Op::Ins) if aligned(r) => {
                let n = h_len.min(read_len - aligned_len(&out));
                merge(&mut out, Op::Ins, n, read_len);
                put_back(&mut reads, r, r_len.saturating_sub(n));
            }
            (Op::Ins, Op::Ins) => merge(&mut out, Op::Ins, r_len + h_len, read_len),
            // An insertion against a deletion: DeepVariant leaves the read as it was.
            _ => return None,
        }
    }
    let inner = out.iter().skip(1).take(out.len().saturating_sub(2));
    if inner.clone().any(|(op, _)| *op == Op::Clip) || query_len(&out) != read_len {
        return None;
    }
    Some((offset, out))
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
        // A read starting after the deletion is placed past it.
        let r = read(35, vec![(Op::Match, 20)]);
        assert_eq!(project(&r, &h, 20), Some((37, vec![(Op::Match, 20)])));
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
        // A read starting inside the insertion begins with what is left of it, at the next base.
        let r = read(26, vec![(Op::Match, 10)]);
        assert_eq!(
            project(&r, &h, 10),
            Some((30, vec![(Op::Ins, 2), (Op::Match, 8)]))
        );
    }

    #[test]
    fn a_read_deletion_before_a_haplotype_insertion_stays_a_deletion_and_an_insertion() {
        // The read deletes the haplotype's last base before its 3-base insertion (a G before inserted
        // T's, read as T's): DeepVariant writes 1D3I, not a mismatch and 2I.
        let h = hap(0, vec![(Op::Match, 10), (Op::Ins, 3), (Op::Match, 20)]);
        let r = read(0, vec![(Op::Match, 9), (Op::Del, 1), (Op::Match, 20)]);
        assert_eq!(
            project(&r, &h, 29),
            Some((
                0,
                vec![(Op::Match, 9), (Op::Del, 1), (Op::Ins, 3), (Op::Match, 17)]
            ))
        );
    }

    #[test]
    fn an_insertion_against_a_deletion_keeps_the_reads_own_alignment() {
        let h = hap(0, vec![(Op::Match, 10), (Op::Ins, 2), (Op::Match, 10)]);
        let r = read(0, vec![(Op::Match, 10), (Op::Del, 2), (Op::Match, 10)]);
        assert_eq!(project(&r, &h, 20), None);
        let h = hap(0, vec![(Op::Match, 10), (Op::Del, 1), (Op::Match, 10)]);
        let r = read(0, vec![(Op::Match, 10), (Op::Ins, 1), (Op::Match, 10)]);
        assert_eq!(project(&r, &h, 21), None);
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
