#!/usr/bin/python3
"""Length distribution (characters) of generated SMILES vs a training table, as a Markdown table.

    /usr/bin/python3 datasets/smiles_length_hist.py SAMPLES.smi TABLE.tsv [--column canonical_smiles] [--bin 8] [--rows N]

SAMPLES: one SMILES per line (an empty line is a sample of length 0). TABLE: tsv with a header;
--rows: only the first N data rows (default all). Prints the share of each set per length bin,
the means and the medians.
"""
import argparse, csv, statistics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samples")
    ap.add_argument("table")
    ap.add_argument("--column", default="canonical_smiles")
    ap.add_argument("--bin", type=int, default=8)
    ap.add_argument("--rows", type=int, default=0)
    a = ap.parse_args()
    gen = [len(l.rstrip("\n")) for l in open(a.samples)]
    with open(a.table, newline="") as f:
        r = csv.DictReader(f, delimiter="\t")
        tr = []
        for i, row in enumerate(r):
            if a.rows and i >= a.rows:
                break
            tr.append(len(row[a.column]))
    top = max(max(gen), max(tr))
    print(f"| length (chars) | generated (n={len(gen)}) | training (n={len(tr)}) |")
    print("|---|---|---|")
    for lo in range(0, top + 1, a.bin):
        hi = lo + a.bin - 1
        g = sum(lo <= x <= hi for x in gen) / len(gen)
        t = sum(lo <= x <= hi for x in tr) / len(tr)
        print(f"| {lo}-{hi} | {100 * g:.1f}% | {100 * t:.1f}% |")
    print(f"| mean / median | {statistics.mean(gen):.1f} / {statistics.median(gen):.0f} | "
          f"{statistics.mean(tr):.1f} / {statistics.median(tr):.0f} |")


if __name__ == "__main__":
    main()
