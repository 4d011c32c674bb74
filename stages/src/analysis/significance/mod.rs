//! The `significance` stage kind: paired tests of every architecture against a baseline on the
//! per-fold final metrics, with Holm adjustment, bootstrap confidence intervals, and the Friedman test
//! with the Nemenyi critical difference when three or more architectures are compared.
//!
//! Tests table, one row per (metric, arch, test), differences taken as arch - baseline per fold:
//! - `wilcoxon`: statistic min(R+, R-) and p-value as `scipy.stats.wilcoxon` defaults; effect size the
//!   matched-pairs rank-biserial correlation.
//! - `t_test`: paired t (`scipy.stats.ttest_rel`); effect size Cohen's d_z (mean / sd of differences).
//! - `nadeau_bengio`: the corrected resampled t; effect size d_z.
//!
//! `p_adjusted` is Holm's adjustment over the archs compared with the baseline, per metric and test.
//! `ci_low`/`ci_high` are the seeded percentile bootstrap CI (1 - alpha) of the mean difference, the
//! same on the three rows of a (metric, arch).

pub mod bootstrap;
pub mod friedman;
pub mod holm;
pub mod nadeau_bengio;
pub mod paired;
pub mod rank;
pub mod ttest;
pub mod wilcoxon;

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::analysis::frame::{Frame, Values};
use paired::Paired;
use pipe_kind::{InputPort, OutputPort, StageKind, StageParams, TaskContext};

/// Metrics tested when the pipeline does not list them.
pub const DEFAULT_METRICS: [&str; 7] = [
    "f1",
    "auc_ovr",
    "auc_ovo",
    "accuracy",
    "precision",
    "recall",
    "mcc",
];

/// Names of the tests in the `test` column, in output order.
pub const TESTS: [&str; 3] = ["wilcoxon", "t_test", "nadeau_bengio"];

/// Bootstrap settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapParams {
    /// Number of resamples.
    pub resamples: usize,
    /// Seed; the pipeline seed when absent.
    pub seed: Option<u64>,
}

impl Default for BootstrapParams {
    fn default() -> Self {
        Self {
            resamples: 10_000,
            seed: None,
        }
    }
}

/// Parameters of `significance`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The architecture every other one is compared with.
    pub baseline: String,
    /// Metrics to test (columns of the final table: aggregate's, or aggregate_calls' `snp_f1`, ...).
    #[serde(default = "default_metrics")]
    pub metrics: Vec<String>,
    /// Significance level (CIs are 1 - alpha; Nemenyi CD at alpha).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Bootstrap of the mean difference.
    #[serde(default)]
    pub bootstrap: BootstrapParams,
    /// Test/train size ratio of the Nadeau-Bengio correction; 1/(k-1) for k folds when absent.
    #[serde(default)]
    pub test_train_ratio: Option<f64>,
}

fn default_metrics() -> Vec<String> {
    DEFAULT_METRICS.iter().map(|s| s.to_string()).collect()
}

fn default_alpha() -> f64 {
    0.05
}

impl StageParams for Params {
    fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            bail!("params.alpha: {} is not in (0, 1)", self.alpha);
        }
        paired::check_metrics(&self.metrics, &paired::known_metrics())?;
        if let Some(r) = self.test_train_ratio {
            if !(r > 0.0 && r.is_finite()) {
                bail!("params.test_train_ratio: {r} must be a positive number");
            }
        }
        Ok(())
    }
}

/// The `significance` stage kind.
pub struct Significance;

static INPUTS: &[InputPort] = &[InputPort {
    name: "table",
    required: true,
    many: false,
    doc: "final table (aggregate.final or aggregate_calls.final): one row per (arch, fold)",
}];

static OUTPUTS: &[OutputPort] = &[
    OutputPort {
        name: "tests",
        path: "tests.parquet",
        doc: "one row per (metric, arch, test): statistic, p_value, p_adjusted (Holm), effect_size, CI",
    },
    OutputPort {
        name: "tests_csv",
        path: "tests.csv",
        doc: "the tests table as CSV",
    },
    OutputPort {
        name: "friedman",
        path: "friedman.parquet",
        doc: "per (metric, arch): mean rank, Friedman statistic and p-value, Nemenyi CD (>= 3 archs)",
    },
    OutputPort {
        name: "friedman_csv",
        path: "friedman.csv",
        doc: "the Friedman table as CSV",
    },
];

impl StageKind for Significance {
    type Params = Params;

