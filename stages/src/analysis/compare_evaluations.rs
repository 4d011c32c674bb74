//! The `compare_evaluations` stage kind: several `evaluate` summaries side by side, one labelled row
//! per caller, variant type and filter, as a CSV table and a Markdown table, so that callers scored
//! against the same truth can be read together.
//!
//! The summaries are the `summary_parquet` outputs of `evaluate` stages, given as a list in the order
//! of `params.labels`. The Markdown table shows the rows of one filter (`PASS` by default); when the
//! callers' truth totals differ for a type, a note under it says so, since their scores then count
//! different truth sets.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::analysis::frame::{Frame, Values};
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// Parameters of `compare_evaluations`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// One name per summary, in the order of the `summaries` input (e.g. `[pipe, DeepVariant]`).
    pub labels: Vec<String>,
    /// The filter whose rows the Markdown table shows: `PASS` or `ALL`.
    #[serde(default = "default_filter")]
    pub filter: String,
}

fn default_filter() -> String {
    "PASS".into()
}

/// The filters an `evaluate` summary holds.
const FILTERS: [&str; 2] = ["ALL", "PASS"];

/// The variant types, in the order the tables list them.
const TYPES: [&str; 3] = ["ALL", "SNP", "INDEL"];

/// The count columns copied from each summary.
const COUNTS: [&str; 8] = [
    "TRUTH.TOTAL",
    "TRUTH.TP",
    "TRUTH.FN",
    "QUERY.TOTAL",
    "QUERY.TP",
    "QUERY.FP",
    "QUERY.UNK",
    "FP.gt",
];

/// The metric columns copied from each summary.
const METRICS: [&str; 3] = ["METRIC.Recall", "METRIC.Precision", "METRIC.F1_Score"];

impl StageParams for Params {
    fn validate(&self) -> Result<()> {
        if self.labels.is_empty() {
            bail!("params.labels: give one label per summary, e.g. [pipe, DeepVariant]");
        }
        let mut seen = BTreeSet::new();
        for label in &self.labels {
            if label.trim().is_empty() {
                bail!("params.labels: a label is empty; name every caller");
            }
            if !seen.insert(label.as_str()) {
                bail!(
                    "params.labels: '{label}' is given twice; labels name the rows and must differ"
                );
            }
        }
        if !FILTERS.contains(&self.filter.as_str()) {
            bail!(
                "params.filter: '{}' is not a filter of evaluate's summary (one of {})",
                self.filter,
                FILTERS.join(", ")
            );
        }
        Ok(())
    }
}

/// The `compare_evaluations` stage kind.
pub struct CompareEvaluations;

static INPUTS: &[InputPort] = &[InputPort {
    name: "summaries",
    required: true,
    many: true,
    doc: "evaluate summaries (their summary_parquet output), a list in the order of params.labels",
}];

static OUTPUTS: &[OutputPort] = &[
    OutputPort {
        name: "table",
        path: "comparison.csv",
        doc: "label, Type, Filter, the counts and recall, precision, F1 of every summary row",
    },
    OutputPort {
        name: "markdown",
        path: "comparison.md",
        doc: "the rows of params.filter as a Markdown table, callers side by side per type",
    },
];

impl StageKind for CompareEvaluations {
    type Params = Params;

    fn name(&self) -> &'static str {
        "compare_evaluations"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "several evaluate summaries side by side, one labelled row per caller (CSV and Markdown)"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let summaries = ctx.inputs_of("summaries");
        let rows = read_rows(summaries, &params.labels)?;
        table(&rows).write_csv(ctx.output("table")?)?;
        let md = markdown(&rows, &params.filter);
        let path = ctx.output("markdown")?;
        std::fs::write(path, md).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

/// One row of one caller's summary.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    label: String,
    vtype: String,
    filter: String,
    counts: [i64; COUNTS.len()],
    metrics: [f64; METRICS.len()],
}

/// The rows of every summary, labelled, ordered by type, filter, then the labels' order.
fn read_rows(paths: &[PathBuf], labels: &[String]) -> Result<Vec<Row>> {
    if paths.len() != labels.len() {
        bail!(
            "input 'summaries' has {} files but params.labels names {}; give one label per summary, \
             in the same order",
            paths.len(),
            labels.len()
        );
    }
    let mut rows = Vec::new();
    for (path, label) in paths.iter().zip(labels) {
        rows.extend(read_summary(path, label)?);
    }
    let rank = |r: &Row| {
        (
            TYPES.iter().position(|t| *t == r.vtype),
            FILTERS.iter().position(|f| *f == r.filter),
            labels.iter().position(|l| *l == r.label),
        )
    };
    rows.sort_by_key(rank);
    Ok(rows)
}

