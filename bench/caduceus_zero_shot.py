#!/usr/bin/python3
"""Zero-shot evaluations of a Caduceus model with `strand vep` (models/caduceus-ps-chr20.md):

  (a) observed vs unobserved alleles at dbSNP sites: every site written three times, once per
      possible ALT; AUROC of STRAND_LLR for "this ALT is the dbSNP allele" (the two other ALTs are
      the negatives), beside the baseline "is REF>ALT a transition?"; how often the observed ALT
      has the highest LLR of the three (chance 1/3).
  (b) derived vs ancestral alleles: human-derived sites of the held-out great-ape alignment blocks
      (human differs from chimpanzee, chimpanzee == gorilla == orangutan; datasets/ape_prep.py).
      REF = the human (derived) base; every site written three times as in (a), the ancestral base
      is the positive: AUROC beside the transition baseline, and the fraction of sites where the
      model prefers the ancestral base to the human reference base (STRAND_LLR > 0).
  (c) masked-base accuracy and NLL at the SNP sites of (a) vs random sites of the same sequence:
      the three LLRs of a site give the model's distribution over A/C/G/T at the masked site
      (renormalised over the four bases), so accuracy = REF has the highest probability and
      NLL = log(1 + sum exp LLR).

Everything runs `strand vep --window 512` (masked LLR) and is computed from the bundled files:

    bench/caduceus_zero_shot.py [--model M] [--strand build/strand] [--threads 1] [--json OUT]
        [--fasta tests/data/vep/chr22_60kb.fa] [--snps tests/data/vep/chr22_snps200.vcf]
        [--ape bench/data/ape_derived_22_20-21M.tsv] [--random 200] [--keep DIR] [--metadata TSV]

--metadata writes the headline numbers as key<TAB>value lines, with the model's sha256, to the file
scripts/quickstart reads for its "what these scores are worth" line (for the bundled model:
models/caduceus-ps-chr20.zero_shot.tsv; the quickstart prints it only while the sha256 matches).

Sites of --ape outside the FASTA's contig are skipped (the bundled 60 kb FASTA holds the first
sites of the 1 Mb slice; pass datasets/out/chr22_slice/22_20-21M.fa.gz to score all of them).
Python standard library only (plus the strand binary).
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASES = "ACGT"
TRANSITION = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}


def read_fasta(path):
    op = gzip.open if path.endswith(".gz") else open
    name, seq = None, []
    with op(path, "rt") as f:
        for line in f:
            if line.startswith(">"):
                if name is not None:
                    break
                name = line[1:].split()[0]
            else:
                seq.append(line.strip())
    return name, "".join(seq).upper()


def auroc(scores, labels):
    """Mann-Whitney AUROC with ties counted 1/2."""
    pairs = sorted(zip(scores, labels))
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg = (i + 1 + j) / 2.0  # average 1-based rank of the tie group
        rank_sum += avg * sum(lab for _, lab in pairs[i:j])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def write_vcf(path, contig, length, sites):
    """sites: (pos, ref, id); each written three times, once per possible ALT."""
    with open(path, "w") as f:
        f.write("##fileformat=VCFv4.2\n")
        f.write(f"##contig=<ID={contig},length={length}>\n")
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for pos, ref, sid in sorted(sites):
            for alt in BASES:
                if alt != ref:
                    f.write(f"{contig}\t{pos}\t{sid}\t{ref}\t{alt}\t.\t.\t.\n")


def run_vep(a, fasta, vcf, out):
    cmd = [a.strand, "vep", "-m", a.model, "--window", "512", "--threads", str(a.threads), "-q", "-f", fasta,
           "-o", out, vcf]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"caduceus_zero_shot: {' '.join(cmd)} failed:\n{p.stderr}")
    llr = {}
    with open(out) as f:
        for line in f:
            if line.startswith("#"):
                continue
            c = line.rstrip("\n").split("\t")
            info = dict(kv.split("=", 1) for kv in c[7].split(";") if "=" in kv)
            if "STRAND_LLR" in info:
                llr[(int(c[1]), c[3], c[4])] = float(info["STRAND_LLR"])
    return " ".join(cmd), llr


def site_table(llr, sites, positive):
    """Per site: the three (alt, llr) and which alt is the positive."""
    rows = []
    for pos, ref, _ in sites:
        alts = [(alt, llr.get((pos, ref, alt))) for alt in BASES if alt != ref]
        if any(v is None for _, v in alts):
            continue
        rows.append((pos, ref, alts, positive.get(pos)))
    return rows


def ranking_metrics(rows):
    scores, labels, tr = [], [], []
    first = 0
    for pos, ref, alts, pos_alt in rows:
        best = max(alts, key=lambda t: t[1])[0]
        first += best == pos_alt
        for alt, v in alts:
            scores.append(v)
            labels.append(int(alt == pos_alt))
            tr.append(float((ref, alt) in TRANSITION))
    return {"sites": len(rows), "records": len(scores), "auroc_llr": round(auroc(scores, labels), 4),
            "auroc_transition": round(auroc(tr, labels), 4), "ranked_first": first,
            "ranked_first_chance": round(len(rows) / 3, 1)}


def masked_metrics(rows):
    acc, nll = 0, 0.0
    for _, _, alts, _ in rows:
        z = 1.0 + sum(math.exp(v) for _, v in alts)
        nll += math.log(z)
        acc += all(v < 0 for _, v in alts)
    n = max(len(rows), 1)
    return {"sites": len(rows), "ref_top1": round(acc / n, 4), "nll": round(nll / n, 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "caduceus-ps-chr20.safetensors"))
    ap.add_argument("--strand", default=os.path.join(ROOT, "build", "strand"))
    ap.add_argument("--fasta", default=os.path.join(ROOT, "tests", "data", "vep", "chr22_60kb.fa"))
    ap.add_argument("--snps", default=os.path.join(ROOT, "tests", "data", "vep", "chr22_snps200.vcf"))
    ap.add_argument("--ape", default=os.path.join(ROOT, "bench", "data", "ape_derived_22_20-21M.tsv"))
    ap.add_argument("--random", type=int, default=200, help="random sites for (c) (default 200)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--keep", help="keep the VCFs in this directory")
    ap.add_argument("--metadata", help="write the headline numbers + model sha256 here (key<TAB>value)")
    a = ap.parse_args()

    contig, seq = read_fasta(a.fasta)
    tmp = a.keep or tempfile.mkdtemp(prefix="strand-zs-")
    os.makedirs(tmp, exist_ok=True)
    fasta = os.path.join(tmp, "ref.fa")
    with open(fasta, "w") as f:  # a private copy: the .fai is written next to it
        f.write(f">{contig}\n")
        for k in range(0, len(seq), 60):
            f.write(seq[k:k + 60] + "\n")
    with open(a.model, "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    res = {"model": os.path.relpath(a.model, ROOT), "model_sha256": model_sha, "fasta": os.path.relpath(a.fasta, ROOT), "window": 512}

    # (a) + (c, SNP sites)
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
            if seq[pos - 1] != ref:
                sys.exit(f"caduceus_zero_shot: {a.snps}: REF {ref} at {pos} differs from {a.fasta}")
            snp_sites.append((pos, ref, c[2]))
            observed[pos] = alt
    vcf = os.path.join(tmp, "snps3.vcf")
    write_vcf(vcf, contig, len(seq), snp_sites)
    cmd, llr = run_vep(a, fasta, vcf, os.path.join(tmp, "snps3.vep.vcf"))
    rows = site_table(llr, snp_sites, observed)
    res["a_dbsnp"] = ranking_metrics(rows)
    res["c_snp_sites"] = masked_metrics(rows)
    res["command"] = cmd

    # (c, random sites): uniform over A/C/G/T positions that are not dbSNP sites, fixed seed
    rng = random.Random(20261202)
    cand = [i + 1 for i, b in enumerate(seq) if b in BASES and (i + 1) not in observed]
    rnd = [(p, seq[p - 1], f"r{p}") for p in sorted(rng.sample(cand, min(a.random, len(cand))))]
    vcf = os.path.join(tmp, "random3.vcf")
    write_vcf(vcf, contig, len(seq), rnd)
    _, llr = run_vep(a, fasta, vcf, os.path.join(tmp, "random3.vep.vcf"))
    res["c_random_sites"] = masked_metrics(site_table(llr, rnd, {}))

    # (b) derived vs ancestral
    ape_sites, anc = [], {}
    with open(a.ape) as f:
        next(f)
        for line in f:
            sp, _, der, an = line.split()
            p = int(sp)
            if p > len(seq):
                continue
            if seq[p - 1] != der:
                sys.exit(f"caduceus_zero_shot: {a.ape}: derived base {der} at {p} differs from {a.fasta}")
            ape_sites.append((p, der, f"d{p}"))
            anc[p] = an
    vcf = os.path.join(tmp, "ape3.vcf")
    write_vcf(vcf, contig, len(seq), ape_sites)
    _, llr = run_vep(a, fasta, vcf, os.path.join(tmp, "ape3.vep.vcf"))
    rows = site_table(llr, ape_sites, anc)
    b = ranking_metrics(rows)
    pref = [dict(alts)[anc[p]] for p, _, alts, _ in rows]
    b["prefers_ancestral"] = round(sum(v > 0 for v in pref) / max(len(pref), 1), 4)
    b["mean_llr_ancestral_vs_derived"] = round(sum(pref) / max(len(pref), 1), 4)
    res["b_ape_derived"] = b

    print(json.dumps(res))
    A, B, Cs, Cr = res["a_dbsnp"], res["b_ape_derived"], res["c_snp_sites"], res["c_random_sites"]
    print(f"(a) dbSNP observed vs unobserved ALT: AUROC {A['auroc_llr']:.3f} (transition baseline "
          f"{A['auroc_transition']:.3f}); observed ALT ranked first at {A['ranked_first']}/{A['sites']} sites "
          f"(chance {A['ranked_first_chance']})", file=sys.stderr)
    print(f"(b) ancestral vs other non-human bases: AUROC {B['auroc_llr']:.3f} (transition baseline "
          f"{B['auroc_transition']:.3f}); prefers ancestral over human REF at {B['prefers_ancestral']:.1%} "
          f"of {B['sites']} sites (mean LLR {B['mean_llr_ancestral_vs_derived']:+.3f})", file=sys.stderr)
    print(f"(c) masked REF top-1 / NLL: SNP sites {Cs['ref_top1']:.3f} / {Cs['nll']:.3f}, random sites "
          f"{Cr['ref_top1']:.3f} / {Cr['nll']:.3f} nats", file=sys.stderr)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    if a.metadata:
        rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731
        rows = [("model_sha256", model_sha), ("model", res["model"]),
                ("a_sites", A["sites"]), ("a_auroc_llr", f"{A['auroc_llr']:.3f}"),
                ("a_auroc_transition", f"{A['auroc_transition']:.3f}"),
                ("a_ranked_first", A["ranked_first"]), ("b_sites", B["sites"]), ("b_auroc_llr", f"{B['auroc_llr']:.3f}"),
                ("b_prefers_ancestral", f"{B['prefers_ancestral']:.3f}"),
                ("c_snp_top1", f"{Cs['ref_top1']:.3f}"), ("c_snp_nll", f"{Cs['nll']:.3f}"),
                ("c_random_top1", f"{Cr['ref_top1']:.3f}"), ("c_random_nll", f"{Cr['nll']:.3f}"),
                ("command", f"bench/caduceus_zero_shot.py --model {rel(a.model)} --fasta {rel(a.fasta)} "
                            f"--snps {rel(a.snps)} --ape {rel(a.ape)} --random {a.random}")]
        with open(a.metadata, "w") as f:
            f.write("# written by bench/caduceus_zero_shot.py --metadata; read by scripts/quickstart\n")
            for k, v in rows:
                f.write(f"{k}\t{v}\n")


if __name__ == "__main__":
    main()
