//! The real `pipelines/study.yaml`, scaled down with `--set` so it runs in a test: it runs to the report
//! with every panel (the variant-calling panel included), a second run runs nothing, and a changed
//! learning rate re-runs exactly that architecture's train, call and evaluate tasks and what reads them.

mod common;

use common::{study_pipeline, torch_worker_built, Project};

/// Small enough for a debug build on two cores, large enough for three stratified folds.
const SMALL: &[&str] = &[
    "--set",
    "genome_bp=60000",
    "--set",
    "heldout_bp=40000",
    "--set",
    "epochs=1",
    "--set",
    "archs=[regnety_002, efficientnet_b0, convnext_atto]",
    "--set",
    "baseline=regnety_002",
];

fn study_project() -> Project {
    let p = Project::new();
    p.write("study.yaml", &study_pipeline());
    p
}

fn args<'a>(first: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    let mut v = first.to_vec();
    v.extend_from_slice(SMALL);
    v.extend_from_slice(more);
    v
}

/// Task ids `pipe status` marks to run.
fn to_run(status: &str) -> Vec<String> {
    let mut ids: Vec<String> = status
        .lines()
        .filter_map(|l| l.strip_prefix("run "))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn study_runs_to_the_report_then_reruns_exactly_what_changed() {
    if !torch_worker_built() {
        return;
    }
    let p = study_project();
    p.ok(&args(&["run", "study.yaml"], &[]));

    let results = p.path().join("results/study");
    let report = std::fs::read_to_string(results.join("report.html")).unwrap();
    for arch in ["regnety_002", "efficientnet_b0", "convnext_atto"] {
        assert!(report.contains(arch), "{arch} missing from report.html");
    }
    let listing = |dir: &str| -> Vec<String> {
        std::fs::read_dir(results.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let figures = listing("figures");
    // (a) progression, (b) paired comparison, (e) confusion, (f) ROC, (g) critical difference.
    for panel in [
        "f1_progression",
        "f1_comparison",
        "confusion",
        "roc",
        "f1_critical_difference",
    ] {
        for ext in ["svg", "png"] {
            let name = format!("{panel}.{ext}");
            assert!(figures.contains(&name), "{name} missing from {figures:?}");
        }
    }
    // (c) the metrics tables against the baseline, (d) the specifications table.
    let tables = listing("tables");
    assert!(
        tables.contains(&"convnext_atto_vs_regnety_002.csv".to_string()),
        "{tables:?}"
    );
    let specs = std::fs::read_to_string(results.join("tables/specifications.csv")).unwrap();
    assert!(
        specs.contains("3,378,043") || specs.contains("3378043"),
        "{specs}"
    );
    let summary = std::fs::read_to_string(results.join("summary.md")).unwrap();
    assert!(summary.contains("efficientnet_b0"), "{summary}");

    // The variant-calling panel: every model's calls on the held-out genome, scored, tested, drawn.
    assert!(
        report.contains("Variant calls on the held-out genome") && report.contains("TRUTH.TOTAL"),
        "no variant-calling panel in report.html"
    );
    for panel in ["pr_curves", "f1_scatter"] {
        assert!(
            figures.contains(&format!("{panel}.svg")),
            "{panel} missing: {figures:?}"
        );
    }
    for table in [
        "classification_vs_calling_f1.csv",
        "regnety_002_calls.csv",
        "convnext_atto_calls.csv",
    ] {
        assert!(
            tables.contains(&table.to_string()),
            "{table} missing: {tables:?}"
        );
    }
    let calls = std::fs::read_to_string(results.join("tables/convnext_atto_calls.csv")).unwrap();
    let snp = calls
        .lines()
        .find(|l| l.starts_with("SNP,"))
        .unwrap_or_default();
    let truth_total: f64 = snp.split(',').nth(1).unwrap_or_default().parse().unwrap();
    assert!(
        truth_total > 10.0,
        "the held-out genome has SNPs to call:\n{calls}"
    );
    let calling = std::fs::read_to_string(results.join("calling_summary.md")).unwrap();
    assert!(
        calling.contains("| snp_f1 |") && calling.contains("convnext_atto"),
        "{calling}"
    );
    let tests = std::fs::read_to_string(results.join("calling_tests.csv")).unwrap();
    assert!(
        tests.contains("snp_f1,convnext_atto,regnety_002,wilcoxon"),
        "{tests}"
    );

    p.ok(&args(&["run", "study.yaml"], &[]));
    assert!(p.ran_in_last_run().is_empty(), "a second run runs nothing");

    let change = ["--set", "lr.convnext_atto=5.0e-4"];
    let expected = [
        "call[arch=convnext_atto,fold=0]",
        "call[arch=convnext_atto,fold=1]",
        "call[arch=convnext_atto,fold=2]",
        "calling",
        "calling_stats",
        "evaluate[arch=convnext_atto,fold=0]",
        "evaluate[arch=convnext_atto,fold=1]",
        "evaluate[arch=convnext_atto,fold=2]",
        "metrics",
        "report",
        "stats",
        "train[arch=convnext_atto,fold=0]",
        "train[arch=convnext_atto,fold=1]",
        "train[arch=convnext_atto,fold=2]",
    ];
    let status = p.ok(&args(&["status", "study.yaml"], &change));
    assert_eq!(to_run(&status), expected, "{status}");
    assert!(
        status.contains("param lr: 0.002 -> 0.0005"),
        "the reason names the param:\n{status}"
    );
    p.ok(&args(&["run", "study.yaml"], &change));
    assert_eq!(p.ran_in_last_run(), expected);
}
