#!/usr/bin/env bash
# The Slurm benchmark: pipe (--executor slurm) against Snakemake with snakemake-executor-plugin-slurm on
# the same cluster, on the 34-task study shape and on 1,000 trivial tasks (the shapes of
# bench/engine/gen.py). For each tool and shape, in a fresh folder: the wall time of the cold run (every
# task one Slurm job) and every Slurm command it called, counted by wrapper scripts put first on PATH
# (sbatch, squeue, sacct, scontrol, scancel, sinfo, srun, sacctmgr; each logs its call, then runs the
# real one). PATH reaches the jobs too (sbatch exports the environment), so calls made inside jobs
# (Snakemake's `srun`) are counted as well. Writes bench/slurm/results.md.
#
# Needs a running cluster (scripts/slurm-test-cluster start --accounting: the plugin asks sacct by
# default). Both tools run with their default settings except: pipe's poll interval is also measured at
# 1 s, Snakemake gets --jobs 100 (pipe's default --max-jobs) and the partition.
#   CARGO_TARGET_DIR  where cargo builds (default: target/ of the repository)
#   SLURM_BENCH_VENV  venv made by setup.sh (default ~/.cache/pipe/slurm-bench-venv)
#   BENCH_WORK        scratch folder (default: a new temporary folder, removed at the end)
#   BENCH_SHAPES      comma-separated subset of study,1000 (default: both)
#   BENCH_TOOLS       comma-separated subset of pipe,pipe-poll1,snakemake (default: all)
#   BENCH_LIMIT       seconds one run may take before it is stopped (default 1800)
#   PIPE_BIN          a pipe binary to measure instead of building one (release, no torch)
# With the same BENCH_WORK, runs of other shapes or tools add to the table instead of replacing it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${SLURM_BENCH_VENV:-$HOME/.cache/pipe/slurm-bench-venv}"
target="${CARGO_TARGET_DIR:-$root/target}"
limit="${BENCH_LIMIT:-1800}"
IFS=, read -r -a shapes <<<"${BENCH_SHAPES:-study,1000}"
IFS=, read -r -a tools <<<"${BENCH_TOOLS:-pipe,pipe-poll1,snakemake}"

timeout 5 scontrol ping | grep -q UP || {
    echo "no Slurm controller answers; start one with scripts/slurm-test-cluster start --accounting" >&2
    exit 1
}
"$here/setup.sh"

work="${BENCH_WORK:-}"
if [[ -z "$work" ]]; then
    work="$(mktemp -d -t pipe-slurm-bench.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
# A private copy on a path the (single) compute node sees, so a rebuild cannot change what is measured.
if [[ " ${tools[*]} " == *" pipe"* ]]; then
    if [[ -z "${PIPE_BIN:-}" ]]; then
        (cd "$root" && cargo build --release --no-default-features --bin pipe)
        PIPE_BIN="$target/release/pipe"
    fi
    cp "$PIPE_BIN" "$work/pipe"
fi

# The wrappers: log "<tool> <args>" to $SLURM_CALL_LOG, then run the real command.
mkdir -p "$work/wrappers"
for tool in sbatch squeue sacct scontrol scancel sinfo srun sacctmgr; do
    real="$(command -v "$tool" || true)"
    [[ -n "$real" ]] || continue
    cat >"$work/wrappers/$tool" <<EOF
#!/bin/sh
[ -n "\$SLURM_CALL_LOG" ] && echo "$tool \$*" >>"\$SLURM_CALL_LOG"
exec $real "\$@"
EOF
    chmod +x "$work/wrappers/$tool"
done

