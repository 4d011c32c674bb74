#!/usr/bin/env python3
"""Times pipe, Snakemake and DVC on the shapes of gen.py and writes a Markdown table (run.sh calls this).

For each shape and tool, in a fresh folder:
  cold    the first run, every task computed (`pipe run -j 2`, `snakemake --cores 2`, `dvc repro`)
  no-op   the same command again, nothing to do (median of up to 3)
  status  what would run, without running (`pipe status`, `snakemake -n`, `dvc status`; median of up to 3)
Every command runs under a wall-clock limit; a run that hits it is reported as "> limit" with how many
tasks it finished, never dropped. When Snakemake's cold run does not finish, this script writes its
missing outputs (the same bytes its commands write) so that its no-op run is still timed on a complete
state; the table says so. DVC's no-op is only timed after a finished cold run (completing its state
would take a `dvc commit` about as slow as the run). Planning time is `pipe dag` on 1k, 10k and 100k
tasks. Results are kept per shape and tool in the work folder (SHAPE/TOOL.json), so a run that stops
can be resumed with the same --work.

Usage: measure.py --pipe BIN --venv VENV --work DIR --out results.md
"""

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

import gen

COLD_LIMIT = {"study": 300, "1000": 300, "10000": 900, "100000": 1800}
# Limits (seconds) of one peer run, cold, no-op or status, where the default would blow the time budget.
PEER_LIMIT = {"snakemake": {"10000": 150, "100000": 300}, "dvc": {"1000": 90, "10000": 45}}
# Shapes a tool is not run on at all (DVC: its 10,000-task run already stops at its limit).
SKIP = {"dvc": {"100000"}}
REPEAT_LIMIT = 120  # default limit of one no-op or status run
SLOW = 20  # a command slower than this many seconds is timed once, not three times


class Timing:
    """One measurement: wall and CPU `times` / `cpu` (seconds) and peak resident memory `rss` (bytes, of
    the command or its largest child), or `limit` (and tasks `done`) when a run hit its limit; `note`
    marks a no-op timed on a state this script completed."""

    def __init__(self, times=(), limit=None, done=None, note="", cpu=(), rss=(), lines=None):
        self.times = list(times)
        self.cpu = list(cpu)
        self.rss = list(rss)
        self.lines = lines  # lines the command printed (pipe's no-op run), when counted
        self.limit = limit
        self.done = done
        self.note = note

    @property
    def value(self):
        return statistics.median(self.times) if self.times else None

    @property
    def cpu_value(self):
        return statistics.median(self.cpu) if self.cpu else None

    @property
    def rss_value(self):
        return max(self.rss) if self.rss else None


