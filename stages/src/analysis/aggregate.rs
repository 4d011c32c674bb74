//! The `aggregate` stage kind: gathers the epochs tables of many training runs (or one imported
//! table), picks each (arch, fold)'s final validation epoch and summarizes every metric per arch.
//!
//! Summaries are the mean and the standard deviation over folds; `ddof: 0` (the default) gives the
//! population sd that the original study's tables report, `ddof: 1` the sample sd.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::analysis::frame::{Frame, Values};
use crate::analysis::tables::{
    read_epochs, read_predictions, write_epochs, write_predictions, EpochRow, METRICS, TIMINGS,
};
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// Which epoch of a run is its final one.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// The last epoch.
    #[default]
    Last,
    /// The epoch with the best `best_metric` (lowest loss, highest otherwise; earliest on ties).
    Best,
}

/// Parameters of `aggregate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// `last` or `best`.
    #[serde(default)]
    pub select: Select,
    /// Metric that ranks epochs when `select: best`.
    #[serde(default = "default_best_metric")]
    pub best_metric: String,
    /// Delta degrees of freedom of the summary sd (0: population, 1: sample).
    #[serde(default)]
    pub ddof: u32,
    /// Split whose metrics are summarized.
    #[serde(default = "default_split")]
    pub split: String,
}

fn default_best_metric() -> String {
    "f1".into()
}

fn default_split() -> String {
    "validation".into()
}

impl StageParams for Params {
    fn validate(&self) -> Result<()> {
        if !METRICS.contains(&self.best_metric.as_str()) {
            bail!(
                "params.best_metric: '{}' is not a metric (one of {})",
                self.best_metric,
                METRICS.join(", ")
            );
        }
        Ok(())
    }
}

/// Metrics summarized per arch: the quality metrics and the pass time.
pub const SUMMARY_METRICS: [&str; 9] = {
    let mut names = [TIMINGS[0]; 9];
    let mut i = 0;
    while i < METRICS.len() {
        names[i] = METRICS[i];
        i += 1;
    }
    names
};

/// The `aggregate` stage kind.
pub struct Aggregate;

static INPUTS: &[InputPort] = &[
    InputPort {
        name: "runs",
        required: true,
        many: true,
        doc: "epochs tables (train[*].epochs or import_results.epochs)",
    },
    InputPort {
        name: "predictions",
        required: false,
        many: true,
        doc: "predictions tables to concatenate for the report",
    },
];

static OUTPUTS: &[OutputPort] = &[
    OutputPort {
        name: "final",
        path: "final.parquet",
        doc: "final-epoch metrics per (arch, fold) (epochs-table schema)",
    },
    OutputPort {
        name: "summary",
        path: "summary.parquet",
        doc: "per (arch, metric): mean, sd, n over folds",
    },
    OutputPort {
        name: "summary_csv",
        path: "summary.csv",
        doc: "the summary as CSV",
    },
    OutputPort {
        name: "summary_md",
        path: "summary.md",
        doc: "the summary as a Markdown table (mean ± sd)",
    },
    OutputPort {
        name: "epochs",
        path: "epochs.parquet",
        doc: "all epochs of all runs, sorted by arch, fold, epoch, split",
    },
    OutputPort {
        name: "predictions",
        path: "predictions.parquet",
        doc: "all predictions, sorted (empty when none were given)",
    },
];

impl StageKind for Aggregate {
    type Params = Params;

    fn name(&self) -> &'static str {
        "aggregate"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "final-epoch metrics per (arch, fold) and per-arch mean ± sd"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let runs = ctx.inputs_of("runs");
        if runs.is_empty() {
            bail!("input 'runs' is not bound: give it train[*].epochs or import_results.epochs");
        }
        let epochs = concat_epochs(runs)?;
        let finals = select_final(&epochs, &params)?;
        write_epochs(ctx.output("epochs")?, &epochs)?;
        write_epochs(ctx.output("final")?, &finals)?;
        let summary = summarize(&finals, params.ddof);
        summary.write_parquet(ctx.output("summary")?)?;
        summary.write_csv(ctx.output("summary_csv")?)?;
        std::fs::write(ctx.output("summary_md")?, markdown(&summary)?)?;
        let mut predictions = Vec::new();
        for path in ctx.inputs_of("predictions") {
            predictions.extend(read_predictions(path)?);
        }
        predictions.sort_by(|a, b| {
            (&a.arch, a.fold, a.epoch, &a.id).cmp(&(&b.arch, b.fold, b.epoch, &b.id))
        });
        write_predictions(ctx.output("predictions")?, &predictions)?;
        ctx.progress.update(
            1,
            1,
            format!("{} runs, {} final rows", runs.len(), finals.len()),
        );
        Ok(())
    }
}

/// Reads and concatenates epochs tables, sorted by (arch, fold, epoch, split); a row given twice is an
/// error naming both files.
pub fn concat_epochs(paths: &[impl AsRef<Path>]) -> Result<Vec<EpochRow>> {
    let mut keyed: BTreeMap<(String, i32, i32, String), (EpochRow, usize)> = BTreeMap::new();
    for (i, path) in paths.iter().enumerate() {
        for row in read_epochs(path.as_ref())? {
            let key = (row.arch.clone(), row.fold, row.epoch, row.split.clone());
            if let Some((_, first)) = keyed.insert(key, (row.clone(), i)) {
                bail!(
                    "arch '{}' fold {} epoch {} {} appears in both {} and {}; each run must be \
                     given once",
                    row.arch,
                    row.fold,
                    row.epoch,
                    row.split,
                    paths[first].as_ref().display(),
                    path.as_ref().display()
                );
            }
        }
    }
    Ok(keyed.into_values().map(|(row, _)| row).collect())
}

