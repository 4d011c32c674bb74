"""Independent writer (and checker) of DeepVariant-style examples for pipe's source tests.

`write OUT --n N --seed S` writes, from the same seeded random 100x221x7 uint8 images:
  OUT/plain.tfrecord, OUT/gzip.tfrecord.gz   tf.Example records as make_examples writes them
  OUT/data/pngs/ex<i>_ch<c>.png              7 per-channel 8-bit grayscale PNGs per example (Pillow)
  OUT/data/table.csv                         the study's layout: img_ch1..img_ch7,class, paths
                                             relative to OUT (the study's are relative to its repo root)
  OUT/images.bin, OUT/meta.json              the original images (concatenated HWC) and fields
`check FILE OUT` reads a TFRecord file (plain or gzip) written by someone else, verifies every
checksum and compares images, shapes and labels with OUT/images.bin and OUT/meta.json.

Everything (CRC-32C, protobuf wire format) is implemented here from the specs, so the test does not
share code with pipe. Needs numpy and Pillow only.
"""

import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

H, W, C = 100, 221, 7


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(record):
    length = struct.pack("<Q", len(record))
    return (length + struct.pack("<I", masked_crc(length)) + record
            + struct.pack("<I", masked_crc(record)))


# --- protobuf wire format -------------------------------------------------------------------------

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_len(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def field_varint(num, v):
    return varint(num << 3 | 0) + varint(v)


def bytes_feature(value):
    return field_len(1, field_len(1, value))  # Feature.bytes_list -> BytesList.value


def int64_feature(values):
    packed = b"".join(varint(v) for v in values)
    return field_len(3, field_len(1, packed))  # Feature.int64_list -> Int64List.value (packed)


def tf_example(features):
    entries = b"".join(field_len(1, field_len(1, k.encode()) + field_len(2, v))
                       for k, v in features.items())
    return field_len(1, entries)  # Example.features -> Features.feature map entries


def variant(chrom, start, ref, alts, sample):
    out = field_len(14, chrom.encode()) + field_varint(16, start)
    out += field_varint(13, start + len(ref)) + field_len(6, ref.encode())
    for a in alts:
        out += field_len(7, a.encode())
    out += field_len(11, field_len(9, sample.encode()))  # calls[0].call_set_name
    return out


def parse(buf):
    """Protobuf message -> {field number: [values]} (varints as ints, length-delimited as bytes)."""
    fields, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(buf, i)
        elif wire == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        fields.setdefault(num, []).append(v)
    return fields


def read_varint(buf, i):
    shift = v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def packed_varints(buf):
    out, i = [], 0
    while i < len(buf):
        v, i = read_varint(buf, i)
        out.append(v - (1 << 64) if v >> 63 else v)
    return out


# --- commands -------------------------------------------------------------------------------------

def make_examples(n, seed):
    rng = np.random.default_rng(seed)
    examples = []
    for i in range(n):
        image = rng.integers(0, 256, size=(H, W, C), dtype=np.uint8)
        pos = int(rng.integers(1_000_000, 60_000_000))
        alts, indices = (["C", "TA"], [1]) if i == 1 else (["G"], [0])
        label = None if i == n - 1 else i % 3
        examples.append(dict(image=image, pos=pos, ref="A", alts=alts, indices=indices, label=label))
    return examples


def write(out, n, seed):
    os.makedirs(os.path.join(out, "data", "pngs"), exist_ok=True)
    examples = make_examples(n, seed)
    records, meta, rows = [], [], []
    for i, e in enumerate(examples):
        alt = ",".join(e["alts"][k] for k in e["indices"])
        features = {
            "image/encoded": bytes_feature(e["image"].tobytes()),
            "image/shape": int64_feature([H, W, C]),
            "variant/encoded": bytes_feature(variant("chr20", e["pos"], e["ref"], e["alts"], "NA12878")),
            "alt_allele_indices/encoded": bytes_feature(field_len(1, b"".join(varint(k) for k in e["indices"]))),
            "locus": bytes_feature(f"chr20:{e['pos'] + 1}-{e['pos'] + 1}".encode()),
            "variant_type": int64_feature([1 if len(alt) == 1 else 2]),
        }
        if i % 2 == 0:
            features["image/format"] = bytes_feature(b"raw")  # older Python writers add it
        if e["label"] is not None:
            features["label"] = int64_feature([e["label"]])
        records.append(frame(tf_example(features)))
        paths = []
        for c in range(C):
            rel = f"data/pngs/ex{i}_ch{c + 1}.png"
            Image.fromarray(np.ascontiguousarray(e["image"][:, :, c])).save(os.path.join(out, rel))
            paths.append(rel)
        rows.append(paths + ["" if e["label"] is None else str(e["label"])])
        meta.append(dict(id=f"chr20:{e['pos'] + 1}:{e['ref']}>{alt}", chrom="chr20", pos=e["pos"],
                         ref=e["ref"], alt=alt, label=e["label"], png_id=paths[0]))
    with open(os.path.join(out, "plain.tfrecord"), "wb") as f:
        f.write(b"".join(records))
    with gzip.open(os.path.join(out, "gzip.tfrecord.gz"), "wb") as f:
        f.write(b"".join(records))
    with open(os.path.join(out, "data", "table.csv"), "w") as f:
        f.write(",".join([f"img_ch{c}" for c in range(1, C + 1)] + ["class"]) + "\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    with open(os.path.join(out, "images.bin"), "wb") as f:
        for e in examples:
            f.write(e["image"].tobytes())
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)


def check(path, out):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    meta = json.load(open(os.path.join(out, "meta.json")))
    images = open(os.path.join(out, "images.bin"), "rb").read()
    i, k = 0, 0
    while i < len(data):
        (length,) = struct.unpack_from("<Q", data, i)
        (lcrc,) = struct.unpack_from("<I", data, i + 8)
        assert lcrc == masked_crc(data[i:i + 8]), f"record {k}: length crc"
        record = data[i + 12:i + 12 + length]
        (dcrc,) = struct.unpack_from("<I", data, i + 12 + length)
        assert dcrc == masked_crc(record), f"record {k}: data crc"
        i += 16 + length
        feats = {}
        for entry in parse(parse(record)[1][0]).get(1, []):
            e = parse(entry)
            feats[e[1][0].decode()] = parse(e[2][0])
        image = parse(feats["image/encoded"][1][0])[1][0]
        shape = packed_varints(parse(feats["image/shape"][3][0])[1][0])
        label = packed_varints(parse(feats["label"][3][0])[1][0])[0] if "label" in feats else None
        v = parse(parse(feats["variant/encoded"][1][0])[1][0])
        assert shape == [H, W, C], f"record {k}: shape {shape}"
        assert image == images[k * H * W * C:(k + 1) * H * W * C], f"record {k}: image differs"
        assert label == meta[k]["label"], f"record {k}: label {label} != {meta[k]['label']}"
        assert v[14][0].decode() == meta[k]["chrom"] and v[16][0] == meta[k]["pos"], f"record {k}: variant"
        k += 1
    assert k == len(meta), f"{k} records, expected {len(meta)}"
    print(f"ok: {k} records")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("out")
    w.add_argument("--n", type=int, default=5)
    w.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("check")
    c.add_argument("file")
    c.add_argument("out")
    a = p.parse_args()
    if a.cmd == "write":
        write(a.out, a.n, a.seed)
    else:
        try:
            check(a.file, a.out)
        except AssertionError as e:
            print(f"mismatch: {e}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
