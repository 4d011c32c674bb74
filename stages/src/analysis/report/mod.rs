//! The `report` stage kind: figures (SVG and PNG) and tables of a study, and one self-contained
//! `report.html`.
//!
//! Panels: (a) per-metric epoch progression with 95% bootstrap bands, (b) final-epoch paired
//! comparison with the p-value, (c) metrics tables against the baseline, (d) specifications,
//! (e) confusion matrices summed over folds, (f) one-vs-rest ROC curves, (g) the critical-difference
//! diagram when three or more archs are compared; `<metric>_overview` puts (a) and (b) side by side.
//! With the calls' evaluations (`call_counts`, from `aggregate_calls`), the variant-calling panel:
//! (h) a hap.py-style table per arch, (i) precision/recall curves per type, (j) classification F1
//! beside variant-calling F1 per arch, as a table and a scatter plot.
//! Same inputs give byte-identical files.

pub mod calling;
pub mod cd;
pub mod comparison;
pub mod confusion;
pub mod f1_scatter;
pub mod html;
pub mod metrics_table;
pub mod overview;
pub mod plot;
pub mod pr_curves;
pub mod predictions;
pub mod progression;
pub mod roc;
pub mod specs;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::analysis::frame::Frame;
use crate::analysis::significance::paired::Paired;
use crate::analysis::significance::TESTS;
use crate::analysis::tables::{read_epochs, read_predictions, EpochRow, EPOCH_FLOATS};
use html::Section;
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// Parameters of `report`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Metrics with panels (a), (b) and rows in (c).
    #[serde(default = "default_metrics")]
    pub metrics: Vec<String>,
    /// Baseline arch; the tests table's when absent.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Archs to show, in this order (colors follow it); all, baseline first, when absent.
    #[serde(default)]
    pub archs: Option<Vec<String>>,
    /// Test whose p-values are shown.
    #[serde(default = "default_test")]
    pub test: String,
    /// Display names of archs (e.g. `inception_v3: Inception V3`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Significance level of the ✅/❌ mark.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// sd of the tables: 0 population (the study's), 1 sample.
    #[serde(default)]
    pub ddof: u32,
    /// Bootstrap resamples of the progression bands.
    #[serde(default = "default_resamples")]
    pub resamples: usize,
    /// Bootstrap seed; the pipeline seed when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Title of report.html.
    #[serde(default = "default_title")]
    pub title: String,
    /// Filter of the variant-calling panel's tables (`PASS` or `ALL`).
    #[serde(default = "default_call_filter")]
    pub call_filter: String,
}

fn default_call_filter() -> String {
    "PASS".into()
}

fn default_metrics() -> Vec<String> {
    ["f1", "auc_ovr", "auc_ovo"].map(String::from).to_vec()
}
fn default_test() -> String {
    "wilcoxon".into()
}
fn default_alpha() -> f64 {
    0.05
}
fn default_resamples() -> usize {
    1000
}
fn default_title() -> String {
    "Cross-validation results".into()
}

impl StageParams for Params {
    fn validate(&self) -> Result<()> {
        if !TESTS.contains(&self.test.as_str()) {
            bail!(
                "params.test: '{}' is not one of {}",
                self.test,
                TESTS.join(", ")
            );
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            bail!("params.alpha: {} is not in (0, 1)", self.alpha);
        }
        crate::analysis::significance::paired::check_metrics(&self.metrics, &EPOCH_FLOATS)?;
        if !["PASS", "ALL"].contains(&self.call_filter.as_str()) {
            bail!(
                "params.call_filter: '{}' is not PASS or ALL",
                self.call_filter
            );
        }
        Ok(())
    }
}

/// Display name of a metric, as the study's tables write it.
pub fn metric_label(metric: &str) -> &str {
    match metric {
        "f1" => "F1",
        "auc_ovr" => "AUC (OVR)",
        "auc_ovo" => "AUC (OVO)",
        "accuracy" => "Accuracy",
        "precision" => "Precision",
        "recall" => "Recall",
        "mcc" => "MCC",
        "loss" => "Loss",
        "seconds" => "Inference time",
        other => other,
    }
}

/// A p-value as the study's tables print it: 4 decimals (round half to even on the exact binary value).
pub fn format_p(p: f64) -> String {
    format!("{p:.4}")
}

