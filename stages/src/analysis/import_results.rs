//! The `import_results` stage kind: reads per-epoch metrics exported from another study (a long CSV
//! `run,fold,epoch,split,metric,value`, the layout of the original study's
//! `rolling-in-the-deep_2025-W12_6fold_metrics.csv`) into an epochs table.
//!
//! Run names become arch names: an explicit `runs:` mapping wins; otherwise a trailing `_<digits>`
//! examples-count suffix is stripped (`regnety_032_30000` -> `regnety_032`). The study's
//! `inference_time` metric becomes the `seconds` column; metrics a run lacks are NaN.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::analysis::tables::{write_epochs, EpochRow, EPOCH_FLOATS};
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// Parameters of `import_results`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Run name to arch name; runs not listed have their `_<digits>` suffix stripped.
    #[serde(default)]
    pub runs: BTreeMap<String, String>,
}

impl StageParams for Params {}

/// The `import_results` stage kind.
pub struct ImportResults;

static INPUTS: &[InputPort] = &[InputPort {
    name: "csv",
    required: true,
    many: false,
    doc: "long CSV with columns run, fold, epoch, split, metric, value",
}];

static OUTPUTS: &[OutputPort] = &[OutputPort {
    name: "epochs",
    path: "epochs.parquet",
    doc: "epochs table: one row per (arch, fold, epoch, split)",
}];

impl StageKind for ImportResults {
    type Params = Params;

    fn name(&self) -> &'static str {
        "import_results"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "imports another study's per-epoch metrics CSV as an epochs table"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let rows = read_long_csv(ctx.input("csv")?, &params.runs)?;
        ctx.progress
            .update(1, 1, format!("imported {} epoch rows", rows.len()));
        write_epochs(ctx.output("epochs")?, &rows)
    }
}

/// Column names of the long CSV, in the order the reader looks them up.
const COLUMNS: [&str; 6] = ["run", "fold", "epoch", "split", "metric", "value"];

/// Names the long CSV may use for a metric besides the column names ([`EPOCH_FLOATS`]): the study's
/// `inference_time` is the `seconds` column.
const ALIASES: [(&str, &str); 1] = [("inference_time", "seconds")];

/// The epochs-table column that metric name `metric` of the long CSV fills.
fn column_of(metric: &str) -> Option<&'static str> {
    EPOCH_FLOATS
        .iter()
        .copied()
        .find(|c| *c == metric)
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| *alias == metric)
                .map(|(_, column)| *column)
        })
}

/// Every metric name the long CSV may use, each alias after the column it names.
fn known_metrics() -> Vec<&'static str> {
    let mut names = Vec::new();
    for column in EPOCH_FLOATS {
        names.push(column);
        names.extend(
            ALIASES
                .iter()
                .filter(|(_, c)| *c == column)
                .map(|(a, _)| *a),
        );
    }
    names
}

/// The arch name of run `run`: the mapping's, else the run name without a `_<digits>` suffix.
pub fn arch_of(run: &str, runs: &BTreeMap<String, String>) -> String {
    if let Some(arch) = runs.get(run) {
        return arch.clone();
    }
    match run.rsplit_once('_') {
        Some((stem, digits))
            if !stem.is_empty()
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            stem.to_string()
        }
        _ => run.to_string(),
    }
}

type Key = (String, i32, i32, String);

/// Reads the long CSV at `path` into epoch rows sorted by (arch, fold, epoch, split).
pub fn read_long_csv(path: &Path, runs: &BTreeMap<String, String>) -> Result<Vec<EpochRow>> {
    let file = path.display();
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot open {file}"))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{file}: cannot read the header line"))?
        .clone();
    let mut index = [0usize; 6];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        *slot = headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| {
                format!(
                    "{file}: column '{name}' is missing (the header needs {})",
                    COLUMNS.join(",")
                )
            })?;
    }
    let mut groups: BTreeMap<Key, [f64; 10]> = BTreeMap::new();
    let mut seen: BTreeMap<(Key, &'static str), u64> = BTreeMap::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{file}: malformed CSV"))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |k: usize| record.get(index[k]).unwrap_or("").trim();
        let int = |k: usize| -> Result<i32> {
            field(k).parse().with_context(|| {
                format!(
                    "{file}:{line}: {} '{}' is not an integer",
                    COLUMNS[k],
                    field(k)
                )
            })
        };
        let (fold, epoch) = (int(1)?, int(2)?);
        let value: f64 = field(5)
            .parse()
            .with_context(|| format!("{file}:{line}: value '{}' is not a number", field(5)))?;
        let metric = field(4);
        let Some(column) = column_of(metric) else {
            bail!(
                "{file}:{line}: metric '{metric}' is not known (known: {})",
                known_metrics().join(", ")
            );
        };
        let split = field(3);
        if split.is_empty() {
            bail!("{file}:{line}: split is empty (use training or validation)");
        }
        let key = (arch_of(field(0), runs), fold, epoch, split.to_string());
        if let Some(first) = seen.insert((key.clone(), column), line) {
            bail!(
                "{file}:{line}: {} of arch '{}' fold {fold} epoch {epoch} {split} is already given \
                 on line {first} (two runs mapped to the same arch?)",
                metric,
                key.0
            );
        }
        let slot = EPOCH_FLOATS
            .iter()
            .position(|c| *c == column)
            .context("metric column table")?;
        groups.entry(key).or_insert([f64::NAN; 10])[slot] = value;
    }
    Ok(groups
        .into_iter()
        .map(|((arch, fold, epoch, split), v)| EpochRow::from_values(arch, fold, epoch, split, v))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(text: &str) -> Result<Vec<EpochRow>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, text).unwrap();
        read_long_csv(&path, &BTreeMap::new())
    }

    #[test]
    fn run_names_lose_the_examples_suffix() {
        let none = BTreeMap::new();
        assert_eq!(arch_of("regnety_032_30000", &none), "regnety_032");
        assert_eq!(arch_of("inception_v3", &none), "inception_v3");
        assert_eq!(arch_of("efficientnet_b7", &none), "efficientnet_b7");
        let map = BTreeMap::from([("x_1".to_string(), "y".to_string())]);
        assert_eq!(arch_of("x_1", &map), "y");
    }

    #[test]
    fn groups_metrics_into_rows() {
        let rows = import(
            "run,fold,epoch,split,metric,value\n\
             a_10,0,0,validation,f1,0.5\n\
             a_10,0,0,validation,inference_time,0.2\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].arch, "a");
        assert_eq!(rows[0].f1, 0.5);
        assert_eq!(rows[0].seconds, 0.2);
        assert!(rows[0].loss.is_nan());
    }

    #[test]
    fn bad_input_names_line_and_column() {
        let err = import("run,fold,epoch,metric,value\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("column 'split' is missing"), "{err}");
        let err = import("run,fold,epoch,split,metric,value\na,0,0,validation,f1,x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains(":2: value 'x' is not a number"), "{err}");
        let err = import("run,fold,epoch,split,metric,value\na,0,0,validation,f2,1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains(":2: metric 'f2' is not known"), "{err}");
        let err = import("run,fold,epoch,split,metric,value\na_1,0,0,v,f1,1\na_2,0,0,v,f1,1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains(":3:") && err.contains("line 2"), "{err}");
    }
}
