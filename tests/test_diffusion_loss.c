/* guidance/loss: per-token MDLM and UDLM losses and their logit gradients against the independent
 * PyTorch reference (tests/reference/diffusion_loss.py, float64 autograd), both schedules,
 * continuous time and T = 10; properties: UDLM loss >= 0 and 0 at a perfect x_theta, MDLM
 * carry-over positions contribute nothing, gradients by central differences in double. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_util.h"
#include "guidance/loss.h"
#include "strand.h"
#include "test_util.h"

static void *rd_raw(const sft_file *f, const char *name, sft_dtype dt, size_t n)
{
    const sft_tensor *t = sft_find(f, name);
    if (!t) fprintf(stderr, "    missing %s\n", name);
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_FATAL(t->dtype == dt && t->numel == n);
    size_t sz = sft_dtype_size(dt) * n;
    void *p = malloc(sz);
    memcpy(p, t->data, sz);
    return p;
}

/* max relative difference, denominators floored at `floor` */
static double max_rel(const double *got, const double *want, size_t n, double floor_, size_t *where)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]) / fmax(fabs(want[i]), floor_);
        if (!(d <= m)) m = d, *where = i;
    }
    return m;
}

static void test_against_torch(void)
{
    sft_file *f = tu_fixture_open("diffusion", "loss_logits");
    const int B = 5, L = 7, N = 9, MASK = 3;
    const char *procs[2] = {"mdlm", "udlm"}, *scheds[2] = {"loglinear", "cosine"};
    const int Ts[2] = {0, 10};
    for (int pi = 0; pi < 2; pi++)
        for (int si = 0; si < 2; si++)
            for (int ti = 0; ti < 2; ti++) {
                char pre[64], nm[96];
                snprintf(pre, sizeof pre, "%s_%s_T%d.", procs[pi], scheds[si], Ts[ti]);
#define RD(var, key, dt, n) snprintf(nm, sizeof nm, "%s%s", pre, key), var = rd_raw(f, nm, dt, n)
                float *logits; int32_t *x0, *zt; double *t, *wl, *wg;
                RD(logits, "logits", SFT_F32, (size_t)B * L * N);
                RD(x0, "x0", SFT_I32, (size_t)B * L);
                RD(zt, "zt", SFT_I32, (size_t)B * L);
                RD(t, "t", SFT_F64, (size_t)B);
                RD(wl, "loss", SFT_F64, (size_t)B * L);
                RD(wg, "grad", SFT_F64, (size_t)B * L * N);
#undef RD
                diff_loss_spec sp = {pi ? DIFF_UNIFORM : DIFF_MASKED, diff_schedule_default(), N, MASK, Ts[ti]};
                CU_ASSERT_FATAL(diff_schedule_parse(scheds[si], &sp.sched) == 0);
                float *loss = malloc(sizeof(float) * B * L), *dl = calloc((size_t)B * L * N, sizeof(float));
                CU_ASSERT_FATAL(diff_loss(&sp, logits, x0, zt, t, B, L, loss, dl, 1.0f) == 0);
                double *gl = malloc(sizeof(double) * B * L), *gg = malloc(sizeof(double) * B * L * N);
                for (int i = 0; i < B * L; i++) gl[i] = loss[i];
                for (int i = 0; i < B * L * N; i++) gg[i] = dl[i];
                size_t w1 = 0, w2 = 0;
                double r1 = max_rel(gl, wl, (size_t)B * L, 1e-6, &w1);
                double r2 = max_rel(gg, wg, (size_t)B * L * N, 1e-4, &w2);
                fprintf(stderr, "    %-20s loss max rel %.2e (tol 1e-5)  grad max rel %.2e (tol 1e-4)\n", pre, r1, r2);
                if (r1 > 1e-5) fprintf(stderr, "      loss[%zu]: got %.9g want %.9g\n", w1, gl[w1], wl[w1]);
                if (r2 > 1e-4) fprintf(stderr, "      grad[%zu]: got %.9g want %.9g\n", w2, gg[w2], wg[w2]);
                CU_ASSERT(r1 <= 1e-5);
                CU_ASSERT(r2 <= 1e-4);
                free(logits), free(x0), free(zt), free(t), free(wl), free(wg), free(loss), free(dl), free(gl), free(gg);
            }
    sft_close(f);
}

