//! One function per `pipe` command.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::{results, ExecutorArgs, PlanArgs};
use crate::cache::{self, Cache};
use crate::error::{ErrorKind, PipeError};
use crate::exec::{self, RunOptions, TaskStatus};
use crate::explain;
use crate::key::DigestMemo;
use crate::plan::{self, DagFormat, Plan, PlanOptions, Source};
use crate::record::{self, RecordRow};
use crate::reporter;
use crate::spec::{parse_set, Pipeline};

/// Loads and plans the pipeline named by `args`, digesting inputs through the cache's memo.
fn load_plan(cache: &Cache, args: &PlanArgs) -> Result<Plan, PipeError> {
    let pipeline = Pipeline::load(&args.file)?;
    let sets = args
        .sets
        .iter()
        .map(|s| parse_set(s).map_err(PipeError::invalid))
        .collect::<Result<Vec<_>, _>>()?;
    let options = PlanOptions {
        profile: args.profile.clone(),
        sets,
        max_tasks: args.max_tasks,
    };
    let mut memo = DigestMemo::load(&cache.memo_path());
    let plan = plan::plan(pipeline, &options, &mut memo)?;
    memo.save();
    Ok(plan)
}

fn check_force(plan: &Plan, force: &[String]) -> Result<HashSet<String>, PipeError> {
    for stage in force {
        if !plan.pipeline.stages.contains_key(stage) {
            let names = plan.pipeline.stages.keys().map(String::as_str);
            return Err(PipeError::invalid(format!(
                "--force {stage}: no such stage{}",
                crate::spec::nearest(stage, names)
                    .map(|n| format!(" (did you mean '{n}'?)"))
                    .unwrap_or_default()
            )));
        }
    }
    Ok(force.iter().cloned().collect())
}

fn parse_gpus(arg: Option<&str>) -> Result<Vec<usize>, PipeError> {
    match arg {
        None => Ok(exec::visible_gpus()),
        Some("none") | Some("") => Ok(Vec::new()),
        Some(list) => list
            .split(',')
            .map(|d| {
                d.trim().parse::<usize>().map_err(|_| {
                    PipeError::invalid(format!(
                        "--gpus '{list}': expected GPU ids like 0,1,2 or 'none'"
                    ))
                })
            })
            .collect(),
    }
}

/// The options of `pipe run` that are not the plan's or the executor's.
pub struct RunArgs<'a> {
    /// `-j`.
    pub jobs: Option<usize>,
    /// `--gpus`.
    pub gpus: Option<&'a str>,
    /// `--keep-going`.
    pub keep_going: bool,
    /// `--force STAGE`.
    pub force: Vec<String>,
    /// `--no-confine`.
    pub no_confine: bool,
    /// `-v`.
    pub verbose: bool,
}

/// `pipe run`.
pub fn run(
    cache_dir: &Path,
    args: &PlanArgs,
    run: RunArgs,
    executor: &ExecutorArgs,
) -> Result<i32, PipeError> {
    let RunArgs {
        jobs,
        gpus,
        keep_going,
        force,
        no_confine,
        verbose,
    } = run;
    let cache = Cache::open(cache_dir)?;
    let mut plan = load_plan(&cache, args)?;
    if no_confine {
        plan.unconfine();
    }
    let executor = executor.resolve(&plan.pipeline, args.profile.as_deref())?;
    let options = RunOptions {
        jobs: jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        gpus: parse_gpus(gpus)?,
        keep_going,
        force: check_force(&plan, &force)?,
        executor,
    };
    let run_id = run_id();
    let started = std::time::Instant::now();
    let mut reporter = reporter::for_stderr(verbose);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PipeError::env(format!("cannot start the scheduler: {e}")))?;
    let (results, interrupted) =
        runtime.block_on(exec::execute(&plan, &cache, &options, reporter.as_mut()));
    reporter.finish();

    let host = crate::host_name();
    let rows = plan.tasks.iter().zip(&results).map(|(t, r)| RecordRow {
        run_id: run_id.clone(),
        pipeline: plan.pipeline.name.clone(),
        task: t.id.clone(),
        stage: t.stage.to_string(),
        key: t.key.clone(),
        status: r.status.as_str().to_string(),
        cache_hit: r.status == TaskStatus::Cached,
        start: r.start,
        end: r.end,
        seconds: if r.end > r.start {
            r.end - r.start
        } else {
            0.0
        },
        exit_code: r.exit_code,
        devices: r
            .devices
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(","),
        host: host.clone(),
        attempts: r.attempts as i32,
        job_id: r.job_id.clone(),
    });
    record::write_run(&cache.records_dir(), &run_id, rows)?;
    let computed_any = results.iter().any(|r| r.status == TaskStatus::Ran);
    explain::save_index(&cache, &plan, computed_any);

    let count = |s: TaskStatus| results.iter().filter(|r| r.status == s).count();
    let (ran, cached, failed, skipped) = (
        count(TaskStatus::Ran),
        count(TaskStatus::Cached),
        count(TaskStatus::Failed),
        count(TaskStatus::Skipped),
    );
    let elapsed = started.elapsed().as_secs_f64();
    if interrupted {
        return Err(PipeError {
            kind: ErrorKind::Interrupted,
            message: format!(
                "interrupted after {elapsed:.1}s: {ran} ran, nothing partial was published; run again to resume"
            ),
        });
    }
    if failed > 0 {
        return Err(PipeError {
            kind: ErrorKind::TaskFailed,
            message: format!(
                "{failed} task(s) failed, {ran} ran, {cached} cached, {skipped} skipped; logs: pipe show {} TASK",
                args.file.display()
            ),
        });
    }
    let results_dir = results::publish(&plan, &cache)?;
    eprintln!(
        "{}: {ran} ran, {cached} cached in {elapsed:.2}s; results in {}",
        plan.pipeline.name,
        results_dir.display()
    );
    // The process ends next: freeing every task one by one would cost more than the rest of a
    // no-op run's bookkeeping.
    std::mem::forget(plan);
    Ok(0)
}

