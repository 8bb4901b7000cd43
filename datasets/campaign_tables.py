#!/usr/bin/python3
"""Markdown tables from a `strand design` campaign's metrics.json (docs/design.md "Outputs").

    datasets/campaign_tables.py qed DIR/metrics.json   # SMILES: validity and mean QED of valid per job
    datasets/campaign_tables.py dna DIR/metrics.json   # DNA: per class, judge accuracy and k-mer JS
    datasets/campaign_tables.py qedx DIR/metrics.json [--threshold Q] [--clf-scores]
        # SMILES, from each job's samples.tsv too: the qed columns plus the share of valid molecules
        # with QED >= Q (default 0.852748, the bundled models' class-1 threshold: the training set's
        # top decile), mean QED of novel, and a trend table per model x guidance: the OLS slope of QED
        # over the valid molecules of the unguided job (gamma 0) and the sweep's jobs against gamma, and
        # the slope of validity (a linear probability model over all samples), each +- its SE; the
        # model's unguided jobs with the same steps and top-p are pooled as gamma 0.
        # --clf-scores: also the mean over all samples of p(class | x) from DIR/<job>/clf_p.txt (one
        # probability per sample, written by datasets/clf_scores.sh), +- SE.

Standard errors: a share p of n samples sqrt(p(1-p)/n) (binomial); a mean of k values sd/sqrt(k).
DNA: the unguided row of class y is the share of unguided samples the judge assigns to y and the
JS of the unguided samples to y's held-out windows (its per_class entry), so each guided cell has
the baseline beside it.
"""
import json
import math
import os
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


def read_tsv(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f]


def mean_se(x):
    k = len(x)
    if k == 0:
        return None, None
    m = sum(x) / k
    if k < 2:
        return m, None
    sd = math.sqrt(sum((v - m) ** 2 for v in x) / (k - 1))
    return m, sd / math.sqrt(k)


def ms(x, d=3):
    m, se = mean_se(x)
    if m is None:
        return "—"
    return f"{m:.{d}f} ± {se:.{d}f}" if se is not None else f"{m:.{d}f} (1)"


def ols(xs, ys):
    """slope and its classical SE of y = a + b x."""
    n = len(xs)
    if n < 3 or len(set(xs)) < 2:
        return None, None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    s2 = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys)) / (n - 2)
    return b, math.sqrt(s2 / sxx)


def qedx_table(res, base_dir, thr, clf):
    jobs = []
    for r in res:
        rows = read_tsv(os.path.join(base_dir, r["job"], "samples.tsv"))
        q = [float(x["qed"]) for x in rows if x["valid"] == "1"]
        qn = [float(x["qed"]) for x in rows if x["valid"] == "1" and x["novel"] == "1"]
        valid = [1.0 if x["valid"] == "1" else 0.0 for x in rows]
        cp = None
        if clf:
            fp = os.path.join(base_dir, r["job"], "clf_p.txt")
            cp = [float(v) for v in open(fp).read().split()] if os.path.exists(fp) else None
        jobs.append((r, q, qn, valid, cp))
    head = ["model", "target", "guidance", "γ", "steps", "top-p", "valid / n", "validity ± SE", "unique", "novel",
            "mean QED of valid ± SE", f"QED ≥ {thr:g} share of valid ± SE", "mean QED of novel ± SE"]
    if clf:
        head.append("p(class | x) ± SE, all samples")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r, q, qn, valid, cp in jobs:
        m = r["metrics"]
        n, v = m["samples"], m["valid"]
        top = [1.0 if x >= thr else 0.0 for x in q]
        top_s = "—" if not q else f"{sum(top) / len(top):.3f} ± {se_share(sum(top) / len(top), len(top)):.3f}"
        row = [r["process"].upper(), r["target"], r["guidance"], f"{r['gamma']:g}", str(r["steps"]), f"{r.get('top_p', 1):g}",
               f"{v} / {n}", f"{v / n:.4f} ± {se_share(v / n, n):.4f}", f2(m["uniqueness"]), f2(m["novelty"]),
               ms(q), top_s, ms(qn)]
        if clf:
            row.append("—" if cp is None else ms(cp, 4))
        print("| " + " | ".join(row) + " |")
    # trends: per model x guidance sweep, with the model's unguided jobs (same steps and top-p; all of them, pooled) at γ 0
    print()
    print("| model | guidance | jobs (γ: valid / n) | slope of mean QED of valid per unit γ ± SE | slope of validity per unit γ ± SE |")
    print("|---|---|---|---|---|")
    sweeps = {}
    for j in jobs:
        r = j[0]
        if r["guidance"] != "none":
            sweeps.setdefault((r["process"], r["target"], r["guidance"], r["steps"], r.get("top_p", 1)), []).append(j)
    for (proc, tgt, g, steps, tp), js in sweeps.items():
        base = [j for j in jobs if j[0]["guidance"] == "none" and j[0]["process"] == proc and j[0]["steps"] == steps
                and j[0].get("top_p", 1) == tp and j[0]["model"] == js[0][0]["model"]]
        if base:
            js = base + js
        xq, yq, xv, yv = [], [], [], []
        for r, q, qn, valid, cp in js:
            xq += [r["gamma"]] * len(q)
            yq += q
            xv += [r["gamma"]] * len(valid)
            yv += valid
        bq, sq = ols(xq, yq)
        bv, sv = ols(xv, yv)
        desc = ", ".join(f"{j[0]['gamma']:g}: {j[0]['metrics']['valid']} / {j[0]['metrics']['samples']}" for j in js)
        print(f"| {proc.upper()} | {g} ({tgt}) | {desc} | " + ("—" if bq is None else f"{bq:+.4f} ± {sq:.4f}") +
              " | " + ("—" if bv is None else f"{bv:+.5f} ± {sv:.5f}") + " |")


def main():
    kind, path = sys.argv[1], sys.argv[2]
    res = json.load(open(path))["results"]
    if kind == "qedx":
        thr = float(sys.argv[sys.argv.index("--threshold") + 1]) if "--threshold" in sys.argv else 0.852748
        qedx_table(res, os.path.dirname(os.path.abspath(path)), thr, "--clf-scores" in sys.argv)
        return
    {"qed": qed_table, "dna": dna_table}[kind](res)


if __name__ == "__main__":
    main()
