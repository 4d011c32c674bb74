//! Pairwise alignment for the realigner: Smith-Waterman with DeepVariant's scores, CIGAR-like edit
//! lists, and left-alignment of indels.
//!
//! DeepVariant scores a match +4, a mismatch -6 and a gap of length `g` -(8 + 2 (g - 1)) (`aln_match`,
//! `aln_mismatch`, `aln_gap_open`, `aln_gap_extend`); an `N` on either side scores 0, as in the SSW
//! library's default matrix. Among equally scoring alignments, indels are moved as far left as they go,
//! so read alignments come out left-normalised as DeepVariant requires.
//!
//! The aligner is a small affine-gap (Gotoh) Smith-Waterman of our own rather than rust-bio's: the
//! realigner aligns every read the fast pass cannot place to every haplotype and needs a traceback only
//! for the best one, so [`LocalAligner::score`] runs in two rows of memory over plain slices (fast even
//! in debug builds, where rust-bio's generic aligner is compiled unoptimised into this crate and fills
//! a full traceback matrix on every call), and [`LocalAligner::align`] traces back only inside the
//! rectangle that an alignment of the best score can span. rust-bio would also add some 70 crates.

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
    trace: Vec<u8>,
}

/// Best local score and the (query, target) end of the first cell reaching it, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestCell {
    /// Score.
    pub score: i32,
    /// Query bases up to the end of the alignment.
    pub query_end: usize,
    /// Target bases up to the end of the alignment.
    pub target_end: usize,
}

// Traceback bits: where H came from (2 bits), whether E and F extend (1 bit each).
const FROM_START: u8 = 0;
const FROM_DIAG: u8 = 1;
const FROM_E: u8 = 2;
const FROM_F: u8 = 3;
const E_EXTENDS: u8 = 4;
const F_EXTENDS: u8 = 8;

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
    /// The best local alignment score of `query` within `target` and where it ends (the first such
    /// cell, query-major), or `None` when nothing scores above 0.
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
                if cell > best.score {
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

    /// The best local alignment of `query` within `target`, indels left-aligned, or `None` when no
    /// alignment scores above 0. Unaligned query ends are [`Op::Clip`].
    pub fn align(&mut self, query: &[u8], target: &[u8]) -> Option<Alignment> {
        let best = self.score(query, target)?;
        // An alignment of this score spends at most (4 |query| - score) / 2 on deleted target bases.
        let span = query.len() + ((4 * query.len() as i32 - best.score).max(0) / 2) as usize + 1;
        let t0 = best.target_end.saturating_sub(span);
        let (q, t) = (&query[..best.query_end], &target[t0..best.target_end]);
        let (m, n) = (q.len(), t.len());
        self.trace.clear();
        self.trace.resize((m + 1) * (n + 1), FROM_START);
        self.h.clear();
        self.h.resize(n + 1, 0);
        self.f.clear();
        self.f.resize(n + 1, i32::MIN / 2);
        let mut profile = Profile::new(t);
        let (h, f, trace) = (&mut self.h[..], &mut self.f[..], &mut self.trace[..]);
        for i in 1..=m {
            let row = profile.row(q[i - 1], t);
            let (mut diag, mut e) = (0i32, i32::MIN / 2);
            let mut j = 1;
            while j <= n {
                let mut bits = 0u8;
                let (open_e, ext_e) = (h[j - 1] - GAP_OPEN, e - GAP_EXTEND);
                if ext_e > open_e {
                    bits |= E_EXTENDS;
                }
                e = larger(open_e, ext_e);
                let (open_f, ext_f) = (h[j] - GAP_OPEN, f[j] - GAP_EXTEND);
                if ext_f > open_f {
                    bits |= F_EXTENDS;
                }
                f[j] = larger(open_f, ext_f);
                let d = diag + row[j - 1];
                let (mut cell, mut from) = (0, FROM_START);
                if d > cell {
                    (cell, from) = (d, FROM_DIAG);
                }
                if e > cell {
                    (cell, from) = (e, FROM_E);
                }
                if f[j] > cell {
                    (cell, from) = (f[j], FROM_F);
                }
                diag = h[j];
                h[j] = cell;
                trace[i * (n + 1) + j] = bits | from;
                j += 1;
            }
        }
        if h[n] != best.score {
            return None;
        }
        // Trace back from the end cell; `state` is the matrix being followed (H, E or F).
        let (mut i, mut j, mut state) = (m, n, FROM_DIAG);
        let mut ops: Vec<Op> = Vec::new();
        loop {
            let bits = trace[i * (n + 1) + j];
            match state {
                FROM_E => {
                    ops.push(Op::Del);
                    j -= 1;
                    if bits & E_EXTENDS == 0 {
                        state = FROM_DIAG;
                    }
                }
                FROM_F => {
                    ops.push(Op::Ins);
                    i -= 1;
                    if bits & F_EXTENDS == 0 {
                        state = FROM_DIAG;
                    }
                }
                _ => match bits & 3 {
                    FROM_DIAG => {
                        ops.push(Op::Match);
                        i -= 1;
                        j -= 1;
                    }
                    FROM_E => state = FROM_E,
                    FROM_F => state = FROM_F,
                    _ => break,
                },
            }
            if i == 0 || j == 0 {
                break;
            }
        }
        let mut cigar = Cigar::new();
        push(&mut cigar, Op::Clip, i);
        for &op in ops.iter().rev() {
            push(&mut cigar, op, 1);
        }
        push(&mut cigar, Op::Clip, query.len() - best.query_end);
        let target_start = t0 + j;
        let cigar = left_align(&cigar, query, target, target_start);
        Some(Alignment {
            score: best.score,
            target_start,
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
