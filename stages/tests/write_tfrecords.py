"""Independent writer (and checker) of DeepVariant-style examples for pipe's source tests.

`write OUT --n N --seed S` writes, from the same seeded random 100x221x7 uint8 images:
  OUT/plain.tfrecord, OUT/gzip.tfrecord.gz   tf.Example records as make_examples writes them
  OUT/data/pngs/ex<i>_ch<c>.png              7 per-channel 8-bit grayscale PNGs per example (Pillow)
  OUT/data/table.csv                         the study's layout: img_ch1..img_ch7,class, paths
                                             relative to OUT (the study's are relative to its repo root)
  OUT/images.bin, OUT/meta.json              the original images (concatenated HWC) and fields
`check FILE OUT` reads a TFRecord file (plain or gzip) written by someone else, verifies every
checksum and compares images, shapes and labels with OUT/images.bin and OUT/meta.json.

Records are framed and checksummed by the `tfrecord` package and encoded by Google's protobuf runtime
(tf.Example from `tfrecord`, Nucleus' Variant and DeepVariant's AltAlleleIndices declared below from
their .proto field numbers), so the test shares no code with pipe. Needs numpy, Pillow and tfrecord.
"""

import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from PIL import Image
from tfrecord import example_pb2
from tfrecord.writer import TFRecordWriter

H, W, C = 100, 221, 7


def nucleus_messages():
    """Message classes for the fields make_examples fills: nucleus.genomics.v1.Variant (variants.proto)
    and learning.genomics.deepvariant.CallVariantsOutput.AltAlleleIndices (deepvariant.proto)."""
    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="pipe_test_nucleus.proto", package="pipe_test",
                                               syntax="proto3")
    call = proto.message_type.add(name="VariantCall")
    call.field.add(name="call_set_name", number=9, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    variant = proto.message_type.add(name="Variant")
    for name, number, kind, label in [
        ("reference_name", 14, F.TYPE_STRING, F.LABEL_OPTIONAL),
        ("start", 16, F.TYPE_INT64, F.LABEL_OPTIONAL),
        ("end", 13, F.TYPE_INT64, F.LABEL_OPTIONAL),
        ("reference_bases", 6, F.TYPE_STRING, F.LABEL_OPTIONAL),
        ("alternate_bases", 7, F.TYPE_STRING, F.LABEL_REPEATED),
    ]:
        variant.field.add(name=name, number=number, type=kind, label=label)
    variant.field.add(name="calls", number=11, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                      type_name=".pipe_test.VariantCall")
    indices = proto.message_type.add(name="AltAlleleIndices")
    indices.field.add(name="indices", number=1, type=F.TYPE_INT32, label=F.LABEL_REPEATED)
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(proto.SerializeToString())
    return (message_factory.GetMessageClass(pool.FindMessageTypeByName("pipe_test.Variant")),
            message_factory.GetMessageClass(pool.FindMessageTypeByName("pipe_test.AltAlleleIndices")))


Variant, AltAlleleIndices = nucleus_messages()


def checked_records(data):
    """(index, record bytes) of each TFRecord frame in `data`, every checksum verified."""
    i, k = 0, 0
    while i < len(data):
        length_bytes = data[i:i + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        assert data[i + 8:i + 12] == TFRecordWriter.masked_crc(length_bytes), f"record {k}: length crc"
        record = data[i + 12:i + 12 + length]
        assert data[i + 12 + length:i + 16 + length] == TFRecordWriter.masked_crc(record), \
            f"record {k}: data crc"
        yield k, record
        i += 16 + length
        k += 1


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
    meta, rows = [], []
    plain = os.path.join(out, "plain.tfrecord")
    writer = TFRecordWriter(plain)
    for i, e in enumerate(examples):
        alt = ",".join(e["alts"][k] for k in e["indices"])
        variant = Variant(reference_name="chr20", start=e["pos"], end=e["pos"] + len(e["ref"]),
                          reference_bases=e["ref"], alternate_bases=e["alts"])
        variant.calls.add(call_set_name="NA12878")
        features = {
            "image/encoded": (e["image"].tobytes(), "byte"),
            "image/shape": ([H, W, C], "int"),
            "variant/encoded": (variant.SerializeToString(), "byte"),
            "alt_allele_indices/encoded":
                (AltAlleleIndices(indices=e["indices"]).SerializeToString(), "byte"),
            "locus": (f"chr20:{e['pos'] + 1}-{e['pos'] + 1}".encode(), "byte"),
            "variant_type": (1 if len(alt) == 1 else 2, "int"),
        }
        if i % 2 == 0:
            features["image/format"] = (b"raw", "byte")  # older Python writers add it
        if e["label"] is not None:
            features["label"] = (e["label"], "int")
        writer.write(features)
        paths = []
        for c in range(C):
            rel = f"data/pngs/ex{i}_ch{c + 1}.png"
            Image.fromarray(np.ascontiguousarray(e["image"][:, :, c])).save(os.path.join(out, rel))
            paths.append(rel)
        rows.append(paths + ["" if e["label"] is None else str(e["label"])])
        meta.append(dict(id=f"chr20:{e['pos'] + 1}:{e['ref']}>{alt}", chrom="chr20", pos=e["pos"],
                         ref=e["ref"], alt=alt, label=e["label"], png_id=paths[0]))
    writer.close()
    # TensorFlow's GZIP TFRecord files are the plain record stream in one gzip stream.
    with open(plain, "rb") as f, gzip.open(os.path.join(out, "gzip.tfrecord.gz"), "wb") as z:
        z.write(f.read())
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
    count = 0
    for k, record in checked_records(data):
        feature = example_pb2.Example.FromString(record).features.feature
        image = feature["image/encoded"].bytes_list.value[0]
        shape = list(feature["image/shape"].int64_list.value)
        label = feature["label"].int64_list.value[0] if "label" in feature else None
        variant = Variant.FromString(feature["variant/encoded"].bytes_list.value[0])
        assert shape == [H, W, C], f"record {k}: shape {shape}"
        assert image == images[k * H * W * C:(k + 1) * H * W * C], f"record {k}: image differs"
        assert label == meta[k]["label"], f"record {k}: label {label} != {meta[k]['label']}"
        assert (variant.reference_name, variant.start) == (meta[k]["chrom"], meta[k]["pos"]), \
            f"record {k}: variant {variant.reference_name}:{variant.start}"
        count += 1
    assert count == len(meta), f"{count} records, expected {len(meta)}"
    print(f"ok: {count} records")


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
