//! The `aggregate_calls` stage kind: gathers the `evaluate` tables of the variant calls of many
//! (arch, fold) models into one table per kind of result, and summarizes the variant-calling metrics
//! per arch, as `aggregate` does for the classification metrics.
//!
//! The inputs are the instances of an `evaluate` matrix (`evaluate[*].summary_parquet`, in matrix
//! order) and, in the same order, the epochs tables of the `train` matrix whose models made the calls
//! (`train[*].epochs`, the same axes): each training run's (arch, fold) labels the evaluation of its
//! model's calls.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::analysis::aggregate::mean_sd;
use crate::analysis::frame::{Frame, Values};
use crate::analysis::tables::read_epochs;
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// The variant-calling metrics of the final table, per (arch, fold): F1, recall and precision of
/// SNPs and of INDELs.
pub const CALLING_METRICS: [&str; 6] = [
    "snp_f1",
    "snp_recall",
    "snp_precision",
    "indel_f1",
    "indel_recall",
    "indel_precision",
];

/// The summary row (`Type`) and column of each of the [`CALLING_METRICS`].
const METRIC_SOURCES: [(&str, &str); 6] = [
    ("SNP", "METRIC.F1_Score"),
    ("SNP", "METRIC.Recall"),
    ("SNP", "METRIC.Precision"),
    ("INDEL", "METRIC.F1_Score"),
    ("INDEL", "METRIC.Recall"),
    ("INDEL", "METRIC.Precision"),
];

/// Parameters of `aggregate_calls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Filter of the summary rows the final table takes (`PASS` or `ALL`).
    #[serde(default = "default_filter")]
    pub filter: String,
    /// Delta degrees of freedom of the summary sd (0: population, 1: sample).
    #[serde(default)]
    pub ddof: u32,
}

fn default_filter() -> String {
    "PASS".into()
}

impl StageParams for Params {
    fn validate(&self) -> Result<()> {
        if !["PASS", "ALL"].contains(&self.filter.as_str()) {
            bail!("params.filter: '{}' is not PASS or ALL", self.filter);
        }
        Ok(())
    }
}

/// The `aggregate_calls` stage kind.
pub struct AggregateCalls;

static INPUTS: &[InputPort] = &[
    InputPort {
        name: "runs",
        required: true,
        many: true,
        doc: "epochs tables of the models' training runs, in matrix order (train[*].epochs): the \
              (arch, fold) of each summary",
    },
    InputPort {
        name: "summaries",
        required: true,
        many: true,
        doc: "evaluate summaries of every (arch, fold), in matrix order (evaluate[*].summary_parquet)",
    },
    InputPort {
        name: "curves",
        required: false,
        many: true,
        doc: "their precision/recall curves, in the same order (evaluate[*].pr_curve)",
    },
];

static OUTPUTS: &[OutputPort] = &[
    OutputPort {
        name: "final",
        path: "final.parquet",
        doc: "per (arch, fold): SNP and INDEL F1, recall, precision (significance reads it)",
    },
    OutputPort {
        name: "counts",
        path: "counts.parquet",
        doc: "every summary row (Type, Filter, hap.py counts and metrics) with its arch and fold",
    },
    OutputPort {
        name: "curves",
        path: "curves.parquet",
        doc: "every precision/recall curve with its arch and fold (empty when none were given)",
    },
    OutputPort {
        name: "summary_md",
        path: "summary.md",
        doc: "per-arch mean ± sd over folds of the variant-calling metrics, as a Markdown table",
    },
];

impl StageKind for AggregateCalls {
    type Params = Params;

    fn name(&self) -> &'static str {
        "aggregate_calls"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "variant-calling metrics per (arch, fold) from evaluate tables, and per-arch mean ± sd"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let runs = runs(ctx.inputs_of("runs"))?;
        let summaries = labelled(&runs, ctx.inputs_of("summaries"), "summaries")?;
        let finals = final_table(&summaries, &params.filter)?;
        finals.write_parquet(ctx.output("final")?)?;
        summaries.write_parquet(ctx.output("counts")?)?;
        let curves = ctx.inputs_of("curves");
        let curves = if curves.is_empty() {
            Frame::default()
        } else {
            labelled(&runs, curves, "curves")?
        };
        curves.write_parquet(ctx.output("curves")?)?;
        std::fs::write(ctx.output("summary_md")?, markdown(&finals, params.ddof)?)?;
        ctx.progress
            .update(1, 1, format!("{} (arch, fold) evaluations", runs.len()));
        Ok(())
    }
}

/// The (arch, fold) of each training run, from its epochs table; a table of none or of more than one
/// (arch, fold) is an error naming it.
fn runs(paths: &[PathBuf]) -> Result<Vec<(String, i64)>> {
    paths
        .iter()
        .map(|path| {
            let mut keys: Vec<(String, i64)> = read_epochs(path)?
                .into_iter()
                .map(|r| (r.arch, i64::from(r.fold)))
                .collect();
            keys.dedup();
            match keys.as_slice() {
                [one] => Ok(one.clone()),
                _ => bail!(
                    "input runs: {} holds {} (arch, fold) runs; give each training run's own epochs \
                     table (train[*].epochs)",
                    path.display(),
                    keys.len()
                ),
            }
        })
        .collect()
}

