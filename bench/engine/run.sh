#!/usr/bin/env bash
# The engine benchmark: pipe vs Snakemake vs DVC on the study shape and on 1,000 and 10,000 trivial tasks
# (cold run, no-op re-run, status / dry-run, planning time), and pipe (Snakemake within its limit) on
# 100,000; wall, CPU and peak RSS. Writes bench/engine/results.md.
#   CARGO_TARGET_DIR  where cargo builds (default: target/ of the repository)
#   BENCH_VENV        venv with Snakemake and DVC, made by setup.sh (default ~/.cache/pipe/bench-venv)
#   BENCH_WORK        scratch folder (default: a new temporary folder, removed at the end)
#   BENCH_SHAPES      comma-separated subset of study,1000,10000,100000 (default: all)
# Takes about 20 minutes on 2 cores, most of it in Snakemake's and DVC's runs (their limits are in
# measure.py).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${BENCH_VENV:-$HOME/.cache/pipe/bench-venv}"
target="${CARGO_TARGET_DIR:-$root/target}"

"$here/setup.sh"
(cd "$root" && cargo build --release --no-default-features --bin pipe)

work="${BENCH_WORK:-}"
if [[ -z "$work" ]]; then
    work="$(mktemp -d -t pipe-bench.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
# A private copy, so a rebuild of the shared target folder during the run cannot change what is measured.
cp "$target/release/pipe" "$work/pipe"

python3 "$here/measure.py" --pipe "$work/pipe" --venv "$venv" --work "$work" \
    --out "$here/results.md" --shapes "${BENCH_SHAPES:-study,1000,10000,100000}"
echo "wrote $here/results.md"