/// The rows of one `evaluate` summary (Parquet); the error names the file and what it lacks.
fn read_summary(path: &Path, label: &str) -> Result<Vec<Row>> {
    let what = || {
        format!(
            "summary {} (label '{label}'): not an evaluate summary; connect an evaluate stage's \
             summary_parquet output",
            path.display()
        )
    };
    let frame = Frame::read_parquet(path).with_context(what)?;
    let types = frame.strings("Type").with_context(what)?;
    let filters = frame.strings("Filter").with_context(what)?;
    let counts: Vec<&[i64]> = COUNTS
        .iter()
        .map(|c| frame.ints(c))
        .collect::<Result<_>>()
        .with_context(what)?;
    let metrics: Vec<&[f64]> = METRICS
        .iter()
        .map(|c| frame.floats(c))
        .collect::<Result<_>>()
        .with_context(what)?;
    let mut rows = Vec::with_capacity(frame.rows());
    for i in 0..frame.rows() {
        if !TYPES.contains(&types[i].as_str()) || !FILTERS.contains(&filters[i].as_str()) {
            bail!(
                "{}: row {} has Type '{}' and Filter '{}'; evaluate's summary has types {} and filters {}",
                what(),
                i + 1,
                types[i],
                filters[i],
                TYPES.join(", "),
                FILTERS.join(", ")
            );
        }
        rows.push(Row {
            label: label.to_string(),
            vtype: types[i].clone(),
            filter: filters[i].clone(),
            counts: std::array::from_fn(|c| counts[c][i]),
            metrics: std::array::from_fn(|m| metrics[m][i]),
        });
    }
    Ok(rows)
}

/// The rows as a table: label, Type, Filter, the counts, the metrics.
fn table(rows: &[Row]) -> Frame {
    let mut f = Frame::default();
    let strings =
        |get: fn(&Row) -> &String| Values::Str(rows.iter().map(|r| get(r).clone()).collect());
    f.push("label", strings(|r| &r.label));
    f.push("Type", strings(|r| &r.vtype));
    f.push("Filter", strings(|r| &r.filter));
    for (c, name) in COUNTS.iter().enumerate() {
        f.push(
            name,
            Values::Int(rows.iter().map(|r| r.counts[c]).collect()),
        );
    }
    for (m, name) in METRICS.iter().enumerate() {
        f.push(
            name,
            Values::Float(rows.iter().map(|r| r.metrics[m]).collect()),
        );
    }
    f
}

/// A metric with four decimals, `n/a` where it is undefined (no truth or no calls).
fn metric(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else {
        format!("{x:.4}")
    }
}

