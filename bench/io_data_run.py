"""bench/run's issue-5 entries, each timed against a reference in the same invocation:

windows       bench_io_data (strand: io/windows over the BGZF chr20 FASTA, fetch + N filter + DNA
              tokenisation, L = stride = 1024, no shard writing) vs `samtools faidx -r REGIONS` on the
              same BGZF file fetching exactly the windows strand kept (htslib BGZF decompression + faidx
              region fetch + FASTA formatting to /dev/null: the I/O floor, no tokenisation). Skipped with
              a message when datasets/out/chr20/20.fa.gz is absent (datasets/fetch-dna makes it).
smiles_props  bench_io_data (strand: SMILES tokenisation + RDKit parse, canonical SMILES and
              qed,rings,logp,mw,tpsa,hbd,hba through chem/smiles_props) vs RDKit's Python
              (/usr/bin/python3 bench/smiles_props_rdkit.py: MolFromSmiles, MolToSmiles, QED.qed and the
              same descriptors) on the same first 2,000 molecules of RDKit's NCI first_5K.smi, same thread
              count (OpenMP threads vs worker processes). The reference also reports max |diff| per
              property against strand's values.
Returns rows in bench/run's format (ratio > 1: strand faster)."""
import json
import os
import subprocess
import sys
import tempfile
import time

SMI = "/usr/share/RDKit/Data/NCI/first_5K.smi"
N_SMILES = 2000


def _rows(p):
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def run_io_data(n, a, root):
    res = _run(n, a, root)
    for r in res:
        s, ref = r["strand"], r["reference"]
        r["ratio"] = None if not ref or not s else round(s / ref, 3)
    return res


def _run(n, a, root):
    bdir = a.build_dir
    subprocess.run(["cmake", "--build", bdir, "--target", "bench_io_data", "-j2"], check=True,
                   stdout=subprocess.DEVNULL)
    exe = os.path.join(bdir, "bench", "bench_io_data")
    iters = a.iters or 3
    with tempfile.TemporaryDirectory(prefix="strand-bench-io-") as tmp:
        if n == "windows":
            fa = os.path.join(root, "datasets", "out", "chr20", "20.fa.gz")
            if not os.path.exists(fa):
                print(f"bench/run: windows skipped: {fa} not found (run datasets/fetch-dna)", file=sys.stderr)
                return []
            regs = os.path.join(tmp, "regions.txt")
            cmd = [exe, "windows", fa, "1024", regs, "--iters", str(iters)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"bench/run: {' '.join(cmd)} failed:\n{p.stderr}")
            res = _rows(p)
            ts = []
            for _ in range(iters):
                t0 = time.perf_counter()
                with open(os.devnull, "w") as null:
                    subprocess.run(["samtools", "faidx", fa, "-r", regs], check=True, stdout=null)
                ts.append(time.perf_counter() - t0)
            med = sorted(ts)[len(ts) // 2]
            for r in res:
                r["reference"] = round(r["windows"] / med, 1)
                r["reference_name"] = (f"samtools faidx -r (same {r['windows']} regions, BGZF fetch + FASTA "
                                       f"output to /dev/null, no tokenisation; process start included)")
            return res
        props = os.path.join(tmp, "props.tsv")
        cmd = [exe, "smiles_props", SMI, str(N_SMILES), props, "--threads", str(a.threads), "--iters", str(iters)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"bench/run: {' '.join(cmd)} failed:\n{p.stderr}")
        res = _rows(p)
        tcmd = ["/usr/bin/python3", os.path.join(root, "bench", "smiles_props_rdkit.py"), SMI, str(N_SMILES),
                "--threads", str(a.threads), "--iters", str(iters), "--check", props]
        t = subprocess.run(tcmd, capture_output=True, text=True)
        if t.returncode != 0:
            print(f"bench/run: RDKit reference failed: {t.stderr.strip()[-300:]}", file=sys.stderr)
            return res
        for line in t.stdout.splitlines():
            if line.startswith("{"):
                tr = json.loads(line)
                for r in res:
                    r["reference"] = round(tr["smiles_per_s"], 1)
                    r["reference_name"] = (f"RDKit {tr['rdkit']} Python ({tr['threads']} procs; max|diff| "
                                           + " ".join(f"{k} {v:.2g}" for k, v in tr["max_abs_diff"].items())
                                           + f"; canonical differs {tr['canonical_differs']}, validity differs "
                                           f"{tr['validity_differs']})")
        return res
