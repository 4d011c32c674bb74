//! End-to-end tests of `pipe` against hostile pipeline files and faults: repeated keys, huge
//! matrices, outputs that leave their folder, tasks that write outside it, a full disk.

mod common;

use std::time::{Duration, Instant};

use common::{stderr, Project};

/// Runs `cmd` to its end; returns its stderr, its exit code and its peak resident set in bytes
/// (`wait4` of this one child: the test's other children do not count).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its usage
fn run_measured(cmd: &mut std::process::Command) -> (String, Option<i32>, u64) {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 reaps our own child and writes into the status and the struct it is given.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (err, code, usage.ru_maxrss as u64 * 1024)
}

#[test]
fn repeated_stage_and_param_name_both_lines() {
    let p = Project::new();
    p.write(
        "p.yaml",
        "name: x\nstages:\n  a: { cmd: [echo] }\n  b: { cmd: [echo] }\n  a: { cmd: [true] }\n",
    );
    let out = p.run(&["run", "p.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "p.yaml:5:3: key 'a' in stages is repeated (first at line 3, again at line 5)"
        ),
        "{err}"
    );
    p.write(
        "q.yaml",
        "name: x\nstages:\n  a:\n    cmd: [echo]\n    params:\n      lr: 1\n      epochs: 2\n      lr: 3\n",
    );
    let err = stderr(&p.run(&["status", "q.yaml"]));
    assert!(err.contains("q.yaml:8:7: key 'lr' in stages.a.params is repeated (first at line 6, again at line 8)"), "{err}");
}

#[test]
fn a_ten_billion_task_matrix_is_refused_at_once() {
    let p = Project::new();
    p.write(
        "p.yaml",
        "name: x\nstages:\n  a:\n    cmd: [echo]\n    matrix: { i: \"range(100000)\", j: \"range(100000)\" }\n",
    );
    let started = Instant::now();
    let (err, code, peak) = run_measured(p.pipe().args(["run", "p.yaml"]));
    let took = started.elapsed();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("stage 'a': matrix: the matrix (i: 100000 x j: 100000) would make 10000000000 tasks, over the limit of 1000000"), "{err}");
    assert!(took < Duration::from_secs(1), "refusal took {took:?}");
    assert!(peak < 64 << 20, "peak RSS {peak} bytes");
    // The limit is the user's to raise or lower.
    let out = p.run(&["status", "p.yaml", "--max-tasks", "10"]);
    assert!(
        stderr(&out).contains("over the limit of 10"),
        "{}",
        stderr(&out)
    );
}

/// The complete entries of the project's cache.
fn entries(p: &Project) -> Vec<String> {
    let mut keys = Vec::new();
    for shard in std::fs::read_dir(p.path().join("cache")).unwrap().flatten() {
        if shard.file_name().len() == 2 {
            for e in std::fs::read_dir(shard.path()).unwrap().flatten() {
                keys.push(e.file_name().to_string_lossy().to_string());
            }
        }
    }
    keys
}

