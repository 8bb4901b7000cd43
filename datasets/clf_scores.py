#!/usr/bin/python3
"""A SMILES classifier's p(class | x) on design samples or on a labelled table (`strand logits`,
σ = 0: the clean end of sampling; the bundled noisy QED classifiers are not time-conditioned).

    datasets/clf_scores.py STRAND CLASSIFIER --jobs DIR/JOB ...     # writes DIR/JOB/clf_p.txt
    datasets/clf_scores.py STRAND CLASSIFIER --auroc TABLE.tsv [--column canonical_smiles]
                           [--prop qed] [--threshold 0.852748]       # AUROC of p(1 | x) for prop >= threshold

--jobs: one probability per non-empty line of JOB/samples.smi, in order (empty samples, a few per
thousand, cannot be written as SMILES and are left out: `strand logits` skips blank lines; so are the
few whose decoded text re-tokenizes to more than 62 tokens, e.g. a bracket atom written as two), for
datasets/campaign_tables.py qedx --clf-scores. --auroc: the rows of TABLE whose SMILES fit the
model length (<= 62 regex tokens); prints n, positives, AUROC (Mann-Whitney, ties counted half)
and its Hanley-McNeil SE. With --t T1,T2,... also at those noise levels: the same rows as ids
(<bos> tokens <eos>, <pad> to the length; the classifier's own tokenizer), corrupted by the
classifier's process as in training (docs/diffusion.md "Forward corruption", log-linear α_t =
1 − (1 − 1e-3) t; uniform: a uniform id over all V with probability 1 − α_t; masked: the mask id), one
fixed numpy seed (--seed), fed to `strand logits` as ids.
"""
import argparse
import csv
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

TOK = re.compile(r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])")


def probs(strand, clf, smiles, cls):
    with tempfile.TemporaryDirectory(prefix="clf-scores-") as tmp:
        inp, out = os.path.join(tmp, "in.smi"), os.path.join(tmp, "lg.npy")
        with open(inp, "w") as f:
            f.write("".join(s + "\n" for s in smiles))
        subprocess.run([strand, "logits", "-m", clf, "-i", inp, "-o", out, "--threads", "1"], check=True)
        lg = np.load(out).astype(np.float64)
    if lg.shape[0] != len(smiles):
        sys.exit(f"clf_scores: {lg.shape[0]} logit rows for {len(smiles)} SMILES")
    lg -= lg.max(1, keepdims=True)
    p = np.exp(lg)
    return p[:, cls] / p.sum(1)


def read_meta(path):
    import json
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__", {})


def probs_ids(strand, clf, ids, cls):
    with tempfile.TemporaryDirectory(prefix="clf-scores-") as tmp:
        inp, out = os.path.join(tmp, "ids.npy"), os.path.join(tmp, "lg.npy")
        np.save(inp, ids.astype(np.int32))
        subprocess.run([strand, "logits", "-m", clf, "-i", inp, "-o", out, "--threads", "1"], check=True)
        lg = np.load(out).astype(np.float64)
    lg -= lg.max(1, keepdims=True)
    p = np.exp(lg)
    return p[:, cls] / p.sum(1)


def auroc(score, y):
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = 0.5 * (i + j) + 1
        i = j + 1
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    a = (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0))
    return a, se, n1, n0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("strand")
    ap.add_argument("classifier")
    ap.add_argument("--jobs", nargs="+")
    ap.add_argument("--auroc")
    ap.add_argument("--column", default="canonical_smiles")
    ap.add_argument("--prop", default="qed")
    ap.add_argument("--threshold", type=float, default=0.852748)
    ap.add_argument("--cls", type=int, default=1)
    ap.add_argument("--t", default="")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    for job in a.jobs or []:
        smi = [line.rstrip("\n") for line in open(os.path.join(job, "samples.smi"))]
        smi = [s for s in smi if s and len(TOK.findall(s)) <= 62]  # a decoded sample can re-tokenize longer
        p = probs(a.strand, a.classifier, smi, a.cls)
        with open(os.path.join(job, "clf_p.txt"), "w") as f:
            f.write("".join(f"{v:.6f}\n" for v in p))
        print(f"{job}\t{len(p)}\tmean_p\t{p.mean():.4f}")
    if a.auroc:
        smi, y = [], []
        with open(a.auroc) as f:
            for r in csv.DictReader(f, delimiter="\t"):
                s, q = r[a.column], r[a.prop]
                if not s or q in ("", "NA") or len(TOK.findall(s)) > 62 or "".join(TOK.findall(s)) != s:
                    continue
                smi.append(s)
                y.append(1.0 if float(q) >= a.threshold else 0.0)
        p = probs(a.strand, a.classifier, smi, a.cls)
        auc, se, n1, n0 = auroc(p, np.array(y))
        print(f"t\t0\trows\t{len(smi)}\tpositives\t{n1}\tauroc\t{auc:.4f}\tse\t{se:.4f}\tmean_p_pos\t{p[np.array(y) == 1].mean():.4f}"
              f"\tmean_p_neg\t{p[np.array(y) == 0].mean():.4f}")
        if a.t:
            import json
            meta = read_meta(a.classifier)
            cfg, tok = json.loads(meta["strand.config"]), json.loads(meta["strand.tokenizer"])["tokens"]
            V, L = cfg["vocab_size"], cfg["model_length"]
            idx = {t: i for i, t in enumerate(tok)}
            x = np.full((len(smi), L), idx["<pad>"], dtype=np.int64)
            for r, s_ in enumerate(smi):
                ids = [idx["<bos>"]] + [idx.get(t, idx["<unk>"]) for t in TOK.findall(s_)] + [idx["<eos>"]]
                x[r, :len(ids)] = ids
            masked = cfg.get("diffusion") == "mdlm"
            rng = np.random.default_rng(a.seed)
            for t in (float(v) for v in a.t.split(",")):
                alpha = 1 - (1 - 1e-3) * t
                hit = rng.random(x.shape) < 1 - alpha
                z = np.where(hit, cfg["mask_id"] if masked else rng.integers(0, V, x.shape), x)
                p = probs_ids(a.strand, a.classifier, z, a.cls)
                auc, se, n1, n0 = auroc(p, np.array(y))
                print(f"t\t{t:g}\trows\t{len(smi)}\tpositives\t{n1}\tauroc\t{auc:.4f}\tse\t{se:.4f}"
                      f"\tmean_p_pos\t{p[np.array(y) == 1].mean():.4f}\tmean_p_neg\t{p[np.array(y) == 0].mean():.4f}")


if __name__ == "__main__":
    main()
