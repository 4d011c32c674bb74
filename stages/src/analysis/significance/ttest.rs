//! Paired t-test, as `scipy.stats.ttest_rel` (two-sided).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Result of a t-test on paired differences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// The t statistic.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Cohen's d_z: mean difference over the sample sd of the differences.
    pub effect_size: f64,
}

/// Mean and sample variance (ddof 1) of `d`; `d` has at least two values.
pub fn mean_var(d: &[f64]) -> (f64, f64) {
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Two-sided p-value of `t` under Student's t with `df` degrees of freedom (NaN when t is NaN).
pub fn two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => 2.0 * dist.cdf(-t.abs()),
        Err(_) => f64::NAN,
    }
}

/// Paired t-test of the differences `d` (at least two values): t = mean / (sd / sqrt(n)), df = n - 1.
///
/// Constant non-zero differences give an infinite t and p = 0; all-zero differences give NaN, as scipy.
pub fn paired_t(d: &[f64]) -> TTest {
    let n = d.len() as f64;
    let (mean, var) = mean_var(d);
    let sd = var.sqrt();
    let statistic = mean / (sd / n.sqrt());
    TTest {
        statistic,
        p_value: two_sided_p(statistic, n - 1.0),
        df: n - 1.0,
        effect_size: mean / sd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_value() {
        // d = 1, 2, 3, 4: mean 2.5, sd 1.2910, t = 3.8730, df 3, p = 0.030466 (R: t.test(paired=TRUE)).
        let t = paired_t(&[1.0, 2.0, 3.0, 4.0]);
        assert!((t.statistic - 3.872983346207417).abs() < 1e-12);
        assert!((t.p_value - 0.030466).abs() < 1e-6, "{}", t.p_value);
    }
}
