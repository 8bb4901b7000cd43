#!/usr/bin/python3
"""k-mer Jensen-Shannon divergence of each quarter of generated DNA vs real windows (BD3-LM card).

    /usr/bin/python3 datasets/bd3lm_dna_kmer.py SAMPLES.fa SPECIES_DIR [--k 3] [--parts 4] [--split val]

SAMPLES: FASTA from `strand sample` (every record the same length). Real data: every record of
SPECIES_DIR/<species>/<split>.shard (docs/formats.md "Token shards"; chunks decompressed with the
zstd CLI; DNA ids 7 A, 8 C, 9 G, 10 T). For each of the --parts consecutive parts of the samples,
the k-mer counts (k-mers inside the part, ACGT only) of all samples are pooled and compared with the
pooled k-mer counts of the real windows: JS = ½ KL(p‖m) + ½ KL(q‖m), m = ½(p + q), natural log
(scipy.spatial.distance.jensenshannon squared). Also printed: two random halves of the real data
(the floor: JS of real vs real), and the same-length parts of the real windows.
"""
import argparse, glob, os, struct, subprocess, sys
import numpy as np
from scipy.spatial.distance import jensenshannon

ACGT = {7: "A", 8: "C", 9: "G", 10: "T"}


def read_shard(path):
    b = open(path, "rb").read()
    assert b[:8] == b"STRNDSHD", path
    L, = struct.unpack_from("<I", b, 20)
    n, = struct.unpack_from("<Q", b, 24)
    nchunks, = struct.unpack_from("<I", b, 48)
    # chunk table after the chunks: find it from the end (metadata then table? scan offsets)
    meta_bytes, = struct.unpack_from("<I", b, 52)
    # layout: header | chunks | chunk table (16 bytes each) | metadata
    tab = len(b) - meta_bytes - 16 * nchunks
    seqs = []
    for c in range(nchunks):
        off, clen, recs = struct.unpack_from("<QII", b, tab + 16 * c)
        raw = subprocess.run(["zstd", "-dc"], input=b[off:off + clen], capture_output=True, check=True).stdout
        for r in range(recs):
            seqs.append("".join(ACGT.get(x, "N") for x in raw[r * L:(r + 1) * L]))
    return seqs


def kmers(seqs, k):
    idx = {}
    cnt = np.zeros(4 ** k)
    code = {"A": 0, "C": 1, "G": 2, "T": 3}
    for s in seqs:
        for i in range(len(s) - k + 1):
            w = s[i:i + k]
            if any(ch not in code for ch in w):
                continue
            v = 0
            for ch in w:
                v = 4 * v + code[ch]
            cnt[v] += 1
    return cnt / max(cnt.sum(), 1)


def js(p, q):
    return float(jensenshannon(p, q)) ** 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samples")
    ap.add_argument("species")
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--parts", type=int, default=4)
    ap.add_argument("--split", default="val")
    a = ap.parse_args()
    gen, cur = [], []
    for ln in open(a.samples):
        ln = ln.strip()
        if ln.startswith(">"):
            if cur: gen.append("".join(cur))
            cur = []
        elif ln:
            cur.append(ln)
    if cur: gen.append("".join(cur))
    real = []
    for sh in sorted(glob.glob(os.path.join(a.species, "*", a.split + ".shard"))):
        real += read_shard(sh)
    n = min(len(s) for s in gen)
    part = n // a.parts
    pr = kmers(real, a.k)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(real))
    h1 = kmers([real[i] for i in perm[: len(real) // 2]], a.k)
    h2 = kmers([real[i] for i in perm[len(real) // 2:]], a.k)
    print(f"samples {len(gen)} x {n} bases, real windows {len(real)} x {len(real[0])} ({a.split}), k {a.k}")
    print(f"JS(real half, real half) = {js(h1, h2):.5f}")
    print("part\tbases\tJS(generated part, real)")
    for i in range(a.parts):
        pg = kmers([s[i * part:(i + 1) * part] for s in gen], a.k)
        print(f"{i + 1}\t{i * part}-{(i + 1) * part}\t{js(pg, pr):.5f}")
    print(f"all\t0-{n}\t{js(kmers(gen, a.k), pr):.5f}")


if __name__ == "__main__":
    sys.exit(main())
