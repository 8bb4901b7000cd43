#!/usr/bin/python3
"""Independent PyTorch reference for BiMamba and Caduceus-PH / Caduceus-PS (docs/mamba.md "BiMamba", docs/caduceus.md), written
from the maths there in float64. Each direction of BiMamba is a full Mamba block (tied in/out
projections), evaluated literally as mamba_fwd(u) + flip_L(mamba_rev(flip_L(u))): strand's
"in_proj once, out_proj once" shortcut is therefore checked, not assumed.

    /usr/bin/python3 tests/reference/caduceus.py

Writes tests/data/caduceus/:
  bimamba.safetensors   u, weights (mamba_fwd.* / mamba_rev.*, tied absent), out, Rc, grads
  ph.safetensors, ps.safetensors
                        ids (B,L) int64, weights under the published HF names (prefix
                        caduceus.backbone., tied tensors absent), logits, Rc, loss = sum(logits*Rc)
                        and grad.<name> for every weight; plus an MLM loss on selected positions
                        (targets, -100 = not selected): mlm_loss and grad_logits_mlm.
  hf_ps_tiny/config.json + model.safetensors   a PS checkpoint laid out as HuggingFace's
                        CaduceusForMaskedLM saves it (tied tensors absent, int64 complement maps)
  hf_ps_tiny_expected.safetensors   ids and the expected logits for that checkpoint.
  ps_l1.safetensors, ps_l3.safetensors
                        the PS fixture again with n_layer = 1 and 3 (own generators, so the files
                        above are unchanged). With an even layer count a PS network that
                        reverse-complements each strand in place instead of swapping the halves
                        gives the same logits (two swaps cancel); with an odd count it does not.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import save  # noqa: E402
from mamba import NAMES, mamba_block, random_weights  # noqa: E402

VOCAB = 16
COMP = torch.tensor([0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15])  # docs/tokenizers.md "Complement and reverse complement"
TIED = ("in_proj.weight", "out_proj.weight")
PFX = "caduceus.backbone."


def flip_L(x):
    return x.flip(1)


def rc(x):
    """(B,L,C): reverse along L and along channels."""
    return x.flip(1).flip(2)


def rmsnorm(v, w, eps=1e-5):
    return v * torch.rsqrt((v * v).mean(-1, keepdim=True) + eps) * w


def bimamba(u, pf, pr):
    """docs/mamba.md "BiMamba", "add" strategy, literally: two full blocks, rev's in/out tied to fwd's."""
    prt = dict(pr)
    prt["in_proj.weight"] = pf["in_proj.weight"]
    prt["out_proj.weight"] = pf["out_proj.weight"]
    return mamba_block(u, pf) + flip_L(mamba_block(flip_L(u), prt))


def layer_weights(p, i, ps):
    mix = f"layers.{i}.mixer.submodule." if ps else f"layers.{i}.mixer."
    pf = {k: p[mix + "mamba_fwd." + k] for k in NAMES}
    pr = {k: p[mix + "mamba_rev." + k] for k in NAMES if k not in TIED}
    return p[f"layers.{i}.norm.weight"], pf, pr


def emb_name(ps):
    return "embeddings.word_embeddings.embedding.weight" if ps else "embeddings.word_embeddings.weight"


def random_model(gen, d_model, n_layer, ps):
    p = {emb_name(ps): torch.randn((VOCAB, d_model), generator=gen, dtype=torch.float64) * 0.5}
    for i in range(n_layer):
        mix = f"layers.{i}.mixer.submodule." if ps else f"layers.{i}.mixer."
        p[f"layers.{i}.norm.weight"] = 1 + 0.3 * torch.randn((d_model,), generator=gen, dtype=torch.float64)
        for k, v in random_weights(gen, d_model).items():
            p[mix + "mamba_fwd." + k] = v
        for k, v in random_weights(gen, d_model, with_inout=False).items():
            p[mix + "mamba_rev." + k] = v
    p["norm_f.weight"] = 1 + 0.3 * torch.randn((d_model,), generator=gen, dtype=torch.float64)
    return p


def forward_ph(ids, p, n_layer):
    """docs/caduceus.md "Residual pattern and RMSNorm", "Caduceus-PH" (no conjoining: that is an inference-time wrapper)."""
    E = p[emb_name(False)]
    H = E[ids]
    R = torch.zeros_like(H)
    for i in range(n_layer):
        w, pf, pr = layer_weights(p, i, False)
        S = H + R
        R = S
        H = bimamba(rmsnorm(S, w), pf, pr)
    out = rmsnorm(H + R, p["norm_f.weight"])
    return out @ E.T, out


def forward_ps(ids, p, n_layer):
    """docs/caduceus.md "Caduceus-PS", the fused path with the half swap."""
    E = p[emb_name(True)]
    D = E.shape[1]
    H = torch.cat([E[ids], E[COMP[ids]].flip(-1)], -1)
    R = torch.zeros_like(H)
    for i in range(n_layer):
        w, pf, pr = layer_weights(p, i, True)
        S = H + R
        R = torch.cat([S[..., D:], S[..., :D]], -1)
        X1 = rmsnorm(R[..., :D], w)
        X2 = rmsnorm(rc(R[..., D:]), w)
        H = torch.cat([bimamba(X1, pf, pr), rc(bimamba(X2, pf, pr))], -1)
    S = H + R
    wf = p["norm_f.weight"]
    out = torch.cat([rmsnorm(S[..., :D], wf), rc(rmsnorm(rc(S[..., D:]), wf))], -1)
    logits = out[..., :D] @ E.T + out[..., D:].flip(-1) @ E[COMP].T
    # Strand-collapsed per-position embedding, site-aligned: (out[:, :D] + flip_c(out[:, D:]))/2.
    # The published formula writes flip_L,c (docs/caduceus.md "Strand-collapsed embedding"); with flip_L the two halves come from positions t and L-1-t and the
    # result is RC-*invariant* per position, so the required property embed(rc x) = flip_L embed(x)
    # cannot hold. Without flip_L it does; the mean over L (the published pooled feature) is the
    # same either way.
    collapsed = (out[..., :D] + out[..., D:].flip(-1)) / 2
    return logits, collapsed


def rc_ids(ids):
    return COMP[ids.flip(1)]


def random_ids(gen, Bsz, L):
    # mostly A/C/G/T (7..10), some N (11), [MASK] (3) and [PAD] (4)
    pool = torch.tensor([7, 8, 9, 10] * 6 + [11, 3, 4])
    return pool[torch.randint(0, len(pool), (Bsz, L), generator=gen)]


def mlm_part(gen, logits):
    """Cross-entropy over selected positions (targets != -100), mean over them."""
    Bsz, L, _ = logits.shape
    targets = torch.randint(7, 11, (Bsz, L), generator=gen)
    sel = torch.rand((Bsz, L), generator=gen) < 0.4
    sel[0, 0] = True
    targets[~sel] = -100
    lg = logits.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(lg.reshape(-1, VOCAB), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    return {"targets": targets, "mlm_loss": loss.detach().reshape(1), "grad_logits_mlm": lg.grad}


def model_fixture(path, gen, ps, seed, Bsz=2, L=12, d_model=16, n_layer=2):
    p = {k: v.requires_grad_(True) for k, v in random_model(gen, d_model, n_layer, ps).items()}
    ids = random_ids(gen, Bsz, L)
    if ps:
        logits, collapsed = forward_ps(ids, p, n_layer)
        # the property the architecture exists for; checked here so a wrong reading of the maths fails early
        lrc, crc = forward_ps(rc_ids(ids), p, n_layer)
        assert torch.allclose(lrc, logits.flip(1)[..., COMP], atol=1e-9)
        assert torch.allclose(crc, collapsed.flip(1), atol=1e-9)
    else:
        logits, collapsed = forward_ph(ids, p, n_layer)
    Rc = torch.randn(logits.shape, generator=gen, dtype=torch.float64)
    (logits * Rc).sum().backward()
    t = {"ids": ids, "logits": logits, "embed": collapsed, "Rc": Rc}
    for k, v in p.items():
        t[PFX + k] = v
        t["grad." + PFX + k] = v.grad
    t.update(mlm_part(gen, logits))
    if ps:
        cm = COMP.clone()
        t[PFX + "embeddings.word_embeddings.complement_map"] = cm
        t["lm_head.complement_map"] = cm  # CaduceusForMaskedLM.lm_head sits beside .caduceus
    t = {k: (v.detach().float() if v.dtype == torch.float64 else v.detach()) for k, v in t.items()}
    kind = "PS" if ps else "PH"
    save(path, t, script=__file__, seed=seed,
         desc=f"Caduceus-{kind} docs/caduceus.md, B={Bsz} L={L} D={d_model} n_layer={n_layer}, float64 reference; "
              "loss = sum(logits * Rc)",
         extra_meta={"d_model": d_model, "n_layer": n_layer})
    return p


def bimamba_fixture(path, gen, seed, Bsz=2, L=12, d_model=16):
    pf = {k: v.requires_grad_(True) for k, v in random_weights(gen, d_model).items()}
    pr = {k: v.requires_grad_(True) for k, v in random_weights(gen, d_model, with_inout=False).items()}
    u = torch.randn((Bsz, L, d_model), generator=gen, dtype=torch.float64).requires_grad_(True)
    out = bimamba(u, pf, pr)
    Rc = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    (out * Rc).sum().backward()
    t = {"u": u, "out": out, "Rc": Rc, "grad.u": u.grad}
    for k, v in pf.items():
        t["mamba_fwd." + k] = v
        t["grad.mamba_fwd." + k] = v.grad
    for k, v in pr.items():
        t["mamba_rev." + k] = v
        t["grad.mamba_rev." + k] = v.grad
    save(path, {k: v.detach().float() for k, v in t.items()}, script=__file__, seed=seed,
         desc=f"BiMamba docs/mamba.md (add, tied in/out proj), B={Bsz} L={L} D={d_model}; loss = sum(out * Rc)")


def hf_fixture(root, gen, seed, d_model=24, n_layer=2, Bsz=1, L=20):
    """A PS checkpoint as HuggingFace writes it: published names, tied tensors absent."""
    p = random_model(gen, d_model, n_layer, True)
    ids = random_ids(gen, Bsz, L)
    with torch.no_grad():
        logits, collapsed = forward_ps(ids, p, n_layer)
    d = os.path.join(root, "hf_ps_tiny")
    tensors = {PFX + k: v.float() for k, v in p.items()}
    tensors[PFX + "embeddings.word_embeddings.complement_map"] = COMP.clone()
    tensors["lm_head.complement_map"] = COMP.clone()
    save(os.path.join(d, "model.safetensors"), tensors, script=__file__, seed=seed,
         desc="tiny random Caduceus-PS in the HuggingFace layout", extra_meta={"format": "pt"})
    # the published configs serialise complement_map as a JSON object with string keys; write it
    # in string-sorted key order ("0","1","10",...) so a loader reading it by position is wrong.
    cmap = {str(i): int(COMP[i]) for i in range(VOCAB)}
    cmap = dict(sorted(cmap.items()))
    config = {
        "architectures": ["CaduceusForMaskedLM"], "model_type": "caduceus",
        "d_model": d_model, "n_layer": n_layer, "vocab_size": VOCAB, "pad_vocab_size_multiple": 8,
        "rms_norm": True, "fused_add_norm": True, "residual_in_fp32": False, "norm_epsilon": 1e-5,
        "initializer_cfg": {"initializer_range": 0.02, "n_residuals_per_layer": 1, "rescale_prenorm_residual": True},
        "bidirectional": True, "bidirectional_strategy": "add", "bidirectional_weight_tie": True,
        "rcps": True, "complement_map": cmap,
        "ssm_cfg": {"d_state": 16, "d_conv": 4, "expand": 2, "dt_rank": "auto", "dt_min": 0.001,
                    "dt_max": 0.1, "dt_init": "random", "dt_scale": 1.0, "dt_init_floor": 1e-4,
                    "conv_bias": True, "bias": False, "use_fast_path": True},
    }
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    save(os.path.join(root, "hf_ps_tiny_expected.safetensors"),
         {"ids": ids, "logits": logits.float(), "embed": collapsed.float()}, script=__file__, seed=seed,
         desc=f"expected logits of hf_ps_tiny (D={d_model}, n_layer={n_layer}) for ids")


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "caduceus")
    seed = 4242
    gen = torch.Generator().manual_seed(seed)
    bimamba_fixture(os.path.join(root, "bimamba.safetensors"), gen, seed)
    model_fixture(os.path.join(root, "ph.safetensors"), gen, False, seed)
    model_fixture(os.path.join(root, "ps.safetensors"), gen, True, seed)
    hf_fixture(root, gen, seed)
    for n_layer, s in ((1, 4243), (3, 4244)):
        model_fixture(os.path.join(root, f"ps_l{n_layer}.safetensors"), torch.Generator().manual_seed(s), True, s,
                      n_layer=n_layer)
    for n in sorted(os.listdir(root)):
        print("wrote", os.path.join(os.path.normpath(root), n))


if __name__ == "__main__":
    main()
