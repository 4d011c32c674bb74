"""Independent count of a query VCF against a truth VCF, for tests/evaluate.rs.

Exact matching after a simple normalization, written without pysam or pipe's code: each record's
called alleles are trimmed (suffix, then prefix) and a biallelic indel is left-aligned against the
FASTA; a biallelic multi-base substitution is split into its SNPs. A truth and a query record match
when (chrom, pos, ref, alt, genotype) agree. Truth records count inside the confident BED (record
span overlapping an interval); query calls outside are UNK. Only FILTER PASS (or .) calls with a
non-reference allele in GT count. An FP whose (chrom, pos, ref, alt) is a truth FN's is FP.gt.

usage: evaluate_reference.py TRUTH.vcf[.gz] QUERY.vcf[.gz] CONFIDENT.bed REFERENCE.fa[.gz]
prints the counts as JSON.
"""

import gzip
import json
import sys


def opener(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rt") if magic == b"\x1f\x8b" else open(path)


def read_fasta(path):
    seqs, name, parts = {}, None, []
    with opener(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                if name is not None:
                    seqs[name] = "".join(parts).upper()
                name, parts = line[1:].split()[0], []
            else:
                parts.append(line)
    if name is not None:
        seqs[name] = "".join(parts).upper()
    return seqs


def read_bed(path):
    regions = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            chrom, start, end = line.split()[:3]
            regions.setdefault(chrom, []).append((int(start), int(end)))
    return regions


def overlaps(regions, chrom, start, end):
    return any(s < end and start < e for s, e in regions.get(chrom, []))


def trim(pos, ref, alt):
    while len(ref) > 0 and len(alt) > 0 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 0 and len(alt) > 0 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def left_align(seq, pos, ref, alt):
    """pos is 0-based; ref/alt trimmed, one of them empty."""
    if ref == "":
        while pos > 0 and seq[pos - 1] == alt[-1]:
            alt, pos = seq[pos - 1] + alt[:-1], pos - 1
    elif alt == "":
        while pos > 0 and seq[pos - 1] == seq[pos + len(ref) - 1]:
            pos -= 1
            ref = seq[pos:pos + len(ref)]
    return pos, ref, alt


def keys(seq, chrom, pos, ref, alts, gt):
    """The normalized (chrom, pos, ref, alt) and genotype of a record's called alleles."""
    called = sorted({g for g in gt if g > 0})
    if len(called) == 1 and len(alts) >= called[0]:
        alt = alts[called[0] - 1]
        p, r, a = trim(pos, ref, alt)
        zyg = "hom" if gt[0] == gt[1] else "het"
        if r and a and len(r) == len(a):
            return [((chrom, p + i, r[i], a[i]), zyg) for i in range(len(r)) if r[i] != a[i]]
        if not r or not a:
            p, r, a = left_align(seq, p, r, a)
        return [((chrom, p, r, a), zyg)]
    alleles = tuple(sorted(trim(pos, ref, alts[g - 1]) for g in called))
    return [((chrom, pos, alleles), "hetalt")]


def read_vcf(path, seqs):
    out = []
    with opener(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            c = line.rstrip("\n").split("\t")
            chrom, pos, ref, alts, flt = c[0], int(c[1]) - 1, c[3].upper(), c[4].upper(), c[6]
            fmt, sample = c[8].split(":"), c[9].split(":")
            gt = sample[fmt.index("GT")].replace("|", "/").split("/")
            gt = [0 if g == "." else int(g) for g in gt]
            if len(gt) == 1:
                gt = gt * 2
            if not any(g > 0 for g in gt) or flt not in ("PASS", "."):
                continue
            span = (pos, pos + len(ref))
            for key in keys(seqs[chrom], chrom, pos, ref, alts.split(","), gt):
                out.append((key, span))
    return out


def main():
    truth_path, query_path, bed_path, fasta_path = sys.argv[1:5]
    seqs = read_fasta(fasta_path)
    conf = read_bed(bed_path)
    truth = [(k, s) for k, s in read_vcf(truth_path, seqs) if overlaps(conf, k[0][0], *s)]
    query = read_vcf(query_path, seqs)
    truth_keys = {k for k, _ in truth}
    inside = [k for k, s in query if overlaps(conf, k[0][0], *s)]
    query_keys = set(inside)
    tp = sum(k in query_keys for k, _ in truth)
    fn_alleles = {k[0] for k, _ in truth if k not in query_keys}
    fp = [k for k in inside if k not in truth_keys]
    print(json.dumps({
        "TRUTH.TOTAL": len(truth),
        "TRUTH.TP": tp,
        "TRUTH.FN": len(truth) - tp,
        "QUERY.TOTAL": len(query),
        "QUERY.TP": len(inside) - len(fp),
        "QUERY.FP": len(fp),
        "QUERY.UNK": len(query) - len(inside),
        "FP.gt": sum(k[0] in fn_alleles for k in fp),
    }))


if __name__ == "__main__":
    main()
