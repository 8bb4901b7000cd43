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
    hits, tot, lens = defaultdict(int), defaultdict(int), defaultdict(list)
    order = []
    for path in sys.argv[2:]:
        m = re.match(r"(.+)\.(\d+)\.fa$", os.path.basename(path))
        setting, y = m.group(1), int(m.group(2))
        if setting not in order:
            order.append(setting)
        # a sample can be shorter than L (special ids a uniform model may draw are dropped from FASTA):
        # each record is classified at its own length
        for seq in read_fasta(path):
            ids = np.array([[IDS.get(c, 6) for c in seq.upper()]], dtype=np.int32)
            out = clf.logits(ids)  # buffer (1, L, V); a classifier writes its (1, C) class logits at the start
            hits[setting] += int(out.reshape(-1)[:C].argmax() == y)
            tot[setting] += 1
            lens[setting].append(len(seq))
    print("setting\tsamples\tassigned_to_requested\tshare\tmean_length")
    for s in order:
        print(f"{s}\t{tot[s]}\t{hits[s]}\t{hits[s] / tot[s]:.3f}\t{np.mean(lens[s]):.1f}")


if __name__ == "__main__":
    main()
