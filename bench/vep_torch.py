#!/usr/bin/python3
"""PyTorch-CPU reference for bench_vep: the same VEP scoring (masked-site LLR, REF/ALT pooled
embedding cosine distance) with the same weights, on the variants bench_vep scored.

    /usr/bin/python3 bench/vep_torch.py --dir /tmp/strand_bench_vep [--threads T] [--iters N]
               [--window 1024] [--pool-half-width 128]

Model: tests/reference/caduceus.py forward_ps (written from docs/caduceus.md in PyTorch, float32 here),
the three windows of a variant run as one batch of 3. Prints one JSON line with var/s and the
max |strand - torch| of LLR and EMB over the scored variants.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
from caduceus import COMP, PFX, forward_ps  # noqa: E402

TOK = {c: i for i, c in enumerate("ACGTN", start=7)}
MASK, PAD = 3, 4


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype=dt).reshape(v["shape"]).copy())
    return out


def read_fasta(path):
    seqs, name = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name:
            seqs[name].append(line.upper())
    return {k: "".join(v) for k, v in seqs.items()}


def tokens(seq, beg, end):
    return [PAD if q < 0 or q >= len(seq) else (PAD if seq[q] == "N" else TOK.get(seq[q], 6))
            for q in range(beg, end)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/strand_bench_vep")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--iters", type=int, default=2, help="variants to time")
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--pool-half-width", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    w = load_safetensors(os.path.join(a.dir, "model.safetensors"))
    p = {k[len(PFX):]: v.float() for k, v in w.items() if k.startswith(PFX) and v.dtype == torch.float32}
    n_layer = 1 + max(int(k.split(".")[1]) for k in p if k.startswith("layers."))
    seqs = read_fasta(os.path.join(a.dir, "ref.fa"))
    rows = [l.split("\t") for l in open(os.path.join(a.dir, "variants.tsv")).read().splitlines()][:a.iters]
    W = a.window | 1
    h, H = W // 2, a.pool_half_width
    dl, de = 0.0, 0.0
    t0 = time.perf_counter()
    with torch.no_grad():
        for contig, pos1, ref, alt, llr_s, emb_s in rows:
            s, pos = seqs[contig], int(pos1) - 1
            win = tokens(s, pos - h, pos + h + 1)
            masked = list(win)
            masked[h] = MASK
            altw = list(win)
            altw[h] = TOK[alt]
            ids = torch.tensor([masked, win, altw])
            logits, emb = forward_ps(ids, p, n_layer)
            llr = (logits[0, h, TOK[alt]] - logits[0, h, TOK[ref]]).item()
            pr, pa = emb[1, h - H:h + H + 1].double().mean(0), emb[2, h - H:h + H + 1].double().mean(0)
            cosd = 1 - (pr @ pa / (pr.norm() * pa.norm())).item()
            dl, de = max(dl, abs(llr - float(llr_s))), max(de, abs(cosd - float(emb_s)))
    dt = time.perf_counter() - t0
    print(json.dumps({"name": "vep_snv", "var_per_s": len(rows) / dt, "threads": a.threads,
                      "torch": torch.__version__, "variants": len(rows), "max_abs_diff_llr": dl,
                      "max_abs_diff_emb": de}))


if __name__ == "__main__":
    main()
