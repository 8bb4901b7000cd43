#!/usr/bin/python3
"""Context k-mer baselines for the zero-shot evaluations of bench/caduceus_zero_shot.py
(models/caduceus-ps-chr20.md): what a masked-context predictor that only counts k bases on each
side of the masked base reaches on the same sites.

For k = 0..K, p_k(b | k left + k right bases) is counted on the training sequence (both strands,
so the counts are reverse-complement symmetric like Caduceus-PS) and smoothed by interpolating
with the order k-1 estimate (Dirichlet prior of weight --alpha centred on p_{k-1}; k = 0 is the
base composition). Each site's three ALTs then get the score LLR = log p(ALT) - log p(REF) that
`strand vep`'s masked STRAND_LLR is for the network, and the same metrics are computed:

  (a) AUROC of LLR, dbSNP observed ALT vs the two unobserved ones; observed ALT ranked first
  (b) AUROC, ancestral base vs the other two non-human bases at human-derived sites; fraction
      of sites where the ancestral base is preferred to the human REF
  (c) masked REF top-1 accuracy and NLL over A/C/G/T, at the dbSNP sites and at the random sites
      (the random sites of caduceus_zero_shot.py: same seed, same candidates)

    bench/caduceus_kmer_baseline.py --train FASTA[.gz] [--train ...] [--exclude CONTIG:START-END ...]
        [-K 5] [--alpha 4] [--fasta tests/data/vep/chr22_60kb.fa] [--snps tests/data/vep/chr22_snps200.vcf]
        [--ape bench/data/ape_derived_22_20-21M.tsv] [--random 200] [--json OUT]

--exclude drops a 1-based inclusive interval of a training record (e.g. chr20's held-out
20:50,000,001-60,000,000, which the network never trained on either). The training FASTAs of the
bundled model are those of datasets/train-caduceus-v2: chr20 (datasets/fetch-dna chr20/20.fa.gz)
and WORKDIR/data/ape_train.fa (datasets/ape_prep.py; the held-out slice's blocks are not in it).
Needs numpy.
"""
import argparse
import gzip
import json
import math
import os
import random
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import caduceus_zero_shot as zs  # noqa: E402  (auroc, read_fasta, metrics: the same definitions)

BASES = "ACGT"
LUT = np.full(256, 4, dtype=np.uint8)
for i, c in enumerate(BASES):
    LUT[ord(c)] = i
    LUT[ord(c.lower())] = i


def records(path):
    op = gzip.open if path.endswith(".gz") else open
    name, chunks = None, []
    with op(path, "rb") as f:
        for line in f:
            if line.startswith(b">"):
                if name is not None:
                    yield name, b"".join(chunks)
                name, chunks = line[1:].split()[0].decode(), []
            else:
                chunks.append(line.strip())
    if name is not None:
        yield name, b"".join(chunks)


def count_whole(counts, codes, K, chunk):
    """count_order over chunks: windows of every order are counted once, chunks overlap by 2K."""
    n = len(codes)
    a = 0
    while a < n:
        b = min(a + chunk, n)
        part = codes[a:min(b + 2 * K, n)]
        # each order k counts windows starting in [a, b): trim the part per order
        for k in range(K + 1):
            w = 2 * k + 1
            count_order(counts, part[:min(len(part), (b - a) + w - 1)], k)
        a = b


def count_order(counts, x, k):
    for strand in (0, 1):
        y = x if strand == 0 else np.where(x < 4, 3 - x, 4)[::-1]
        n = len(y)
        w = 2 * k + 1
        if n < w:
            continue
        m = n - w + 1
        bad = np.concatenate(([0], np.cumsum(y >= 4, dtype=np.int64)))
        ok = (bad[w:] - bad[:m]) == 0
        yi = np.where(y < 4, y, 0).astype(np.int64)
        key = np.zeros(m, dtype=np.int64)
        for j in range(w):
            if j != k:
                key = key * 4 + yi[j:j + m]
        key = key * 4 + yi[k:k + m]
        counts[k] += np.bincount(key[ok], minlength=4 ** w)


def predictor(counts, K, alpha):
    """probs[k][context] = smoothed distribution over the centre base (order k)."""
    probs = []
    for k in range(K + 1):
        c = counts[k].reshape(-1, 4).astype(np.float64)
        if k == 0:
            p = (c + 1.0) / (c.sum() + 4.0)
        else:
            # parent context (order k-1): drop the outermost left and right base
            nctx = 4 ** (2 * k)
            ctx = np.arange(nctx, dtype=np.int64)
            # context = 2k base-4 digits, most significant first: k left bases, then k right bases
            digits = [(ctx >> (2 * (2 * k - 1 - d))) & 3 for d in range(2 * k)]
            parent = np.zeros(nctx, dtype=np.int64)
            for d in range(1, 2 * k - 1):  # drop digit 0 (outermost left) and 2k-1 (outermost right)
                parent = parent * 4 + digits[d]
            prior = probs[k - 1][parent]
            p = (c + alpha * prior) / (c.sum(axis=1, keepdims=True) + alpha)
        probs.append(p)
    return probs