    fn name(&self) -> &'static str {
        "significance"
    }
    fn version(&self) -> u32 {
        1
    }
    fn about(&self) -> &'static str {
        "paired tests (Wilcoxon, t, Nadeau-Bengio; Holm), bootstrap CIs, Friedman + Nemenyi CD"
    }
    fn inputs(&self) -> &'static [InputPort] {
        INPUTS
    }
    fn outputs(&self) -> &'static [OutputPort] {
        OUTPUTS
    }
    fn compute(&self, params: Params, ctx: &TaskContext) -> Result<()> {
        let path = ctx.input("table")?;
        let table = Frame::read_parquet(path)?;
        let seed = params.bootstrap.seed.unwrap_or(ctx.seed);
        let mut tests = TestRows::default();
        let mut friedman_rows = FriedmanRows::default();
        for (i, metric) in params.metrics.iter().enumerate() {
            let paired = Paired::from_frame(&table, metric, path)?;
            if !paired.values.contains_key(&params.baseline) {
                bail!(
                    "{}: baseline arch '{}' is not in the table (archs: {}); set params.baseline \
                     to one of them",
                    path.display(),
                    params.baseline,
                    paired.values.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            tests.add_metric(&paired, &params, seed);
            friedman_rows.add_metric(&paired, params.alpha);
            ctx.progress.update(
                i as u64 + 1,
                params.metrics.len() as u64,
                format!("tested {metric}"),
            );
        }
        let tests = tests.into_frame();
        tests.write_parquet(ctx.output("tests")?)?;
        tests.write_csv(ctx.output("tests_csv")?)?;
        let friedman = friedman_rows.into_frame();
        friedman.write_parquet(ctx.output("friedman")?)?;
        friedman.write_csv(ctx.output("friedman_csv")?)?;
        Ok(())
    }
}

/// Rows of the tests table under construction.
#[derive(Default)]
struct TestRows {
    metric: Vec<String>,
    arch: Vec<String>,
    baseline: Vec<String>,
    test: Vec<String>,
    statistic: Vec<f64>,
    p_value: Vec<f64>,
    p_adjusted: Vec<f64>,
    effect_size: Vec<f64>,
    ci_low: Vec<f64>,
    ci_high: Vec<f64>,
    n: Vec<i64>,
}

impl TestRows {
    /// Tests every arch against the baseline on one metric; Holm adjusts each test's p-values over the
    /// archs compared with the baseline on this metric.
    fn add_metric(&mut self, paired: &Paired, params: &Params, seed: u64) {
        let baseline = &params.baseline;
        let archs: Vec<&String> = paired.values.keys().filter(|a| *a != baseline).collect();
        let start = self.p_value.len();
        for arch in &archs {
            let d = paired.differences(arch, baseline);
            let label = format!("{}/{arch}/{baseline}", paired.metric);
            let (lo, hi) = bootstrap::mean_ci(
                &d,
                params.bootstrap.resamples,
                params.alpha,
                bootstrap::stream_seed(seed, &label),
            );
            let w = wilcoxon::wilcoxon(&d);
            let t = ttest::paired_t(&d);
            let nb = nadeau_bengio::corrected_t(&d, params.test_train_ratio);
            let results = [
                (w.statistic, w.p_value, w.rank_biserial()),
                (t.statistic, t.p_value, t.effect_size),
                (nb.statistic, nb.p_value, nb.effect_size),
            ];
            for (test, (stat, p, effect)) in TESTS.iter().zip(results) {
                self.metric.push(paired.metric.clone());
                self.arch.push(arch.to_string());
                self.baseline.push(baseline.clone());
                self.test.push(test.to_string());
                self.statistic.push(stat);
                self.p_value.push(p);
                self.p_adjusted.push(f64::NAN);
                self.effect_size.push(effect);
                self.ci_low.push(lo);
                self.ci_high.push(hi);
                self.n.push(d.len() as i64);
            }
        }
        for k in 0..TESTS.len() {
            let idx: Vec<usize> = (0..archs.len())
                .map(|a| start + a * TESTS.len() + k)
                .collect();
            let p: Vec<f64> = idx.iter().map(|&i| self.p_value[i]).collect();
            for (i, adj) in idx.into_iter().zip(holm::holm(&p)) {
                self.p_adjusted[i] = adj;
            }
        }
    }

    fn into_frame(self) -> Frame {
        let mut f = Frame::default();
        f.push("metric", Values::Str(self.metric));
        f.push("arch", Values::Str(self.arch));
        f.push("baseline", Values::Str(self.baseline));
        f.push("test", Values::Str(self.test));
        f.push("statistic", Values::Float(self.statistic));
        f.push("p_value", Values::Float(self.p_value));
        f.push("p_adjusted", Values::Float(self.p_adjusted));
        f.push("effect_size", Values::Float(self.effect_size));
        f.push("ci_low", Values::Float(self.ci_low));
        f.push("ci_high", Values::Float(self.ci_high));
        f.push("n", Values::Int(self.n));
        f
    }
}

/// Rows of the Friedman table under construction.
#[derive(Default)]
struct FriedmanRows {
    metric: Vec<String>,
    arch: Vec<String>,
    mean_rank: Vec<f64>,
    statistic: Vec<f64>,
    p_value: Vec<f64>,
    cd: Vec<f64>,
    k: Vec<i64>,
    n: Vec<i64>,
}

impl FriedmanRows {
    /// Adds the Friedman test of one metric when at least three archs are compared.
    fn add_metric(&mut self, paired: &Paired, alpha: f64) {
        let k = paired.values.len();
        if k < 3 {
            return;
        }
        let blocks: Vec<Vec<f64>> = (0..paired.folds.len())
            .map(|i| paired.values.values().map(|v| v[i]).collect())
            .collect();
        let f = friedman::friedman(&blocks);
        let cd = friedman::nemenyi_cd(k, f.n, alpha);
        for (arch, rank) in paired.values.keys().zip(&f.mean_ranks) {
            self.metric.push(paired.metric.clone());
            self.arch.push(arch.clone());
            self.mean_rank.push(*rank);
            self.statistic.push(f.statistic);
            self.p_value.push(f.p_value);
            self.cd.push(cd);
            self.k.push(k as i64);
            self.n.push(f.n as i64);
        }
    }

    fn into_frame(self) -> Frame {
        let mut f = Frame::default();
        f.push("metric", Values::Str(self.metric));
        f.push("arch", Values::Str(self.arch));
        f.push("mean_rank", Values::Float(self.mean_rank));
        f.push("statistic", Values::Float(self.statistic));
        f.push("p_value", Values::Float(self.p_value));
        f.push("cd", Values::Float(self.cd));
        f.push("k", Values::Int(self.k));
        f.push("n", Values::Int(self.n));
        f
    }
}
