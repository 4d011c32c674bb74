#!/usr/bin/env bash
# Loader benchmark: examples read from Parquet into padded, normalized f32 training batches by pipe's
# loader (the train stage's code path) against the original study's loader (7 PNGs per example through
# PIL and a torch DataLoader), on the same examples, in one run; plus tensorize examples per CPU-second on
# the same simulated 30x data. Writes bench/loader/results.md.
#
#   bench/loader/run.sh [--examples 2000] [--batch 32] [--num-workers 4] [--epochs 3] [--threads N]
#                       [--out FILE]
#
# Steps: (1) `pipe run bench/loader/pipeline.yaml` simulates a 30x genome of about --examples kilobases
# and tensorizes + splits it; (2) study_loader.py export writes the labeled examples as PNGs + CSV;
# (3) loader_throughput (release) times pipe's loader; (4) study_loader.py load times the study's loader
# and checks that its first batch equals pipe's; (5) tensorize_throughput times tensorize on the same
# simulated data with 1 and --threads threads. Needs LIBTORCH and PIPE_PYTHON (torch, torchvision, PIL,
# pyarrow). --threads (libtorch threads of pipe's loader, tensorize threads) defaults to the CPU count;
# --num-workers 4 is the study's DataLoader setting (regnety_032_30000.config.yaml).
set -euo pipefail
cmdline="bench/loader/run.sh $*"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PIPE_PYTHON:-python3}"
target="${CARGO_TARGET_DIR:-$root/target}"

examples=2000 batch=32 workers=4 epochs=3 threads="$(nproc)" out="$here/results.md"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --examples) examples="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --num-workers) workers="$2"; shift 2 ;;
        --epochs) epochs="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done

(cd "$root" && cargo build --release --bin pipe &&
    cargo build --release -p pipe-torch --example loader_throughput &&
    cargo build --release -p pipe-stages --example tensorize_throughput)
work="$(mktemp -d -t pipe-loader-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# Private copies, so a rebuild of the shared target folder during the run cannot change what is measured.
cp "$target/release/pipe" "$target/release/examples/loader_throughput" \
    "$target/release/examples/tensorize_throughput" "$work/"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== 1. simulate + tensorize + split (about $examples examples)"
# The simulated genome yields about one labeled example per kilobase.
(cd "$work" && ./pipe --cache "$work/cache" run "$here/pipeline.yaml" --set "genome_bp=$((examples * 1000))" -j "$threads")
res="$work/results/bench-loader"
parquet="$(readlink -f "$res/examples")"
folds="$(readlink -f "$res/folds")"

echo "== 2. export the labeled examples as the study's PNGs + CSV"
"$python" "$here/study_loader.py" export --examples "$parquet" --out "$work/pngs"
du -sh "$work/pngs/png" "$parquet"

echo "== 3. pipe's loader"
ours="$("$work/loader_throughput" --examples "$parquet" --folds "$folds" --batch "$batch" \
    --pad 1,62,2,62 --epochs "$epochs" --threads "$threads" --dump "$work/first_batch.f32")"
echo "$ours"

echo "== 4. the study's loader"
stats="$(echo "$ours" | "$python" -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["mean"])); print(json.dumps(d["std"]))')"
theirs="$("$python" "$here/study_loader.py" load --csv "$work/pngs/examples.csv" --batch "$batch" \
    --num-workers "$workers" --epochs "$epochs" --pad "[1, 62, 2, 62]" \
    --mean "$(sed -n 1p <<<"$stats")" --std "$(sed -n 2p <<<"$stats")" --check "$work/first_batch.f32")"
echo "$theirs"

echo "== 5. tensorize on the simulated data"
tens="$(cd "$work" && ./tensorize_throughput --reads "$(readlink -f "$res/bam")" \
    --reference "$(readlink -f "$res/fasta")" --truth "$(readlink -f "$res/vcf")" \
    --confident "$(readlink -f "$res/bed")" --threads "1,$threads" --runs 2)"
echo "$tens"

"$python" "$here/report.py" --ours "$ours" --theirs "$theirs" --tensorize "$tens" \
    --load-before "$load_before" --command "$cmdline" --out "$out"
