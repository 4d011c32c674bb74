//! Forward parity with timm: for the smallest variant of each family (and regnety_120), `timm_export.py` (run with the
//! interpreter in `PIPE_PYTHON`) exports a seeded timm model with the study's modification, an input
//! batch and its eval-mode logits; the same weights, loaded by name into our model, must give the same
//! logits.

use pipe_torch::models;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use tch::{nn, Device, Tensor};

fn python() -> Option<String> {
    match std::env::var("PIPE_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            pipe_testkit::skip(
                "PIPE_PYTHON is not set (a Python with timm and safetensors is needed)",
            );
            None
        }
    }
}

/// The smallest variant of each family, and `regnety_120`: regnety_320's block layout (a final stage of
/// one block, wide groups of 112 channels and more) at a third of its size.
const ARCHS: [&str; 6] = [
    "inception_v3",
    "regnety_002",
    "regnety_120",
    "resnext50_32x4d",
    "efficientnet_b0",
    "convnext_atto",
];
const HEIGHT: i64 = 100;
const WIDTH: i64 = 221;

/// Runs `timm_export.py` for every architecture of [`ARCHS`] at 7 x HEIGHT x WIDTH into `dir`.
fn export(python: &str, dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/timm_export.py");
    let status = Command::new(python)
        .arg(&script)
        .args(["7", "3", &HEIGHT.to_string(), &WIDTH.to_string()])
        .arg(dir)
        .args(ARCHS)
        .status()
        .unwrap_or_else(|e| panic!("running {python} {}: {e}", script.display()));
    assert!(status.success(), "{} failed: {status}", script.display());
}

/// Loads the exported weights of `arch` into our model by name and returns the relative error of our
/// eval-mode logits against timm's.
fn relative_error(dir: &Path, arch: &str) -> f64 {
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = models::build(&vs.root(), arch, 7, 3).unwrap_or_else(|e| panic!("{e}"));
    let weights = dir.join(format!("{arch}.weights.safetensors"));
    let theirs: BTreeSet<String> = Tensor::read_safetensors(&weights)
        .unwrap_or_else(|e| panic!("{}: {e}", weights.display()))
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let ours: BTreeSet<String> = vs.variables().into_keys().collect();
    assert_eq!(
        ours.difference(&theirs).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "{arch}: missing in timm's state_dict"
    );
    assert_eq!(
        theirs.difference(&ours).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "{arch}: unexpected in timm's state_dict"
    );
    vs.load(&weights)
        .unwrap_or_else(|e| panic!("{arch}: loading {}: {e}", weights.display()));

    let io_path = dir.join(format!("{arch}.io.safetensors"));
    let io =
        Tensor::read_safetensors(&io_path).unwrap_or_else(|e| panic!("{}: {e}", io_path.display()));
    let get = |name: &str| {
        io.iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.shallow_clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let (input, expected) = (get("input"), get("logits"));
    let logits = tch::no_grad(|| model.forward_t(&input, false));
    assert_eq!(logits.size(), expected.size(), "{arch}");
    let spread = (expected.get(0) - expected.get(1))
        .abs()
        .max()
        .double_value(&[]);
    assert!(
        spread > 0.0,
        "{arch}: timm gave the same logits for two random images"
    );
    let err = (&logits - &expected).abs().max().double_value(&[])
        / expected.abs().max().double_value(&[]);
    println!("{arch} 7x{HEIGHT}x{WIDTH}: relative error {err:.3e}");
    err
}

#[test]
fn smallest_variants_match_timm() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    export(&python, dir.path());
    for arch in ARCHS {
        let err = relative_error(dir.path(), arch);
        assert!(err < 1e-4, "{arch}: relative error {err:.3e} against timm");
    }
}