fn run_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_millis(now)
        .to_string()
        .replace([':', '.'], "");
    format!("{stamp}-{}", std::process::id())
}

/// `pipe status`.
pub fn status(cache_dir: &Path, args: &PlanArgs, force: Vec<String>) -> Result<i32, PipeError> {
    let cache = Cache::open(cache_dir)?;
    let plan = load_plan(&cache, args)?;
    let force = check_force(&plan, &force)?;
    let states = explain::explain(&plan, &cache, &force);
    let width = plan.tasks.iter().map(|t| t.id.len()).max().unwrap_or(4);
    let mut out = String::new();
    for (t, s) in plan.tasks.iter().zip(&states) {
        out.push_str(&format!("{:<10} {:<width$}  {}\n", s.state, t.id, s.reason));
    }
    let n = |state: &str| states.iter().filter(|s| s.state == state).count();
    out.push_str(&format!(
        "{}: {} tasks: {} cached, {} to run, {} not needed\n",
        plan.pipeline.name,
        plan.tasks.len(),
        n("cached"),
        n("run"),
        n("not-needed")
    ));
    print!("{out}");
    std::mem::forget(plan);
    Ok(0)
}

/// `pipe dag`.
pub fn dag(cache_dir: &Path, args: &PlanArgs, format: DagFormat) -> Result<i32, PipeError> {
    let cache = Cache::open(cache_dir)?;
    let plan = load_plan(&cache, args)?;
    print!("{}", plan::render_dag(&plan, format));
    Ok(0)
}

/// `pipe show`.
pub fn show(cache_dir: &Path, args: &PlanArgs, task: &str) -> Result<i32, PipeError> {
    let cache = Cache::open(cache_dir)?;
    let plan = load_plan(&cache, args)?;
    let i = plan
        .find(task)
        .or_else(|| {
            let of_stage: Vec<usize> = (0..plan.tasks.len())
                .filter(|&i| &*plan.tasks[i].stage == task)
                .collect();
            (of_stage.len() == 1).then(|| of_stage[0])
        })
        .ok_or_else(|| {
            let ids = plan.tasks.iter().map(|t| t.id.as_str());
            PipeError::invalid(format!(
                "no task '{task}'{}; list them with: pipe status {}",
                crate::spec::nearest(task, ids)
                    .map(|n| format!(" (did you mean '{n}'?)"))
                    .unwrap_or_default(),
                args.file.display()
            ))
        })?;
    let t = &plan.tasks[i];
    let cached = cache.contains(&t.key);
    println!("task:    {}", t.id);
    println!("stage:   {} (kind {})", t.stage, t.kind_name());
    println!("key:     {}", t.key);
    println!("state:   {}", if cached { "cached" } else { "not cached" });
    println!(
        "params:  {}",
        serde_json::to_string_pretty(&t.params()).unwrap_or_default()
    );
    println!("inputs:");
    for (port, sources) in &t.inputs {
        for s in sources {
            match s {
                Source::Task { task, output } => {
                    let up = &plan.tasks[*task];
                    println!(
                        "  {port}: {}.{output} -> {}",
                        up.id,
                        cache.output_path(&up.key, &up.outputs[output]).display()
                    )
                }
                Source::File(p) => println!("  {port}: {}", p.display()),
            }
        }
    }
    println!("outputs:");
    for (name, rel) in t.outputs.iter() {
        println!("  {name}: {}", cache.output_path(&t.key, rel).display());
    }
    let log = if cached {
        let m = cache.manifest(&t.key)?;
        println!(
            "ran:     {:.1}s on {} ({}), finished {}",
            m.finished - m.started,
            m.host,
            reporter::device_label(&m.devices),
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(m.finished.max(0.0))
            )
        );
        cache.entry_dir(&t.key).join("log.txt")
    } else {
        cache.failed_log(&t.key)
    };
    match std::fs::read_to_string(&log) {
        Ok(text) if !text.is_empty() => {
            println!("log ({}):", log.display());
            print!("{text}");
        }
        _ => println!("log:     (none)"),
    }
    Ok(0)
}

