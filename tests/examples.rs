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

/// Runs `examples/scripts/make_download_manifest.py` into the project's `dl/`; returns the manifest, or
/// `None` (the test reported as skipped) without `python3`.
fn download_manifest(p: &Project) -> Option<PathBuf> {
    let out = std::process::Command::new("python3")
        .arg(repo_file("examples/scripts/make_download_manifest.py"))
        .arg(p.path().join("dl"))
        .output();
    match out {
        Ok(out) => {
            assert!(out.status.success(), "{}", stderr(&out));
            Some(p.path().join("dl/manifest.csv"))
        }
        Err(e) => {
            pipe_testkit::skip(&format!("python3 cannot run ({e})"));
            None
        }
    }
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
        let mut args = vec!["status".to_string(), file.display().to_string()];
        if text.contains("kind: fetch") && !text.contains("when: \"${source} == download\"") {
            let Some(manifest) = download_manifest(&p) else {
                continue;
            };
            args.extend(["--set".into(), format!("manifest={}", manifest.display())]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = p.run(&args);
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
    }
}

#[test]
fn paper_pipeline_plans_a_download() {
    let p = Project::new();
    let Some(manifest) = download_manifest(&p) else {
        return;
    };
    let manifest = format!("manifest={}", manifest.display());
    let paper = repo_file("pipelines/paper.yaml");
    let status_of = |format: &str| {
        let format = format!("download_format={format}");
        p.ok(&[
            "status",
            &paper,
            "--set",
            "source=download",
            "--set",
            &format,
            "--set",
            &manifest,
            "--set",
            "download_n=3",
        ])
    };
    let status = status_of("tfrecord");
    for task in [
        "fetched",
        "download",
        "folds",
        "train[arch=inception_v3,fold=0]",
    ] {
        assert!(status.contains(&format!("run        {task} ")), "{status}");
    }
    assert!(
        !status.contains("simulated") && !status.contains("reads "),
        "{status}"
    );
    // The same manifest read as per-channel PNGs: download_png instead of download.
    let status = status_of("png");
    for task in ["fetched", "download_png", "folds"] {
        assert!(status.contains(&format!("run        {task} ")), "{status}");
    }
    assert!(!status.contains("run        download "), "{status}");
}

#[test]
fn download_subset_example() {
    let p = Project::new();
    let Some(manifest) = download_manifest(&p) else {
        return;
    };
    let file = repo_file("examples/download-subset.yaml");
    let set = format!("manifest={}", manifest.display());
    p.ok(&["run", &file, "--set", &set]);
    // n = 3 of 6 shards stratified by label: one shard (2 examples) per class.
    let chosen =
        std::fs::read_to_string(p.path().join("results/download-subset/chosen.csv")).unwrap();
    let mut labels: Vec<&str> = chosen
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    labels.sort();
    assert_eq!(labels, ["0", "1", "2"], "{chosen}");
    assert!(
        chosen
            .lines()
            .skip(1)
            .all(|l| l.split(',').nth(1).unwrap().contains(':')),
        "every chosen row holds a digest: {chosen}"
    );
    let examples = p.path().join("results/download-subset/examples.parquet");
    let examples = pipe_stages::data::examples::ExamplesFile::open(&examples)
        .unwrap()
        .read_all()
        .unwrap();
    let mut labels: Vec<Option<i8>> = examples.iter().map(|e| e.label).collect();
    labels.sort();
    assert_eq!(
        labels,
        [Some(0), Some(0), Some(1), Some(1), Some(2), Some(2)]
    );
    // The digests of rows without one were recorded beside the manifest on first download.
    let ledger = std::fs::read_to_string(p.path().join("dl/manifest.csv.digests.tsv")).unwrap();
    assert!(ledger.starts_with("url\tsize\tdigest\n"), "{ledger}");
    assert!(
        ledger.lines().skip(1).all(|l| l.contains("\tblake3:")),
        "{ledger}"
    );
}

#[test]
fn download_subset_png_example() {
    let p = Project::new();
    let out = std::process::Command::new("python3")
        .arg(repo_file("examples/scripts/make_png_manifest.py"))
        .arg(p.path().join("png"))
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            pipe_testkit::skip(&format!("python3 cannot run ({e})"));
            return;
        }
    };
    assert!(out.status.success(), "{}", stderr(&out));
    let file = repo_file("examples/download-subset-png.yaml");
    let set = format!("manifest={}", p.path().join("png/manifest.csv").display());
    p.ok(&["run", &file, "--set", &set]);
    // n = 3 of 6 examples stratified by label: one example (7 PNGs) per class.
    let chosen =
        std::fs::read_to_string(p.path().join("results/download-subset-png/chosen.csv")).unwrap();
    assert_eq!(chosen.lines().count(), 1 + 3 * 7, "{chosen}");
    let examples = p
        .path()
        .join("results/download-subset-png/examples.parquet");
    let examples = pipe_stages::data::examples::ExamplesFile::open(&examples).unwrap();
    assert_eq!(
        (examples.shape.height, examples.shape.width),
        (10, 15),
        "{:?}",
        examples.shape
    );
    let channels: Vec<String> = (1..=7).map(|c| format!("img_ch{c}")).collect();
    assert_eq!(examples.shape.channels, channels);
    let examples = examples.read_all().unwrap();
    let mut labels: Vec<Option<i8>> = examples.iter().map(|e| e.label).collect();
    labels.sort();
    assert_eq!(labels, [Some(0), Some(1), Some(2)]);
    // Each channel holds its own PNG's pixels.
    for e in &examples {
        for (c, name) in channels.iter().enumerate() {
            let png = p.path().join(format!("png/pngs/{}_{name}.png", e.id));
            let (_, _, plane) = pipe_stages::data::sources::png_csv::read_gray_png(&png).unwrap();
            let ours: Vec<u8> = e.image.iter().skip(c).step_by(7).copied().collect();
            assert_eq!(ours, plane, "{} {name}", e.id);
        }
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
