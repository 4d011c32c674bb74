#!/usr/bin/env python3
"""Writes the same task graphs for pipe, Snakemake and DVC, so the engine benchmark compares like with like.

Shapes:
  study   the study's shape with trivial commands: download -> tensorize -> train (5 archs x 6 folds)
          -> aggregate -> significance, 34 tasks.
  N       (an integer) N trivial tasks in three layers: G groups of K leaves that each write a tiny
          file, one task per group that depends on its K leaves, and one final task that depends on the
          G groups (G*K + G + 1 = N, G the divisor of N-1 nearest sqrt(N-1): 27x36 for 1,000 and 99x100
          for 10,000).

Every task runs the same shell one-liner in all three tools (`sh -c` for pipe, Snakemake's `shell:`, DVC's
`cmd:`), so the difference measured is the engine's own overhead.

Usage: gen.py TOOL SHAPE DIR    (TOOL: pipe | snakemake | dvc; DIR is created and must not exist)
DVC is taken from PATH, else from the bench venv (BENCH_VENV, default ~/.cache/pipe/bench-venv).
"""

import json
import os
import shutil
import subprocess
import sys

TOOLS = ("pipe", "snakemake", "dvc")
ARCHS = ["a", "b", "c", "d", "e"]
FOLDS = 6
LR = 0.1
RAW_TEXT = "".join(f"candidate variant {i}\n" for i in range(100))
PIPELINE_FILE = {"pipe": "pipeline.yaml", "snakemake": "Snakefile", "dvc": "dvc.yaml"}


