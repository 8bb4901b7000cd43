"""Reference values of Duo's duality map T (docs/duo.md "The duality", "Computing T") by scipy's
adaptive quadrature, for tests/test_duo.c.

For a vocabulary of N ids and a Gaussian level given as gamma (alpha~^2 = sigmoid(-gamma), so
mu = alpha~/sigma~ = exp(-gamma/2)):
    P(mu)  = integral phi(z - mu) Phi(z)^(N-1) dz          (probability that argmax keeps the token)
    T      = N/(N-1) (P - 1/N)
    dT/dgamma = N/(N-1) dP/dmu dmu/dgamma,  dP/dmu = integral (z - mu) phi(z - mu) Phi(z)^(N-1) dz,
    dmu/dgamma = -mu/2.
The integrands are written with scipy.stats.norm (no strand code). Values are stored as
float32 pairs (hi, lo = value - hi) so the C side recovers them to ~1e-14.

    /usr/bin/python3 tests/reference/duo_map.py   # writes tests/data/duo/map.safetensors
"""
import os
import sys

import numpy as np
from scipy.integrate import quad
from scipy.stats import norm

sys.path.insert(0, os.path.dirname(__file__))
from fixture import save  # noqa: E402


def prob(mu, N):
    f = lambda z: norm.pdf(z - mu) * np.exp((N - 1) * norm.logcdf(z))
    g = lambda z: (z - mu) * norm.pdf(z - mu) * np.exp((N - 1) * norm.logcdf(z))
    lo, hi = mu - 14.0, mu + 14.0
    # break points where Phi^(N-1) rises (its quantiles) so quad sees the sharp part
    pts = sorted(p for p in {mu, float(norm.ppf(0.5 ** (1.0 / (N - 1))))} if lo < p < hi)
    kw = dict(epsabs=1e-14, epsrel=1e-13, limit=500, points=pts)
    P, eP = quad(f, lo, hi, **kw)
    dP, edP = quad(g, lo, hi, **kw)
    assert eP < 1e-11 and edP < 1e-11, (mu, N, eP, edP)
    return P, dP


def split(x):
    x = np.asarray(x, dtype=np.float64)
    hi = x.astype(np.float32)
    lo = (x - hi.astype(np.float64)).astype(np.float32)
    return hi, lo


def main():
    out = os.path.join(os.path.dirname(__file__), "..", "data", "duo", "map.safetensors")
    Ns = [2, 12, 75, 1000]
    # off-grid gammas over Duo's cache range [-5, 1] (curriculum [-3.5, -1.75], distillation [-4, -1])
    rng = np.random.default_rng(13)
    gam = np.sort(np.concatenate([np.linspace(-5, 1, 41), rng.uniform(-5, 1, 40)]))
    T = np.zeros((len(Ns), len(gam)))
    dT = np.zeros_like(T)
    for a, N in enumerate(Ns):
        for b, g in enumerate(gam):
            mu = np.exp(-g / 2)
            P, dP = prob(mu, N)
            T[a, b] = N / (N - 1) * (P - 1.0 / N)
            dT[a, b] = N / (N - 1) * dP * (-mu / 2)
    tensors = {"N": np.array(Ns, dtype=np.int64), "gamma": gam.astype(np.float64)}
    tensors["gamma_hi"], tensors["gamma_lo"] = split(gam)
    tensors["T_hi"], tensors["T_lo"] = split(T)
    tensors["dT_hi"], tensors["dT_lo"] = split(dT)
    del tensors["gamma"]
    save(out, tensors, script=__file__, seed=13,
         desc="Duo T(gamma) and dT/dgamma by scipy quad (epsabs 1e-14) for N in {2,12,75,1000}, "
              "81 gammas in [-5,1]; float32 hi/lo pairs")
    print("wrote", out, "max T", T.max(), "min T", T.min())


if __name__ == "__main__":
    main()
