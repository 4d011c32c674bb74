//! The model zoo against timm's reference figures (`../shared/data/anchors/timm-params.csv`): parameter
//! counts for every variant at 7 channels / 3 classes, and forward GFLOPs where timm measured them.

use pipe_torch::models;
use std::path::Path;
use tch::nn;

struct Anchor {
    model: String,
    params: i64,
    gflops: Option<(f64, f64)>,
}

fn anchors() -> Option<Vec<Anchor>> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/anchors/timm-params.csv");
    if !path.exists() {
        pipe_testkit::skip("../shared/data not found");
        return None;
    }
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = reader.records().map(|r| {
        let r = r.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let num = |i: usize| r[i].parse::<f64>().ok();
        Anchor {
            model: r[0].to_string(),
            params: r[1]
                .parse()
                .unwrap_or_else(|e| panic!("{}: params of {}: {e}", path.display(), &r[0])),
            gflops: num(7).zip(num(8)),
        }
    });
    Some(rows.collect())
}

#[test]
fn parameter_counts_equal_timm() {
    let Some(anchors) = anchors() else { return };
    for arch in models::names() {
        let anchor = anchors
            .iter()
            .find(|a| a.model == arch)
            .unwrap_or_else(|| panic!("{arch} not in csv"));
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let model = models::build(&vs.root(), arch, 7, 3).unwrap_or_else(|e| panic!("{e}"));
        let params: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        println!("{arch}: ours {params}, timm {}", anchor.params);
        assert_eq!(params, anchor.params, "{arch}");
        drop(model);
    }
}

#[test]
fn gflops_match_timm_within_one_percent() {
    // The smallest variant of each family keeps the default run fast; `gflops_table` checks them all.
    check_gflops(&[
        "inception_v3",
        "regnety_002",
        "resnext50_32x4d",
        "efficientnet_b0",
        "convnext_atto",
    ]);
}

#[test]
#[ignore = "forwards every variant at 224x224 (about 300 GFLOPs on CPU); run with --ignored"]
fn gflops_table() {
    check_gflops(&models::names());
}

/// Compares `summarize` with timm's GFLOPs at 7x224x224 and 7x100x221 for those of `archs` that timm
/// measured.
fn check_gflops(archs: &[&str]) {
    let Some(anchors) = anchors() else { return };
    for &arch in archs {
        let anchor = anchors
            .iter()
            .find(|a| a.model == arch)
            .unwrap_or_else(|| panic!("{arch} not in csv"));
        let Some((g224, g100)) = anchor.gflops else {
            println!("{arch}: timm's csv has no gflops");
            continue;
        };
        for ((h, w), want) in [((224, 224), g224), ((100, 221), g100)] {
            let s = models::summarize(arch, 7, 3, h, w).unwrap_or_else(|e| panic!("{e}"));
            println!("{arch} {h}x{w}: ours {:.4}, timm {want}", s.gflops);
            assert!(
                (s.gflops - want).abs() / want < 0.01,
                "{arch} {h}x{w}: {} vs {want}",
                s.gflops
            );
        }
    }
}
