#!/usr/bin/python3
"""Reference values for the design metrics (docs/metrics.md), computed independently of strand
with RDKit's Python layer, numpy and scipy (Debian python3-rdkit, python3-numpy, python3-scipy).

Run:  /usr/bin/python3 tests/reference/design_metrics.py
Writes tests/data/design/:
  train.smi     the "training set": NCI molecules 0, 5, 10, ... of rdkit-data's first_5K.smi
                (public-domain NCI structures shipped by Debian's rdkit-data), 600 of them
  samples.smi   240 "generated" samples: held-out NCI molecules (novel), training molecules
                written as RDKit random SMILES (valid, not novel), repeats, corrupted strings
                (invalid), empty lines
  dna.tsv       random DNA windows (fixed seed): generated, real and training sets
  fixture.json  the metrics:
    per sample   valid, canonical, novel, qed, rings, logp, mw, tpsa, heavy_atoms
    set          validity, uniqueness, novelty (exact counts), property means/sd/quantiles over
                 valid and over novel, internal diversity (1 - mean pairwise Tanimoto, Morgan r2
                 2048 bits, distinct valid), the GuacaMol KL score (GuacaMol's own definition:
                 scipy gaussian_kde, numpy histogram(density=True), scipy entropy; Morgan r2 4096
                 bits internal nearest-neighbour similarity), its ten KL terms
    dna          k-mer JS (k = 3, 6, bits), GC, homopolymers, duplicates, nearest-training identity,
                 macro-F1 and MCC of a fixed confusion (formulas of scikit-learn, written out)
"""
import json
import os
import random

import numpy as np
from rdkit import Chem, DataStructs, RDLogger, rdBase
from rdkit.Chem import AllChem, Descriptors, QED
from scipy.stats import entropy, gaussian_kde

RDLogger.DisableLog("rdApp.*")
NCI = "/usr/share/RDKit/Data/NCI/first_5K.smi"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "design")
QUANTILES = [0.05, 0.25, 0.50, 0.75, 0.95]
PROPS = ["qed", "rings", "logp", "mw", "tpsa", "heavy_atoms"]


def canon(s):
    if not s:
        return None
    m = Chem.MolFromSmiles(s)
    if m is None:
        return None
    c = Chem.MolToSmiles(m)
    return c if Chem.MolFromSmiles(c) is not None else None  # canonical must parse again


def props(c):
    def fresh():
        return Chem.MolFromSmiles(c)
    return {"qed": QED.qed(fresh()), "rings": len(Chem.GetSSSR(fresh())),
            "logp": Descriptors.MolLogP(fresh()), "mw": Descriptors.MolWt(fresh()),
            "tpsa": Descriptors.TPSA(fresh()), "heavy_atoms": fresh().GetNumAtoms()}


def stats(x):
    x = np.asarray(x, dtype=float)
    if len(x) == 0:
        return {"n": 0, "mean": None, "sd": None, "quantiles": [None] * 5}
    return {"n": len(x), "mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else None,
            "quantiles": [float(v) for v in np.quantile(x, QUANTILES)]}


# ---- GuacaMol (guacamol/utils/chemistry.py and distribution_learning_benchmark.py) ----------
def continuous_kldiv(X_baseline, X_sampled):
    kde_P = gaussian_kde(X_baseline)
    kde_Q = gaussian_kde(X_sampled)
    x_eval = np.linspace(np.hstack([X_baseline, X_sampled]).min(), np.hstack([X_baseline, X_sampled]).max(), num=1000)
    P = kde_P(x_eval) + 1e-10
    Q = kde_Q(x_eval) + 1e-10
    return entropy(P, Q)


def discrete_kldiv(X_baseline, X_sampled):
    P, bins = np.histogram(X_baseline, bins=10, density=True)
    P += 1e-10
    Q, _ = np.histogram(X_sampled, bins=bins, density=True)
    Q += 1e-10
    return entropy(P, Q)


DESCS = ["BertzCT", "MolLogP", "MolWt", "TPSA", "NumHAcceptors", "NumHDonors", "NumRotatableBonds",
         "NumAliphaticRings", "NumAromaticRings"]


def pc_descriptors(smiles):
    fns = dict(Descriptors.descList)
    out = []
    for s in smiles:
        m = Chem.MolFromSmiles(s)
        out.append([fns[d](m) for d in DESCS])
    return np.array(out)


