"""Turns the JSON printed by bench/loader/run.sh's steps into a table and results.md."""

import argparse
import datetime
import json
import os
import platform


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
    p.add_argument("--ours", required=True)
    p.add_argument("--theirs", required=True)
    p.add_argument("--tensorize", required=True)
    p.add_argument("--load-before", required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--study-epochs", type=int, default=20,
                   help="epochs of a training run, for the amortized ratio (the study's num_epochs: 20)")
    a = p.parse_args()
    o, t = json.loads(a.ours), json.loads(a.theirs)
    tens = [json.loads(line) for line in a.tensorize.splitlines() if line.strip()]
    n, epochs = o["examples"], len(o["epoch_s"])
    assert n == t["examples"], "both loaders must read the same examples"

    o_cpu = o["cpu_epochs_s"] / (n * epochs)
    t_cpu = t["cpu_epochs_s"] / (n * epochs)
    g_best = n / min(o["gather_epoch_s"])
    g_cpu = o["cpu_gather_s"] / (n * epochs)
    rows = [
        ("pipe: Parquet read + statistics + first epoch", o["with_read_ips"], None),
        ("pipe: best epoch (examples in memory)", o["best_epoch_ips"], 1 / o_cpu),
        ("pipe: best epoch of u8 batches only (host side of a GPU run)", g_best, 1 / g_cpu),
        (f"study: first epoch (PIL + DataLoader, {t['num_workers']} workers)", t["first_epoch_ips"], None),
        (f"study: best epoch", t["best_epoch_ips"], 1 / t_cpu),
    ]
    loader = ["| loader | images/s | images per CPU-second |", "|---|---:|---:|"]
    for name, ips, per_cpu in rows:
        loader.append(f"| {name} | {ips:,.0f} | {'' if per_cpu is None else f'{per_cpu:,.0f}'} |")
    cold = o["with_read_ips"] / t["first_epoch_ips"]
    warm = o["best_epoch_ips"] / t["best_epoch_ips"]
    per_cpu = t_cpu / o_cpu
    # A whole training run of E epochs: pipe reads the Parquet file and computes the statistics once,
    # the study's loader opens the PNGs every epoch (the study's statistics pass is not counted).
    e = a.study_epochs
    run_pipe = o["read_s"] + o["stats_s"] + e * sum(o["epoch_s"]) / epochs
    run_study = e * sum(t["epoch_s"]) / len(t["epoch_s"])
    ratios = (f"pipe / study: {warm:,.1f}x per epoch, {per_cpu:,.1f}x per CPU-second, {run_study / run_pipe:,.1f}x over "
              f"a {e}-epoch run with pipe's Parquet read and statistics counted (mean epochs; target: 20x), "
              f"{cold:,.1f}x for the first epoch alone with them counted; u8 batches for a GPU: "
              f"{g_best / t['best_epoch_ips']:,.0f}x per epoch, {t_cpu / g_cpu:,.0f}x per CPU-second.")
    check = t.get("max_abs_diff_vs_pipe")
    check_line = ("" if check is None else
                  f"Same batches: the first {o['batch']} examples in file order differ by at most {check:.2g} "
                  f"between the two loaders (padded to {o['size'][0]}x{o['size'][1]}, normalized).")

    tab = ["| tensorize threads | examples | wall s | examples/s | CPU s | examples per CPU-second |",
           "|---:|---:|---:|---:|---:|---:|"]
    for r in tens:
        tab.append(f"| {r['threads']} | {r['examples']:,} | {r['wall_s']:.2f} | {r['examples_per_s']:,.0f} | "
                   f"{r['cpu_s']:.2f} | {r['examples_per_cpu_s']:,.0f} |")

    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = "\n".join(loader) + "\n\n" + ratios + "\n" + check_line + "\n\n" + "\n".join(tab)
    print()
    print(text)
    md = f"""# Loader and tensorize throughput

{n:,} labeled examples (100x221x7 pileups) tensorized by pipe from a simulated 30x genome, read into
batches of {o['batch']} padded to {o['size'][0]}x{o['size'][1]} ([1, 62, 2, 62]) and normalized per channel,
{epochs} shuffled epochs per loader. pipe: `train::loader::Dataset` + `Batches` gathering on its own
thread + `train::host_input::HostInput` (pad and normalize straight into reused f32 NCHW input tensors,
{o['threads']} thread(s)) + `device::Transform`: the train stage's path on a CPU. Study: 7 grayscale
PNGs per example through PIL, stacked to float32, `T.Pad` + `T.Normalize`, torch `DataLoader(shuffle=True,
num_workers={t['num_workers']})` as in `regnety_032_30000.config.yaml`. Files are in the page cache for both.
CPU seconds include the DataLoader's worker processes.

- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}
- machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}; no GPU used
- load average (1/5/15 min) before: {a.load_before}, after: {load_after} (the machine is shared with other builds)
- command: `{a.command}`

{text}

pipe per-epoch seconds: {', '.join(f'{s:.3f}' for s in o['epoch_s'])} (Parquet read {o['read_s']:.3f} s,
statistics {o['stats_s']:.3f} s); study per-epoch seconds: {', '.join(f'{s:.2f}' for s in t['epoch_s'])}.
Tensorize: every confident region of the simulated genome, best of the runs per thread count, CPU time
of that run (user + system, all threads).
"""
    with open(a.out, "w") as f:
        f.write(md)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
