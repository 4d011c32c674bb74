//! `pipelines/na12878.yaml` end to end on the real NA12878 reads in `../shared/data`: a model trained on
//! simulated reads calls chr20:10,000,000-10,010,000, and the comparison puts pipe's accuracy beside
//! DeepVariant's own calls of the window, both scored against the GIAB truth.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{torch_worker_built, Project};

/// comparison.csv as (label, Type, Filter) -> column -> value.
fn read_comparison(path: &Path) -> HashMap<(String, String, String), HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let row = header
                .iter()
                .zip(&cells)
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect();
            ((cells[0].into(), cells[1].into(), cells[2].into()), row)
        })
        .collect()
}

#[test]
fn pipe_and_deepvariant_are_scored_side_by_side_on_the_real_window() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["na12878-chr20", "deepvariant-golden"] {
        let path = root.join("../shared/data").join(dir);
        if !path.exists() {
            pipe_testkit::skip(&format!(
                "{} not found (../shared is absent)",
                path.display()
            ));
            return;
        }
    }
    if !torch_worker_built() {
        return;
    }
    let p = Project::new();
    let text = std::fs::read_to_string(root.join("pipelines/na12878.yaml")).unwrap();
    p.write("na12878.yaml", &text);
    let data = root.join("../shared/data");
    let set = |var: &str, dir: &str| format!("{var}={}", data.join(dir).display());
    p.ok(&[
        "run",
        "na12878.yaml",
        "--set",
        &set("data", "na12878-chr20"),
        "--set",
        &set("golden", "deepvariant-golden"),
    ]);
    let results = p.path().join("results/na12878");
    let table = results.join("comparison_table.csv");
    let rows = read_comparison(&table);
    let count = |label: &str, t: &str, f: &str, c: &str| -> u64 {
        rows[&(label.into(), t.into(), f.into())][c]
            .parse()
            .unwrap()
    };
    let metric = |label: &str, t: &str, f: &str, c: &str| -> f64 {
        rows[&(label.into(), t.into(), f.into())][c]
            .parse()
            .unwrap()
    };
    // DeepVariant's row is evaluate's count of its VCF (tests/evaluate.rs checks it against an
    // independent Python count): 47 of the window's 48 confident truth variants, no false positive.
    for f in ["ALL", "PASS"] {
        let dv: Vec<u64> = [
            "TRUTH.TOTAL",
            "TRUTH.TP",
            "TRUTH.FN",
            "QUERY.TP",
            "QUERY.FP",
        ]
        .iter()
        .map(|c| count("DeepVariant", "ALL", f, c))
        .collect();
        assert_eq!(dv, [48, 47, 1, 47, 0], "DeepVariant, filter {f}");
    }
    // pipe's calls are scored on the same truth, and a trained model finds most of it: well above
    // what calling every candidate het or nothing at all would give.
    for t in ["ALL", "SNP", "INDEL"] {
        assert_eq!(
            count("pipe", t, "PASS", "TRUTH.TOTAL"),
            count("DeepVariant", t, "PASS", "TRUTH.TOTAL"),
            "{t}: both callers are scored on the same truth"
        );
    }
    let recall = metric("pipe", "ALL", "PASS", "METRIC.Recall");
    let precision = metric("pipe", "ALL", "PASS", "METRIC.Precision");
    let f1 = metric("pipe", "ALL", "PASS", "METRIC.F1_Score");
    assert!(
        recall > 0.6 && precision > 0.6 && f1 > 0.6 && f1 <= 1.0,
        "pipe on the real window: recall {recall}, precision {precision}, F1 {f1}"
    );
    assert_eq!(
        count("pipe", "ALL", "PASS", "TRUTH.TP") + count("pipe", "ALL", "PASS", "TRUTH.FN"),
        48
    );
    let md = std::fs::read_to_string(results.join("comparison.md")).unwrap();
    assert!(
        md.contains("| DeepVariant | ALL | 48 | 47 | 1 | 0 | 0 |"),
        "{md}"
    );
    assert!(
        md.lines().any(|l| l.starts_with("| pipe | ALL | 48 |")),
        "{md}"
    );
    println!("{md}");
}
