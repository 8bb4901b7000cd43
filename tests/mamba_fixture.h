/* Helpers shared by tests/test_mamba.c and tests/test_caduceus.c: fixture tensors, random
 * arrays, and a central finite-difference check of a scalar loss. */
#ifndef STRAND_TESTS_MAMBA_FIXTURE_H
#define STRAND_TESTS_MAMBA_FIXTURE_H
#include <stdlib.h>

#include "core/safetensors.h"
#include "strand.h"
#include "test_util.h"

/* A fixture tensor as a malloc'd float array (NULL + a CUnit failure when absent). */
static inline float *mf_get(const sft_file *f, const char *name, size_t *n_out)
{
    const sft_tensor *t = sft_find(f, name);
    CU_ASSERT_PTR_NOT_NULL(t);
    if (!t) {
        fprintf(stderr, "    fixture tensor \"%s\" missing\n", name);
        return NULL;
    }
    float *p = malloc((t->numel ? t->numel : 1) * sizeof(float));
    if (sft_read_f32(f, name, p, t->numel) != 0) {
        free(p);
        CU_FAIL("sft_read_f32");
        return NULL;
    }
    if (n_out) *n_out = t->numel;
    return p;
}

static inline sft_file *mf_open(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", STRAND_TEST_DATA, rel);
    sft_file *f = NULL;
    int rc = sft_open(&f, path);
    if (rc != 0) fprintf(stderr, "    cannot open %s: %s\n", path, strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const char *gen = sft_meta_get(f, "generator"), *desc = sft_meta_get(f, "description");
    fprintf(stderr, "    fixture %s (from %s: %s)\n", rel, gen ? gen : "?", desc ? desc : "");
    return f;
}

static inline void mf_randn(float *p, size_t n, strand_rng *r, float scale)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(strand_rng_normal(r) * scale);
}

static inline double mf_dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* Central finite differences: for `count` entries of x spread over [0,n), compare
 * fd = (f(x+h) − f(x−h)) / 2h with analytic[i]. The loss is accumulated in double by `f`, but the
 * forward runs in float, so fd carries rounding noise of about eps_f·|loss|/h: the bound is
 * |fd − an| ≤ rtol·max_i|an_i| + atol. Returns the worst |fd − an| / (rtol·scale + atol): pass ≤ 1. */
typedef double (*mf_loss_fn)(void *ctx);
static inline double mf_fd_check(const char *what, float *x, const float *analytic, size_t n, size_t count,
                                 double h, double rtol, double atol, mf_loss_fn f, void *ctx)
{
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(analytic[i]));
    double bound = rtol * scale + atol;
    size_t worst_i = 0;
    double worst_fd = 0;
    size_t step = n > count ? n / count : 1;
    for (size_t i = step / 2; i < n; i += step) {
        float x0 = x[i];
        x[i] = (float)(x0 + h);
        double hp = (double)x[i] - x0;
        double fp = f(ctx);
        x[i] = (float)(x0 - h);
        double hm = x0 - (double)x[i];
        double fm = f(ctx);
        x[i] = x0;
        double fd = (fp - fm) / (hp + hm);
        double e = fabs(fd - analytic[i]) / bound;
        if (e > worst || e != e) worst = e != e ? INFINITY : e, worst_i = i, worst_fd = fd;
    }
    fprintf(stderr, "    FD %-37s worst |fd-an|/bound %.3g (bound %.2g = %.0e*%.3g + %.0e) at [%zu]: fd %.6g an %.6g\n",
            what, worst, bound, rtol, scale, atol, worst_i, worst_fd, n ? analytic[worst_i] : 0.0);
    return worst;
}
#endif
