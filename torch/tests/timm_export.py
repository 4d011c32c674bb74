"""Exports a timm model with the study's modification for the Rust parity test (timm_parity.rs).

Usage: timm_export.py IN_CHANNELS NUM_CLASSES HEIGHT WIDTH OUT_DIR ARCH...

For each ARCH (one process, so timm is imported once), creates timm's ARCH (pretrained=False) with a fixed seed, replaces the first convolution by one taking
IN_CHANNELS channels (same out channels, kernel, stride, padding, bias setting) and the classifier by a
Linear layer with NUM_CLASSES outputs, randomises the batch-norm statistics and layer scales so that
every variable matters, and writes to OUT_DIR:
  ARCH.weights.safetensors  the state_dict without `num_batches_tracked`
  ARCH.io.safetensors       `input` (2 x IN_CHANNELS x HEIGHT x WIDTH) and eval-mode `logits`
"""

import sys

import timm
import torch
from safetensors.torch import save_file


def replace(model, name, new):
    parent = model
    *path, last = name.split(".")
    for part in path:
        parent = getattr(parent, part)
    setattr(parent, last, new)


def export(arch, in_ch, classes, height, width, out_dir):
    torch.manual_seed(0)
    model = timm.create_model(arch, pretrained=False)
    first = model.pretrained_cfg["first_conv"]
    conv = model.get_submodule(first)
    replace(model, first, torch.nn.Conv2d(in_ch, conv.out_channels, conv.kernel_size, conv.stride,
                                          conv.padding, bias=conv.bias is not None))
    head = model.pretrained_cfg["classifier"]
    fc = model.get_submodule(head)
    replace(model, head, torch.nn.Linear(fc.in_features, classes))
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif name.endswith("running_mean") or (name.endswith(".weight") and t.dim() == 1):
                t.add_(0.1 * torch.randn_like(t))
            elif name.endswith("gamma"):
                t.uniform_(0.5, 1.0)
    model.eval()
    x = torch.randn(2, in_ch, height, width)
    with torch.no_grad():
        logits = model(x)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(state, f"{out_dir}/{arch}.weights.safetensors")
    save_file({"input": x, "logits": logits}, f"{out_dir}/{arch}.io.safetensors")


def main():
    in_ch, classes, height, width, out_dir, *archs = sys.argv[1:]
    for arch in archs:
        export(arch, int(in_ch), int(classes), int(height), int(width), out_dir)


if __name__ == "__main__":
    main()
