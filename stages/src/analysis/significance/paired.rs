//! Per-fold values of one metric, paired across architectures, from a final table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::analysis::aggregate_calls::CALLING_METRICS;
use crate::analysis::frame::{Frame, Values};
use crate::analysis::tables::{EpochRow, EPOCH_FLOATS};

/// The metric columns a final table can have: the epochs table's (aggregate's final table) and the
/// variant-calling metrics (aggregate_calls' final table).
pub fn known_metrics() -> Vec<&'static str> {
    EPOCH_FLOATS
        .iter()
        .chain(&CALLING_METRICS)
        .copied()
        .collect()
}

/// Checks a `metrics` parameter at plan time: every name is one of `known`.
pub fn check_metrics(metrics: &[String], known: &[&str]) -> anyhow::Result<()> {
    if metrics.is_empty() {
        bail!("params.metrics: list at least one metric");
    }
    for m in metrics {
        if !known.contains(&m.as_str()) {
            bail!(
                "params.metrics: '{m}' is not a metric (one of {})",
                known.join(", ")
            );
        }
    }
    Ok(())
}

/// Values of one metric for every architecture on the same folds.
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    /// The metric.
    pub metric: String,
    /// Folds, ascending.
    pub folds: Vec<i32>,
    /// Architecture to its values, one per fold in `folds` order; architectures sorted by name.
    pub values: BTreeMap<String, Vec<f64>>,
}

impl Paired {
    /// Pairs the values of `metric` in the final-table rows read from `source`.
    pub fn from_rows(rows: &[EpochRow], metric: &str, source: &Path) -> Result<Self> {
        let values = rows
            .iter()
            .map(|r| (r.arch.as_str(), r.fold, r.metric(metric)));
        Self::from_values(values, metric, source, &EPOCH_FLOATS)
    }

    /// Pairs the values of `metric` in a final table read as a frame from `source`: columns `arch`,
    /// `fold` and the metric (aggregate's or aggregate_calls' final table).
    pub fn from_frame(table: &Frame, metric: &str, source: &Path) -> Result<Self> {
        let file = source.display();
        let arch = table
            .strings("arch")
            .with_context(|| format!("{file}: not a final table"))?;
        let fold = table
            .ints("fold")
            .with_context(|| format!("{file}: not a final table"))?;
        let column = table.floats(metric).ok();
        let folds = fold
            .iter()
            .map(|&f| i32::try_from(f).with_context(|| format!("{file}: fold {f} is out of range")))
            .collect::<Result<Vec<i32>>>()?;
        let known: Vec<&str> = table
            .columns
            .iter()
            .filter(|(_, v)| matches!(v, Values::Float(_)))
            .map(|(n, _)| n.as_str())
            .collect();
        let values = (0..table.rows()).map(|i| (arch[i].as_str(), folds[i], column.map(|c| c[i])));
        Self::from_values(values, metric, source, &known)
    }

    /// Pairs `(arch, fold, value of metric)` triples read from `source`, whose metric columns are
    /// `known`.
    ///
    /// Errors name the file and say what to fix: an unknown metric, a repeated (arch, fold), a missing
    /// value, folds that are not the same for every architecture (listing which are missing), fewer than
    /// two folds.
    fn from_values<'a>(
        values: impl ExactSizeIterator<Item = (&'a str, i32, Option<f64>)>,
        metric: &str,
        source: &Path,
        known: &[&str],
    ) -> Result<Self> {
        let file = source.display();
        if values.len() == 0 {
            bail!("{file}: the table has no rows");
        }
        let mut by_arch: BTreeMap<String, BTreeMap<i32, f64>> = BTreeMap::new();
        for (arch, fold, value) in values {
            let Some(value) = value else {
                bail!(
                    "{file}: metric '{metric}' is not a column of the table (known: {})",
                    known.join(", ")
                );
            };
            if value.is_nan() {
                bail!(
                    "{file}: {metric} of arch '{arch}' fold {fold} is missing (NaN); leave the \
                     metric out of `metrics`"
                );
            }
            let folds = by_arch.entry(arch.to_string()).or_default();
            if folds.insert(fold, value).is_some() {
                bail!(
                    "{file}: arch '{arch}' has more than one row for fold {fold}; a final table \
                     has one row per (arch, fold)"
                );
            }
        }
        let all: BTreeSet<i32> = by_arch.values().flat_map(|f| f.keys().copied()).collect();
        let mut problems = Vec::new();
        for (arch, folds) in &by_arch {
            let missing: Vec<String> = all
                .iter()
                .filter(|f| !folds.contains_key(f))
                .map(i32::to_string)
                .collect();
            if !missing.is_empty() {
                problems.push(format!("'{arch}' lacks fold(s) {}", missing.join(", ")));
            }
        }
        if !problems.is_empty() {
            bail!(
                "{file}: folds do not pair up between archs: {}; every arch needs the same folds",
                problems.join("; ")
            );
        }
        if all.len() < 2 {
            bail!(
                "{file}: {} fold(s); paired tests need at least 2 folds per arch",
                all.len()
            );
        }
        Ok(Paired {
            metric: metric.to_string(),
            folds: all.into_iter().collect(),
            values: by_arch
                .into_iter()
                .map(|(arch, folds)| (arch, folds.into_values().collect()))
                .collect(),
        })
    }

