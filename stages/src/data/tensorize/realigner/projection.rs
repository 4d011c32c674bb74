//! A read's alignment to a haplotype carried through the haplotype's alignment to the reference: the
//! read's new reference offset and CIGAR, as DeepVariant's fast-pass aligner composes them.
//!
//! The two edit lists are walked operation by operation (`CalculateReadToRefAlignment`): aligned or
//! clipped read bases on aligned or clipped haplotype bases stay `M` (`S` where either side clips); a
//! read deletion of aligned haplotype bases, a haplotype deletion under aligned read bases, or both,
//! become `D`; a read insertion, read bases on haplotype-inserted bases, or both, become `I`. Each
//! operation joins the last one when it is of the same kind, and an insertion meeting a deletion cancels
//! base for base into `M` (`MergeCigarOp`: a read that deletes the `G` before a haplotype's inserted
//! `TTT` comes out as `1M2I`, a mismatch and two inserted bases, not `1D3I`). Read bases inserted where
//! the haplotype deletes reference bases lie on those bases (`M`, after what is left of the longer
//! indel), and haplotype-inserted bases the read deletes vanish. An alignment whose bases do not add
//! up to the read, or that clips inside the read, is not used, and neither is one with an indel that
//! could move left with the same bases ([`is_left_normalized`], `IsAlignmentNormalized`; DeepVariant
//! refuses those unless it normalises reads, which its short-read mode does not).
//!
//! These two rules decide three sites of the NA12878 window chr20:10,000,000-10,010,000: with them,
//! calling mode gives DeepVariant's own calling examples there, 84 of them (its `10009844 G>A` and
//! `10009877 A>G`, no `10002457 AG>A`); DeepVariant 1.1.0's calls of the window, older than the rules,
//! have `G>A,AAGAGAGAG`, no `A>G` and `AG>A` (docs/tensorize.md, "Calling mode").

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
/// nothing once they are all placed, joined to the last operation when of the same kind; an insertion
/// after a deletion (or the reverse) cancels base for base, each cancelled pair one `M` before what is
/// left of the earlier indel.
fn merge(cigar: &mut Cigar, op: Op, mut len: usize, read_len: usize) {
    while len > 0 && aligned_len(cigar) < read_len && cancels(op, cigar.last()) {
        let n = cigar.len();
        if n >= 2 && cigar[n - 2].0 == Op::Match {
            cigar[n - 2].1 += 1;
        } else {
            cigar.insert(n - 1, (Op::Match, 1));
        }
        let tail = cigar.last_mut().expect("an indel is last");
        if tail.1 == 1 {
            cigar.pop();
        } else {
            tail.1 -= 1;
        }
        len -= 1;
    }
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

/// Whether `op` cancels against the operation `last` that the CIGAR ends with (an insertion against a
/// deletion or the reverse).
fn cancels(op: Op, last: Option<&(Op, usize)>) -> bool {
    matches!(
        (op, last),
        (Op::Ins, Some((Op::Del, _))) | (Op::Del, Some((Op::Ins, _)))
    )
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
            // Read bases the haplotype has deleted from the reference: on those reference bases,
            // after what is left of the longer indel.
            (Op::Ins, Op::Del) => {
                let n = r_len.min(h_len);
                merge(&mut out, Op::Del, h_len - n, read_len);
                merge(&mut out, Op::Ins, r_len - n, read_len);
                merge(&mut out, Op::Match, n, read_len);
            }
            // What is left, a read deletion of haplotype-inserted bases: bases in neither the read nor
            // the reference.
            (r, h) => {
                debug_assert_eq!((r, h), (Op::Del, Op::Ins));
                let n = r_len.min(h_len);
                put_back(&mut reads, r, r_len - n);
                put_back(&mut haps, h, h_len - n);
            }
        }
    }
    let inner = out.iter().skip(1).take(out.len().saturating_sub(2));
    if inner.clone().any(|(op, _)| *op == Op::Clip) || query_len(&out) != read_len {
        return None;
    }
    Some((offset, out))
}

