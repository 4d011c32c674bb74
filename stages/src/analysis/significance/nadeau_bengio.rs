//! Nadeau and Bengio's corrected resampled t-test (Machine Learning 52, 2003).
//!
//! Differences from k cross-validation folds are not independent (training sets overlap), so the
//! variance of their mean is inflated: var(mean) = (1/k + n_test/n_train) * s^2, with s^2 the sample
//! variance of the k differences; t has k - 1 degrees of freedom. For k-fold CV n_test/n_train is
//! 1/(k-1).

use super::ttest::{mean_var, two_sided_p, TTest};

/// Corrected resampled t-test of the per-fold differences `d` (at least two) with test/train size
/// ratio `test_train_ratio` (`None`: 1/(k-1), k-fold cross-validation).
pub fn corrected_t(d: &[f64], test_train_ratio: Option<f64>) -> TTest {
    let k = d.len() as f64;
    let ratio = test_train_ratio.unwrap_or(1.0 / (k - 1.0));
    let (mean, var) = mean_var(d);
    let statistic = mean / ((1.0 / k + ratio) * var).sqrt();
    TTest {
        statistic,
        p_value: two_sided_p(statistic, k - 1.0),
        df: k - 1.0,
        effect_size: mean / var.sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::significance::ttest::paired_t;

    #[test]
    fn correction_shrinks_t_by_the_variance_factor() {
        let d = [0.01, 0.03, -0.005, 0.02, 0.015, 0.008];
        let plain = paired_t(&d);
        let corrected = corrected_t(&d, None);
        // plain t uses var/k; corrected uses (1/k + 1/(k-1)) var: ratio sqrt((1/6) / (1/6 + 1/5)).
        let factor = ((1.0f64 / 6.0) / (1.0 / 6.0 + 1.0 / 5.0)).sqrt();
        assert!((corrected.statistic - plain.statistic * factor).abs() < 1e-12);
        assert!(corrected.p_value > plain.p_value);
    }
}