def timed(argv, cwd, limit, log):
    """Runs argv in cwd with output appended to `log`; returns (wall seconds, CPU seconds of the command
    and its children, peak RSS in bytes, finished) with the whole process group killed at `limit`.
    `wait4` gives this one command's usage: its peak RSS is the largest of it and the children it
    waited for (for pipe: the engine itself, the workers being far smaller)."""
    with open(log, "a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        expired = threading.Event()

        def kill():
            expired.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(limit, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        if expired.is_set():
            return elapsed, None, None, False
        cpu = usage.ru_utime + usage.ru_stime
        rss = usage.ru_maxrss * 1024
    if proc.returncode != 0:
        sys.exit(f"measure.py: '{' '.join(argv)}' in {cwd} exited with {proc.returncode}; see {log}")
    return elapsed, cpu, rss, True


def repeat(argv, cwd, log, limit=REPEAT_LIMIT, n=3):
    times, cpus, rss = [], [], []
    for _ in range(n):
        seconds, cpu, peak, finished = timed(argv, cwd, limit, log)
        if not finished:
            return Timing(limit=limit)
        times.append(seconds)
        cpus.append(cpu)
        rss.append(peak)
        if seconds > SLOW:
            break
    return Timing(times, cpu=cpus, rss=rss)


class Tool:
    """How one tool is driven: its cold-run, no-op and status commands."""

    def __init__(self, name, cold, noop, status):
        self.name, self.cold, self.noop, self.status = name, cold, noop, status


def tools(pipe, venv):
    snakemake = os.path.join(venv, "bin", "snakemake")
    dvc = os.path.join(venv, "bin", "dvc")
    pipe_run = [pipe, "run", "-j", "2", "--cache", "cache", "pipeline.yaml"]
    return [
        Tool("pipe", pipe_run, pipe_run, [pipe, "status", "--cache", "cache", "pipeline.yaml"]),
        Tool("snakemake", [snakemake, "--cores", "2"], [snakemake, "--cores", "2"],
             [snakemake, "--cores", "2", "-n"]),
        Tool("dvc", [dvc, "repro"], [dvc, "repro"], [dvc, "status"]),
    ]


def expected_outputs(shape):
    """The peer's output files for a shape (relative paths), in the order the tasks write them."""
    if shape == "study":
        train = [f"out/train/{a}_{f}.txt" for a in gen.ARCHS for f in range(gen.FOLDS)]
        return ["out/raw.txt", "out/ex.txt", *train, "out/table.txt", "out/tests.txt"]
    g, k = gen.layers(int(shape))
    leaves = [f"out/leaf/{j}_{i}.txt" for j in range(g) for i in range(k)]
    return leaves + [f"out/group/{j}.txt" for j in range(g)] + ["out/done.txt"]


def count_done(tool, shape, directory):
    if tool == "pipe":
        return None
    return sum(os.path.exists(os.path.join(directory, p)) for p in expected_outputs(shape))


def complete_snakemake_state(shape, directory):
    """Writes the outputs an interrupted Snakemake run left missing (the bytes its commands write), so
    that its no-op run sees a complete state (Snakemake judges by files and their times), and drops the
    lock and incomplete-file marks the killed run left."""
    for mark in ("locks", "incomplete"):
        shutil.rmtree(os.path.join(directory, ".snakemake", mark), ignore_errors=True)
    for rel in expected_outputs(shape):
        path = os.path.join(directory, rel)
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            name = os.path.basename(rel)[: -len(".txt")]
            with open(path, "w") as f:
                f.write("done\n" if rel == "out/done.txt" else f"{name}\n")
    # Every output must be newer than its inputs: touch them in task order.
    for rel in expected_outputs(shape):
        os.utime(os.path.join(directory, rel))


def bare_commands(n, work):
    """Wall time of the trivial commands alone: `sh -c 'echo i > file'` n times, 2 at a time (xargs)."""
    directory = os.path.join(work, f"bare-{n}")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    start = time.perf_counter()
    subprocess.run(["xargs", "-P", "2", "-n", "1", "sh", "-c", 'echo "$0" > "$0.txt"'],
                   input="\n".join(str(i) for i in range(n)), text=True, cwd=directory, check=True)
    return time.perf_counter() - start


def save(path, result):
    with open(path, "w") as f:
        json.dump({k: vars(t) for k, t in result.items()}, f)


def load(path):
    try:
        with open(path) as f:
            return {k: Timing(**v) for k, v in json.load(f).items()}
    except (OSError, ValueError, TypeError):
        return None


def output_lines(argv, cwd):
    """How many lines a run prints (stdout and stderr, not on a terminal)."""
    out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return len((out.stdout + out.stderr).splitlines())


def measure_shape(shape, all_tools, work, dvc):
    """Cold, no-op and status timings of every tool on one shape. A (shape, tool) already measured in
    this work folder (its TOOL.json) is not measured again: delete the folder to start over."""
    results = {}
    for tool in all_tools:
        if shape in SKIP.get(tool.name, ()):
            continue
        saved = os.path.join(work, shape, f"{tool.name}.json")
        previous = load(saved)
        if previous is not None:
            print(f"[{shape}] {tool.name}: measured before ({saved})", flush=True)
            results[tool.name] = previous
            continue
        directory = os.path.join(work, shape, tool.name)
        shutil.rmtree(directory, ignore_errors=True)
        gen.write(tool.name, shape, directory, dvc)
        log = os.path.join(directory, "bench.log")
        peer_limit = PEER_LIMIT.get(tool.name, {}).get(shape)
        limit = peer_limit or COLD_LIMIT[shape]
        print(f"[{shape}] {tool.name}: cold run (limit {limit} s)", flush=True)
        seconds, cpu, peak, finished = timed(tool.cold, directory, limit, log)
        done = count_done(tool.name, shape, directory)
        cold = (Timing([seconds], cpu=[cpu], rss=[peak]) if finished
                else Timing(limit=limit, done=done))
        repeat_limit = peer_limit or REPEAT_LIMIT
        print(f"[{shape}] {tool.name}: cold {cell(cold, gen.task_count(shape))}; no-op and status runs",
              flush=True)
        if finished:
            noop = repeat(tool.noop, directory, log, repeat_limit)
            if tool.name == "pipe":
                noop.lines = output_lines(tool.noop, directory)
        elif tool.name == "snakemake":
            complete_snakemake_state(shape, directory)
            noop = repeat(tool.noop, directory, log, repeat_limit)
            noop.note = "Snakemake's cold run hit its limit; the script wrote its missing outputs"
        else:
            # A killed `dvc repro` leaves its lock files behind, and can leave dvc.lock half written
            # (then `dvc status` refuses to run: status is timed without it, as for a fresh checkout).
            for lock in (".dvc/tmp/rwlock", ".dvc/tmp/lock"):
                path = os.path.join(directory, lock)
                if os.path.exists(path):
                    os.remove(path)
            if not dvc_lock_valid(tool.status, directory, log):
                os.remove(os.path.join(directory, "dvc.lock"))
            noop = Timing()
        status = repeat(tool.status, directory, log, repeat_limit)
        results[tool.name] = {"cold": cold, "noop": noop, "status": status}
        save(saved, results[tool.name])
        print(f"[{shape}] {tool.name}: no-op {cell(noop, 0)}, status {cell(status, 0)}", flush=True)
    return results


def dvc_lock_valid(status, directory, log):
    """Whether `dvc status` accepts the dvc.lock a stopped `dvc repro` left (it exits 1 otherwise)."""
    with open(log, "a") as out:
        out.write(f"$ {' '.join(status)}  (is dvc.lock valid?)\n")
        out.flush()
        try:
            rc = subprocess.run(status, cwd=directory, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, timeout=REPEAT_LIMIT).returncode
        except subprocess.TimeoutExpired:
            rc = 0  # slow, not refused: the timed runs report it
    return rc == 0 or not os.path.exists(os.path.join(directory, "dvc.lock"))


def planning(pipe, work):
    """`pipe dag` (parse, expand, resolve, key; no cache lookups) for 1k, 10k and 100k tasks."""
    rows = []
    for n in (1000, 10000, 100000):
        directory = os.path.join(work, "plan", str(n))
        shutil.rmtree(directory, ignore_errors=True)
        gen.write("pipe", str(n), directory)
        argv = [pipe, "dag", "--cache", "cache", "pipeline.yaml"]
        t = repeat(argv, directory, os.path.join(directory, "bench.log"))
        rows.append((n, t))
    return rows


def fmt(seconds):
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"
    return f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def cell(t, n_tasks):
    if t.limit is not None:
        text = f"> {t.limit} s"
        if t.done is not None:
            text += f" ({t.done}/{n_tasks} done)"
        return text
    text = fmt(t.value)
    if t.cpu_value is not None:
        text += f" / {fmt(t.cpu_value)}"
    if t.rss_value is not None:
        text += f", {t.rss_value / 2**20:.0f} MiB"
    if len(t.times) > 1:
        text += f" (×{len(t.times)})"
    if t.note:
        text += "¹"
    return text


def ratio(peer, mine):
    """How many times faster pipe is; a lower bound when the peer hit its limit (none when the limit
    is below twice pipe's time: the bound would say nothing)."""
    if mine.value is None or mine.value == 0:
        return "—"
    if peer.limit is not None:
        bound = peer.limit / mine.value
        return f"> {bound:.0f}×" if bound >= 2 else "— (peer hit its limit)"
    if peer.value is None:
        return "—"
    r = peer.value / mine.value
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"


def per_task(t, n_tasks, bare):
    """Wall time per task of a cold run, and the part above the bare commands (per task)."""
    if t.limit is not None:
        if t.done:
            return f"≈ {t.limit / t.done * 1000:.0f} ms (partial)"
        return "—"
    total = t.value / n_tasks * 1000
    if bare is None:
        return f"{total:.1f} ms"
    return f"{total:.1f} ms ({(t.value - bare) / n_tasks * 1000:.1f})"


def render(shapes, results, bare, plan_rows, env):
    lines = [
        "# Engine benchmark: pipe vs Snakemake vs DVC",
        "",
        f"Measured {env['date']} on {env['host']}: {env['cpus']} CPUs (shared with other builds; load "
        f"average {env['load']} at the start), {env['python']}, pipe {env['pipe']}, "
        f"Snakemake {env['snakemake']}, DVC {env['dvc']}. All runs use 2 job slots (`pipe run -j 2`, "
        "`snakemake --cores 2`; `dvc repro` runs stages one at a time, it has no parallel mode). "
        "Every task is the same shell one-liner in all three tools (see `gen.py`). Times are wall "
        "clock / CPU (user + system of the command and its children: what the machine's other load "
        "cannot inflate), then the peak resident memory (MiB) of the tool's own process; no-op and status "
        "are the median of 3 runs (×n) unless a run took over 20 s. 100,000 tasks: pipe and Snakemake "
        "(within its limit) only.",
        "",
        "| shape | tasks | tool | cold run | per task, cold (above bare `sh`) | no-op re-run | status / dry-run |"
        " cold: pipe faster by | no-op: pipe faster by | status: pipe faster by |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = set()
    for shape in shapes:
        n_tasks = gen.task_count(shape)
        mine = results[shape]["pipe"]
        for tool, r in results[shape].items():
            if r["noop"].note:
                notes.add(r["noop"].note)
            ratios = ["", "", ""] if tool == "pipe" else [
                ratio(r[k], mine[k]) for k in ("cold", "noop", "status")]
            lines.append(
                f"| {shape} | {n_tasks} | {tool} | {cell(r['cold'], n_tasks)} | "
                f"{per_task(r['cold'], n_tasks, bare.get(shape))} | {cell(r['noop'], n_tasks)} | "
                f"{cell(r['status'], n_tasks)} | {' | '.join(ratios)} |")
    lines.append("")
    for note in sorted(notes):
        lines.append(f"¹ {note}, so its no-op run is timed on the complete state.")
    printed = [(shape, results[shape]["pipe"]["noop"].lines) for shape in shapes
               if results[shape]["pipe"]["noop"].lines is not None]
    if printed:
        lines.append("pipe's no-op run, not on a terminal, prints "
                     + ", ".join(f"{n} lines at {gen.task_count(shape):,} tasks" for shape, n in printed)
                     + " (`-v` lists every cached task).")
    lines.append("A no-op is not timed (—) where the cold run did not finish (DVC); status is then timed on "
                 "the state the cold run left (without its dvc.lock where the stopped run left that file half "
                 "written and `dvc status` refused it).")
    lines.append("")
    if bare:
        bare_text = ", ".join(f"{k} tasks {fmt(v)}" for k, v in bare.items())
        lines += [f"Bare commands (the same one-liners run by `xargs -P 2`, no engine): {bare_text}.", ""]
    lines += [
        "## Planning (`pipe dag`: parse, expand the matrix, resolve references, compute every key)",
        "",
        "| tasks | wall | CPU | CPU per task |",
        "|---:|---:|---:|---:|",
    ]
    for n, t in plan_rows:
        lines.append(f"| {n} | {fmt(t.value)} | {fmt(t.cpu_value)} | {t.cpu_value / n * 1e6:.1f} µs |")
    lines.append("")
    return "\n".join(lines)


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.split()[-1] if out else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipe", required=True, help="the pipe binary")
    ap.add_argument("--venv", required=True, help="venv with snakemake and dvc (setup.sh)")
    ap.add_argument("--work", required=True, help="scratch folder (emptied per shape and tool)")
    ap.add_argument("--out", required=True, help="Markdown file to write")
    ap.add_argument("--shapes", default="study,1000,10000,100000")
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    for s in shapes:
        if s not in COLD_LIMIT:
            sys.exit(f"measure.py: --shapes: '{s}' is not one of {', '.join(COLD_LIMIT)}")
    pipe = os.path.abspath(args.pipe)
    work = os.path.abspath(args.work)
    all_tools = tools(pipe, args.venv)
    dvc = all_tools[2].cold[0]
    env = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "host": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "load": f"{os.getloadavg()[0]:.1f}",
        "python": f"Python {platform.python_version()}",
        "pipe": tool_version([pipe, "--version"]),
        "snakemake": tool_version([all_tools[1].cold[0], "--version"]),
        "dvc": tool_version([dvc, "--version"]),
    }
    results = {}
    for shape in shapes:
        results[shape] = measure_shape(shape, all_tools, work, dvc)
    bare = {s: bare_commands(gen.task_count(s), work) for s in shapes if s != "study"}
    print("planning: pipe dag on 1k, 10k, 100k tasks", flush=True)
    plan_rows = planning(pipe, work)
    table = render(shapes, results, bare, plan_rows, env)
    with open(args.out, "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
