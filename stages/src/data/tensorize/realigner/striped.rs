//! Score-only Smith-Waterman of one query against many targets, striped over the query (Farrar,
//! Bioinformatics 2007) in SSE2's eight 16-bit lanes: the realigner scores every read the fast pass
//! cannot place against every haplotype, and this is most of its time.
//!
//! The scores are exactly [`LocalAligner::score`]'s (the same affine-gap recurrences and DeepVariant's
//! scores, `N` scoring 0; the tests compare the two on random sequences): unlike the SSW library's
//! striped loop, a gap along the target may follow a gap along the query directly. SSE2 is part of
//! every x86-64 CPU; on other architectures [`score`] runs the scalar aligner. No Rust crate offers an
//! exact striped local aligner on stable Rust without a C library (block-aligner's adaptive bands are
//! heuristic for local alignment, parasail-rs builds parasail's C sources, rust-bio is scalar).
//!
//! [`LocalAligner::score`]: super::alignment::LocalAligner::score

use super::alignment::base_score;

/// Query bases per lane group: SSE2 holds eight 16-bit scores.
const LANES: usize = 8;

/// The striped scores of one query against each target base that occurs, built on demand.
pub struct QueryProfile<'q> {
    query: &'q [u8],
    /// Vectors per target base: `ceil(query length / 8)`.
    segments: usize,
    /// Per target byte, `segments` vectors of eight scores: lane `l` of vector `k` scores query base
    /// `l * segments + k` (padding past the query's end scores far below anything reachable).
    by_target_base: Vec<Option<Vec<[i16; LANES]>>>,
}

/// A score no alignment reaches from below: low enough to stay negative after any additions, high
/// enough not to wrap in saturating 16-bit arithmetic.
const NEG: i16 = i16::MIN / 2;

impl<'q> QueryProfile<'q> {
    /// The profile of `query` (at most 4,000 bases, so that scores fit 16 bits).
    pub fn new(query: &'q [u8]) -> Self {
        Self {
            query,
            segments: query.len().div_ceil(LANES).max(1),
            by_target_base: vec![None; 256],
        }
    }

    fn row(&mut self, t: u8) -> &[[i16; LANES]] {
        let (query, segments) = (self.query, self.segments);
        self.by_target_base[usize::from(t)].get_or_insert_with(|| {
            (0..segments)
                .map(|k| {
                    std::array::from_fn(|l| match query.get(l * segments + k) {
                        Some(&q) => base_score(q, t) as i16,
                        None => NEG,
                    })
                })
                .collect()
        })
    }
}

/// The best local alignment score of the profile's query within `target`, or `None` when nothing
/// scores above 0: [`LocalAligner::score`]'s score.
///
/// [`LocalAligner::score`]: super::alignment::LocalAligner::score
pub fn score(profile: &mut QueryProfile, target: &[u8]) -> Option<i32> {
    if profile.query.is_empty() || target.is_empty() {
        return None;
    }
    let best = striped(profile, target);
    (best > 0).then_some(best)
}

#[cfg(target_arch = "x86_64")]
fn striped(profile: &mut QueryProfile, target: &[u8]) -> i32 {
    // SAFETY: SSE2 is part of the x86-64 baseline, so these intrinsics exist on every CPU this runs
    // on; every load and store goes through `[i16; 8]` arrays of the right size.
    unsafe { sse2::striped(profile, target) }
}

