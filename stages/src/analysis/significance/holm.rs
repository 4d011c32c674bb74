//! Holm's step-down adjustment of p-values for multiple comparisons.

/// Holm-adjusted p-values, in the order of `p` (NaN values stay NaN and are not counted).
///
/// Sorted ascending, the i-th of m p-values becomes max over j <= i of min(1, (m - j) p_(j)) (0-based j),
/// as `statsmodels.stats.multitest.multipletests(method='holm')`.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p.len()];
    let mut running: f64 = 0.0;
    for (j, &i) in order.iter().enumerate() {
        running = running.max(((m - j) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_down_and_monotone() {
        let a = holm(&[0.01, 0.04, 0.03, f64::NAN]);
        assert_eq!(&a[..3], &[0.03, 0.06, 0.06]);
        assert!(a[3].is_nan());
        assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
    }
}
