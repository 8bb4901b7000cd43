#!/usr/bin/python3
"""Great-ape chr22 alignment (maffilter-examples, Ensembl Compara EPO 5 catarrhini, human-projected,
gap-free columns) -> training FASTA for four species + held-out derived/ancestral sites.

Usage: ape_prep.py ALIGNMENT.maf.gz OUTDIR [HOLD_START HOLD_END]

HOLD_START/HOLD_END (0-based half-open, GRCh37 chr22; default 20,000,000-21,000,000, the hisat2
slice that holds the dbSNP evaluation sites): every alignment block whose human interval overlaps
it is held out for all four species (orthologous sequence would leak the held-out human bases).

Writes
  OUTDIR/ape_train.fa      one record per (block, species) outside the held-out interval, gaps
                           removed, upper case; names "<Species>.<chrom>:<start1>-<end>_b<block>"
  OUTDIR/ape_heldout.tsv   the human-derived sites of the held-out blocks: columns where human
                           differs from chimp and chimp == gorilla == orangutan (all four A/C/G/T,
                           no gap): slice_pos (1-based in the hisat2 slice contig 22_20-21M),
                           grch37_pos, derived (human), ancestral (the shared ape base)
  OUTDIR/ape_prep.log      counts
Python standard library only.
"""
import gzip
import sys

SPECIES = ("Hsap", "Ptro", "Ggor", "Ppyg")
SLICE_OFFSET = 20_000_000  # slice pos = GRCh37 pos - 20,000,000 (datasets/fetch-dna)


def blocks(path):
    rows = []
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith("a"):
                if rows:
                    yield rows
                rows = []
            elif line.startswith("s "):
                p = line.split()
                rows.append((p[1], int(p[2]), int(p[3]), p[4], p[6]))
    if rows:
        yield rows


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    maf, out = sys.argv[1], sys.argv[2]
    hs, he = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) == 5 else (20_000_000, 21_000_000)
    n_blocks = n_held = n_sites = 0
    bases = {s: 0 for s in SPECIES}
    held_bases = 0
    with open(f"{out}/ape_train.fa", "w") as fa, open(f"{out}/ape_heldout.tsv", "w") as tsv:
        tsv.write("slice_pos\tgrch37_pos\tderived\tancestral\n")
        for bi, rows in enumerate(blocks(maf)):
            n_blocks += 1
            by = {}
            for name, start, size, strand, seq in rows:
                sp = name.split(".")[0]
                if sp in SPECIES and sp not in by:
                    by[sp] = (name, start, size, strand, seq)
            if "Hsap" not in by:
                continue
            _, hstart, hsize, hstrand, hseq = by["Hsap"]
            if hstrand != "+":
                sys.exit(f"ape_prep: block {bi}: human row on the - strand")
            if hstart < he and hstart + hsize > hs:
                n_held += 1
                held_bases += hsize
                if len(by) != 4:
                    continue
                cols = [by[s][4].upper() for s in SPECIES]
                pos = hstart  # 0-based GRCh37 position of the next human base
                for i in range(len(cols[0])):
                    h, c, g, o = (x[i] for x in cols)
                    if h != "-":
                        pos += 1  # now the 1-based position of this column's human base
                    if h == "-" or any(b not in "ACGT" for b in (h, c, g, o)):
                        continue
                    if h != c and c == g == o and hs < pos <= he:
                        tsv.write(f"{pos - SLICE_OFFSET}\t{pos}\t{h}\t{c}\n")
                        n_sites += 1
                continue
            for sp in SPECIES:
                if sp not in by:
                    continue
                name, start, size, strand, seq = by[sp]
                s = seq.replace("-", "").upper()
                bases[sp] += len(s)
                fa.write(f">{name}:{start + 1}-{start + size}_b{bi}\n")
                for k in range(0, len(s), 80):
                    fa.write(s[k:k + 80] + "\n")
    with open(f"{out}/ape_prep.log", "w") as log:
        log.write(f"blocks {n_blocks}\nheld_out_blocks {n_held} (human {held_bases} bases in "
                  f"[{hs},{he}) 0-based GRCh37)\n")
        for sp in SPECIES:
            log.write(f"train_bases {sp} {bases[sp]}\n")
        log.write(f"derived_sites {n_sites}\n")


if __name__ == "__main__":
    main()