for shape in "${shapes[@]}"; do
    for tool in "${tools[@]}"; do
        dir="$work/$shape/$tool"
        rm -rf "$dir" && mkdir -p "$(dirname "$dir")"
        case "$tool" in
            pipe*) python3 "$root/bench/engine/gen.py" pipe "$shape" "$dir" >/dev/null ;;
            snakemake) python3 "$root/bench/engine/gen.py" snakemake "$shape" "$dir" >/dev/null ;;
        esac
        case "$tool" in
            pipe) cmd=("$work/pipe" run pipeline.yaml --executor slurm) ;;
            pipe-poll1) cmd=("$work/pipe" run pipeline.yaml --executor slurm --slurm-poll 1) ;;
            snakemake) cmd=("$venv/bin/snakemake" --executor slurm --jobs 100
                --default-resources slurm_partition=debug --latency-wait 10) ;;
        esac
        echo "== $shape $tool: ${cmd[*]}"
        log="$dir/calls.log"
        : >"$log"
        start=$(date +%s.%N)
        set +e
        (cd "$dir" && SLURM_CALL_LOG="$log" PIPE_CACHE="$dir/cache" PATH="$work/wrappers:$PATH" \
            timeout -k 60 "$limit" "${cmd[@]}" >"$dir/out.txt" 2>&1)
        rc=$?
        set -e
        end=$(date +%s.%N)
        seconds=$(python3 -c "print(f'{$end - $start:.1f}')")
        count() { grep -c "^$1 " "$log" || true; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$shape" "$tool" "$rc" "$seconds" \
            "$(count sbatch)" "$(( $(count squeue) + $(count sacct) ))" \
            "$(( $(count scontrol) + $(count scancel) + $(count sinfo) + $(count sacctmgr) ))" \
            "$(count srun)" "$(wc -l <"$log")" | tee "$dir/row.tsv"
        # Nothing of this run may linger in the queue before the next one starts: a run stopped at the
        # limit may leave jobs behind (Snakemake waits for its running jobs when stopped).
        if [[ $rc == 124 || $rc == 137 ]]; then
            squeue -h -o "%i %Z" | awk -v d="$dir" 'index($2, d) == 1 { print $1 }' | xargs -r scancel
        fi
        while [[ -n "$(squeue -h -o %i)" ]]; do sleep 1; done
    done
done

python3 - "$work" "$here/results.md" "$limit" <<'PY'
import datetime, os, platform, subprocess, sys
rows = []
for shape in ["study", "1000"]:
    for tool in ["pipe", "pipe-poll1", "snakemake"]:
        path = os.path.join(sys.argv[1], shape, tool, "row.tsv")
        if os.path.exists(path):
            rows.append(open(path).read().rstrip("\n").split("\t"))
limit = sys.argv[3]
tasks = {"study": 34, "1000": 1000}
def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return "?"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
out = [
    "# Slurm benchmark: pipe vs Snakemake (snakemake-executor-plugin-slurm)",
    "",
    f"Measured {datetime.date.today()} by `bench/slurm/run.sh` on {platform.node()}: {os.cpu_count()} cores ({cpu}),",
    f"{version(['sinfo', '--version'])}, the one-node test cluster of `scripts/slurm-test-cluster start --accounting`",
    "(8 CPU slots, 2 real cores, accounting in MariaDB). Cold runs, every task one Slurm job; Slurm calls",
    "counted by wrappers first on PATH (inside the jobs too).",
    "",
    "| shape | tasks | tool | exit | seconds | sbatch | squeue + sacct | other (scontrol, scancel, sinfo, sacctmgr) | srun (in jobs) | all calls |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
]
# A run stopped at the limit: how many of its tasks had finished (outputs written).
outputs = {}
for shape, tool, rc, *_ in rows:
    if rc in ("124", "137"):
        d = os.path.join(sys.argv[1], shape, tool, "out")
        n = sum(len(f) for _, _, f in os.walk(d)) if os.path.isdir(d) else 0
        outputs[(shape, tool)] = f" with {n} of {tasks.get(shape, '?')} tasks done"
names = {"pipe": "pipe (poll 5 s, default)", "pipe-poll1": "pipe --slurm-poll 1",
         "snakemake": "Snakemake 9.27.1 + plugin 2.8.0 (defaults)"}
for shape, tool, rc, secs, sb, q, other, srun, total in rows:
    done = outputs.get((shape, tool), "")
    shown = secs if rc not in ("124", "137") else f"> {limit}, stopped{done}"
    out.append(f"| {shape} | {tasks.get(shape, '?')} | {names.get(tool, tool)} | {rc} | {shown} | {sb} | {q} | {other} | {srun} | {total} |")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
echo "wrote $here/results.md"
