#!/usr/bin/python3
"""Independent PyTorch reference for DiMamba (docs/dit.md "DiMamba"), written from the maths there and
in docs/mamba.md (BiMamba as two literal Mamba blocks with tied in/out projections), not from strand's
C code. Computes in float64; fixtures are stored as float32.

    /usr/bin/python3 tests/reference/dimamba.py      # writes tests/data/dimamba/*.safetensors

Fixtures (each: the weights under their names, ids, labels, sigma, out, a random cotangent R and
for loss = sum(out * R) the gradient of every weight "grad.<name>"):
  dimamba_lm   LM head, 10 classes + null label, time-conditioned; also a soft input P with
               out_soft, R_soft and grad.P (the d/dsoft of the first-order guidance path).
  dimamba_cls  classifier head (mean over L + Linear), no labels, time-conditioned.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from caduceus import bimamba, rmsnorm  # noqa: E402
from fixture import save  # noqa: E402
from mamba import NAMES, random_weights  # noqa: E402

DT = torch.float64
TIED = ("in_proj.weight", "out_proj.weight")


def timestep_embedding(sigma):
    half = 128
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=DT) / half)
    args = sigma[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def modulate(x, shift, scale):
    return x * (1 + scale[:, None, :]) + shift[:, None, :]


def names(cfg):
    pre = cfg["prefix"]
    trunk = pre + ("model.backbone." if cfg["n_out"] else "model.bimamba.backbone.")
    return pre, trunk


def random_model(cfg, gen):
    N, D, C = cfg["N"], cfg["D"], cfg["cond"]
    pre, trunk = names(cfg)

    def R(*shape, s=1.0):
        return torch.randn(shape, generator=gen, dtype=DT) * s

    p = {pre + "sigma_map.mlp.0.weight": R(C, 256, s=1 / 16), pre + "sigma_map.mlp.0.bias": R(C, s=0.1),
         pre + "sigma_map.mlp.2.weight": R(C, C, s=C ** -0.5), pre + "sigma_map.mlp.2.bias": R(C, s=0.1)}
    if cfg["classes"]:
        p[pre + "cond_map.embedding_table.weight"] = R(cfg["classes"] + 1, C, s=0.5)
    p[trunk + "embeddings.word_embeddings.weight"] = R(N, D, s=0.5)
    for i in range(cfg["depth"]):
        lp = f"{trunk}layers.{i}."
        for k, v in random_weights(gen, D).items():
            p[lp + "mixer.mamba_fwd." + k] = v
        for k, v in random_weights(gen, D, with_inout=False).items():
            p[lp + "mixer.mamba_rev." + k] = v
        p[lp + "norm.weight"] = 1 + R(D, s=0.3)
        # adaLN is zero-initialised in training; random here so the test sees every path
        p[lp + "adaLN_modulation.weight"] = R(3 * D, C, s=0.3 / math.sqrt(C))
        p[lp + "adaLN_modulation.bias"] = R(3 * D, s=0.3)
    p[trunk + "adaLN_modulation_final.weight"] = R(2 * D, C, s=0.3 / math.sqrt(C))
    p[trunk + "adaLN_modulation_final.bias"] = R(2 * D, s=0.3)
    p[trunk + "norm_f.weight"] = 1 + R(D, s=0.3)
    if cfg["n_out"]:
        p[pre + "output_layer.weight"] = R(cfg["n_out"], D, s=D ** -0.5)
        p[pre + "output_layer.bias"] = R(cfg["n_out"], s=0.1)
    else:
        p[pre + "model.lm_head.weight"] = R(N, D, s=D ** -0.5)
    return {k: v.requires_grad_(True) for k, v in p.items()}


def dimamba(cfg, p, sigma, labels, ids=None, soft=None):
    pre, trunk = names(cfg)
    E = p[trunk + "embeddings.word_embeddings.weight"]
    x = E[ids] if ids is not None else soft @ E
    s = sigma if cfg["time_cond"] else torch.zeros_like(sigma)
    t = F.linear(F.silu(F.linear(timestep_embedding(s), p[pre + "sigma_map.mlp.0.weight"],
                                 p[pre + "sigma_map.mlp.0.bias"])),
                 p[pre + "sigma_map.mlp.2.weight"], p[pre + "sigma_map.mlp.2.bias"])
    c = F.silu(t)
    if cfg["classes"]:
        c = c + F.silu(p[pre + "cond_map.embedding_table.weight"][labels])
    for i in range(cfg["depth"]):
        lp = f"{trunk}layers.{i}."
        pf = {k: p[lp + "mixer.mamba_fwd." + k] for k in NAMES}
        pr = {k: p[lp + "mixer.mamba_rev." + k] for k in NAMES if k not in TIED}
        shift, scale, gate = F.linear(c, p[lp + "adaLN_modulation.weight"], p[lp + "adaLN_modulation.bias"]).chunk(3, 1)
        h = modulate(rmsnorm(x, p[lp + "norm.weight"]), shift, scale)
        x = x + gate[:, None, :] * bimamba(h, pf, pr)
    shift, scale = F.linear(c, p[trunk + "adaLN_modulation_final.weight"],
                            p[trunk + "adaLN_modulation_final.bias"]).chunk(2, 1)
    f = modulate(rmsnorm(x, p[trunk + "norm_f.weight"]), shift, scale)
    if cfg["n_out"]:
        return F.linear(f.mean(1), p[pre + "output_layer.weight"], p[pre + "output_layer.bias"])
    return f @ p[pre + "model.lm_head.weight"].T


def meta(cfg):
    return {k: cfg[k] for k in ("N", "D", "depth", "cond", "classes", "time_cond", "n_out", "B", "L", "prefix")}


def fixture(root, name, cfg, seed, soft=False):
    gen = torch.Generator().manual_seed(seed)
    p = random_model(cfg, gen)
    B, L, N = cfg["B"], cfg["L"], cfg["N"]
    ids = torch.randint(0, N, (B, L), generator=gen)
    labels = torch.randint(0, cfg["classes"] + 1, (B,), generator=gen) if cfg["classes"] else None
    sigma = torch.rand((B,), generator=gen, dtype=DT) * 3
    out = dimamba(cfg, p, sigma, labels, ids=ids)
    R = torch.randn(out.shape, generator=gen, dtype=DT)
    (out * R).sum().backward()
    t = {"ids": ids.to(torch.int32), "sigma": sigma.float(), "out": out.detach().float(), "R": R.float()}
    if labels is not None:
        t["labels"] = labels.to(torch.int32)
    for k, v in p.items():
        t[k] = v.detach().float()
        t["grad." + k] = v.grad.float()
    if soft:
        for v in p.values():
            v.grad = None
        P = torch.softmax(torch.randn((B, L, N), generator=gen, dtype=DT) * 2, -1).requires_grad_(True)
        o2 = dimamba(cfg, p, sigma, labels, soft=P)
        R2 = torch.randn(o2.shape, generator=gen, dtype=DT)
        (o2 * R2).sum().backward()
        pre, trunk = names(cfg)
        t.update({"P": P.detach().float(), "out_soft": o2.detach().float(), "R_soft": R2.float(),
                  "grad.P": P.grad.float(),
                  "gradsoft." + trunk + "embeddings.word_embeddings.weight":
                      p[trunk + "embeddings.word_embeddings.weight"].grad.float()})
    path = os.path.join(root, name + ".safetensors")
    save(path, t, script=__file__, seed=seed, extra_meta=meta(cfg),
         desc=f"DiMamba docs/dit.md, {meta(cfg)}, float64 reference; loss = sum(out * R)")
    print("wrote", os.path.normpath(path))


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "dimamba")
    os.makedirs(root, exist_ok=True)
    base = {"N": 12, "D": 16, "depth": 2, "cond": 8, "time_cond": 1, "B": 3, "L": 10}
    fixture(root, "dimamba_lm", dict(base, classes=4, n_out=0, prefix="backbone."), 4242, soft=True)
    fixture(root, "dimamba_cls", dict(base, classes=0, n_out=3, prefix="classifier_model."), 4343, soft=True)


if __name__ == "__main__":
    main()
