//! End-to-end tests of the engine on pipelines of `cmd` stages.

mod common;

use std::time::{Duration, Instant};

use common::{stderr, study_project, Project};

fn status_lines(p: &Project, args: &[&str]) -> Vec<(String, String, String)> {
    let mut full = vec!["status", "study.yaml"];
    full.extend_from_slice(args);
    p.ok(&full)
        .lines()
        .filter(|l| {
            l.starts_with("run ") || l.starts_with("cached ") || l.starts_with("not-needed ")
        })
        .map(|l| {
            let mut parts = l.split_whitespace();
            let state = parts.next().unwrap().to_string();
            let task = parts.next().unwrap().to_string();
            let reason = parts.collect::<Vec<_>>().join(" ");
            (state, task, reason)
        })
        .collect()
}

fn to_run(lines: &[(String, String, String)]) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .filter(|(s, _, _)| s == "run")
        .map(|(_, t, _)| t.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn study_shape_caches_and_reruns_exactly_what_changed() {
    let p = study_project();
    let status = status_lines(&p, &[]);
    assert_eq!(status.len(), 34);
    assert!(status
        .iter()
        .all(|(s, _, r)| s == "run" && r.starts_with("new")));
    p.ok(&["run", "study.yaml", "-j", "2"]);
    assert_eq!(p.ran_in_last_run().len(), 34);

    // A second run runs nothing.
    assert!(to_run(&status_lines(&p, &[])).is_empty());
    p.ok(&["run", "study.yaml"]);
    assert!(p.ran_in_last_run().is_empty());

    // One arch's learning rate: its 6 train tasks, aggregate and significance.
    let set = ["--set", "lr.regnety_032=0.0005"];
    let status = status_lines(&p, &set);
    let mut expected: Vec<String> = (0..6)
        .map(|f| format!("train[arch=regnety_032,fold={f}]"))
        .collect();
    expected.extend(["aggregate".to_string(), "significance".to_string()]);
    expected.sort();
    assert_eq!(to_run(&status), expected);
    for (state, task, reason) in &status {
        if state != "run" {
            continue;
        }
        if task.starts_with("train") {
            assert_eq!(reason, "param lr: 0.001 -> 0.0005");
        } else if task == "aggregate" {
            assert!(
                reason.starts_with("input runs: 6 changed (upstream train[arch=regnety_032"),
                "{reason}"
            );
        } else {
            assert_eq!(reason, "input table: upstream aggregate changed");
        }
    }
    p.ok(&["run", "study.yaml", "--set", "lr.regnety_032=0.0005"]);
    assert_eq!(p.ran_in_last_run(), expected);

    // Touching an input without changing its bytes re-runs nothing.
    let config = p.path().join("config.txt");
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&config)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert!(to_run(&status_lines(&p, &set)).is_empty());
    p.ok(&["run", "study.yaml", "--set", "lr.regnety_032=0.0005"]);
    assert!(p.ran_in_last_run().is_empty());

    // Changing its bytes re-runs its dependents only.
    p.write("config.txt", "alpha 0.01\n");
    let status = status_lines(&p, &set);
    assert_eq!(to_run(&status), ["significance"]);
    assert!(status.iter().any(|(_, t, r)| t == "significance"
        && r.contains("file")
        && r.contains("config.txt changed")));
    p.ok(&["run", "study.yaml", "--set", "lr.regnety_032=0.0005"]);
    assert_eq!(p.ran_in_last_run(), ["significance"]);

    // The results folder links the final outputs.
    let tests = p.path().join("results/study-shape/significance/tests.txt");
    assert!(std::fs::read_to_string(tests)
        .unwrap()
        .contains("alpha 0.01"));
}

