#!/usr/bin/python3
"""PyTorch-CPU reference for bench/run's "sample" entry: the DiT of docs/dit.md as a float32
nn.Module loaded from the weights bench_sample wrote (DIR/model.safetensors, published names), a
logits check against DIR/check.safetensors, the forward at (n, L), and ancestral samplers written
as the official code runs them (kuleshov-group/mdlm `_ddpm_caching_update` with the batch-level
no-change cache and the final noise-removal argmax; discrete-diffusion-guidance `_ddpm_denoise`
for the uniform posterior in float64 and `_sample_categorical`, probs / -log(U) argmax), with the
same log-linear schedule (eps 1e-3) and time grid linspace(1, 1e-5, T + 1).

    /usr/bin/python3 bench/sample_torch.py --dir DIR --threads 2 --n 64 --iters 3 smiles udlm 32 128

The sampler runs the n samples as one batch with torch's intra-op threads (its natural parallelism).

Prints one JSON object per row (dit_forward_<shape> in ms, sample_<proc>_<shape>_<T> in samples/s;
"cpu": the same on the process CPU clock, CPU ms per forward or samples per CPU-second).
"""
import argparse
import json
import math
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-3
MASK = 2


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        dt = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64}[v["dtype"]]
        a, b = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=dt).reshape(v["shape"]).clone()
    return out


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


class DiT(nn.Module):
    """Functional DiT over a dict of published-name tensors."""

    def __init__(self, W, heads, L):
        super().__init__()
        self.W, self.H = W, heads
        self.depth = sum(1 for k in W if k.endswith(".norm1.weight"))
        D = W["backbone.vocab_embed.embedding"].shape[1]
        hd = D // heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        f = torch.arange(L, dtype=torch.float32)[:, None] * inv[None]
        e = torch.cat((f, f), -1)
        self.cos, self.sin = e.cos()[None, :, None, :], e.sin()[None, :, None, :]
        self.freqs = torch.exp(-math.log(10000.0) * torch.arange(128, dtype=torch.float32) / 128)

    def forward(self, ids, sigma):
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
        o = P + "output_layer."
        shift, scale = F.linear(c, W[o + "adaLN_modulation.weight"], W[o + "adaLN_modulation.bias"])[:, None, :].chunk(2, 2)
        h = F.layer_norm(x, (D,), W[o + "norm_final.weight"], None, 1e-5) * (1 + scale) + shift
        return F.linear(h, W[o + "linear.weight"], W[o + "linear.bias"])


def alpha(t):
    return 1 - (1 - EPS) * t


def sample_categorical(p):  # the official _sample_categorical
    g = 1e-10 - (torch.rand_like(p) + 1e-10).log()
    return (p / g).argmax(dim=-1)


@torch.no_grad()
def sample_udlm(m, n, L, V, steps, eps=1e-5):
    x = torch.randint(0, V, (n, L))
    ts = torch.linspace(1, eps, steps + 1, dtype=torch.float64)
    nfe = 0
    for i in range(steps):
        at, as_ = alpha(ts[i]), alpha(ts[i + 1])
        logits = m(x, torch.full((n,), float(-math.log(at))))
        nfe += 1
        xp = logits.double().log_softmax(-1).exp()
        ats = at / as_
        e = F.one_hot(x, V).double()
        q = (V * at * xp * e + (ats - at) * e + (as_ - at) * xp + (1 - ats) * (1 - as_) / V) / (
            V * at * torch.gather(xp, -1, x[..., None]) + 1 - at)
        x = sample_categorical(q)
    return x, nfe


@torch.no_grad()
def sample_mdlm(m, n, L, V, steps, eps=1e-5):
    x = torch.full((n, L), MASK, dtype=torch.int64)
    ts = torch.linspace(1, eps, steps + 1, dtype=torch.float64)
    zero = torch.zeros(n)
    p = None
    nfe = 0
    for i in range(steps):
        mt, ms = 1 - alpha(ts[i]), 1 - alpha(ts[i + 1])
        if p is None:
            logits = m(x, zero)
            logits[..., MASK] = -1e6
            p = logits.double().softmax(-1)
            nfe += 1
        q = p * (mt - ms)
        q[..., MASK] = ms
        new = sample_categorical(q)
        keep = x != MASK
        new = torch.where(keep, x, new)
        if not torch.equal(new, x):
            p = None
        x = new
    if (x == MASK).any():  # noise removal
        logits = m(x, zero)
        logits[..., MASK] = -1e6
        nfe += 1
        x = torch.where(x == MASK, logits.argmax(-1), x)
    return x, nfe


def median(t):
    t = sorted(t)
    k = len(t)
    return t[k // 2] if k % 2 else 0.5 * (t[k // 2 - 1] + t[k // 2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("shape")
    ap.add_argument("proc")
    ap.add_argument("steps", nargs="+", type=int)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    W = load_safetensors(f"{a.dir}/model.safetensors")
    V, _ = W["backbone.vocab_embed.embedding"].shape
    L = 128 if a.shape == "dna" else 64
    m = DiT(W, 4, L)
    chk = load_safetensors(f"{a.dir}/check.safetensors")
    with torch.no_grad():
        diff = (m(chk["ids"].long(), chk["sigma"]) - chk["logits"]).abs().max().item()
    ids = torch.randint(0, V, (a.n, L))
    sig = torch.rand(a.n)
    t, c = [], []
    with torch.no_grad():
        m(ids, sig)
        for _ in range(a.iters):
            t0, c0 = time.perf_counter(), time.process_time()
            m(ids, sig)
            t.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
    print(json.dumps({"name": f"dit_forward_{a.shape}", "value": round(1e3 * median(t), 2),
                      "cpu": round(1e3 * median(c), 2), "threads": a.threads,
                      "torch": torch.__version__, "check_max_abs_diff_logits": diff}), flush=True)
    fn = sample_udlm if a.proc == "udlm" else sample_mdlm
    for T in a.steps:
        t, c = [], []
        for _ in range(a.iters):
            t0, c0 = time.perf_counter(), time.process_time()
            _, nfe = fn(m, a.n, L, V, T)
            t.append(time.perf_counter() - t0)
            c.append(time.process_time() - c0)
        print(json.dumps({"name": f"sample_{a.proc}_{a.shape}_{T}", "value": round(a.n / median(t), 3),
                          "cpu": round(a.n / median(c), 3),
                          "threads": a.threads, "torch": torch.__version__, "nfe": nfe,
                          "check_max_abs_diff_logits": diff}), flush=True)


if __name__ == "__main__":
    main()
