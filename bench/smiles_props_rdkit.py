#!/usr/bin/python3
"""RDKit-Python reference for bench/run's smiles_props: the first N SMILES of a .smi file through
Chem.MolFromSmiles, Chem.MolToSmiles, QED.qed and the descriptors strand computes (rings =
rdMolDescriptors.CalcNumRings, logp = Crippen.MolLogP, mw = Descriptors.MolWt, tpsa =
rdMolDescriptors.CalcTPSA, hbd = rdMolDescriptors.CalcNumHBD, hba = rdMolDescriptors.CalcNumHBA).
T > 1: a multiprocessing pool of T workers (created before timing). Prints one JSON line; with
--check FILE (bench_io_data's values) also the max |diff| per property and disagreements."""
import argparse
import json
import multiprocessing as mp
import time

import rdkit
from rdkit import Chem, RDLogger
from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors

PROPS = ["qed", "rings", "logp", "mw", "tpsa", "hbd", "hba"]


def one(smi):
    m = Chem.MolFromSmiles(smi)
    if m is None:
        return None
    return (Chem.MolToSmiles(m), [QED.qed(m), rdMolDescriptors.CalcNumRings(m), Crippen.MolLogP(m),
                                  Descriptors.MolWt(m), rdMolDescriptors.CalcTPSA(m),
                                  rdMolDescriptors.CalcNumHBD(m), rdMolDescriptors.CalcNumHBA(m)])


def _init():
    RDLogger.DisableLog("rdApp.*")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("smi")
    ap.add_argument("n", type=int)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--check")
    a = ap.parse_args()
    _init()
    smiles = []
    with open(a.smi) as f:
        for line in f:
            w = line.split()
            if w:
                smiles.append(w[0])
            if len(smiles) == a.n:
                break
    pool = mp.Pool(a.threads, initializer=_init) if a.threads > 1 else None
    if pool:
        pool.map(len, range(a.threads))  # workers started before timing
    ts = []
    for _ in range(max(1, a.iters)):
        t0 = time.perf_counter()
        res = pool.map(one, smiles, chunksize=16) if pool else [one(s) for s in smiles]
        ts.append(time.perf_counter() - t0)
    if pool:
        pool.close()
    med = sorted(ts)[len(ts) // 2]
    out = {"smiles_per_s": len(smiles) / med, "seconds": med, "threads": a.threads, "rdkit": rdkit.__version__,
           "valid": sum(r is not None for r in res)}
    if a.check:
        diff = {k: 0.0 for k in PROPS}
        canon = valid = 0
        with open(a.check) as f:
            for line in f:
                c = line.rstrip("\n").split("\t")
                i, ok = int(c[0]), c[2] == "1"
                r = res[i]
                if ok != (r is not None):
                    valid += 1
                    continue
                if not ok:
                    continue
                for k, x, y in zip(PROPS, c[3:3 + len(PROPS)], r[1]):
                    diff[k] = max(diff[k], abs(float(x) - y))
                canon += c[3 + len(PROPS)] != r[0]
        out.update(max_abs_diff=diff, canonical_differs=canon, validity_differs=valid)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