def site_llr(probs, k, seq, pos, ref):
    """LLR of the three ALTs at 1-based pos under order k; None if the context has a non-ACGT base."""
    i = pos - 1
    if i - k < 0 or i + k >= len(seq):
        return None
    ctx = seq[i - k:i] + seq[i + 1:i + 1 + k]
    key = 0
    for ch in ctx:
        if ch not in BASES:
            return None
        key = key * 4 + BASES.index(ch)
    p = probs[k][key] if k > 0 else probs[0][0]
    lr = math.log(p[BASES.index(ref)])
    return {alt: math.log(p[BASES.index(alt)]) - lr for alt in BASES if alt != ref}


def evaluate(probs, k, seq, sites, positive):
    rows = []
    for pos, ref, _ in sites:
        llr = site_llr(probs, k, seq, pos, ref)
        if llr is None:
            continue
        rows.append((pos, ref, [(alt, llr[alt]) for alt in BASES if alt != ref], positive.get(pos)))
    return rows


def parse_region(s):
    c, r = s.rsplit(":", 1)
    a, b = r.replace(",", "").split("-")
    return c, int(a), int(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", action="append", required=True)
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("-K", type=int, default=5)
    ap.add_argument("--alpha", type=float, default=4.0)
    ap.add_argument("--fasta", default=os.path.join(ROOT, "tests", "data", "vep", "chr22_60kb.fa"))
    ap.add_argument("--snps", default=os.path.join(ROOT, "tests", "data", "vep", "chr22_snps200.vcf"))
    ap.add_argument("--ape", default=os.path.join(ROOT, "bench", "data", "ape_derived_22_20-21M.tsv"))
    ap.add_argument("--random", type=int, default=200)
    ap.add_argument("--json")
    a = ap.parse_args()

    excludes = [parse_region(s) for s in a.exclude]
    counts = [np.zeros(4 ** (2 * k + 1), dtype=np.int64) for k in range(a.K + 1)]
    total = 0
    for path in a.train:
        for name, seq in records(path):
            codes = LUT[np.frombuffer(seq, dtype=np.uint8)].copy()
            for c, s, e in excludes:
                if c == name:
                    codes[max(s - 1, 0):e] = 4
            total += int((codes < 4).sum())
            count_whole(counts, codes, a.K, 4_000_000)
    probs = predictor(counts, a.K, a.alpha)

    contig, seq = zs.read_fasta(a.fasta)
    snp_sites, observed = [], {}
    op = gzip.open if a.snps.endswith(".gz") else open
    with op(a.snps, "rt") as f:
        for line in f:
            if line.startswith("#"):
                continue
            c = line.split("\t")
            pos, ref, alt = int(c[1]), c[3].upper(), c[4].upper()
            if c[0] != contig or len(ref) != 1 or alt not in BASES or pos in observed:
                continue
            snp_sites.append((pos, ref, c[2]))
            observed[pos] = alt
    rng = random.Random(20261202)  # as caduceus_zero_shot.py
    cand = [i + 1 for i, b in enumerate(seq) if b in BASES and (i + 1) not in observed]
    rnd = [(p, seq[p - 1], f"r{p}") for p in sorted(rng.sample(cand, min(a.random, len(cand))))]
    ape_sites, anc = [], {}
    with open(a.ape) as f:
        next(f)
        for line in f:
            sp, _, der, an = line.split()
            p = int(sp)
            if p <= len(seq):
                ape_sites.append((p, der, f"d{p}"))
                anc[p] = an

    res = {"train": [os.path.relpath(p, ROOT) if p.startswith(ROOT) else p for p in a.train],
           "exclude": a.exclude, "train_bases_one_strand": total, "alpha": a.alpha, "orders": []}
    print(f"training bases (one strand, ACGT): {total:,}; alpha {a.alpha}", file=sys.stderr)
    print("k\t(a)AUROC\t(a)first\t(b)AUROC\t(b)prefers_anc\t(c)snp_top1\t(c)snp_nll\t(c)rnd_top1\t(c)rnd_nll",
          file=sys.stderr)
    for k in range(a.K + 1):
        ra = evaluate(probs, k, seq, snp_sites, observed)
        rb = evaluate(probs, k, seq, ape_sites, anc)
        rr = evaluate(probs, k, seq, rnd, {})
        A, B = zs.ranking_metrics(ra), zs.ranking_metrics(rb)
        pref = [dict(alts)[anc[p]] for p, _, alts, _ in rb]
        B["prefers_ancestral"] = round(sum(v > 0 for v in pref) / max(len(pref), 1), 4)
        Cs, Cr = zs.masked_metrics(ra), zs.masked_metrics(rr)
        res["orders"].append({"k": k, "a_dbsnp": A, "b_ape_derived": B, "c_snp_sites": Cs, "c_random_sites": Cr})
        print(f"{k}\t{A['auroc_llr']:.3f}\t{A['ranked_first']}/{A['sites']}\t{B['auroc_llr']:.3f}\t"
              f"{B['prefers_ancestral']:.3f}\t{Cs['ref_top1']:.3f}\t{Cs['nll']:.3f}\t{Cr['ref_top1']:.3f}\t"
              f"{Cr['nll']:.3f}", file=sys.stderr)
    print(json.dumps(res))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