#[test]
fn an_output_linking_outside_is_refused_and_nothing_published() {
    let p = Project::new();
    p.write(
        "p.yaml",
        "name: x\nstages:\n  a:\n    cmd: [ln, -s, /etc/passwd, \"${outputs.o}\"]\n    outputs: { o: o.txt }\n  b:\n    cmd: [cp, \"${inputs.i}\", \"${outputs.o}\"]\n    inputs: { i: a.o }\n    outputs: { o: o.txt }\n",
    );
    let out = p.run(&["run", "p.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "output 'o' (o.txt): o.txt is a symbolic link to the absolute path /etc/passwd"
        ),
        "{err}"
    );
    assert!(entries(&p).is_empty(), "published: {:?}", entries(&p));
    let tmp: Vec<_> = std::fs::read_dir(p.path().join("cache/.tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty(), "private folders left: {tmp:?}");
}

/// Whether this kernel enforces Landlock, by a confined command's manifest; reports the test as
/// skipped when it does not.
fn landlock_enforced(p: &Project) -> bool {
    p.write(
        "probe.yaml",
        "name: probe\nstages:\n  a:\n    cmd: [sh, -c, 'mktemp > \"$0\"', \"${outputs.o}\"]\n    outputs: { o: o.txt }\n",
    );
    p.ok(&["run", "probe.yaml"]);
    let manifest = std::fs::read_dir(p.path().join("cache"))
        .unwrap()
        .flatten()
        .filter(|s| s.file_name().len() == 2)
        .flat_map(|s| std::fs::read_dir(s.path()).unwrap().flatten())
        .map(|e| std::fs::read_to_string(e.path().join("manifest.json")).unwrap())
        .next()
        .unwrap();
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let confined = m["confinement"]["confined"] == serde_json::json!(true);
    if !confined {
        pipe_testkit::skip(&format!(
            "this kernel does not enforce Landlock: {}",
            m["confinement"]
        ));
    }
    confined
}

#[test]
fn a_confined_command_cannot_write_outside_its_folders() {
    let p = Project::new();
    if !landlock_enforced(&p) {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let targets = [
        p.path().join("in-the-pipeline-folder.txt"),
        p.path().join("cache/in-the-cache.txt"),
        home.path().join("in-home.txt"),
    ];
    for (i, target) in targets.iter().enumerate() {
        let stage = |confine: &str| {
            format!(
                "name: w{i}\nstages:\n  w:\n    cmd: [sh, -c, 'touch \"$0\" && echo ok > \"$1\"', {}, \"${{outputs.o}}\"]\n    outputs: {{ o: o.txt }}\n{confine}",
                target.display()
            )
        };
        p.write("w.yaml", &stage(""));
        let out = p
            .pipe()
            .env("HOME", home.path())
            .args(["run", "w.yaml"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(!target.exists(), "{} was written", target.display());
        let logs = p.path().join("cache/.logs");
        let log: String = std::fs::read_dir(&logs)
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        let refused = format!("cannot touch '{}': Permission denied", target.display());
        assert!(log.contains(&refused), "{log}");
        assert!(log.contains("the command ran confined"), "{log}");
        std::fs::remove_dir_all(&logs).unwrap();

        p.write("w.yaml", &stage("    confine: false\n"));
        let out = p
            .pipe()
            .env("HOME", home.path())
            .args(["run", "w.yaml"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(target.exists());
        std::fs::remove_file(target).unwrap();
    }
    // --no-confine turns it off for the whole run.
    p.write(
        "n.yaml",
        &format!(
            "name: n\nstages:\n  w:\n    cmd: [sh, -c, 'touch \"$0\" && echo no > \"$1\"', {}, \"${{outputs.o}}\"]\n    outputs: {{ o: o.txt }}\n",
            targets[0].display()
        ),
    );
    p.ok(&["run", "n.yaml", "--no-confine"]);
    assert!(targets[0].exists());
}

#[test]
fn a_declared_writable_folder_is_writable() {
    let p = Project::new();
    if !landlock_enforced(&p) {
        return;
    }
    p.write(
        "p.yaml",
        "name: x\nstages:\n  w:\n    cmd: [sh, -c, 'echo x > tool-cache/f && echo ok > \"$0\"', \"${outputs.o}\"]\n    outputs: { o: o.txt }\n    writable: [tool-cache]\n",
    );
    p.ok(&["run", "p.yaml"]);
    assert!(p.path().join("tool-cache/f").is_file());
}

#[test]
fn a_full_disk_fails_the_task_publishes_nothing_and_the_next_run_completes() {
    let probe = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        pipe_testkit::skip("cannot make a mount namespace (unshare --mount needs root)");
        return;
    }
    let p = Project::new();
    let small = p.path().join("small");
    std::fs::create_dir(&small).unwrap();
    p.write(
        "p.yaml",
        "name: x\nstages:\n  big:\n    cmd: [sh, -c, 'head -c 3000000 /dev/zero > \"$0\"', \"${outputs.o}\"]\n    outputs: { o: big.bin }\n",
    );
    // In a mount namespace of its own: the cache on a 1 MiB tmpfs, a run, what it left; then the
    // filesystem grown to 16 MiB (space freed) and a second run.
    let script = r#"
mount -t tmpfs -o size=1m pipe-small "$0" || exit 90
"$1" run p.yaml; echo "first=$?"
echo "tmp=[$(ls -A "$0/cache/.tmp")]"
echo "entries=[$(find "$0/cache" -name manifest.json)]"
mount -o remount,size=16m "$0" || exit 91
"$1" run p.yaml; echo "second=$?"
echo "entries=$(find "$0/cache" -name manifest.json | wc -l)"
"#;
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .arg(&small)
        .arg(env!("CARGO_BIN_EXE_pipe"))
        .current_dir(p.path())
        .env("PIPE_CACHE", small.join("cache"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(text.contains("first=1"), "{text}");
    assert!(
        text.contains("no space left on the filesystem at "),
        "{text}"
    );
    assert!(text.contains("while writing "), "{text}");
    assert!(
        text.contains("tmp=[]"),
        "the private folder is left: {text}"
    );
    assert!(
        text.contains("entries=[]"),
        "an entry was published: {text}"
    );
    assert!(text.contains("second=0"), "{text}");
    assert!(text.contains("entries=1"), "{text}");
}

#[test]
fn a_no_op_run_without_a_terminal_prints_a_couple_of_lines() {
    let p = Project::new();
    p.write(
        "p.yaml",
        "name: many\nstages:\n  leaf:\n    matrix: { i: \"range(200)\" }\n    cmd: [sh, -c, 'echo ${params.i} > \"$0\"', \"${outputs.o}\"]\n    outputs: { o: o.txt }\n  all:\n    cmd: [sh, -c, 'cat \"$@\" > \"$PIPE_OUTPUT_O\"', all, \"${inputs.i}\"]\n    inputs: { i: \"leaf[*].o\" }\n    outputs: { o: o.txt }\n",
    );
    let first = p.run(&["run", "p.yaml"]);
    assert!(first.status.success(), "{}", stderr(&first));
    // One line per task that ran, the plan's and the summary.
    assert_eq!(
        stderr(&first).lines().count(),
        201 + 2,
        "{}",
        stderr(&first)
    );
    let again = p.run(&["run", "p.yaml"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        stderr(&again)
    );
    assert!(text.lines().count() <= 3, "{text}");
    assert!(
        text.contains("many: 201 tasks, 201 cached, 0 to run (-v lists the cached ones)"),
        "{text}"
    );
    let verbose = stderr(&p.run(&["run", "p.yaml", "-v"]));
    assert_eq!(
        verbose.lines().filter(|l| l.starts_with("cached ")).count(),
        201,
        "{verbose}"
    );
}

#[test]
fn network_false_refuses_tcp_where_landlock_has_tcp_rules() {
    let p = Project::new();
    if !landlock_enforced(&p) {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stage = |network: &str, tag: &str| {
        format!(
            "name: n{tag}\nstages:\n  c:\n    cmd: [bash, -c, 'echo {tag} > /dev/tcp/127.0.0.1/{port} && echo ok > \"$0\"', \"${{outputs.o}}\"]\n    outputs: {{ o: o.txt }}\n{network}"
        )
    };
    p.write("n.yaml", &stage("    network: false\n", "a"));
    let out = p.run(&["run", "n.yaml"]);
    let err = stderr(&out);
    if out.status.success() {
        // The manifest's note says so: Landlock before ABI 4 has no TCP rules.
        pipe_testkit::skip("TCP was not refused: this kernel's Landlock has no TCP rules (ABI 4)");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    p.write("n.yaml", &stage("", "b"));
    p.ok(&["run", "n.yaml"]);
}
