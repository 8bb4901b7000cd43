#!/usr/bin/python3
"""Fixture for tests/test_vep_head.c (core/logreg.c, docs/vep.md "Trained score"), computed with
numpy/scipy only: a ridge logistic regression (scipy.optimize.minimize, BFGS with the analytic
gradient, the intercept not penalised), Platt scaling with Platt's smoothed targets, AUROC as the
Mann-Whitney U of scipy.stats over N+ N-, and the 10-bin ECE.

    /usr/bin/python3 tests/reference/vep_head.py   -> tests/data/vep/logreg.safetensors
Inputs are float32 values (exact in the C test's double), outputs float64.
"""
import os
import sys

import numpy as np
from scipy.optimize import minimize
from scipy.stats import mannwhitneyu

sys.path.insert(0, os.path.dirname(__file__))
from fixture import save  # noqa: E402

rng = np.random.default_rng(7)
n, F, l2 = 80, 4, 1.5
X = rng.normal(size=(n, F)).astype(np.float32).astype(np.float64)
beta = np.array([1.2, -0.7, 0.0, 0.4])
y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ beta - 0.3)))).astype(np.int64)


def soft_fit(X, t, l2):
    def f(p):
        w, b = p[:-1], p[-1]
        z = X @ w + b
        loss = np.sum(np.logaddexp(0, z) - t * z) + 0.5 * l2 * w @ w
        g = 1 / (1 + np.exp(-z)) - t
        return loss, np.concatenate([X.T @ g + l2 * w, [g.sum()]])
    r = minimize(f, np.zeros(X.shape[1] + 1), jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 10000})
    return r.x[:-1], r.x[-1]


w, b = soft_fit(X, y.astype(np.float64), l2)
z = X @ w + b
npos = y.sum()
t = np.where(y == 1, (npos + 1) / (npos + 2), 1 / (n - npos + 2))
pa, pc = soft_fit(z[:, None], t, 0.0)
p = 1 / (1 + np.exp(-(pa[0] * z + pc)))
u = mannwhitneyu(z[y == 1], z[y == 0]).statistic
auroc = u / (npos * (n - npos))
bins = np.clip((p * 10).astype(int), 0, 9)
ece = sum((bins == k).sum() / n * abs(p[bins == k].mean() - y[bins == k].mean()) for k in range(10) if (bins == k).any())
out = os.path.join(os.path.dirname(__file__), "..", "data", "vep", "logreg.safetensors")
save(out, {"X": X, "y": y, "l2": np.array([l2]), "w": w, "b": np.array([b]), "z": z, "platt": np.array([pa[0], pc]),
           "auroc": np.array([auroc]), "ece": np.array([ece])}, script=__file__, seed=7,
     desc=f"ridge logistic regression n={n} F={F} l2={l2} (scipy BFGS), Platt, AUROC (mannwhitneyu), ECE")
print("w", w, "b", b, "platt", pa, pc, "auroc", auroc, "ece", ece)
