#!/usr/bin/python3
"""Converters and window planner for datasets/fetch-species (Python 3 standard library only).

  species_prep.py fasta IN.fa[.gz] OUT.fa RENAME      copy one FASTA, renaming contigs (RENAME: first =
                                                      first word; gi = accession of a gi|..|ref|ACC| name;
                                                      colon2 = 2nd ':' field, e.g. Umaydis:chr01:1:+:N -> chr01)
  species_prep.py genbank IN.gbk[.gz] OUT.fa          GenBank -> FASTA (contig = ACCESSION.VERSION, ORIGIN)
  species_prep.py maf-ref IN.maf[.gz] PREFIX OUT.fa   reference sequences of a MAF: every "s" line whose
                                                      source starts with PREFIX, gaps removed, placed at its
                                                      start (+ strand; - strand is reverse-complemented);
                                                      bases no block covers are N (counted)
  species_prep.py upstream IN.fa[.gz] OUT.fa L TRAIN VAL TEST PLAN
                                                      short-sequence sets (dm3 upstream2000): keep
                                                      genomically non-overlapping records, pick a capped,
                                                      evenly spread subset, write it and a plan
  species_prep.py plan FAI L TRAIN VAL TEST PLAN      window plan over a genome's contigs (see below)

A plan file has lines "region<TAB>R" (input regions for `strand data windows -r`; none = every contig),
"val<TAB>R" and "test<TAB>R" (--split-by-region), and "note<TAB>text". Genome policy: val and test are
two adjacent blocks of VAL and TEST windows (at most a tenth of the genome's windows each) ending 1% of
the length before the end of the largest contig (telomeres are often N); when the genome has more than
TRAIN windows elsewhere, train is capped by input regions: TRAIN windows' worth of sequence spread
over the contigs in proportion to their length, in blocks of at most 100 windows evenly spaced along
each contig. Every summary goes to stderr as one "key=value ..." line (recorded in the manifest).
"""
import gzip
import os
import re
import sys

COMP = str.maketrans("ACGTNacgtnRYKMSWBDHVrykmswbdhv", "TGCANtgcanYRMKSWVHDByrmkswvhdb")
BLOCK = 100  # train windows per block at most


def opener(path):
    return gzip.open(path, "rt") if path.endswith(".gz") else open(path)


def read_fasta(path):
    name, chunks = None, []
    with opener(path) as f:
        for line in f:
            if line.startswith(">"):
                if name is not None:
                    yield name, "".join(chunks)
                name, chunks = line[1:].strip(), []
            else:
                chunks.append(line.strip())
    if name is not None:
        yield name, "".join(chunks)


def write_fasta(out, name, seq, width=60):
    out.write(">" + name + "\n")
    for i in range(0, len(seq), width):
        out.write(seq[i:i + width] + "\n")


def gc_of(seq):
    s = seq.upper()
    acgt = sum(s.count(c) for c in "ACGT")
    return (s.count("G") + s.count("C")) / acgt if acgt else 0.0, len(s) - acgt


def rename(header, mode):
    word = header.split()[0]
    if mode == "gi":
        f = word.split("|")
        return f[3] if len(f) >= 4 and f[3] else word
    if mode == "colon2":
        f = word.split(":")
        return f[1] if len(f) >= 2 and f[1] else word
    return word


def summary(**kv):
    print(" ".join(f"{k}={v}" for k, v in kv.items()), file=sys.stderr)


def cmd_fasta(inp, outp, mode):
    n = bases = nonacgt = gcb = 0
    seen = set()
    with open(outp, "w") as out:
        for h, s in read_fasta(inp):
            name = rename(h, mode)
            if name in seen or not re.fullmatch(r"[A-Za-z0-9_.|\-]+", name):
                sys.exit(f"species_prep: {inp}: record {n + 1}: contig name \"{name}\" is duplicated or unsafe")
            seen.add(name)
            write_fasta(out, name, s)
            g, x = gc_of(s)
            n += 1; bases += len(s); nonacgt += x; gcb += g * (len(s) - x)
    summary(contigs=n, bases=bases, non_acgt=nonacgt, gc=f"{gcb / max(1, bases - nonacgt):.4f}")


