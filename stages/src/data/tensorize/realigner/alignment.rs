//! Pairwise alignment for the realigner: Smith-Waterman with DeepVariant's scores (rust-bio's affine-gap
//! aligner), CIGAR-like edit lists, and left-alignment of indels.
//!
//! DeepVariant scores a match +4, a mismatch -6 and a gap of length `g` -(8 + 2 (g - 1)) (`aln_match`,
//! `aln_mismatch`, `aln_gap_open`, `aln_gap_extend`); an `N` on either side scores 0, as in the SSW
//! library's default matrix. Among equally scoring alignments, indels are moved as far left as they go,
//! so read alignments come out left-normalised as DeepVariant requires.

use bio::alignment::pairwise::{Aligner, Scoring};
use bio::alignment::AlignmentOperation;

/// Match score.
pub const MATCH: i32 = 4;
/// Mismatch penalty (subtracted).
pub const MISMATCH: i32 = 6;
/// Penalty of a gap's first base.
pub const GAP_OPEN: i32 = 8;
/// Penalty of each further gap base.
pub const GAP_EXTEND: i32 = 2;

/// One kind of alignment column run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Query and target bases aligned (match or mismatch): CIGAR `M`.
    Match,
    /// Query bases missing from the target: CIGAR `I`.
    Ins,
    /// Target bases missing from the query: CIGAR `D`.
    Del,
    /// Query bases left unaligned at an end: CIGAR `S`.
    Clip,
}

impl Op {
    /// Whether the operation consumes query bases.
    pub fn consumes_query(self) -> bool {
        !matches!(self, Op::Del)
    }

    /// Whether the operation consumes target bases.
    pub fn consumes_target(self) -> bool {
        matches!(self, Op::Match | Op::Del)
    }
}

/// Run-length list of operations, like a CIGAR.
pub type Cigar = Vec<(Op, usize)>;

/// An alignment of a query to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alignment {
    /// Score with DeepVariant's scores.
    pub score: i32,
    /// Target offset of the first aligned query base (after leading clips).
    pub target_start: usize,
    /// Operations over the whole query, clipped ends included.
    pub cigar: Cigar,
}

/// Score of aligning base `a` against base `b`.
pub fn base_score(a: u8, b: u8) -> i32 {
    if a == b'N' || b == b'N' {
        0
    } else if a == b {
        MATCH
    } else {
        -MISMATCH
    }
}

/// Appends `len` of `op` to `cigar`, merging with its last run.
pub fn push(cigar: &mut Cigar, op: Op, len: usize) {
    if len == 0 {
        return;
    }
    match cigar.last_mut() {
        Some((last, n)) if *last == op => *n += len,
        _ => cigar.push((op, len)),
    }
}

/// Query bases the operations consume.
pub fn query_len(cigar: &[(Op, usize)]) -> usize {
    cigar
        .iter()
        .filter(|(op, _)| op.consumes_query())
        .map(|(_, n)| n)
        .sum()
}

/// Target bases the operations consume.
pub fn target_len(cigar: &[(Op, usize)]) -> usize {
    cigar
        .iter()
        .filter(|(op, _)| op.consumes_target())
        .map(|(_, n)| n)
        .sum()
}

/// Smith-Waterman aligner with DeepVariant's scores; keeps its matrices between calls.
pub struct LocalAligner {
    inner: Aligner<fn(u8, u8) -> i32>,
}

impl Default for LocalAligner {
    fn default() -> Self {
        let scoring = Scoring::new(-GAP_OPEN, -GAP_EXTEND, base_score as fn(u8, u8) -> i32);
        Self {
            inner: Aligner::with_capacity_and_scoring(256, 1024, scoring),
        }
    }
}

impl LocalAligner {
    /// The best local alignment of `query` within `target`, indels left-aligned, or `None` when no
    /// alignment scores above 0. Unaligned query ends are [`Op::Clip`].
    pub fn align(&mut self, query: &[u8], target: &[u8]) -> Option<Alignment> {
        let a = self.inner.local(query, target);
        if a.score <= 0 {
            return None;
        }
        let mut cigar = Cigar::new();
        push(&mut cigar, Op::Clip, a.xstart);
        for op in &a.operations {
            let op = match op {
                AlignmentOperation::Match | AlignmentOperation::Subst => Op::Match,
                AlignmentOperation::Ins => Op::Ins,
                AlignmentOperation::Del => Op::Del,
                AlignmentOperation::Xclip(_) | AlignmentOperation::Yclip(_) => continue,
            };
            push(&mut cigar, op, 1);
        }
        push(&mut cigar, Op::Clip, a.xlen - a.xend);
        let cigar = left_align(&cigar, query, target, a.ystart);
        Some(Alignment {
            score: a.score,
            target_start: a.ystart,
            cigar,
        })
    }
}

