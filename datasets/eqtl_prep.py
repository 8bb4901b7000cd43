#!/usr/bin/python3
"""GEUVADIS chr22 eQTL labels for `strand vep-train` (driven by datasets/eqtl-chr22; docs/vep.md
"Trained score"). Python standard library only.

  eqtl_prep.py reference OUT ALIGNMENT.maf.gz SLICE.fa SLICE.snp
      OUT/chr22_human.fa  contig "22" (GRCh37, 51,304,566 bases): every human row ("Hsap.22") of the
                          maffilter-examples EPO catarrhini alignment, gaps removed, at its start;
                          the hisat2 slice (22:20,000,001-21,000,000) where no block covers; N elsewhere
      OUT/alleles.tsv     ID POS REF ALT of the genotype VCF's SNVs (OUT/variants.tsv: ID POS; the VCF
                          writes alleles as "REF"/"ALT") whose alleles a shipped file gives: hisat2's
                          dbSNP entries (SLICE.snp, 'single', ALT base, 0-based slice offset) and
                          OUT/allele_sources.tsv (POS REF ALT of r-bioc-variantannotation's chr22.vcf.gz
                          and hapmap_exome_chr22.vcf.gz); REF must equal the reconstructed reference,
                          ALT differ from it, sources must agree
      OUT/sites.txt       their IDs (fastQTL --include-sites)
  eqtl_prep.py labels OUT
      OUT/eqtl.vcf        from fastQTL's OUT/perm.txt and OUT/nominal.txt: positives = the lead SNV of
                          every gene with permutation p (beta approximation) <= 0.01;
                          negatives = per positive, the SNV of the same gene's cis window with nominal
                          p > 0.5 whose |distance to the TSS| is closest to the positive's (used once,
                          never a positive). INFO/EQTL (flag), TSSDIST (variant - TSS, bp), GENE.
  Counts go to OUT/eqtl_prep.log (appended).
"""
import gzip
import sys

CHR22_LEN = 51_304_566
SLICE_OFFSET = 20_000_000


def fasta_seq(path):
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        return "".join(line.strip().upper() for line in f if not line.startswith(">")).encode()


def reference(out, maf, slice_fa, slice_snp):
    log = []
    seq = bytearray(b"N" * CHR22_LEN)
    covered = 0
    with gzip.open(maf, "rt") as f:
        for line in f:
            if not line.startswith("s Hsap.22 "):
                continue
            p = line.split()
            start, size, text = int(p[2]), int(p[3]), p[6]
            if p[4] != "+":
                continue
            bases = text.replace("-", "").upper().encode()
            assert len(bases) == size, (p[1], start)
            seq[start:start + size] = bases
            covered += size
    s = fasta_seq(slice_fa)
    agree = differ = filled = 0
    for i, b in enumerate(s):
        j = SLICE_OFFSET + i
        if seq[j] == ord("N"):
            if b != ord("N"):
                seq[j] = b
                filled += 1
        elif b != ord("N"):
            agree += seq[j] == b
            differ += seq[j] != b
    log.append(f"reference: MAF human rows {covered} bases; hisat2 slice {len(s)} bases, agrees with the MAF on "
               f"{agree} and differs on {differ} overlapping bases, fills {filled}; "
               f"non-N {CHR22_LEN - seq.count(b'N')} of {CHR22_LEN}")
    with open(f"{out}/chr22_human.fa", "w") as fo:
        fo.write(">22\n")
        for i in range(0, len(seq), 60):
            fo.write(seq[i:i + 60].decode() + "\n")
    ids = {}
    for line in open(f"{out}/variants.tsv"):
        vid, pos = line.split()
        if vid.startswith("snp_"):
            ids[int(pos)] = vid
    src = {}  # pos -> set of (ref or None, alt)
    for line in open(slice_snp):
        p = line.split()
        if len(p) >= 5 and p[1] == "single":
            src.setdefault(SLICE_OFFSET + int(p[3]) + 1, set()).add((None, p[4].upper()))
    for line in open(f"{out}/allele_sources.tsv"):
        pos, r, a = line.split()
        if len(r) == 1 and len(a) == 1:
            src.setdefault(int(pos), set()).add((r.upper(), a.upper()))
    n_have = n_ok = n_conflict = n_refbad = n_refn = 0
    with open(f"{out}/alleles.tsv", "w") as fa, open(f"{out}/sites.txt", "w") as fs:
        for pos in sorted(ids):
            if pos not in src:
                continue
            n_have += 1
            r = chr(seq[pos - 1])
            if r not in "ACGT":
                n_refn += 1
                continue
            alts = {a for _, a in src[pos]}
            refs = {x for x, _ in src[pos] if x}
            if len(alts) != 1 or (refs and refs != {r}):
                n_conflict += 1
                continue
            a = alts.pop()
            if r not in "ACGT" or a not in "ACGT" or a == r:
                n_refbad += 1
                continue
            fa.write(f"{ids[pos]}\t{pos}\t{r}\t{a}\n")
            fs.write(ids[pos] + "\n")
            n_ok += 1
    log.append(f"alleles: {len(ids)} SNV ids in the genotype VCF; {n_have} with alleles in a shipped file, "
               f"{n_refn} dropped (reference N: no alignment block), {n_conflict} dropped (several ALTs, or a "
               f"source's REF differs from the reference), {n_refbad} dropped (ALT = reference base); "
               f"{n_ok} scorable SNVs (sites.txt)")
    with open(f"{out}/eqtl_prep.log", "w") as f:
        f.write("\n".join(log) + "\n")
    print("\n".join(log))


