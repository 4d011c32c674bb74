//! The scheduler's decisions, driven through [`Run`]'s handlers without starting workers: a test
//! "launches" a picked task by recording its start, and feeds the events a worker would send.

use std::cell::RefCell;
use std::rc::Rc;

use pipe_kind::Progress;

use super::*;
use crate::key::DigestMemo;
use crate::plan::PlanOptions;
use crate::spec::Pipeline;

/// `a -> b`, and `c` on its own (retried once); only `cmd` stages.
const CHAIN: &str = r#"
name: chain
stages:
  a: { cmd: [touch, "${outputs.out}"], outputs: { out: a.txt } }
  b: { cmd: [cp, "${inputs.x}", "${outputs.out}"], inputs: { x: a.out }, outputs: { out: b.txt } }
  c: { cmd: [touch, "${outputs.out}"], outputs: { out: c.txt }, retries: 1 }
"#;

/// A planned pipeline with an empty cache of its own.
struct Fixture {
    _dir: tempfile::TempDir,
    plan: Plan,
    cache: Cache,
}

impl Fixture {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pipeline = Pipeline::parse(text, &dir.path().join("p.yaml")).unwrap();
        let plan = crate::plan::plan(
            pipeline,
            &PlanOptions::default(),
            &mut DigestMemo::default(),
        )
        .unwrap();
        let cache = Cache::open(&dir.path().join("cache")).unwrap();
        Self {
            _dir: dir,
            plan,
            cache,
        }
    }

    fn index(&self, id: &str) -> usize {
        self.plan.find(id).unwrap()
    }

    /// Makes `id`'s key a complete cache entry.
    fn cache_entry(&self, id: &str) {
        let dir = self.cache.entry_dir(&self.plan.tasks[self.index(id)].key);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("manifest.json"), "{}").unwrap();
    }

    /// A private directory for an attempt of `id`, with a log, as a worker leaves it.
    fn attempt_dir(&self, id: &str, log: &str) -> PathBuf {
        let tmp = self
            .cache
            .new_tmp(&self.plan.tasks[self.index(id)].key)
            .unwrap();
        std::fs::write(tmp.join("log.txt"), log).unwrap();
        tmp
    }
}

fn options(jobs: usize, keep_going: bool) -> RunOptions {
    RunOptions {
        jobs,
        gpus: Vec::new(),
        keep_going,
        force: HashSet::new(),
        executor: Executor::Local,
    }
}

/// Records each event as a short line.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Vec<String>>>);

impl Recorder {
    /// The lines recorded since the last call.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl Reporter for Recorder {
    fn event(&mut self, event: RunEvent<'_>) {
        let line = match event {
            RunEvent::Planned { to_run, cached, .. } => format!("planned {to_run} {cached}"),
            RunEvent::Started {
                task,
                devices,
                attempt,
                ..
            } => format!("started {} {devices:?} {attempt}", task.id),
            RunEvent::Progress { task, progress, .. } => {
                format!("progress {} {}", task.id, progress.message)
            }
            RunEvent::Retrying { task, result, .. } => {
                format!("retrying {} {}", task.id, result.message)
            }
            RunEvent::Finished { task, result, .. } => {
                format!("finished {} {}", task.id, result.status.as_str())
            }
            RunEvent::Interrupting => "interrupting".to_string(),
        };
        self.0.borrow_mut().push(line);
    }

    fn finish(&mut self) {}
}

/// Does what [`Run::launch_ready`] does, short of starting a worker: ids of the tasks started.
fn fake_launch(run: &mut Run) -> Vec<String> {
    let mut started = Vec::new();
    for (i, grant) in run.pick() {
        match grant {
            Grant::Wait => {}
            Grant::Never => run.unrunnable(i),
            Grant::Run(cpus, devices) => {
                run.begin(i, cpus, &devices);
                run.running += 1;
                started.push(run.plan.tasks[i].id.clone());
            }
        }
    }
    started
}

fn statuses(results: &[TaskResult]) -> Vec<&'static str> {
    results.iter().map(|r| r.status.as_str()).collect()
}

fn failure(exit_code: i32, log_tail: &str) -> Outcome {
    Outcome::failed(Some(exit_code), log_tail.to_string())
}

#[test]
fn needed_tasks_are_forced_ones_and_uncached_ones_something_reads() {
    let f = Fixture::new(CHAIN);
    let (a, b, c) = (f.index("a"), f.index("b"), f.index("c"));
    let none = HashSet::new();
    let needed = |force: &HashSet<String>| {
        let run = needed_tasks(&f.plan, &f.cache, force);
        [run[a], run[b], run[c]]
    };
    assert_eq!(needed(&none), [true, true, true], "empty cache");

    f.cache_entry("b");
    assert_eq!(
        needed(&none),
        [false, false, true],
        "a is not needed when its only reader is cached"
    );

    f.cache_entry("a");
    let force: HashSet<String> = ["a".to_string()].into();
    assert_eq!(
        needed(&force),
        [true, false, true],
        "forcing a recomputes a only"
    );
}