/// The rows of `filter` as a Markdown table, with a note per type whose truth totals differ.
fn markdown(rows: &[Row], filter: &str) -> String {
    let count = |name: &str| {
        COUNTS
            .iter()
            .position(|c| *c == name)
            .expect("a count column")
    };
    let (total, tp, fn_, fp, fp_gt) = (
        count("TRUTH.TOTAL"),
        count("TRUTH.TP"),
        count("TRUTH.FN"),
        count("QUERY.FP"),
        count("FP.gt"),
    );
    let mut md = format!(
        "Filter {filter}\n\n| caller | type | truth | TP | FN | FP | FP.gt | recall | precision | F1 |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let shown: Vec<&Row> = rows.iter().filter(|r| r.filter == filter).collect();
    for r in &shown {
        let c = &r.counts;
        // Writing to a String cannot fail.
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.vtype,
            c[total],
            c[tp],
            c[fn_],
            c[fp],
            c[fp_gt],
            metric(r.metrics[0]),
            metric(r.metrics[1]),
            metric(r.metrics[2])
        );
    }
    for vtype in TYPES {
        let totals: BTreeSet<i64> = shown
            .iter()
            .filter(|r| r.vtype == vtype)
            .map(|r| r.counts[total])
            .collect();
        if totals.len() > 1 {
            let _ = write!(
                md,
                "\nNote: the {vtype} truth totals differ between callers ({}): they were scored \
                 against different truth sets or regions.\n",
                totals
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary frame as evaluate writes it: INDEL, SNP, ALL x ALL, PASS, with `tp` true positives
    /// of `truth` per row and no false positives.
    fn summary(truth: i64, tp: i64) -> Frame {
        let mut f = Frame::default();
        let types = ["INDEL", "INDEL", "SNP", "SNP", "ALL", "ALL"];
        let filters = ["ALL", "PASS", "ALL", "PASS", "ALL", "PASS"];
        f.push("Type", Values::Str(types.map(String::from).to_vec()));
        f.push("Filter", Values::Str(filters.map(String::from).to_vec()));
        for name in COUNTS {
            let v = match name {
                "TRUTH.TOTAL" => truth,
                "TRUTH.TP" | "QUERY.TP" | "QUERY.TOTAL" => tp,
                "TRUTH.FN" => truth - tp,
                _ => 0,
            };
            f.push(name, Values::Int(vec![v; 6]));
        }
        let recall = tp as f64 / truth as f64;
        for (name, v) in [
            ("METRIC.Recall", recall),
            ("METRIC.Precision", 1.0),
            ("METRIC.Frac_NA", 0.0),
            ("METRIC.F1_Score", 2.0 * recall / (recall + 1.0)),
        ] {
            f.push(name, Values::Float(vec![v; 6]));
        }
        f
    }

    fn write(dir: &Path, name: &str, frame: &Frame) -> PathBuf {
        let path = dir.join(name);
        frame.write_parquet(&path).unwrap();
        path
    }

    fn labels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rows_are_labelled_and_grouped_by_type_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.parquet", &summary(48, 40));
        let b = write(dir.path(), "b.parquet", &summary(48, 47));
        let rows = read_rows(&[a, b], &labels(&["pipe", "DeepVariant"])).unwrap();
        assert_eq!(rows.len(), 12);
        let order: Vec<(&str, &str, &str)> = rows
            .iter()
            .take(4)
            .map(|r| (r.vtype.as_str(), r.filter.as_str(), r.label.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("ALL", "ALL", "pipe"),
                ("ALL", "ALL", "DeepVariant"),
                ("ALL", "PASS", "pipe"),
                ("ALL", "PASS", "DeepVariant")
            ]
        );
        assert_eq!(rows[1].counts[..3], [48, 47, 1]);
        let md = markdown(&rows, "PASS");
        assert_eq!(md.lines().filter(|l| l.starts_with("| pipe ")).count(), 3);
        assert!(
            md.contains("| DeepVariant | ALL | 48 | 47 | 1 | 0 | 0 | 0.9792 | 1.0000 | 0.9895 |"),
            "{md}"
        );
        assert!(!md.contains("Note"), "{md}");
        let t = table(&rows);
        assert_eq!(t.rows(), 12);
        assert_eq!(t.strings("label").unwrap()[0], "pipe");
    }

    #[test]
    fn different_truth_totals_are_noted() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.parquet", &summary(48, 40));
        let b = write(dir.path(), "b.parquet", &summary(60, 47));
        let rows = read_rows(&[a, b], &labels(&["x", "y"])).unwrap();
        let md = markdown(&rows, "ALL");
        assert!(md.starts_with("Filter ALL"), "{md}");
        assert!(
            md.contains("the SNP truth totals differ between callers (48, 60)"),
            "{md}"
        );
    }

    #[test]
    fn bad_inputs_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.parquet", &summary(48, 40));
        let err = read_rows(std::slice::from_ref(&a), &labels(&["x", "y"])).unwrap_err();
        assert!(
            err.to_string()
                .contains("has 1 files but params.labels names 2"),
            "{err}"
        );

        let mut other = Frame::default();
        other.push("arch", Values::Str(vec!["x".into()]));
        let b = write(dir.path(), "b.parquet", &other);
        let err = format!("{:#}", read_rows(&[b], &labels(&["x"])).unwrap_err());
        assert!(
            err.contains("not an evaluate summary") && err.contains("'Type'"),
            "{err}"
        );

        let p = |l: &[&str], f: &str| Params {
            labels: labels(l),
            filter: f.into(),
        };
        assert!(p(&["a", "a"], "PASS").validate().is_err());
        assert!(p(&[], "PASS").validate().is_err());
        assert!(p(&["a"], "pass").validate().is_err());
        assert!(p(&["a", "b"], "ALL").validate().is_ok());
    }
}