/// DeepVariant's check that no indel of `cigar` (for `read` at `start` on `reference`) could move left:
/// an insertion whose last base equals the reference base before it, or a deletion whose last deleted
/// base equals the read base before it, fails.
pub fn is_left_normalized(
    cigar: &[(Op, usize)],
    start: usize,
    read: &[u8],
    reference: &[u8],
) -> bool {
    let (mut r, mut q) = (start, 0usize);
    for &(op, len) in cigar {
        match op {
            Op::Ins if r > 0 && read[q + len - 1] == reference[r - 1] => return false,
            Op::Del if q > 0 && reference.get(r + len - 1).is_none_or(|&b| b == read[q - 1]) => {
                return false
            }
            _ => {}
        }
        if op.consumes_query() {
            q += len;
        }
        if op.consumes_target() {
            r += len;
        }
    }
    true
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
    fn a_read_deletion_next_to_a_haplotype_insertion_cancels_into_a_match() {
        // The read deletes the haplotype's last base before its 3-base insertion (a G before inserted
        // T's, read as T's): one deleted and one inserted base cancel into a mismatch, two stay inserted.
        let h = hap(0, vec![(Op::Match, 10), (Op::Ins, 3), (Op::Match, 20)]);
        let r = read(0, vec![(Op::Match, 9), (Op::Del, 1), (Op::Match, 20)]);
        assert_eq!(
            project(&r, &h, 29),
            Some((0, vec![(Op::Match, 10), (Op::Ins, 2), (Op::Match, 17)]))
        );
        // Two deleted bases cancel two of the three inserted ones; three cancel all of them.
        let r = read(0, vec![(Op::Match, 8), (Op::Del, 2), (Op::Match, 21)]);
        assert_eq!(
            project(&r, &h, 29),
            Some((0, vec![(Op::Match, 10), (Op::Ins, 1), (Op::Match, 18)]))
        );
        let r = read(0, vec![(Op::Match, 7), (Op::Del, 3), (Op::Match, 22)]);
        assert_eq!(project(&r, &h, 29), Some((0, vec![(Op::Match, 29)])));
    }

    #[test]
    fn an_insertion_against_a_deletion_lies_on_the_deleted_bases() {
        // The haplotype inserts 2 bases that the read deletes: the read matches the reference.
        let h = hap(0, vec![(Op::Match, 10), (Op::Ins, 2), (Op::Match, 10)]);
        let r = read(0, vec![(Op::Match, 10), (Op::Del, 2), (Op::Match, 10)]);
        assert_eq!(project(&r, &h, 20), Some((0, vec![(Op::Match, 20)])));
        // The haplotype deletes 2 reference bases and the read inserts 3 there: one stays inserted,
        // two lie on the deleted bases.
        let h = hap(0, vec![(Op::Match, 10), (Op::Del, 2), (Op::Match, 10)]);
        let r = read(0, vec![(Op::Match, 10), (Op::Ins, 3), (Op::Match, 10)]);
        assert_eq!(
            project(&r, &h, 23),
            Some((0, vec![(Op::Match, 10), (Op::Ins, 1), (Op::Match, 12)]))
        );
        // One inserted base on a 2-base deletion: one base stays deleted.
        let r = read(0, vec![(Op::Match, 10), (Op::Ins, 1), (Op::Match, 10)]);
        assert_eq!(
            project(&r, &h, 21),
            Some((0, vec![(Op::Match, 10), (Op::Del, 1), (Op::Match, 11)]))
        );
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

    #[test]
    fn indels_that_could_move_left_are_not_normalised() {
        let reference = b"ACGTAAAACGT";
        // Read ACGTAAACGT with the deletion after the last A: the first A could carry it.
        let read = b"ACGTAAACGT";
        let right = [(Op::Match, 7), (Op::Del, 1), (Op::Match, 3)];
        assert!(!is_left_normalized(&right, 0, read, reference));
        let left = [(Op::Match, 4), (Op::Del, 1), (Op::Match, 6)];
        assert!(is_left_normalized(&left, 0, read, reference));
        // An insertion of A after the run of A's could move left; one after the T cannot.
        let read = b"ACGTAAAAACGT";
        let after_run = [(Op::Match, 8), (Op::Ins, 1), (Op::Match, 3)];
        assert!(!is_left_normalized(&after_run, 0, read, reference));
        let after_t = [(Op::Match, 4), (Op::Ins, 1), (Op::Match, 7)];
        assert!(is_left_normalized(&after_t, 0, read, reference));
        // Soft-clipped bases are skipped; the offset is where the first aligned base lands.
        let clipped = [(Op::Clip, 2), (Op::Match, 5), (Op::Del, 1), (Op::Match, 3)];
        assert!(!is_left_normalized(&clipped, 2, b"TTGTAAACGT", reference));
    }
}