    /// Differences arch - baseline per fold.
    pub fn differences(&self, arch: &str, baseline: &str) -> Vec<f64> {
        match (self.values.get(arch), self.values.get(baseline)) {
            (Some(a), Some(b)) => a.iter().zip(b).map(|(x, y)| x - y).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(arch: &str, fold: i32, f1: f64) -> EpochRow {
        EpochRow {
            arch: arch.into(),
            fold,
            epoch: 19,
            split: "validation".into(),
            loss: 0.1,
            accuracy: 0.9,
            precision: 0.9,
            recall: 0.9,
            f1,
            auc_ovr: 0.99,
            auc_ovo: 0.99,
            mcc: 0.8,
            seconds: 1.0,
            images_per_second: 100.0,
        }
    }

    #[test]
    fn bad_tables_say_what_is_wrong() {
        let p = Path::new("final.parquet");
        let rows = vec![row("a", 0, 0.5), row("a", 1, 0.6), row("b", 0, 0.4)];
        let err = Paired::from_rows(&rows, "f1", p).unwrap_err().to_string();
        assert!(err.contains("'b' lacks fold(s) 1"), "{err}");
        let err = Paired::from_rows(&rows, "f2", p).unwrap_err().to_string();
        assert!(err.contains("metric 'f2' is not a column"), "{err}");
        let one = vec![row("a", 0, 0.5), row("b", 0, 0.4)];
        let err = Paired::from_rows(&one, "f1", p).unwrap_err().to_string();
        assert!(err.contains("at least 2 folds"), "{err}");
        let dup = vec![row("a", 0, 0.5), row("a", 0, 0.4)];
        let err = Paired::from_rows(&dup, "f1", p).unwrap_err().to_string();
        assert!(err.contains("more than one row for fold 0"), "{err}");
    }

    #[test]
    fn pairs_by_fold() {
        let rows = vec![
            row("b", 1, 0.7),
            row("a", 1, 0.6),
            row("b", 0, 0.4),
            row("a", 0, 0.5),
        ];
        let p = Paired::from_rows(&rows, "f1", Path::new("x")).unwrap();
        assert_eq!(p.folds, vec![0, 1]);
        let d = p.differences("b", "a");
        assert!((d[0] + 0.1).abs() < 1e-12 && (d[1] - 0.1).abs() < 1e-12);
    }

    #[test]
    fn pairs_a_frame_with_any_metric_column() {
        let mut f = Frame::default();
        f.push(
            "arch",
            Values::Str(["a", "a", "b", "b"].map(String::from).to_vec()),
        );
        f.push("fold", Values::Int(vec![0, 1, 1, 0]));
        f.push("snp_f1", Values::Float(vec![0.9, 0.8, 0.95, 0.97]));
        let p = Paired::from_frame(&f, "snp_f1", Path::new("calls.parquet")).unwrap();
        assert_eq!(p.values["b"], [0.97, 0.95]);
        let err = Paired::from_frame(&f, "indel_f1", Path::new("calls.parquet"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "calls.parquet: metric 'indel_f1' is not a column of the table (known: snp_f1)"
            ),
            "{err}"
        );
        assert!(check_metrics(&["indel_f1".into()], &known_metrics()).is_ok());
        assert!(check_metrics(&["indel_f1".into()], &EPOCH_FLOATS).is_err());
    }
}
