/* Ridge logistic regression (Newton/IRLS), Platt scaling, AUROC, ECE, stratified folds (core/logreg.h). */
#include "core/logreg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "strand.h"

/* In-place Cholesky solve of A x = r (A (m,m) symmetric positive definite, overwritten). */
static int chol_solve(double *A, double *r, int m)
{
    for (int j = 0; j < m; j++) {
        double d = A[j * m + j];
        for (int k = 0; k < j; k++) d -= A[j * m + k] * A[j * m + k];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        A[j * m + j] = d;
        for (int i = j + 1; i < m; i++) {
            double s = A[i * m + j];
            for (int k = 0; k < j; k++) s -= A[i * m + k] * A[j * m + k];
            A[i * m + j] = s / d;
        }
    }
    for (int i = 0; i < m; i++) { /* L y = r */
        double s = r[i];
        for (int k = 0; k < i; k++) s -= A[i * m + k] * r[k];
        r[i] = s / A[i * m + i];
    }
    for (int i = m - 1; i >= 0; i--) { /* Lᵀ x = y */
        double s = r[i];
        for (int k = i + 1; k < m; k++) s -= A[k * m + i] * r[k];
        r[i] = s / A[i * m + i];
    }
    return 0;
}

/* Soft targets t in [0, 1]: minimise Σ −[t log σ(z) + (1−t) log(1−σ(z))] + (l2/2)‖w‖². */
static int fit_soft(const double *X, const double *t, size_t n, int F, double l2, double *w, double *b)
{
    int m = F + 1; /* unknowns: w (F), then b */
    double *H = malloc((size_t)m * m * sizeof *H), *g = malloc((size_t)m * sizeof *g);
    if (!H || !g) {
        free(H), free(g);
        return st_err(NULL, STRAND_E_NOMEM, "logistic regression: out of memory for %d features", F);
    }
    double tm = 0;
    for (size_t i = 0; i < n; i++) tm += t[i];
    tm /= (double)n;
    for (int j = 0; j < F; j++) w[j] = 0;
    *b = log(tm / (1 - tm));
    int rc = 0;
    for (int it = 0; it < 100; it++) {
        memset(H, 0, (size_t)m * m * sizeof *H);
        for (int j = 0; j < F; j++) g[j] = l2 * w[j], H[j * m + j] = l2;
        g[F] = 0;
        for (size_t i = 0; i < n; i++) {
            const double *x = X + i * (size_t)F;
            double z = *b;
            for (int j = 0; j < F; j++) z += x[j] * w[j];
            double p = st_sigmoid(z), r = p - t[i], q = p * (1 - p);
            for (int j = 0; j < F; j++) {
                g[j] += r * x[j];
                double qx = q * x[j];
                for (int k = 0; k <= j; k++) H[j * m + k] += qx * x[k];
                H[F * m + j] += qx;
            }
            g[F] += r;
            H[F * m + F] += q;
        }
        for (int j = 0; j < m; j++) /* the upper triangle from the lower */
            for (int k = j + 1; k < m; k++) H[j * m + k] = H[k * m + j];
        if (chol_solve(H, g, m) < 0) {
            rc = st_err(NULL, STRAND_E_RANGE, "logistic regression: the Hessian is not positive definite (separable "
                        "data without a ridge penalty?)");
            break;
        }
        double step = 0;
        for (int j = 0; j < F; j++) w[j] -= g[j], step = fmax(step, fabs(g[j]));
        *b -= g[F], step = fmax(step, fabs(g[F]));
        if (step < 1e-10) break;
    }
    free(H), free(g);
    return rc;
}

int st_logreg_fit(const double *X, const int *y, size_t n, int F, double l2, double *w, double *b)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) np += y[i] != 0;
    if (n == 0 || np == 0 || np == n)
        return st_err(NULL, STRAND_E_ARG, "logistic regression: %zu examples, %zu positive: both classes are needed", n, np);
    double *t = malloc(n * sizeof *t);
    if (!t) return st_err(NULL, STRAND_E_NOMEM, "logistic regression: out of memory");
    for (size_t i = 0; i < n; i++) t[i] = y[i] != 0;
    int rc = fit_soft(X, t, n, F, l2, w, b);
    free(t);
    return rc;
}

