"""The original study's data loader, for bench/loader/run.sh, and the export that feeds it.

  export: writes the labeled examples of an examples Parquet as the study's layout, one 8-bit grayscale
          PNG per channel per example plus a CSV with the header img_ch1,...,img_ch7,class (rows in file
          order, the order pipe's loader reads them in).
  load:   times the study's loader over that CSV. Like rolling-in-the-deep's
          src/dataset_combine_7_channels.py it opens the 7 PNGs of an example with PIL (convert('L')),
          turns each into a float32 tensor, stacks them to 7xHxW and applies
          T.Compose([T.Pad(padding), T.Normalize(mean, std)]); a torch DataLoader (shuffle=True) batches
          them. The study read its CSV with pandas; this reads it once with the csv module (pandas is not
          installed here), which only makes the Python side faster. Prints one JSON object.
"""

import argparse
import csv
import json
import os
import resource
import time

import numpy as np


def export(a):
    import pyarrow.parquet as pq
    from PIL import Image

    pf = pq.ParquetFile(a.examples)
    meta = {k.decode(): v.decode() for k, v in (pf.metadata.metadata or {}).items()}
    h, w = int(meta["height"]), int(meta["width"])
    channels = meta["channels"].split(",")
    c = len(channels)
    os.makedirs(os.path.join(a.out, "png"), exist_ok=True)
    n = 0
    with open(os.path.join(a.out, "examples.csv"), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([f"img_ch{k + 1}" for k in range(c)] + ["class"])
        for batch in pf.iter_batches(columns=["label", "image"], batch_size=1000):
            labels = batch.column("label").to_pylist()
            images = batch.column("image").to_pylist()
            for label, image in zip(labels, images):
                if label is None:
                    continue  # pipe's loader skips unlabeled examples too
                hwc = np.frombuffer(image, dtype=np.uint8).reshape(h, w, c)
                paths = []
                for k in range(c):
                    rel = os.path.join("png", f"{n:06d}_label{label}_ch{k + 1}.png")
                    Image.fromarray(np.ascontiguousarray(hwc[:, :, k]), mode="L").save(os.path.join(a.out, rel))
                    paths.append(rel)
                out.writerow(paths + [label])
                n += 1
    print(json.dumps({"examples": n, "height": h, "width": w, "channels": c}))


def load(a):
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms as T

    root = os.path.dirname(os.path.abspath(a.csv))

    class StudyDataset(Dataset):
        def __init__(self, csv_file, transform):
            with open(csv_file, newline="") as f:
                rows = list(csv.reader(f))[1:]
            self.paths = [[os.path.join(root, p) for p in r[:7]] for r in rows]
            self.labels = [int(r[7]) for r in rows]
            self.transform = transform

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, idx):
            channels = [torch.tensor(np.array(Image.open(p).convert("L")), dtype=torch.float32)
                        for p in self.paths[idx]]
            return self.transform(torch.stack(channels, dim=0)), self.labels[idx]

    mean, std = json.loads(a.mean), json.loads(a.std)
    transform = T.Compose([T.Pad(json.loads(a.pad)), T.Normalize(mean, std)])
    data = StudyDataset(a.csv, transform)
    out = {"examples": len(data), "batch": a.batch, "num_workers": a.num_workers, "epoch_s": []}
    if a.check:
        # The first batch in file order must equal pipe's (written by loader_throughput --dump).
        first = torch.stack([data[i][0] for i in range(min(a.batch, len(data)))])
        ours = torch.from_numpy(np.fromfile(a.check, dtype="<f4")).reshape(first.shape)
        out["max_abs_diff_vs_pipe"] = float((first - ours).abs().max())
    torch.manual_seed(42)
    usage = lambda: sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime
                        for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    cpu0 = usage()
    for _ in range(a.epochs):
        loader = DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.num_workers)
        start = time.perf_counter()
        seen = 0
        for images, labels in loader:
            seen += images.shape[0]
        out["epoch_s"].append(time.perf_counter() - start)
        assert seen == len(data)
    # DataLoader workers are joined at the end of each epoch, so their CPU time is in RUSAGE_CHILDREN.
    out["cpu_epochs_s"] = usage() - cpu0
    out["first_epoch_ips"] = len(data) / out["epoch_s"][0]
    out["best_epoch_ips"] = len(data) / min(out["epoch_s"])
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--examples", required=True)
    e.add_argument("--out", required=True)
    l = sub.add_parser("load")
    l.add_argument("--csv", required=True)
    l.add_argument("--batch", type=int, default=32)
    l.add_argument("--num-workers", type=int, default=4)
    l.add_argument("--epochs", type=int, default=1)
    l.add_argument("--pad", default="[1, 62, 2, 62]", help="torchvision T.Pad order: left, top, right, bottom")
    l.add_argument("--mean", required=True, help="JSON list, one per channel")
    l.add_argument("--std", required=True, help="JSON list, one per channel")
    l.add_argument("--check", help="raw little-endian f32 first batch from pipe's loader to compare with")
    a = p.parse_args()
    export(a) if a.cmd == "export" else load(a)


if __name__ == "__main__":
    main()
