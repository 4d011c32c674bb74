//! The variant-calling panel's data and tables: every model's calls on the held-out genome scored
//! against its truth (`aggregate_calls`' counts and curves), as hap.py-style tables per arch and a
//! table of classification F1 beside variant-calling F1.

use std::path::Path;

use anyhow::{Context, Result};

use super::metrics_table::Table;
use super::Study;
use crate::analysis::aggregate::mean_sd;
use crate::analysis::frame::Frame;

/// The variant types of the panel, in display order.
pub const CALL_TYPES: [&str; 2] = ["SNP", "INDEL"];

/// The hap.py count columns of the per-arch table.
const COUNT_COLUMNS: [&str; 6] = [
    "TRUTH.TOTAL",
    "TRUTH.TP",
    "TRUTH.FN",
    "QUERY.TP",
    "QUERY.FP",
    "FP.gt",
];

/// The hap.py metric columns of the per-arch table, with their headers.
const METRIC_COLUMNS: [(&str, &str); 3] = [
    ("METRIC.Recall", "Recall"),
    ("METRIC.Precision", "Precision"),
    ("METRIC.F1_Score", "F1"),
];

/// One (arch, fold, type) row of the evaluations under the panel's filter.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    /// Architecture.
    pub arch: String,
    /// Fold of the model.
    pub fold: i64,
    /// `SNP` or `INDEL`.
    pub vtype: String,
    /// The [`COUNT_COLUMNS`], in order.
    pub counts: [f64; 6],
    /// The [`METRIC_COLUMNS`], in order.
    pub metrics: [f64; 3],
}

/// One point of a precision/recall curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// QUAL threshold.
    pub qual: f64,
    /// Recall of the calls with QUAL at least the threshold.
    pub recall: f64,
    /// Their precision.
    pub precision: f64,
}

/// The evaluations of the shown archs' calls.
pub struct Calls {
    /// Filter of the rows (`PASS`).
    pub filter: String,
    /// SNP and INDEL rows of every (arch, fold).
    pub rows: Vec<CallRow>,
    /// Per (arch, fold, type): the precision/recall curve under filter ALL, by ascending QUAL.
    pub curves: Vec<Curve>,
}

/// The columns that name a row of `aggregate_calls`' tables: its (arch, fold) and hap.py's Type and
/// Filter.
struct RowKeys<'a> {
    arch: &'a [String],
    fold: &'a [i64],
    types: &'a [String],
    filters: &'a [String],
}

impl<'a> RowKeys<'a> {
    fn of(table: &'a Frame) -> Result<Self> {
        Ok(Self {
            arch: table.strings("arch")?,
            fold: table.ints("fold")?,
            types: table.strings("Type")?,
            filters: table.strings("Filter")?,
        })
    }
}

impl Calls {
    /// Reads `aggregate_calls`' counts and (when given) curves tables, keeping the shown archs'
    /// rows under `filter`.
    pub fn load(study: &Study, counts: &Path, curves: Option<&Path>, filter: &str) -> Result<Self> {
        let table = Frame::read_parquet(counts)?;
        let ctx = || format!("{}: not aggregate_calls' counts table", counts.display());
        let keys = RowKeys::of(&table).with_context(ctx)?;
        let counts_cols = COUNT_COLUMNS
            .iter()
            .map(|c| table.ints(c).with_context(ctx))
            .collect::<Result<Vec<_>>>()?;
        let metric_cols = METRIC_COLUMNS
            .iter()
            .map(|(c, _)| table.floats(c).with_context(ctx))
            .collect::<Result<Vec<_>>>()?;
        let rows = (0..table.rows())
            .filter(|&i| {
                keys.filters[i] == filter
                    && CALL_TYPES.contains(&keys.types[i].as_str())
                    && study.archs.contains(&keys.arch[i])
            })
            .map(|i| CallRow {
                arch: keys.arch[i].clone(),
                fold: keys.fold[i],
                vtype: keys.types[i].clone(),
                counts: std::array::from_fn(|k| counts_cols[k][i] as f64),
                metrics: std::array::from_fn(|k| metric_cols[k][i]),
            })
            .collect();
        let curves = match curves {
            Some(path) => read_curves(study, path)?,
            None => Vec::new(),
        };
        Ok(Calls {
            filter: filter.to_string(),
            rows,
            curves,
        })
    }

    /// The rows of `arch` and `vtype`, in fold order.
    fn of(&self, arch: &str, vtype: &str) -> Vec<&CallRow> {
        let mut rows: Vec<&CallRow> = self
            .rows
            .iter()
            .filter(|r| r.arch == arch && r.vtype == vtype)
            .collect();
        rows.sort_by_key(|r| r.fold);
        rows
    }

