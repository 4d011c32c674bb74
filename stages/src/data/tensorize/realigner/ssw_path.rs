//! Which of several equally scoring local alignments the realigner reports: the one the SSW library
//! (Zhao et al. 2013, which DeepVariant's realigner calls) reports, so that read and haplotype
//! alignments come out as DeepVariant's do in repeats, where many alignments tie.
//!
//! SSW finds an alignment in three passes, and so does this module:
//! 1. the end: the first target column, scanning left to right, that reaches the best score, and
//!    there the first query row holding it ([`super::alignment::LocalAligner::score`]);
//! 2. the begin: a local alignment of the reversed query and target prefixes ending there, whose
//!    first column and row reaching the best score (the same rule, so `LocalAligner::score` on the
//!    reversed prefixes) is the begin, i.e. the shortest span;
//! 3. the path ([`trace`]): a global affine-gap alignment of the two spans traced back from their
//!    ends with SSW's preferences: an aligned column before a gap, a deletion before an insertion,
//!    and extending a gap before opening it when both score the same.
//!
//! SSW traces inside a band around the diagonal that it widens until the best score fits; the path
//! here is traced over the whole span, which gives the same path whenever the band's best path is
//! not tied with one outside it.

use super::alignment::{base_score, push, Cigar, Op, GAP_EXTEND, GAP_OPEN};

// Directions of SSW's banded traceback, per cell and matrix.
const DIAG: u8 = 1;
const INS_EXTEND: u8 = 2;
const INS_OPEN: u8 = 3;
const DEL_EXTEND: u8 = 4;
const DEL_OPEN: u8 = 5;

/// Which matrix the traceback is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    H,
    Ins,
    Del,
}

/// The operations aligning all of `query` to all of `target` (the spans the begin and the end of an
/// alignment delimit), traced as SSW traces them.
pub fn trace(query: &[u8], target: &[u8]) -> Cigar {
    let (m, n) = (query.len(), target.len());
    let mut out = Cigar::new();
    if m == 0 {
        return out;
    }
    // Per cell: direction of H, of the insertion matrix (down the query) and of the deletion matrix.
    let mut dir = vec![[0u8; 3]; m * n];
    let mut h_up = vec![0i32; n];
    let mut ins_up = vec![0i32; n];
    let mut h_row = vec![0i32; n];
    for i in 0..m {
        let mut del = 0i32;
        for j in 0..n {
            let (open, extend) = if i == 0 {
                (-GAP_OPEN, -GAP_EXTEND)
            } else {
                (h_up[j] - GAP_OPEN, ins_up[j] - GAP_EXTEND)
            };
            let ins = open.max(extend);
            let ins_dir = if open > extend { INS_OPEN } else { INS_EXTEND };
            let left = if j == 0 { 0 } else { h_row[j - 1] };
            let (open, extend) = (left - GAP_OPEN, del - GAP_EXTEND);
            del = open.max(extend);
            let del_dir = if open > extend { DEL_OPEN } else { DEL_EXTEND };
            let (ins0, del0) = (ins.max(0), del.max(0));
            let gap = if ins0 > del0 { ins0 } else { del0 };
            let diag_in = if i == 0 || j == 0 { 0 } else { h_up[j - 1] };
            let diag = diag_in + base_score(query[i], target[j]);
            h_row[j] = gap.max(diag);
            let h_dir = if gap <= diag {
                DIAG
            } else if ins0 > del0 {
                ins_dir
            } else {
                del_dir
            };
            ins_up[j] = ins;
            dir[i * n + j] = [h_dir, ins_dir, del_dir];
        }
        std::mem::swap(&mut h_up, &mut h_row);
    }
    let (mut i, mut j, mut state) = (m - 1, n - 1, State::H);
    let mut ops: Vec<Op> = Vec::with_capacity(m + n);
    while i > 0 {
        let d = dir[i * n + j];
        let step = match state {
            State::H => d[0],
            State::Ins => d[1],
            State::Del => d[2],
        };
        let op = match step {
            DIAG if j > 0 => {
                (i, j, state) = (i - 1, j - 1, State::H);
                Op::Match
            }
            INS_EXTEND => {
                (i, state) = (i - 1, State::Ins);
                Op::Ins
            }
            DEL_EXTEND if j > 0 => {
                (j, state) = (j - 1, State::Del);
                Op::Del
            }
            DEL_OPEN if j > 0 => {
                (j, state) = (j - 1, State::H);
                Op::Del
            }
            // INS_OPEN, and a diagonal or deletion step off the target's first base.
            _ => {
                (i, state) = (i - 1, State::H);
                Op::Ins
            }
        };
        ops.push(op);
    }
    // The cell the trace ends on, in the query's first row, is an aligned column.
    ops.push(Op::Match);
    for &op in ops.iter().rev() {
        push(&mut out, op, 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deletion_in_a_homopolymer_is_traced_at_its_left_end() {
        // Target AAAA, query AAA between the same flanks: SSW puts the deletion first.
        let cigar = trace(b"CTGAAACG", b"CTGAAAACG");
        assert_eq!(cigar, vec![(Op::Match, 3), (Op::Del, 1), (Op::Match, 5)]);
    }

    #[test]
    fn an_insertion_in_a_dinucleotide_repeat_is_traced_at_its_left_end() {
        let cigar = trace(b"GGGTCACACAGT", b"GGGTCACAGT");
        assert_eq!(cigar, vec![(Op::Match, 4), (Op::Ins, 2), (Op::Match, 6)]);
    }

    #[test]
    fn matching_spans_trace_one_aligned_run() {
        assert_eq!(trace(b"ACGTTGCA", b"ACGTTGCA"), vec![(Op::Match, 8)]);
        assert_eq!(trace(b"ACGATGCA", b"ACGTTGCA"), vec![(Op::Match, 8)]);
    }
}
