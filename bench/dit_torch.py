#!/usr/bin/python3
"""PyTorch-CPU reference timings for bench/run: the DiT of docs/dit.md as a float32 nn.Module
(written from docs/dit.md, same shapes as bench/bench.c: D=256, 6 blocks, 4 heads, cond 128, L=128,
B=32, vocab 16, time conditioning, no labels). Prints one JSON object per benchmark (wall ms and
process CPU ms per call, medians of --iters after one warm-up call).

    /usr/bin/python3 bench/dit_torch.py --threads 2 dit_forward dit_train_step
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

D, DEPTH, H, COND, L, B, V = 256, 6, 4, 128, 128, 32, 16


def rope(L, hd):
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    f = torch.arange(L, dtype=torch.float32)[:, None] * inv[None]
    e = torch.cat((f, f), -1)
    return e.cos()[None, :, None, :], e.sin()[None, :, None, :]


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


class LN(nn.Module):  # weight, no bias
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, None, 1e-5)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = LN(D), LN(D)
        self.attn_qkv = nn.Linear(D, 3 * D, bias=False)
        self.attn_out = nn.Linear(D, D, bias=False)
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(approximate="tanh"), nn.Linear(4 * D, D))
        self.adaLN_modulation = nn.Linear(COND, 6 * D)

    def forward(self, x, c, cos, sin):
        sh1, sc1, g1, sh2, sc2, g2 = self.adaLN_modulation(c)[:, None, :].chunk(6, dim=2)
        h = self.norm1(x) * (1 + sc1) + sh1
        Bn, Ln, _ = x.shape
        qkv = self.attn_qkv(h).view(Bn, Ln, 3, H, D // H)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // H), dim=-1)
        o = (att @ v).transpose(1, 2).reshape(Bn, Ln, D)
        x = x + g1 * self.attn_out(o)
        h = self.norm2(x) * (1 + sc2) + sh2
        return x + g2 * self.mlp(h)


class DiT(nn.Module):
    def __init__(self):
        super().__init__()
        self.vocab_embed = nn.Embedding(V, D)
        self.sigma_map = nn.Sequential(nn.Linear(256, COND), nn.SiLU(), nn.Linear(COND, COND))
        self.blocks = nn.ModuleList(Block() for _ in range(DEPTH))
        self.norm_final = LN(D)
        self.final_ada = nn.Linear(COND, 2 * D)
        self.linear = nn.Linear(D, V)
        self.register_buffer("freqs", torch.exp(-math.log(10000.0) * torch.arange(128, dtype=torch.float32) / 128))
        cos, sin = rope(L, D // H)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)

    def forward(self, ids, sigma):
        x = self.vocab_embed(ids)
        a = sigma[:, None] * self.freqs[None]
        c = F.silu(self.sigma_map(torch.cat([a.cos(), a.sin()], -1)))
        for blk in self.blocks:
            x = blk(x, c, self.cos, self.sin)
        shift, scale = self.final_ada(c)[:, None, :].chunk(2, dim=2)
        return self.linear(self.norm_final(x) * (1 + scale) + shift)


def median(t):
    t = sorted(t)
    return t[len(t) // 2] if len(t) % 2 else 0.5 * (t[len(t) // 2 - 1] + t[len(t) // 2])


def timeit(fn, iters):
    """(wall ms, process CPU ms) per call, medians of iters after one warm-up call."""
    fn()
    t, c = [], []
    for _ in range(iters):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        t.append(time.perf_counter() - t0)
        c.append(time.process_time() - c0)
    return 1e3 * median(t), 1e3 * median(c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=0)
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = DiT()
    ids = torch.randint(0, V, (B, L))
    tgt = torch.randint(0, V, (B, L))
    sigma = torch.rand(B)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)

    def fwd():
        with torch.no_grad():
            m(ids, sigma)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(m(ids, sigma).reshape(-1, V), tgt.reshape(-1))
        loss.backward()
        opt.step()

    for n in a.names:
        if n == "dit_forward":
            ms, cpu = timeit(fwd, a.iters or 5)
        elif n == "dit_train_step":
            ms, cpu = timeit(step, a.iters or 3)
        else:
            continue
        print(json.dumps({"name": n, "ms": round(ms, 1), "cpu_ms": round(cpu, 1), "threads": torch.get_num_threads(),
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
