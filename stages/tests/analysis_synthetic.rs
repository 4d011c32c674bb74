//! The analysis kinds on a small synthetic study of three archs: every panel is drawn (confusion
//! matrices, ROC curves and the critical-difference diagram included), outputs are byte-identical when
//! rebuilt, and bad inputs give clear errors.

mod common;

use std::path::{Path, PathBuf};

use common::{keep_for_look, run, try_run};
use pipe_stages::analysis::tables::{write_epochs, write_predictions, EpochRow, PredictionRow};
use serde_json::json;

const ARCHS: [&str; 3] = ["inception_v3", "regnety_002", "resnext50_32x4d"];

/// A deterministic pseudo-random value in [0, 1) from integers.
fn noise(a: usize, b: usize, c: usize) -> f64 {
    let mut h = (a * 7919 + b * 104_729 + c * 1_299_709) as u64 ^ 0x9e37_79b9_7f4a_7c15;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h % 10_000) as f64 / 10_000.0
}

fn epochs(folds: &[i32]) -> Vec<EpochRow> {
    let mut rows = Vec::new();
    for (a, arch) in ARCHS.iter().enumerate() {
        for &fold in folds {
            for epoch in 0..3 {
                let v = 0.6
                    + 0.1 * epoch as f64
                    + 0.02 * a as f64
                    + 0.02 * noise(a, fold as usize, epoch as usize);
                for split in ["training", "validation"] {
                    rows.push(EpochRow {
                        arch: arch.to_string(),
                        fold,
                        epoch,
                        split: split.into(),
                        loss: 1.0 - v,
                        accuracy: v,
                        precision: v,
                        recall: v,
                        f1: v,
                        auc_ovr: v,
                        auc_ovo: v,
                        mcc: v,
                        seconds: 0.2 + 0.1 * a as f64,
                        images_per_second: 100.0,
                    });
                }
            }
        }
    }
    rows
}

fn predictions() -> Vec<PredictionRow> {
    let mut rows = Vec::new();
    for (a, arch) in ARCHS.iter().enumerate() {
        for fold in 0..4 {
            for i in 0..30 {
                let label = (i % 3) as i8;
                let mut p: [f64; 3] = std::array::from_fn(|k| 0.1 + noise(3 * a + k, fold, i));
                p[label as usize] += 0.6 * noise(i, a, fold);
                let sum: f64 = p.iter().sum();
                rows.push(PredictionRow {
                    arch: arch.to_string(),
                    id: format!("chr20:{i}"),
                    fold: fold as i32,
                    epoch: 2,
                    label,
                    p: p.map(|v| v / sum),
                });
            }
        }
    }
    rows
}

struct Study {
    _dir: tempfile::TempDir,
    root: PathBuf,
    agg: std::collections::BTreeMap<String, PathBuf>,
    sig: std::collections::BTreeMap<String, PathBuf>,
    specs: PathBuf,
}

fn study() -> Study {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let runs: Vec<PathBuf> = (0..4)
        .map(|fold| {
            let path = root.join(format!("epochs{fold}.parquet"));
            write_epochs(&path, &epochs(&[fold])).unwrap();
            path
        })
        .collect();
    let preds = root.join("predictions.parquet");
    write_predictions(&preds, &predictions()).unwrap();
    let specs = root.join("specs.csv");
    std::fs::write(
        &specs,
        "arch,Parameters,GFLOPS\ninception_v3,27.2M,5.71\nregnety_002,3.2M,0.2\nresnext50_32x4d,25.0M,4.23\n",
    )
    .unwrap();
    let agg = run(
        "aggregate",
        json!({ "ddof": 1 }),
        &[("runs", runs), ("predictions", vec![preds])],
        &root,
    );
    let sig = run(
        "significance",
        json!({ "baseline": "inception_v3", "metrics": ["f1", "mcc"],
                "bootstrap": { "resamples": 500, "seed": 3 } }),
        &[("table", vec![agg["final"].clone()])],
        &root,
    );
    Study {
        _dir: dir,
        root,
        agg,
        sig,
        specs,
    }
}

fn report(s: &Study, out: &Path) -> std::collections::BTreeMap<String, PathBuf> {
    run(
        "report",
        json!({ "metrics": ["f1", "mcc"], "resamples": 200 }),
        &[
            ("epochs", vec![s.agg["epochs"].clone()]),
            ("final", vec![s.agg["final"].clone()]),
            ("tests", vec![s.sig["tests"].clone()]),
            ("predictions", vec![s.agg["predictions"].clone()]),
            ("specs", vec![s.specs.clone()]),
        ],
        out,
    )
}

