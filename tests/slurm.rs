//! End-to-end tests of `pipe run --executor slurm` against a live Slurm cluster.
//!
//! Start one on a test machine with `scripts/slurm-test-cluster start` (one node, 8 CPUs, four fake
//! GPUs); without `sbatch` on PATH or a reachable cluster these tests print why and return.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{stderr, study_project, Project};

/// Fast polling so the tests do not wait on the default interval.
const POLL: &[&str] = &["--executor", "slurm", "--slurm-poll", "0.3"];

/// Whether a cluster answers; prints why not.
fn cluster_up() -> bool {
    let ok = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).lines().any(|s| {
                    s.starts_with("idle") || s.starts_with("mixed") || s.starts_with("alloc")
                })
        });
    let sbatch = Command::new("sbatch").arg("--version").output().is_ok();
    if !(ok && sbatch) {
        eprintln!(
            "skipping: no Slurm cluster (sbatch not on PATH or no node up); start one with scripts/slurm-test-cluster start"
        );
    }
    ok && sbatch
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

#[test]
fn study_shape_under_slurm_equals_a_local_run() {
    if !cluster_up() {
        return;
    }
    let p = study_project();
    slurm_run(&p, "study.yaml", &[]);
    assert_eq!(p.ran_in_last_run().len(), 34);
    let slurm_keys = keys_of_last_run(&p);

    let local = study_project();
    local.ok(&["run", "study.yaml", "-j", "2"]);
    assert_eq!(keys_of_last_run(&local), slurm_keys);
    assert_eq!(
        read_tree(&p.path().join("results")),
        read_tree(&local.path().join("results"))
    );

    // Every entry was computed by a Slurm job, and the journal is empty again.
    for key in slurm_keys.values() {
        let manifest = p
            .path()
            .join("cache")
            .join(&key[..2])
            .join(key)
            .join("manifest.json");
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
        assert!(m["environment"]["slurm_job_id"].is_string(), "{manifest:?}");
    }
    assert!(journal_ids(&p).is_empty());

    // A second run submits nothing.
    slurm_run(&p, "study.yaml", &[]);
    assert!(p.ran_in_last_run().is_empty());
}

#[test]
fn gpu_jobs_get_devices_of_their_own() {
    if !cluster_up() {
        return;
    }
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
"#,
            logs.display()
        ),
    );
    slurm_run(&p, "g.yaml", &[]);
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
    // The run records hold the device each job was given.
    let rows = p.records();
    assert!(
        rows.iter()
            .all(|r| ["0", "1", "2", "3"].contains(&r.devices.as_str())),
        "{rows:?}"
    );
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
    if !cluster_up() {
        return;
    }
    let p = Project::new();
    let attempts = p.path().join("attempts");
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
"#,
            attempts.display()
        ),
    );
    let mut args = vec!["run", "f.yaml"];
    args.extend_from_slice(POLL);
    let out = p.run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("FAILED"), "{err}");
    assert!(err.contains("NonZeroExitCode"), "{err}");
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

#[test]
fn rerun_after_sigkill_waits_for_queued_jobs_instead_of_resubmitting() {
    if !cluster_up() {
        return;
    }
    let p = Project::new();
    let counter = p.path().join("computed.log");
    p.write(
        "k.yaml",
        &format!(
            r#"
name: slurm-reattach
stages:
  work:
    matrix: {{ i: "range(3)" }}
    cmd: [sh, -c, 'sleep 3; echo "$PIPE_TASK" >> {}; echo ok > "$0"', "${{outputs.o}}"]
    outputs: {{ o: o.txt }}
"#,
            counter.display()
        ),
    );
    let mut child = p.pipe().args(["run", "k.yaml"]).args(POLL).spawn().unwrap();
    let submitted = wait_for_jobs(&p, 3);
    assert_eq!(submitted.len(), 3, "three jobs journaled");
    child.kill().unwrap(); // SIGKILL: the jobs stay queued.
    child.wait().unwrap();
    slurm_run(&p, "k.yaml", &[]);
    // A job that ended between the two runs is simply cached now.
    let rows = p.records();
    let last: Vec<_> = rows
        .iter()
        .filter(|r| r.run_id == rows[rows.len() - 1].run_id)
        .collect();
    assert!(
        last.iter()
            .all(|r| r.status == "ran" || r.status == "cached"),
        "{last:?}"
    );
    let computed = std::fs::read_to_string(&counter).unwrap();
    assert_eq!(
        computed.lines().count(),
        3,
        "no task was submitted twice: {computed}"
    );
    let mut used: Vec<String> = keys_of_last_run(&p)
        .values()
        .map(|key| {
            let manifest = p
                .path()
                .join("cache")
                .join(&key[..2])
                .join(key)
                .join("manifest.json");
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(manifest).unwrap()).unwrap();
            m["environment"]["slurm_job_id"]
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
    let child = p.pipe().args(["run", "i.yaml"]).args(POLL).spawn().unwrap();
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
}

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