#[test]
fn the_plan_and_the_cached_tasks_are_reported_first() {
    let f = Fixture::new(CHAIN);
    f.cache_entry("b");
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let opts = options(4, false);
    let (run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    assert_eq!(rec.take(), ["planned 1 1", "finished b cached"]);
    let mut want = vec!["skipped"; 3];
    want[f.index("a")] = "not-needed";
    want[f.index("b")] = "cached";
    assert_eq!(statuses(&run.results), want);
    assert_eq!(run.ready, [(Reverse(1), f.index("c"))].into());
}

#[test]
fn ready_tasks_start_longest_path_first_within_the_slots() {
    let f = Fixture::new(CHAIN);
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let opts = options(1, false);
    let (mut run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    rec.take();
    assert_eq!(fake_launch(&mut run), ["a"], "a leads the longer path");
    assert_eq!(fake_launch(&mut run), Vec::<String>::new(), "no slot left");
    assert_eq!(rec.take(), ["started a [] 1"]);
    assert_eq!(run.results[f.index("a")].attempts, 1);
}

#[test]
fn a_finished_task_readies_its_dependents() {
    let f = Fixture::new(CHAIN);
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let opts = options(2, false);
    let (mut run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    assert_eq!(fake_launch(&mut run), ["a", "c"]);
    assert!(run.ready.is_empty(), "b waits for a");
    rec.take();

    let tmp = f.attempt_dir("a", "");
    run.handle(Event::Done(f.index("a"), Outcome::Computed, tmp.clone()));
    assert_eq!(rec.take(), ["finished a ran"]);
    assert!(!tmp.exists(), "the attempt's directory is removed");
    assert_eq!(run.results[f.index("a")].exit_code, Some(0));
    assert_eq!(run.ready, [(Reverse(1), f.index("b"))].into());
    assert_eq!(run.slots.cpus, 1, "a's slot is free again");
    assert_eq!(fake_launch(&mut run), ["b"]);

    let tmp = f.attempt_dir("c", "");
    run.handle(Event::Done(f.index("c"), Outcome::AlreadyCached, tmp));
    let tmp = f.attempt_dir("b", "");
    run.handle(Event::Done(f.index("b"), Outcome::Computed, tmp));
    assert!(run.is_over());
    let (results, interrupted) = run.finish();
    let mut want = vec!["ran"; 3];
    want[f.index("c")] = "cached";
    assert_eq!(statuses(&results), want);
    assert!(!interrupted);
}

#[test]
fn a_failure_stops_the_run_unless_it_keeps_going() {
    let f = Fixture::new(CHAIN);
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let opts = options(1, false);
    let (mut run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    assert_eq!(fake_launch(&mut run), ["a"]);
    rec.take();

    let a = f.index("a");
    let tmp = f.attempt_dir("a", "the log of a");
    run.handle(Event::Done(a, failure(3, "boom"), tmp));
    assert_eq!(rec.take(), ["finished a failed"]);
    assert!(run.stopping);
    assert!(run.is_over(), "c is ready but not launched");
    let log = std::fs::read_to_string(f.cache.failed_log(&f.plan.tasks[a].key)).unwrap();
    assert_eq!(log, "the log of a", "the failed attempt's log is kept");
    let (results, interrupted) = run.finish();
    assert_eq!(
        (results[a].exit_code, results[a].message.as_str()),
        (Some(3), "boom")
    );
    let mut want = vec!["skipped"; 3];
    want[a] = "failed";
    assert_eq!(statuses(&results), want);
    assert!(!interrupted);
}

#[test]
fn keep_going_runs_what_does_not_depend_on_a_failure() {
    let f = Fixture::new(CHAIN);
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let opts = options(1, true);
    let (mut run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    assert_eq!(fake_launch(&mut run), ["a"]);
    let tmp = f.attempt_dir("a", "");
    let signal = Outcome::Killed {
        signal: 9,
        log_tail: "tail".into(),
    };
    run.handle(Event::Done(f.index("a"), signal, tmp));
    assert!(!run.stopping);
    assert_eq!(
        run.results[f.index("a")].message,
        "worker killed by signal 9\ntail"
    );
    assert_eq!(
        fake_launch(&mut run),
        ["c"],
        "b is downstream of a, c is not"
    );
    let tmp = f.attempt_dir("c", "");
    run.handle(Event::Done(f.index("c"), Outcome::Computed, tmp));
    assert!(run.is_over());
    let (results, _) = run.finish();
    let (a, b, c) = (f.index("a"), f.index("b"), f.index("c"));
    let got = [a, b, c].map(|i| results[i].status.as_str());
    assert_eq!(got, ["failed", "skipped", "ran"]);
}

#[test]
fn a_failed_attempt_is_retried_then_fails() {
    let f = Fixture::new(CHAIN);
    f.cache_entry("b");
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let opts = options(1, false);
    let (mut run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    let c = f.index("c");
    assert_eq!(fake_launch(&mut run), ["c"]);
    let tmp = f.attempt_dir("c", "");
    run.handle(Event::Done(c, failure(1, "first"), tmp.clone()));
    assert!(!tmp.exists());
    assert!(!run.stopping, "a retry does not stop the run");
    assert_eq!(run.results[c].status, TaskStatus::Skipped);
    assert_eq!(fake_launch(&mut run), ["c"], "ready again");
    let tmp = f.attempt_dir("c", "");
    run.handle(Event::Done(c, failure(1, "second"), tmp));
    assert_eq!(
        rec.take()[2..],
        [
            "started c [] 1",
            "retrying c first",
            "started c [] 2",
            "finished c failed"
        ]
    );
    assert_eq!(run.results[c].attempts, 2);
    assert!(run.is_over());
}

#[test]
fn progress_is_reported_for_its_task() {
    let f = Fixture::new(CHAIN);
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let opts = options(1, false);
    let (mut run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    fake_launch(&mut run);
    rec.take();
    let progress = Progress {
        done: 1,
        total: 2,
        message: "half".into(),
    };
    run.handle(Event::Progress(f.index("a"), progress));
    assert_eq!(rec.take(), ["progress a half"]);
}

#[tokio::test]
async fn an_interrupt_stops_the_run_and_marks_what_did_not_finish() {
    let f = Fixture::new(CHAIN);
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let opts = options(1, true);
    let (mut run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    assert_eq!(fake_launch(&mut run), ["a"]);
    rec.take();
    run.handle(Event::Interrupt);
    assert!(run.interrupted && run.stopping);
    let tmp = f.attempt_dir("a", "");
    run.handle(Event::Done(f.index("a"), failure(143, "terminated"), tmp));
    assert_eq!(rec.take(), ["interrupting", "finished a interrupted"]);
    assert!(run.is_over());
    let (results, interrupted) = run.finish();
    assert!(interrupted);
    assert_eq!(statuses(&results), ["interrupted"; 3]);
}

#[test]
fn gpu_tasks_get_devices_of_their_own() {
    let f = Fixture::new(
        r#"
name: gpus
stages:
  one: { cmd: [touch, "${outputs.out}"], outputs: { out: o.txt }, resources: { gpu: 1, cpus: 2 } }
  three: { cmd: [touch, "${outputs.out}"], outputs: { out: o.txt }, resources: { gpu: 3 } }
"#,
    );
    let (one, three) = (
        &f.plan.tasks[f.index("one")],
        &f.plan.tasks[f.index("three")],
    );
    let mut slots = Slots {
        cpus: 3,
        gpus: [0, 1].into(),
        total_gpus: 2,
    };
    assert_eq!(slots.grant(one, 8), Grant::Run(2, vec![0]));
    assert_eq!(slots.grant(one, 8), Grant::Wait, "one CPU slot left");
    assert_eq!(slots.grant(three, 8), Grant::Never);
    slots.release((2, vec![0]));
    assert_eq!(slots.grant(one, 1), Grant::Run(1, vec![0]), "capped at -j");
    assert_eq!(slots.grant(one, 1), Grant::Run(1, vec![1]));
    assert_eq!(slots.grant(one, 1), Grant::Wait, "no GPU left");

    let mut cpu_only = Slots {
        cpus: 1,
        gpus: BTreeSet::new(),
        total_gpus: 0,
    };
    assert_eq!(
        cpu_only.grant(three, 1),
        Grant::Run(1, vec![]),
        "without --gpus a task that can run on the CPU does"
    );
}

#[test]
fn a_task_needing_more_gpus_than_the_run_has_fails_at_once() {
    let f = Fixture::new(
        r#"
name: big
stages:
  big: { cmd: [touch, "${outputs.out}"], outputs: { out: o.txt }, resources: { gpu: 2 } }
"#,
    );
    let rec = Recorder::default();
    let mut reporter = rec.clone();
    let mut opts = options(1, false);
    opts.gpus = vec![0];
    let (mut run, _rx) = Run::new(&f.plan, &f.cache, &opts, &mut reporter);
    run.launch_ready();
    assert_eq!(rec.take(), ["planned 1 0", "finished big failed"]);
    assert_eq!(
        run.results[0].message,
        "needs 2 GPUs but only 1 are available (--gpus)"
    );
    assert!(run.stopping && run.is_over());
}
