#!/usr/bin/python3
"""Fixtures for tests/test_vep.c (run: /usr/bin/python3 tests/reference/vep_fixtures.py).

Real sequence: two 5 kb C. elegans contigs from htslib-test's ce.fa (/usr/share/htslib-test/test/ce.fa,
Debian package htslib-test, MIT/Expat). The VCFs are derived from that sequence: REF is read from the
FASTA, ALTs are chosen with a fixed seed, and a few records are made bad on purpose (REF mismatch,
unknown contig, symbolic ALTs, a malformed line). Also writes the quickstart subset (see
scripts/quickstart) when datasets/out/chr22_slice exists (hisat2 example: human chr22:20-21 Mb + dbSNP).
"""
import os
import random
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "vep")
CE = "/usr/share/htslib-test/test/ce.fa"
CONTIGS = ["CHROMOSOME_II", "CHROMOSOME_III"]


def read_fasta(path):
    seqs, name = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                name = line[1:].split()[0]
                seqs[name] = []
            elif name:
                seqs[name].append(line)
    return {k: "".join(v) for k, v in seqs.items()}


def write_fasta(path, seqs, names):
    with open(path, "w") as f:
        for n in names:
            f.write(f">{n}\n")
            s = seqs[n]
            for i in range(0, len(s), 60):
                f.write(s[i:i + 60] + "\n")


HEADER = """##fileformat=VCFv4.2
##source=strand tests/reference/vep_fixtures.py (derived from htslib-test ce.fa)
##contig=<ID=CHROMOSOME_II,length=5000>
##contig=<ID=CHROMOSOME_III,length=5000>
##contig=<ID=chrUn_missing,length=10000>
##FILTER=<ID=q10,Description="Quality below 10">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##INFO=<ID=NOTE,Number=1,Type=String,Description="What the record tests">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Structural variant type">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1
"""


def main():
    rng = random.Random(20260601)
    seqs = read_fasta(CE)
    os.makedirs(OUT, exist_ok=True)
    write_fasta(os.path.join(OUT, "ref.fa"), seqs, CONTIGS)
    recs = []

    def other(b, k=1):
        alts = [x for x in "ACGT" if x != b.upper()]
        rng.shuffle(alts)
        return alts[:k]

    def rec(c, pos1, ref, alt, note, idx=None, qual="50", flt="PASS", gt="0/1"):
        recs.append((CONTIGS.index(c) if c in CONTIGS else 2, pos1,
                     f"{c}\t{pos1}\t{idx or '.'}\t{ref}\t{alt}\t{qual}\t{flt}\tDP={rng.randint(5, 60)};NOTE={note}\tGT:GQ\t{gt}:{rng.randint(10, 99)}"))

    for c in CONTIGS:
        s = seqs[c]
        for pos1 in sorted(rng.sample(range(200, 4800), 10)):
            rec(c, pos1, s[pos1 - 1], other(s[pos1 - 1])[0], "snv", idx=f"rs{pos1}")
    s2 = seqs["CHROMOSOME_II"]
    p = 1000
    rec("CHROMOSOME_II", p, s2[p - 1], ",".join(other(s2[p - 1], 3)), "multiallelic_snv")
    p = 1500
    rec("CHROMOSOME_II", p, s2[p - 1:p + 2], s2[p - 1], "deletion")
    p = 1600
    rec("CHROMOSOME_II", p, s2[p - 1], s2[p - 1] + "GATTACA", "insertion")
    p = 1700
    rec("CHROMOSOME_II", p, s2[p - 1:p + 1], other(s2[p - 1])[0] + other(s2[p])[0], "mnv")
    p = 1800
    rec("CHROMOSOME_II", p, s2[p - 1], "<DEL>", "symbolic", flt="q10")
    p = 1900
    rec("CHROMOSOME_II", p, s2[p - 1], other(s2[p - 1])[0] + ",*", "snv_and_star")
    p = 2000
    bad = other(s2[p - 1])[0]
    rec("CHROMOSOME_II", p, bad, other(bad)[0] if other(bad)[0] != s2[p - 1] else other(bad, 2)[1], "ref_mismatch")
    p = 2100
    rec("CHROMOSOME_II", p, s2[p - 1], other(s2[p - 1])[0] + "," + s2[p - 1] + "TT", "snv_and_insertion")
    p = 3  # 3 bp from the contig start
    rec("CHROMOSOME_II", p, s2[p - 1], other(s2[p - 1])[0], "near_start")
    s3 = seqs["CHROMOSOME_III"]
    p = len(s3) - 3  # 3 bp from the contig end
    rec("CHROMOSOME_III", p, s3[p - 1], other(s3[p - 1])[0], "near_end")
    p = 3000
    rec("CHROMOSOME_III", p, s3[p - 1], ".", "no_alt", gt="0/0")
    rec("chrUn_missing", 500, "A", "G", "unknown_contig")
    recs.sort(key=lambda r: (r[0], r[1]))
    with open(os.path.join(OUT, "variants.vcf"), "w") as f:
        f.write(HEADER)
        for r in recs:
            f.write(r[2] + "\n")
    # malformed: the 5th record has a non-numeric POS (file line = header lines + 5)
    with open(os.path.join(OUT, "malformed.vcf"), "w") as f:
        f.write(HEADER)
        for i, r in enumerate(recs[:8]):
            line = r[2]
            if i == 4:
                cols = line.split("\t")
                cols[1] = cols[1] + "x"
                line = "\t".join(cols)
            f.write(line + "\n")
    quickstart_subset()


def quickstart_subset():
    """200 dbSNP SNPs + a 60 kb slice of human chr22 (hisat2 example data, GPL-3+), if fetched."""
    src = os.path.join(ROOT, "datasets", "out", "chr22_slice")
    fa, vcf = os.path.join(src, "22_20-21M.fa.gz"), os.path.join(src, "22_20-21M.snps.vcf.gz")
    if not os.path.exists(fa) or not os.path.exists(vcf):
        print("quickstart subset: datasets/out/chr22_slice missing (run datasets/fetch-dna); skipped")
        return
    seq = subprocess.run(["samtools", "faidx", fa, "22_20-21M:1-60000"], check=True, capture_output=True,
                         text=True).stdout.split("\n", 1)[1].replace("\n", "")
    with open(os.path.join(OUT, "chr22_60kb.fa"), "w") as f:
        f.write(">22_20-21M\n")
        for i in range(0, len(seq), 60):
            f.write(seq[i:i + 60] + "\n")
    lines = subprocess.run(["bcftools", "view", "-H", "-r", "22_20-21M:1-59000", vcf], check=True,
                           capture_output=True, text=True).stdout.splitlines()[:200]
    hdr = subprocess.run(["bcftools", "view", "-h", vcf], check=True, capture_output=True, text=True).stdout
    hdr = hdr.replace("##contig=<ID=22_20-21M,length=1000000>", "##contig=<ID=22_20-21M,length=60000>")
    out = [l for l in hdr.splitlines() if not l.startswith("##bcftools")]
    out.insert(1, "##source=hisat2 example 22_20-21M.snp (dbSNP), first 200 SNPs in 1-59000; "
                  "derived by strand tests/reference/vep_fixtures.py; GPL-3+")
    with open(os.path.join(OUT, "chr22_snps200.vcf"), "w") as f:
        f.write("\n".join(out + lines) + "\n")
    print(f"quickstart subset: {len(lines)} SNPs, {len(seq)} bp")


if __name__ == "__main__":
    main()