int st_platt_fit(const double *z, const int *y, size_t n, double *a, double *c)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) np += y[i] != 0;
    if (n == 0 || np == 0 || np == n)
        return st_err(NULL, STRAND_E_ARG, "Platt scaling: %zu scores, %zu positive: both classes are needed", n, np);
    double *t = malloc(n * sizeof *t), hi = ((double)np + 1) / ((double)np + 2), lo = 1.0 / ((double)(n - np) + 2);
    if (!t) return st_err(NULL, STRAND_E_NOMEM, "Platt scaling: out of memory");
    for (size_t i = 0; i < n; i++) t[i] = y[i] ? hi : lo;
    int rc = fit_soft(z, t, n, 1, 0.0, a, c);
    free(t);
    return rc;
}

typedef struct sc { double s; int y; } sc;
static int sc_cmp(const void *a, const void *b)
{
    double x = ((const sc *)a)->s, y = ((const sc *)b)->s;
    return x < y ? -1 : x > y;
}

double st_auroc(const double *s, const int *y, size_t n, const unsigned char *idx)
{
    sc *v = malloc((n + 1) * sizeof *v);
    if (!v) return NAN;
    size_t m = 0;
    double np = 0, nn = 0;
    for (size_t i = 0; i < n; i++)
        if (!idx || idx[i]) v[m++] = (sc){s[i], y[i] != 0}, np += y[i] != 0, nn += y[i] == 0;
    if (np == 0 || nn == 0) {
        free(v);
        return NAN;
    }
    qsort(v, m, sizeof *v, sc_cmp);
    double rank_sum = 0; /* ranks of the positives, ties at their mean rank */
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && v[j].s == v[i].s) j++;
        double r = 0.5 * (double)(i + 1 + j), k = 0;
        for (size_t q = i; q < j; q++) k += v[q].y;
        rank_sum += r * k;
        i = j;
    }
    free(v);
    return (rank_sum - np * (np + 1) / 2) / (np * nn);
}

double st_ece(const double *p, const int *y, size_t n, int bins, int64_t *cnt, double *mp, double *my)
{
    double e = 0;
    for (int b = 0; b < bins; b++) {
        double sp = 0, sy = 0;
        int64_t c = 0;
        for (size_t i = 0; i < n; i++) {
            int k = (int)(p[i] * bins);
            k = k < 0 ? 0 : k >= bins ? bins - 1 : k;
            if (k != b) continue;
            sp += p[i], sy += y[i] != 0, c++;
        }
        if (cnt) cnt[b] = c;
        if (mp) mp[b] = c ? sp / (double)c : NAN;
        if (my) my[b] = c ? sy / (double)c : NAN;
        if (c) e += (double)c / (double)n * fabs(sp / (double)c - sy / (double)c);
    }
    return e;
}

void st_kfold(const int *y, size_t n, int k, uint64_t seed, int *fold)
{
    strand_rng r;
    strand_rng_seed(&r, seed);
    size_t *ix = malloc((n + 1) * sizeof *ix);
    if (!ix) {
        for (size_t i = 0; i < n; i++) fold[i] = (int)(i % (size_t)k);
        return;
    }
    for (int cls = 1; cls >= 0; cls--) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if ((y[i] != 0) == cls) ix[m++] = i;
        for (size_t i = m; i > 1; i--) { /* Fisher–Yates */
            size_t j = (size_t)strand_rng_below(&r, i), t = ix[i - 1];
            ix[i - 1] = ix[j], ix[j] = t;
        }
        for (size_t i = 0; i < m; i++) fold[ix[i]] = (int)(i % (size_t)k);
    }
    free(ix);
}