/// Everything the panels draw from.
pub struct Study {
    /// Archs shown, in order; the baseline among them.
    pub archs: Vec<String>,
    /// The baseline arch.
    pub baseline: String,
    /// Display names.
    pub labels: BTreeMap<String, String>,
    /// Validation epochs of the shown archs.
    pub epochs: Vec<EpochRow>,
    /// Final rows of the shown archs.
    pub finals: Vec<EpochRow>,
    /// The tests table.
    pub tests: Frame,
    /// Test whose p-values are shown.
    pub test: String,
    /// Significance level.
    pub alpha: f64,
    /// sd degrees of freedom.
    pub ddof: u32,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

impl Study {
    /// Display name of `arch`.
    pub fn label(&self, arch: &str) -> String {
        self.labels
            .get(arch)
            .cloned()
            .unwrap_or_else(|| arch.to_string())
    }

    /// p-value of the chosen test of `arch` against the baseline on `metric`, if the tests table has it.
    pub fn p_value(&self, metric: &str, arch: &str) -> Option<f64> {
        self.p_value_in(&self.tests, metric, arch)
    }

    /// p-value of the chosen test of `arch` against the baseline on `metric` in the tests table `t`
    /// (e.g. the variant-calling metrics' own), if it has it.
    pub fn p_value_in(&self, t: &Frame, metric: &str, arch: &str) -> Option<f64> {
        let (m, a, b, test, p) = (
            t.strings("metric").ok()?,
            t.strings("arch").ok()?,
            t.strings("baseline").ok()?,
            t.strings("test").ok()?,
            t.floats("p_value").ok()?,
        );
        (0..t.rows())
            .find(|&i| {
                m[i] == metric && a[i] == arch && b[i] == self.baseline && test[i] == self.test
            })
            .map(|i| p[i])
    }
}

/// The `report` stage kind.
pub struct Report;

static INPUTS: &[InputPort] = &[
    InputPort {
        name: "epochs",
        required: true,
        many: false,
        doc: "all epochs (aggregate.epochs)",
    },
    InputPort {
        name: "final",
        required: true,
        many: false,
        doc: "final-epoch rows (aggregate.final)",
    },
    InputPort {
        name: "tests",
        required: true,
        many: false,
        doc: "tests table (significance.tests)",
    },
    InputPort {
        name: "predictions",
        required: false,
        many: false,
        doc: "validation predictions (aggregate.predictions) for confusion matrices and ROC curves",
    },
    InputPort {
        name: "specs",
        required: false,
        many: false,
        doc: "CSV or Parquet: arch and one column per specification (params, gflops, ...)",
    },
    InputPort {
        name: "call_counts",
        required: false,
        many: false,
        doc:
            "evaluations of every model's calls (aggregate_calls.counts): the variant-calling panel",
    },
    InputPort {
        name: "call_curves",
        required: false,
        many: false,
        doc: "their precision/recall curves (aggregate_calls.curves)",
    },
    InputPort {
        name: "call_tests",
        required: false,
        many: false,
        doc: "tests of the variant-calling metrics (significance of aggregate_calls.final)",
    },
];

static OUTPUTS: &[OutputPort] = &[
    OutputPort {
        name: "report",
        path: "report.html",
        doc: "self-contained HTML report",
    },
    OutputPort {
        name: "figures",
        path: "figures",
        doc: "every panel as SVG and PNG",
    },
    OutputPort {
        name: "tables",
        path: "tables",
        doc: "metrics tables (one CSV per arch vs baseline), the specifications table and the \
              variant-calling tables",
    },
];

impl StageKind for Report {
    type Params = Params;

    fn name(&self) -> &'static str {
        "report"
    }
    fn version(&self) -> u32 {
        3
    }
    fn about(&self) -> &'static str {
        "figures (SVG, PNG), tables and a self-contained report.html"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let inputs = Inputs {
            epochs: ctx.input("epochs")?,
            finals: ctx.input("final")?,
            tests: ctx.input("tests")?,
            predictions: ctx.optional_input("predictions")?,
            specs: ctx.optional_input("specs")?,
            call_counts: ctx.optional_input("call_counts")?,
            call_curves: ctx.optional_input("call_curves")?,
            call_tests: ctx.optional_input("call_tests")?,
        };
        let outputs = Outputs {
            html: ctx.output("report")?,
            figures: ctx.output("figures")?,
            tables: ctx.output("tables")?,
        };
        build(&params, &inputs, &outputs, ctx.seed, |done, total, msg| {
            ctx.progress.update(done, total, msg)
        })
    }
}