    /// The F1 of `arch` on `vtype` per fold, in fold order.
    pub fn f1(&self, arch: &str, vtype: &str) -> Vec<(i64, f64)> {
        self.of(arch, vtype)
            .iter()
            .map(|r| (r.fold, r.metrics[2]))
            .collect()
    }
}

/// One precision/recall curve: (arch, fold, variant type) and its points by QUAL threshold.
pub type Curve = ((String, i64, String), Vec<CurvePoint>);

/// The precision/recall curves (filter ALL) of the shown archs, from `aggregate_calls`' curves table.
fn read_curves(study: &Study, path: &Path) -> Result<Vec<Curve>> {
    let table = Frame::read_parquet(path)?;
    if table.rows() == 0 {
        return Ok(Vec::new());
    }
    let ctx = || format!("{}: not aggregate_calls' curves table", path.display());
    let keys = RowKeys::of(&table).with_context(ctx)?;
    let qual = table.floats("QUAL").with_context(ctx)?;
    let recall = table.floats("METRIC.Recall").with_context(ctx)?;
    let precision = table.floats("METRIC.Precision").with_context(ctx)?;
    let mut curves: Vec<Curve> = Vec::new();
    for i in 0..table.rows() {
        let shown = keys.filters[i] == "ALL"
            && CALL_TYPES.contains(&keys.types[i].as_str())
            && study.archs.contains(&keys.arch[i])
            && recall[i].is_finite()
            && precision[i].is_finite();
        if !shown {
            continue;
        }
        let key = (keys.arch[i].clone(), keys.fold[i], keys.types[i].clone());
        let point = CurvePoint {
            qual: qual[i],
            recall: recall[i],
            precision: precision[i],
        };
        match curves.iter_mut().find(|(k, _)| *k == key) {
            Some((_, points)) => points.push(point),
            None => curves.push((key, vec![point])),
        }
    }
    for (_, points) in &mut curves {
        points.sort_by(|a, b| a.qual.total_cmp(&b.qual));
    }
    Ok(curves)
}

/// The hap.py-style table of `arch`: per type, the counts and metrics, each the mean over folds.
pub fn happy_table(study: &Study, calls: &Calls, arch: &str) -> Table {
    let mut header = vec!["Type".to_string()];
    header.extend(COUNT_COLUMNS.iter().map(|c| c.to_string()));
    header.extend(METRIC_COLUMNS.iter().map(|(_, h)| h.to_string()));
    let mut rows = vec![header];
    let mut folds = 0;
    for vtype in CALL_TYPES {
        let of = calls.of(arch, vtype);
        folds = folds.max(of.len());
        let mean = |values: Vec<f64>| mean_sd(&values, 0).0;
        let mut row = vec![vtype.to_string()];
        for k in 0..COUNT_COLUMNS.len() {
            row.push(format!(
                "{:.1}",
                mean(of.iter().map(|r| r.counts[k]).collect())
            ));
        }
        for k in 0..METRIC_COLUMNS.len() {
            row.push(format!(
                "{:.4}",
                mean(of.iter().map(|r| r.metrics[k]).collect())
            ));
        }
        rows.push(row);
    }
    Table {
        name: format!("{arch}_calls"),
        title: format!(
            "{}: calls on the held-out genome (filter {}, mean over {folds} folds)",
            study.label(arch),
            calls.filter
        ),
        rows,
    }
}

