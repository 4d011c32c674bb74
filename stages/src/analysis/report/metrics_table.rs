//! Panel (c): the metrics table of each arch against the baseline, in the layout of the original
//! study's `*__6fold_CV_results.csv`: `mean ± sd` per arch (an arrow ↑ on the better one), the test's
//! p-value and a significance mark.

use super::Study;
use crate::analysis::aggregate::mean_sd;

/// One comparison table: a header row and one row per metric, as text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem, e.g. `regnety_032_vs_inception_v3`.
    pub name: String,
    /// Title shown above the table.
    pub title: String,
    /// Rows of cells, the header first.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as CSV text (the csv crate's quoting).
    pub fn to_csv(&self) -> anyhow::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in &self.rows {
            w.write_record(row)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }
}

/// The metrics table of `arch` against the baseline over `metrics`.
pub fn comparison_table(study: &Study, arch: &str, metrics: &[String]) -> Table {
    let base = &study.baseline;
    let mut rows = vec![vec![
        "Metric".to_string(),
        study.label(base),
        study.label(arch),
        "p-value".to_string(),
        format!("< {}", study.alpha),
    ]];
    for metric in metrics {
        let stats = |a: &str| {
            let values: Vec<f64> = study
                .finals
                .iter()
                .filter(|r| r.arch == a)
                .filter_map(|r| r.metric(metric))
                .collect();
            mean_sd(&values, study.ddof)
        };
        let (bm, bs) = stats(base);
        let (am, asd) = stats(arch);
        let lower_better = metric == "loss" || metric == "seconds";
        let base_better = if lower_better { bm < am } else { bm > am };
        let arch_better = if lower_better { am < bm } else { am > bm };
        let cell = |m: f64, s: f64, better: bool| {
            format!("{m:.4} ± {s:.4}{}", if better { " ↑" } else { "" })
        };
        let p = study.p_value(metric, arch);
        rows.push(vec![
            super::metric_label(metric).to_string(),
            cell(bm, bs, base_better),
            cell(am, asd, arch_better),
            p.map(super::format_p).unwrap_or_default(),
            match p {
                // The study's marks, so the CSV tables are its files; the HTML page shows words.
                Some(p) if p < study.alpha => SIGNIFICANT.to_string(),
                Some(_) => NOT_SIGNIFICANT.to_string(),
                None => String::new(),
            },
        ]);
    }
    Table {
        name: format!("{arch}_vs_{base}"),
        title: format!("{} vs {}", study.label(arch), study.label(base)),
        rows,
    }
}

/// The study's mark of a p-value under alpha in its `< 0.05` column.
pub const SIGNIFICANT: &str = "✅";
/// The study's mark of a p-value at or over alpha.
pub const NOT_SIGNIFICANT: &str = "❌";

/// All tests of the shown archs and metrics against the baseline, as in the tests table: statistic,
/// p-value, Holm-adjusted p-value, effect size and the bootstrap CI of the mean difference.
pub fn tests_table(study: &Study, metrics: &[String]) -> anyhow::Result<Table> {
    let t = &study.tests;
    let (metric, arch, baseline, test) = (
        t.strings("metric")?,
        t.strings("arch")?,
        t.strings("baseline")?,
        t.strings("test")?,
    );
    let floats = [
        "statistic",
        "p_value",
        "p_adjusted",
        "effect_size",
        "ci_low",
        "ci_high",
    ]
    .map(|c| t.floats(c));
    let [stat, p, p_adj, effect, lo, hi] = floats;
    let (stat, p, p_adj, effect, lo, hi) = (stat?, p?, p_adj?, effect?, lo?, hi?);
    let mut rows = vec![[
        "Metric",
        "Arch",
        "Test",
        "Statistic",
        "p-value",
        "Holm p",
        "Effect size",
        "95% CI of difference",
    ]
    .map(String::from)
    .to_vec()];
    for m in metrics {
        for a in study.archs.iter().filter(|a| **a != study.baseline) {
            for i in 0..t.rows() {
                if &metric[i] == m && &arch[i] == a && baseline[i] == study.baseline {
                    rows.push(vec![
                        super::metric_label(m).to_string(),
                        study.label(a),
                        test[i].clone(),
                        format!("{:.4}", stat[i]),
                        super::format_p(p[i]),
                        super::format_p(p_adj[i]),
                        format!("{:.4}", effect[i]),
                        format!("[{:.4}, {:.4}]", lo[i], hi[i]),
                    ]);
                }
            }
        }
    }
    Ok(Table {
        name: "tests".into(),
        title: format!("Paired tests against {}", study.label(&study.baseline)),
        rows,
    })
}
