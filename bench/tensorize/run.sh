#!/usr/bin/env bash
# Tensorize benchmark: the `tensorize` stage (DeepVariant's defaults: realigner on, 100x221 pileups, 7
# channels) on simulated 30x genomes of several sizes, one worker thread, in genome kilobases and examples
# per CPU-second and peak RSS, against DeepVariant's published whole-genome make_examples rates with its
# realigner (HG003, 35x; DeepVariant's metrics pages): 1.5 about 7.8 kb of genome per second per core
# (103 minutes on 64 vCPUs), 1.10 about 11.6 kb/s per core (46 minutes on 96 vCPUs). The issue's target is
# 3x DeepVariant 1.10 (35 kb/s per core) and a peak RSS that does not grow with the genome. Writes
# bench/tensorize/results.md.
#
#   bench/tensorize/run.sh [--sizes 1000000,10000000] [--out FILE]
#
# Steps per size: `pipe run bench/tensorize/pipeline.yaml` simulates the genome (not timed); then
# `/usr/bin/time -v tensorize_throughput --threads 1 --runs 1` tensorizes every confident region with the
# realigner, and once more with `--realign false` for the realigner's share.
set -euo pipefail
cmdline="bench/tensorize/run.sh $*"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

sizes=1000000,10000000 out="$here/results.md"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) sizes="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done

(cd "$root" && cargo build --release --bin pipe &&
    cargo build --release -p pipe-stages --example tensorize_throughput)
work="$(mktemp -d -t pipe-tensorize-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# Private copies, so a rebuild of the shared target folder during the run cannot change what is measured.
cp "$target/release/pipe" "$target/release/examples/tensorize_throughput" "$work/"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# One tensorize run: prints "examples cpu_s wall_s peak_rss_kib".
measure() {
    local res="$1" realign="$2" log="$work/time.log" json
    json="$(/usr/bin/time -v -o "$log" "$work/tensorize_throughput" --reads "$(readlink "$res/bam")" \
        --reference "$(readlink "$res/fasta")" --truth "$(readlink "$res/vcf")" \
        --confident "$(readlink "$res/bed")" \
        --threads 1 --runs 1 --realign "$realign")"
    local examples cpu wall rss
    examples="$(sed -E 's/.*"examples": ([0-9]+).*/\1/' <<<"$json")"
    cpu="$(sed -E 's/.*"cpu_s": ([0-9.]+).*/\1/' <<<"$json")"
    wall="$(sed -E 's/.*"wall_s": ([0-9.]+).*/\1/' <<<"$json")"
    rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")"
    echo "$examples $cpu $wall $rss"
}

rows=""
IFS=, read -ra size_list <<<"$sizes"
for bp in "${size_list[@]}"; do
    echo "== simulate $bp bp at 30x"
    (cd "$work" && ./pipe --cache "$work/cache" run "$here/pipeline.yaml" --set "genome_bp=$bp" >/dev/null)
    res="$work/results/bench-tensorize"
    mkdir -p "$work/in.$bp"
    # Results are links named after the result (`bam.bam`); the files they point to sit beside their
    # indexes.
    for f in bam fasta vcf bed; do ln -sf "$(readlink -f "$res/$f".*)" "$work/in.$bp/$f"; done
    echo "== tensorize $bp bp, realigner on"
    read -r ex cpu wall rss <<<"$(measure "$work/in.$bp" true)"
    echo "== tensorize $bp bp, realigner off"
    read -r ex0 cpu0 wall0 rss0 <<<"$(measure "$work/in.$bp" false)"
    rows+="$(awk -v bp="$bp" -v ex="$ex" -v cpu="$cpu" -v rss="$rss" -v cpu0="$cpu0" -v rss0="$rss0" 'BEGIN {
        kb = bp / 1000; rate = kb / cpu
        printf "| %.0f kb | %d | %.1f | %.1f | %.1f | %.2fx | %.2fx | %.0f MiB | %.1f | %.0f MiB |\n",
            kb, ex, cpu, rate, ex / cpu, rate / 7.8, rate / 11.6, rss / 1024, kb / cpu0, rss0 / 1024 }')"$'\n'
done

{
    echo "# Tensorize throughput"
    echo
    echo "\`$cmdline\` on $(date -u +%Y-%m-%d), commit $(git -C "$root" rev-parse --short HEAD),"
    echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average"
    echo "before the run $load_before. One worker thread; CPU seconds are user + system of the whole stage"
    echo "(BAM reading, realignment, candidates, labels, images, Parquet). DeepVariant's rates are per core"
    echo "from its published whole-genome runs (HG003 35x, make_examples with the realigner)."
    echo
    echo "| simulated genome | examples | CPU s | kb per CPU-s | examples per CPU-s | vs DeepVariant 1.5 (7.8 kb/s) | vs 1.10 (11.6 kb/s) | peak RSS | kb per CPU-s, realigner off | peak RSS, realigner off |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf "%s" "$rows"
    echo
    echo "Target (issue 16): 35 kb per CPU-second (3x DeepVariant 1.10) with the realigner on, and the same"
    echo "peak RSS for every size."
} >"$out"
cat "$out"
