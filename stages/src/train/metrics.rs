//! Classification metrics, defined exactly as scikit-learn defines them.
//!
//! - accuracy: correct / n.
//! - precision, recall, F1: macro averages over the classes present in `y_true` or `y_pred`
//!   (sklearn's `unique_labels`), `zero_division=0`; F1 per class is `2 tp / (true + predicted)`.
//! - MCC: sklearn's multiclass `matthews_corrcoef` (0 when a marginal is constant).
//! - ROC AUC: `roc_auc_score(y, p, multi_class='ovr'|'ovo', average='macro')`: binary AUCs are the
//!   trapezoid under the ROC curve over distinct score thresholds, so tied scores count half.
//!
//! Where sklearn raises (a class that has no example in `y_true`, probabilities that do not sum to 1),
//! the AUC is NaN and a warning explains why; nothing panics.

/// The metrics an epoch records for each split, in the epochs table's column order (the loss is the
/// trainer's, the rest [`Metrics`]). The one list of metric names: early stopping, import_results,
/// aggregate, significance and the report take theirs from here.
pub const METRICS: [&str; 8] = [
    "loss",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "auc_ovr",
    "auc_ovo",
    "mcc",
];

/// One split's metrics for one epoch (the loss is supplied by the caller).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Macro precision.
    pub precision: f64,
    /// Macro recall.
    pub recall: f64,
    /// Macro F1.
    pub f1: f64,
    /// One-vs-rest macro ROC AUC (NaN when sklearn would raise).
    pub auc_ovr: f64,
    /// One-vs-one macro ROC AUC (NaN when sklearn would raise).
    pub auc_ovo: f64,
    /// Matthews correlation coefficient.
    pub mcc: f64,
}

/// Metrics plus the reasons for any NaN among them.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The values.
    pub metrics: Metrics,
    /// Human-readable warnings (e.g. why the AUC is undefined).
    pub warnings: Vec<String>,
}

/// Index of the largest probability (the first one on ties, like `argmax`).
pub fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Computes every metric from true classes and class probabilities (`probs` is row-major, `n x k`).
///
/// The predicted class is the argmax of each row. `k` is the number of classes the model outputs.
pub fn evaluate(y_true: &[usize], probs: &[f64], k: usize) -> Report {
    assert_eq!(probs.len(), y_true.len() * k, "probs must be n x k");
    let y_pred: Vec<usize> = probs.chunks(k).map(argmax).collect();
    let mut warnings = Vec::new();
    let (precision, recall, f1) = precision_recall_f1(y_true, &y_pred, k);
    let auc_ovr = roc_auc_multiclass(y_true, probs, k, Multiclass::Ovr).unwrap_or_else(|w| {
        warnings.push(format!("auc_ovr is NaN: {w}"));
        f64::NAN
    });
    let auc_ovo = roc_auc_multiclass(y_true, probs, k, Multiclass::Ovo).unwrap_or_else(|w| {
        warnings.push(format!("auc_ovo is NaN: {w}"));
        f64::NAN
    });
    Report {
        metrics: Metrics {
            accuracy: accuracy(y_true, &y_pred),
            precision,
            recall,
            f1,
            auc_ovr,
            auc_ovo,
            mcc: mcc(y_true, &y_pred, k),
        },
        warnings,
    }
}

/// Fraction of positions where `y_true` equals `y_pred` (NaN when empty).
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    let correct = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
    correct as f64 / y_true.len() as f64
}

/// `k x k` confusion matrix, rows true, columns predicted.
fn confusion(y_true: &[usize], y_pred: &[usize], k: usize) -> Vec<Vec<u64>> {
    let mut c = vec![vec![0u64; k]; k];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        c[t][p] += 1;
    }
    c
}

