//! End-to-end tests of `pipe run --executor slurm` against a live Slurm cluster.
//!
//! Start one on a test machine with `scripts/slurm-test-cluster start [--accounting]` (one node, 8 CPUs,
//! four fake GPUs); without `sbatch` on PATH or a reachable cluster these tests report why
//! ([`pipe_testkit::skip`]) and return at once. Tests that follow jobs run once per way of asking
//! Slurm about them: with accounting (`--accounting`) once with `sacct` and once with `squeue` (forced
//! with `PIPE_SLURM_QUERY`); without, once in `auto` mode, where pipe finds that `sacct` is disabled
//! and falls back to `squeue`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{stderr, study_project, Project};

/// Fast polling so the tests do not wait on the default interval.
const POLL: &[&str] = &["--executor", "slurm", "--slurm-poll", "0.3"];

/// Runs `program args`, giving up after `limit`; its stdout when it succeeded.
fn quick(program: &str, args: &[&str], limit: Duration) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut out = String::new();
                std::io::Read::read_to_string(child.stdout.as_mut()?, &mut out).ok()?;
                return status.success().then_some(out);
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// The ways of asking Slurm about jobs that this cluster supports (`squeue` and `sacct` when
/// accounting is on, else `auto`), checked once per test binary; empty, with the calling test
/// reported as skipped, when no cluster answers.
fn modes() -> &'static [&'static str] {
    static MODES: OnceLock<Vec<&'static str>> = OnceLock::new();
    let modes = MODES.get_or_init(|| {
        // `scontrol ping` fails fast when no controller is configured; sinfo may wait ~10 s for one.
        let up = quick("sbatch", &["--version"], Duration::from_secs(3)).is_some()
            && quick("scontrol", &["ping"], Duration::from_secs(3)).is_some_and(|o| o.contains("UP"))
            && quick("sinfo", &["-h", "-o", "%T"], Duration::from_secs(5)).is_some_and(|o| {
                o.lines().any(|s| {
                    s.starts_with("idle") || s.starts_with("mixed") || s.starts_with("alloc")
                })
            });
        if !up {
            return Vec::new();
        }
        if quick("sacct", &["-n", "-X", "-j", "1"], Duration::from_secs(5)).is_some() {
            vec!["squeue", "sacct"]
        } else {
            eprintln!(
                "note: the cluster has no accounting, so only the fallback to squeue is tested; scripts/slurm-test-cluster start --accounting adds sacct"
            );
            vec!["auto"]
        }
    });
    if modes.is_empty() {
        pipe_testkit::skip(
            "no Slurm cluster (sbatch not on PATH, no controller or no node up); start one with scripts/slurm-test-cluster start [--accounting]",
        );
    }
    modes
}

/// Whether a cluster answers (the calling test is reported as skipped when none does).
fn cluster_up() -> bool {
    !modes().is_empty()
}

/// `pipe` in `p`, asking Slurm about jobs the `mode` way.
fn pipe_in(p: &Project, mode: &str) -> Command {
    let mut cmd = p.pipe();
    if mode == "auto" {
        cmd.env_remove("PIPE_SLURM_QUERY");
    } else {
        cmd.env("PIPE_SLURM_QUERY", mode);
    }
    cmd
}

fn run_in(p: &Project, mode: &str, args: &[&str]) -> std::process::Output {
    pipe_in(p, mode).args(args).output().unwrap()
}

fn ok_in(p: &Project, mode: &str, args: &[&str]) -> String {
    let out = run_in(p, mode, args);
    assert!(
        out.status.success(),
        "[{mode}] pipe {args:?} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn slurm_run_in(p: &Project, mode: &str, file: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", file];
    args.extend_from_slice(POLL);
    args.extend_from_slice(extra);
    ok_in(p, mode, &args)
}

fn slurm_run(p: &Project, file: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", file];
    args.extend_from_slice(POLL);
    args.extend_from_slice(extra);
    p.ok(&args)
}

