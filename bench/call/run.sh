#!/usr/bin/env bash
# Calling examples per second: pipe's `call` task against PyTorch + timm inference of the same trained
# model on the same examples (same batch size and threads, float32, eval mode, no gradients), side by
# side in one run. Writes bench/call/results.md.
#
#   bench/call/run.sh [--arch regnety_002] [--genome-bp 1000000] [--coverage 30] [--height 100]
#                     [--width 221] [--batch 64] [--threads N] [--rounds 3] [--out FILE]
#
# A simulated genome is tensorized for training, the model trains one epoch (its weights only need
# to be real, not good), and the same reads are tensorized in calling mode. Then, rounds times and
# alternating which side goes first: `pipe run --force call` (the whole call task: worker start,
# libtorch, reading the examples, inference, the VCF) and timm_call.py (timm.create_model with the
# task's model.safetensors, the same padding and normalization). Both report the inference alone; the
# whole commands are timed with /usr/bin/time (wall and CPU seconds). timm's probabilities are checked
# against pipe's.
#
# Needs LIBTORCH (the torch package of PIPE_PYTHON's venv, so both sides run the same libtorch) and
# PIPE_PYTHON (a Python with torch, timm, safetensors and pyarrow). --threads defaults to the number of
# CPUs.
set -euo pipefail
cmdline="bench/call/run.sh $*"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PIPE_PYTHON:-python3}"
target="${CARGO_TARGET_DIR:-$root/target}"

arch=regnety_002 genome_bp=1000000 coverage=30 height=100 width=221 batch=64 threads="$(nproc)"
rounds=3 out="$here/results.md"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --arch) arch="$2"; shift 2 ;;
        --genome-bp) genome_bp="$2"; shift 2 ;;
        --coverage) coverage="$2"; shift 2 ;;
        --height) height="$2"; shift 2 ;;
        --width) width="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 2; }

(cd "$root" && cargo build --release -p pipe-cli -p pipe-torch)
work="$(mktemp -d -t pipe-call-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# Private copies, so a rebuild of the shared target folder during the run cannot change what is
# measured; pipe starts the pipe-torch beside it.
cp "$target/release/pipe" "$target/release/pipe-torch" "$work/"

cat >"$work/call.yaml" <<EOF
name: call-bench
seed: 42
stages:
  data:
    kind: simulate
    params: { genome_bp: $genome_bp, coverage: $coverage }
  examples:
    kind: tensorize
    inputs: { reads: data.bam, reference: data.fasta, truth: data.vcf, confident: data.bed }
    params: { height: $height, width: $width }
  folds:
    kind: split
    inputs: { examples: examples.examples }
    params: { k: 2 }
  train:
    kind: train
    inputs: { examples: examples.examples, folds: folds.folds }
    params: { arch: $arch, fold: 0, epochs: 1, batch_size: 16, scheduler: none }
  candidates:
    kind: tensorize
    inputs: { reads: data.bam, reference: data.fasta }
    params: { height: $height, width: $width }
  call:
    kind: call
    inputs: { model: train.model, examples: candidates.examples, reference: data.fasta }
    params: { batch_size: $batch, threads: $threads }
EOF
export PIPE_CACHE="$work/cache"
cd "$work" # results/call-bench/ goes there
echo "preparing: simulate, tensorize, train one epoch of $arch, tensorize for calling, call"
"$work/pipe" run "$work/call.yaml"

"$python" "$here/compare.py" --pipe "$work/pipe" --pipeline "$work/call.yaml" --python "$python" \
    --batch "$batch" --threads "$threads" --rounds "$rounds" --out "$out" --command "$cmdline" \
    --setup "$arch, ${genome_bp} bp simulated at ${coverage}x, ${height}x${width} pileups"
