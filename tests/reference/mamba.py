#!/usr/bin/python3
"""Independent PyTorch reference for the Mamba block of docs/mamba.md, written from the maths there
(not from strand's C code). Computes in float64; fixtures are stored as float32.

    /usr/bin/python3 tests/reference/mamba.py      # writes tests/data/mamba/*.safetensors

Fixture mamba_block.safetensors: input u (B,L,D), the block's weights under their published
names, out = block(u), a random cotangent Rc and, for loss = sum(out * Rc), the gradient of every
weight ("grad.<name>") and of the input ("grad.u").
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import save  # noqa: E402

N_STATE, D_CONV = 16, 4
NAMES = ["in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight",
         "dt_proj.bias", "A_log", "D", "out_proj.weight"]


def dims(d_model):
    d_inner = 2 * d_model
    return d_inner, N_STATE, math.ceil(d_model / 16)


def random_weights(gen, d_model, with_inout=True):
    """Random weights of the published shapes, with magnitudes near the published init."""
    di, ns, r = dims(d_model)

    def U(shape, bound):
        return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound

    p = {}
    if with_inout:
        p["in_proj.weight"] = U((2 * di, d_model), 1 / math.sqrt(d_model))
    p["conv1d.weight"] = U((di, 1, D_CONV), 1 / math.sqrt(D_CONV))
    p["conv1d.bias"] = U((di,), 1 / math.sqrt(D_CONV))
    p["x_proj.weight"] = U((r + 2 * ns, di), 1 / math.sqrt(di))
    p["dt_proj.weight"] = U((di, r), 1 / math.sqrt(r))
    # docs/mamba.md "Initialisation": dt ~ exp(U(ln 1e-3, ln 0.1)), bias = inverse softplus(dt); here widened to
    # exercise softplus away from zero.
    dt = torch.exp(torch.rand((di,), generator=gen, dtype=torch.float64) *
                   (math.log(0.5) - math.log(1e-3)) + math.log(1e-3))
    p["dt_proj.bias"] = dt + torch.log(-torch.expm1(-dt))
    p["A_log"] = torch.log(torch.arange(1, ns + 1, dtype=torch.float64)).repeat(di, 1) + U((di, ns), 0.3)
    p["D"] = 1 + U((di,), 0.5)
    if with_inout:
        p["out_proj.weight"] = U((d_model, di), 1 / math.sqrt(di))
    return p


def mamba_inner(xz, p):
    """xz (B,L,2*di) = in_proj output -> o (B,L,di) before out_proj. docs/mamba.md "Forward" line by line."""
    Bsz, L, two_di = xz.shape
    di = two_di // 2
    r = p["dt_proj.weight"].shape[1]
    x, z = xz[..., :di], xz[..., di:]
    # causal depthwise conv: zeros before t = 0
    xt = F.pad(x.transpose(1, 2), (D_CONV - 1, 0))
    xc = F.silu(F.conv1d(xt, p["conv1d.weight"], p["conv1d.bias"], groups=di)).transpose(1, 2)
    dbc = xc @ p["x_proj.weight"].T
    dlow, Bm, Cm = dbc[..., :r], dbc[..., r:r + N_STATE], dbc[..., r + N_STATE:]
    v = dlow @ p["dt_proj.weight"].T + p["dt_proj.bias"]
    delta = torch.where(v > 20, v, torch.log1p(torch.exp(torch.clamp(v, max=20))))
    A = -torch.exp(p["A_log"])  # (di, N)
    h = torch.zeros(Bsz, di, N_STATE, dtype=xz.dtype)
    ys = []
    for t in range(L):
        dA = torch.exp(delta[:, t, :, None] * A)
        h = dA * h + delta[:, t, :, None] * Bm[:, t, None, :] * xc[:, t, :, None]
        ys.append((h * Cm[:, t, None, :]).sum(-1) + p["D"] * xc[:, t])
    y = torch.stack(ys, 1)
    return y * F.silu(z)


def mamba_block(u, p):
    """u (B,L,D) -> (B,L,D)."""
    return mamba_inner(u @ p["in_proj.weight"].T, p) @ p["out_proj.weight"].T


def leaf(p):
    return {k: v.clone().requires_grad_(True) for k, v in p.items()}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mamba")
    seed = 1234
    gen = torch.Generator().manual_seed(seed)
    Bsz, L, d_model = 2, 12, 16
    p = leaf(random_weights(gen, d_model))
    u = torch.randn((Bsz, L, d_model), generator=gen, dtype=torch.float64).requires_grad_(True)
    out = mamba_block(u, p)
    Rc = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    (out * Rc).sum().backward()
    t = {"u": u, "out": out, "Rc": Rc, "grad.u": u.grad}
    for k in NAMES:
        t[k] = p[k]
        t["grad." + k] = p[k].grad
    t = {k: v.detach().float() for k, v in t.items()}
    save(os.path.join(root, "mamba_block.safetensors"), t, script=__file__, seed=seed,
         desc=f"Mamba block docs/mamba.md, B={Bsz} L={L} D={d_model} d_state=16, float64 reference; "
              "loss = sum(out * Rc)")
    print("wrote", os.path.normpath(os.path.join(root, "mamba_block.safetensors")))


if __name__ == "__main__":
    main()