static void test_udlm_properties(void)
{
    enum { N = 6 };
    diff_schedule s = diff_schedule_default();
    double p[N], dp[N], worst = 0;
    strand_rng rng;
    strand_rng_seed(&rng, 5);
    for (int rep = 0; rep < 200; rep++) {
        double t = 0.001 + 0.998 * strand_rng_uniform(&rng), sum = 0;
        for (int v = 0; v < N; v++) sum += (p[v] = strand_rng_uniform(&rng) + 1e-3);
        for (int v = 0; v < N; v++) p[v] /= sum;
        int x0 = (int)strand_rng_below(&rng, N), zt = rep % 3 ? (int)strand_rng_below(&rng, N) : x0;
        double l = diff_udlm_token(N, diff_alpha(&s, t), diff_dalpha(&s, t), p, x0, zt, dp);
        CU_ASSERT(l >= -1e-12);
        /* central differences in p (unconstrained: the formula is a function of every p_j) */
        for (int k = 0; k < N; k++) {
            double h = 1e-6, keep = p[k];
            p[k] = keep + h;
            double lp = diff_udlm_token(N, diff_alpha(&s, t), diff_dalpha(&s, t), p, x0, zt, NULL);
            p[k] = keep - h;
            double lm = diff_udlm_token(N, diff_alpha(&s, t), diff_dalpha(&s, t), p, x0, zt, NULL);
            p[k] = keep;
            double fd = (lp - lm) / (2 * h), rel = fabs(fd - dp[k]) / fmax(fabs(fd), 1e-3);
            if (rel > worst) worst = rel;
        }
        /* x_theta = onehot(x0): the integrand is 0 */
        for (int v = 0; v < N; v++) p[v] = v == x0;
        l = diff_udlm_token(N, diff_alpha(&s, t), diff_dalpha(&s, t), p, x0, zt, NULL);
        CU_ASSERT(fabs(l) < 1e-9);
    }
    fprintf(stderr, "    UDLM dL/dp vs central differences: max rel %.2e (tol 1e-5)\n", worst);
    CU_ASSERT(worst < 1e-5);
}

static void test_mdlm_carry_over_and_errors(void)
{
    enum { B = 2, L = 4, N = 5, MASK = 2 };
    float logits[B * L * N], loss[B * L], dl[B * L * N];
    for (int i = 0; i < B * L * N; i++) logits[i] = (float)sin(i * 1.7);
    int32_t x0[B * L] = {0, 1, 3, 4, 4, 3, 1, 0}, zt[B * L] = {0, 2, 3, 2, 4, 2, 2, 0};
    double t[B] = {0.5, 0.9};
    memset(dl, 0, sizeof dl);
    diff_loss_spec sp = {DIFF_MASKED, diff_schedule_default(), N, MASK, 0};
    CU_ASSERT_FATAL(diff_loss(&sp, logits, x0, zt, t, B, L, loss, dl, 1.0f) == 0);
    for (int i = 0; i < B * L; i++) {
        if (zt[i] != MASK) {
            CU_ASSERT_EQUAL(loss[i], 0.0f);
            for (int v = 0; v < N; v++) CU_ASSERT_EQUAL(dl[i * N + v], 0.0f);
        } else {
            CU_ASSERT(loss[i] > 0);
            CU_ASSERT_EQUAL(dl[i * N + MASK], 0.0f); /* zero masking: the [MASK] logit never matters */
        }
    }
    /* log-linear: weight 1/t-ish: (1-eps)/(1-alpha_t) = 1/t exactly */
    double lse = 0;
    for (int v = 0; v < N; v++)
        if (v != MASK) lse += exp(logits[1 * N + v]);
    double want = (log(lse) - logits[1 * N + 1]) / 0.5;
    CU_ASSERT_DOUBLE_EQUAL(loss[1], want, 1e-5 * want);
    /* bad input */
    int32_t bad[B * L];
    memcpy(bad, x0, sizeof bad);
    bad[3] = MASK;
    CU_ASSERT_EQUAL(diff_loss(&sp, logits, bad, zt, t, B, L, loss, NULL, 1.0f), STRAND_E_RANGE);
    bad[3] = N;
    CU_ASSERT_EQUAL(diff_loss(&sp, logits, bad, zt, t, B, L, loss, NULL, 1.0f), STRAND_E_RANGE);
    double t0[B] = {0.0, 0.5};
    CU_ASSERT_EQUAL(diff_loss(&sp, logits, x0, zt, t0, B, L, loss, NULL, 1.0f), STRAND_E_RANGE);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("diffusion_loss", NULL, NULL);
    ADD_TEST(s, test_against_torch);
    ADD_TEST(s, test_udlm_properties);
    ADD_TEST(s, test_mdlm_carry_over_and_errors);
}
