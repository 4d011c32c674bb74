#!/usr/bin/env bash
# The evaluate benchmark: a simulated whole-genome-sized pair (4 million truth records of SNPs and
# short indels on 10 contigs of 100 Mb, a query with 1% of them changed) made by the evaluate_data
# example, then `pipe run` of one evaluate stage timed with /usr/bin/time on 2 cores (taskset).
# Target: under 2 CPU-minutes (user + sys).
#   CARGO_TARGET_DIR  where cargo builds (default: target/ of the repository)
#   BENCH_WORK        scratch folder (default: a new temporary folder, removed at the end); about 2 GB
#   BENCH_RECORDS     truth records (default 4000000)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
records="${BENCH_RECORDS:-4000000}"

(cd "$root" && cargo build --release -p pipe-cli --bin pipe && cargo build --release -p pipe-stages --example evaluate_data)

work="${BENCH_WORK:-}"
if [[ -z "$work" ]]; then
    work="$(mktemp -d -t pipe-evaluate-bench.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
cp "$target/release/pipe" "$work/pipe"

echo "generating $records truth records in $work"
"$target/release/examples/evaluate_data" "$work/data" "$records"

cat > "$work/bench.yaml" <<YAML
name: evaluate-bench
stages:
  eval:
    kind: evaluate
    inputs:
      truth: { file: data/truth.vcf.gz }
      confident: { file: data/confident.bed }
      reference: { file: data/ref.fa }
      query: { file: data/query.vcf }
results:
  summary: eval.summary
YAML

cd "$work"
rm -rf cache results
export PIPE_CACHE="$work/cache"
pin=()
if command -v taskset > /dev/null; then pin=(taskset -c 0,1); fi
/usr/bin/time -v "${pin[@]}" ./pipe run bench.yaml 2> time.txt || { cat time.txt; exit 1; }
grep -E "User time|System time|Elapsed|Maximum resident" time.txt
awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "CPU time: %.1f s (target < 120 s)\n", u + s}' time.txt
cat results/evaluate-bench/summary