#[cfg(not(target_arch = "x86_64"))]
fn striped(profile: &mut QueryProfile, target: &[u8]) -> i32 {
    super::alignment::LocalAligner::default()
        .score(profile.query, target)
        .map_or(0, |b| b.score)
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    use super::{QueryProfile, LANES, NEG};
    use crate::data::tensorize::realigner::alignment::{GAP_EXTEND, GAP_OPEN};

    #[inline(always)]
    unsafe fn load(v: &[i16; LANES]) -> __m128i {
        _mm_loadu_si128(v.as_ptr().cast())
    }

    #[inline(always)]
    unsafe fn store(v: &mut [i16; LANES], x: __m128i) {
        _mm_storeu_si128(v.as_mut_ptr().cast(), x)
    }

    /// Lanes shifted up by one (lane `l` takes lane `l - 1`), lane 0 set to `fill`.
    #[inline(always)]
    unsafe fn shift_in(x: __m128i, fill: i16) -> __m128i {
        _mm_insert_epi16::<0>(_mm_slli_si128::<2>(x), i32::from(fill))
    }

    #[inline(always)]
    unsafe fn max_lane(x: __m128i) -> i16 {
        let mut lanes = [0i16; LANES];
        store(&mut lanes, x);
        lanes.into_iter().max().unwrap_or(NEG)
    }

    /// Farrar's loop with the lazy-F pass. `h_prev`/`h_cur` hold H of the previous and current target
    /// column, `e` the gap along the target entering the next column, per query segment.
    pub(super) unsafe fn striped(profile: &mut QueryProfile, target: &[u8]) -> i32 {
        let segments = profile.segments;
        let open = _mm_set1_epi16(GAP_OPEN as i16);
        let extend = _mm_set1_epi16(GAP_EXTEND as i16);
        let zero = _mm_setzero_si128();
        let mut h_prev = vec![[0i16; LANES]; segments];
        let mut h_cur = vec![[0i16; LANES]; segments];
        let mut e = vec![[NEG; LANES]; segments];
        let mut best = zero;
        for &t in target {
            let scores = profile.row(t);
            // H of the previous column one query base up: the diagonal predecessor.
            let mut h = shift_in(load(&h_prev[segments - 1]), 0);
            let mut f = _mm_set1_epi16(NEG);
            for k in 0..segments {
                h = _mm_adds_epi16(h, load(&scores[k]));
                let ek = load(&e[k]);
                h = _mm_max_epi16(_mm_max_epi16(h, ek), _mm_max_epi16(f, zero));
                store(&mut h_cur[k], h);
                best = _mm_max_epi16(best, h);
                let opened = _mm_subs_epi16(h, open);
                store(&mut e[k], _mm_max_epi16(_mm_subs_epi16(ek, extend), opened));
                f = _mm_max_epi16(_mm_subs_epi16(f, extend), opened);
                h = load(&h_prev[k]);
            }
            // Lazy F: carry the gap along the query across lanes until it no longer raises H.
            f = shift_in(f, NEG);
            let mut k = 0;
            loop {
                let hk = load(&h_cur[k]);
                // Where F <= H - open, F extended is below the gap that H opens, which the main loop
                // already carried on: nothing further down the query can change.
                if _mm_movemask_epi8(_mm_cmpgt_epi16(f, _mm_subs_epi16(hk, open))) == 0 {
                    break;
                }
                let h = _mm_max_epi16(hk, f);
                store(&mut h_cur[k], h);
                best = _mm_max_epi16(best, h);
                // A raised H opens gaps along the target; along the query only F itself extends
                // (the gap H opens there is F's own minus the difference of open and extend).
                let ek = _mm_max_epi16(load(&e[k]), _mm_subs_epi16(h, open));
                store(&mut e[k], ek);
                f = _mm_subs_epi16(f, extend);
                k += 1;
                if k == segments {
                    k = 0;
                    f = shift_in(f, NEG);
                }
            }
            std::mem::swap(&mut h_prev, &mut h_cur);
        }
        i32::from(max_lane(best))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tensorize::realigner::alignment::LocalAligner;

    /// A xorshift stream of bases (mostly ACGT, some N), for comparing the two aligners.
    fn bases(seed: &mut u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                b"ACGTACGTACGTACGTN"[(*seed % 17) as usize]
            })
            .collect()
    }

    /// `target` with random substitutions, insertions and deletions, about one in `every` bases.
    fn mutate(seed: &mut u64, target: &[u8], every: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in target {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            match *seed % (every * 4) {
                0 => {}
                1 => out.extend([b, b'A', b'C']),
                2 => out.push(b'T'),
                _ => out.push(b),
            }
        }
        out
    }

    #[test]
    fn striped_scores_equal_the_scalar_aligner() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut scalar = LocalAligner::default();
        for case in 0..400 {
            let target = bases(&mut seed, 20 + case % 300);
            let start = case % target.len();
            let piece = &target[start..(start + 1 + case % 150).min(target.len())];
            let related = mutate(&mut seed, piece, 2 + (case % 9) as u64);
            let unrelated = bases(&mut seed, 1 + case % 120);
            for query in [related, unrelated] {
                let want = scalar.score(&query, &target).map(|b| b.score);
                let mut profile = QueryProfile::new(&query);
                assert_eq!(score(&mut profile, &target), want, "case {case}");
            }
        }
    }

    #[test]
    fn one_profile_scores_many_targets_and_empty_inputs_score_nothing() {
        let query = b"ACGTTGCAAC";
        let mut profile = QueryProfile::new(query);
        assert_eq!(score(&mut profile, b"ACGTTGCAAC"), Some(40));
        assert_eq!(score(&mut profile, b"TTTTACGTTGTAACTT"), Some(9 * 4 - 6));
        assert_eq!(score(&mut profile, b"NNNN"), None);
        assert_eq!(score(&mut profile, b""), None);
        assert_eq!(score(&mut QueryProfile::new(b""), b"ACGT"), None);
    }
}