fn divide_or_zero(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// Macro precision, recall and F1 over the classes present in `y_true` or `y_pred`, `zero_division=0`.
pub fn precision_recall_f1(y_true: &[usize], y_pred: &[usize], k: usize) -> (f64, f64, f64) {
    let c = confusion(y_true, y_pred, k);
    let (mut p, mut r, mut f, mut n) = (0.0, 0.0, 0.0, 0usize);
    for class in 0..k {
        let tp = c[class][class] as f64;
        let true_sum: u64 = c[class].iter().sum();
        let pred_sum: u64 = c.iter().map(|row| row[class]).sum();
        if true_sum == 0 && pred_sum == 0 {
            continue;
        }
        n += 1;
        p += divide_or_zero(tp, pred_sum as f64);
        r += divide_or_zero(tp, true_sum as f64);
        f += divide_or_zero(2.0 * tp, (true_sum + pred_sum) as f64);
    }
    let n = n as f64;
    (p / n, r / n, f / n)
}

/// sklearn's multiclass Matthews correlation coefficient.
pub fn mcc(y_true: &[usize], y_pred: &[usize], k: usize) -> f64 {
    let c = confusion(y_true, y_pred, k);
    let t_sum: Vec<i128> = c
        .iter()
        .map(|row| row.iter().sum::<u64>() as i128)
        .collect();
    let p_sum: Vec<i128> = (0..k)
        .map(|j| c.iter().map(|row| row[j]).sum::<u64>() as i128)
        .collect();
    let n_correct: i128 = (0..k).map(|i| c[i][i] as i128).sum();
    let n: i128 = p_sum.iter().sum();
    let dot = |a: &[i128], b: &[i128]| a.iter().zip(b).map(|(x, y)| x * y).sum::<i128>();
    let cov_ytyp = n_correct * n - dot(&t_sum, &p_sum);
    let cov_ypyp = n * n - dot(&p_sum, &p_sum);
    let cov_ytyt = n * n - dot(&t_sum, &t_sum);
    if cov_ypyp * cov_ytyt == 0 {
        return 0.0;
    }
    cov_ytyp as f64 / ((cov_ytyt * cov_ypyp) as f64).sqrt()
}

/// Area under the ROC curve of binary labels against scores; ties in scores form one threshold.
///
/// Errors when only one class is present (sklearn raises then).
pub fn roc_auc_binary(positive: &[bool], scores: &[f64]) -> Result<f64, String> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Descending by score; NaN scores are rejected by the caller's probability check.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tps, mut fps) = (Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0u64, 0u64);
    for (i, &idx) in order.iter().enumerate() {
        if positive[idx] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_threshold = i + 1 == order.len() || scores[order[i + 1]] != scores[idx];
        if last_of_threshold {
            tps.push(tp);
            fps.push(fp);
        }
    }
    if tp == 0 || fp == 0 {
        return Err(
            "only one class is present in y_true; ROC AUC is not defined in that case".into(),
        );
    }
    let (tp_all, fp_all) = (tp as f64, fp as f64);
    let mut area = 0.0;
    let (mut x0, mut y0) = (0.0, 0.0);
    for (&t, &f) in tps.iter().zip(&fps) {
        let (x1, y1) = (f as f64 / fp_all, t as f64 / tp_all);
        area += (x1 - x0) * (y1 + y0) / 2.0;
        (x0, y0) = (x1, y1);
    }
    Ok(area)
}

/// How a multiclass ROC AUC combines binary AUCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multiclass {
    /// Each class against the rest, macro average.
    Ovr,
    /// Each pair of classes, both directions averaged, macro average over pairs.
    Ovo,
}

