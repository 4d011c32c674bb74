"""Writes the original study's layout of per-channel PNGs and a download manifest of file:// urls for them.

    python3 examples/scripts/make_png_manifest.py OUT [--examples 6] [--seed 1]

OUT/pngs/ex<i>_img_ch<c>.png: 7 grayscale 8-bit PNGs (10 rows x 15 columns) per example, example i of
class i % 3. OUT/manifest.csv lists them one per row as url,digest,size,example,channel,label (the
digest empty: fetch records it on first download and checks it after), so fetch with
group_by: example downloads whole examples and from_pngs reads its chosen.csv.

Standard library only: each PNG is written by hand (signature, IHDR, one zlib-compressed IDAT, IEND).
"""

import argparse
import os
import random
import struct
import zlib

H, W, CHANNELS = 10, 15, 7


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(pixels):
    """An 8-bit grayscale PNG of rows of byte values."""
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", W, H, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + \
        chunk(b"IEND", b"")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--examples", type=int, default=6)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    pngs = os.path.join(a.out, "pngs")
    os.makedirs(pngs, exist_ok=True)
    rows = []
    for i in range(a.examples):
        for c in range(1, CHANNELS + 1):
            name = f"ex{i}_img_ch{c}.png"
            path = os.path.abspath(os.path.join(pngs, name))
            with open(path, "wb") as f:
                f.write(png([[rng.randrange(256) for _ in range(W)] for _ in range(H)]))
            rows.append((f"file://{path}", "", os.path.getsize(path), f"ex{i}", f"img_ch{c}", i % 3))
    with open(os.path.join(a.out, "manifest.csv"), "w") as f:
        f.write("url,digest,size,example,channel,label\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    print(f"wrote {a.examples} examples of {CHANNELS} PNGs and {os.path.join(a.out, 'manifest.csv')}")


if __name__ == "__main__":
    main()
