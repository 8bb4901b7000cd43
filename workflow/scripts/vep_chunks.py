"""Cut the records of an indexed VCF/BCF into chunks of about N records (never across a contig,
never between two records at the same POS); write one samtools-style region per line."""
import subprocess

src = snakemake.input[0]
n = int(snakemake.params.n)
q = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\n", src], capture_output=True, text=True, check=True)
chunks = []  # [contig, beg, end, records]
for line in q.stdout.splitlines():
    chrom, pos = line.split("\t")
    pos = int(pos)
    c = chunks[-1] if chunks else None
    if c is None or c[0] != chrom or (n > 0 and c[3] >= n and pos != c[2]):
        chunks.append([chrom, pos, pos, 1])
    else:
        c[2], c[3] = pos, c[3] + 1
with open(snakemake.output[0], "w") as f:
    for chrom, beg, end, _ in chunks:
        f.write(f"{chrom}:{beg}-{end}\n")
