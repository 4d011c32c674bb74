//! Wilcoxon signed-rank test with the defaults of `scipy.stats.wilcoxon` (scipy 1.17).
//!
//! scipy's defaults are `zero_method='wilcox'` (zero differences are dropped), `correction=False`,
//! `alternative='two-sided'` and `method='auto'`, which picks, with `n` the number of differences
//! *including* zeros:
//! - `n > 50`: the normal approximation;
//! - no ties among the non-zero |d| and no zeros: the exact null distribution of the signed-rank sum;
//! - ties or zeros and `n <= 13`: an exhaustive permutation test (all sign flips, deterministic);
//! - ties or zeros and `13 < n <= 50`: the normal approximation.
//!
//! The normal approximation uses the tie-corrected variance of the non-zero differences and no continuity
//! correction. The exact test and the exhaustive permutation test agree on the same null distribution,
//! the sum of signed (average) ranks over all 2^m sign assignments of the m non-zero differences, which is
//! computed here by counting subset sums of doubled ranks (integers, so comparisons are exact).

use statrs::distribution::{ContinuousCDF, Normal};

use super::rank::{average_ranks, tie_term};

/// How the p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact null distribution (no ties, no zeros, n <= 50).
    Exact,
    /// Exhaustive permutation over sign flips (ties or zeros, n <= 13).
    Permutation,
    /// Normal approximation with tie correction.
    Normal,
}

/// Result of a two-sided Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wilcoxon {
    /// min(R+, R-), as scipy reports for the two-sided test.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Sum of ranks of the positive differences.
    pub r_plus: f64,
    /// Sum of ranks of the negative differences.
    pub r_minus: f64,
    /// How the p-value was computed.
    pub method: Method,
}

impl Wilcoxon {
    /// Matched-pairs rank-biserial correlation (R+ - R-) / (R+ + R-), in [-1, 1]; 0 when every difference
    /// is zero.
    pub fn rank_biserial(&self) -> f64 {
        let total = self.r_plus + self.r_minus;
        if total == 0.0 {
            0.0
        } else {
            (self.r_plus - self.r_minus) / total
        }
    }
}

/// Two-sided Wilcoxon signed-rank test of the paired differences `d` (x - y), scipy defaults.
///
/// `d` must not contain NaN (the caller checks its inputs).
pub fn wilcoxon(d: &[f64]) -> Wilcoxon {
    let n = d.len();
    let nonzero: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    let zeros = n - nonzero.len();
    let abs: Vec<f64> = nonzero.iter().map(|v| v.abs()).collect();
    let (ranks, groups) = average_ranks(&abs);
    let has_ties = groups.iter().any(|&t| t > 1);
    let r_plus: f64 = nonzero
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        // fold from +0.0: an empty f64 sum is -0.0, which would print as a negative statistic.
        .fold(0.0, |acc, (_, r)| acc + r);
    let r_minus: f64 = nonzero
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v < 0.0)
        // fold from +0.0: an empty f64 sum is -0.0, which would print as a negative statistic.
        .fold(0.0, |acc, (_, r)| acc + r);
    let method = if n > 50 {
        Method::Normal
    } else if !has_ties && zeros == 0 {
        Method::Exact
    } else if n <= 13 {
        Method::Permutation
    } else {
        Method::Normal
    };
    let p_value = match method {
        Method::Normal => normal_p(nonzero.len(), r_plus, tie_term(&groups)),
        Method::Exact | Method::Permutation => {
            // Average ranks are multiples of 1/2: double them to count subset sums in integers.
            let doubled: Vec<usize> = ranks.iter().map(|r| (r * 2.0).round() as usize).collect();
            let observed = (r_plus * 2.0).round() as usize;
            exact_p(&doubled, observed)
        }
    };
    Wilcoxon {
        statistic: r_plus.min(r_minus),
        p_value,
        r_plus,
        r_minus,
        method,
    }
}

/// Two-sided p-value of the observed (doubled) positive-rank sum over all sign assignments of `doubled`.
fn exact_p(doubled: &[usize], observed: usize) -> f64 {
    let total: usize = doubled.iter().sum();
    // counts[s]: number of subsets of the ranks whose doubled sum is s (exact in f64 up to 2^53).
    let mut counts = vec![0.0f64; total + 1];
    counts[0] = 1.0;
    let mut reach = 0;
    for &r in doubled {
        for s in (0..=reach).rev() {
            if counts[s] != 0.0 {
                counts[s + r] += counts[s];
            }
        }
        reach += r;
    }
    let all = 2f64.powi(doubled.len() as i32);
    let less: f64 = counts[..=observed].iter().sum::<f64>() / all;
    let greater: f64 = counts[observed..].iter().sum::<f64>() / all;
    (2.0 * less.min(greater)).min(1.0)
}

/// Two-sided p-value of the normal approximation (no continuity correction) with tie correction.
fn normal_p(count: usize, r_plus: f64, ties: f64) -> f64 {
    let m = count as f64;
    let mean = m * (m + 1.0) * 0.25;
    let se = ((m * (m + 1.0) * (2.0 * m + 1.0) - ties / 2.0) / 24.0).sqrt();
    let z = (r_plus - mean) / se;
    if z.is_nan() {
        return f64::NAN;
    }
    let normal = Normal::standard();
    2.0 * normal.cdf(-z.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_positive_six_pairs_is_one_in_thirty_two() {
        // The study's RegNet F1 result: every fold better, n = 6, p = 2 / 2^6.
        let w = wilcoxon(&[0.01, 0.02, 0.03, 0.04, 0.05, 0.06]);
        assert_eq!(w.method, Method::Exact);
        assert_eq!(w.statistic, 0.0);
        assert!(w.statistic.is_sign_positive());
        assert!((w.p_value - 0.03125).abs() < 1e-15);
        assert_eq!(w.rank_biserial(), 1.0);
    }

    #[test]
    fn zeros_and_ties_pick_the_permutation_test_then_the_normal_approximation() {
        assert_eq!(
            wilcoxon(&[0.0, 1.0, 1.0, -2.0, 3.0]).method,
            Method::Permutation
        );
        let d: Vec<f64> = (0..20)
            .map(|i| if i == 0 { 0.0 } else { i as f64 })
            .collect();
        assert_eq!(wilcoxon(&d).method, Method::Normal);
        assert!(wilcoxon(&[0.0, 0.0, 0.0]).p_value == 1.0);
    }
}
