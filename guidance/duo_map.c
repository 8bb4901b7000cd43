/* Duo's duality map T by quadrature and by an interpolated table (docs/duo.md "Computing T"). */
#include "guidance/duo_map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define QUAD_HALF 14.0   /* integrate over [μ − 14, μ + 14]: φ(14) ≈ 1e-43 */
#define QUAD_STEPS 3584  /* step 28/3584 = 1/128 */

/* log Φ(z) without underflow in the lower tail and without cancellation near 1. */
static double log_Phi(double z)
{
    if (z < 0) return log(0.5 * erfc(-z / M_SQRT2));
    return log1p(-0.5 * erfc(z / M_SQRT2));
}

double duo_prob(int N, double mu, double *dP_dmu)
{
    const double h = 2.0 * QUAD_HALF / QUAD_STEPS, c = 1.0 / sqrt(2.0 * M_PI);
    double P = 0, D = 0;
    for (int k = 0; k <= QUAD_STEPS; k++) {
        double u = -QUAD_HALF + k * h; /* z − μ */
        double z = mu + u;
        double f = c * exp(-0.5 * u * u + (N - 1) * log_Phi(z));
        double w = (k == 0 || k == QUAD_STEPS) ? 0.5 : 1.0;
        P += w * f;
        D += w * u * f;
    }
    if (dP_dmu) *dP_dmu = D * h;
    return P * h;
}

double duo_alpha_tilde(double gamma)
{
    /* sigmoid(−γ) = 1 / (1 + e^γ) */
    return sqrt(gamma > 0 ? exp(-gamma) / (1.0 + exp(-gamma)) : 1.0 / (1.0 + exp(gamma)));
}

double duo_sigma_tilde(double gamma) { return duo_alpha_tilde(-gamma); }

double duo_T_gamma(int N, double gamma, double *dT_dgamma)
{
    const double mu = exp(-0.5 * gamma), k = (double)N / (N - 1);
    double dP;
    double P = duo_prob(N, mu, &dP);
    if (dT_dgamma) *dT_dgamma = k * dP * (-0.5 * mu);
    return k * (P - 1.0 / N);
}

double duo_T(int N, double at, double *dT_dat)
{
    if (at <= 0) {
        double dP;
        duo_prob(N, 0.0, &dP);
        if (dT_dat) *dT_dat = (double)N / (N - 1) * dP; /* dμ/dα̃ = 1 at 0 */
        return 0.0;
    }
    if (at >= 1) {
        if (dT_dat) *dT_dat = 0.0;
        return 1.0;
    }
    const double s2 = 1.0 - at * at, mu = at / sqrt(s2), k = (double)N / (N - 1);
    double dP;
    double P = duo_prob(N, mu, &dP);
    if (dT_dat) *dT_dat = k * dP / (s2 * sqrt(s2)); /* dμ/dα̃ = σ̃^-3 */
    return k * (P - 1.0 / N);
}

int duo_map_init(duo_map *m, int N, double gmin, double gmax, int n)
{
    memset(m, 0, sizeof *m);
    if (n == 0) n = 2049;
    if (N < 2 || n < 2 || !(gmax > gmin) || !isfinite(gmin) || !isfinite(gmax))
        return st_err(NULL, STRAND_E_ARG, "duo map: N %d, gamma range [%g, %g], %d points", N, gmin, gmax, n);
    m->T = malloc(2 * (size_t)n * sizeof *m->T);
    if (!m->T) return st_err(NULL, STRAND_E_NOMEM, "duo map: out of memory");
    m->dT = m->T + n;
    m->N = N, m->n = n, m->gmin = gmin, m->gmax = gmax, m->h = (gmax - gmin) / (n - 1);
    for (int k = 0; k < n; k++) m->T[k] = duo_T_gamma(N, gmin + k * m->h, &m->dT[k]);
    return 0;
}

void duo_map_free(duo_map *m)
{
    if (!m) return;
    free(m->T);
    memset(m, 0, sizeof *m);
}

double duo_map_alpha(const duo_map *m, double gamma, double *dalpha)
{
    double x = (gamma - m->gmin) / m->h;
    if (!(x > 0)) x = 0;
    if (x > m->n - 1) x = m->n - 1;
    int k = (int)x;
    if (k >= m->n - 1) k = m->n - 2;
    double s = x - k, h = m->h;
    double y0 = m->T[k], y1 = m->T[k + 1], d0 = m->dT[k] * h, d1 = m->dT[k + 1] * h;
    /* cubic Hermite basis on [0,1] */
    double s2 = s * s, s3 = s2 * s;
    double v = (2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * d0 + (-2 * s3 + 3 * s2) * y1 + (s3 - s2) * d1;
    if (dalpha)
        *dalpha = ((6 * s2 - 6 * s) * y0 + (3 * s2 - 4 * s + 1) * d0 + (-6 * s2 + 6 * s) * y1 + (3 * s2 - 2 * s) * d1) / h;
    return v;
}
