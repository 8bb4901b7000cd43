#!/bin/sh
# SNVs/s of `strand vep --scores llr` with --llr marginal vs --llr masked on real dbSNP sets, and
# the Spearman correlation of the two LLRs (docs/vep.md "Marginal LLR"). Usage (from the repo root):
#   bench/vep_marginal.sh [BUILD_DIR] [THREADS] [REGION of the 1 Mb slice]
# Sets: the bundled chr22 slice (tests/data/vep, 200 SNPs) and the dbSNP SNPs of the hisat2 1 Mb
# chr22 slice (/work/data/out/chr22_slice, from datasets/fetch-dna), restricted to REGION.
set -eu
B=${1:-build}; T=${2:-2}; REG=${3:-22_20-21M:1-200000}
S=$B/strand; O=$(mktemp -d)
run() { # name fasta vcf targets
    for mode in masked marginal; do
        t0=$(date +%s.%N)
        $S vep -q --no-version --threads "$T" --scores llr --llr $mode -f "$2" ${4:+-t "$4"} -O v -o "$O/$1.$mode.vcf" "$3"
        t1=$(date +%s.%N)
        echo "$t0 $t1" > "$O/$1.$mode.time"
    done
    /usr/bin/python3 - "$O" "$1" "$2" <<'PY'
import sys, subprocess
from scipy.stats import spearmanr
o, name, fa = sys.argv[1:4]
def load(mode):
    out = subprocess.run(["bcftools", "query", "-f", "%CHROM %POS %REF %ALT %STRAND_LLR\n", f"{o}/{name}.{mode}.vcf"],
                         capture_output=True, text=True, check=True).stdout
    d = {}
    for ln in out.splitlines():
        c, p, r, a, l = ln.split()
        if len(r) == 1 and len(a) == 1 and l != ".": d[(c, int(p), a)] = float(l)
    t0, t1 = map(float, open(f"{o}/{name}.{mode}.time").read().split())
    return d, t1 - t0
m, tm = load("masked"); g, tg = load("marginal")
k = sorted(set(m) & set(g)); n = len(k)
span = (max(p for _, p, _ in k) - min(p for _, p, _ in k)) / 1e3
rho = spearmanr([m[x] for x in k], [g[x] for x in k]).statistic
neg = sum(g[x] < 0 for x in k) / n
print(f"{name}: {n} SNVs over {span:.0f} kb ({n/span:.2f}/kb): masked {n/tm:.2f} SNV/s ({tm:.1f} s), "
      f"marginal {n/tg:.2f} SNV/s ({tg:.1f} s), ratio {tm/tg:.2f}x; Spearman(masked, marginal) {rho:.3f}; "
      f"marginal < 0 for {100*neg:.0f}%, masked < 0 for {100*sum(m[x] < 0 for x in k)/n:.0f}%")
PY
}
run chr22_bundled tests/data/vep/chr22_60kb.fa tests/data/vep/chr22_snps200.vcf ""
D=/work/data/out/chr22_slice
[ -f $D/22_20-21M.snps.vcf.gz ] && run chr22_1Mb $D/22_20-21M.fa.gz $D/22_20-21M.snps.vcf.gz "$REG"
rm -rf "$O"
