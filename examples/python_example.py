"""strand from Python, step by step (run from the repository root after building and
`pip install ./python`; STRAND_LIB=build/libstrand.so.0 if libstrand is not installed).

    /usr/bin/python3 examples/python_example.py
"""
import numpy as np

import strand

# 1. Versions of strand and of the libraries it was built with.
print("strand", strand.version(), strand.dep_versions())

# 2. A Caduceus model: logits and embeddings of DNA, token ids in and numpy arrays out.
m = strand.Model("models/caduceus-ps-chr20.safetensors")
ids = np.stack([m.tokenizer.encode(s, 64) for s in ("ACGT" * 16, "GATTACA" * 9 + "G")])
print("logits", m.logits(ids).shape, "pooled embedding", m.embed(ids).shape)

# 3. Variant effect scores, as records (pandas.DataFrame(records) makes a table of them).
v = strand.vep.VEP(m.path, "tests/data/vep/chr22_60kb.fa", window=512, pool_half_width=64)
records = v.score([("22_20-21M", 146, "G", "A"), ("22_20-21M", 428, "G", "T")])
for r in records:
    print(r["contig"], r["pos"], r["ref"], ">", r["alt"], "LLR %.4f EMB %.3g" % (r["llr"], r["emb"]))

# 4. A whole VCF, written atomically and indexed, exactly as `strand vep` writes it.
summary = v.annotate_vcf("tests/data/vep/chr22_snps200.vcf", "/tmp/strand_example.vcf.gz", index=True)
print("annotated", summary["records"], "records;", summary["llr_scored"], "LLRs")

# 5. Diffusion sampling with classifier-free guidance (needs a bundled diffusion model):
#    s = strand.Sampler(strand.Model("models/smiles-udlm-qed.safetensors"), steps=32, label=1, gamma=2, seed=1)
#    for smiles in s.sample_text(10, progress=lambda done, total: print(done, "/", total)):
#        print(smiles)
#    Ctrl-C during s.run() cancels the run and raises KeyboardInterrupt; nothing is returned.

# 6. Classifier-based guidance: a noisy classifier's log p(y | z) and a sampler steered by it (the
#    keywords of `strand sample --classifier C --class Y --gamma G --cbg MODE [--label L --cfg-gamma G2]`).
clf = strand.Classifier("models/smiles-qed-classifier.safetensors")
s = strand.Sampler(strand.Model("models/smiles-udlm-qed.safetensors.zst"), steps=32, seed=1, batch=10,
                   classifier=clf, cls=1, gamma=2.0, cbg="first-order")
ids = s.run(10)
print("CBG samples", ids.shape, "mean p(high-QED | sample) %.3f" % np.exp(clf.log_probs(ids)[:, 1]).mean(),
      s.cbg_stats)

# 7. A design campaign one job at a time, as a workflow manager runs it (workflow/design.smk), then
#    the campaign-level files: the same bytes as one `strand design` run.
c = strand.Campaign("design/campaigns/demo.json")
for job in c.jobs():
    r = c.run_job(job, "/tmp/strand_example_design")
    print(job, "validity", r["metrics"]["metrics"]["validity"], "kept" if r["reused"] else "ran")
c.gather("/tmp/strand_example_design")
print("report: /tmp/strand_example_design/report.html")