/// The tables at `paths`, one per run, concatenated with `arch` and `fold` columns in front; `port`
/// names the input in errors.
pub fn labelled(runs: &[(String, i64)], paths: &[PathBuf], port: &str) -> Result<Frame> {
    if paths.len() != runs.len() {
        bail!(
            "input {port}: {} tables for {} training runs; give evaluate[*] of a matrix with the \
             train matrix's axes",
            paths.len(),
            runs.len()
        );
    }
    let mut out = Frame::default();
    for ((arch, fold), path) in runs.iter().zip(paths) {
        let table = Frame::read_parquet(path)?;
        let n = table.rows();
        let mut labelled = Frame::default();
        labelled.push("arch", Values::Str(vec![arch.clone(); n]));
        labelled.push("fold", Values::Int(vec![*fold; n]));
        labelled.columns.extend(table.columns);
        append(&mut out, labelled).with_context(|| format!("input {port}: {}", path.display()))?;
    }
    Ok(out)
}

/// Appends the rows of `more` to `frame` (which takes `more`'s columns when it has none).
fn append(frame: &mut Frame, more: Frame) -> Result<()> {
    if frame.columns.is_empty() {
        *frame = more;
        return Ok(());
    }
    let names = |f: &Frame| f.columns.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(frame) != names(&more) {
        bail!(
            "its columns ({}) are not those of the first table ({})",
            names(&more).join(", "),
            names(frame).join(", ")
        );
    }
    for ((name, to), (_, from)) in frame.columns.iter_mut().zip(more.columns) {
        match (to, from) {
            (Values::Str(a), Values::Str(b)) => a.extend(b),
            (Values::Int(a), Values::Int(b)) => a.extend(b),
            (Values::Float(a), Values::Float(b)) => a.extend(b),
            _ => bail!("column '{name}' has another type than in the first table"),
        }
    }
    Ok(())
}

/// One row per (arch, fold) of the labelled summaries with the [`CALLING_METRICS`] of `filter`. A
/// model that makes no call of a type has hap.py's NaN precision and F1 there; the final table scores
/// it 0 on both (it found none of the type's variants), so it can be tested and ranked.
pub fn final_table(summaries: &Frame, filter: &str) -> Result<Frame> {
    let (arch, fold) = (summaries.strings("arch")?, summaries.ints("fold")?);
    let (types, filters) = (summaries.strings("Type")?, summaries.strings("Filter")?);
    let mut keys: Vec<(String, i64)> = Vec::new();
    for (a, f) in arch.iter().zip(fold) {
        if keys.last() != Some(&(a.clone(), *f)) {
            keys.push((a.clone(), *f));
        }
    }
    let mut out = Frame::default();
    out.push(
        "arch",
        Values::Str(keys.iter().map(|k| k.0.clone()).collect()),
    );
    out.push("fold", Values::Int(keys.iter().map(|k| k.1).collect()));
    for (name, (vtype, column)) in CALLING_METRICS.iter().zip(METRIC_SOURCES) {
        let values = summaries.floats(column)?;
        let pick = |(a, f): &(String, i64)| {
            (0..summaries.rows())
                .find(|&i| {
                    arch[i] == *a && fold[i] == *f && types[i] == vtype && filters[i] == filter
                })
                .map(|i| if values[i].is_nan() { 0.0 } else { values[i] })
                .with_context(|| {
                    format!("arch '{a}' fold {f}: no {vtype} row with filter {filter}")
                })
        };
        out.push(
            name,
            Values::Float(keys.iter().map(pick).collect::<Result<_>>()?),
        );
    }
    Ok(out)
}

