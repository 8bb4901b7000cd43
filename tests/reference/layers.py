#!/usr/bin/python3
"""Independent PyTorch (float32, CPU) reference for strand's transformer layers, written from
docs/dit.md (not from strand's C code).

    /usr/bin/python3 tests/reference/layers.py     # writes tests/data/layers/*.safetensors

Every fixture holds the inputs and weights, "out" = the layer's forward, a random cotangent "r"
and, for loss = sum(out * r), the autograd gradient "grad.<input>" of every input and weight.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import save  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "layers")
SEED = 1234
gen = torch.Generator().manual_seed(SEED)


def randn(*shape, scale=1.0):
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale).requires_grad_(True)


def finish(name, desc, inputs, out, extra=None):
    """Backprop loss = sum(out * r) and save inputs, out, r and every gradient."""
    r = torch.randn(*out.shape, generator=gen, dtype=torch.float32)
    (out * r).sum().backward()
    t = {}
    for k, v in inputs.items():
        t[k] = v.detach()
        if v.grad is not None:
            t["grad." + k] = v.grad
    t["out"] = out.detach()
    t["r"] = r
    for k, v in (extra or {}).items():
        t[k] = v
    save(os.path.join(OUT, name + ".safetensors"), t, script=__file__, seed=SEED, desc=desc)


# ---- rotary embedding (docs/dit.md "Rotary attention": rotate-half, [freqs | freqs], v not rotated) -------------------
def rope_cos_sin(L, hd, base=10000.0):
    inv_freq = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    t = torch.arange(L, dtype=torch.float32)
    freqs = torch.einsum("i,j->ij", t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def attention(qkv, H, mask=None):
    B, L, D3 = qkv.shape
    D = D3 // 3
    hd = D // H
    qkv = qkv.view(B, L, 3, H, hd)
    cos, sin = rope_cos_sin(L, hd)
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    q = qkv[:, :, 0] * cos + rotate_half(qkv[:, :, 0]) * sin
    k = qkv[:, :, 1] * cos + rotate_half(qkv[:, :, 1]) * sin
    v = qkv[:, :, 2]
    q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # (B,H,L,hd)
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if mask is not None:
        s = s + mask
    p = torch.softmax(s, dim=-1)
    o = (p @ v).transpose(1, 2).reshape(B, L, D)
    return o


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def layernorm(x, w, eps=1e-5):
    return F.layer_norm(x, [x.shape[-1]], eps=eps) * w


def timestep_freq(sigma, dim=256, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = sigma[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def main():
    os.makedirs(OUT, exist_ok=True)
    B, L, C, OC = 2, 5, 7, 6

    x, w, b = randn(B * L, C), randn(OC, C), randn(OC)
    finish("linear", f"linear out = x·wᵀ + b, BT={B*L} C={C} OC={OC}", {"x": x, "w": w, "b": b},
           F.linear(x, w, b))

    x, w = randn(B * L, C), randn(C, scale=0.5)
    w.data += 1.0
    out = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w
    finish("rmsnorm", f"RMSNorm eps 1e-5, N={B*L} C={C}", {"x": x, "w": w}, out)

    x, w = randn(B * L, C, scale=2.0), randn(C, scale=0.5)
    x.data += 0.7
    w.data += 1.0
    finish("layernorm", f"LayerNorm weight only, eps 1e-5, N={B*L} C={C}", {"x": x, "w": w}, layernorm(x, w))

    x = randn(4, 16, scale=2.0)
    finish("gelu", "GELU tanh approximation, 64 values", {"x": x}, gelu_tanh(x))
    x = randn(4, 16, scale=2.0)
    finish("silu", "SiLU, 64 values", {"x": x}, F.silu(x))

    D, Hd = 8, 32
    x = randn(B * L, D)
    w1, b1, w2, b2 = randn(Hd, D, scale=0.4), randn(Hd, scale=0.2), randn(D, Hd, scale=0.2), randn(D, scale=0.2)
    finish("mlp", f"MLP Linear {D}->{Hd} + GELU-tanh + Linear {Hd}->{D}, BT={B*L}",
           {"x": x, "w1": w1, "b1": b1, "w2": w2, "b2": b2}, F.linear(gelu_tanh(F.linear(x, w1, b1)), w2, b2))

    # adaLN: mod (B, 3D) = [shift | scale | gate]; out = gate·(x·(1+scale)+shift) + y  (both ops)
    x, y, mod = randn(B, L, D), randn(B, L, D), randn(B, 3 * D, scale=0.5)
    shift, scale, gate = mod[:, None, 0:D], mod[:, None, D:2 * D], mod[:, None, 2 * D:3 * D]
    m = x * (1 + scale) + shift
    out = y + gate * m
    finish("adaln", f"adaLN: m = x(1+scale)+shift, out = y + gate*m; mod=[shift|scale|gate] B={B} L={L} D={D}",
           {"x": x, "y": y, "mod": mod}, out)

    # attention, H=2, hd=4 and hd=8; with and without a mask
    for name, (Ba, La, Da, Ha), masked in [("attention", (2, 6, 8, 2), False),
                                            ("attention_hd8", (2, 5, 16, 2), False),
                                            ("attention_mask", (2, 6, 8, 2), True)]:
        qkv = randn(Ba, La, 3 * Da)
        extra = {}
        mask = None
        if masked:
            # block-structured: query i sees key j when block(j) <= block(i) (blocks of 2), plus a
            # fully masked query row 5 (output must be 0)
            allowed = torch.zeros(La, La, dtype=torch.bool)
            for i in range(La):
                for j in range(La):
                    allowed[i, j] = (j // 2) <= (i // 2)
            allowed[5, :] = False
            mask = torch.zeros(La, La)
            mask[~allowed] = float("-inf")
            extra["allowed"] = allowed.to(torch.uint8)
        out = None if masked else attention(qkv, Ha, mask)
        desc = f"MHA + rotary, B={Ba} L={La} D={Da} H={Ha}" + (" with block mask (row 5 fully masked)" if masked else "")
        cos, sin = rope_cos_sin(La, Da // Ha)
        extra.update({"cos": cos, "sin": sin})
        if masked:
            # torch's softmax of an all -inf row is NaN (and poisons autograd); strand defines that
            # query's output as 0. Reference: give row 5 a finite mask, then zero its output.
            mask_f = mask.clone()
            mask_f[5, :] = 0.0
            keep = torch.ones(1, La, 1)
            keep[0, 5, 0] = 0.0
            qkv2 = qkv.detach().clone().requires_grad_(True)
            o2 = attention(qkv2, Ha, mask_f) * keep
            r = torch.randn(*o2.shape, generator=gen)
            (o2 * r).sum().backward()
            save(os.path.join(OUT, name + ".safetensors"),
                 {"qkv": qkv.detach(), "out": o2.detach(), "r": r, "grad.qkv": qkv2.grad, **extra},
                 script=__file__, seed=SEED, desc=desc)
        else:
            finish(name, desc, {"qkv": qkv}, out, extra)

    V = 9
    E = randn(V, D)
    ids = torch.tensor([[0, 3, 3, 8, 1], [2, 2, 7, 3, 0]], dtype=torch.int64)
    finish("embedding", f"embedding lookup V={V} D={D}", {"E": E}, E[ids], {"ids": ids.to(torch.int32)})
    E, P = randn(V, D), randn(B, L, V)
    finish("embedding_soft", f"soft embedding P·E, V={V} D={D}", {"E": E, "P": P}, P @ E)

    cond = 16
    sigma = torch.tensor([0.0, 0.37, 2.5, 9.0], dtype=torch.float32)
    w0, b0 = randn(cond, 256, scale=0.1), randn(cond, scale=0.1)
    w2, b2 = randn(cond, cond, scale=0.3), randn(cond, scale=0.1)
    freq = timestep_freq(sigma)
    out = F.linear(F.silu(F.linear(freq, w0, b0)), w2, b2)
    finish("timestep", f"sigma -> 256 sinusoidal [cos|sin] -> Linear -> SiLU -> Linear, cond={cond}",
           {"w0": w0, "b0": b0, "w2": w2, "b2": b2}, out, {"sigma": sigma, "freq": freq})

    Vs = 11
    x = randn(B * L, Vs, scale=3.0)
    finish("softmax", f"softmax over V={Vs}", {"x": x}, torch.softmax(x, -1))
    x = randn(B * L, Vs, scale=3.0)
    finish("log_softmax", f"log-softmax over V={Vs}", {"x": x}, torch.log_softmax(x, -1))

    # cross-entropy, per-token weights, ignore index -100, divided by the number of non-ignored tokens
    x = randn(B * L, Vs, scale=3.0)
    tgt = torch.randint(0, Vs, (B * L,), generator=gen)
    tgt[2] = -100
    tgt[7] = -100
    wt = torch.rand(B * L, generator=gen) * 2
    nll = F.cross_entropy(x, tgt, reduction="none", ignore_index=-100)
    count = (tgt != -100).sum()
    loss = (nll * wt).sum() / count
    loss.backward()
    save(os.path.join(OUT, "crossentropy.safetensors"),
         {"x": x.detach(), "targets": tgt.to(torch.int32), "weights": wt, "loss": loss.detach().reshape(1),
          "grad.x": x.grad},
         script=__file__, seed=SEED, desc=f"weighted cross-entropy, ignore -100, BT={B*L} V={Vs}")


if __name__ == "__main__":
    main()
