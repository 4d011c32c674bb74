"""Runs pipe's `call` task (`pipe run --force call`) and timm_call.py side by side on the same model
and examples, alternating which goes first, and writes a table of examples per second to results.md.
Called by run.sh, which has prepared the pipeline's upstream tasks."""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

INFERENCE_LINE = re.compile(r"call: inference of (\d+) examples in ([0-9.]+) s")


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time; returns (stdout, wall seconds, CPU seconds: user + system)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        out = subprocess.run(["/usr/bin/time", "-o", t.name, "-f", "%e %U %S"] + cmd, env=env,
                             check=True, capture_output=True, text=True)
        wall, user, system = map(float, t.read().split()[-3:])
    return out.stdout, wall, user + system


def show(a, *args):
    return subprocess.run([a.pipe, "show", a.pipeline, *args], check=True, capture_output=True,
                          text=True).stdout


def port(text, name):
    """The path of `name` in the inputs or outputs block of `pipe show`."""
    m = re.search(rf"^  {name}: (.+)$", text, re.M)
    if not m:
        raise SystemExit(f"pipe show gave no '{name}':\n{text}")
    # An input reads `stage.output -> path`.
    return m.group(1).split(" -> ")[-1].strip()


def run_pipe(a):
    _, wall, cpu = timed([a.pipe, "run", a.pipeline, "--force", "call"])
    text = show(a, "call")
    m = INFERENCE_LINE.search(text)
    if not m:
        raise SystemExit(f"the call task's log has no inference line:\n{text}")
    n, infer_s = int(m.group(1)), float(m.group(2))
    return {"examples": n, "infer_s": infer_s, "wall_s": wall, "cpu_s": cpu}


def run_timm(a, model, examples, probabilities):
    here = os.path.dirname(os.path.abspath(__file__))
    stdout, wall, cpu = timed([a.python, os.path.join(here, "timm_call.py"), "--model", model,
                               "--examples", examples, "--batch", str(a.batch), "--threads",
                               str(a.threads), "--compare", probabilities])
    res = json.loads(stdout.strip().splitlines()[-1])
    res.update(wall_s=wall, cpu_s=cpu)
    return res


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pipe", required=True)
    p.add_argument("--pipeline", required=True)
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", required=True)
    p.add_argument("--command", default="")
    p.add_argument("--setup", default="")
    a = p.parse_args()

    model = port(show(a, "train"), "model")
    call = show(a, "call")
    examples, probabilities = port(call, "examples"), port(call, "probabilities")
    load_before = os.getloadavg()
    got = {"pipe": [], "timm": []}
    for r in range(a.rounds):
        sides = ["pipe", "timm"] if r % 2 == 0 else ["timm", "pipe"]
        for side in sides:
            res = run_pipe(a) if side == "pipe" else run_timm(a, model, examples, probabilities)
            got[side].append(res)
            print(f"round {r + 1} {side:4}: {res['examples']} examples, inference {res['infer_s']:.3f} s, "
                  f"whole command {res['wall_s']:.2f} s wall / {res['cpu_s']:.2f} s CPU", flush=True)
    load_after = os.getloadavg()
    n = got["pipe"][0]["examples"]
    if any(r["examples"] != n for side in got.values() for r in side):
        raise SystemExit("the two sides inferred different numbers of examples")
    best = {side: {k: min(r[k] for r in runs) for k in ("infer_s", "wall_s", "cpu_s")}
            for side, runs in got.items()}
    diff = max(r["max_abs_diff"] for r in got["timm"])
    rate = lambda s: n / s
    o, t = best["pipe"], best["timm"]
    rows = [
        ("inference alone (examples/s)", f"{rate(o['infer_s']):.1f}", f"{rate(t['infer_s']):.1f}",
         f"{t['infer_s'] / o['infer_s']:.2f}x"),
        ("whole command (examples/s, wall)", f"{rate(o['wall_s']):.1f}", f"{rate(t['wall_s']):.1f}",
         f"{t['wall_s'] / o['wall_s']:.2f}x"),
        ("whole command (examples per CPU-second)", f"{rate(o['cpu_s']):.1f}", f"{rate(t['cpu_s']):.1f}",
         f"{t['cpu_s'] / o['cpu_s']:.2f}x"),
        ("whole command (wall / CPU seconds)", f"{o['wall_s']:.2f} / {o['cpu_s']:.2f}",
         f"{t['wall_s']:.2f} / {t['cpu_s']:.2f}", ""),
    ]
    table = "\n".join(["| measure | pipe call | timm | pipe / timm |", "|---|---:|---:|---:|"]
                      + [f"| {m} | {x} | {y} | {z} |" for m, x, y, z in rows])
    print()
    print(table)
    print(f"largest |p_pipe - p_timm| over {n} examples x 3 classes: {diff:.2e}")
    versions = subprocess.run(
        [a.python, "-c", "import torch, timm; print(torch.__version__, timm.__version__)"],
        capture_output=True, text=True).stdout.split()
    t_last = got["timm"][-1]
    md = f"""# Calling throughput: pipe's `call` task vs PyTorch + timm

Examples per second (higher is better) over the same {n} calling examples with the same trained model
({a.setup}), batches of {a.batch}, {a.threads} threads, float32, eval mode without gradients; best of
{a.rounds} rounds per side, sides alternating. *Inference alone*: pipe's call task's own timing of its
batch loop (the `call: inference of ...` line of its log: batches gathered, padded and normalized,
forward, softmax), timm_call.py's forward + softmax over batches it transformed beforehand
(transforming took it {t_last['transform_s']:.3f} s and reading the Parquet {t_last['read_s']:.3f} s in
the last round). *Whole command*: process start to exit under /usr/bin/time: `pipe run --force call`
(plan, the pipe-torch worker, libtorch, reading the examples, inference, the VCF and its index,
publishing) against `python timm_call.py` (importing torch and timm, loading the weights, reading,
transforming, inference); the ratio column is pipe's rate over timm's.

- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}
- machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}
- load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}
- libtorch/PyTorch {versions[0] if versions else '?'} (the same library on both sides), timm {versions[1] if len(versions) > 1 else '?'}
- allocator: pipe sets glibc's mmap threshold to 32 MB and turns trimming off (`pipe_torch::malloc`);
  timm runs with {f"GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}" if os.environ.get('GLIBC_TUNABLES') else "glibc's defaults"}
- command: `{a.command}`

{table}

The two sides' probabilities agree to {diff:.1e} (largest absolute difference over every example and
class).
"""
    with open(a.out, "w") as f:
        f.write(md)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
