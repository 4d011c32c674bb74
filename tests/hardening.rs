//! End-to-end tests of `pipe` against hostile pipeline files and faults: repeated keys, huge
//! matrices, outputs that leave their folder, tasks that write outside it, a full disk.

mod common;

use std::time::{Duration, Instant};

use common::{stderr, Project};

/// The largest resident set of the waited-for children of this process so far, in bytes.
fn children_peak_rss() -> u64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as u64 * 1024
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
    let out = p.run(&["run", "p.yaml"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("stage 'a': matrix: the matrix (i: 100000 x j: 100000) would make 10000000000 tasks, over the limit of 1000000"), "{err}");
    assert!(took < Duration::from_secs(1), "refusal took {took:?}");
    let peak = children_peak_rss();
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