def internal_nn_sim(smiles):
    fps = [AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(s), 2, nBits=4096) for s in smiles]
    n = len(fps)
    sim = np.zeros((n, n))
    for i in range(n):
        sim[i, :] = DataStructs.BulkTanimotoSimilarity(fps[i], fps)
    np.fill_diagonal(sim, 0)
    return sim.max(axis=1)


def guacamol_kl(sample_smiles, ref_smiles):
    d_s = pc_descriptors(sample_smiles)
    d_r = pc_descriptors(ref_smiles)
    kl = []
    for i in range(4):
        kl.append(continuous_kldiv(d_r[:, i], d_s[:, i]))
    for i in range(4, 9):
        kl.append(discrete_kldiv(d_r[:, i], d_s[:, i]))
    kl.append(continuous_kldiv(internal_nn_sim(ref_smiles), internal_nn_sim(sample_smiles)))
    score = sum(np.exp(-k) for k in kl) / len(kl)
    return [float(k) for k in kl], float(score)


def int_div(smiles):
    fps = [AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(s), 2, nBits=2048) for s in smiles]
    tot, pairs = 0.0, 0
    for i in range(len(fps)):
        sims = DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1:])
        tot += sum(sims)
        pairs += len(sims)
    return 1.0 - tot / pairs


# ---- DNA -----------------------------------------------------------------------------------
def kmer_spec(seqs, k):
    idx = {"A": 0, "C": 1, "G": 2, "T": 3}
    c = np.zeros(4 ** k)
    for s in seqs:
        for i in range(len(s) - k + 1):
            w = s[i:i + k]
            if all(ch in idx for ch in w):
                v = 0
                for ch in w:
                    v = 4 * v + idx[ch]
                c[v] += 1
    return c / c.sum()


