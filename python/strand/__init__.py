"""strand: Caduceus variant-effect scoring and guided discrete-diffusion sampling, from Python.

A thin layer over libstrand (include/strand.h); every number is computed by the C library.
Arrays go in and out as numpy arrays without copies when they are already C-contiguous with the
library's dtype (int32 ids, float32 logits/embeddings).

    import strand
    m = strand.Model("models/caduceus-ps-chr20.safetensors")
    logits = m.logits(ids)                    # (n, L, V) float32
    emb = m.embed(ids, pooling="mean")        # (n, d_model)
    v = strand.vep.VEP(m.path, "ref.fa")
    rec = v.score([("22", 101, "A", "G")])    # numpy structured array (pandas.DataFrame(rec) works)
    s = strand.Sampler(strand.Model("models/smiles-udlm-qed.safetensors"), steps=32, seed=1)
    for smiles in s.sample_text(100): ...
    clf = strand.Classifier("models/smiles-qed-classifier.safetensors")
    logp = clf.log_probs(ids)                 # (n, C) float32
    s = strand.Sampler(strand.Model("models/smiles-udlm-qed.safetensors.zst"), classifier=clf, cls=1,
                       gamma=2.0, cbg="first-order", steps=32, seed=1)   # classifier-based guidance
    c = strand.Campaign("design/campaigns/demo.json")
    for job in c.jobs(): c.run_job(job, "out")   # one job at a time (a workflow manager's way) ...
    c.gather("out")                              # ... then the campaign-level files

Errors raise strand.Error with the library's message and code.
"""
from __future__ import annotations

from ._core import Error, Model, Tokenizer, dep_versions, get_threads, set_threads, version, version_number
from .classifier import Classifier
from .sample import Sampler
from . import design, vep
from .design import Campaign

__all__ = ["Error", "Model", "Tokenizer", "Sampler", "Classifier", "Campaign", "design", "vep", "version",
           "version_number", "dep_versions", "set_threads", "get_threads"]
