//! The worker: `pipe __worker task.json`, one process per task attempt.
//!
//! It takes the key's lock, computes the outputs into its private directory (the folder of
//! `task.json`), writes the manifest and publishes the directory as the cache entry by one rename. Its
//! stdout carries progress as JSON lines (and `already-cached` when another run published the key
//! first); its stderr is the task log. Local and cluster executors run this same command.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use pipe_kind::{ProgressSink, TaskContext};

use super::spec::{WorkerAction, WorkerSpec};
use crate::cache::{Cache, ConfinementRecord, Manifest, OutputRecord};
use crate::key::digest_path;

/// The line a worker prints when the key was published by another run while it waited.
pub const ALREADY_CACHED: &str = "already-cached";

/// Runs the task described by `spec_path`; returns the process exit code.
pub fn main(spec_path: &Path) -> i32 {
    match run(spec_path) {
        Ok(()) => 0,
        Err(e) => {
            log_line(&format!("error: {e:#}"));
            let private = spec_path.parent().unwrap_or(Path::new("."));
            let said = format!("{e:#}").contains("no space left on the filesystem");
            if !said && (crate::disk::chain_has_no_space(&e) || crate::disk::nearly_full(private)) {
                log_line(&format!(
                    "error: {}",
                    crate::disk::no_space_message(&private.join("out"))
                ));
            }
            1
        }
    }
}

fn run(spec_path: &Path) -> Result<()> {
    let spec = WorkerSpec::read(spec_path)?;
    let tmp = spec_path
        .parent()
        .context("task.json has no folder")?
        .to_path_buf();
    let cache = Cache::existing(&spec.cache).map_err(|e| {
        anyhow!("{e}: the worker cannot see the cache directory (on a cluster it must be on a filesystem every node shares)")
    })?;
    let _lock = cache.lock(&spec.key, || {
        log_line(&format!("waiting: another run is computing {}", spec.task))
    })?;
    if cache.contains(&spec.key) && !spec.force {
        println!("{ALREADY_CACHED}");
        return Ok(());
    }
    let started = now();
    let out_dir = tmp.join("out");
    let outputs: BTreeMap<String, PathBuf> = spec
        .outputs
        .iter()
        .map(|(name, rel)| (name.clone(), out_dir.join(rel)))
        .collect();
    for path in outputs.values() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
    }
    let state_dir = cache.state_dir(&spec.key);
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let devices = assigned_devices(&spec);

    let mut confinement = None;
    match &spec.action {
        WorkerAction::Kind(name) => {
            let kind = crate::kinds::registry()
                .find(name)
                .ok_or_else(|| anyhow!("this pipe has no stage kind '{name}'"))?;
            let ctx = TaskContext {
                task: spec.task.clone(),
                params: spec.params.clone(),
                inputs: spec.inputs.clone(),
                outputs: outputs.clone(),
                state_dir: state_dir.clone(),
                devices: (0..devices.len()).collect(),
                threads: spec.threads.max(1),
                seed: spec.seed,
                progress: ProgressSink::new(Box::new(std::io::stdout())),
            };
            kind.run(&ctx)
                .with_context(|| format!("stage '{}' (kind {name})", spec.stage))?;
        }
        WorkerAction::Cmd(argv) => {
            confinement = run_command(&spec, argv, &outputs, &tmp, &state_dir)?;
        }
    }

    for (name, path) in &outputs {
        if path.symlink_metadata().is_err() {
            bail!(
                "declared output '{name}' ({}) was not created",
                spec.outputs[name]
            );
        }
    }
    super::outputs::check_outputs(&out_dir, &spec.outputs)?;
    let mut records = BTreeMap::new();
    for (name, path) in &outputs {
        records.insert(
            name.clone(),
            OutputRecord {
                path: spec.outputs[name].clone(),
                digest: digest_path(path)?,
                bytes: size_of(path),
            },
        );
    }
    let manifest = Manifest {
        key: spec.key.clone(),
        task: spec.task.clone(),
        stage: spec.stage.clone(),
        components: spec.components.clone(),
        outputs: records,
        started,
        finished: now(),
        devices,
        host: crate::host_name(),
        environment: environment(),
        confinement,
    };
    manifest.write(&tmp.join("manifest.json"))?;
    if spec.force && cache.contains(&spec.key) {
        cache.replace(&tmp, &spec.key)?;
    } else {
        cache.publish(&tmp, &spec.key)?;
    }
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(())
}

