/* Step distributions of the ancestral samplers (guidance/posterior.h; docs/diffusion.md
 * "MDLM sampler", "UDLM posterior", "Classifier-free guidance", "Exponential race"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "guidance/posterior.h"

int diff_step_check(const diff_step_params *p)
{
    if (!p) return st_err(NULL, STRAND_E_ARG, "diffusion step: NULL parameters");
    if (p->vocab < 2) return st_err(NULL, STRAND_E_ARG, "diffusion step: vocabulary of %d ids (need >= 2)", p->vocab);
    if (p->proc != DIFF_MASKED && p->proc != DIFF_UNIFORM)
        return st_err(NULL, STRAND_E_ARG, "diffusion step: unknown process %d", (int)p->proc);
    if (p->proc == DIFF_MASKED && (p->mask_id < 0 || p->mask_id >= p->vocab))
        return st_err(NULL, STRAND_E_RANGE, "diffusion step: [MASK] id %d outside 0..%d", p->mask_id, p->vocab - 1);
    if (!(p->alpha_t >= 0 && p->alpha_t < p->alpha_s && p->alpha_s <= 1 && p->alpha_t < 1))
        return st_err(NULL, STRAND_E_RANGE,
                      "diffusion step: need 0 <= alpha_t < alpha_s <= 1 (alpha_t %.17g, alpha_s %.17g): is s < t?",
                      p->alpha_t, p->alpha_s);
    if (!(isfinite(p->gamma) && p->gamma >= 0))
        return st_err(NULL, STRAND_E_RANGE, "diffusion step: guidance weight gamma %g (must be finite and >= 0)",
                      p->gamma);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return st_err(NULL, STRAND_E_RANGE, "diffusion step: top-p %g outside (0, 1]", p->top_p);
    return 0;
}

/* log for mixing: a zero probability enters CFG's mixture as DIFF_MASK_LOGIT, not −inf
 * (0·(−inf) and (1 − gamma)·(−inf) would be NaN). */
static inline double mix_log(double x) { return x > 0 ? log(x) : DIFF_MASK_LOGIT; }

/* logx := logx − logsumexp(logx) */
static void log_normalise(double *logx, int N)
{
    double mx = logx[0];
    for (int v = 1; v < N; v++)
        if (logx[v] > mx) mx = logx[v];
    double s = 0;
    for (int v = 0; v < N; v++) s += exp(logx[v] - mx);
    double lse = mx + log(s);
    for (int v = 0; v < N; v++) logx[v] -= lse;
}

/* Nucleus on a normalised log x: ids sorted by x (descending, ties by id), keep the shortest
 * prefix whose mass reaches p, the others get DIFF_MASK_LOGIT; renormalise. */
static void top_p_inplace(double *logx, int N, double p, int *idx)
{
    if (p >= 1) return;
    for (int v = 0; v < N; v++) idx[v] = v;
    for (int i = 1; i < N; i++) { /* insertion sort: N is a vocabulary (tens of ids) */
        int k = idx[i], j = i - 1;
        while (j >= 0 && (logx[idx[j]] < logx[k] || (logx[idx[j]] == logx[k] && idx[j] > k))) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = k;
    }
    double mass = 0;
    int keep = 0;
    while (keep < N && mass < p) mass += exp(logx[idx[keep++]]);
    for (int i = keep; i < N; i++) logx[idx[i]] = DIFF_MASK_LOGIT;
    log_normalise(logx, N);
}

static void log_xtheta_raw(const diff_step_params *p, const float *logits, double *logx)
{
    int N = p->vocab;
    for (int v = 0; v < N; v++) logx[v] = logits[v];
    if (p->proc == DIFF_MASKED) logx[p->mask_id] = DIFF_MASK_LOGIT;
    log_normalise(logx, N);
}

void diff_log_xtheta(const diff_step_params *p, const float *logits, double *logx, int *idx)
{
    log_xtheta_raw(p, logits, logx);
    if (p->top_p < 1) top_p_inplace(logx, p->vocab, p->top_p, idx);
}

/* Uniform posterior (N) from a normalised log x: q written unnormalised-safe (it sums to 1 in
 * exact arithmetic; the caller renormalises). */
static void udlm_posterior(const diff_step_params *p, const double *logx, int32_t z, double *q)
{
    int N = p->vocab;
    double at = p->alpha_t, as = p->alpha_s, ats = at / as;
    double xz = exp(logx[z]);
    double noise = (1 - ats) * (1 - as) / N;
    double den = N * at * xz + 1 - at;
    for (int v = 0; v < N; v++) q[v] = ((as - at) * exp(logx[v]) + noise) / den;
    q[z] = (N * at * xz + (ats - at) + (as - at) * xz + noise) / den;
}

