"""bench/run's "cbg" entry (issue 11): classifier-based guidance at the SMILES shape (the bundled
smiles-udlm-qed / smiles-mdlm-qed, DiT 96 wide, 3 blocks, L 64, V 75, with the bundled noisy
classifiers smiles-qed-classifier / smiles-qed-mdlm-classifier: DiT 64 wide, 2 blocks).

1. cbg_exact_rows: the exact mode's classifier rows per second, strand vs PyTorch on the same
   classifier file. strand: `strand posterior --cbg exact` for n z_t (uniform process: every
   position is drawn, 1 + L (V - 1) = 4,737 rows per sequence) minus the same command unguided
   (model load + the one diffusion forward), on the process CPU clock of the child (RUSAGE_CHILDREN);
   PyTorch: bench/cbg_torch.py scoring the same edit rows (its best chunk of 128 / 512 / 2,048 rows),
   logits checked against `strand logits` of the classifier.
2. cbg_step_cost_<proc>_<mode>: CPU-seconds per sample and step of `strand sample` at 32 steps'
   time grid, unguided vs first-order vs exact, from two runs that differ in the step count
   ((cpu(S2) - cpu(S1)) / ((S2 - S1) n): load and set-up cancel). No reference (ratio = None);
   "vs_unguided" gives the multiple of the unguided step.

Returns rows in bench/run's format (ratio > 1: strand faster). Needs the strand CLI in the build
directory (bench/run builds it) or --strand."""
import json
import os
import resource
import subprocess
import sys
import tempfile

import numpy as np

UDLM, MDLM = "models/smiles-udlm-qed.safetensors.zst", "models/smiles-mdlm-qed.safetensors.zst"
CLF = {"udlm": "models/smiles-qed-classifier.safetensors", "mdlm": "models/smiles-qed-mdlm-classifier.safetensors"}
L, V = 64, 75


