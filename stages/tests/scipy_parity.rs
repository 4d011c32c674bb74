//! Wilcoxon, paired t and Friedman p-values against scipy (1e-10): the stored fixtures always, and a live
//! run of the fixture script through `$PIPE_PYTHON` when it is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use pipe_stages::analysis::significance::{
    friedman::friedman, ttest::paired_t, wilcoxon::wilcoxon,
};
use serde_json::Value;

const TOLERANCE: f64 = 1e-10;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Asserts agreement within [`TOLERANCE`]; returns the absolute difference (0 for two NaNs).
fn close(ours: f64, theirs: f64, what: &str) -> f64 {
    assert!(
        (ours - theirs).abs() <= TOLERANCE || (ours.is_nan() && theirs.is_nan()),
        "{what}: ours {ours}, scipy {theirs}"
    );
    if ours.is_nan() {
        0.0
    } else {
        (ours - theirs).abs()
    }
}

/// Compares every case; returns how many values were compared and the largest difference.
fn check(reference: &Value) -> (usize, f64) {
    let mut compared = 0;
    let mut worst = 0.0f64;
    for case in reference["paired"].as_array().expect("paired cases") {
        let name = case["name"].as_str().expect("name");
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
        let w = wilcoxon(&d);
        worst = worst.max(close(
            w.statistic,
            case["wilcoxon_statistic"].as_f64().unwrap(),
            &format!("{name} wilcoxon statistic"),
        ));
        worst = worst.max(close(
            w.p_value,
            case["wilcoxon_p"].as_f64().unwrap(),
            &format!("{name} wilcoxon p ({:?})", w.method),
        ));
        let t = paired_t(&d);
        worst = worst.max(close(
            t.statistic,
            case["t_statistic"].as_f64().unwrap(),
            &format!("{name} t statistic"),
        ));
        worst = worst.max(close(
            t.p_value,
            case["t_p"].as_f64().unwrap(),
            &format!("{name} t p"),
        ));
        compared += 4;
    }
    for case in reference["friedman"].as_array().expect("friedman cases") {
        let name = case["name"].as_str().expect("name");
        let blocks: Vec<Vec<f64>> = case["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        let f = friedman(&blocks);
        worst = worst.max(close(
            f.statistic,
            case["statistic"].as_f64().unwrap(),
            &format!("{name} statistic"),
        ));
        worst = worst.max(close(
            f.p_value,
            case["p"].as_f64().unwrap(),
            &format!("{name} p"),
        ));
        compared += 2;
    }
    (compared, worst)
}

#[test]
fn stored_scipy_fixtures() {
    let text = std::fs::read_to_string(fixtures_dir().join("scipy_fixtures.json")).unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let (compared, worst) = check(&reference);
    println!("{compared} values, largest difference from stored scipy values {worst:e}");
    assert!(compared >= 60);
}

#[test]
fn live_scipy() {
    let Ok(python) = std::env::var("PIPE_PYTHON") else {
        pipe_testkit::skip("PIPE_PYTHON is not set (stored fixtures are still checked)");
        return;
    };
    let out = Command::new(&python)
        .arg(fixtures_dir().join("make_scipy_fixtures.py"))
        .output()
        .expect("run PIPE_PYTHON");
    if !out.status.success() {
        pipe_testkit::skip(&format!(
            "{python} could not run the fixture script (scipy missing?): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
        return;
    }
    let reference: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (compared, worst) = check(&reference);
    println!(
        "scipy {}: {compared} values, largest difference {worst:e}",
        reference["scipy"]
    );
    assert!(compared >= 60);
}
