#!/usr/bin/python3
"""Share of generated DNA assigned to the requested species by a clean species classifier
(models/dna-species-clean-classifier; docs/diffusion.md "Noisy classifiers").

    STRAND_LIB=build/libstrand.so PYTHONPATH=python /usr/bin/python3 datasets/dna_species_share.py \
        CLEAN_CLASSIFIER NAME.Y.fa ...

Each FASTA file is named <setting>.<requested class>.fa; every record is one sample of the
classifier's length. Prints, per setting, the samples, how many the classifier assigns to the
requested class (argmax of its logits at sigma = 0), and the share, over all files of the setting.
"""
import os
import re
import sys
from collections import defaultdict

import numpy as np
import strand

IDS = {"A": 7, "C": 8, "G": 9, "T": 10, "N": 11}


def read_fasta(path):
    seqs, cur = [], []
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            if cur:
                seqs.append("".join(cur))
            cur = []
        elif line:
            cur.append(line)
    if cur:
        seqs.append("".join(cur))
    return seqs


def main():
    clf = strand.Model(sys.argv[1])
    C = clf.num_classes
    hits, tot = defaultdict(int), defaultdict(int)
    order = []
    for path in sys.argv[2:]:
        m = re.match(r"(.+)\.(\d+)\.fa$", os.path.basename(path))
        setting, y = m.group(1), int(m.group(2))
        if setting not in order:
            order.append(setting)
        seqs = read_fasta(path)
        ids = np.array([[IDS.get(c, 6) for c in s.upper()] for s in seqs], dtype=np.int32)
        out = clf.logits(ids)  # buffer (n, L, V); a classifier writes (n, C) class logits at its start
        logits = out.reshape(-1)[: len(seqs) * C].reshape(len(seqs), C)
        hits[setting] += int((logits.argmax(1) == y).sum())
        tot[setting] += len(seqs)
    print("setting\tsamples\tassigned_to_requested\tshare")
    for s in order:
        print(f"{s}\t{tot[s]}\t{hits[s]}\t{hits[s] / tot[s]:.3f}")


if __name__ == "__main__":
    main()