def layers(n):
    """(G, K) for a synthetic shape of n tasks: G groups of K leaves, G*K + G + 1 = n."""
    if n < 3:
        raise ValueError(f"a synthetic DAG needs at least 3 tasks, not {n}")
    m = n - 1
    divisors = [g for g in range(1, m + 1) if m % g == 0 and m // g >= 2]
    g = min(divisors, key=lambda d: abs(d - m**0.5))
    return g, m // g - 1


def task_count(shape):
    """Tasks in a shape (the unit of per-task figures)."""
    return 2 + len(ARCHS) * FOLDS + 2 if shape == "study" else int(shape)


def q(text):
    """A YAML/JSON double-quoted scalar."""
    return json.dumps(text)


# --- pipe -----------------------------------------------------------------------------------------------


def pipe_study():
    archs = ", ".join(ARCHS)
    lrs = ", ".join(f"{a}: {LR}" for a in ARCHS)
    return f"""name: study-shape
seed: 1
vars: {{ archs: [{archs}], folds: {FOLDS}, lr: {{ {lrs} }} }}
stages:
  download:
    cmd: [sh, -c, 'cp "$0" "$1"', "${{inputs.src}}", "${{outputs.raw}}"]
    inputs: {{ src: {{ file: raw.txt }} }}
    outputs: {{ raw: raw.txt }}
  tensorize:
    cmd: [sh, -c, 'tr a-z A-Z < "$0" > "$1"', "${{inputs.raw}}", "${{outputs.examples}}"]
    inputs: {{ raw: download.raw }}
    outputs: {{ examples: ex.txt }}
  train:
    cmd: [sh, -c, 'echo "$2 $3 $4 $(cat "$0")" > "$1"', "${{inputs.examples}}", "${{outputs.metrics}}",
          "${{params.arch}}", "${{params.fold}}", "${{params.lr}}"]
    matrix: {{ arch: "${{archs}}", fold: "range(${{folds}})" }}
    params: {{ lr: "${{lr.${{arch}}}}" }}
    inputs: {{ examples: tensorize.examples }}
    outputs: {{ metrics: metrics.txt }}
  aggregate:
    cmd: [sh, -c, 'out=$0; shift; cat "$@" > "$out"', "${{outputs.table}}", "${{inputs.runs}}"]
    inputs: {{ runs: "train[*].metrics" }}
    outputs: {{ table: table.txt }}
  significance:
    cmd: [sh, -c, 'wc -l < "$0" > "$1"', "${{inputs.table}}", "${{outputs.tests}}"]
    inputs: {{ table: aggregate.table }}
    outputs: {{ tests: tests.txt }}
"""


def pipe_synthetic(n):
    g, k = layers(n)
    return f"""name: synthetic-{n}
seed: 1
stages:
  leaf:
    cmd: [sh, -c, 'echo "$0_$1" > "$2"', "${{params.g}}", "${{params.i}}", "${{outputs.out}}"]
    matrix: {{ g: "range({g})", i: "range({k})" }}
    outputs: {{ out: leaf.txt }}
  group:
    cmd: [sh, -c, 'echo "$0" > "$1"', "${{params.g}}", "${{outputs.out}}"]
    matrix: {{ g: "range({g})" }}
    inputs: {{ leaves: "leaf[g=${{g}}].out" }}
    outputs: {{ out: group.txt }}
  final:
    cmd: [sh, -c, 'echo done > "$0"', "${{outputs.out}}"]
    inputs: {{ groups: "group[*].out" }}
    outputs: {{ out: done.txt }}
"""


# --- Snakemake ------------------------------------------------------------------------------------------


def snakemake_study():
    return f"""ARCHS = {ARCHS!r}
FOLDS = range({FOLDS})

rule all:
    input: "out/tests.txt"

rule download:
    input: "raw.txt"
    output: "out/raw.txt"
    shell: "cp {{input}} {{output}}"

rule tensorize:
    input: "out/raw.txt"
    output: "out/ex.txt"
    shell: "tr a-z A-Z < {{input}} > {{output}}"

rule train:
    input: "out/ex.txt"
    output: "out/train/{{arch}}_{{fold}}.txt"
    params: lr={LR}
    shell: 'echo "{{wildcards.arch}} {{wildcards.fold}} {{params.lr}} $(cat {{input}})" > {{output}}'

rule aggregate:
    input: expand("out/train/{{arch}}_{{fold}}.txt", arch=ARCHS, fold=FOLDS)
    output: "out/table.txt"
    shell: "cat {{input}} > {{output}}"

rule significance:
    input: "out/table.txt"
    output: "out/tests.txt"
    shell: "wc -l < {{input}} > {{output}}"
"""


def snakemake_synthetic(n):
    g, k = layers(n)
    return f"""G = {g}
K = {k}

rule all:
    input: "out/done.txt"

rule final:
    input: expand("out/group/{{g}}.txt", g=range(G))
    output: "out/done.txt"
    shell: "echo done > {{output}}"

rule group:
    input: expand("out/leaf/{{{{g}}}}_{{i}}.txt", i=range(K))
    output: "out/group/{{g}}.txt"
    shell: 'echo "{{wildcards.g}}" > {{output}}'

rule leaf:
    output: "out/leaf/{{g}}_{{i}}.txt"
    shell: 'echo "{{wildcards.g}}_{{wildcards.i}}" > {{output}}'
"""


# --- DVC ------------------------------------------------------------------------------------------------


def dvc_study():
    train_outs = [f"out/train/{a}_{f}.txt" for a in ARCHS for f in range(FOLDS)]
    deps = "\n".join(f"      - {p}" for p in train_outs)
    return f"""stages:
  download:
    cmd: cp raw.txt out/raw.txt
    deps: [raw.txt]
    outs: [out/raw.txt]
  tensorize:
    cmd: tr a-z A-Z < out/raw.txt > out/ex.txt
    deps: [out/raw.txt]
    outs: [out/ex.txt]
  train:
    matrix:
      arch: [{", ".join(ARCHS)}]
      fold: [{", ".join(str(f) for f in range(FOLDS))}]
    cmd: echo "${{item.arch}} ${{item.fold}} {LR} $(cat out/ex.txt)" > out/train/${{item.arch}}_${{item.fold}}.txt
    deps: [out/ex.txt]
    outs: ["out/train/${{item.arch}}_${{item.fold}}.txt"]
  aggregate:
    cmd: cat {" ".join(train_outs)} > out/table.txt
    deps:
{deps}
    outs: [out/table.txt]
  significance:
    cmd: wc -l < out/table.txt > out/tests.txt
    deps: [out/table.txt]
    outs: [out/tests.txt]
"""


def dvc_synthetic(n):
    g, k = layers(n)
    # DVC templates cannot build a list of deps, so each group is a stage of its own.
    groups = "".join(
        f"""  group_{j}:
    cmd: echo "{j}" > out/group/{j}.txt
    deps: [{", ".join(f"out/leaf/{j}_{i}.txt" for i in range(k))}]
    outs: [out/group/{j}.txt]
"""
        for j in range(g)
    )
    return f"""stages:
  leaf:
    matrix:
      g: {json.dumps(list(range(g)))}
      i: {json.dumps(list(range(k)))}
    cmd: echo "${{item.g}}_${{item.i}}" > out/leaf/${{item.g}}_${{item.i}}.txt
    outs: ["out/leaf/${{item.g}}_${{item.i}}.txt"]
{groups}  final:
    cmd: echo done > out/done.txt
    deps: [{", ".join(f"out/group/{j}.txt" for j in range(g))}]
    outs: [out/done.txt]
"""


def init_dvc_repo(directory, dvc):
    """DVC needs a git repository and `dvc init`; analytics off so no run waits on the network."""
    quiet = {"stdout": subprocess.DEVNULL, "check": True, "cwd": directory}
    subprocess.run(["git", "init", "-q"], **quiet)
    subprocess.run([dvc, "init", "-q"], **quiet)
    subprocess.run([dvc, "config", "core.analytics", "false"], **quiet)
    subprocess.run([dvc, "config", "core.autostage", "false"], **quiet)


def write(tool, shape, directory, dvc="dvc"):
    """Writes the pipeline of `shape` for `tool` into a new `directory`; returns the pipeline file's path."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool '{tool}': expected one of {', '.join(TOOLS)}")
    if shape != "study":
        layers(int(shape))  # rejects a shape too small, before anything is written
    os.makedirs(directory)
    if shape == "study":
        text = {"pipe": pipe_study, "snakemake": snakemake_study, "dvc": dvc_study}[tool]()
        with open(os.path.join(directory, "raw.txt"), "w") as f:
            f.write(RAW_TEXT)
    else:
        n = int(shape)
        text = {"pipe": pipe_synthetic, "snakemake": snakemake_synthetic, "dvc": dvc_synthetic}[tool](n)
    if tool == "dvc":
        # DVC does not create the folders of a stage's outputs.
        for sub in ("out/train", "out/leaf", "out/group"):
            os.makedirs(os.path.join(directory, sub))
        init_dvc_repo(directory, dvc)
    path = os.path.join(directory, PIPELINE_FILE[tool])
    with open(path, "w") as f:
        f.write(text)
    return path


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    tool, shape, directory = argv[1:]
    if shape != "study" and not shape.isdigit():
        sys.exit(f"shape '{shape}': expected 'study' or a number of tasks")
    venv = os.environ.get("BENCH_VENV", os.path.expanduser("~/.cache/pipe/bench-venv"))
    dvc = shutil.which("dvc") or os.path.join(venv, "bin", "dvc")
    try:
        print(write(tool, shape, directory, dvc))
    except (ValueError, OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"gen.py: {e}")


if __name__ == "__main__":
    main(sys.argv)
