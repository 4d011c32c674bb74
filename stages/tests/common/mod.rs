//! Helpers shared by the analysis integration tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipe_kind::{ProgressSink, TaskContext};

/// Runs built-in kind `name` with `inputs` (port -> paths) into `out/<name>/`; returns its outputs or
/// the error as text.
pub fn try_run(
    name: &str,
    params: serde_json::Value,
    inputs: &[(&str, Vec<PathBuf>)],
    out: &Path,
) -> Result<BTreeMap<String, PathBuf>, String> {
    let kind = pipe_stages::registry().find(name).expect("kind registered");
    kind.check(&params).map_err(|e| format!("{e:#}"))?;
    let dir = out.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let outputs: BTreeMap<String, PathBuf> = kind
        .outputs()
        .iter()
        .map(|o| (o.name.to_string(), dir.join(o.path)))
        .collect();
    let ctx = TaskContext {
        task: name.to_string(),
        params,
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        outputs: outputs.clone(),
        state_dir: dir.join("state"),
        devices: vec![],
        threads: 1,
        seed: 42,
        progress: ProgressSink::discard(),
    };
    kind.run(&ctx).map_err(|e| format!("{e:#}"))?;
    Ok(outputs)
}

/// [`try_run`] that panics with the error.
pub fn run(
    name: &str,
    params: serde_json::Value,
    inputs: &[(&str, Vec<PathBuf>)],
    out: &Path,
) -> BTreeMap<String, PathBuf> {
    try_run(name, params, inputs, out).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Copies a report's figures and HTML to `$PIPE_REPORT_DIR/<tag>/` when that variable is set, to look at
/// them: `PIPE_REPORT_DIR=/tmp/look cargo test -p pipe-stages --no-default-features --test <name>`.
pub fn keep_for_look(report: &BTreeMap<String, PathBuf>, tag: &str) {
    let Ok(dir) = std::env::var("PIPE_REPORT_DIR") else {
        return;
    };
    let dest = Path::new(&dir).join(tag);
    std::fs::create_dir_all(&dest).unwrap();
    for entry in std::fs::read_dir(&report["figures"]).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dest.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::copy(&report["report"], dest.join("report.html")).unwrap();
}
