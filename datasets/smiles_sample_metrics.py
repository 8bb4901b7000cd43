#!/usr/bin/python3
"""Validity, uniqueness and novelty of generated SMILES (RDKit), the metrics of the UDLM paper.

    /usr/bin/python3 datasets/smiles_sample_metrics.py SAMPLES.smi TRAIN.tsv [--column canonical_smiles] [--qed]
    /usr/bin/python3 datasets/smiles_sample_metrics.py A.smi B.smi ... TRAIN.tsv --qed   # one block per file,
                                                        # each headed "file PATH" (the training set read once)

SAMPLES: one SMILES per line (blank line = an empty sample, counted invalid). TRAIN: the training
table (tsv/csv with a header, or .smi); novelty compares RDKit canonical SMILES.
validity   = valid / samples                    (RDKit parses, not empty)
uniqueness = distinct valid (canonical) / valid
novelty    = distinct valid not in the training set / distinct valid
--qed: mean QED of the valid samples and the share with QED >= THRESHOLD (--threshold).
"""
import argparse
import csv
import sys

from rdkit import Chem, RDLogger
from rdkit.Chem import QED

RDLogger.DisableLog("rdApp.*")


def canon(s):
    if not s:
        return None
    m = Chem.MolFromSmiles(s)
    return Chem.MolToSmiles(m) if m is not None else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samples", nargs="+")
    ap.add_argument("train")
    ap.add_argument("--column", default="canonical_smiles")
    ap.add_argument("--qed", action="store_true")
    ap.add_argument("--threshold", type=float, default=None)
    a = ap.parse_args()
    train = set()
    with open(a.train) as f:
        if a.train.endswith(".smi"):
            rows = (line.split()[0] for line in f if line.strip())
        else:
            rd = csv.DictReader(f, delimiter="\t" if a.train.endswith(".tsv") else ",")
            rows = (r[a.column] for r in rd)
        for s in rows:
            c = canon(s)
            if c:
                train.add(c)
    for path in a.samples:
        if len(a.samples) > 1:
            print(f"file\t{path}")
        report(path, train, a)
    print(f"train_canonical\t{len(train)}", file=sys.stderr)


def report(path, train, a):
    with open(path) as f:
        samples = [line.rstrip("\n") for line in f]
    can = [canon(s) for s in samples]
    valid = [c for c in can if c]
    uniq = set(valid)
    novel = uniq - train
    n = len(samples)
    print(f"samples\t{n}")
    print(f"valid\t{len(valid)}\tvalidity\t{len(valid) / max(n, 1):.4f}")
    print(f"unique\t{len(uniq)}\tuniqueness\t{len(uniq) / max(len(valid), 1):.4f}")
    print(f"novel\t{len(novel)}\tnovelty\t{len(novel) / max(len(uniq), 1):.4f}")
    if a.qed and valid:
        q = [QED.qed(Chem.MolFromSmiles(c)) for c in valid]
        print(f"qed_mean_valid\t{sum(q) / len(q):.4f}")
        if a.threshold is not None:
            print(f"qed_ge_threshold\t{sum(x >= a.threshold for x in q) / len(q):.4f}\tthreshold\t{a.threshold}")


if __name__ == "__main__":
    main()
