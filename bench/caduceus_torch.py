#!/usr/bin/python3
"""PyTorch-CPU reference timings for the Caduceus-PS entries of bench/run (issue 4): the same model
as strand's (docs/mamba.md, docs/caduceus.md; float32) loaded from the strand checkpoint bench_caduceus --dump wrote, so
both sides run the same weights. Before timing it recomputes the small check batch of
DIR/check.safetensors and prints max |Δ logits| (and for the training entry the MLM loss and the
relative gradient differences), so the timings compare the same computation.

    /usr/bin/python3 bench/caduceus_torch.py --threads 2 --model DIR [--iters 3] [--batch B]
                                             [--length L] NAME
    NAME: caduceus_ps_forward | caduceus_ps_forward_131k | caduceus_mlm_step

Vectorisation (as fast as plain PyTorch allows; everything but the recurrence is a tensor op):
  - both strands run as one batch ("strand space": the PS half swap is X = rcswap(T), the same
    permutation tests/reference/caduceus.py checks against the literal 2D-wide formulation);
  - BiMamba's two directions are stacked along the channel axis: one grouped conv1d, batched
    x_proj/dt_proj matmuls, and one scan over 2·d_inner channels;
  - the scan precomputes exp(Δ·A) and Δ·B·x for a block of Q time steps as tensors
    (Q, 2, S, d_inner, 16), then runs only h = a_t ⊙ h + b_t per step (one addcmul_, in place at
    inference), and C·h for the whole block as one batched matmul.
Prints one JSON line: tokens/s (median of --iters timed calls after one warm-up), peak RSS of this
Python process (resource.getrusage, includes the torch import), the check results.
"""
import argparse
import json
import os
import resource
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

PFX = "caduceus.backbone."
NS, K = 16, 4
SHAPES = {  # name: (layers, B, L, training)
    "caduceus_ps_forward": (4, 8, 1024, False),
    "caduceus_ps_forward_131k": (16, 1, 131072, False),
    "caduceus_mlm_step": (4, 2, 1024, True),
}
INOUT = ("in_proj.weight", "out_proj.weight")
DECAY = ("in_proj.weight", "conv1d.weight", "x_proj.weight", "dt_proj.weight", "out_proj.weight")


