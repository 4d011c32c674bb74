"""The PyTorch + timm side of bench/call/run.sh: the same trained model and the same calling examples
as pipe's `call` task, inferred in batches, timed.

The model folder is the `train` stage's output (config.json, model.safetensors with timm's state-dict
names): timm.create_model(arch, in_chans=C, num_classes=3) loads the weights strictly. The examples
table (Parquet, `image` as H*W*C u8 bytes) is read with pyarrow; every image is zero-padded as
config.json says and normalized per channel, (v - mean) / std in float32, as pipe does. Inference is
eval mode under torch.inference_mode(), float32, in batches of --batch in file order, softmax over the
logits.

Prints one JSON object: the seconds spent reading, transforming and inferring (and in all three), the
example count and, with --compare, the largest absolute difference from pipe's probabilities table.
"""

import argparse
import json
import time
import warnings

import numpy as np
import pyarrow.parquet as pq
import timm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file


def load_model(model_dir):
    with open(f"{model_dir}/config.json") as f:
        config = json.load(f)
    model = timm.create_model(config["arch"], pretrained=False, in_chans=len(config["channels"]),
                              num_classes=config["classes"])
    state = load_file(f"{model_dir}/model.safetensors")
    # pipe saves no batch counters (`num_batches_tracked`); timm's only use is a momentum of None.
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name.endswith("num_batches_tracked") and name not in state:
            state[name] = torch.zeros_like(tensor)
    model.load_state_dict(state, strict=True)
    return model.eval(), config


def read_examples(path):
    table = pq.read_table(path, columns=["id", "image"])
    meta = table.schema.metadata or {}
    h, w = int(meta[b"height"]), int(meta[b"width"])
    c = len(meta[b"channels"].split(b","))
    ids = table.column("id").to_pylist()
    # `image` is fixed_size_binary of H*W*C bytes: its data buffer is every image back to back.
    images = table.column("image").combine_chunks()
    size = h * w * c
    flat = np.frombuffer(images.buffers()[1], dtype=np.uint8)
    flat = flat[images.offset * size:(images.offset + len(ids)) * size]
    return ids, flat.reshape(len(ids), h, w, c)


def transform(images, config):
    """u8 NHWC -> padded, normalized float32 NCHW, as pipe's host transform."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    p = config["padding"]
    x = F.pad(x, (p["left"], p["right"], p["top"], p["bottom"]))
    norm = config.get("normalization")
    if norm:
        mean = torch.tensor(norm["mean"], dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(norm["std"], dtype=torch.float32).view(1, -1, 1, 1)
        x = (x - mean) / std
    return x.contiguous()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True, help="the train stage's model folder")
    p.add_argument("--examples", required=True, help="the calling examples (Parquet)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--compare", help="pipe's probabilities.parquet, to check the outputs agree")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    # The images are a view of pyarrow's read-only buffer; they are only read (copied by .float()).
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

    model, config = load_model(a.model)
    start = time.perf_counter()
    ids, images = read_examples(a.examples)
    read_s = time.perf_counter() - start

    t = time.perf_counter()
    batches = [transform(images[i:i + a.batch], config) for i in range(0, len(ids), a.batch)]
    transform_s = time.perf_counter() - t

    t = time.perf_counter()
    outputs = []
    with torch.inference_mode():
        for x in batches:
            outputs.append(model(x).softmax(-1))
    probs = torch.cat(outputs).double().numpy()
    infer_s = time.perf_counter() - t

    out = {"impl": "timm", "examples": len(ids), "batch": a.batch, "threads": torch.get_num_threads(),
           "read_s": read_s, "transform_s": transform_s, "infer_s": infer_s,
           "total_s": read_s + transform_s + infer_s}
    if a.compare:
        theirs = pq.read_table(a.compare, columns=["id", "p0", "p1", "p2"]).to_pydict()
        if theirs["id"] != ids:
            raise SystemExit(f"{a.compare}: its ids are not those of {a.examples} in order")
        pipe_probs = np.stack([theirs["p0"], theirs["p1"], theirs["p2"]], axis=1)
        out["max_abs_diff"] = float(np.abs(pipe_probs - probs).max()) if len(ids) else 0.0
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