#[test]
fn every_panel_is_drawn_and_rebuilds_identically() {
    let s = study();
    let tests = std::fs::read_to_string(&s.sig["tests_csv"]).unwrap();
    // 2 metrics x 2 archs x 3 tests.
    assert_eq!(tests.lines().count(), 1 + 12, "{tests}");
    let friedman = std::fs::read_to_string(&s.sig["friedman_csv"]).unwrap();
    assert_eq!(friedman.lines().count(), 1 + 6, "{friedman}");
    let a = report(&s, &s.root.join("a"));
    let b = report(&s, &s.root.join("b"));
    keep_for_look(&a, "synthetic");
    for name in [
        "f1_progression",
        "f1_comparison",
        "f1_critical_difference",
        "mcc_comparison",
        "confusion",
        "roc",
    ] {
        for ext in ["svg", "png"] {
            let file = format!("{name}.{ext}");
            let x = std::fs::read(a["figures"].join(&file)).unwrap_or_else(|_| panic!("{file}"));
            assert_eq!(
                x,
                std::fs::read(b["figures"].join(&file)).unwrap(),
                "{file}"
            );
        }
    }
    let html = std::fs::read_to_string(&a["report"]).unwrap();
    assert_eq!(html, std::fs::read_to_string(&b["report"]).unwrap());
    assert_eq!(
        html.matches("<svg").count(),
        2 * 3 + 2,
        "six metric panels, confusion, roc"
    );
    let specs = std::fs::read_to_string(a["tables"].join("specifications.csv")).unwrap();
    assert!(
        specs.starts_with("Specification,inception_v3,regnety_002,resnext50_32x4d\n"),
        "{specs}"
    );
    assert!(
        specs.contains("Inference time,0.2000 ± 0.0000,0.3000 ± 0.0000,0.4000 ± 0.0000 ↑"),
        "{specs}"
    );
}

#[test]
fn bad_inputs_are_explained() {
    let s = study();
    let table = vec![("table", vec![s.agg["final"].clone()])];
    let err = try_run(
        "significance",
        json!({ "baseline": "inception_v3", "metrics": ["f2"] }),
        &table,
        &s.root,
    )
    .unwrap_err();
    assert!(
        err.contains("params.metrics: 'f2' is not a metric"),
        "{err}"
    );
    let err = try_run(
        "significance",
        json!({ "baseline": "vgg16" }),
        &table,
        &s.root,
    )
    .unwrap_err();
    assert!(
        err.contains("baseline arch 'vgg16' is not in the table"),
        "{err}"
    );

    // Fold 3 missing for one arch.
    let mut rows = epochs(&[0, 1, 2, 3]);
    rows.retain(|r| !(r.arch == "regnety_002" && r.fold == 3));
    let path = s.root.join("unpaired.parquet");
    write_epochs(&path, &rows).unwrap();
    let agg = run(
        "aggregate",
        json!({}),
        &[("runs", vec![path])],
        &s.root.join("u"),
    );
    let err = try_run(
        "significance",
        json!({ "baseline": "inception_v3" }),
        &[("table", vec![agg["final"].clone()])],
        &s.root.join("u"),
    )
    .unwrap_err();
    assert!(err.contains("'regnety_002' lacks fold(s) 3"), "{err}");

    // A single fold.
    let path = s.root.join("one.parquet");
    write_epochs(&path, &epochs(&[0])).unwrap();
    let agg = run(
        "aggregate",
        json!({}),
        &[("runs", vec![path])],
        &s.root.join("o"),
    );
    let err = try_run(
        "significance",
        json!({ "baseline": "inception_v3" }),
        &[("table", vec![agg["final"].clone()])],
        &s.root.join("o"),
    )
    .unwrap_err();
    assert!(err.contains("at least 2 folds"), "{err}");

    // The report names an unknown baseline too.
    let err = try_run(
        "report",
        json!({ "baseline": "vgg16" }),
        &[
            ("epochs", vec![s.agg["epochs"].clone()]),
            ("final", vec![s.agg["final"].clone()]),
            ("tests", vec![s.sig["tests"].clone()]),
        ],
        &s.root.join("r"),
    )
    .unwrap_err();
    assert!(
        err.contains("arch 'vgg16' is not in the final table"),
        "{err}"
    );
    // Unknown parameters are caught at plan time.
    let err = try_run("aggregate", json!({ "selct": "best" }), &[], &s.root).unwrap_err();
    assert!(err.contains("unknown field `selct`"), "{err}");
}