#[test]
fn sigkill_then_rerun_completes_and_verifies() {
    let p = Project::new();
    p.write(
        "slow.yaml",
        r#"
name: slow
stages:
  work:
    matrix: { i: "range(6)" }
    cmd: [sh, -c, 'sleep 0.6; echo "$PIPE_TASK" > "$0"', "${outputs.out}"]
    outputs: { out: out.txt }
  join:
    cmd: [sh, -c, 'cat "$@" > "$PIPE_OUTPUT_ALL"', join, "${inputs.parts}"]
    inputs: { parts: "work[*].out" }
    outputs: { all: all.txt }
"#,
    );
    let mut child = p
        .pipe()
        .args(["run", "slow.yaml", "-j", "2"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(900));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    p.ok(&["run", "slow.yaml", "-j", "2"]);
    let out = p.ok(&["verify"]);
    assert!(out.contains("0 damaged"), "{out}");
    let all = std::fs::read_to_string(p.path().join("results/slow/join/all.txt")).unwrap();
    assert_eq!(all.lines().count(), 6);
    // Nothing of the killed run is left looking like an entry or blocking the cache.
    let out = p.ok(&["run", "slow.yaml"]);
    assert!(out.is_empty());
    assert!(p.ran_in_last_run().is_empty());
}

#[test]
fn concurrent_runs_compute_each_task_once() {
    let p = Project::new();
    // The tasks write beside their outputs into a folder they declare writable.
    std::fs::create_dir(p.path().join("side")).unwrap();
    let counter = p.path().join("side/computed.log");
    p.write(
        "c.yaml",
        &format!(
            r#"
name: concurrent
stages:
  t:
    matrix: {{ i: "range(8)" }}
    cmd: [sh, -c, 'echo "$PIPE_TASK" >> {}; sleep 0.2; echo done > "$0"', "${{outputs.o}}"]
    outputs: {{ o: o.txt }}
    writable: [side]
"#,
            counter.display()
        ),
    );
    let a = p.pipe().args(["run", "c.yaml", "-j", "3"]).spawn().unwrap();
    let b = p.pipe().args(["run", "c.yaml", "-j", "3"]).spawn().unwrap();
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
    }
    let mut lines: Vec<String> = std::fs::read_to_string(&counter)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    let mut expected: Vec<String> = (0..8).map(|i| format!("t[i={i}]")).collect();
    expected.sort();
    assert_eq!(lines, expected, "every task computed exactly once");
}

