//! `pipe models`: parameter counts as the CLI prints them equal timm's (`../shared/data/anchors`), and
//! `pipe` (which does not link libtorch) hands the command to `pipe-torch`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pipe_torch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pipe-torch"))
}

/// `pipe` beside `pipe-torch` in the target folder (built with the workspace).
fn pipe() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_BIN_EXE_pipe-torch")).with_file_name("pipe");
    if p.is_file() {
        Some(p)
    } else {
        pipe_testkit::skip(&format!("{} is not built", p.display()));
        None
    }
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn timm_params() -> Option<BTreeMap<String, i64>> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/anchors/timm-params.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        pipe_testkit::skip(&format!(
            "{} not found (../shared is absent)",
            path.display()
        ));
        return None;
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (model, params) = (col("model"), col("params"));
    Some(
        lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[model].to_string(), f[params].parse().unwrap())
            })
            .collect(),
    )
}

#[test]
fn parameter_counts_printed_equal_timms() {
    let Some(timm) = timm_params() else { return };
    let Some(pipe) = pipe() else { return };
    let args = [
        "models",
        "--channels",
        "7",
        "--classes",
        "3",
        "--format",
        "csv",
    ];
    let csv = stdout(&Command::new(pipe).args(args).output().unwrap());
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("arch,family,params,gflops_7x224x224"),
        "{csv}"
    );
    let printed: BTreeMap<String, i64> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[2].parse().unwrap())
        })
        .collect();
    for (arch, params) in &timm {
        assert_eq!(
            printed.get(arch),
            Some(params),
            "{arch}: ours vs timm's\n{csv}"
        );
    }
    assert_eq!(printed.len(), timm.len(), "{csv}");
}

#[test]
fn unknown_architecture_and_small_input_are_clear_errors() {
    let out = pipe_torch()
        .args(["models", "--arch", "resnet9000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("resnet9000") && err.contains("regnety_032"),
        "{err}"
    );
    let out = pipe_torch()
        .args([
            "models",
            "--arch",
            "inception_v3",
            "--height",
            "20",
            "--width",
            "20",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("20x20"), "{err}");
    let text = stdout(
        &pipe_torch()
            .args(["models", "--arch", "regnety_002", "--channels", "6"])
            .output()
            .unwrap(),
    );
    assert!(
        text.contains("regnety_002") && text.contains("gflops_6x224x224"),
        "{text}"
    );
}
