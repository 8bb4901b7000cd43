#!/bin/sh
# Sweep strand vep over every VCF/BCF of Debian's test-data packages that `bcftools view` reads:
# strand vep must read each, write a file bcftools view accepts, and leave every record as it was
# apart from the added INFO (compared after `bcftools annotate -x INFO/STRAND_LLR,INFO/STRAND_EMB`).
# Contigs absent from the small test FASTA pass through unscored (--missing-contig skip).
#
# Usage: tests/vcf_sweep.sh STRAND_BIN SOURCE_DIR TMPDIR [DIR...]
#   DIR... default: /usr/share/htslib-test, /usr/share/doc/python-pysam/tests (python-pysam-tests)
#   and /usr/lib/R/site-library/VariantAnnotation (r-bioc-variantannotation: extdata, unitTests).
# Prints one line per file and "sweep: N files bcftools reads, N read by strand vep, N accepted";
# exits non-zero when any file bcftools reads fails, or when no file was found.
set -u
BIN=$1 SRC=$2 TMP=$3
shift 3
[ $# -gt 0 ] || set -- /usr/share/htslib-test /usr/share/doc/python-pysam/tests \
    /usr/lib/R/site-library/VariantAnnotation
MODEL=$SRC/tests/data/vep/model_ps_tiny
rm -rf "$TMP" && mkdir -p "$TMP" || exit 1
FA=$TMP/ref.fa # a copy: its .fai is built beside it, not in the source tree
cp "$SRC/tests/data/vep/ref.fa" "$FA" || exit 1
n_seen=0 n_read=0 n_ok=0 n_fail=0 n_refused=0
list=$TMP/sweep.list
: > "$list"
for d in "$@"; do
    [ -d "$d" ] || continue
    find "$d" -type f \( -name '*.vcf' -o -name '*.vcf.gz' -o -name '*.bcf' -o -name '*.vcf.bgz' \) | sort >> "$list"
done
i=0
while IFS= read -r f; do
    i=$((i + 1))
    # only what bcftools view reads completely (records included)
    bcftools view "$f" > "$TMP/ref.vcf" 2> /dev/null || continue
    n_seen=$((n_seen + 1))
    out=$TMP/out$i.vcf
    if ! bcftools view "$TMP/ref.vcf" > /dev/null 2>&1; then
        # bcftools reads it but cannot read back what it writes (e.g. a FORMAT key twice): strand
        # vep must refuse it with a message naming the line, not write such a file
        if "$BIN" vep -q --threads 1 -f "$FA" -m "$MODEL" --missing-contig skip -o "$out" "$f" 2> "$TMP/err"; then
            echo "FAIL norount $f: bcftools cannot round-trip it, and strand vep wrote it"
            n_fail=$((n_fail + 1))
        else
            n_refused=$((n_refused + 1))
            echo "refused $f (bcftools view cannot read its own output of it): $(head -c 300 "$TMP/err")"
        fi
        continue
    fi
    if ! "$BIN" vep -q --no-version --threads 1 --window 51 --pool-half-width 10 -f "$FA" -m "$MODEL" \
            --missing-contig skip -o "$out" "$f" 2> "$TMP/err"; then
        echo "FAIL read   $f: $(head -c 400 "$TMP/err")"
        n_fail=$((n_fail + 1))
        continue
    fi
    n_read=$((n_read + 1))
    if ! bcftools view "$out" > "$TMP/got.vcf" 2> "$TMP/err"; then
        echo "FAIL accept $f: bcftools view rejects the output: $(head -c 400 "$TMP/err")"
        n_fail=$((n_fail + 1))
        continue
    fi
    bcftools view -H "$f" 2> /dev/null > "$TMP/a.txt"
    bcftools annotate -x INFO/STRAND_LLR,INFO/STRAND_EMB "$out" 2> /dev/null | bcftools view -H 2> /dev/null > "$TMP/b.txt"
    if ! cmp -s "$TMP/a.txt" "$TMP/b.txt"; then
        echo "FAIL same   $f: records differ after removing the STRAND_ INFO:"
        diff "$TMP/a.txt" "$TMP/b.txt" | head -5 | cut -c1-300
        n_fail=$((n_fail + 1))
        continue
    fi
    n_ok=$((n_ok + 1))
    echo "ok   $f ($(wc -l < "$TMP/a.txt") records)"
    rm -f "$out"
done < "$list"
echo "sweep: $n_seen files bcftools view reads, $n_read read by strand vep, $n_ok accepted by bcftools view with records unchanged, $n_refused refused with a message (bcftools cannot read back its own output of them), $n_fail failed"
[ "$n_seen" -gt 0 ] && [ "$n_fail" -eq 0 ]
