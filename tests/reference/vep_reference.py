#!/usr/bin/python3
"""Independent reference scores for tests/test_vep.c (run: /usr/bin/python3 tests/reference/vep_reference.py).

Writes tests/data/vep/model_{ps,ph}_tiny/ (tiny random Caduceus PS / PH checkpoints in the
HuggingFace layout: config.json + model.safetensors, tied tensors absent) and
tests/data/vep/expected_{ps,ph}.tsv: for every ALT of tests/data/vep/variants.vcf that strand
scores (REF matches ref.fa, ACGT alleles, contig present), the LLR and the embedding cosine
distance computed here in float64 with the PyTorch model of tests/reference/caduceus.py
(written from docs/caduceus.md), window 101, pooling half-width 20, following docs/vep.md: LLR = log p(ALT) - log p(REF) at the [MASK]ed centre (log-softmax over all 16
ids), EMB = 1 - cos(mean-pooled REF, ALT embeddings); PH post-hoc conjoined (x and rc(x)).
"""
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from caduceus import COMP, PFX, VOCAB, forward_ph, forward_ps, random_model  # noqa: E402
from fixture import save  # noqa: E402

OUT = os.path.join(HERE, "..", "data", "vep")
W, H = 101, 20
h = W // 2
TOK = {c: i for i, c in enumerate("ACGTN", start=7)}
MASK, PAD = 3, 4
D_MODEL, N_LAYER = 16, 2


def read_fasta(path):
    seqs, name = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name:
            seqs[name].append(line)
    return {k: "".join(v) for k, v in seqs.items()}


def tok(c):
    t = TOK.get(c.upper(), 6)
    return PAD if t == TOK["N"] else t


def window(seq, pos, rlen, alt, kind):
    """kind: ref / masked / alt (see docs/vep.md "Windows")."""
    hap = seq if kind != "alt" else seq[:pos] + alt + seq[pos + rlen:]
    ids = [PAD if q < 0 or q >= len(hap) else tok(hap[q]) for q in range(pos - h, pos + h + 1)]
    if kind == "masked":
        ids[h] = MASK
    return ids


def model_outputs(ids, p, ps):
    """logits (B,L,16) and per-position embeddings (B,L,D), PS as is, PH post-hoc conjoined."""
    ids = torch.tensor(ids)
    if ps:
        return forward_ps(ids, p, N_LAYER)
    lg, out = forward_ph(ids, p, N_LAYER)
    rids = COMP[ids.flip(1)]
    lg2, out2 = forward_ph(rids, p, N_LAYER)
    lg = 0.5 * (lg + lg2.flip(1)[..., COMP])
    return lg, 0.5 * (out + out2.flip(1))


def write_model(d, p, ps):
    os.makedirs(d, exist_ok=True)
    tensors = {PFX + k: v.float() for k, v in p.items()}
    if ps:
        tensors[PFX + "embeddings.word_embeddings.complement_map"] = COMP.clone()
        tensors["lm_head.complement_map"] = COMP.clone()
    save(os.path.join(d, "model.safetensors"), tensors, script=__file__, seed=7 if ps else 8,
         desc=f"tiny random Caduceus-{'PS' if ps else 'PH'} for the VEP tests", extra_meta={"format": "pt"})
    cfg = {"architectures": ["CaduceusForMaskedLM"], "model_type": "caduceus", "d_model": D_MODEL,
           "n_layer": N_LAYER, "vocab_size": VOCAB, "pad_vocab_size_multiple": 8, "rms_norm": True,
           "fused_add_norm": True, "residual_in_fp32": False, "norm_epsilon": 1e-5, "bidirectional": True,
           "bidirectional_strategy": "add", "bidirectional_weight_tie": True, "rcps": ps,
           "complement_map": {str(i): int(COMP[i]) for i in range(VOCAB)},
           "ssm_cfg": {"d_state": 16, "d_conv": 4, "expand": 2, "dt_rank": "auto", "conv_bias": True,
                       "bias": False}}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def main():
    seqs = read_fasta(os.path.join(OUT, "ref.fa"))
    recs = []
    for line in open(os.path.join(OUT, "variants.vcf")):
        if line.startswith("#"):
            continue
        c = line.split("\t")
        recs.append((c[0], int(c[1]), c[3], c[4].split(",")))
    for ps in (True, False):
        gen = torch.Generator().manual_seed(7 if ps else 8)
        p = random_model(gen, D_MODEL, N_LAYER, ps)
        p = {k: v.float().double() for k, v in p.items()}  # exactly the float32 weights written
        name = "ps" if ps else "ph"
        write_model(os.path.join(OUT, f"model_{name}_tiny"), p, ps)
        rows = []
        with torch.no_grad():
            for chrom, pos1, ref, alts in recs:
                seq, pos = seqs.get(chrom), pos1 - 1
                if seq is None or pos + len(ref) > len(seq) or seq[pos:pos + len(ref)].upper() != ref.upper():
                    continue
                for alt in alts:
                    if not alt or any(ch not in "ACGTacgt" for ch in ref + alt):
                        continue
                    snv = len(ref) == 1 and len(alt) == 1
                    wins = [window(seq, pos, len(ref), alt, "ref"), window(seq, pos, len(ref), alt, "alt")]
                    if snv:
                        wins.append(window(seq, pos, len(ref), alt, "masked"))
                    lg, emb = model_outputs(wins, p, ps)
                    llr = float("nan")
                    if snv:
                        lp = torch.log_softmax(lg[2, h], -1)
                        llr = (lp[TOK[alt.upper()]] - lp[TOK[ref.upper()]]).item()
                    a, b = emb[0, h - H:h + H + 1].mean(0), emb[1, h - H:h + H + 1].mean(0)
                    cosd = 1 - (a @ b / (a.norm() * b.norm())).item()
                    rows.append(f"{chrom}\t{pos1}\t{ref}\t{alt}\t{llr!r}\t{cosd!r}")
        with open(os.path.join(OUT, f"expected_{name}.tsv"), "w") as f:
            f.write(f"# tests/reference/vep_reference.py: window {W}, pool half-width {H}, float64; "
                    "CHROM POS REF ALT LLR EMB\n")
            f.write("\n".join(rows) + "\n")
        print(f"{name}: {len(rows)} scored ALTs")


if __name__ == "__main__":
    main()
