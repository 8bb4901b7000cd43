#!/usr/bin/python3
"""End-to-end reference for `strand eval --per-token` (docs/diffusion.md "Evaluation"): a small
random DiT (tests/reference/dit.py, float64) -> logits -> the per-token losses of
tests/reference/diffusion_loss.py, for fixed x0, z_t, t and labels. Written from the formulas,
not from strand's C code.

    /usr/bin/python3 tests/reference/diffusion_eval.py   # writes tests/data/diffusion/eval_*

eval_udlm.safetensors     strand model file: UDLM, time-conditioned, 2 classes (+ null), cosine
                          schedule ("strand.config" metadata), weights under "backbone."
eval_mdlm_hf/             HF layout: config.json (model_type "mdlm", no "diffusion" key: mask id =
                          vocab - 1, log-linear, not time-conditioned, no labels) + model.safetensors
eval_{udlm,mdlm}_{x0,zt,labels}.npy int64/int32 (B, L) / (B), eval_*_t.npy float64 (B),
eval_{udlm,mdlm}_loss.npy float32 (B, L): the expected per-token losses
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffusion_loss as dl  # noqa: E402
import dit  # noqa: E402
from fixture import save  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "diffusion")
SEED = 1618


def per_token(proc, kind, cfg, w, x0, zt, t, labels, mask):
    N = cfg["N"]
    sched_sigma = -torch.log(dl.alpha(kind, t))
    logits = dit.dit(cfg, w, sched_sigma, labels, ids=zt)
    return dl.continuous(proc, kind, logits, x0, zt, t, mask)


def main():
    gen = torch.Generator().manual_seed(SEED)
    os.makedirs(OUT, exist_ok=True)
    B, L = 4, 8
    # UDLM, strand file
    cfg = dict(N=10, D=32, depth=2, H=2, cond=16, L=L, B=B, classes=2, time_cond=1)
    w = dit.random_weights(cfg, gen)
    x0 = torch.randint(0, cfg["N"], (B, L), generator=gen)
    noise = torch.randint(0, cfg["N"], (B, L), generator=gen)
    move = torch.rand(B, L, generator=gen) < 0.6
    zt = torch.where(move, noise, x0)
    t = torch.tensor([0.03, 0.3, 0.6, 0.95], dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 1])  # sequence 2: the null label
    loss = per_token("udlm", "cosine", cfg, w, x0, zt, t, labels, -1)
    scfg = {"kind": "dit", "diffusion": "udlm", "noise": "cosine", "T": 0, "vocab_size": cfg["N"],
            "model_length": 16, "hidden_dim": cfg["D"], "cond_dim": cfg["cond"], "n_blocks": cfg["depth"],
            "n_heads": cfg["H"], "time_conditioning": True, "cfg": True, "cfg_num_classes": cfg["classes"]}
    save(os.path.join(OUT, "eval_udlm.safetensors"), {k: dit.f32(v) for k, v in w.items()}, script=__file__,
         seed=SEED, desc="UDLM DiT " + json.dumps(scfg), extra_meta={"strand.config": json.dumps(scfg)})
    np.save(os.path.join(OUT, "eval_udlm_x0.npy"), x0.numpy().astype(np.int64))
    np.save(os.path.join(OUT, "eval_udlm_zt.npy"), zt.numpy().astype(np.int32))
    np.save(os.path.join(OUT, "eval_udlm_t.npy"), t.numpy())
    np.save(os.path.join(OUT, "eval_udlm_labels.npy"), labels.numpy().astype(np.int64))
    np.save(os.path.join(OUT, "eval_udlm_loss.npy"), loss.detach().numpy().astype(np.float32))

    # MDLM, HF directory; the mask is the last id
    cfg2 = dict(N=9, D=16, depth=1, H=2, cond=8, L=L, B=B, classes=0, time_cond=0)
    w2 = dit.random_weights(cfg2, gen)
    mask = cfg2["N"] - 1
    x0 = torch.randint(0, mask, (B, L), generator=gen)
    move = torch.rand(B, L, generator=gen) < 0.5
    move[:, 0] = True
    zt = torch.where(move, torch.full_like(x0, mask), x0)
    t = torch.tensor([0.1, 0.25, 0.5, 1.0], dtype=torch.float64)
    loss2 = per_token("mdlm", "loglinear", cfg2, w2, x0, zt, t, None, mask)
    d = os.path.join(OUT, "eval_mdlm_hf")
    os.makedirs(d, exist_ok=True)
    hcfg = {"model_type": "mdlm", "vocab_size": cfg2["N"], "model_length": 16, "hidden_dim": cfg2["D"],
            "cond_dim": cfg2["cond"], "n_blocks": cfg2["depth"], "n_heads": cfg2["H"], "dropout": 0.1,
            "time_conditioning": False}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(hcfg, f, indent=2)
    hd = cfg2["D"] // cfg2["H"]
    tens = {k: dit.f32(v) for k, v in w2.items()}
    tens["backbone.rotary_emb.inv_freq"] = (1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))).float()
    save(os.path.join(d, "model.safetensors"), tens, script=__file__, seed=SEED, desc="MDLM DiT, HF layout")
    np.save(os.path.join(OUT, "eval_mdlm_x0.npy"), x0.numpy().astype(np.int32))
    np.save(os.path.join(OUT, "eval_mdlm_zt.npy"), zt.numpy().astype(np.int64))
    np.save(os.path.join(OUT, "eval_mdlm_t.npy"), t.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "eval_mdlm_loss.npy"), loss2.detach().numpy().astype(np.float32))


if __name__ == "__main__":
    main()
