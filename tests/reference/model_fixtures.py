"""Fixtures for tests/test_model_api.c (public strand_model API and `strand logits`).

The DiT weights, inputs and PyTorch logits come from tests/data/dit/*.safetensors, written by
tests/reference/dit.py (a PyTorch DiT). This script repackages them the two ways a user hands a
model to strand, with numpy inputs/outputs as `strand logits` reads and writes them:
  tests/data/model/hf_udlm/{config.json, model.safetensors}   HuggingFace layout (model_type udlm)
  tests/data/model/dit_strand.safetensors                     strand file, config in "strand.config"
  tests/data/model/dit_plain.safetensors                      strand file, no labels, no time cond
  tests/data/model/{ids.npy, sigma.npy, labels.npy, logits.npy} and plain_{ids,logits}.npy

    /usr/bin/python3 tests/reference/model_fixtures.py
"""
import json
import os
import struct
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from fixture import save  # noqa: E402

DT = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "F64": np.float64}


def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=DT[v["dtype"]]).reshape(v["shape"]).copy()
    return out, meta


def config(meta, udlm=True):
    c = {"vocab_size": int(meta["N"]), "hidden_dim": int(meta["D"]), "n_blocks": int(meta["depth"]),
         "n_heads": int(meta["H"]), "cond_dim": int(meta["cond"]), "model_length": int(meta["L"]),
         "dropout": 0.1, "time_conditioning": meta["time_cond"] == "1",
         "cfg": int(meta["classes"]) > 0, "cfg_num_classes": int(meta["classes"])}
    if udlm:
        c["model_type"] = "udlm"
    return c


data = os.path.join(here, "..", "data")
out = os.path.join(data, "model")
os.makedirs(os.path.join(out, "hf_udlm"), exist_ok=True)

t, meta = load(os.path.join(data, "dit", "dit_model.safetensors"))
weights = {k: v for k, v in t.items() if k.startswith("backbone.")}
hd = int(meta["D"]) // int(meta["H"])
inv_freq = (1.0 / 10000 ** (np.arange(0, hd, 2, dtype=np.float32) / hd)).astype(np.float32)
hf = dict(weights)
hf["backbone.rotary_emb.inv_freq"] = inv_freq  # published files carry this buffer
save(os.path.join(out, "hf_udlm", "model.safetensors"), hf, script=__file__,
     desc="weights of tests/data/dit/dit_model.safetensors under the published UDLM names")
with open(os.path.join(out, "hf_udlm", "config.json"), "w") as f:
    json.dump(config(meta), f, indent=2)
sc = config(meta, udlm=False)
sc["kind"] = "dit"
save(os.path.join(out, "dit_strand.safetensors"), weights, script=__file__,
     desc="strand DiT file: weights of tests/data/dit/dit_model.safetensors",
     extra_meta={"strand.config": json.dumps(sc)})
np.save(os.path.join(out, "ids.npy"), t["ids"].astype(np.int64))
np.save(os.path.join(out, "sigma.npy"), t["sigma"].astype(np.float32))
np.save(os.path.join(out, "labels.npy"), t["labels"].astype(np.int64))
np.save(os.path.join(out, "logits.npy"), t["logits"].astype(np.float32))

p, pmeta = load(os.path.join(data, "dit", "dit_plain.safetensors"))
pc = config(pmeta, udlm=False)
pc["kind"] = "dit"
save(os.path.join(out, "dit_plain.safetensors"), {k: v for k, v in p.items() if k.startswith("backbone.")},
     script=__file__, desc="strand DiT file: weights of tests/data/dit/dit_plain.safetensors",
     extra_meta={"strand.config": json.dumps(pc)})
np.save(os.path.join(out, "plain_ids.npy"), p["ids"].astype(np.int32))
np.save(os.path.join(out, "plain_logits.npy"), p["logits"].astype(np.float32))
print("wrote", sorted(os.listdir(out)), "config", sc)