/// Input files of a report.
pub struct Inputs<'a> {
    /// Epochs table.
    pub epochs: &'a Path,
    /// Final table.
    pub finals: &'a Path,
    /// Tests table.
    pub tests: &'a Path,
    /// Predictions table, if any.
    pub predictions: Option<&'a Path>,
    /// Specifications file, if any.
    pub specs: Option<&'a Path>,
    /// Evaluations of the calls (aggregate_calls' counts), if any.
    pub call_counts: Option<&'a Path>,
    /// Their precision/recall curves, if any.
    pub call_curves: Option<&'a Path>,
    /// Tests of the variant-calling metrics, if any.
    pub call_tests: Option<&'a Path>,
}

/// Output paths of a report.
pub struct Outputs<'a> {
    /// report.html.
    pub html: &'a Path,
    /// Figures directory.
    pub figures: &'a Path,
    /// Tables directory.
    pub tables: &'a Path,
}

/// Loads the inputs and the shown archs.
fn load(params: &Params, inputs: &Inputs, seed: u64) -> Result<Study> {
    let tests = Frame::read_parquet(inputs.tests)?;
    let finals = read_epochs(inputs.finals)?;
    let present: Vec<String> = {
        let mut a: Vec<String> = finals.iter().map(|r| r.arch.clone()).collect();
        a.sort();
        a.dedup();
        a
    };
    let baseline = match &params.baseline {
        Some(b) => b.clone(),
        None => tests
            .strings("baseline")
            .with_context(|| format!("{}: not a tests table", inputs.tests.display()))?
            .first()
            .cloned()
            .with_context(|| {
                format!(
                    "{}: the tests table is empty; set params.baseline",
                    inputs.tests.display()
                )
            })?,
    };
    let archs = match &params.archs {
        Some(list) => list.clone(),
        None => std::iter::once(baseline.clone())
            .chain(present.iter().filter(|a| **a != baseline).cloned())
            .collect(),
    };
    for arch in archs.iter().chain(std::iter::once(&baseline)) {
        if !present.contains(arch) {
            bail!(
                "{}: arch '{arch}' is not in the final table (archs: {}); fix params.baseline or \
                 params.archs",
                inputs.finals.display(),
                present.join(", ")
            );
        }
    }
    let finals: Vec<EpochRow> = finals
        .into_iter()
        .filter(|r| archs.contains(&r.arch))
        .collect();
    let epochs: Vec<EpochRow> = read_epochs(inputs.epochs)?
        .into_iter()
        .filter(|r| r.split == "validation" && archs.contains(&r.arch))
        .collect();
    Ok(Study {
        archs,
        baseline,
        labels: params.labels.clone(),
        epochs,
        finals,
        tests,
        test: params.test.clone(),
        alpha: params.alpha,
        ddof: params.ddof,
        resamples: params.resamples,
        seed: params.seed.unwrap_or(seed),
    })
}

