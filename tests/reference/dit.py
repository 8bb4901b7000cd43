#!/usr/bin/python3
"""Independent PyTorch reference for the DiT backbone of docs/dit.md (written from the maths there, not
from strand's C code), with the published MDLM/UDLM parameter names (prefix "backbone.").
Computed in float64, stored as float32.

    /usr/bin/python3 tests/reference/dit.py      # writes tests/data/dit/*.safetensors

dit_model.safetensors  weights (every one random and non-zero, adaLN and output layer included),
                       inputs ids (B,L) int32, sigma (B), labels (B) int32, logits (B,L,N), R (B,L,N)
dit_grads.safetensors  "grad.<name>" for every weight, for loss = sum(logits * R)
dit_soft.safetensors   the same model fed a soft input P (B,L,N) (rows on the simplex), logits_soft,
                       R_soft and grad.P, grad.<embedding>, grad.<blocks.0.attn_qkv.weight>
dit_plain.safetensors  another config: no time conditioning (sigma fed as given must be ignored),
                       no labels, 1 block; weights, inputs, logits, R and every gradient
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import save  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "dit")
SEED = 4321
DT = torch.float64
P = "backbone."


def names(cfg):
    N, D, C = cfg["N"], cfg["D"], cfg["cond"]
    s = {"vocab_embed.embedding": (N, D),
         "sigma_map.mlp.0.weight": (C, 256), "sigma_map.mlp.0.bias": (C,),
         "sigma_map.mlp.2.weight": (C, C), "sigma_map.mlp.2.bias": (C,)}
    if cfg["classes"] > 0:
        s["cond_map.embedding_table.weight"] = (cfg["classes"] + 1, C)
    for i in range(cfg["depth"]):
        b = f"blocks.{i}."
        s.update({b + "norm1.weight": (D,), b + "attn_qkv.weight": (3 * D, D), b + "attn_out.weight": (D, D),
                  b + "norm2.weight": (D,), b + "mlp.0.weight": (4 * D, D), b + "mlp.0.bias": (4 * D,),
                  b + "mlp.2.weight": (D, 4 * D), b + "mlp.2.bias": (D,),
                  b + "adaLN_modulation.weight": (6 * D, C), b + "adaLN_modulation.bias": (6 * D,)})
    s.update({"output_layer.norm_final.weight": (D,), "output_layer.linear.weight": (N, D),
              "output_layer.linear.bias": (N,), "output_layer.adaLN_modulation.weight": (2 * D, C),
              "output_layer.adaLN_modulation.bias": (2 * D,)})
    return {P + k: v for k, v in s.items()}


def random_weights(cfg, gen):
    w = {}
    for k, shape in names(cfg).items():
        if k.endswith("norm1.weight") or k.endswith("norm2.weight") or k.endswith("norm_final.weight"):
            t = 1.0 + 0.3 * torch.randn(shape, generator=gen, dtype=DT)
        elif len(shape) == 2:
            t = torch.randn(shape, generator=gen, dtype=DT) / math.sqrt(shape[1])
            if "adaLN" in k:
                t = t * 0.5
        else:
            t = 0.2 * torch.randn(shape, generator=gen, dtype=DT)
        w[k] = t.requires_grad_(True)
    return w


def layernorm(x, w):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * w


def modulate(x, shift, scale):
    return x * (1 + scale[:, None, :]) + shift[:, None, :]


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope(L, hd):
    inv_freq = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=DT) / hd))
    freqs = torch.arange(L, dtype=DT)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def attention(h, wqkv, wout, H):
    B, L, D = h.shape
    hd = D // H
    qkv = F.linear(h, wqkv).view(B, L, 3, H, hd)  # (3, heads, head_dim) layout
    cos, sin = rope(L, hd)
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    q = qkv[:, :, 0] * cos + rotate_half(qkv[:, :, 0]) * sin
    k = qkv[:, :, 1] * cos + rotate_half(qkv[:, :, 1]) * sin
    v = qkv[:, :, 2]
    q, k, v = (z.transpose(1, 2) for z in (q, k, v))
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
    o = (att @ v).transpose(1, 2).reshape(B, L, D)
    return F.linear(o, wout)


def timestep_embedding(sigma):
    half = 128
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=DT) / half)
    args = sigma[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def dit(cfg, w, sigma, labels, ids=None, soft=None):
    g = lambda k: w[P + k]  # noqa: E731
    D = cfg["D"]
    x = g("vocab_embed.embedding")[ids] if ids is not None else soft @ g("vocab_embed.embedding")
    s = sigma if cfg["time_cond"] else torch.zeros_like(sigma)
    t = F.linear(F.silu(F.linear(timestep_embedding(s), g("sigma_map.mlp.0.weight"), g("sigma_map.mlp.0.bias"))),
                 g("sigma_map.mlp.2.weight"), g("sigma_map.mlp.2.bias"))
    c = F.silu(t)
    if cfg["classes"] > 0:
        c = c + F.silu(g("cond_map.embedding_table.weight")[labels])
    for i in range(cfg["depth"]):
        b = f"blocks.{i}."
        mod = F.linear(c, g(b + "adaLN_modulation.weight"), g(b + "adaLN_modulation.bias"))
        sh1, sc1, g1, sh2, sc2, g2 = mod.chunk(6, dim=1)
        h = modulate(layernorm(x, g(b + "norm1.weight")), sh1, sc1)
        x = x + g1[:, None, :] * attention(h, g(b + "attn_qkv.weight"), g(b + "attn_out.weight"), cfg["H"])
        h = modulate(layernorm(x, g(b + "norm2.weight")), sh2, sc2)
        m = F.linear(F.gelu(F.linear(h, g(b + "mlp.0.weight"), g(b + "mlp.0.bias")), approximate="tanh"),
                     g(b + "mlp.2.weight"), g(b + "mlp.2.bias"))
        x = x + g2[:, None, :] * m
    modf = F.linear(c, g("output_layer.adaLN_modulation.weight"), g("output_layer.adaLN_modulation.bias"))
    shift, scale = modf.chunk(2, dim=1)
    h = modulate(layernorm(x, g("output_layer.norm_final.weight")), shift, scale)
    assert D == h.shape[-1]
    return F.linear(h, g("output_layer.linear.weight"), g("output_layer.linear.bias"))


def f32(t):
    return t.detach().to(torch.float32)


def meta(cfg):
    return {k: str(v) for k, v in cfg.items()}


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    cfg = dict(N=12, D=32, depth=2, H=2, cond=16, L=8, B=2, classes=3, time_cond=1)
    w = random_weights(cfg, gen)
    ids = torch.randint(0, cfg["N"], (cfg["B"], cfg["L"]), generator=gen)
    sigma = torch.tensor([0.3, 2.7], dtype=DT)
    labels = torch.tensor([1, cfg["classes"]])  # second sequence: the null label
    logits = dit(cfg, w, sigma, labels, ids=ids)
    R = torch.randn(logits.shape, generator=gen, dtype=DT)
    (logits * R).sum().backward()
    desc = ("DiT " + " ".join(f"{k}={v}" for k, v in cfg.items()) +
            "; loss = sum(logits*R); label of sequence 1 = null")
    t = {k: f32(v) for k, v in w.items()}
    t.update({"ids": ids.to(torch.int32), "sigma": f32(sigma), "labels": labels.to(torch.int32),
              "logits": f32(logits), "R": f32(R)})
    save(os.path.join(OUT, "dit_model.safetensors"), t, script=__file__, seed=SEED, desc=desc, extra_meta=meta(cfg))
    save(os.path.join(OUT, "dit_grads.safetensors"), {"grad." + k: f32(v.grad) for k, v in w.items()},
         script=__file__, seed=SEED, desc="gradients for dit_model.safetensors", extra_meta=meta(cfg))

    # the soft (one-hot / simplex) input used by classifier guidance
    for v in w.values():
        v.grad = None
    Pm = torch.softmax(2.0 * torch.randn(cfg["B"], cfg["L"], cfg["N"], generator=gen, dtype=DT), -1)
    Pm.requires_grad_(True)
    logits = dit(cfg, w, sigma, labels, soft=Pm)
    R = torch.randn(logits.shape, generator=gen, dtype=DT)
    (logits * R).sum().backward()
    e, q = P + "vocab_embed.embedding", P + "blocks.0.attn_qkv.weight"
    save(os.path.join(OUT, "dit_soft.safetensors"),
         {"P": f32(Pm), "logits_soft": f32(logits), "R_soft": f32(R), "grad.P": f32(Pm.grad),
          "grad." + e: f32(w[e].grad), "grad." + q: f32(w[q].grad)},
         script=__file__, seed=SEED, desc="soft input P for the model of dit_model.safetensors", extra_meta=meta(cfg))

    # no time conditioning, no labels, one block
    cfg2 = dict(N=7, D=16, depth=1, H=2, cond=8, L=5, B=3, classes=0, time_cond=0)
    w2 = random_weights(cfg2, gen)
    ids2 = torch.randint(0, cfg2["N"], (cfg2["B"], cfg2["L"]), generator=gen)
    sigma2 = torch.tensor([0.5, 1.0, 4.0], dtype=DT)  # must be ignored
    logits2 = dit(cfg2, w2, sigma2, None, ids=ids2)
    R2 = torch.randn(logits2.shape, generator=gen, dtype=DT)
    (logits2 * R2).sum().backward()
    t = {k: f32(v) for k, v in w2.items()}
    t.update({"grad." + k: f32(v.grad) for k, v in w2.items()})
    t.update({"ids": ids2.to(torch.int32), "sigma": f32(sigma2), "logits": f32(logits2), "R": f32(R2)})
    save(os.path.join(OUT, "dit_plain.safetensors"), t, script=__file__, seed=SEED,
         desc="DiT " + " ".join(f"{k}={v}" for k, v in cfg2.items()) + "; sigma given but ignored",
         extra_meta=meta(cfg2))


if __name__ == "__main__":
    main()