static void normalise(double *q, int N)
{
    double s = 0;
    for (int v = 0; v < N; v++) s += q[v];
    for (int v = 0; v < N; v++) q[v] /= s;
}

/* q := normalise(q · exp(adj)) */
static void apply_adj(double *q, const double *adj, int N)
{
    double mx = -INFINITY;
    for (int v = 0; v < N; v++) {
        q[v] = q[v] > 0 ? log(q[v]) + adj[v] : -INFINITY;
        if (q[v] > mx) mx = q[v];
    }
    for (int v = 0; v < N; v++) q[v] = exp(q[v] - mx);
    normalise(q, N);
}

int diff_step_row(const diff_step_params *p, const float *lc, const float *lu, int32_t zt, const double *adj,
                  double *q, double *scratch)
{
    int N = p->vocab;
    if (p->proc == DIFF_MASKED && zt != p->mask_id) { /* carry-over */
        memset(q, 0, (size_t)N * sizeof *q);
        q[zt] = 1;
        return 0;
    }
    double g = p->gamma;
    if (!lc) g = 0;
    else if (!lu) g = 1;
    double *a = scratch, *b = scratch + N;
    int *idx = (int *)(scratch + 2 * (size_t)N); /* 2N doubles hold N ints */
    if (p->proc == DIFF_MASKED) {
        if (g == 1 || g == 0) {
            diff_log_xtheta(p, g == 1 ? lc : lu, a, idx);
        } else {
            log_xtheta_raw(p, lc, a);
            log_xtheta_raw(p, lu, b);
            for (int v = 0; v < N; v++) a[v] = g * a[v] + (1 - g) * b[v];
            log_normalise(a, N);
            top_p_inplace(a, N, p->top_p, idx);
        }
        double at = p->alpha_t, as = p->alpha_s;
        for (int v = 0; v < N; v++) q[v] = exp(a[v]) * (as - at) / (1 - at);
        q[p->mask_id] = (1 - as) / (1 - at);
    } else if (g == 1 || g == 0) {
        diff_log_xtheta(p, g == 1 ? lc : lu, a, idx);
        udlm_posterior(p, a, zt, q);
    } else {
        diff_log_xtheta(p, lc, a, idx);
        udlm_posterior(p, a, zt, q);
        for (int v = 0; v < N; v++) a[v] = g * mix_log(q[v]);
        diff_log_xtheta(p, lu, b, idx);
        udlm_posterior(p, b, zt, q);
        for (int v = 0; v < N; v++) a[v] += (1 - g) * mix_log(q[v]);
        log_normalise(a, N);
        for (int v = 0; v < N; v++) q[v] = exp(a[v]);
    }
    if (adj) apply_adj(q, adj, N);
    else normalise(q, N);
    return 1;
}

/* ---- reference: whole arrays, the formulas as written ------------------------------------ */

/* lx (N) = log_softmax(logits) = logits − logsumexp(logits) and x = exp(lx); the [MASK] logit
 * is DIFF_MASK_LOGIT for the masked process (so lx stays finite there). */
static void ref_softmax(const diff_step_params *p, const float *logits, double *lx, double *x)
{
    int N = p->vocab;
    double mx = -INFINITY;
    for (int v = 0; v < N; v++) {
        lx[v] = (p->proc == DIFF_MASKED && v == p->mask_id) ? DIFF_MASK_LOGIT : (double)logits[v];
        if (lx[v] > mx) mx = lx[v];
    }
    double s = 0;
    for (int v = 0; v < N; v++) s += exp(lx[v] - mx);
    for (int v = 0; v < N; v++) {
        lx[v] -= mx + log(s);
        x[v] = exp(lx[v]);
    }
}

/* Nucleus in probability space: keep ids by decreasing x (ties: lower id first) until the kept
 * mass reaches p; renormalise. */
static void ref_top_p(double *x, int N, double p)
{
    if (p >= 1) return;
    char *kept = calloc((size_t)N, 1);
    double mass = 0;
    while (mass < p) {
        int best = -1;
        for (int v = 0; v < N; v++)
            if (!kept[v] && (best < 0 || x[v] > x[best])) best = v;
        if (best < 0) break;
        kept[best] = 1;
        mass += x[best];
    }
    for (int v = 0; v < N; v++)
        if (!kept[v]) x[v] = 0;
    double s = 0;
    for (int v = 0; v < N; v++) s += x[v];
    for (int v = 0; v < N; v++) x[v] /= s;
    free(kept);
}

