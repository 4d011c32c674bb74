#!/usr/bin/env bash
# Training and inference images per second: pipe's model zoo (tch/libtorch) against PyTorch + timm, same
# model, batch, input (7x224x224, 3 classes) and thread count, one model at a time, alternating sides.
# Writes bench/train/results.md.
#
#   bench/train/run.sh [--archs a,b,...] [--batch 16] [--threads N] [--warmup 2] [--steps 5]
#                      [--rounds 1] [--device cpu|cuda] [--channels-last] [--bf16]
#                      [--mode both|train|infer] [--out FILE]
#
# Needs LIBTORCH (the torch package of PIPE_PYTHON's venv, so both sides run the same libtorch) and
# PIPE_PYTHON (a Python with torch and timm). --threads defaults to the number of CPUs. pipe tunes glibc's
# allocator itself (pipe_torch::malloc); to give timm the same settings, run with
# GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1099511627776.
set -euo pipefail
cmdline="bench/train/run.sh $*"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PIPE_PYTHON:-python3}"
target="${CARGO_TARGET_DIR:-$root/target}"

archs="regnety_002,efficientnet_b0,convnext_atto,resnext50_32x4d,inception_v3"
batch=16 threads="$(nproc)" warmup=2 steps=5 rounds=1 device=cpu mode=both out="$here/results.md"
flags=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --archs) archs="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --steps) steps="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --device) device="$2"; shift 2 ;;
        --mode) mode="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --channels-last|--bf16) flags+=("$1"); shift ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done

(cd "$root" && cargo build --release -p pipe-torch --example train_throughput)
work="$(mktemp -d -t pipe-train-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# A private copy, so a rebuild of the shared target folder during the run cannot change what is measured.
cp "$target/release/examples/train_throughput" "$work/"

"$python" "$here/compare.py" --ours "$work/train_throughput" --python "$python" --archs "$archs" \
    --rounds "$rounds" --out "$out" --command "$cmdline" -- \
    --batch "$batch" --threads "$threads" --warmup "$warmup" --steps "$steps" --device "$device" --mode "$mode" \
    ${flags[@]+"${flags[@]}"}