def read_safetensors(path):
    """Minimal reader (F32 / I64 only): name -> torch tensor."""
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    hdr = json.loads(buf[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
        arr = np.frombuffer(buf, dtype=dt, count=(b - a) // np.dtype(dt).itemsize, offset=8 + n + a)
        out[k] = torch.from_numpy(arr.copy()).reshape(v["shape"])
    return out


class Model:
    def __init__(self, path, n_layer):
        t = read_safetensors(path)
        self.comp = t[PFX + "embeddings.word_embeddings.complement_map"]
        self.p = {k[len(PFX):]: v for k, v in t.items() if k.startswith(PFX) and v.dtype == torch.float32}
        self.n_layer = n_layer
        assert f"layers.{n_layer - 1}.norm.weight" in self.p and f"layers.{n_layer}.norm.weight" not in self.p

    def params(self):
        return list(self.p.values())

    def param_groups(self, wd):
        dec = [v for k, v in self.p.items() if k.endswith(DECAY)]
        nod = [v for k, v in self.p.items() if not k.endswith(DECAY)]
        return [{"params": dec, "weight_decay": wd}, {"params": nod, "weight_decay": 0.0}]

    def layer(self, i):
        """Both directions' tensors stacked: (fwd, rev) along a leading axis or the channel axis."""
        p, m = self.p, f"layers.{i}.mixer.submodule."
        f = {k: p[m + "mamba_fwd." + k] for k in ("conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight",
                                                   "dt_proj.bias", "A_log", "D") + INOUT}
        r = {k: p[m + "mamba_rev." + k] for k in f if k not in INOUT}
        return {
            "norm": p[f"layers.{i}.norm.weight"], "win": f["in_proj.weight"], "wout": f["out_proj.weight"],
            "convw": torch.cat([f["conv1d.weight"], r["conv1d.weight"]], 0),
            "convb": torch.cat([f["conv1d.bias"], r["conv1d.bias"]], 0),
            "wx": torch.stack([f["x_proj.weight"], r["x_proj.weight"]], 0).transpose(1, 2).unsqueeze(1),
            "wdt": torch.stack([f["dt_proj.weight"], r["dt_proj.weight"]], 0).transpose(1, 2).unsqueeze(1),
            "bdt": torch.stack([f["dt_proj.bias"], r["dt_proj.bias"]], 0)[:, None, None, :],
            "A": -torch.exp(torch.stack([f["A_log"], r["A_log"]], 0)),  # (2, di, N)
            "D": torch.stack([f["D"], r["D"]], 0)[:, None, None, :],
        }

    def forward(self, ids):
        """ids (B,L) int64 -> logits (B,L,V), docs/caduceus.md "Caduceus-PS" in strand space."""
        E, B = self.p["embeddings.word_embeddings.embedding.weight"], ids.shape[0]
        T = torch.cat([E[ids], E[self.comp[ids.flip(1)]]], 0)  # (2B, L, D): x and rc(x)
        for i in range(self.n_layer):
            lw = self.layer(i)
            X = torch.cat([T[B:], T[:B]], 0).flip([1, 2])  # the PS half swap: [rc(T_b); rc(T_a)]
            T = X + bimamba(rmsnorm(X, lw["norm"]), lw)
        G = rmsnorm(T, self.p["norm_f.weight"]) @ E.T
        return G[:B] + G[B:].flip(1)[..., self.comp]


def rmsnorm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def scan(x, delta, Bm, Cm, A):
    """x, delta (2,S,L,di); Bm, Cm (2,S,L,N); A (2,di,N) -> y (2,S,L,di) without the D skip."""
    _, S, L, di = x.shape
    Q = max(1, min(L, (1 << 25) // (2 * S * di * NS)))
    grad = torch.is_grad_enabled()
    h = torch.zeros(2, S, di, NS)
    ys = []
    for t0 in range(0, L, Q):
        t1 = min(L, t0 + Q)
        dl = delta[:, :, t0:t1].permute(2, 0, 1, 3).contiguous()  # (Q,2,S,di)
        xs = x[:, :, t0:t1].permute(2, 0, 1, 3)
        Bq = Bm[:, :, t0:t1].permute(2, 0, 1, 3).unsqueeze(-2)  # (Q,2,S,1,N)
        Cq = Cm[:, :, t0:t1].permute(2, 0, 1, 3).unsqueeze(-1)  # (Q,2,S,N,1)
        a = torch.exp(dl.unsqueeze(-1) * A[None, :, None])  # (Q,2,S,di,N)
        b = (dl * xs).unsqueeze(-1) * Bq
        if grad:  # unbind, not b[t]: the backward of each b[t] would allocate a zero tensor of b's size
            hs = []
            for at, bt in zip(a.unbind(0), b.unbind(0)):
                h = torch.addcmul(bt, at, h)
                hs.append(h)
            H = torch.stack(hs, 0)
        else:
            for t in range(t1 - t0):
                b[t].addcmul_(a[t], h)
                h = b[t]
            H = b
        ys.append(torch.matmul(H, Cq).squeeze(-1))  # (Q,2,S,di)
    return torch.cat(ys, 0).permute(1, 2, 0, 3)


def bimamba(U, lw):
    """docs/mamba.md "BiMamba": "add", tied in/out projections: U (S,L,D) -> (S,L,D)."""
    S, L, _ = U.shape
    di = lw["win"].shape[0] // 2
    R = lw["wdt"].shape[2]
    xz = U @ lw["win"].T
    x, z = xz[..., :di], xz[..., di:]
    xx = torch.cat([x, x.flip(1)], -1).transpose(1, 2)  # (S, 2di, L): fwd channels | rev channels
    xc = F.silu(F.conv1d(F.pad(xx, (K - 1, 0)), lw["convw"], lw["convb"], groups=2 * di))
    xc = xc.reshape(S, 2, di, L).permute(1, 0, 3, 2)  # (2,S,L,di)
    dbc = torch.matmul(xc, lw["wx"])  # (2,S,L,R+2N)
    delta = F.softplus(torch.matmul(dbc[..., :R], lw["wdt"]) + lw["bdt"])  # threshold 20 as docs/mamba.md "Discretisation"
    y = scan(xc, delta, dbc[..., R:R + NS], dbc[..., R + NS:], lw["A"]) + lw["D"] * xc
    zz = torch.stack([z, z.flip(1)], 0)
    o = y * F.silu(zz)
    return (o[0] + o[1].flip(1)) @ lw["wout"].T


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--model", required=True, help="directory bench_caduceus --dump wrote")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--length", type=int, default=0)
    ap.add_argument("name", choices=sorted(SHAPES))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    nl, B, L, train = SHAPES[a.name]
    B, L = a.batch or B, a.length or L
    m = Model(os.path.join(a.model, "model.safetensors"), nl)
    chk = read_safetensors(os.path.join(a.model, "check.safetensors"))
    res = {"name": a.name, "threads": torch.get_num_threads(), "torch": torch.__version__, "B": B, "L": L}

    # ---- the same computation? ----
    if train:
        for v in m.params():
            v.requires_grad_(True)
        lg = m.forward(chk["ids"])
        loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), chk["targets"].reshape(-1), ignore_index=-1)
        loss.backward()
        res["check_max_abs_diff_logits"] = float((lg.detach() - chk["logits"]).abs().max())
        res["check_loss_torch"], res["check_loss_strand"] = float(loss), float(chk["mlm_loss"][0])
        for tag, k in (("emb", "embeddings.word_embeddings.embedding.weight"),
                       ("in_proj0", "layers.0.mixer.submodule.mamba_fwd.in_proj.weight")):
            g, gs = m.p[k].grad, chk["grad." + k]  # max |Δ| / max |g|
            res["check_grad_rel_diff_" + tag] = float((g - gs).abs().max() / gs.abs().max())
        for v in m.params():
            v.grad = None
    else:
        with torch.no_grad():
            lg = m.forward(chk["ids"])
        res["check_max_abs_diff_logits"] = float((lg - chk["logits"]).abs().max())
    res["check_shape"] = list(chk["ids"].shape)

    # ---- timing ----
    gen = torch.Generator().manual_seed(5)
    ids = 7 + torch.randint(0, 4, (B, L), generator=gen)
    if train:
        tgt = ids.clone()
        sel = torch.rand((B, L), generator=gen) < 0.15
        tgt[~sel] = -1
        ids[sel & (torch.rand((B, L), generator=gen) < 0.8)] = 3  # [MASK]
        opt = torch.optim.AdamW(m.param_groups(0.01), lr=1e-4)

        def step():
            opt.zero_grad(set_to_none=False)
            lg = m.forward(ids)
            loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), ignore_index=-1)
            loss.backward()
            opt.step()
    else:
        def step():
            with torch.no_grad():
                m.forward(ids)
    runs, cpu = [], []
    for it in range(a.iters + 1):  # the first call warms up
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        if it:
            runs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    s = median(runs)
    # process CPU seconds per call (all threads): on a shared machine the wall time measures the load
    res.update({"tokens_per_s": B * L / s, "s": s, "runs_s": [round(r, 4) for r in sorted(runs)],
                "cpu_s": sum(cpu) / len(cpu), "tokens_per_cpu_s": B * L / (sum(cpu) / len(cpu)),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0})
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