/// Classification F1 (validation, final epoch) beside the variant-calling SNP and INDEL F1 of every
/// arch, mean ± sd over folds, with the p-values of the study's test against the baseline (the
/// tests table of the calls, `call_tests`, when given).
pub fn f1_table(study: &Study, calls: &Calls, call_tests: Option<&Frame>) -> Table {
    let mut rows = vec![vec![
        "Arch".to_string(),
        "Classification F1".to_string(),
        "SNP F1".to_string(),
        "p (SNP F1)".to_string(),
        "INDEL F1".to_string(),
        "p (INDEL F1)".to_string(),
    ]];
    let cell = |values: &[f64]| {
        let (m, s) = mean_sd(values, study.ddof);
        format!("{m:.4} ± {s:.4}")
    };
    for arch in &study.archs {
        let classification: Vec<f64> = study
            .finals
            .iter()
            .filter(|r| &r.arch == arch)
            .map(|r| r.f1)
            .collect();
        let mut row = vec![study.label(arch), cell(&classification)];
        for (vtype, metric) in [("SNP", "snp_f1"), ("INDEL", "indel_f1")] {
            let f1: Vec<f64> = calls.f1(arch, vtype).iter().map(|v| v.1).collect();
            row.push(cell(&f1));
            row.push(
                call_tests
                    .and_then(|t| study.p_value_in(t, metric, arch))
                    .map(super::format_p)
                    .unwrap_or_default(),
            );
        }
        rows.push(row);
    }
    Table {
        name: "classification_vs_calling_f1".into(),
        title: format!(
            "Classification F1 (validation) and variant-calling F1 (held-out genome); p: {} against {}",
            study.test,
            study.label(&study.baseline)
        ),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::frame::Values;
    use crate::analysis::tables::EpochRow;
    use std::collections::BTreeMap;

    fn study() -> Study {
        let finals = [("a", 0, 0.9), ("a", 1, 0.8), ("b", 0, 0.95), ("b", 1, 0.93)]
            .iter()
            .map(|&(arch, fold, f1)| {
                let mut v = [0.5; 10];
                v[4] = f1;
                let row = EpochRow::from_values(arch.into(), fold, 2, "validation".into(), v);
                assert_eq!(row.f1, f1, "f1 is the fifth metric");
                row
            })
            .collect();
        Study {
            archs: vec!["a".into(), "b".into()],
            baseline: "a".into(),
            labels: BTreeMap::new(),
            epochs: Vec::new(),
            finals,
            tests: Frame::default(),
            test: "wilcoxon".into(),
            alpha: 0.05,
            ddof: 0,
            resamples: 10,
            seed: 1,
        }
    }

    /// An `aggregate_calls` counts table: SNP and INDEL rows of both filters for (arch, fold) with
    /// TRUTH.TOTAL `total` and F1 `f1` (the same under both filters, precision = recall = F1).
    fn counts(runs: &[(&str, i64, i64, f64)]) -> Frame {
        let mut cols: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let (mut folds, mut ints, mut floats) = (vec![], vec![], vec![]);
        for &(arch, fold, total, f1) in runs {
            for vtype in ["SNP", "INDEL", "ALL"] {
                for filter in ["ALL", "PASS"] {
                    cols.entry("arch").or_default().push(arch.into());
                    cols.entry("Type").or_default().push(vtype.into());
                    cols.entry("Filter").or_default().push(filter.into());
                    folds.push(fold);
                    ints.push(total);
                    floats.push(f1);
                }
            }
        }
        let mut f = Frame::default();
        f.push("arch", Values::Str(cols.remove("arch").unwrap()));
        f.push("fold", Values::Int(folds));
        f.push("Type", Values::Str(cols.remove("Type").unwrap()));
        f.push("Filter", Values::Str(cols.remove("Filter").unwrap()));
        for c in COUNT_COLUMNS {
            f.push(c, Values::Int(ints.clone()));
        }
        for (c, _) in METRIC_COLUMNS {
            f.push(c, Values::Float(floats.clone()));
        }
        f
    }

    #[test]
    fn happy_table_is_the_mean_over_folds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counts.parquet");
        counts(&[
            ("a", 0, 10, 0.9),
            ("a", 1, 13, 0.8),
            ("b", 0, 10, 1.0),
            ("c", 0, 1, 0.1),
        ])
        .write_parquet(&path)
        .unwrap();
        let s = study();
        let calls = Calls::load(&s, &path, None, "PASS").unwrap();
        assert!(calls.rows.iter().all(|r| r.arch != "c"), "only shown archs");
        let t = happy_table(&s, &calls, "a");
        assert_eq!(t.rows[0][1], "TRUTH.TOTAL");
        assert_eq!(t.rows[0][9], "F1");
        assert_eq!(t.rows[1][0], "SNP");
        assert_eq!(t.rows[1][1], "11.5");
        assert_eq!(t.rows[2][9], "0.8500");
        assert!(
            t.title.contains("filter PASS, mean over 2 folds"),
            "{}",
            t.title
        );
        let f1 = f1_table(&s, &calls, None);
        assert_eq!(
            f1.rows[1],
            [
                "a",
                "0.8500 ± 0.0500",
                "0.8500 ± 0.0500",
                "",
                "0.8500 ± 0.0500",
                ""
            ]
        );
        assert_eq!(f1.rows[2][1], "0.9400 ± 0.0100");
        assert_eq!(f1.rows[2][2], "1.0000 ± 0.0000");
    }

    #[test]
    fn a_table_that_is_not_counts_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.parquet");
        let mut f = Frame::default();
        f.push("arch", Values::Str(vec!["a".into()]));
        f.write_parquet(&path).unwrap();
        let err = Calls::load(&study(), &path, None, "PASS")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("other.parquet: not aggregate_calls' counts table"),
            "{err}"
        );
    }
}