/// Writes a line to the task log (stderr), ignoring a failure to write it: on a full disk the log
/// cannot grow, and the scheduler says what happened instead.
fn log_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Physical GPU ids: the local scheduler's choice, else what a cluster gave through
/// `CUDA_VISIBLE_DEVICES`.
fn assigned_devices(spec: &WorkerSpec) -> Vec<usize> {
    if !spec.devices.is_empty() {
        return spec.devices.clone();
    }
    std::env::var("CUDA_VISIBLE_DEVICES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect()
}

fn environment() -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([(
        "pipe_version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    )]);
    for var in ["SLURM_JOB_ID", "SLURMD_NODENAME", "CUDA_VISIBLE_DEVICES"] {
        if let Ok(v) = std::env::var(var) {
            env.insert(var.to_lowercase(), v);
        }
    }
    env.extend(pipe_kind::torch_hook::environment());
    env
}

/// Longest `PIPE_INPUT_<NAME>` value: Linux refuses one environment string over 128 KiB, so larger
/// fan-ins are only in the `PIPE_INPUT_<NAME>_LIST` file.
const MAX_ENV_VALUE: usize = 64 * 1024;
/// Linux's limit on the arguments and environment of a new program is about 2 MiB; keep clear of it.
const MAX_ARGV_BYTES: usize = 1024 * 1024;

/// Runs an external command with its placeholders replaced, confined unless the spec says otherwise;
/// its stdout and stderr go to the task log, and its `TMPDIR` is a folder inside `private` (removed
/// afterwards). Returns how it was confined.
fn run_command(
    spec: &WorkerSpec,
    argv: &[String],
    outputs: &BTreeMap<String, PathBuf>,
    private: &Path,
    state_dir: &Path,
) -> Result<Option<ConfinementRecord>> {
    let mut args = Vec::with_capacity(argv.len());
    for a in argv {
        args.extend(expand_arg(a, spec, outputs)?);
    }
    let (program, rest) = args.split_first().context("empty command")?;
    let log = std::io::stderr().as_fd().try_clone_to_owned()?;
    let mut cmd = Command::new(program);
    cmd.args(rest)
        .current_dir(&spec.workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .env("PIPE_TASK", &spec.task)
        .env("PIPE_KEY", &spec.key)
        .env("PIPE_SEED", spec.seed.to_string())
        .env("PIPE_STATE_DIR", state_dir)
        .env("PIPE_PARAMS", spec.params.to_string());
    let argv_bytes: usize = args.iter().map(|a| a.len() + 1).sum();
    if argv_bytes > MAX_ARGV_BYTES {
        bail!(
            "the command line is {argv_bytes} bytes, over the {MAX_ARGV_BYTES} the system allows: \
             read a large fan-in from the file named by $PIPE_INPUT_<NAME>_LIST (one path per line) \
             instead of passing ${{inputs.x}} as arguments"
        );
    }
    for (name, paths) in &spec.inputs {
        let var = format!("PIPE_INPUT_{}", env_name(name));
        let list = state_dir.join(format!("input-{}.list", env_name(name)));
        let lines: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
        std::fs::write(&list, lines).with_context(|| format!("cannot write {}", list.display()))?;
        cmd.env(format!("{var}_LIST"), &list);
        let joined = join_paths(paths);
        if joined.len() <= MAX_ENV_VALUE {
            cmd.env(var, joined);
        }
    }
    for (name, path) in outputs {
        cmd.env(format!("PIPE_OUTPUT_{}", env_name(name)), path);
    }
    let task_tmp = private.join("tmp");
    std::fs::create_dir_all(&task_tmp)
        .with_context(|| format!("cannot create {}", task_tmp.display()))?;
    cmd.env("TMPDIR", &task_tmp);
    let not_started = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow!("command '{program}' not found: is it installed and on PATH?")
        } else {
            anyhow!("cannot start '{program}': {e}")
        }
    };
    let (mut child, record) = match &spec.confine {
        Some(rules) => {
            let (child, record) = super::confine::spawn(&mut cmd, rules, &[private, state_dir])
                .map_err(|e| match e.downcast::<std::io::Error>() {
                    Ok(io) => not_started(io),
                    Err(e) => e.context("cannot confine the command"),
                })?;
            if let Some(note) = &record.note {
                log_line(&format!("warning: {note}"));
            }
            (child, Some(record))
        }
        None => (cmd.spawn().map_err(not_started)?, None),
    };
    let status = child.wait().with_context(|| format!("lost '{program}'"))?;
    let _ = std::fs::remove_dir_all(&task_tmp);
    let hint = || match &record {
        Some(r) if r.confined => format!("\n{}", super::confine::failure_hint(r)),
        _ => String::new(),
    };
    match status.code() {
        Some(0) => Ok(record),
        Some(code) => bail!("command '{program}' exited with code {code}{}", hint()),
        None => {
            use std::os::unix::process::ExitStatusExt;
            bail!(
                "command '{program}' was killed by signal {}{}",
                status.signal().unwrap_or(0),
                hint()
            )
        }
    }
}

/// Replaces `${inputs.x}`, `${outputs.x}` and `${params.x}` in one argument. An argument that is
/// exactly `${inputs.x}` for a fan-in becomes one argument per path.
fn expand_arg(
    arg: &str,
    spec: &WorkerSpec,
    outputs: &BTreeMap<String, PathBuf>,
) -> Result<Vec<String>> {
    let lookup = |name: &str| -> Result<Vec<String>> {
        if let Some(port) = name.strip_prefix("inputs.") {
            let paths = spec.inputs.get(port).ok_or_else(|| {
                anyhow!(
                    "'{arg}': no input '{port}' (inputs: {})",
                    names(spec.inputs.keys())
                )
            })?;
            Ok(paths.iter().map(|p| p.display().to_string()).collect())
        } else if let Some(port) = name.strip_prefix("outputs.") {
            let path = outputs.get(port).ok_or_else(|| {
                anyhow!(
                    "'{arg}': no output '{port}' (outputs: {})",
                    names(outputs.keys())
                )
            })?;
            Ok(vec![path.display().to_string()])
        } else if let Some(param) = name.strip_prefix("params.") {
            let value = spec
                .params
                .get(param)
                .ok_or_else(|| anyhow!("'{arg}': no param '{param}'"))?;
            Ok(vec![match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }])
        } else {
            bail!("'{arg}': unknown reference '${{{name}}}'")
        }
    };
    if let Some(name) = arg.strip_prefix("${").and_then(|s| s.strip_suffix('}')) {
        if !name.contains("${") && !name.contains('}') {
            return lookup(name.trim());
        }
    }
    let mut out = String::new();
    let mut rest = arg;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map(|e| start + e)
            .ok_or_else(|| anyhow!("'{arg}': '${{' without '}}'"))?;
        out.push_str(&lookup(rest[start + 2..end].trim())?.join(" "));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(vec![out])
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = keys.map(String::as_str).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn env_name(name: &str) -> String {
    name.to_uppercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

fn size_of(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| size_of(&e.path()))
            .sum()
    } else {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }
}

/// Seconds since the UNIX epoch.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WorkerSpec {
        WorkerSpec {
            key: "k".into(),
            task: "t".into(),
            stage: "t".into(),
            action: WorkerAction::Cmd(vec![]),
            params: serde_json::json!({"lr": 0.5, "name": "x"}),
            inputs: [(
                "runs".to_string(),
                vec![PathBuf::from("/a"), PathBuf::from("/b")],
            )]
            .into(),
            outputs: Default::default(),
            components: serde_json::Value::Null,
            cache: PathBuf::from("/c"),
            workdir: PathBuf::from("/"),
            seed: 0,
            threads: 1,
            devices: vec![],
            force: false,
            confine: None,
        }
    }

    #[test]
    fn fan_in_argument_expands_to_one_per_path() {
        let outs = BTreeMap::from([("o".to_string(), PathBuf::from("/out/o.txt"))]);
        let s = spec();
        assert_eq!(
            expand_arg("${inputs.runs}", &s, &outs).unwrap(),
            ["/a", "/b"]
        );
        assert_eq!(
            expand_arg("--in=${inputs.runs}", &s, &outs).unwrap(),
            ["--in=/a /b"]
        );
        assert_eq!(
            expand_arg("${outputs.o}", &s, &outs).unwrap(),
            ["/out/o.txt"]
        );
        assert_eq!(
            expand_arg("lr=${params.lr}", &s, &outs).unwrap(),
            ["lr=0.5"]
        );
        let err = expand_arg("${inputs.nope}", &s, &outs).unwrap_err();
        assert!(err.to_string().contains("inputs: runs"), "{err}");
    }
}