int diff_step_ref(const diff_step_params *p, const float *lc, const float *lu, const int32_t *zt, const double *adj,
                  size_t B, size_t L, double *q)
{
    size_t N = (size_t)p->vocab;
    double g = !lc ? 0 : !lu ? 1 : p->gamma;
    double *tmp = malloc(5 * N * sizeof *tmp);
    if (!tmp) return st_err(NULL, STRAND_E_NOMEM, "diffusion posterior: out of memory");
    double *xc = tmp, *xu = tmp + N, *lxc = tmp + 2 * N, *lxu = tmp + 3 * N, *qu = tmp + 4 * N;
    double at = p->alpha_t, as = p->alpha_s, ats = at / as;
    for (size_t i = 0; i < B * L; i++) {
        double *qi = q + i * N;
        int32_t z = zt[i];
        if (p->proc == DIFF_MASKED && z != p->mask_id) { /* copied */
            for (size_t v = 0; v < N; v++) qi[v] = v == (size_t)z;
            continue;
        }
        if (g != 0) ref_softmax(p, lc + i * N, lxc, xc);
        if (g != 1) ref_softmax(p, lu + i * N, lxu, xu);
        if (p->proc == DIFF_MASKED) {
            /* x_gamma = softmax(g log x_c + (1 − g) log x_u) */
            double *x = g == 1 ? xc : xu;
            if (g != 0 && g != 1) {
                double mx = -INFINITY;
                for (size_t v = 0; v < N; v++) {
                    xc[v] = g * lxc[v] + (1 - g) * lxu[v];
                    if (xc[v] > mx) mx = xc[v];
                }
                double s = 0;
                for (size_t v = 0; v < N; v++) s += (xc[v] = exp(xc[v] - mx));
                for (size_t v = 0; v < N; v++) xc[v] /= s;
                x = xc;
            }
            ref_top_p(x, (int)N, p->top_p);
            /* q(v) = x(v)(a_s − a_t)/(1 − a_t), q(mask) = (1 − a_s)/(1 − a_t) */
            for (size_t v = 0; v < N; v++) qi[v] = (v == (size_t)p->mask_id) ? 1 - as : x[v] * (as - at);
            for (size_t v = 0; v < N; v++) qi[v] /= 1 - at;
        } else {
            /* q(x) = [N a_t x⊙e_z + (a_ts − a_t) e_z + (a_s − a_t) x + (1 − a_ts)(1 − a_s)/N] / [N a_t x_z + 1 − a_t] */
            for (int k = 0; k < 2; k++) {
                if ((k == 0 && g == 0) || (k == 1 && g == 1)) continue;
                double *x = k == 0 ? xc : xu, *out = k == 0 ? qi : qu;
                ref_top_p(x, (int)N, p->top_p);
                for (size_t v = 0; v < N; v++) {
                    double e = v == (size_t)z;
                    out[v] = (N * at * x[v] * e + (ats - at) * e + (as - at) * x[v] + (1 - ats) * (1 - as) / N) /
                             (N * at * x[z] + 1 - at);
                }
            }
            if (g == 0) memcpy(qi, qu, N * sizeof *qi);
            if (g != 0 && g != 1) { /* softmax(g log q_c + (1 − g) log q_u) */
                double mx = -INFINITY;
                for (size_t v = 0; v < N; v++) {
                    qi[v] = g * mix_log(qi[v]) + (1 - g) * mix_log(qu[v]);
                    if (qi[v] > mx) mx = qi[v];
                }
                for (size_t v = 0; v < N; v++) qi[v] = exp(qi[v] - mx);
            }
        }
        if (adj)
            for (size_t v = 0; v < N; v++) qi[v] *= exp(adj[i * N + v]);
        double s = 0;
        for (size_t v = 0; v < N; v++) s += qi[v];
        for (size_t v = 0; v < N; v++) qi[v] /= s;
    }
    free(tmp);
    return 0;
}

/* ---- drawing ------------------------------------------------------------------------------ */

int32_t diff_race(const double *w, int N, strand_rng *rng)
{
    int32_t best = -1;
    double bestkey = -1;
    for (int v = 0; v < N; v++) {
        double e = -log(1.0 - strand_rng_uniform(rng)); /* U in (0,1]: E in [0, inf) */
        if (!(w[v] > 0)) continue;
        double key = e > 0 ? w[v] / e : INFINITY;
        if (key > bestkey) {
            bestkey = key;
            best = v;
        }
    }
    return best >= 0 ? best : diff_argmax(w, N);
}

int32_t diff_argmax(const double *w, int N)
{
    int32_t best = 0;
    for (int v = 1; v < N; v++)
        if (w[v] > w[best]) best = v;
    return best;
}
