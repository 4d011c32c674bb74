//! `pipelines/reanalysis.yaml` through the engine: editing one value of the imported study CSV re-runs
//! the analysis and changes the affected figure; a run without changes runs nothing.

mod common;

use std::path::Path;

use common::Project;

const CSV: &str = "rolling-in-the-deep_2025-W12_6fold_metrics.csv";

#[test]
fn editing_the_imported_csv_reruns_the_analysis_and_changes_the_figure() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/seed-tables");
    let Ok(csv) = std::fs::read_to_string(shared.join(CSV)) else {
        pipe_testkit::skip(&format!(
            "{} not found (../shared is absent)",
            shared.display()
        ));
        return;
    };
    let p = Project::new();
    p.write(CSV, &csv);
    let pipeline = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/reanalysis.yaml"),
    )
    .unwrap()
    .replace(&format!("../../shared/data/seed-tables/{CSV}"), CSV);
    p.write("reanalysis.yaml", &pipeline);
    p.ok(&["run", "reanalysis.yaml"]);
    let figure = p
        .path()
        .join("results/reanalysis/figures/f1_comparison.png");
    let before = std::fs::read(&figure).unwrap();

    p.ok(&["run", "reanalysis.yaml"]);
    assert!(
        p.ran_in_last_run().is_empty(),
        "nothing changed, nothing runs"
    );

    // regnety_032's final-epoch validation F1 on fold 3, one value of the table.
    let row = "regnety_032_30000,3,19,validation,f1,";
    let at = csv.find(row).expect("the row is in the study CSV") + row.len();
    let end = at + csv[at..].find('\n').unwrap();
    p.write(CSV, &format!("{}0.5{}", &csv[..at], &csv[end..]));
    p.ok(&["run", "reanalysis.yaml"]);
    assert_eq!(
        p.ran_in_last_run(),
        ["imported", "metrics", "report", "stats"]
    );
    let after = std::fs::read(&figure).unwrap();
    assert_ne!(before, after, "the F1 comparison shows the edited value");
}