def cmd_genbank(inp, outp):
    n = bases = nonacgt = gcb = 0
    acc, seq, in_seq, locus_len = None, [], False, None
    with opener(inp) as f, open(outp, "w") as out:
        for lineno, line in enumerate(f, 1):
            if line.startswith("LOCUS"):
                w = line.split()
                acc, seq, in_seq = w[1], [], False
                locus_len = int(w[2]) if len(w) > 3 and w[2].isdigit() and w[3] == "bp" else None
            elif line.startswith("VERSION") and len(line.split()) > 1:
                acc = line.split()[1]
            elif line.startswith("ORIGIN"):
                in_seq = True
            elif line.startswith("//"):
                if acc is None or not seq:
                    sys.exit(f"species_prep: {inp}: line {lineno}: record without LOCUS or sequence")
                s = "".join(seq).upper()
                if locus_len is not None and len(s) != locus_len:
                    sys.exit(f"species_prep: {inp}: record {acc}: LOCUS says {locus_len} bp, ORIGIN has {len(s)}")
                bad = re.search(r"[^ACGTNRYKMSWBDHV]", s)
                if bad:
                    sys.exit(f"species_prep: {inp}: record {acc}: unexpected character '{bad.group()}' in ORIGIN")
                write_fasta(out, acc, s)
                g, x = gc_of(s)
                n += 1; bases += len(s); nonacgt += x; gcb += g * (len(s) - x)
                acc, seq, in_seq = None, [], False
            elif in_seq:
                seq.append("".join(line.split()[1:]))
    if n == 0:
        sys.exit(f"species_prep: {inp}: no GenBank record with a sequence")
    summary(contigs=n, bases=bases, non_acgt=nonacgt, gc=f"{gcb / max(1, bases - nonacgt):.4f}")


def cmd_maf_ref(inp, prefix, outp):
    seqs, sizes, covered, overlap, blocks = {}, {}, {}, 0, 0
    with opener(inp) as f:
        for lineno, line in enumerate(f, 1):
            if not line.startswith("s ") or not line[2:].lstrip().startswith(prefix):
                continue
            p = line.split()
            if len(p) != 7:
                sys.exit(f"species_prep: {inp}: line {lineno}: malformed 's' line")
            src, start, size, strand, srcsize, text = p[1], int(p[2]), int(p[3]), p[4], int(p[5]), p[6]
            ung = text.replace("-", "")
            if len(ung) != size:
                sys.exit(f"species_prep: {inp}: line {lineno}: {src} size {size} but {len(ung)} ungapped bases")
            if src not in seqs:
                seqs[src], sizes[src], covered[src] = bytearray(b"N" * srcsize), srcsize, bytearray(srcsize)
            elif sizes[src] != srcsize:
                sys.exit(f"species_prep: {inp}: line {lineno}: {src} srcSize {srcsize} != {sizes[src]}")
            if strand == "-":
                start, ung = srcsize - start - size, ung.translate(COMP)[::-1]
            if start < 0 or start + size > srcsize:
                sys.exit(f"species_prep: {inp}: line {lineno}: {src}:{start}+{size} outside {srcsize}")
            b = ung.upper().encode()
            cov = covered[src]
            if any(cov[start:start + size]):
                for i in range(start, start + size):  # overlapping blocks must agree
                    if cov[i] and seqs[src][i] != b[i - start]:
                        sys.exit(f"species_prep: {inp}: line {lineno}: {src} position {i + 1} differs between blocks")
            overlap += sum(cov[start:start + size])
            seqs[src][start:start + size] = b
            cov[start:start + size] = b"\x01" * size
            blocks += 1
    if not seqs:
        sys.exit(f"species_prep: {inp}: no 's' lines for source prefix \"{prefix}\"")

    def key(n):  # chr_2 before chr_10
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)]
    bases = uncovered = nonacgt = gcb = 0
    with open(outp, "w") as out:
        for src in sorted(seqs, key=key):
            s = seqs[src].decode()
            write_fasta(out, src, s)
            g, x = gc_of(s)
            bases += len(s); nonacgt += x; gcb += g * (len(s) - x)
            uncovered += sizes[src] - sum(covered[src])
    summary(contigs=len(seqs), blocks=blocks, bases=bases, uncovered_as_N=uncovered, overlap_bases=overlap,
            non_acgt=nonacgt, gc=f"{gcb / max(1, bases - nonacgt):.4f}")