/// Writes every panel, table and report.html.
pub fn build(
    params: &Params,
    inputs: &Inputs,
    outputs: &Outputs,
    seed: u64,
    progress: impl Fn(u64, u64, String),
) -> Result<()> {
    let study = load(params, inputs, seed)?;
    std::fs::create_dir_all(outputs.figures)?;
    std::fs::create_dir_all(outputs.tables)?;
    let total = params.metrics.len() as u64 + 1;
    let mut sections = vec![Section::Heading("Metrics on the validation set".into())];
    for arch in study.archs.iter().filter(|a| **a != study.baseline) {
        let table = metrics_table::comparison_table(&study, arch, &params.metrics);
        std::fs::write(
            outputs.tables.join(format!("{}.csv", table.name)),
            table.to_csv()?,
        )?;
        sections.push(Section::Table(table));
    }
    sections.push(Section::Table(metrics_table::tests_table(
        &study,
        &params.metrics,
    )?));
    for (i, metric) in params.metrics.iter().enumerate() {
        let paired = Paired::from_rows(&study.finals, metric, inputs.finals)?;
        sections.push(Section::Heading(format!(
            "{} on the validation set",
            metric_label(metric)
        )));
        let progression = progression::Progression::new(&study, metric);
        sections.push(Section::Figure(plot::render(
            &progression,
            outputs.figures,
            &format!("{metric}_progression"),
        )?));
        let comparison = comparison::Comparison::new(&study, &paired);
        sections.push(Section::Figure(plot::render(
            &comparison,
            outputs.figures,
            &format!("{metric}_comparison"),
        )?));
        let overview = overview::Overview {
            progression,
            comparison,
        };
        plot::render(&overview, outputs.figures, &format!("{metric}_overview"))?;
        if let Some(fig) = cd::CriticalDifference::new(&study, &paired) {
            sections.push(Section::Figure(plot::render(
                &fig,
                outputs.figures,
                &format!("{metric}_critical_difference"),
            )?));
        }
        progress(i as u64 + 1, total, format!("{metric} panels"));
    }
    if let Some(path) = inputs.predictions {
        let rows = read_predictions(path)?;
        let chosen = predictions::final_predictions(&study, &rows);
        if chosen.iter().any(|(_, r)| !r.is_empty()) {
            sections.push(Section::Heading(
                "Final-epoch predictions (summed over folds)".into(),
            ));
            let fig = confusion::Confusion {
                matrices: chosen
                    .iter()
                    .map(|(a, r)| (study.label(a), confusion::confusion(r)))
                    .collect(),
            };
            sections.push(Section::Figure(plot::render(
                &fig,
                outputs.figures,
                "confusion",
            )?));
            let fig = roc::Roc {
                curves: chosen
                    .iter()
                    .map(|(a, r)| {
                        let curves = (0..3).map(|k| roc::roc_curve(r, k)).collect();
                        (study.label(a), curves)
                    })
                    .collect(),
            };
            sections.push(Section::Figure(plot::render(&fig, outputs.figures, "roc")?));
        }
    }
    if let Some(path) = inputs.specs {
        let table = specs::specs_table(&study, &specs::read_specs(path)?);
        std::fs::write(outputs.tables.join("specifications.csv"), table.to_csv()?)?;
        sections.push(Section::Heading("Model specifications".into()));
        sections.push(Section::Table(table));
    }
    if let Some(counts) = inputs.call_counts {
        sections.extend(calling_panel(&study, params, inputs, counts, outputs)?);
    }
    std::fs::write(outputs.html, html::page(&params.title, &sections))?;
    progress(total, total, "report written".into());
    Ok(())
}

/// The variant-calling panel: a hap.py-style table per arch, the precision/recall curves, and
/// classification F1 beside variant-calling F1; writes its tables and figures.
fn calling_panel(
    study: &Study,
    params: &Params,
    inputs: &Inputs,
    counts: &Path,
    outputs: &Outputs,
) -> Result<Vec<Section>> {
    let calls = calling::Calls::load(study, counts, inputs.call_curves, &params.call_filter)?;
    let call_tests = inputs.call_tests.map(Frame::read_parquet).transpose()?;
    let mut sections = vec![Section::Heading(
        "Variant calls on the held-out genome".into(),
    )];
    let write = |table: &metrics_table::Table| {
        std::fs::write(
            outputs.tables.join(format!("{}.csv", table.name)),
            table.to_csv()?,
        )
        .with_context(|| format!("cannot write {}.csv", table.name))
    };
    let f1 = calling::f1_table(study, &calls, call_tests.as_ref());
    write(&f1)?;
    sections.push(Section::Table(f1));
    sections.push(Section::Figure(plot::render(
        &f1_scatter::F1Scatter::new(study, &calls),
        outputs.figures,
        "f1_scatter",
    )?));
    if let Some(fig) = pr_curves::PrCurves::new(study, &calls) {
        sections.push(Section::Figure(plot::render(
            &fig,
            outputs.figures,
            "pr_curves",
        )?));
    }
    for arch in &study.archs {
        let table = calling::happy_table(study, &calls, arch);
        write(&table)?;
        sections.push(Section::Table(table));
    }
    Ok(sections)
}
