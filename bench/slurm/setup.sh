#!/usr/bin/env bash
# Creates (or reuses) the venv with Snakemake and its Slurm executor plugin, pinned, for the Slurm
# benchmark. Idempotent: a venv that already has these versions is left alone.
#   SLURM_BENCH_VENV  where the venv lives (default: ~/.cache/pipe/slurm-bench-venv)
#   PYTHON            the interpreter that creates it (default: python3; Snakemake 9 needs >= 3.11)
set -euo pipefail

SNAKEMAKE_VERSION=9.27.1
PLUGIN_VERSION=2.8.0
VENV="${SLURM_BENCH_VENV:-$HOME/.cache/pipe/slurm-bench-venv}"
PYTHON="${PYTHON:-python3}"

if [[ -x "$VENV/bin/snakemake" ]] &&
    "$VENV/bin/python" - "$SNAKEMAKE_VERSION" "$PLUGIN_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
ok = (version("snakemake"), version("snakemake-executor-plugin-slurm")) == (sys.argv[1], sys.argv[2])
sys.exit(0 if ok else 1)
PY
then
    echo "slurm bench venv ready: $VENV (snakemake $SNAKEMAKE_VERSION, snakemake-executor-plugin-slurm $PLUGIN_VERSION)"
    exit 0
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Snakemake 9 needs Python >= 3.11; set PYTHON=")'
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "snakemake==$SNAKEMAKE_VERSION" \
    "snakemake-executor-plugin-slurm==$PLUGIN_VERSION"
echo "slurm bench venv ready: $VENV (snakemake $SNAKEMAKE_VERSION, snakemake-executor-plugin-slurm $PLUGIN_VERSION)"