/// Moves every indel of the alignment of `query` to `target` (starting at `target_start`) left while
/// the score stays the same: a deletion of `target[a..b)` after an aligned column moves while
/// `target[a-1] == target[b-1]`, an insertion of `query[i..j)` while `query[i-1] == query[j-1]`.
pub fn left_align(
    cigar: &[(Op, usize)],
    query: &[u8],
    target: &[u8],
    target_start: usize,
) -> Cigar {
    let mut ops: Cigar = cigar.to_vec();
    loop {
        let mut moved = false;
        let (mut q, mut t) = (0usize, target_start);
        for k in 0..ops.len() {
            let (op, len) = ops[k];
            if matches!(op, Op::Ins | Op::Del) && k > 0 && ops[k - 1].0 == Op::Match {
                let mut shift = 0;
                while shift < ops[k - 1].1 {
                    let (qi, ti) = (q - shift, t - shift);
                    let same = match op {
                        Op::Del => target[ti - 1] == target[ti + len - 1],
                        _ => query[qi - 1] == query[qi + len - 1],
                    };
                    if !same {
                        break;
                    }
                    shift += 1;
                }
                if shift > 0 {
                    ops[k - 1].1 -= shift;
                    if ops.get(k + 1).is_some_and(|(o, _)| *o == Op::Match) {
                        ops[k + 1].1 += shift;
                    } else {
                        ops.insert(k + 1, (Op::Match, shift));
                    }
                    moved = true;
                    break;
                }
            }
            if op.consumes_query() {
                q += len;
            }
            if op.consumes_target() {
                t += len;
            }
        }
        let mut merged = Cigar::new();
        for (op, len) in ops {
            push(&mut merged, op, len);
        }
        ops = merged;
        if !moved {
            return ops;
        }
    }
}

/// Ungapped comparison of equal-length `a` and `b`: the score and mismatch count, or `None` once
/// more than `max_mismatches` differ. `N` matches anything (DeepVariant's fast pass).
pub fn ungapped(a: &[u8], b: &[u8], max_mismatches: usize) -> Option<(i32, usize)> {
    let mut mismatches = 0;
    for (&x, &y) in a.iter().zip(b) {
        if x != y && x != b'N' && y != b'N' {
            mismatches += 1;
            if mismatches > max_mismatches {
                return None;
            }
        }
    }
    let matches = (a.len() - mismatches) as i32;
    Some((matches * MATCH - mismatches as i32 * MISMATCH, mismatches))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_alignment_finds_a_deletion_and_left_aligns_it() {
        // Target has AAAA, the query AAA: the deletion sits at the first A.
        let target = b"GGCTGACCTGAAAACGTTGCATGCCA";
        let query = b"CTGACCTGAAACGTTGCATGC";
        let a = LocalAligner::default().align(query, target).unwrap();
        assert_eq!(a.target_start, 2);
        assert_eq!(a.cigar, vec![(Op::Match, 8), (Op::Del, 1), (Op::Match, 13)]);
        assert_eq!(a.score, 21 * MATCH - GAP_OPEN);
        assert_eq!(query_len(&a.cigar), query.len());
    }

    #[test]
    fn unaligned_query_ends_are_clipped() {
        let target = b"ACGTACGGTCAGTTGACCA";
        let query = b"TTTTTTGTCAGTTGACTTTTTT";
        let a = LocalAligner::default().align(query, target).unwrap();
        assert_eq!(a.cigar.first(), Some(&(Op::Clip, 6)));
        assert_eq!(a.cigar.last(), Some(&(Op::Clip, 6)));
        assert_eq!(query_len(&a.cigar), query.len());
        assert_eq!(a.target_start, 7);
    }

    #[test]
    fn insertions_move_left_in_repeats() {
        // Query inserts one CA into a CA repeat; written at the right end, it moves to the left end.
        let query = b"GTCACACAGT";
        let target = b"GTCACAGT";
        let right = vec![(Op::Match, 6), (Op::Ins, 2), (Op::Match, 2)];
        assert_eq!(
            left_align(&right, query, target, 0),
            vec![(Op::Match, 2), (Op::Ins, 2), (Op::Match, 6)]
        );
    }

    #[test]
    fn ungapped_allows_two_mismatches_and_ns() {
        assert_eq!(ungapped(b"ACGTA", b"ACGTA", 2), Some((20, 0)));
        assert_eq!(ungapped(b"ACGTA", b"NCGTT", 2), Some((4 * 4 - 6, 1)));
        assert_eq!(ungapped(b"ACGTA", b"TTTTA", 2), None);
    }
}