/// The final table as Markdown: one row per metric, one column per arch (in the table's order),
/// `mean ± sd` over folds to 4 decimals.
pub fn markdown(finals: &Frame, ddof: u32) -> Result<String> {
    let arch = finals.strings("arch")?;
    let mut archs: Vec<&String> = Vec::new();
    for a in arch {
        if !archs.contains(&a) {
            archs.push(a);
        }
    }
    let mut out = String::from("| metric |");
    for a in &archs {
        write!(out, " {a} |")?;
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(archs.len()));
    out.push('\n');
    for m in CALLING_METRICS {
        let values = finals.floats(m)?;
        write!(out, "| {m} |")?;
        for a in &archs {
            let of_arch: Vec<f64> = (0..finals.rows())
                .filter(|&i| arch[i] == **a)
                .map(|i| values[i])
                .collect();
            let (mean, sd) = mean_sd(&of_arch, ddof);
            write!(out, " {mean:.4} ± {sd:.4} |")?;
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tables::{write_epochs, EpochRow};
    use std::path::Path;

    /// An evaluate summary whose SNP and INDEL F1 (both filters) are `snp` and `indel`.
    fn summary(snp: f64, indel: f64) -> Frame {
        let types = ["INDEL", "INDEL", "SNP", "SNP", "ALL", "ALL"];
        let mut f = Frame::default();
        f.push("Type", Values::Str(types.map(String::from).to_vec()));
        f.push(
            "Filter",
            Values::Str(
                ["ALL", "PASS"]
                    .repeat(3)
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        );
        f.push("TRUTH.TOTAL", Values::Int(vec![10; 6]));
        let value = |t: &str| match t {
            "SNP" => snp,
            "INDEL" => indel,
            _ => 0.5,
        };
        for c in ["METRIC.Recall", "METRIC.Precision", "METRIC.F1_Score"] {
            f.push(c, Values::Float(types.iter().map(|t| value(t)).collect()));
        }
        f
    }

    fn write(dir: &Path, name: &str, f: &Frame) -> PathBuf {
        let path = dir.join(name);
        f.write_parquet(&path).unwrap();
        path
    }

    #[test]
    fn labels_each_table_by_its_run_and_picks_the_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = [(0.9, 0.5), (0.8, 0.7), (0.99, 0.6), (0.97, 0.4)]
            .iter()
            .enumerate()
            .map(|(i, (s, d))| write(dir.path(), &format!("{i}.parquet"), &summary(*s, *d)))
            .collect();
        let epochs: Vec<PathBuf> = [("b", 0), ("b", 1), ("a", 0), ("a", 1)]
            .iter()
            .map(|&(arch, fold)| {
                let path = dir.path().join(format!("{arch}{fold}.epochs.parquet"));
                let row = |split: &str| {
                    EpochRow::from_values(arch.into(), fold, 0, split.into(), [0.5; 10])
                };
                write_epochs(&path, &[row("training"), row("validation")]).unwrap();
                path
            })
            .collect();
        let runs = runs(&epochs).unwrap();
        let all = labelled(&runs, &paths, "summaries").unwrap();
        assert_eq!(all.rows(), 24);
        assert_eq!(all.strings("arch").unwrap()[6], "b");
        assert_eq!(all.ints("fold").unwrap()[6], 1);
        let finals = final_table(&all, "PASS").unwrap();
        assert_eq!(finals.strings("arch").unwrap(), ["b", "b", "a", "a"]);
        assert_eq!(finals.ints("fold").unwrap(), [0, 1, 0, 1]);
        assert_eq!(finals.floats("snp_f1").unwrap(), [0.9, 0.8, 0.99, 0.97]);
        assert_eq!(finals.floats("indel_recall").unwrap(), [0.5, 0.7, 0.6, 0.4]);
        let mut no_calls = all.clone();
        if let Values::Float(f1) = &mut no_calls.columns.last_mut().unwrap().1 {
            f1[1] = f64::NAN;
        }
        let scored = final_table(&no_calls, "PASS").unwrap();
        assert_eq!(
            scored.floats("indel_f1").unwrap()[0],
            0.0,
            "no calls score 0"
        );
        let md = markdown(&finals, 0).unwrap();
        assert!(md.starts_with("| metric | b | a |"), "{md}");
        assert!(
            md.contains("| snp_f1 | 0.8500 ± 0.0500 | 0.9800 ± 0.0100 |"),
            "{md}"
        );
    }

    #[test]
    fn mismatched_inputs_say_what_to_give() {
        let dir = tempfile::tempdir().unwrap();
        let one = write(dir.path(), "one.parquet", &summary(0.9, 0.5));
        let runs = vec![("a".to_string(), 0), ("a".to_string(), 1)];
        let err = labelled(&runs, std::slice::from_ref(&one), "summaries").unwrap_err();
        assert!(
            err.to_string().contains("1 tables for 2 training runs"),
            "{err}"
        );
        let both = dir.path().join("both.parquet");
        let row = |fold| EpochRow::from_values("a".into(), fold, 0, "validation".into(), [0.5; 10]);
        write_epochs(&both, &[row(0), row(1)]).unwrap();
        let err = super::runs(&[both]).unwrap_err().to_string();
        assert!(
            err.contains("both.parquet holds 2 (arch, fold) runs"),
            "{err}"
        );
        let mut other = summary(0.9, 0.5);
        other.columns.pop();
        let other = write(dir.path(), "other.parquet", &other);
        let err = format!(
            "{:#}",
            labelled(&runs, &[one, other], "summaries").unwrap_err()
        );
        assert!(
            err.contains("other.parquet") && err.contains("not those of the first"),
            "{err}"
        );
        let no_pass = {
            let mut f = labelled(&runs[..1], &[dir.path().join("one.parquet")], "s").unwrap();
            f.columns[3].1 = Values::Str(vec!["ALL".into(); 6]);
            f
        };
        let err = final_table(&no_pass, "PASS").unwrap_err().to_string();
        assert!(err.contains("no SNP row with filter PASS"), "{err}");
    }
}
