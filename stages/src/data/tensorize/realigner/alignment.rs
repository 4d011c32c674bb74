//! Pairwise alignment for the realigner: Smith-Waterman with DeepVariant's scores and CIGAR-like edit
//! lists.
//!
//! DeepVariant scores a match +4, a mismatch -6 and a gap of length `g` -(8 + 2 (g - 1)) (`aln_match`,
//! `aln_mismatch`, `aln_gap_open`, `aln_gap_extend`); an `N` on either side scores 0, as in the SSW
//! library's default matrix. Among equally scoring alignments the one reported is the one SSW reports
//! ([`super::ssw_path`]).
//!
//! The aligner is a small affine-gap (Gotoh) Smith-Waterman of our own rather than rust-bio's: the
//! realigner aligns every read the fast pass cannot place to every haplotype and needs a traceback only
//! for the best one, so [`LocalAligner::score`] runs in two rows of memory over plain slices (fast even
//! in debug builds, where rust-bio's generic aligner is compiled unoptimised into this crate and fills
//! a full traceback matrix on every call), and [`LocalAligner::align`] traces back only over the span
//! of the alignment SSW would report. rust-bio would also add some 70 crates.

use super::ssw_path;

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

/// Smith-Waterman aligner with DeepVariant's scores; keeps its buffers between calls.
#[derive(Debug, Default)]
pub struct LocalAligner {
    h: Vec<i32>,
    f: Vec<i32>,
}

/// Best local score and the (query, target) end of the alignment SSW reports, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestCell {
    /// Score.
    pub score: i32,
    /// Query bases up to the end of the alignment.
    pub query_end: usize,
    /// Target bases up to the end of the alignment.
    pub target_end: usize,
}

/// The larger of two scores (a plain comparison: `Ord::max` is a call in unoptimised builds, and the
/// inner loops below run in debug-build tests).
#[inline(always)]
fn larger(a: i32, b: i32) -> i32 {
    if a > b {
        a
    } else {
        b
    }
}

/// `base_score(b, t)` for each target base `t`, for `b` = A, C, G, T and N; other query bases are
/// profiled on demand.
struct Profile {
    rows: [Vec<i32>; 5],
    other: Vec<i32>,
}

impl Profile {
    fn new(target: &[u8]) -> Self {
        let row = |q: u8| {
            target
                .iter()
                .map(|&t| base_score(q, t))
                .collect::<Vec<i32>>()
        };
        Self {
            rows: [row(b'A'), row(b'C'), row(b'G'), row(b'T'), row(b'N')],
            other: Vec::new(),
        }
    }

    fn row(&mut self, q: u8, target: &[u8]) -> &[i32] {
        match q {
            b'A' => &self.rows[0],
            b'C' => &self.rows[1],
            b'G' => &self.rows[2],
            b'T' => &self.rows[3],
            b'N' => &self.rows[4],
            _ => {
                self.other.clear();
                self.other.extend(target.iter().map(|&t| base_score(q, t)));
                &self.other
            }
        }
    }
}

impl LocalAligner {
    /// The best local alignment score of `query` within `target` and where it ends (SSW's end: the
    /// first target column reaching it, and there the first query row), or `None` when nothing scores
    /// above 0.
    pub fn score(&mut self, query: &[u8], target: &[u8]) -> Option<BestCell> {
        let n = target.len();
        self.h.clear();
        self.h.resize(n + 1, 0);
        self.f.clear();
        self.f.resize(n + 1, i32::MIN / 2);
        let mut profile = Profile::new(target);
        let (h, f) = (&mut self.h[..], &mut self.f[..]);
        let mut best = BestCell {
            score: 0,
            query_end: 0,
            target_end: 0,
        };
        for (i, &q) in query.iter().enumerate() {
            let row = profile.row(q, target);
            let (mut diag, mut e) = (0i32, i32::MIN / 2);
            // A while loop: range iterators are calls in unoptimised builds.
            let mut j = 1;
            while j <= n {
                e = larger(h[j - 1] - GAP_OPEN, e - GAP_EXTEND);
                f[j] = larger(h[j] - GAP_OPEN, f[j] - GAP_EXTEND);
                let cell = larger(larger(diag + row[j - 1], e), larger(f[j], 0));
                diag = h[j];
                h[j] = cell;
                // SSW's end: the first target column reaching the best score, there the first row.
                if cell > best.score || (cell == best.score && cell > 0 && j < best.target_end) {
                    best = BestCell {
                        score: cell,
                        query_end: i + 1,
                        target_end: j,
                    };
                }
                j += 1;
            }
        }
        (best.score > 0).then_some(best)
    }

    /// The best local alignment of `query` within `target` as the SSW library reports it (see
    /// [`ssw_path`]), or `None` when no alignment scores above 0. Unaligned query ends are
    /// [`Op::Clip`].
    pub fn align(&mut self, query: &[u8], target: &[u8]) -> Option<Alignment> {
        let best = self.score(query, target)?;
        let (query_end, target_end) = (best.query_end - 1, best.target_end - 1);
        let (query_begin, target_begin) = self.begin(query, target, best)?;
        let mut cigar = Cigar::new();
        push(&mut cigar, Op::Clip, query_begin);
        let path = ssw_path::trace(
            &query[query_begin..=query_end],
            &target[target_begin..=target_end],
        );
        for (op, len) in path {
            push(&mut cigar, op, len);
        }
        push(&mut cigar, Op::Clip, query.len() - 1 - query_end);
        Some(Alignment {
            score: best.score,
            target_start: target_begin,
            cigar,
        })
    }

    /// Offsets of the first aligned query and target bases of the alignment ending at `end`, found as
    /// SSW's reverse pass finds them: [`LocalAligner::score`] of the reversed query and target prefixes
    /// (its tie rule, the first column and there the first row, is SSW's), which gives the shortest
    /// span reaching the score. The target prefix is cut to what an alignment of this score can span.
    fn begin(&mut self, query: &[u8], target: &[u8], end: BestCell) -> Option<(usize, usize)> {
        // An alignment of this score spends at most (4 |query| - score) / 2 on deleted target bases.
        let span = end.query_end + ((4 * end.query_end as i32 - end.score).max(0) / 2) as usize + 1;
        let t0 = end.target_end.saturating_sub(span);
        let query_rev: Vec<u8> = query[..end.query_end].iter().rev().copied().collect();
        let target_rev: Vec<u8> = target[t0..end.target_end].iter().rev().copied().collect();
        let back = self.score(&query_rev, &target_rev)?;
        (back.score == end.score).then(|| {
            (
                end.query_end - back.query_end,
                end.target_end - back.target_end,
            )
        })
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
    fn local_alignment_puts_a_homopolymer_deletion_first_as_ssw_does() {
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
    fn the_alignment_begins_where_the_shortest_span_reaches_the_score() {
        // GGAC against GGAC: the leading A of the query is clipped, not aligned at a loss.
        let a = LocalAligner::default()
            .align(b"AGGACTTTTT", b"TTGGACTTTTTCC")
            .unwrap();
        assert_eq!(a.target_start, 2);
        assert_eq!(a.cigar, vec![(Op::Clip, 1), (Op::Match, 9)]);
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
    fn ungapped_allows_two_mismatches_and_ns() {
        assert_eq!(ungapped(b"ACGTA", b"ACGTA", 2), Some((20, 0)));
        assert_eq!(ungapped(b"ACGTA", b"NCGTT", 2), Some((4 * 4 - 6, 1)));
        assert_eq!(ungapped(b"ACGTA", b"TTTTA", 2), None);
    }
}