def js_bits(p, q):
    m = (p + q) / 2
    def kl(a, b):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def rc(s):
    return s[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def nn_identity(s, train):
    best = 0.0
    for w in train:
        if len(w) != len(s):
            continue
        for x in (w, rc(w)):
            best = max(best, sum(a == b and a in "ACGT" for a, b in zip(s, x)) / len(s))
    return best


def longest_homopolymer(s):
    best = run = 0
    prev = None
    for ch in s:
        if ch not in "ACGT":
            run, prev = 0, None
            continue
        run = run + 1 if ch == prev else 1
        prev = ch
        best = max(best, run)
    return best


def f1_mcc(C):
    C = np.asarray(C, dtype=float)
    k = C.shape[0]
    f1s = []
    for c in range(k):
        tp, col, row = C[c, c], C[:, c].sum(), C[c, :].sum()
        if col == 0 and row == 0:
            continue
        p = tp / col if col else 0.0
        r = tp / row if row else 0.0
        f1s.append(2 * p * r / (p + r) if p + r > 0 else 0.0)
    t, p = C.sum(axis=1), C.sum(axis=0)
    s, kc = C.sum(), np.trace(C)
    den = np.sqrt((s * s - (p * p).sum()) * (s * s - (t * t).sum()))
    return float(np.mean(f1s)), float((kc * s - (t * p).sum()) / den) if den > 0 else 0.0


def main():
    rng = random.Random(20261202)
    with open(NCI) as f:
        nci = [line.split()[0] for line in f if line.strip()]
    train = nci[0:3000:5]  # 600
    held = [s for s in nci[3000:3400:2]]  # 200 candidates, novel unless they repeat a training molecule
    samples = []
    samples += held[:150]
    for s in train[:40]:  # training molecules written differently: valid, not novel
        m = Chem.MolFromSmiles(s)
        samples.append(Chem.MolToSmiles(m, doRandom=True) if m is not None else s)
    samples += held[:20]  # repeats
    for s in held[150:170]:  # corrupted: drop a character or add an unclosed ring/branch
        i = rng.randrange(len(s))
        samples.append(s[:i] + s[i + 1:] if rng.random() < 0.5 else s + "(")
    samples += [""] * 5 + ["C1CC", "c1cccc1", "[Xx]", "CC(C)(C)(C)(C)C"]
    samples += held[170:170 + (240 - len(samples))]
    rng.shuffle(samples)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "train.smi"), "w") as f:
        f.write("".join(s + "\n" for s in train))
    with open(os.path.join(OUT, "samples.smi"), "w") as f:
        f.write("".join(s + "\n" for s in samples))

    tcan = set(c for c in (canon(s) for s in train) if c)
    tvalid = [c for c in (canon(s) for s in train) if c]
    rows, valid, uniq, seen = [], [], [], set()
    for s in samples:
        c = canon(s)
        r = {"smiles": s, "valid": int(c is not None), "canonical": c or "", "novel": int(c is not None and c not in tcan)}
        if c:
            r.update(props(c))
            valid.append(r)
            if c not in seen:
                seen.add(c)
                uniq.append(r)
        rows.append(r)
    novel = [r for r in uniq if r["novel"]]
    kl, score = guacamol_kl([r["canonical"] for r in uniq], tvalid)
    smiles_out = {
        "rdkit": rdBase.rdkitVersion, "samples": len(samples), "valid": len(valid), "unique": len(uniq),
        "novel": len(novel), "train_canonical": len(tcan),
        "validity": len(valid) / len(samples), "uniqueness": len(uniq) / len(valid),
        "novelty": len(novel) / len(uniq),
        "properties_valid": {p: stats([r[p] for r in valid]) for p in PROPS},
        "properties_novel": {p: stats([r[p] for r in novel]) for p in PROPS},
        "train_properties": {p: stats([props(c)[p] for c in tvalid]) for p in PROPS},
        "internal_diversity": int_div([r["canonical"] for r in uniq]),
        "guacamol_kl": dict(zip(DESCS + ["internal_similarity"], kl)), "guacamol_kl_score": score,
        "rows": rows,
    }

    # DNA: real windows from one base composition, generated ones from another, some copied
    drng = np.random.default_rng(7)
    def seqs(n, L, p):
        return ["".join(drng.choice(list("ACGT"), size=L, p=p)) for _ in range(n)]
    L = 96
    real = seqs(60, L, [0.3, 0.2, 0.2, 0.3])
    train_w = seqs(80, L, [0.3, 0.2, 0.2, 0.3])
    gen = seqs(30, L, [0.25, 0.25, 0.25, 0.25])
    gen[3] = train_w[5]                       # a memorised copy
    gen[4] = rc(train_w[9])                   # a reverse-complement copy
    gen[5] = gen[6]                           # an exact duplicate
    g = list(gen[7])
    g[10:14] = "NNNN"                         # non-ACGT symbols are skipped
    gen[7] = "".join(g)
    gen[8] = "A" * 20 + gen[8][20:]           # a long homopolymer
    with open(os.path.join(OUT, "dna.tsv"), "w") as f:
        for name, ss in (("gen", gen), ("real", real), ("train", train_w)):
            for s in ss:
                f.write(f"{name}\t{s}\n")
    gcs = [sum(ch in "GC" for ch in s) / sum(ch in "ACGT" for ch in s) for s in gen]
    rgc = [sum(ch in "GC" for ch in s) / len(s) for s in real]
    nn = [nn_identity(s, train_w) for s in gen]
    C = [[5, 1, 0, 0], [2, 3, 1, 0], [0, 0, 4, 2], [0, 0, 0, 0]]
    f1, mcc = f1_mcc(C)
    dna_out = {
        "js3": js_bits(kmer_spec(gen, 3), kmer_spec(real, 3)), "js6": js_bits(kmer_spec(gen, 6), kmer_spec(real, 6)),
        "gc": gcs, "gc_mean": float(np.mean(gcs)), "gc_sd": float(np.std(gcs, ddof=1)),
        "real_gc_mean": float(np.mean(rgc)), "real_gc_sd": float(np.std(rgc, ddof=1)),
        "homopolymer": [longest_homopolymer(s) for s in gen], "exact_duplicates": len(gen) - len(set(gen)),
        "nn_identity": nn, "nn_identity_q95": float(np.quantile(nn, 0.95)),
        "memorised": sum(v >= 0.99 for v in nn), "confusion": C, "macro_f1": f1, "mcc": mcc,
    }
    with open(os.path.join(OUT, "fixture.json"), "w") as f:
        json.dump({"smiles": smiles_out, "dna": dna_out}, f, indent=0, sort_keys=True)
        f.write("\n")
    print(f"samples {len(samples)} valid {len(valid)} unique {len(uniq)} novel {len(novel)} "
          f"intdiv {smiles_out['internal_diversity']:.6f} kl_score {score:.6f} "
          f"js3 {dna_out['js3']:.6f} js6 {dna_out['js6']:.6f} f1 {f1:.6f} mcc {mcc:.6f}")


if __name__ == "__main__":
    main()
