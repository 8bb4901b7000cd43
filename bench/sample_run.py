"""bench/run's "sample" entry (issue 10): bench_sample (strand) and bench/sample_torch.py (PyTorch CPU
sampler of the same model, same weights, logits checked) in the same invocation, for the SMILES
shape (MDLM and UDLM) and the DNA shape (UDLM) at 32 and 128 steps, plus the DiT forward at both
shapes; returns rows in bench/run's format (ratio > 1: strand faster)."""
import json
import os
import subprocess
import sys
import tempfile

CASES = [("smiles", "mdlm"), ("smiles", "udlm"), ("dna", "udlm")]
STEPS = ["32", "128"]


def run_sample(a, root):
    bdir = a.build_dir
    subprocess.run(["cmake", "--build", bdir, "--target", "bench_sample", "-j2"], check=True, stdout=subprocess.DEVNULL)
    iters = str(a.iters or 2)
    rows, seen_fwd = [], set()
    cases = CASES
    if getattr(a, "sample_cases", None):  # e.g. "smiles:udlm,smiles:mdlm"
        cases = [tuple(c.split(":")) for c in a.sample_cases.split(",")]
        for c in cases:
            if c not in CASES:
                sys.exit(f"bench/run: unknown sample case {':'.join(c)} (known: "
                         f"{','.join(':'.join(k) for k in CASES)})")
    for shape, proc in cases:
        with tempfile.TemporaryDirectory(prefix="strand-bench-sample-") as tmp:
            cmd = [os.path.join(bdir, "bench", "bench_sample"), "--threads", str(a.threads), "--iters", iters,
                   "--dump", tmp, shape, proc] + STEPS
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"bench/run: {' '.join(cmd)} failed:\n{p.stderr}")
            res = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
            tcmd = ["/usr/bin/python3", os.path.join(root, "bench", "sample_torch.py"), "--dir", tmp, "--threads",
                    str(a.threads), "--iters", iters, shape, proc] + STEPS
            t = subprocess.run(tcmd, capture_output=True, text=True)
        if t.returncode != 0:
            print(f"bench/run: PyTorch reference failed: {t.stderr.strip()[-300:]}", file=sys.stderr)
        ref = {}
        for line in t.stdout.splitlines():
            if line.startswith("{"):
                tr = json.loads(line)
                ref[tr["name"]] = tr
        for r in res:
            if r["name"].startswith("dit_forward"):
                if r["name"] in seen_fwd:
                    continue
                seen_fwd.add(r["name"])
            tr = ref.get(r["name"])
            if tr:
                r["reference"] = tr["value"]
                if "cpu" in tr:
                    r["reference_cpu"] = tr["cpu"]
                extra = f", NFE {tr['nfe']}" if "nfe" in tr else ""
                r["reference_name"] += (f" {tr['torch']} ({tr['threads']} threads{extra}; max|d logits| "
                                        f"{tr['check_max_abs_diff_logits']:.2g})")
            s, rv = r["strand"], r["reference"]
            r["ratio"] = None if not rv or not s else round(s / rv if r["higher_is_better"] else rv / s, 3)
            if r.get("strand_cpu") and r.get("reference_cpu"):
                sc, rc = r["strand_cpu"], r["reference_cpu"]
                r["ratio_cpu"] = round(sc / rc if r["higher_is_better"] else rc / sc, 3)
            print(json.dumps(r), file=sys.stderr, flush=True)
            rows.append(r)
    return rows
