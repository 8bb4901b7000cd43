#!/bin/sh
# Tokens/s of BD3-LM sampling with and without the key/value cache as the output grows
# (docs/bd3lm.md "Sampling with a key/value cache"; the cache should make the cost linear in the
# length). Usage (from the repo root):
#   bench/bd3lm_kv.sh MODEL [BUILD_DIR] [LENGTHS] [N] [THREADS]
# e.g. bench/bd3lm_kv.sh models/dna-bd3lm.safetensors build "128 256 512" 8 1
# Prints: length, cache on/off, seconds, tokens/s, positions through the network (CPU time of
# each run from /usr/bin/time: on a loaded machine compare user seconds, not wall clock).
set -eu
M=$1; B=${2:-build}; LENS=${3:-128 256 512}; N=${4:-8}; T=${5:-1}
S=$B/strand; O=$(mktemp -d)
echo "length	cache	user_s	tokens_per_user_s	positions_through_network	wall_s"
for len in $LENS; do
    for mode in cache nocache; do
        flag=""; [ $mode = nocache ] && flag=--no-cache
        /usr/bin/time -f '%U %e' -o "$O/time" "$S" sample -m "$M" -n "$N" --batch "$N" --length "$len" --threads "$T" \
            --steps 16 --seed 1 $flag -o "$O/out.npy" 2> "$O/err"
        pos=$(sed -n 's/.* \([0-9]*\) positions through the network.*/\1/p' "$O/err")
        tok=$(sed -n 's/.*mean length \([0-9.]*\) tokens.*/\1/p' "$O/err")
        read -r u e < "$O/time"
        awk -v l="$len" -v m="$mode" -v u="$u" -v e="$e" -v p="$pos" -v t="$tok" -v n="$N" \
            'BEGIN { printf "%s\t%s\t%.2f\t%.1f\t%s\t%.2f\n", l, m, u, (u > 0 ? t * n / u : 0), p, e }'
    done
done
rm -rf "$O"
