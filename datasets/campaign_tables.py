#!/usr/bin/python3
"""Markdown tables from a `strand design` campaign's metrics.json (docs/design.md "Outputs").

    datasets/campaign_tables.py qed DIR/metrics.json   # SMILES: validity and mean QED of valid per job
    datasets/campaign_tables.py dna DIR/metrics.json   # DNA: per class, judge accuracy and k-mer JS

Standard errors: a share p of n samples sqrt(p(1-p)/n) (binomial); a mean of k values sd/sqrt(k).
DNA: the unguided row of class y is the share of unguided samples the judge assigns to y and the
JS of the unguided samples to y's held-out windows (its per_class entry), so each guided cell has
the baseline beside it.
"""
import json
import math
import sys


def se_share(p, n):
    return math.sqrt(p * (1 - p) / n) if n else float("nan")


def qed_table(res):
    print("| model | guidance | γ | valid / n | validity ± SE | unique | novel | mean QED of valid ± SE |")
    print("|---|---|---|---|---|---|---|---|")
    for r in res:
        m = r["metrics"]
        n, v = m["samples"], m["valid"]
        q = m["properties_valid"]["qed"]
        qs = "—" if not q else (f"{q['mean']:.3f} ± {q['sd'] / math.sqrt(q['n']):.3f}" if q["n"] > 1 else f"{q['mean']:.3f} (1 molecule)")
        print(f"| {r['process'].upper()} | {r['guidance']} | {r['gamma']:g} | {v} / {n} | {v / n:.3f} ± {se_share(v / n, n):.3f} "
              f"| {f2(m['uniqueness'])} | {f2(m['novelty'])} | {qs} |")


def f2(x):
    return "—" if x is None else f"{x:.2f}"


def f3(x):
    return "—" if x is None else f"{x:.3f}"


def dna_table(res):
    base = next(r for r in res if r["guidance"] == "none")
    bpc = base["metrics"]["per_class"]
    nb = base["metrics"]["samples"]
    classes = [e["class"] for e in bpc]
    print(f"Unguided: {nb} samples (null label). Cells: judged share of the requested class ± binomial SE "
          f"(n per cell in the header), then JS3 / JS6 (bits) to that class's held-out windows.\n")
    gams = sorted({r["gamma"] for r in res if r["guidance"] != "none"})
    kinds = [k for k in ("cfg", "cbg-first-order", "cbg", "cfg+cbg") if any(r["guidance"] == k for r in res)]
    cells = {}
    for r in res:
        if r["guidance"] == "none":
            continue
        cells[(r["class"], r["guidance"], r["gamma"])] = r["metrics"]
    head = ["class", f"unguided (n {nb})"]
    for k in kinds:
        for g in gams:
            n = next((m["samples"] for (c, kk, gg), m in cells.items() if kk == k and gg == g), 0)
            head.append(f"{k} γ {g:g} (n {n})")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    sums = {}
    for y, cname in enumerate(classes):
        e = bpc[y]
        p = e["judged_share"]
        row = [cname, f"{p:.3f} ± {se_share(p, nb):.3f}; {f3(e['kmer_js3_bits'])} / {f3(e['kmer_js6_bits'])}"]
        sums.setdefault("unguided", []).append((p, e["kmer_js3_bits"], e["kmer_js6_bits"]))
        for k in kinds:
            for g in gams:
                m = cells.get((cname, k, g))
                if not m:
                    row.append("not run")
                    continue
                a = m["class_accuracy"]
                row.append(f"{a:.3f} ± {m['class_accuracy_se']:.3f}; {f3(m['kmer_js3_bits'])} / {f3(m['kmer_js6_bits'])}")
                sums.setdefault((k, g), []).append((a, m["kmer_js3_bits"], m["kmer_js6_bits"]))
        print("| " + " | ".join(row) + " |")
    # the mean over classes (every class with a result)
    row = ["mean over classes"]
    for key in ["unguided"] + [(k, g) for k in kinds for g in gams]:
        v = sums.get(key, [])
        if not v:
            row.append("—")
            continue
        a = sum(x[0] for x in v) / len(v)
        # SE of a mean of independent shares: sqrt(sum se_i^2) / k (unguided: one pool of nb samples)
        if key == "unguided":
            se = se_share(a, nb)
        else:
            n = next(m["samples"] for (c, kk, gg), m in cells.items() if (kk, gg) == key)
            se = math.sqrt(sum(se_share(x[0], n) ** 2 for x in v)) / len(v)
        j3 = sum(x[1] for x in v) / len(v)
        j6 = sum(x[2] for x in v) / len(v)
        row.append(f"{a:.3f} ± {se:.3f}; {j3:.3f} / {j6:.3f} ({len(v)} classes)")
    print("| " + " | ".join(row) + " |")


def main():
    kind, path = sys.argv[1], sys.argv[2]
    res = json.load(open(path))["results"]
    {"qed": qed_table, "dna": dna_table}[kind](res)


if __name__ == "__main__":
    main()