/// `pipe runs`.
pub fn runs(cache_dir: &Path, last: usize, run: Option<&str>) -> Result<i32, PipeError> {
    let cache = Cache::existing(cache_dir)?;
    let rows = record::read_all(&cache.records_dir())?;
    if let Some(run) = run {
        let tasks: Vec<&RecordRow> = rows.iter().filter(|r| r.run_id == run).collect();
        if tasks.is_empty() {
            return Err(PipeError::invalid(format!(
                "no run '{run}'; list runs with: pipe runs"
            )));
        }
        for r in tasks {
            println!(
                "{:<12} {:<40} {:>8.1}s  {}",
                r.status,
                r.task,
                r.seconds,
                if r.devices.is_empty() {
                    "cpu".to_string()
                } else {
                    format!("gpu {}", r.devices)
                }
            );
        }
        return Ok(0);
    }
    let mut by_run: BTreeMap<&str, Vec<&RecordRow>> = BTreeMap::new();
    for r in &rows {
        by_run.entry(r.run_id.as_str()).or_default().push(r);
    }
    println!(
        "{:<32} {:<20} {:>6} {:>6} {:>6} {:>6} {:>9}",
        "run", "pipeline", "tasks", "ran", "cached", "failed", "seconds"
    );
    let skip = by_run.len().saturating_sub(last);
    for (id, tasks) in by_run.iter().skip(skip) {
        let n = |s: &str| tasks.iter().filter(|r| r.status == s).count();
        let start = tasks
            .iter()
            .map(|r| r.start)
            .filter(|s| *s > 0.0)
            .fold(f64::MAX, f64::min);
        let end = tasks.iter().map(|r| r.end).fold(0.0, f64::max);
        let secs = if end > start { end - start } else { 0.0 };
        println!(
            "{:<32} {:<20} {:>6} {:>6} {:>6} {:>6} {:>9.1}",
            id,
            tasks[0].pipeline,
            tasks.len(),
            n("ran"),
            n("cached"),
            n("failed"),
            secs
        );
    }
    Ok(0)
}

/// `pipe gc`.
pub fn gc(cache_dir: &Path, files: &[std::path::PathBuf], dry_run: bool) -> Result<i32, PipeError> {
    let cache = Cache::open(cache_dir)?;
    let mut keep = HashSet::new();
    for file in files {
        let plan = load_plan(
            &cache,
            &PlanArgs {
                file: file.clone(),
                sets: vec![],
                profile: None,
                max_tasks: plan::DEFAULT_MAX_TASKS,
            },
        )?;
        keep.extend(plan.tasks.iter().map(|t| t.key.clone()));
    }
    let report = cache::gc(&cache, &keep, dry_run)?;
    println!(
        "{} {} entries ({:.1} MB) and {} leftovers of interrupted tasks",
        if dry_run { "would remove" } else { "removed" },
        report.entries.len(),
        report.bytes as f64 / 1e6,
        report.leftovers
    );
    Ok(0)
}

/// `pipe verify`.
pub fn verify(
    cache_dir: &Path,
    files: &[std::path::PathBuf],
    remove: bool,
) -> Result<i32, PipeError> {
    let cache = Cache::open(cache_dir)?;
    let keys: Option<Vec<String>> = if files.is_empty() {
        None
    } else {
        let mut keys = Vec::new();
        for file in files {
            let plan = load_plan(
                &cache,
                &PlanArgs {
                    file: file.clone(),
                    sets: vec![],
                    profile: None,
                    max_tasks: plan::DEFAULT_MAX_TASKS,
                },
            )?;
            keys.extend(plan.tasks.iter().map(|t| t.key.clone()));
        }
        Some(keys)
    };
    let (checked, damaged) = cache::verify(&cache, keys.as_deref())?;
    for d in &damaged {
        println!("damaged {}: {}", d.key, d.problem);
        if remove {
            let _ = std::fs::remove_dir_all(cache.entry_dir(&d.key));
        }
    }
    println!("checked {checked} entries: {} damaged", damaged.len());
    Ok(if damaged.is_empty() || remove { 0 } else { 1 })
}

/// `pipe kinds`.
pub fn kinds() -> Result<i32, PipeError> {
    for kind in crate::kinds::registry().kinds() {
        println!("{} (v{}): {}", kind.name(), kind.version(), kind.about());
        for p in kind.inputs() {
            println!(
                "    in  {}{}{}: {}",
                p.name,
                if p.many { "[*]" } else { "" },
                if p.required { "" } else { " (optional)" },
                p.doc
            );
        }
        for p in kind.outputs() {
            println!("    out {} ({}): {}", p.name, p.path, p.doc);
        }
        if kind.needs_network() {
            println!("    needs the network");
        }
    }
    println!("cmd: an external command (argv, no shell); see the README");
    Ok(0)
}
