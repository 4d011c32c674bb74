//! The original study end to end: import its per-epoch CSV, aggregate, test, report; the metrics tables
//! must reproduce the study's published `*__6fold_CV_results.csv` (4 decimals, p-values, marks) and the
//! report must be byte-identical when built twice.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{keep_for_look, run};
use serde_json::json;

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/seed-tables");
    if dir.is_dir() {
        Some(dir)
    } else {
        pipe_testkit::skip("../shared/data not found");
        None
    }
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
    let specs = tmp.path().join("specs.csv");
    std::fs::write(
        &specs,
        "arch,Parameters\ninception_v3,27.2M\nregnety_032,145.0M\n",
    )
    .unwrap();
    let report = |dir: &str, params: serde_json::Value| {
        run(
            "report",
            params,
            &[
                ("epochs", vec![agg["epochs"].clone()]),
                ("final", vec![agg["final"].clone()]),
                ("tests", vec![sig["tests"].clone()]),
                ("specs", vec![specs.clone()]),
            ],
            &tmp.path().join(dir),
        )
    };
    let out = report("a", json!({ "labels": labels(), "resamples": 200 }));
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
    // The aggregate summary carries the same numbers (population sd).
    let summary = std::fs::read_to_string(&agg["summary_md"]).unwrap();
    assert!(
        summary.contains(
            "| f1 | 0.9292 ± 0.0337 | 0.9297 ± 0.0165 | 0.9423 ± 0.0197 | 0.9407 ± 0.0146 |"
        ),
        "{summary}"
    );
    keep_for_look(&out, "study");
    // Figure 3 of the study: F1 of Inception V3 against RegNet Y 32. Same inputs, byte-identical files.
    let fig3 = json!({ "labels": labels(), "archs": ["inception_v3", "regnety_032"],
                       "metrics": ["f1"], "seed": 3 });
    let once = report("b", fig3.clone());
    let twice = report("c", fig3);
    assert_eq!(
        std::fs::read(&once["report"]).unwrap(),
        std::fs::read(&twice["report"]).unwrap()
    );
    // The study's specifications table: parameters given, inference time measured.
    let ours = std::fs::read_to_string(once["tables"].join("specifications.csv")).unwrap();
    let theirs = std::fs::read_to_string(data.join("RegNet_Y_32__specifications.csv")).unwrap();
    assert_eq!(
        ours.lines().collect::<Vec<_>>(),
        theirs.lines().map(str::trim_end).collect::<Vec<_>>()
    );
    let mut figures = 0;
    for entry in std::fs::read_dir(&once["figures"]).unwrap() {
        let path = entry.unwrap().path();
        let twin = twice["figures"].join(path.file_name().unwrap());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(twin).unwrap(),
            "{path:?}"
        );
        figures += 1;
    }
    assert_eq!(
        figures, 6,
        "f1 progression, comparison, overview as SVG and PNG"
    );
    keep_for_look(&once, "fig3");
}