/// `roc_auc_score(y_true, probs, multi_class=..., average='macro')`; `Err` says why sklearn would raise.
pub fn roc_auc_multiclass(
    y_true: &[usize],
    probs: &[f64],
    k: usize,
    how: Multiclass,
) -> Result<f64, String> {
    if y_true.is_empty() {
        return Err("no examples".into());
    }
    if let Some((row, _)) = probs
        .chunks(k)
        .enumerate()
        .find(|(_, r)| r.iter().any(|v| !v.is_finite()))
    {
        return Err(format!("row {row} has a non-finite probability"));
    }
    if let Some((row, sum)) = probs
        .chunks(k)
        .map(|r| r.iter().sum::<f64>())
        .enumerate()
        .find(|(_, s)| (s - 1.0).abs() > 1e-8 + 1e-5 * s.abs())
    {
        return Err(format!(
            "target scores need to be probabilities (row {row} sums to {sum})"
        ));
    }
    let mut present = vec![false; k];
    for &t in y_true {
        present[t] = true;
    }
    let missing: Vec<usize> = (0..k).filter(|&c| !present[c]).collect();
    if !missing.is_empty() {
        return Err(format!(
            "class(es) {missing:?} have no example in y_true, so the number of classes in y_true \
             is not the number of columns in the scores (sklearn raises here)"
        ));
    }
    let column =
        |rows: &[usize], c: usize| -> Vec<f64> { rows.iter().map(|&i| probs[i * k + c]).collect() };
    let all: Vec<usize> = (0..y_true.len()).collect();
    let mut scores = Vec::new();
    match how {
        Multiclass::Ovr => {
            for c in 0..k {
                let positive: Vec<bool> = y_true.iter().map(|&t| t == c).collect();
                scores.push(roc_auc_binary(&positive, &column(&all, c))?);
            }
        }
        Multiclass::Ovo => {
            for a in 0..k {
                for b in a + 1..k {
                    let rows: Vec<usize> = all
                        .iter()
                        .copied()
                        .filter(|&i| y_true[i] == a || y_true[i] == b)
                        .collect();
                    let is_a: Vec<bool> = rows.iter().map(|&i| y_true[i] == a).collect();
                    let is_b: Vec<bool> = is_a.iter().map(|x| !x).collect();
                    let auc_a = roc_auc_binary(&is_a, &column(&rows, a))?;
                    let auc_b = roc_auc_binary(&is_b, &column(&rows, b))?;
                    scores.push((auc_a + auc_b) / 2.0);
                }
            }
        }
    }
    Ok(scores.iter().sum::<f64>() / scores.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_auc_counts_ties_as_half() {
        // One positive and one negative with the same score: AUC 0.5.
        assert_eq!(roc_auc_binary(&[true, false], &[0.3, 0.3]).unwrap(), 0.5);
        assert_eq!(
            roc_auc_binary(&[true, false, true, false], &[0.9, 0.1, 0.8, 0.2]).unwrap(),
            1.0
        );
        assert!(roc_auc_binary(&[true, true], &[0.1, 0.2]).is_err());
    }

    #[test]
    fn missing_class_gives_nan_auc_with_a_warning() {
        let y = [0, 1, 0, 1];
        let p = [0.7, 0.2, 0.1, 0.2, 0.7, 0.1, 0.5, 0.4, 0.1, 0.1, 0.1, 0.8];
        let r = evaluate(&y, &p, 3);
        assert!(r.metrics.auc_ovr.is_nan() && r.metrics.auc_ovo.is_nan());
        assert_eq!(r.warnings.len(), 2);
        assert!(r.warnings[0].contains("[2]"), "{:?}", r.warnings);
        // Predicted class 2 still counts in the macro average (sklearn's unique_labels).
        let (p, _, _) = precision_recall_f1(&y, &[0, 1, 0, 2], 3);
        assert!((p - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn mcc_is_zero_for_a_constant_prediction() {
        assert_eq!(mcc(&[0, 1, 2], &[1, 1, 1], 3), 0.0);
        assert_eq!(mcc(&[0, 1, 2], &[0, 1, 2], 3), 1.0);
    }

    /// Deterministic test cases: (y_true, probs) with k = 3; probabilities are rounded to one decimal so
    /// scores tie often.
    fn cases() -> Vec<(Vec<usize>, Vec<f64>)> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut out = Vec::new();
        for (n, classes) in [(40, 3), (200, 3), (25, 2), (60, 3), (9, 3)] {
            let y: Vec<usize> = (0..n).map(|_| rng.random_range(0..classes)).collect();
            let mut p = Vec::new();
            for &t in &y {
                // Tenths that sum to 10, biased towards the true class.
                let a = rng.random_range(0..=10u32);
                let b = rng.random_range(0..=10 - a);
                let mut row = [a, b, 10 - a - b];
                if rng.random_bool(0.6) {
                    let max = (0..3).max_by_key(|&i| row[i]).unwrap_or(0);
                    row.swap(max, t);
                }
                p.extend(row.iter().map(|&v| f64::from(v) / 10.0));
            }
            out.push((y, p));
        }
        // Class 2 never true but sometimes predicted.
        out.push((
            vec![0, 1, 0, 1, 1],
            vec![
                0.6, 0.3, 0.1, 0.2, 0.2, 0.6, 0.5, 0.5, 0.0, 0.1, 0.9, 0.0, 0.3, 0.3, 0.4,
            ],
        ));
        out
    }

    const SKLEARN: &str = r#"
import json, sys, warnings
import numpy as np
from sklearn.metrics import precision_score, recall_score, f1_score, roc_auc_score, matthews_corrcoef
warnings.simplefilter("ignore")
out = []
for y, p in json.load(sys.stdin):
    y = np.array(y); p = np.array(p).reshape(len(y), 3); pred = p.argmax(axis=1)
    def auc(m):
        try:
            return roc_auc_score(y, p, multi_class=m, average="macro")
        except ValueError:
            return None
    out.append([float((y == pred).mean()),
                precision_score(y, pred, average="macro", zero_division=0),
                recall_score(y, pred, average="macro", zero_division=0),
                f1_score(y, pred, average="macro", zero_division=0),
                auc("ovr"), auc("ovo"), matthews_corrcoef(y, pred)])
print(json.dumps(out))
"#;

    #[test]
    fn matches_scikit_learn() {
        let Some(python) = std::env::var_os("PIPE_PYTHON") else {
            pipe_testkit::skip("PIPE_PYTHON is not set (needs scikit-learn)");
            return;
        };
        let cases = cases();
        let mut child = std::process::Command::new(python)
            .args(["-c", SKLEARN])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let input = serde_json::to_vec(&cases).unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            pipe_testkit::skip("PIPE_PYTHON cannot run scikit-learn");
            return;
        }
        let expected: Vec<Vec<Option<f64>>> = serde_json::from_slice(&out.stdout).unwrap();
        let mut worst = 0.0f64;
        for ((y, p), want) in cases.iter().zip(&expected) {
            let m = evaluate(y, p, 3).metrics;
            let got = [
                m.accuracy,
                m.precision,
                m.recall,
                m.f1,
                m.auc_ovr,
                m.auc_ovo,
                m.mcc,
            ];
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                match w {
                    Some(w) => {
                        assert!(
                            (g - w).abs() <= 1e-12,
                            "metric {i}: {g} vs sklearn {w} (y={y:?})"
                        );
                        worst = worst.max((g - w).abs());
                    }
                    None => assert!(g.is_nan(), "metric {i}: sklearn raised, we gave {g}"),
                }
            }
        }
        eprintln!("largest difference from scikit-learn: {worst:e}");
    }
}
