"""Runs pipe's model zoo (torch/examples/train_throughput.rs) and PyTorch + timm
(timm_throughput.py) side by side, one model at a time, alternating which side goes first, and writes
a table of training and inference images per second to results.md. Called by run.sh."""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys


def run_side(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def fmt(v):
    return "n/a" if v is None else f"{v:.1f}"


def ratio(ours, theirs):
    return "n/a" if ours is None or not theirs else f"{ours / theirs:.2f}x"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ours", required=True, help="the train_throughput binary")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--archs", required=True, help="comma-separated")
    p.add_argument("--rounds", type=int, default=1, help="runs of each side per model (best kept)")
    p.add_argument("--out", required=True)
    p.add_argument("--command", default="", help="the command line, for the report")
    p.add_argument("common", nargs=argparse.REMAINDER, help="options passed to both sides after --")
    a = p.parse_args()
    common = [c for c in a.common if c != "--"]
    here = os.path.dirname(os.path.abspath(__file__))
    theirs_cmd = [a.python, os.path.join(here, "timm_throughput.py")]
    load_before = os.getloadavg()
    rows = []
    for i, arch in enumerate(a.archs.split(",")):
        got = {"pipe": [], "timm": []}
        for r in range(a.rounds):
            sides = [("pipe", [a.ours]), ("timm", theirs_cmd)]
            if (i + r) % 2:
                sides.reverse()
            for name, cmd in sides:
                res = run_side(cmd + ["--arch", arch] + common)
                got[name].append(res)
                print(f"{arch:18} {name:5} round {r + 1}: train {fmt(res['train_ips'])} img/s, "
                      f"inference {fmt(res['infer_ips'])} img/s", flush=True)
        best = {
            name: {k: max((x[k] for x in runs if x[k] is not None), default=None)
                   for k in ("train_ips", "infer_ips")}
            for name, runs in got.items()
        }
        rows.append((arch, best))
    load_after = os.getloadavg()

    header = ("| model | train pipe | train timm | train ratio | inference pipe | inference timm "
              "| inference ratio |\n|---|---:|---:|---:|---:|---:|---:|")
    lines = [header]
    train_ratios, infer_ratios = [], []
    for arch, b in rows:
        o, t = b["pipe"], b["timm"]
        lines.append(f"| {arch} | {fmt(o['train_ips'])} | {fmt(t['train_ips'])} | "
                     f"{ratio(o['train_ips'], t['train_ips'])} | {fmt(o['infer_ips'])} | "
                     f"{fmt(t['infer_ips'])} | {ratio(o['infer_ips'], t['infer_ips'])} |")
        if o["train_ips"] and t["train_ips"]:
            train_ratios.append(o["train_ips"] / t["train_ips"])
        if o["infer_ips"] and t["infer_ips"]:
            infer_ratios.append(o["infer_ips"] / t["infer_ips"])
    gm = lambda xs: statistics.geometric_mean(xs) if xs else None
    summary = (f"Geometric mean ratio (pipe / timm): training {ratio(gm(train_ratios), 1.0)}, "
               f"inference {ratio(gm(infer_ratios), 1.0)}.")
    table = "\n".join(lines)
    print()
    print(table)
    print(summary)

    versions = subprocess.run(
        [a.python, "-c", "import torch, timm; print(torch.__version__, timm.__version__)"],
        capture_output=True, text=True).stdout.split()
    opts = " ".join(common)
    md = f"""# Training and inference throughput: pipe vs PyTorch + timm

Images per second (higher is better), best of {a.rounds} run(s) per side, sides alternating per model.
A training step is forward in train mode + cross-entropy + backward + Adam step; inference is eval mode
without gradients. Random 7-channel inputs, 3 classes, one fixed batch reused (no data loading).

- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}
- machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}
- load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}
- libtorch/PyTorch {versions[0] if versions else '?'} (the same library on both sides), timm {versions[1] if len(versions) > 1 else '?'}
- options (both sides): `{opts}`
- allocator: pipe sets glibc's mmap threshold to 32 MB and turns trimming off (`pipe_torch::malloc`);
  timm runs with {f"GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}" if os.environ.get('GLIBC_TUNABLES') else "glibc's defaults"}
- command: `{a.command}`

{table}

{summary}
"""
    with open(a.out, "w") as f:
        f.write(md)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
