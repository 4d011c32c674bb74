//! Every pipeline in `examples/` runs, and every pipeline in `pipelines/` and `examples/` plans.

mod common;

use std::path::{Path, PathBuf};

use common::{stderr, Project};

fn repo_file(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_file(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_pipeline_plans() {
    let p = Project::new();
    let mut files = yaml_files("examples");
    files.extend(yaml_files("pipelines"));
    assert!(files.len() >= 5);
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("../shared/data") && !shared.exists() {
            pipe_testkit::skip(&format!("{}: ../shared/data not found", file.display()));
            continue;
        }
        let out = p.run(&["status", &file.display().to_string()]);
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
    }
}

#[test]
fn matrix_fan_in_example() {
    let p = Project::new();
    p.ok(&["run", &repo_file("examples/matrix-fan-in.yaml")]);
    let table =
        std::fs::read_to_string(p.path().join("results/matrix-fan-in/summary/table.txt")).unwrap();
    assert_eq!(table.lines().count(), 6);
    let large =
        std::fs::read_to_string(p.path().join("results/matrix-fan-in/large_only/table.txt"))
            .unwrap();
    assert_eq!(large.lines().count(), 3);
    assert!(large.lines().all(|l| l.starts_with("large")));
}

#[test]
fn external_command_example() {
    let p = Project::new();
    p.ok(&["run", &repo_file("examples/external-command.yaml")]);
    let counts =
        std::fs::read_to_string(p.path().join("results/external-command/count/counts.tsv"))
            .unwrap();
    assert!(counts.contains("words\t"), "{counts}");
}

#[test]
fn gpu_resources_example() {
    let p = Project::new();
    p.ok(&[
        "run",
        &repo_file("examples/gpu-resources.yaml"),
        "--gpus",
        "0,1",
    ]);
    let table =
        std::fs::read_to_string(p.path().join("results/gpu-resources/devices/table.txt")).unwrap();
    assert_eq!(table.lines().count(), 6);
    assert!(table.contains("=[0]") && table.contains("=[1]"), "{table}");
    // Without GPUs the same tasks run on the CPU with no device visible.
    let p = Project::new();
    p.ok(&[
        "run",
        &repo_file("examples/gpu-resources.yaml"),
        "--gpus",
        "none",
    ]);
    let table =
        std::fs::read_to_string(p.path().join("results/gpu-resources/devices/table.txt")).unwrap();
    assert!(table.lines().all(|l| l.ends_with("=[]")), "{table}");
}

#[test]
fn profiles_example() {
    let p = Project::new();
    let file = repo_file("examples/profiles.yaml");
    p.ok(&["run", &file, "--profile", "quick"]);
    let log =
        std::fs::read_to_string(p.path().join("results/profiles/fit[variant=a]/log.txt")).unwrap();
    assert_eq!(log.trim(), "a lr=0.001 epochs=2");
    let status = p.ok(&["status", &file, "--profile", "quick", "--set", "lr.b=0.5"]);
    assert!(
        status.contains("run        fit[variant=b]  param lr: 0.001 -> 0.5"),
        "{status}"
    );
    assert!(status.contains("cached     fit[variant=a]"), "{status}");
}

#[test]
fn keep_going_example() {
    let p = Project::new();
    let file = repo_file("examples/keep-going.yaml");
    let out = p.run(&["run", &file, "--keep-going"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("reference contig chrX missing"));
    let show = p.ok(&["show", &file, "independent"]);
    assert!(show.contains("state:   cached"), "{show}");
    let show = p.ok(&["show", &file, "broken"]);
    assert!(show.contains("reference contig chrX missing"), "{show}");
}
