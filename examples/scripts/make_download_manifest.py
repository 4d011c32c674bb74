"""Writes small DeepVariant-style TFRecord shards and a download manifest of file:// urls for them.

    python3 examples/scripts/make_download_manifest.py OUT [--shards 6] [--per-shard 2] [--seed 1]

OUT/shards/shard-0000i-of-0000n.tfrecord (shards alternate plain and gzip) each hold --per-shard
tf.Example records of one class (shard i holds label i % 3), as make_examples writes them: 8x12x7
uint8 images, image/shape, variant/encoded (a Nucleus Variant), alt_allele_indices/encoded, label.
OUT/manifest.csv lists them as url,digest,size,label; even shards carry their sha256 digest, odd ones
an empty digest, which fetch records on first download (OUT/manifest.csv.digests.tsv) and checks after.

Standard library only: the protobuf messages and the TFRecord framing (masked CRC-32C) are encoded
here by hand from their field numbers.
"""

import argparse
import gzip
import hashlib
import os
import random
import struct

H, W, C = 8, 12, 7


def crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = crc32c_table()


def masked_crc(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def field_int(number, value):
    return varint(number << 3) + varint(value)


def variant(chrom, start, ref, alts, sample):
    """nucleus.genomics.v1.Variant: reference_name 14, start 16, end 13, reference_bases 6,
    alternate_bases 7, calls 11 (VariantCall.call_set_name 9)."""
    msg = field_bytes(14, chrom.encode()) + field_int(16, start) + field_int(13, start + len(ref))
    msg += field_bytes(6, ref.encode())
    for alt in alts:
        msg += field_bytes(7, alt.encode())
    return msg + field_bytes(11, field_bytes(9, sample.encode()))


def feature_bytes(data):
    return field_bytes(1, field_bytes(1, data))  # Feature.bytes_list = 1, BytesList.value = 1


def feature_ints(values):
    packed = b"".join(varint(v) for v in values)
    return field_bytes(3, field_bytes(1, packed))  # Feature.int64_list = 3, Int64List.value = 1


def example(features):
    """tf.Example: features 1 -> Features.feature 1 (map entries: key 1, value 2)."""
    entries = b"".join(field_bytes(1, field_bytes(1, k.encode()) + field_bytes(2, v))
                       for k, v in sorted(features.items()))
    return field_bytes(1, entries)


def record(data):
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))


def shard(rng, label, count):
    out = bytearray()
    for _ in range(count):
        pos = rng.randrange(1_000_000, 60_000_000)
        image = bytes(rng.randrange(256) for _ in range(H * W * C))
        out += record(example({
            "image/encoded": feature_bytes(image),
            "image/shape": feature_ints([H, W, C]),
            "variant/encoded": feature_bytes(variant("chr20", pos, "A", ["G"], "NA12878")),
            "alt_allele_indices/encoded": feature_bytes(field_bytes(1, varint(0))),
            "locus": feature_bytes(f"chr20:{pos + 1}-{pos + 1}".encode()),
            "variant_type": feature_ints([1]),
            "label": feature_ints([label]),
        }))
    return bytes(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--shards", type=int, default=6)
    p.add_argument("--per-shard", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    folder = os.path.abspath(os.path.join(a.out, "shards"))
    os.makedirs(folder, exist_ok=True)
    rows = ["url,digest,size,label"]
    for i in range(a.shards):
        label = i % 3
        data = shard(rng, label, a.per_shard)
        name = f"shard-{i:05d}-of-{a.shards:05d}.tfrecord"
        if i % 2:
            name += ".gz"
            data = gzip.compress(data, mtime=0)
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(data)
        digest = "" if i % 2 else "sha256:" + hashlib.sha256(data).hexdigest()
        rows.append(f"file://{path},{digest},{len(data)},{label}")
    with open(os.path.join(a.out, "manifest.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"wrote {a.shards} shards and {os.path.join(a.out, 'manifest.csv')}")


if __name__ == "__main__":
    main()
