#!/usr/bin/env bash
# Creates (or reuses) the Python venv holding the peer tools the engine benchmark compares pipe with:
# Snakemake and DVC, pinned. Idempotent: a venv that already has these versions is left alone.
#   BENCH_VENV  where the venv lives (default: ~/.cache/pipe/bench-venv)
#   PYTHON      the interpreter that creates it (default: python3; Snakemake 9 needs Python >= 3.11)
set -euo pipefail

SNAKEMAKE_VERSION=9.27.1
DVC_VERSION=3.67.1
VENV="${BENCH_VENV:-$HOME/.cache/pipe/bench-venv}"
PYTHON="${PYTHON:-python3}"

if [[ -x "$VENV/bin/snakemake" && -x "$VENV/bin/dvc" ]] &&
    "$VENV/bin/python" - "$SNAKEMAKE_VERSION" "$DVC_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("snakemake"), version("dvc")) == (sys.argv[1], sys.argv[2]) else 1)
PY
then
    echo "bench venv ready: $VENV (snakemake $SNAKEMAKE_VERSION, dvc $DVC_VERSION)"
    exit 0
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Snakemake 9 needs Python >= 3.11; set PYTHON=")'
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "snakemake==$SNAKEMAKE_VERSION" "dvc==$DVC_VERSION"
echo "bench venv ready: $VENV (snakemake $SNAKEMAKE_VERSION, dvc $DVC_VERSION)"
