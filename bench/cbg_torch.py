#!/usr/bin/python3
"""PyTorch-CPU reference for bench/run's "cbg" entry (issue 11): the DiT noisy classifier of
guidance/classifier_dit.c (the official DITClassifier: DiT blocks without the output layer, mean of
the last residual stream over positions, Linear(D, C)) as float32 torch code over the same
safetensors file, scoring the exact-CBG edit rows of z_t: for every sequence the unedited row and
every single-token edit (l, v), v != z[l], at every position (the uniform process: 1 + L (V - 1)
rows), log_softmax of the class logits — what guidance/cbg.c exact_batch sends through
clf_log_probs. Building the edit rows is inside the timed region (as it is on strand's side).

    /usr/bin/python3 bench/cbg_torch.py --model models/smiles-qed-classifier.safetensors --ids ZT.npy \
        --threads 1 --iters 3 --chunks 128,512,2048 [--check-ids IDS.npy --check-logits LOGITS.npy]

Prints one JSON object per chunk size ("rows_per_s", "rows_per_cpu_s": rows per process-CPU-second,
median of --iters) and a "best" object (the chunk with the most rows per CPU-second: PyTorch gets
its best batch). With --check-*: max |d logits| against strand's logits for the same ids
(`strand logits -m CLASSIFIER`).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sample_torch import DiT, load_safetensors, median  # noqa: E402


class DiTClassifier(DiT):
    """DiT trunk (no output layer) + mean pool + Linear; sigma is fed 0 (the bundled classifiers
    have time_conditioning false, guidance/classifier.c fed_sigma)."""

    def __init__(self, W, heads, L, prefix="classifier_model."):
        # DiT expects "backbone." names: alias the classifier's
        W2 = {"backbone." + k[len(prefix):]: v for k, v in W.items() if k.startswith(prefix)}
        super().__init__(W2, heads, L)
        self.hw, self.hb = W2["backbone.output_layer.weight"], W2["backbone.output_layer.bias"]

    def features(self, ids, sigma):
        W, P = self.W, "backbone."
        x = F.embedding(ids, W[P + "vocab_embed.embedding"])
        a = sigma[:, None].float() * self.freqs[None]
        t = torch.cat([a.cos(), a.sin()], -1)
        t = F.linear(F.silu(F.linear(t, W[P + "sigma_map.mlp.0.weight"], W[P + "sigma_map.mlp.0.bias"])),
                     W[P + "sigma_map.mlp.2.weight"], W[P + "sigma_map.mlp.2.bias"])
        c = F.silu(t)
        B, L, D = x.shape
        H = self.H
        for i in range(self.depth):
            b = f"{P}blocks.{i}."
            mod = F.linear(c, W[b + "adaLN_modulation.weight"], W[b + "adaLN_modulation.bias"])[:, None, :]
            sh1, sc1, g1, sh2, sc2, g2 = mod.chunk(6, dim=2)
            h = F.layer_norm(x, (D,), W[b + "norm1.weight"], None, 1e-5) * (1 + sc1) + sh1
            qkv = F.linear(h, W[b + "attn_qkv.weight"]).view(B, L, 3, H, D // H)
            q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
            cos, sin = self.cos[:, :L], self.sin[:, :L]
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            q, k, v = (z.transpose(1, 2) for z in (q, k, v))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // H), dim=-1)
            o = (att @ v).transpose(1, 2).reshape(B, L, D)
            x = x + g1 * F.linear(o, W[b + "attn_out.weight"])
            h = F.layer_norm(x, (D,), W[b + "norm2.weight"], None, 1e-5) * (1 + sc2) + sh2
            h = F.linear(F.gelu(F.linear(h, W[b + "mlp.0.weight"], W[b + "mlp.0.bias"]), approximate="tanh"),
                         W[b + "mlp.2.weight"], W[b + "mlp.2.bias"])
            x = x + g2 * h
        return x

    def forward(self, ids, sigma):
        return F.linear(self.features(ids, sigma).mean(1), self.hw, self.hb)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


def edit_rows(z, V):
    """(1 + L (V-1), L) ids: the unedited row, then (l, v) for v != z[l] in (l, v) order."""
    L = z.shape[0]
    rows = z.repeat(L * V, 1).view(L, V, L)
    ar = torch.arange(L)
    rows[ar, :, ar] = torch.arange(V)[None, :].expand(L, V)
    keep = torch.ones(L, V, dtype=torch.bool)
    keep[ar, z] = False
    return torch.cat([z[None], rows[keep]], 0)


@torch.no_grad()
def score(m, zt, V, cls, chunk):
    out = []
    for z in zt:
        rows = edit_rows(z, V)
        zero = torch.zeros(chunk)
        for r0 in range(0, rows.shape[0], chunk):
            r = rows[r0:r0 + chunk]
            out.append(m(r, zero[:r.shape[0]]).log_softmax(-1)[:, cls])
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--chunks", default="128,512,2048")
    ap.add_argument("--cls", type=int, default=1)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--check-ids")
    ap.add_argument("--check-logits")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    W = load_safetensors(a.model)
    V = W["classifier_model.vocab_embed.embedding"].shape[0]
    zt = torch.from_numpy(np.load(a.ids).astype(np.int64))
    if zt.ndim == 1:
        zt = zt[None]
    n, L = zt.shape
    m = DiTClassifier(W, a.heads, L)
    diff = None
    if a.check_ids:
        ci = torch.from_numpy(np.load(a.check_ids).astype(np.int64))
        with torch.no_grad():
            lg = m(ci, torch.zeros(ci.shape[0]))
        diff = float((lg - torch.from_numpy(np.load(a.check_logits))).abs().max())
    nrows = n * (1 + L * (V - 1))
    best = None
    for ch in (int(c) for c in a.chunks.split(",")):
        score(m, zt[:1], V, a.cls, ch)  # warm-up
        t, c = [], []
        for _ in range(a.iters):
            t0, c0 = time.perf_counter(), time.process_time()
            lp = score(m, zt, V, a.cls, ch)
            t.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
        assert lp.shape[0] == nrows
        r = {"name": f"cbg_exact_rows_chunk{ch}", "chunk": ch, "rows": nrows, "rows_per_s": round(nrows / median(t), 1),
             "rows_per_cpu_s": round(nrows / median(c), 1), "threads": a.threads, "torch": torch.__version__,
             "check_max_abs_diff_logits": diff, "L": L, "V": V, "n": n}
        print(json.dumps(r), flush=True)
        if best is None or r["rows_per_cpu_s"] > best["rows_per_cpu_s"]:
            best = r
    print(json.dumps(dict(best, name="cbg_exact_rows_best")), flush=True)


if __name__ == "__main__":
    main()