#[test]
fn gpu_tasks_get_devices_of_their_own() {
    let p = Project::new();
    let logs = p.path().join("gpu-logs");
    std::fs::create_dir_all(&logs).unwrap();
    p.write(
        "g.yaml",
        &format!(
            r#"
name: gpus
stages:
  t:
    matrix: {{ i: "range(30)" }}
    resources: {{ gpu: 1 }}
    cmd: [sh, -c, 'a=$(date +%s.%N); sleep 0.15; echo "$CUDA_VISIBLE_DEVICES $a $(date +%s.%N)" > {}/$PIPE_KEY; echo ok > "$0"', "${{outputs.o}}"]
    outputs: {{ o: o.txt }}
    writable: [gpu-logs]
"#,
            logs.display()
        ),
    );
    let started = Instant::now();
    p.ok(&["run", "g.yaml", "--gpus", "0,1,2,3", "-j", "8"]);
    let mut spans: Vec<(String, f64, f64)> = std::fs::read_dir(&logs)
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
    assert_eq!(spans.len(), 30);
    spans.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (i, (dev, start, end)) in spans.iter().enumerate() {
        assert!(["0", "1", "2", "3"].contains(&dev.as_str()), "device {dev}");
        let active_at_start = spans
            .iter()
            .filter(|s| s.1 <= *start && *start < s.2)
            .count();
        assert!(active_at_start <= 4, "{active_at_start} tasks at once");
        let same_device_overlap = spans
            .iter()
            .enumerate()
            .any(|(j, s)| j != i && s.0 == *dev && s.1 < *end && *start < s.2);
        assert!(!same_device_overlap, "two tasks at once on device {dev}");
    }
    let used: std::collections::BTreeSet<&str> = spans.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(used.len(), 4, "all four devices used");
    // The records hold the devices too.
    let rows = p.records();
    assert!(rows.iter().all(|r| r.devices.len() == 1));
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn keep_going_runs_what_does_not_depend_on_a_failure() {
    let p = Project::new();
    p.write(
        "k.yaml",
        r#"
name: keep
stages:
  bad: { cmd: [sh, -c, 'echo broken input >&2; exit 3'], outputs: { o: o } }
  after_bad: { cmd: [touch, "${outputs.o}"], inputs: { i: bad.o }, outputs: { o: o } }
  good: { cmd: [touch, "${outputs.o}"], outputs: { o: o } }
"#,
    );
    let out = p.run(&["run", "k.yaml", "-j", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("exit code 3") || err.contains("exited with code 3"),
        "{err}"
    );
    assert!(err.contains("broken input"), "{err}");
    let out = p.run(&["run", "k.yaml", "--keep-going"]);
    assert_eq!(out.status.code(), Some(1));
    let rows = p.records();
    let last = &rows.last().unwrap().run_id;
    let status = |task: &str| {
        rows.iter()
            .find(|r| &r.run_id == last && r.task == task)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status("bad"), "failed");
    assert_eq!(status("after_bad"), "skipped");
    assert!(["ran", "cached"].contains(&status("good").as_str()));
}

#[test]
fn retries_rerun_a_failing_task() {
    let p = Project::new();
    std::fs::create_dir(p.path().join("side")).unwrap();
    let marker = p.path().join("side/first-attempt");
    p.write(
        "r.yaml",
        &format!(
            r#"
name: retry
stages:
  flaky:
    retries: 1
    cmd: [sh, -c, 'if [ ! -e {m} ]; then touch {m}; exit 1; fi; touch "$0"', "${{outputs.o}}"]
    outputs: {{ o: o }}
    writable: [side]
"#,
            m = marker.display()
        ),
    );
    p.ok(&["run", "r.yaml"]);
    let rows = p.records();
    assert_eq!(rows.last().unwrap().attempts, 2);
}

/// Each broken pipeline: exit code, a message that says what and where, and no panic.
#[test]
fn broken_pipelines_give_clear_errors() {
    let p = Project::new();
    p.write("in.txt", "x");
    let cases: &[(&str, &str, i32, &str)] = &[
        ("syntax", "name: x\nstages:\n  a: { cmd: [echo, hi }\n", 2, "syntax.yaml:3:"),
        ("field", "name: x\nstages:\n  a:\n    cmd: [echo]\n    parms: {}\n", 2, "did you mean `params`?"),
        ("kind", "name: x\nstages:\n  a: { kind: tensorise }\n", 2, "unknown stage kind 'tensorise'"),
        ("stage", "name: x\nstages:\n  a: { cmd: [x], inputs: { i: dat.o } }\n  data: { cmd: [y], outputs: { o: o } }\n", 2, "no stage 'dat' (did you mean 'data'?)"),
        ("output", "name: x\nstages:\n  a: { cmd: [x], inputs: { i: data.oo } }\n  data: { cmd: [y], outputs: { o: o } }\n", 2, "has no output 'oo'"),
        ("cycle", "name: x\nstages:\n  a: { cmd: [x], inputs: { i: b.o }, outputs: { o: o } }\n  b: { cmd: [x], inputs: { i: a.o }, outputs: { o: o } }\n", 2, "cycle: a -> b -> a"),
        ("axis", "name: x\nstages:\n  a: { cmd: [x], matrix: { arch: [] } }\n", 2, "axis 'arch' is empty"),
        ("file", "name: x\nstages:\n  a: { cmd: [x], inputs: { i: { file: missing.bam } } }\n", 2, "missing.bam does not exist"),
        ("notfound", "name: x\nstages:\n  a: { cmd: [no-such-program-xyz], outputs: { o: o } }\n", 1, "command 'no-such-program-xyz' not found"),
        ("failing", "name: x\nstages:\n  a: { cmd: [sh, -c, 'echo disk on fire >&2; exit 7'], outputs: { o: o } }\n", 1, "disk on fire"),
        ("noout", "name: x\nstages:\n  a: { cmd: [true], outputs: { o: o.txt } }\n", 1, "declared output 'o' (o.txt) was not created"),
    ];
    for (name, text, code, needle) in cases {
        let file = format!("{name}.yaml");
        p.write(&file, text);
        let out = p.run(&["run", &file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(*code), "{name}: {err}");
        assert!(
            err.contains(needle),
            "{name}: expected '{needle}' in:\n{err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    // failing command: the exit code is shown too
    let err = stderr(&p.run(&["run", "failing.yaml"]));
    assert!(err.contains("code 7"), "{err}");

    // An unwritable cache directory.
    p.write("ok.yaml", "name: x\nstages:\n  a: { cmd: [true] }\n");
    let out = p
        .pipe()
        .args(["--cache", "/proc/pipe-cache", "run", "ok.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("is not writable"), "{}", stderr(&out));
}

#[test]
fn dag_show_runs_and_gc() {
    let p = study_project();
    let dot = p.ok(&["dag", "study.yaml", "--format", "dot"]);
    assert!(dot.starts_with("digraph"));
    assert_eq!(dot.matches("->").count(), 1 + 30 + 30 + 1);
    let mermaid = p.ok(&["dag", "study.yaml", "--format", "mermaid"]);
    assert!(mermaid.starts_with("flowchart LR"));
    p.ok(&["run", "study.yaml"]);
    let show = p.ok(&["show", "study.yaml", "train[arch=inception_v3,fold=0]"]);
    for needle in [
        "key:",
        "\"lr\": 0.001",
        "examples: tensorize.examples",
        "metrics:",
    ] {
        assert!(show.contains(needle), "{needle} in {show}");
    }
    let runs = p.ok(&["runs"]);
    assert!(runs.contains("study-shape"), "{runs}");
    // gc keeps what the pipeline reaches and removes the rest.
    p.ok(&["run", "study.yaml", "--set", "lr.inception_v3=0.5"]);
    let out = p.ok(&["gc", "study.yaml"]);
    assert!(out.contains("removed 8 entries"), "{out}");
    p.ok(&["run", "study.yaml"]);
    assert!(p.ran_in_last_run().is_empty());
}

fn tmp_has_entries(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

#[test]
fn interrupt_publishes_nothing_partial_and_rerun_resumes() {
    let p = Project::new();
    p.write(
        "i.yaml",
        r#"
name: interrupt
stages:
  slow:
    matrix: { i: "range(4)" }
    cmd: [sh, -c, 'echo partial > "$0"; sleep 30; echo done >> "$0"', "${outputs.o}"]
    outputs: { o: o.txt }
"#,
    );
    let child = p.pipe().args(["run", "i.yaml", "-j", "2"]).spawn().unwrap();
    // Interrupt only once workers are computing (a task folder exists under
    // cache/.tmp): a cold debug build on a slow machine takes a while to start.
    let waiting = Instant::now();
    while !tmp_has_entries(&p.path().join("cache/.tmp")) {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "no task started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sends SIGINT (as Ctrl-C does) to the child we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "workers were stopped"
    );
    let entries = p.ok(&["verify"]);
    assert!(entries.contains("checked 0 entries"), "{entries}");
    let tmp: Vec<_> = std::fs::read_dir(p.path().join("cache/.tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty(), "no half-computed folder is left behind");
    let rows = p.records();
    assert!(rows.iter().any(|r| r.status == "interrupted"));
}

#[test]
fn force_recomputes_a_cached_stage() {
    let p = study_project();
    p.ok(&["run", "study.yaml"]);
    let status = status_lines(&p, &["--force", "significance"]);
    assert_eq!(to_run(&status), ["significance"]);
    assert!(status
        .iter()
        .any(|(_, _, r)| r == "forced (--force significance)"));
    p.ok(&["run", "study.yaml", "--force", "significance"]);
    assert_eq!(p.ran_in_last_run(), ["significance"]);
    assert!(p.ok(&["verify"]).contains("0 damaged"));
}

/// The run records are plain Parquet that pyarrow reads (DuckDB and polars read the same files).
#[test]
fn run_records_are_readable_by_pyarrow() {
    let Ok(python) = std::env::var("PIPE_PYTHON") else {
        pipe_testkit::skip("PIPE_PYTHON is not set (scripts/dev sets it)");
        return;
    };
    let p = study_project();
    p.ok(&["run", "study.yaml"]);
    let script = "import pyarrow.dataset as ds, sys\nt = ds.dataset(sys.argv[1], format='parquet').to_table()\nprint(t.num_rows, ','.join(t.column_names), t.column('start').type)";
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(p.path().join("cache/.records"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("34 run_id,pipeline,task,stage,key,status,cache_hit,start,end,seconds,exit_code,devices,host,attempts,job_id timestamp[us, tz=UTC]"),
        "{text}"
    );
}

#[test]
fn large_fan_in_reaches_the_command_through_a_list_file() {
    let p = Project::new();
    p.write(
        "fan.yaml",
        r#"
name: fan-in
stages:
  leaf:
    matrix: { i: "range(600)" }
    cmd: [sh, -c, 'echo "$0" > "$1"', "${params.i}", "${outputs.o}"]
    outputs: { o: a-rather-long-output-file-name.txt }
  gather:
    cmd: [sh, -c, 'test -z "$PIPE_INPUT_ALL" && wc -l < "$PIPE_INPUT_ALL_LIST" > "$0" && xargs cat < "$PIPE_INPUT_ALL_LIST" | sort -n | tail -1 >> "$0"', "${outputs.count}"]
    inputs: { all: "leaf[*].o" }
    outputs: { count: count.txt }
"#,
    );
    p.ok(&["run", "fan.yaml"]);
    let count = std::fs::read_to_string(p.path().join("results/fan-in/gather/count.txt")).unwrap();
    let lines: Vec<&str> = count.split_whitespace().collect();
    assert_eq!(
        lines,
        ["600", "599"],
        "600 paths in the list file, no oversized variable"
    );
}

/// The registry's domain commands are on `pipe`'s command line beside the engine's, each with its own
/// help line, and `pipe kinds` lists the registered kinds.
#[test]
fn domain_commands_and_kinds_come_from_the_registry() {
    let p = Project::new();
    let help = p.ok(&["--help"]);
    assert!(
        help.starts_with("Declarative, content-hashed ML study pipelines"),
        "{help}"
    );
    for line in [
        "  models   List the model zoo: every architecture with its parameter count and forward GFLOPs",
        "  inspect  Draw one example of an examples table as a PNG",
        "  kinds    List the built-in stage kinds with their inputs and outputs",
    ] {
        assert!(help.contains(line), "{line:?} missing from\n{help}");
    }
    let kinds = p.ok(&["kinds"]);
    for kind in [
        "simulate (v",
        "tensorize (v",
        "train (v",
        "call (v",
        "evaluate (v",
        "report (v",
    ] {
        assert!(kinds.contains(kind), "{kind} missing from\n{kinds}");
    }
}