def spread(items, k):
    """k items evenly spaced over the list (all when k >= len)."""
    if k >= len(items):
        return list(items)
    return [items[(2 * i + 1) * len(items) // (2 * k)] for i in range(k)]


def cmd_upstream(inp, outp, L, ntrain, nval, ntest, planp):
    recs = []  # (chrom, beg, end, name, seq)
    total = 0
    for h, s in read_fasta(inp):
        total += 1
        w = h.split()
        m = re.fullmatch(r"(\w+):(-?\d+)-(-?\d+)", w[1]) if len(w) > 1 else None
        if not m:
            sys.exit(f"species_prep: {inp}: record {total}: header without chrom:beg-end (\"{h[:60]}\")")
        if len(s) >= L:
            recs.append((m.group(1), int(m.group(2)), int(m.group(3)), w[0], s))
    recs.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    keep, last = [], {}
    for r in recs:  # greedy: genomically non-overlapping records only (no shared bases, no leakage)
        if r[1] > last.get(r[0], -1):
            keep.append(r)
            last[r[0]] = r[2]
    nv, nt = min(nval, len(keep) // 10), min(ntest, len(keep) // 10)
    mid = len(keep) // 2
    val, test = keep[mid:mid + nv], keep[mid + nv:mid + nv + nt]
    # a train record adjacent to the held-out run would be its genomic neighbour: drop one either side
    rest = keep[:max(0, mid - 1)] + keep[mid + nv + nt + 1:]
    train = spread(rest, ntrain)
    chosen = sorted(train + val + test, key=lambda r: (r[0], r[1]))
    with open(outp, "w") as out:
        for r in chosen:
            write_fasta(out, r[3], r[4])
    bases = sum(len(r[4]) for r in chosen)
    with open(planp, "w") as pl:
        for r in val:
            pl.write(f"val\t{r[3]}\n")
        for r in test:
            pl.write(f"test\t{r[3]}\n")
        pl.write(f"note\t{total} records, {len(keep)} genomically non-overlapping; kept {len(train)} train "
                 f"(evenly spread), val = {len(val)} consecutive records {val[0][0]}:{val[0][1]}-"
                 f"{val[-1][0]}:{val[-1][2]}, test = {len(test)} consecutive records {test[0][0]}:{test[0][1]}-"
                 f"{test[-1][0]}:{test[-1][2]}; one window (first {L} bases) per record\n")
    gcb = nonacgt = 0
    for r in chosen:
        g, x = gc_of(r[4]); nonacgt += x; gcb += g * (len(r[4]) - x)
    summary(records=total, non_overlapping=len(keep), contigs=len(chosen), bases=bases, non_acgt=nonacgt,
            gc=f"{gcb / max(1, bases - nonacgt):.4f}")


def region(name, beg0, end0):
    return f"{name}:{beg0 + 1}-{end0}"


def cmd_plan(fai, L, ntrain, nval, ntest, planp):
    contigs = []
    with open(fai) as f:
        for line in f:
            p = line.split("\t")
            contigs.append((p[0], int(p[1])))
    W = sum(n // L for _, n in contigs)
    if W < 10:
        sys.exit(f"species_prep: {fai}: only {W} windows of {L}")
    nv, nt = min(nval, W // 10), min(ntest, W // 10)
    big, blen = max(contigs, key=lambda c: c[1])
    t_end = blen - blen // 100
    t_beg = t_end - nt * L
    v_beg = t_beg - nv * L
    if v_beg < 0:
        sys.exit(f"species_prep: {fai}: largest contig too short for the val/test blocks")
    held = [f"val\t{region(big, v_beg, t_beg)}", f"test\t{region(big, t_beg, t_end)}"]
    usable = [(n, v_beg if n == big else ln) for n, ln in contigs]
    avail = sum(u // L for _, u in usable)
    if avail <= ntrain:
        lines = held + [f"note\ttrain = every base outside val/test ({avail} windows before the N filter); "
                        f"val {nv}, test {nt} windows at the end of {big}"]
    else:
        # quotas proportional to usable windows (largest remainder), then blocks of <= BLOCK windows
        raw = [(u // L) * ntrain / avail for _, u in usable]
        q = [int(x) for x in raw]
        for i in sorted(range(len(q)), key=lambda i: raw[i] - q[i], reverse=True)[:ntrain - sum(q)]:
            q[i] += 1
        regs = []
        for (name, u), qi in zip(usable, q):
            if qi == 0:
                continue
            k = -(-qi // BLOCK)
            for j in range(k):
                size = qi // k + (1 if j < qi % k else 0)
                beg = (j * u // k) // L * L
                regs.append(f"region\t{region(name, beg, min(beg + size * L, u))}")
        lines = regs + [f"region\t{region(big, v_beg, t_end)}"] + held
        lines.append(f"note\ttrain capped at {ntrain} windows: {len(regs)} blocks of <= {BLOCK} windows spread "
                     f"over {sum(1 for x in q if x)} contigs in proportion to length; val {nv}, test {nt} windows "
                     f"at the end of {big}")
    with open(planp, "w") as pl:
        pl.write("\n".join(lines) + "\n")
    summary(windows_possible=W, val=nv, test=nt)


def main(a):
    """Outputs are written under OUT.tmp and renamed only on success (no half-written FASTA or plan)."""
    try:
        if a[:1] == ["fasta"] and len(a) == 4:
            cmd_fasta(a[1], a[2] + ".tmp", a[3]); done = [a[2]]
        elif a[:1] == ["genbank"] and len(a) == 3:
            cmd_genbank(a[1], a[2] + ".tmp"); done = [a[2]]
        elif a[:1] == ["maf-ref"] and len(a) == 4:
            cmd_maf_ref(a[1], a[2], a[3] + ".tmp"); done = [a[3]]
        elif a[:1] == ["upstream"] and len(a) == 8:
            cmd_upstream(a[1], a[2] + ".tmp", int(a[3]), int(a[4]), int(a[5]), int(a[6]), a[7] + ".tmp")
            done = [a[2], a[7]]
        elif a[:1] == ["plan"] and len(a) == 7:
            cmd_plan(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]), a[6] + ".tmp"); done = [a[6]]
        else:
            sys.exit(__doc__)
        for f in done:
            os.replace(f + ".tmp", f)
    except (OSError, EOFError, ValueError, SystemExit) as e:
        for f in a[2:]:  # drop any temporary output
            if os.path.exists(f + ".tmp"):
                os.remove(f + ".tmp")
        sys.exit(e.code if isinstance(e, SystemExit) else f"species_prep: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