/// The final row of every (arch, fold) on `params.split`, sorted by (arch, fold).
pub fn select_final(epochs: &[EpochRow], params: &Params) -> Result<Vec<EpochRow>> {
    let mut chosen: BTreeMap<(String, i32), &EpochRow> = BTreeMap::new();
    let lower_is_better = params.best_metric == "loss";
    for row in epochs.iter().filter(|r| r.split == params.split) {
        let key = (row.arch.clone(), row.fold);
        let better = match chosen.get(&key) {
            None => true,
            Some(old) => match params.select {
                Select::Last => row.epoch > old.epoch,
                Select::Best => {
                    let (new, cur) = (
                        row.metric(&params.best_metric).unwrap_or(f64::NAN),
                        old.metric(&params.best_metric).unwrap_or(f64::NAN),
                    );
                    let wins = if lower_is_better {
                        new < cur
                    } else {
                        new > cur
                    };
                    wins || (new == cur && row.epoch < old.epoch) || cur.is_nan()
                }
            },
        };
        if better {
            chosen.insert(key, row);
        }
    }
    if chosen.is_empty() {
        bail!(
            "the runs have no '{}' rows; set params.split to a split the epochs tables contain",
            params.split
        );
    }
    Ok(chosen.into_values().cloned().collect())
}

/// Mean and sd (`ddof`) of `values`; sd is NaN when there are not more than `ddof` values.
pub fn mean_sd(values: &[f64], ddof: u32) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let dof = n - f64::from(ddof);
    let sd = if dof > 0.0 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / dof).sqrt()
    } else {
        f64::NAN
    };
    (mean, sd)
}

/// Per (arch, metric) mean, sd and n over the final rows, archs sorted, metrics in
/// [`SUMMARY_METRICS`] order.
pub fn summarize(finals: &[EpochRow], ddof: u32) -> Frame {
    let mut by_arch: BTreeMap<&str, Vec<&EpochRow>> = BTreeMap::new();
    for row in finals {
        by_arch.entry(&row.arch).or_default().push(row);
    }
    let (mut arch, mut metric, mut mean, mut sd, mut n) = (vec![], vec![], vec![], vec![], vec![]);
    for (name, rows) in &by_arch {
        for m in SUMMARY_METRICS {
            let values: Vec<f64> = rows.iter().filter_map(|r| r.metric(m)).collect();
            let (mu, s) = mean_sd(&values, ddof);
            arch.push(name.to_string());
            metric.push(m.to_string());
            mean.push(mu);
            sd.push(s);
            n.push(values.len() as i64);
        }
    }
    let mut f = Frame::default();
    f.push("arch", Values::Str(arch));
    f.push("metric", Values::Str(metric));
    f.push("mean", Values::Float(mean));
    f.push("sd", Values::Float(sd));
    f.push("n", Values::Int(n));
    f
}

/// The summary as a Markdown table: one row per metric, one column per arch, `mean ± sd` to 4 decimals.
pub fn markdown(summary: &Frame) -> Result<String> {
    let archs = summary.strings("arch")?;
    let metrics = summary.strings("metric")?;
    let (means, sds) = (summary.floats("mean")?, summary.floats("sd")?);
    let mut cols: Vec<&str> = archs.iter().map(String::as_str).collect();
    cols.dedup();
    let mut out = String::from("| metric |");
    for a in &cols {
        write!(out, " {a} |")?;
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(cols.len()));
    out.push('\n');
    for m in SUMMARY_METRICS {
        write!(out, "| {m} |")?;
        for a in &cols {
            let i = (0..archs.len())
                .find(|&i| archs[i] == *a && metrics[i] == m)
                .context("summary row")?;
            write!(out, " {:.4} ± {:.4} |", means[i], sds[i])?;
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(arch: &str, fold: i32, epoch: i32, f1: f64) -> EpochRow {
        EpochRow {
            arch: arch.into(),
            fold,
            epoch,
            split: "validation".into(),
            loss: 1.0 - f1,
            accuracy: f1,
            precision: f1,
            recall: f1,
            f1,
            auc_ovr: f1,
            auc_ovo: f1,
            mcc: f1,
            seconds: 1.0,
            images_per_second: 10.0,
        }
    }

    fn params(select: Select) -> Params {
        Params {
            select,
            best_metric: "f1".into(),
            ddof: 0,
            split: "validation".into(),
        }
    }

    #[test]
    fn last_and_best_epochs() {
        let rows = vec![
            row("a", 0, 0, 0.5),
            row("a", 0, 1, 0.9),
            row("a", 0, 2, 0.7),
        ];
        assert_eq!(
            select_final(&rows, &params(Select::Last)).unwrap()[0].epoch,
            2
        );
        assert_eq!(
            select_final(&rows, &params(Select::Best)).unwrap()[0].epoch,
            1
        );
        let mut p = params(Select::Last);
        p.split = "test".into();
        assert!(select_final(&rows, &p).is_err());
    }

    #[test]
    fn population_and_sample_sd() {
        let (m, s0) = mean_sd(&[1.0, 2.0, 3.0, 4.0], 0);
        let (_, s1) = mean_sd(&[1.0, 2.0, 3.0, 4.0], 1);
        assert_eq!(m, 2.5);
        assert!((s0 - 1.25f64.sqrt()).abs() < 1e-15);
        assert!((s1 - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        let md = markdown(&summarize(&[row("a", 0, 0, 0.5), row("a", 1, 0, 0.7)], 0)).unwrap();
        assert!(md.contains("| f1 | 0.6000 ± 0.1000 |"), "{md}");
    }
}
