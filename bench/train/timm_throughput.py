"""Training and inference images per second of timm models in PyTorch: the reference side of
bench/train/run.sh, mirroring torch/examples/train_throughput.rs option for option.

timm.create_model(arch, in_chans=7, num_classes=3), Adam (lr 1e-3), cross-entropy, one fixed random
batch; a training step is zero_grad, forward in train mode, backward, step; inference is eval mode under
torch.no_grad(). Prints one JSON object per architecture.
"""

import argparse
import json
import time

import timm
import torch


def rate(step, warmup, steps, batch, cuda):
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    last = None
    for _ in range(steps):
        last = step()
    last.reshape(-1)[0].item()
    if cuda:
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def bench(a, arch, device):
    torch.manual_seed(0)
    model = timm.create_model(arch, pretrained=False, in_chans=a.channels, num_classes=a.classes).to(device)
    x = torch.randn(a.batch, a.channels, a.size, a.size, device=device)
    y = torch.randint(a.classes, (a.batch,), device=device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    cuda = device.type == "cuda"
    autocast = lambda: torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.bf16 and cuda)
    loss_fn = torch.nn.CrossEntropyLoss()
    out = {"impl": "timm", "arch": arch, "batch": a.batch, "threads": torch.get_num_threads(),
           "train_ips": None, "infer_ips": None}
    if a.mode in ("train", "both"):
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def train_step():
            opt.zero_grad()
            with autocast():
                logits = model(x)
            loss = loss_fn(logits.float(), y)
            loss.backward()
            opt.step()
            return loss.detach()

        out["train_ips"] = round(rate(train_step, a.warmup, a.steps, a.batch, cuda), 3)
    if a.mode in ("infer", "both"):
        model.eval()

        def infer_step():
            with torch.no_grad(), autocast():
                return model(x)

        out["infer_ips"] = round(rate(infer_step, a.warmup, a.steps, a.batch, cuda), 3)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--arch", action="append", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--channels", type=int, default=7)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--mode", default="both", choices=["train", "infer", "both"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    for arch in a.arch:
        print(json.dumps(bench(a, arch, device)), flush=True)


if __name__ == "__main__":
    main()