def labels(out):
    log = []
    var = {}
    for line in open(f"{out}/alleles.tsv"):
        vid, pos, r, a = line.split()
        var[vid] = (int(pos), r, a)
    lead, n_genes = {}, 0
    # fastQTL 2.184 writes 10 columns (pid nvar shape1 shape2 dummy sid dist npval ppval bpval); Debian's
    # 2.184+v7 the 17 of the GTEx fork (pid nvar shape1 shape2 true_df pval_true_df sid dist ma_samples
    # ma_count maf ref_factor pval_nominal slope slope_se pval_perm pval_beta)
    for line in open(f"{out}/perm.txt"):
        p = line.split()
        sid, dist, bp = (p[6], p[7], p[16]) if len(p) >= 17 else (p[5], p[6], p[9]) if len(p) >= 10 else ("NA",) * 3
        if "NA" in (sid, dist, bp) or bp.lower() == "nan":
            continue
        n_genes += 1
        if float(bp) <= 0.01:
            lead[p[0]] = (sid, int(dist))
    pos_ids = {v for v, _ in lead.values()}
    log.append(f"fastQTL: {n_genes} genes with scorable SNVs in cis; {len(lead)} with a lead SNV at permutation "
               f"p <= 0.01 ({len(pos_ids)} distinct SNVs)")
    cand = {}
    for line in open(f"{out}/nominal.txt"):
        p = line.split()
        if len(p) < 4 or p[0] not in lead:
            continue
        npv = float(p[6] if len(p) >= 9 else p[3])  # pid sid dist [ma_samples ma_count maf] pval_nominal ...
        if npv > 0.5 and p[1] in var and p[1] not in pos_ids:
            cand.setdefault(p[0], []).append((p[1], int(p[2])))
    recs, used, dropped = {}, set(), 0
    for g, (vid, d) in sorted(lead.items()):
        if vid in recs:  # the lead of two genes: labelled once
            continue
        best = None
        for cv, cd in cand.get(g, []):
            if cv in used or cv in recs:
                continue
            key = (abs(abs(cd) - abs(d)), cv)
            if best is None or key < best[0]:
                best = (key, cv, cd)
        if best is None:
            dropped += 1
            continue
        used.add(best[1])
        recs[vid] = (1, d, g)
        recs[best[1]] = (0, best[2], g)
    n_pos = sum(r[0] for r in recs.values())
    gaps = sorted(abs(abs(recs[v][1])) for v in recs)
    log.append(f"labelled: {n_pos} positives, {len(recs) - n_pos} distance-matched negatives ({dropped} leads "
               f"without a negative left); |TSSDIST| median {gaps[len(gaps) // 2] if gaps else 0}")
    for name, lo, hi in (("0-30kb", 0, 30000), ("30-100kb", 30000, 100000), (">100kb", 100000, 10**9)):
        k = [r for r in recs.values() if lo <= abs(r[1]) < hi]
        log.append(f"  |TSSDIST| {name}: {sum(r[0] for r in k)} positives, {sum(1 - r[0] for r in k)} negatives")
    with open(f"{out}/eqtl.vcf", "w") as fo:
        fo.write("##fileformat=VCFv4.2\n##contig=<ID=22,length=%d>\n" % CHR22_LEN)
        fo.write('##INFO=<ID=EQTL,Number=0,Type=Flag,Description="Lead SNV of a GEUVADIS gene (fastQTL cis scan on '
                 'the scorable SNVs, permutation p <= 0.01)">\n')
        fo.write('##INFO=<ID=TSSDIST,Number=1,Type=Integer,Description="Variant position - TSS of GENE (bp)">\n')
        fo.write('##INFO=<ID=GENE,Number=1,Type=String,Description="Gene of the cis test">\n')
        fo.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for vid, (lab, d, g) in sorted(recs.items(), key=lambda kv: var[kv[0]][0]):
            pos, r, a = var[vid]
            fo.write(f"22\t{pos}\t{vid}\t{r}\t{a}\t.\t.\t{'EQTL;' if lab else ''}TSSDIST={d};GENE={g}\n")
    with open(f"{out}/eqtl_prep.log", "a") as f:
        f.write("\n".join(log) + "\n")
    print("\n".join(log))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "reference":
        reference(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "labels":
        labels(sys.argv[2])
    else:
        sys.exit(__doc__)
