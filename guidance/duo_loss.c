/* Duo's RB ELBO and distillation KL over logits (docs/duo.md "Curriculum training",
 * "Discrete consistency distillation"). Arithmetic in double per token. */
#include "guidance/duo_loss.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

/* softmax of z (N) into p; returns log-sum-exp */
static double softmax_row(const float *z, int N, double *p)
{
    double m = -INFINITY, s = 0;
    for (int v = 0; v < N; v++)
        if (z[v] > m) m = z[v];
    for (int v = 0; v < N; v++) s += (p[v] = exp((double)z[v] - m));
    for (int v = 0; v < N; v++) p[v] /= s;
    return m + log(s);
}

double duo_rb_token(int N, double a, double da, const double *p, int x, int i, double *dp)
{
    const double na = N * a, om = 1.0 - a, coeff = da / na;
    const int eq = x == i;
    const double xbar_i = om + (eq ? na : 0.0);
    double slog = 0;
    for (int j = 0; j < N; j++) slog += log(na * p[j] + om);
    const double xbt_i = na * p[i] + om, xbt_x = na * p[x] + om;
    const double term1 = N * (1.0 / xbar_i - 1.0 / xbt_i);
    const double c = om / (na + om);                  /* x̄[j]/x̄[i] for j ≠ i when x = i */
    const double coefs = eq ? c : 1.0;
    const double offset = (eq ? (N - 1) * c : -1.0 / c) * log(c);
    const double r = eq ? 0.0 : na / om;              /* x̄[x]/x̄[i] − 1 when x ≠ i */
    const double t2 = -coefs * (slog - N * log(xbt_i)) - r * (log(xbt_x) - log(xbt_i)) + offset;
    if (dp) {
        /* ∂/∂p_j of term1 − term2 */
        for (int j = 0; j < N; j++) dp[j] = coeff * (coefs * na / (na * p[j] + om));
        dp[i] += coeff * ((double)N * na / (xbt_i * xbt_i) - coefs * N * na / xbt_i - r * na / xbt_i);
        dp[x] += coeff * (r * na / xbt_x);
    }
    return coeff * (term1 - t2);
}

int duo_rb_loss(int N, const float *logits, const int32_t *x0, const int32_t *zt, const double *alpha,
                const double *dalpha, size_t B, size_t L, float *loss, float *dlogits, float dscale)
{
    if (N < 2) return st_err(NULL, STRAND_E_ARG, "duo loss: vocabulary %d", N);
    for (size_t b = 0; b < B; b++)
        if (!(alpha[b] > 0 && alpha[b] < 1))
            return st_err(NULL, STRAND_E_RANGE, "duo loss: alpha[%zu] = %g outside (0,1)", b, alpha[b]);
    for (size_t k = 0; k < B * L; k++)
        if (x0[k] < 0 || x0[k] >= N || zt[k] < 0 || zt[k] >= N)
            return st_err(NULL, STRAND_E_RANGE, "duo loss: token %zu: x0 %d / z_t %d outside [0,%d)", k, x0[k], zt[k], N);
    double *p = malloc(2 * (size_t)N * sizeof *p);
    if (!p) return st_err(NULL, STRAND_E_NOMEM, "duo loss: out of memory");
    double *dp = p + N;
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < L; l++) {
            size_t k = b * L + l;
            softmax_row(logits + k * (size_t)N, N, p);
            loss[k] = (float)duo_rb_token(N, alpha[b], dalpha[b], p, x0[k], zt[k], dlogits ? dp : NULL);
            if (dlogits) { /* softmax backward */
                double s = 0;
                float *dz = dlogits + k * (size_t)N;
                for (int v = 0; v < N; v++) s += p[v] * dp[v];
                for (int v = 0; v < N; v++) dz[v] += (float)(dscale * p[v] * (dp[v] - s));
            }
        }
    free(p);
    return 0;
}

int duo_kl_loss(int N, const float *student, const float *teacher, size_t B, size_t L, float *loss, float *dlogits,
                float dscale)
{
    double *p = malloc(2 * (size_t)N * sizeof *p);
    if (!p) return st_err(NULL, STRAND_E_NOMEM, "duo KL: out of memory");
    double *q = p + N;
    for (size_t k = 0; k < B * L; k++) {
        const float *zs = student + k * (size_t)N, *zt = teacher + k * (size_t)N;
        double ls = softmax_row(zs, N, p), lt = softmax_row(zt, N, q), kl = 0;
        /* log p_v − log q_v = (zs_v − ls) − (zt_v − lt) */
        for (int v = 0; v < N; v++) kl += p[v] * (((double)zs[v] - ls) - ((double)zt[v] - lt));
        loss[k] = (float)kl;
        if (dlogits) {
            float *dz = dlogits + k * (size_t)N;
            for (int v = 0; v < N; v++)
                dz[v] += (float)(dscale * p[v] * ((((double)zs[v] - ls) - ((double)zt[v] - lt)) - kl));
        }
    }
    free(p);
    return 0;
}
