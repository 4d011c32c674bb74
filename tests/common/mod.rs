//! Helpers for end-to-end tests that run the real `pipe` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use pipe::record::{read_all, RecordRow};

/// A scratch project folder with its own cache.
pub struct Project {
    /// Holds the folder until the test ends.
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A new empty project.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The project folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file into the project.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A `pipe` command running in the project with its cache.
    pub fn pipe(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pipe"));
        cmd.current_dir(self.path())
            .env("PIPE_CACHE", self.path().join("cache"))
            .env_remove("CUDA_VISIBLE_DEVICES");
        cmd
    }

    /// Runs `pipe` with `args`; returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.pipe().args(args).output().expect("pipe runs")
    }

    /// Runs `pipe` with `args` and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "pipe {args:?} failed ({:?}):\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Every run record, oldest run first.
    pub fn records(&self) -> Vec<RecordRow> {
        read_all(&self.path().join("cache/.records")).unwrap()
    }

    /// Task ids with status `ran` in the newest run.
    pub fn ran_in_last_run(&self) -> Vec<String> {
        let rows = self.records();
        let last = rows.last().map(|r| r.run_id.clone()).unwrap_or_default();
        let mut ran: Vec<String> = rows
            .into_iter()
            .filter(|r| r.run_id == last && r.status == "ran")
            .map(|r| r.task)
            .collect();
        ran.sort();
        ran
    }
}

/// Whether the `pipe-torch` worker sits next to the `pipe` binary under test (`cargo test --workspace`
/// builds it); reports the calling test as skipped ([`pipe_testkit::skip`]) when it does not.
pub fn torch_worker_built() -> bool {
    let torch = Path::new(env!("CARGO_BIN_EXE_pipe")).with_file_name("pipe-torch");
    if !torch.is_file() {
        pipe_testkit::skip(&format!(
            "{} is not built (cargo test --workspace builds it)",
            torch.display()
        ));
    }
    torch.is_file()
}

/// The text of `pipelines/study.yaml`, the embedded default study.
pub fn study_pipeline() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/study.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The study-shaped pipeline of `cmd` stages: download, tensorize, train over 5 archs x 6 folds,
/// aggregate, significance (34 tasks). `config.txt` is read by significance alone.
pub const STUDY: &str = r#"
name: study-shape
seed: 7
vars:
  archs: [inception_v3, regnety_032, resnext101_64x4d, efficientnet_b7, convnext_large]
  folds: 6
  lr: { inception_v3: 0.001, regnety_032: 0.001, resnext101_64x4d: 0.001, efficientnet_b7: 0.001, convnext_large: 0.001 }
stages:
  download:
    cmd: [cp, "${inputs.src}", "${outputs.raw}"]
    inputs: { src: { file: raw.txt } }
    outputs: { raw: raw.txt }
  tensorize:
    cmd: [sh, -c, 'tr a-z A-Z < "$0" > "$1"', "${inputs.raw}", "${outputs.examples}"]
    inputs: { raw: download.raw }
    outputs: { examples: examples.txt }
  train:
    matrix: { arch: "${archs}", fold: "range(${folds})" }
    params: { lr: "${lr.${arch}}", epochs: 2 }
    cmd: [sh, -c, 'echo "$PIPE_TASK ${params.lr} $(wc -c < "$0")" > "$1"', "${inputs.examples}", "${outputs.metrics}"]
    inputs: { examples: tensorize.examples }
    outputs: { metrics: metrics.txt }
  aggregate:
    cmd: [sh, -c, 'cat "$@" > "$PIPE_OUTPUT_TABLE"', aggregate, "${inputs.runs}"]
    inputs: { runs: "train[*].metrics" }
    outputs: { table: table.txt }
  significance:
    cmd: [sh, -c, 'cat "$1" >> "$0"; wc -l < "$2" >> "$0"', "${outputs.tests}", "${inputs.config}", "${inputs.table}"]
    inputs: { table: aggregate.table, config: { file: config.txt } }
    outputs: { tests: tests.txt }
"#;

/// A project holding the study-shaped pipeline and its input files.
pub fn study_project() -> Project {
    let p = Project::new();
    p.write("study.yaml", STUDY);
    p.write("raw.txt", "acgt reads\n");
    p.write("config.txt", "alpha 0.05\n");
    p
}
