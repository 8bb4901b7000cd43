#!/usr/bin/python3
"""Independent PyTorch reference for the per-token diffusion losses (docs/diffusion.md "MDLM loss",
"UDLM loss", "Discrete time"), written from the formulas, not from strand's C code. float64.

    /usr/bin/python3 tests/reference/diffusion_loss.py   # writes tests/data/diffusion/loss_*.safetensors

For each case (process x schedule x T) the file holds logits (B,L,N) float32, x0, zt (B,L) int32,
t (B) float64, the per-token losses (B,L) float64 and grad (B,L,N) float64 = d(sum of losses)/d logits
(by autograd). MDLM: [MASK] logit -> -inf (zero masking), unmasked positions one-hot of z_t
(carry-over). Discrete time T > 0: T * KL(q(z_s|z_t,x0) || q(z_s|z_t,x_theta)) with s = t - 1/T,
where the two posteriors are built as full distributions over N ids.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import save  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "diffusion")
SEED = 2718
DT = torch.float64
EPS = 1e-3


def alpha(kind, t):
    if kind == "loglinear":
        return 1 - (1 - EPS) * t
    return EPS + (1 - EPS) * torch.cos(math.pi / 2 * t)


def dalpha(kind, t):
    tt = t.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(alpha(kind, tt).sum(), tt)
    return g


def x_theta(proc, logits, zt, mask):
    """log x_theta (B,L,N)."""
    N = logits.shape[-1]
    if proc == "udlm":
        return torch.log_softmax(logits, -1)
    big = torch.zeros(N, dtype=DT)
    big[mask] = -math.inf
    lp = torch.log_softmax(logits + big, -1)
    carry = torch.full_like(lp, -math.inf).scatter(-1, zt[..., None], 0.0)
    return torch.where((zt != mask)[..., None], carry, lp)


def continuous(proc, kind, logits, x0, zt, t, mask):
    N = logits.shape[-1]
    lx = x_theta(proc, logits, zt, mask)
    a = alpha(kind, t)[:, None, None]
    da = dalpha(kind, t)[:, None, None]
    if proc == "mdlm":
        lp = lx.gather(-1, x0[..., None])
        w = da / (1 - a)
        out = torch.where((zt == mask)[..., None], w * lp, torch.zeros_like(lp))
        return out[..., 0]
    xt = torch.nn.functional.one_hot(x0, N).to(DT)
    xbar = N * a * xt + (1 - a)
    xbt = N * a * lx.exp() + (1 - a)
    xbar_i = xbar.gather(-1, zt[..., None])
    xbt_i = xbt.gather(-1, zt[..., None])
    term1 = N / xbar_i - N / xbt_i
    term2 = ((xbar / xbar_i) * (xbt_i.log() - xbt.log() + xbar.log() - xbar_i.log())).sum(-1, keepdim=True)
    return (da / (N * a) * (term1 - term2))[..., 0]


def posterior(proc, x, zt, at, as_, mask):
    """q(z_s | z_t, x) as a full (B,L,N) distribution; x: (B,L,N) probabilities."""
    N = x.shape[-1]
    zo = torch.nn.functional.one_hot(zt, N).to(DT)
    if proc == "udlm":
        ats = at / as_
        num = N * at * x * zo + (ats - at) * zo + (as_ - at) * x + (1 - ats) * (1 - as_) / N
        return num / num.sum(-1, keepdim=True)
    # masked: at a masked z_t, z_s = v w.p. (as-at)/(1-at) x_v, stays [MASK] w.p. (1-as)/(1-at);
    # an unmasked z_t is copied
    mo = torch.nn.functional.one_hot(torch.full_like(zt, mask), N).to(DT)
    q = (as_ - at) / (1 - at) * x + (1 - as_) / (1 - at) * mo
    return torch.where((zt == mask)[..., None], q, zo)


def discrete(proc, kind, logits, x0, zt, t, mask, T):
    N = logits.shape[-1]
    x = x_theta(proc, logits, zt, mask).exp()
    at = alpha(kind, t)[:, None, None]
    as_ = alpha(kind, torch.clamp(t - 1.0 / T, min=0.0))[:, None, None]
    q = posterior(proc, torch.nn.functional.one_hot(x0, N).to(DT), zt, at, as_, mask)
    p = posterior(proc, x, zt, at, as_, mask)
    safe_q = torch.where(q > 0, q, torch.ones_like(q))
    safe_p = torch.where(q > 0, p, torch.ones_like(p))
    return T * (q * (safe_q.log() - safe_p.log())).sum(-1)


def main():
    gen = torch.Generator().manual_seed(SEED)
    B, L, N, MASK = 5, 7, 9, 3
    out = {}
    for proc in ("mdlm", "udlm"):
        for kind in ("loglinear", "cosine"):
            for T in (0, 10):
                logits = (2.0 * torch.randn(B, L, N, generator=gen, dtype=DT)).to(torch.float32).to(DT)
                x0 = torch.randint(0, N, (B, L), generator=gen)
                if proc == "mdlm":
                    x0 = torch.where(x0 == MASK, torch.full_like(x0, MASK + 1), x0)
                t = torch.tensor([1e-3, 0.05, 0.4, 0.77, 1.0], dtype=DT)
                if T:
                    t = torch.tensor([0.1, 0.3, 0.5, 0.8, 1.0], dtype=DT)
                a = alpha(kind, t)[:, None]
                move = torch.rand(B, L, generator=gen, dtype=DT) < 1 - a
                move[:, 0] = True  # at least one corrupted position per sequence
                noise = torch.full_like(x0, MASK) if proc == "mdlm" else torch.randint(0, N, (B, L), generator=gen)
                zt = torch.where(move, noise, x0)
                if proc == "udlm":
                    zt[0, 1] = x0[0, 1]  # a clean position
                    zt[1, 2] = (x0[1, 2] + 1) % N
                lg = logits.clone().requires_grad_(True)
                loss = (discrete(proc, kind, lg, x0, zt, t, MASK, T) if T
                        else continuous(proc, kind, lg, x0, zt, t, MASK))
                (g,) = torch.autograd.grad(loss.sum(), lg)
                name = f"{proc}_{kind}_T{T}."
                out[name + "logits"] = logits.to(torch.float32)
                out[name + "x0"] = x0.to(torch.int32)
                out[name + "zt"] = zt.to(torch.int32)
                out[name + "t"] = t
                out[name + "loss"] = loss.detach()
                out[name + "grad"] = g
    save(os.path.join(OUT, "loss_logits.safetensors"), out, script=__file__, seed=SEED,
         desc=f"per-token MDLM/UDLM losses over random logits, B={B} L={L} N={N} mask={MASK}, "
              "schedules loglinear/cosine (eps 1e-3), continuous and T=10",
         extra_meta={"B": B, "L": L, "N": N, "mask": MASK})


if __name__ == "__main__":
    main()
