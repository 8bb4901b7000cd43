/* Per-token MDLM/UDLM losses and their logit gradients (docs/diffusion.md "MDLM loss", "UDLM loss"). */
#include "guidance/loss.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

/* log-sum-exp of logits over ids != skip (skip < 0: all) and the softmax into p (p[skip] = 0). */
static double softmax_d(const float *z, int N, int skip, double *p)
{
    double m = -INFINITY;
    for (int v = 0; v < N; v++)
        if (v != skip && z[v] > m) m = z[v];
    double s = 0;
    for (int v = 0; v < N; v++) {
        p[v] = v == skip ? 0.0 : exp((double)z[v] - m);
        s += p[v];
    }
    for (int v = 0; v < N; v++) p[v] /= s;
    return m + log(s);
}

double diff_udlm_token(int N, double alpha, double dalpha, const double *p, int x0, int zt, double *dp)
{
    const double na = N * alpha, om = 1.0 - alpha, c = dalpha / na;
    const double xbar_i = (zt == x0 ? na : 0.0) + om;
    const double xbt_i = na * p[zt] + om;
    const double term1 = N / xbar_i - N / xbt_i;
    const double log_xbt_i = log(xbt_i), log_xbar_i = log(xbar_i);
    double term2 = 0, R = 0;
    for (int j = 0; j < N; j++) {
        double xbar_j = (j == x0 ? na : 0.0) + om;
        double xbt_j = na * p[j] + om;
        double r = xbar_j / xbar_i;
        R += r;
        term2 += r * (log_xbt_i - log(xbt_j) + log(xbar_j) - log_xbar_i);
        if (dp) dp[j] = c * (r * na / xbt_j); /* -c * (-(r_j Nα / xbt_j)) from -term2 */
    }
    if (dp) dp[zt] += c * ((double)N * na / (xbt_i * xbt_i) - R * na / xbt_i);
    return c * (term1 - term2);
}

/* UDLM reverse posterior numerators for x (N) (docs/diffusion.md "UDLM posterior"); returns the
 * denominator. num (N). */
static double udlm_post_num(int N, double at, double as, const double *x, int zt, double *num)
{
    const double ats = at / as, unif = (1.0 - ats) * (1.0 - as) / N;
    for (int v = 0; v < N; v++) num[v] = (as - at) * x[v] + unif;
    num[zt] += N * at * x[zt] + (ats - at);
    return N * at * x[zt] + 1.0 - at;
}

/* T KL(q(.|z_t,x0) || q(.|z_t,p)) and dp = ∂/∂p. */
static double udlm_discrete_token(int N, int T, double at, double as, const double *p, int x0, int zt,
                                  double *dp, double *work /* (3N) */)
{
    double *oh = work, *q = work + N, *num = work + 2 * N;
    for (int v = 0; v < N; v++) oh[v] = v == x0;
    double dq = udlm_post_num(N, at, as, oh, zt, q);
    for (int v = 0; v < N; v++) q[v] /= dq;
    double den = udlm_post_num(N, at, as, p, zt, num);
    double kl = 0;
    for (int v = 0; v < N; v++) {
        if (q[v] > 0) kl += q[v] * (log(q[v]) - log(num[v] / den));
        dp[v] = q[v] > 0 ? -q[v] * (as - at) / num[v] : 0.0;
    }
    dp[zt] += (q[zt] > 0 ? -q[zt] * (N * at) / num[zt] : 0.0) + N * at / den;
    for (int v = 0; v < N; v++) dp[v] *= T;
    return T * kl;
}

int diff_loss(const diff_loss_spec *spec, const float *logits, const int32_t *x0, const int32_t *zt,
              const double *t, size_t B, size_t L, float *loss, float *dlogits, float dscale)
{
    const int N = spec->vocab;
    const int masked = spec->proc == DIFF_MASKED;
    if (N < 2 || (masked && (spec->mask_id < 0 || spec->mask_id >= N)))
        return st_err(NULL, STRAND_E_ARG, "diffusion loss: vocabulary %d, mask id %d", N, spec->mask_id);
    for (size_t b = 0; b < B; b++)
        if (!(t[b] > 0.0 && t[b] <= 1.0))
            return st_err(NULL, STRAND_E_RANGE, "diffusion loss: t[%zu] = %g outside (0,1]", b, t[b]);
    for (size_t i = 0; i < B * L; i++) {
        if (x0[i] < 0 || x0[i] >= N || zt[i] < 0 || zt[i] >= N)
            return st_err(NULL, STRAND_E_RANGE, "diffusion loss: token %zu: x0 %d / z_t %d outside [0,%d)", i,
                          x0[i], zt[i], N);
        if (masked && x0[i] == spec->mask_id)
            return st_err(NULL, STRAND_E_RANGE, "diffusion loss: token %zu: clean x0 is [MASK]", i);
    }
    double *p = malloc((size_t)N * 5 * sizeof *p);
    if (!p) return st_err(NULL, STRAND_E_NOMEM, "diffusion loss: out of memory");
    double *dp = p + N, *work = p + 2 * N;
    const double dT = spec->T > 0 ? 1.0 / spec->T : 0.0;
    for (size_t b = 0; b < B; b++) {
        const double tb = t[b], at = diff_alpha(&spec->sched, tb), dat = diff_dalpha(&spec->sched, tb);
        double as = 1.0;
        if (spec->T > 0) as = diff_alpha(&spec->sched, tb - dT > 0 ? tb - dT : 0.0);
        for (size_t l = 0; l < L; l++) {
            const size_t i = b * L + l;
            const float *z = logits + i * (size_t)N;
            float *dz = dlogits ? dlogits + i * (size_t)N : NULL;
            if (masked) {
                if (zt[i] != spec->mask_id) { /* carry-over: x_theta = onehot(z_t), nothing to learn */
                    loss[i] = 0.0f;
                    continue;
                }
                double w = spec->T > 0 ? spec->T * (as - at) / (1.0 - at) : -dat / (1.0 - at);
                double lse = softmax_d(z, N, spec->mask_id, p);
                loss[i] = (float)(w * (lse - (double)z[x0[i]]));
                if (dz) {
                    double g = dscale * w;
                    for (int v = 0; v < N; v++)
                        if (v != spec->mask_id) dz[v] += (float)(g * (p[v] - (v == x0[i])));
                }
            } else {
                softmax_d(z, N, -1, p);
                double li = spec->T > 0 ? udlm_discrete_token(N, spec->T, at, as, p, x0[i], zt[i], dp, work)
                                        : diff_udlm_token(N, at, dat, p, x0[i], zt[i], dp);
                loss[i] = (float)li;
                if (dz) { /* softmax backward: dz_k = p_k (dp_k - <p, dp>) */
                    double s = 0;
                    for (int v = 0; v < N; v++) s += p[v] * dp[v];
                    for (int v = 0; v < N; v++) dz[v] += (float)(dscale * p[v] * (dp[v] - s));
                }
            }
        }
    }
    free(p);
    return 0;
}
