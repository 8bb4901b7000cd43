"""bench/run's "vep" entry: build and run bench_vep (strand), then bench/vep_torch.py (PyTorch CPU,
same weights, same variants) in the same invocation; returns rows in bench/run's format."""
import json
import os
import subprocess
import sys


def run_vep(a, root):
    bdir = a.build_dir
    subprocess.run(["cmake", "--build", bdir, "--target", "bench_vep", "-j2"], check=True, stdout=subprocess.DEVNULL)
    n = a.iters or 6
    cmd = [os.path.join(bdir, "bench", "bench_vep"), "--threads", str(a.threads), "--iters", str(n)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench/run: {' '.join(cmd)} failed:\n{p.stderr}")
    res = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    for r in res:
        tcmd = ["/usr/bin/python3", os.path.join(root, "bench", "vep_torch.py"), "--dir", r.pop("dir"),
                "--threads", str(a.threads), "--iters", str(max(1, min(n, 2)))]
        t = subprocess.run(tcmd, capture_output=True, text=True)
        if t.returncode != 0:
            print(f"bench/run: PyTorch reference failed: {t.stderr.strip()[-300:]}", file=sys.stderr)
            continue
        for line in t.stdout.splitlines():
            if line.startswith("{"):
                tr = json.loads(line)
                r["reference"] = tr["var_per_s"]
                r["reference_name"] += (f" {tr['torch']} ({tr['threads']} threads, {tr['variants']} SNVs; "
                                        f"max|diff| LLR {tr['max_abs_diff_llr']:.2g} EMB {tr['max_abs_diff_emb']:.2g})")
    return res