/// Task id to key, from the newest run's records.
fn keys_of_last_run(p: &Project) -> BTreeMap<String, String> {
    let rows = p.records();
    let last = rows.last().map(|r| r.run_id.clone()).unwrap_or_default();
    rows.into_iter()
        .filter(|r| r.run_id == last)
        .map(|r| (r.task, r.key))
        .collect()
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            for (k, v) in read_tree(&path) {
                files.insert(format!("{name}/{k}"), v);
            }
        } else {
            files.insert(name, std::fs::read(&path).unwrap());
        }
    }
    files
}

/// `(value, start, end)` lines written by tasks into `dir`, one file per task.
fn spans(dir: &Path) -> Vec<(String, f64, f64)> {
    let mut spans: Vec<(String, f64, f64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let f: Vec<&str> = text.split_whitespace().collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    spans.sort_by(|a, b| a.1.total_cmp(&b.1));
    spans
}

fn most_at_once(spans: &[(String, f64, f64)]) -> usize {
    spans
        .iter()
        .map(|(_, start, _)| {
            spans
                .iter()
                .filter(|s| s.1 <= *start && *start < s.2)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn journal_ids(p: &Project) -> Vec<String> {
    std::fs::read_dir(p.path().join("cache/.slurm"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            Some(v["job_id"].to_string())
        })
        .collect()
}

fn wait_for_jobs(p: &Project, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = journal_ids(p);
        if ids.len() >= n || Instant::now() > deadline {
            return ids;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Task id to job id, from the journal of submitted jobs.
fn journal_tasks(p: &Project) -> BTreeMap<String, String> {
    std::fs::read_dir(p.path().join("cache/.slurm"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            Some((v["task"].as_str()?.to_string(), v["job_id"].to_string()))
        })
        .collect()
}

/// Slurm's state of job `id` (`squeue`; empty once it left the controller).
fn job_state(id: &str) -> String {
    let out = Command::new("squeue")
        .args(["-h", "-t", "all", "-O", "State", "-j", id])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits until the jobs of `tasks` are journaled and running; returns their job ids.
fn wait_running(p: &Project, tasks: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let journal = journal_tasks(p);
        let ids: Vec<String> = tasks
            .iter()
            .filter_map(|t| journal.get(*t).cloned())
            .collect();
        if ids.len() == tasks.len() && ids.iter().all(|id| job_state(id) == "RUNNING") {
            return ids;
        }
        assert!(
            Instant::now() < deadline,
            "jobs of {tasks:?} not running: {journal:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_for_files(paths: &[PathBuf]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !paths.iter().all(|p| p.exists()) {
        assert!(Instant::now() < deadline, "{paths:?} never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn manifest(p: &Project, key: &str) -> serde_json::Value {
    let path = p
        .path()
        .join("cache")
        .join(&key[..2])
        .join(key)
        .join("manifest.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn rows_of_last_run(p: &Project) -> BTreeMap<String, pipe::record::RecordRow> {
    let rows = p.records();
    let last = rows.last().map(|r| r.run_id.clone()).unwrap_or_default();
    rows.into_iter()
        .filter(|r| r.run_id == last)
        .map(|r| (r.task.clone(), r))
        .collect()
}

/// Acceptance 1: the 34-task study shape under Slurm equals a local run, and a second run with
/// either executor runs nothing.
#[test]
fn study_shape_under_slurm_equals_a_local_run() {
    for mode in modes() {
        let p = study_project();
        slurm_run_in(&p, mode, "study.yaml", &[]);
        assert_eq!(p.ran_in_last_run().len(), 34, "[{mode}]");
        let slurm_keys = keys_of_last_run(&p);

        let local = study_project();
        local.ok(&["run", "study.yaml", "-j", "2"]);
        assert_eq!(keys_of_last_run(&local), slurm_keys, "[{mode}]");
        assert_eq!(
            read_tree(&p.path().join("results")),
            read_tree(&local.path().join("results")),
            "[{mode}]"
        );

        // Every entry was computed by a Slurm job whose id the run records hold; the journal is
        // empty again.
        let rows = rows_of_last_run(&p);
        for key in slurm_keys.values() {
            assert!(manifest(&p, key)["environment"]["slurm_job_id"].is_string());
        }
        let job_ids: BTreeSet<&str> = rows.values().map(|r| r.job_id.as_str()).collect();
        assert_eq!(job_ids.len(), 34, "[{mode}] one job per task: {job_ids:?}");
        assert!(journal_ids(&p).is_empty());

        // A second run submits nothing, under Slurm or locally; nor does Slurm on the local cache.
        slurm_run_in(&p, mode, "study.yaml", &[]);
        assert!(p.ran_in_last_run().is_empty(), "[{mode}]");
        p.ok(&["run", "study.yaml", "-j", "2"]);
        assert!(p.ran_in_last_run().is_empty(), "[{mode}]");
        slurm_run_in(&local, mode, "study.yaml", &[]);
        assert!(local.ran_in_last_run().is_empty(), "[{mode}]");
    }
}

/// Acceptance 2: 12 tasks of `gpu: 1` on four devices, never two at once on one device.
#[test]
fn gpu_jobs_get_devices_of_their_own() {
    for mode in modes() {
        let p = Project::new();
        let logs = p.path().join("gpu-logs");
        std::fs::create_dir_all(&logs).unwrap();
        p.write(
            "g.yaml",
            &format!(
                r#"
name: slurm-gpus
stages:
  t:
    matrix: {{ i: "range(12)" }}
    resources: {{ gpu: 1 }}
    cmd: [sh, -c, 'a=$(date +%s.%N); sleep 1; echo "$CUDA_VISIBLE_DEVICES $a $(date +%s.%N)" > {}/$PIPE_KEY; echo ok > "$0"', "${{outputs.o}}"]
    outputs: {{ o: o.txt }}
    writable: [gpu-logs]
"#,
                logs.display()
            ),
        );
        slurm_run_in(&p, mode, "g.yaml", &[]);
        let spans = spans(&logs);
        assert_eq!(spans.len(), 12);
        for (i, (dev, start, end)) in spans.iter().enumerate() {
            assert!(
                ["0", "1", "2", "3"].contains(&dev.as_str()),
                "device '{dev}'"
            );
            let same_device_overlap = spans
                .iter()
                .enumerate()
                .any(|(j, s)| j != i && s.0 == *dev && s.1 < *end && *start < s.2);
            assert!(!same_device_overlap, "two jobs at once on device {dev}");
        }
        let used: BTreeSet<&str> = spans.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(used.len(), 4, "all four devices used: {used:?}");
        // The run records hold the device and the job of each task, the same as the manifest.
        let rows = rows_of_last_run(&p);
        assert_eq!(rows.len(), 12);
        for r in rows.values() {
            assert!(["0", "1", "2", "3"].contains(&r.devices.as_str()), "{r:?}");
            let m = manifest(&p, &r.key);
            assert_eq!(
                m["environment"]["slurm_job_id"].as_str(),
                Some(r.job_id.as_str())
            );
            assert_eq!(
                m["environment"]["cuda_visible_devices"].as_str(),
                Some(r.devices.as_str())
            );
        }
    }
}

#[test]
fn max_jobs_caps_the_jobs_in_the_queue() {
    if !cluster_up() {
        return;
    }
    let p = Project::new();
    let logs = p.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    p.write(
        "m.yaml",
        &format!(
            r#"
name: slurm-max-jobs
stages:
  t:
    matrix: {{ i: "range(6)" }}
    cmd: [sh, -c, 'a=$(date +%s.%N); sleep 0.5; echo "x $a $(date +%s.%N)" > {}/$PIPE_KEY; echo ok > "$0"', "${{outputs.o}}"]
    outputs: {{ o: o.txt }}
    writable: [logs]
"#,
            logs.display()
        ),
    );
    slurm_run(&p, "m.yaml", &["--max-jobs", "2"]);
    let spans = spans(&logs);
    assert_eq!(spans.len(), 6);
    assert!(most_at_once(&spans) <= 2, "{spans:?}");
}

#[test]
fn failed_job_reports_state_reason_and_log_and_is_retried() {
    for mode in modes() {
        let p = Project::new();
        std::fs::create_dir(p.path().join("side")).unwrap();
        let attempts = p.path().join("side/attempts");
        p.write(
            "f.yaml",
            &format!(
                r#"
name: slurm-fail
stages:
  bad:
    retries: 1
    cmd: [sh, -c, 'echo try >> {}; echo "boom: the model diverged" >&2; exit 3']
    outputs: {{ o: o.txt }}
    writable: [side]
"#,
                attempts.display()
            ),
        );
        let mut args = vec!["run", "f.yaml"];
        args.extend_from_slice(POLL);
        let out = run_in(&p, mode, &args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("FAILED"), "[{mode}] {err}");
        assert!(err.contains("exited with code 3"), "[{mode}] {err}");
        if *mode != "sacct" {
            assert!(err.contains("NonZeroExitCode"), "{err}");
        }
        assert!(err.contains("boom: the model diverged"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&attempts).unwrap().lines().count(),
            2
        );
        let rows = p.records();
        assert_eq!(rows.last().unwrap().attempts, 2);
        assert_eq!(rows.last().unwrap().status, "failed");
        assert!(journal_ids(&p).is_empty());
    }
}

/// Acceptance 3: SIGKILL of `pipe` while jobs run, then `pipe run` again: every task computed
/// exactly once, the run completes, `pipe verify` finds nothing damaged.
#[test]
fn rerun_after_sigkill_waits_for_queued_jobs_instead_of_resubmitting() {
    for mode in modes() {
        let p = Project::new();
        std::fs::create_dir(p.path().join("side")).unwrap();
        let counter = p.path().join("side/computed.log");
        p.write(
            "k.yaml",
            &format!(
                r#"
name: slurm-reattach
stages:
  work:
    matrix: {{ i: "range(6)" }}
    cmd: [sh, -c, 'sleep 3; echo "$PIPE_TASK" >> {c}; echo ok > "$0"', "${{outputs.o}}"]
    outputs: {{ o: o.txt }}
    writable: [side]
  sum:
    cmd: [sh, -c, 'echo "$PIPE_TASK" >> {c}; cat "$@" > "$PIPE_OUTPUT_O"', sum, "${{inputs.w}}"]
    inputs: {{ w: "work[*].o" }}
    outputs: {{ o: o.txt }}
    writable: [side]
"#,
                c = counter.display()
            ),
        );
        let mut child = pipe_in(&p, mode)
            .args(["run", "k.yaml"])
            .args(POLL)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let submitted = wait_for_jobs(&p, 6);
        assert_eq!(submitted.len(), 6, "six jobs journaled");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !submitted.iter().any(|id| job_state(id) == "RUNNING") {
            assert!(Instant::now() < deadline, "no job started");
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap(); // SIGKILL while jobs run: they stay queued or running.
        child.wait().unwrap();
        slurm_run_in(&p, mode, "k.yaml", &[]);
        let rows = rows_of_last_run(&p);
        // A job that ended between the two runs is simply cached now.
        assert!(
            rows.values()
                .all(|r| r.status == "ran" || r.status == "cached"),
            "{rows:?}"
        );
        let computed = std::fs::read_to_string(&counter).unwrap();
        let mut lines: Vec<&str> = computed.lines().collect();
        lines.sort();
        let mut expected: Vec<String> = (0..6).map(|i| format!("work[i={i}]")).collect();
        expected.push("sum".into());
        expected.sort();
        assert_eq!(lines, expected, "[{mode}] every task computed exactly once");
        let mut used: Vec<String> = rows
            .values()
            .filter(|r| r.stage == "work")
            .map(|r| {
                manifest(&p, &r.key)["environment"]["slurm_job_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let mut submitted = submitted;
        used.sort();
        submitted.sort();
        assert_eq!(
            used, submitted,
            "the entries come from the first run's jobs"
        );
        let verify = ok_in(&p, mode, &["verify"]);
        assert!(verify.contains(": 0 damaged"), "{verify}");
        assert!(journal_ids(&p).is_empty());
    }
}

/// Acceptance 4: `scancel` of a running job: reported as cancelled with Slurm's state, retried when
/// `retries` allows; with `--keep-going` everything not downstream of it completes.
#[test]
fn scancelled_job_is_reported_retried_and_the_rest_completes() {
    for mode in modes() {
        let p = Project::new();
        let marks = p.path().join("marks");
        std::fs::create_dir_all(&marks).unwrap();
        // A victim sleeps on its first attempt only, so a retry finishes at once.
        let victim = format!(
            r#"'if [ -e {m}/$PIPE_TASK ]; then echo again > "$0"; else touch {m}/$PIPE_TASK; sleep 120; fi', "${{outputs.o}}""#,
            m = marks.display()
        );
        p.write(
            "c.yaml",
            &format!(
                r#"
name: slurm-scancel
stages:
  retried:
    retries: 1
    params: {{ which: retried }}
    cmd: [sh, -c, {victim}]
    outputs: {{ o: o.txt }}
    writable: [marks]
  lost:
    params: {{ which: lost }}
    cmd: [sh, -c, {victim}]
    outputs: {{ o: o.txt }}
    writable: [marks]
  after_retried:
    cmd: [cp, "${{inputs.i}}", "${{outputs.o}}"]
    inputs: {{ i: retried.o }}
    outputs: {{ o: o.txt }}
  after_lost:
    cmd: [cp, "${{inputs.i}}", "${{outputs.o}}"]
    inputs: {{ i: lost.o }}
    outputs: {{ o: o.txt }}
  other:
    matrix: {{ i: "range(3)" }}
    cmd: [sh, -c, 'sleep 2; echo $PIPE_TASK > "$0"', "${{outputs.o}}"]
    outputs: {{ o: o.txt }}
  after_other:
    cmd: [sh, -c, 'cat "$@" > "$PIPE_OUTPUT_O"', x, "${{inputs.i}}"]
    inputs: {{ i: "other[*].o" }}
    outputs: {{ o: o.txt }}
"#
            ),
        );
        let child = pipe_in(&p, mode)
            .args(["run", "c.yaml", "--keep-going"])
            .args(POLL)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let ids = wait_running(&p, &["retried", "lost"]);
        // RUNNING in Slurm comes before the job's shell runs: cancel only once both victims have
        // marked their first attempt, or the retry would take the first attempt's branch.
        wait_for_files(&[marks.join("retried"), marks.join("lost")]);
        let status = Command::new("scancel").args(&ids).status().unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "[{mode}] {err}");
        assert!(
            err.contains(&format!("Slurm job {} was cancelled", ids[1])),
            "[{mode}] {err}"
        );
        assert!(err.contains("CANCELLED"), "[{mode}] {err}");
        if *mode == "sacct" {
            assert!(err.contains("CANCELLED by "), "[{mode}] {err}");
        }
        let rows = rows_of_last_run(&p);
        let status = |t: &str| rows[t].status.as_str();
        assert_eq!(status("retried"), "ran", "[{mode}] {rows:?}");
        assert_eq!(rows["retried"].attempts, 2);
        assert_eq!(status("after_retried"), "ran");
        assert_eq!(status("lost"), "failed");
        assert_ne!(status("after_lost"), "ran");
        for t in ["other[i=0]", "other[i=1]", "other[i=2]", "after_other"] {
            assert_eq!(status(t), "ran", "[{mode}] {t}: {rows:?}");
        }
        assert!(journal_ids(&p).is_empty());
    }
}

/// Acceptance 5: a job over its time limit is a clear error (Slurm's granularity is a minute, so
/// this test takes one to two; both modes run at once).
#[test]
fn job_over_its_time_limit_is_a_clear_error() {
    std::thread::scope(|scope| {
        for mode in modes() {
            scope.spawn(move || {
                let p = Project::new();
                p.write(
                    "t.yaml",
                    r#"
name: slurm-timeout
stages:
  slow:
    resources: { time: "1" }
    cmd: [sh, -c, 'echo "started"; sleep 600; echo done > "$0"', "${outputs.o}"]
    outputs: { o: o.txt }
"#,
                );
                let started = Instant::now();
                let mut args = vec!["run", "t.yaml"];
                args.extend_from_slice(POLL);
                let out = run_in(&p, mode, &args);
                let err = stderr(&out);
                assert_eq!(out.status.code(), Some(1), "[{mode}] {err}");
                assert!(err.contains("ran past its time limit"), "[{mode}] {err}");
                assert!(err.contains("TIMEOUT"), "[{mode}] {err}");
                assert!(err.contains("resources.time"), "[{mode}] {err}");
                assert!(!err.contains("panicked"), "{err}");
                assert!(started.elapsed() < Duration::from_secs(300));
            });
        }
    });
}

/// Acceptance 5: a worker that cannot see the cache directory (not shared with the compute node).
/// `pipe` runs in a mount namespace of its own where the cache lives on a private tmpfs that
/// slurmd, outside the namespace, cannot see: as on a cluster whose cache is local to the login node.
#[test]
fn cache_the_compute_node_cannot_see_is_a_clear_error() {
    if !cluster_up() {
        return;
    }
    let p = study_project();
    let private = p.path().join("private");
    std::fs::create_dir_all(&private).unwrap();
    let probe = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        pipe_testkit::skip("cannot make a mount namespace (unshare --mount needs root)");
        return;
    }
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs pipe-private "$0" && exec "$@""#)
        .arg(&private)
        .arg(env!("CARGO_BIN_EXE_pipe"))
        .args(["run", "study.yaml"])
        .args(POLL)
        .current_dir(p.path())
        .env("PIPE_CACHE", private.join("cache"))
        .env_remove("CUDA_VISIBLE_DEVICES")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the compute node cannot see the cache directory"),
        "{err}"
    );
    assert!(err.contains("shared"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// One batched query per poll interval: the number of `squeue`/`sacct` calls follows the run's
/// length in polls, not tasks x polls. Wrappers first on PATH log every Slurm command.
#[test]
fn one_batched_query_per_poll_interval() {
    for mode in modes() {
        let p = Project::new();
        let bin = p.path().join("bin");
        let log = p.path().join("calls.log");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["sbatch", "squeue", "sacct", "scontrol", "scancel", "sinfo"] {
            let real = which(tool);
            let path = bin.join(tool);
            std::fs::write(
                &path,
                format!(
                    "#!/bin/sh\necho \"{tool} $*\" >> {}\nexec {} \"$@\"\n",
                    log.display(),
                    real.display()
                ),
            )
            .unwrap();
            let mut perm = std::fs::metadata(&path).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
            std::fs::set_permissions(&path, perm).unwrap();
        }
        p.write(
            "b.yaml",
            r#"
name: slurm-batched
stages:
  t:
    matrix: { i: "range(40)" }
    cmd: [sh, -c, 'sleep 1; echo $PIPE_TASK > "$0"', "${outputs.o}"]
    outputs: { o: o.txt }
"#,
        );
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let started = Instant::now();
        let out = pipe_in(&p, mode)
            .env("PATH", path)
            .args([
                "run",
                "b.yaml",
                "--executor",
                "slurm",
                "--slurm-poll",
                "0.5",
            ])
            .output()
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert!(out.status.success(), "{}", stderr(&out));
        let calls = std::fs::read_to_string(&log).unwrap();
        let count = |tool: &str| calls.lines().filter(|l| l.starts_with(tool)).count();
        assert_eq!(count("sbatch "), 40, "[{mode}] one sbatch per task");
        let polls = (seconds / 0.5).ceil() as usize + 1;
        let queries = count("squeue ") + count("sacct ");
        // sacct mode may add one squeue per poll for jobs not yet in the database.
        let per_poll = if *mode == "sacct" { 2 } else { 1 };
        assert!(
            queries <= per_poll * polls + 2,
            "[{mode}] {queries} queries in {seconds:.1}s ({polls} polls):\n{calls}"
        );
        match *mode {
            "squeue" => assert_eq!(count("sacct "), 0, "{calls}"),
            // One sacct call finds accounting disabled; squeue from then on.
            "auto" => assert_eq!(count("sacct "), 1, "{calls}"),
            _ => assert!(count("sacct ") > 0, "{calls}"),
        }
        // Some query asked about many jobs at once.
        let most_ids = calls
            .lines()
            .filter(|l| l.starts_with("squeue ") || l.starts_with("sacct "))
            .filter_map(|l| l.split_whitespace().skip_while(|w| *w != "-j").nth(1))
            .map(|ids| ids.split(',').count())
            .max()
            .unwrap_or(0);
        assert!(most_ids >= 8, "[{mode}] queries were not batched:\n{calls}");
    }
}

fn which(tool: &str) -> PathBuf {
    std::env::var("PATH")
        .unwrap()
        .split(':')
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} not on PATH"))
}

#[test]
fn interrupt_cancels_the_runs_jobs() {
    if !cluster_up() {
        return;
    }
    let p = Project::new();
    p.write(
        "i.yaml",
        r#"
name: slurm-interrupt
stages:
  slow:
    matrix: { i: "range(2)" }
    cmd: [sh, -c, 'sleep 60; echo done > "$0"', "${outputs.o}"]
    outputs: { o: o.txt }
"#,
    );
    let child = p
        .pipe()
        .args(["run", "i.yaml"])
        .args(POLL)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ids = wait_for_jobs(&p, 2);
    assert_eq!(ids.len(), 2);
    // SAFETY: sends SIGINT (as Ctrl-C does) to the child we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(20));
    let states = Command::new("squeue")
        .args(["-h", "-t", "all", "-O", "State", "-j", &ids.join(",")])
        .output()
        .unwrap();
    let states = String::from_utf8_lossy(&states.stdout).to_string();
    assert!(
        states.lines().all(|s| s.trim() == "CANCELLED"),
        "jobs after the interrupt: {states}"
    );
    assert!(journal_ids(&p).is_empty());
    assert!(p.records().iter().any(|r| r.status == "interrupted"));
}

/// Acceptance 5: an unknown partition stops the run before it submits anything, with Slurm's own
/// message.
#[test]
fn unknown_partition_is_a_clear_error() {
    if !cluster_up() {
        return;
    }
    let p = study_project();
    let out = p.run(&[
        "run",
        "study.yaml",
        "--executor",
        "slurm",
        "--slurm-partition",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("slurm partition 'nope' does not exist"),
        "{err}"
    );
    assert!(err.contains("partitions: "), "{err}");
    // sbatch's own words, e.g. "sbatch: error: invalid partition specified: nope".
    assert!(err.contains("Slurm says: sbatch: error:"), "{err}");
    assert!(err.to_lowercase().contains("invalid partition"), "{err}");
    assert!(journal_ids(&p).is_empty());
}

/// Acceptance 5: no Slurm clients at all.
#[test]
fn missing_slurm_clients_are_a_clear_error() {
    let p = study_project();
    let empty = p.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = p
        .pipe()
        .env("PATH", &empty)
        .args(["run", "study.yaml", "--executor", "slurm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("not on PATH"), "{err}");
    assert!(err.contains("--executor local"), "{err}");
}

/// Acceptance 5: `sinfo` answers but `sbatch` is not on PATH: each task fails with a clear message.
#[test]
fn missing_sbatch_is_a_clear_error() {
    if !cluster_up() {
        return;
    }
    let p = study_project();
    let bin = p.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in [
        "sinfo", "squeue", "sacct", "scancel", "sh", "cp", "tr", "cat", "wc",
    ] {
        std::os::unix::fs::symlink(which(tool), bin.join(tool)).unwrap();
    }
    let out = p
        .pipe()
        .env("PATH", &bin)
        .args(["run", "study.yaml"])
        .args(POLL)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("'sbatch' not found on PATH"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn executor_and_slurm_settings_come_from_the_profile() {
    let p = study_project();
    let text = std::fs::read_to_string(p.path().join("study.yaml")).unwrap();
    p.write(
        "study.yaml",
        &format!(
            "{text}profiles:\n  cluster:\n    executor: slurm\n    slurm: {{ partition: nope }}\n"
        ),
    );
    let empty = p.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    // The profile picks Slurm: without its clients the run stops before submitting anything.
    let out = p
        .pipe()
        .env("PATH", &empty)
        .args(["run", "study.yaml", "--profile", "cluster"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--executor slurm"),
        "{}",
        stderr(&out)
    );
    // The command line wins over the profile.
    p.ok(&[
        "run",
        "study.yaml",
        "--profile",
        "cluster",
        "--executor",
        "local",
        "-j",
        "2",
    ]);
    assert_eq!(p.ran_in_last_run().len(), 34);
}
