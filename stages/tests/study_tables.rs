//! The original study end to end: import its per-epoch CSV, aggregate, test, report; the metrics tables
//! must reproduce the study's published `*__6fold_CV_results.csv` (4 decimals, p-values, marks) and the
//! report must be byte-identical when built twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipe_stages::kind::{ProgressSink, TaskContext};
use pipe_stages::registry;
use serde_json::json;

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/seed-tables");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: ../shared/data not found");
        None
    }
}

/// Runs built-in kind `name` with `inputs` (port -> paths) into `out/<name>/`; returns its outputs.
fn run(
    name: &str,
    params: serde_json::Value,
    inputs: &[(&str, Vec<PathBuf>)],
    out: &Path,
) -> BTreeMap<String, PathBuf> {
    let kind = registry::find(name).expect("kind registered");
    kind.check(&params).expect("params");
    let dir = out.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let outputs: BTreeMap<String, PathBuf> = kind
        .outputs()
        .iter()
        .map(|o| (o.name.to_string(), dir.join(o.path)))
        .collect();
    let ctx = TaskContext {
        task: name.to_string(),
        params,
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        outputs: outputs.clone(),
        state_dir: dir.join("state"),
        devices: vec![],
        threads: 1,
        seed: 42,
        progress: ProgressSink::discard(),
    };
    kind.run(&ctx).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    outputs
}

fn labels() -> serde_json::Value {
    json!({
        "inception_v3": "Inception V3",
        "regnety_032": "RegNet Y 32",
        "resnext101_64x4d": "ResNeXt101 64X4D",
        "efficientnet_b7": "EfficientNet b7",
    })
}

/// Imports, aggregates and tests the study; returns (aggregate outputs, significance outputs).
fn pipeline(data: &Path, out: &Path) -> (BTreeMap<String, PathBuf>, BTreeMap<String, PathBuf>) {
    let csv = data.join("rolling-in-the-deep_2025-W12_6fold_metrics.csv");
    let imported = run("import_results", json!({}), &[("csv", vec![csv])], out);
    let agg = run(
        "aggregate",
        json!({}),
        &[("runs", vec![imported["epochs"].clone()])],
        out,
    );
    let sig = run(
        "significance",
        json!({ "baseline": "inception_v3", "bootstrap": { "resamples": 2000 } }),
        &[("table", vec![agg["final"].clone()])],
        out,
    );
    (agg, sig)
}

#[test]
fn study_tables_are_reproduced() {
    let Some(data) = data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (agg, sig) = pipeline(&data, tmp.path());
    let report = |dir: &str| {
        run(
            "report",
            json!({ "labels": labels(), "resamples": 200 }),
            &[
                ("epochs", vec![agg["epochs"].clone()]),
                ("final", vec![agg["final"].clone()]),
                ("tests", vec![sig["tests"].clone()]),
            ],
            &tmp.path().join(dir),
        )
    };
    let out = report("a");
    for (arch, file) in [
        ("regnety_032", "RegNet_Y_32__6fold_CV_results.csv"),
        ("resnext101_64x4d", "ResNeXt101_64X4D__6fold_CV_results.csv"),
        ("efficientnet_b7", "EfficientNet_b7__6fold_CV_results.csv"),
    ] {
        let ours =
            std::fs::read_to_string(out["tables"].join(format!("{arch}_vs_inception_v3.csv")))
                .unwrap();
        let theirs = std::fs::read_to_string(data.join(file)).unwrap();
        let ours: Vec<&str> = ours.lines().collect();
        let theirs: Vec<&str> = theirs.lines().map(str::trim_end).collect();
        assert_eq!(ours, theirs, "{file}");
        println!("{file}: reproduced\n{}", ours.join("\n"));
    }
    // Same inputs, byte-identical report.
    let again = report("b");
    for name in ["report.html"] {
        assert_eq!(
            std::fs::read(out["report"].parent().unwrap().join(name)).unwrap(),
            std::fs::read(again["report"].parent().unwrap().join(name)).unwrap()
        );
    }
    for entry in std::fs::read_dir(&out["figures"]).unwrap() {
        let path = entry.unwrap().path();
        let twin = again["figures"].join(path.file_name().unwrap());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(twin).unwrap(),
            "{path:?}"
        );
    }
    if let Ok(dir) = std::env::var("PIPE_REPORT_DIR") {
        // Keep the figures for a look: PIPE_REPORT_DIR=/tmp/x cargo test ... study_tables
        for entry in std::fs::read_dir(&out["figures"]).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, Path::new(&dir).join(path.file_name().unwrap())).unwrap();
        }
        std::fs::copy(&out["report"], Path::new(&dir).join("report.html")).unwrap();
    }
}