def child_cpu(cmd, threads):
    """(process CPU seconds of the child, user + system; its stderr). OMP_NUM_THREADS = threads
    (`strand posterior` has no --threads: OpenMP's default, which honours it)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"bench/run: {' '.join(cmd)} failed:\n{p.stderr}")
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), p.stderr


def median(x):
    x = sorted(x)
    k = len(x)
    return x[k // 2] if k % 2 else 0.5 * (x[k // 2 - 1] + x[k // 2])


def run_cbg(a, root, strand=None):
    if strand is None:
        subprocess.run(["cmake", "--build", a.build_dir, "--target", "strand", "-j2"], check=True,
                       stdout=subprocess.DEVNULL)
        strand = os.path.join(a.build_dir, "strand")
    iters = a.iters or 3
    T = str(a.threads)
    m = {k: os.path.join(root, v) for k, v in (("udlm", UDLM), ("mdlm", MDLM))}
    c = {k: os.path.join(root, v) for k, v in CLF.items()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="strand-bench-cbg-") as tmp:
        rng = np.random.default_rng(5)
        n = 2
        zt, chk = os.path.join(tmp, "zt.npy"), os.path.join(tmp, "chk.npy")
        np.save(zt, rng.integers(0, V, (n, L)).astype(np.int32))
        np.save(chk, rng.integers(0, V, (4, L)).astype(np.int32))
        lg = os.path.join(tmp, "chk_logits.npy")
        child_cpu([strand, "logits", "-m", c["udlm"], "-i", chk, "-o", lg], a.threads)
        post = [strand, "posterior", "-m", m["udlm"], "-i", zt, "--t", "0.5", "--s", "0.46875", "--batch", str(n),
                "-o", os.path.join(tmp, "q.npy")]
        exact = post + ["--classifier", c["udlm"], "--class", "1", "--gamma", "2", "--cbg", "exact"]
        cpu_e, cpu_u = [], []
        for _ in range(iters):
            cpu_u.append(child_cpu(post, a.threads)[0])
            cpu_e.append(child_cpu(exact, a.threads)[0])
        nrows = n * (1 + L * (V - 1))
        s_cpu = nrows / (median(cpu_e) - median(cpu_u))
        tcmd = ["/usr/bin/python3", os.path.join(root, "bench", "cbg_torch.py"), "--model", c["udlm"], "--ids", zt,
                "--threads", T, "--iters", str(iters), "--check-ids", chk, "--check-logits", lg]
        t = subprocess.run(tcmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS=T))
        ref = None
        if t.returncode != 0:
            print(f"bench/run: PyTorch reference failed: {t.stderr.strip()[-300:]}", file=sys.stderr)
        for line in t.stdout.splitlines():
            if line.startswith("{") and json.loads(line)["name"] == "cbg_exact_rows_best":
                ref = json.loads(line)
        r = {"name": "cbg_exact_rows", "unit": "rows/cpu-s", "strand": round(s_cpu, 1),
             "reference": ref and ref["rows_per_cpu_s"],
             "reference_name": "PyTorch CPU classifier" + (f" {ref['torch']} (chunk {ref['chunk']}, {ref['threads']} "
                                                           f"threads; max|d logits| {ref['check_max_abs_diff_logits']:.2g})"
                                                           if ref else ""),
             "threads": a.threads, "shape": f"DiT classifier D=64 blocks=2 L={L} V={V}, {nrows} edit rows (n={n})",
             "higher_is_better": True, "strand_cpu": round(s_cpu, 1), "reference_cpu": ref and ref["rows_per_cpu_s"],
             "strand_cpu_s_exact": round(median(cpu_e), 3), "strand_cpu_s_unguided": round(median(cpu_u), 3)}
        r["ratio"] = None if not r["reference"] else round(r["strand"] / r["reference"], 3)
        r["ratio_cpu"] = r["ratio"]
        print(json.dumps(r), file=sys.stderr, flush=True)
        rows.append(r)
        # per-step cost of the sampler
        for proc in ("udlm", "mdlm"):
            base = None
            for mode, ns, (s1, s2) in (("unguided", 50, (8, 32)), ("first-order", 50, (8, 32)), ("exact", 1, (1, 3))):
                cmd = [strand, "sample", "-q", "-m", m[proc], "-n", str(ns), "--batch", str(ns), "--seed", "3",
                       "--threads", T, "-o", os.path.join(tmp, "s.smi")]
                if proc == "mdlm":
                    cmd.append("--no-noise-removal")
                if mode != "unguided":
                    cmd += ["--classifier", c[proc], "--class", "1", "--gamma", "2", "--cbg", mode]
                per = []
                for _ in range(iters if mode != "exact" else 1):
                    c1 = child_cpu(cmd + ["--steps", str(s1)], a.threads)[0]
                    c2 = child_cpu(cmd + ["--steps", str(s2)], a.threads)[0]
                    per.append((c2 - c1) / ((s2 - s1) * ns))
                v = median(per)
                if mode == "unguided":
                    base = v
                r = {"name": f"cbg_step_cost_{proc}_{mode}", "unit": "ms/smp-step", "strand": round(1e3 * v, 3),
                     "reference": None, "reference_name": "-", "threads": a.threads,
                     "shape": f"{proc.upper()} D=96 blocks=3 L={L} V={V}; steps {s1}->{s2} of {s2}, n={ns}",
                     "higher_is_better": False, "ratio": None, "vs_unguided": round(v / base, 2)}
                print(json.dumps(r), file=sys.stderr, flush=True)
                rows.append(r)
    return rows


if __name__ == "__main__":  # standalone: python3 bench/cbg_run.py STRAND_BINARY [--threads T] [--iters N]
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("strand")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=0)
    ap.add_argument("--build-dir", default="")
    ar = ap.parse_args()
    for row in run_cbg(ar, os.path.dirname(os.path.dirname(os.path.abspath(__file__))), strand=ar.strand):
        print(json.dumps(row))
