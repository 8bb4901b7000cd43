/* guidance/noise: schedules (values, derivative by central differences, sigma = -log alpha),
 * antithetic time sampling (one time per stratum), discrete time, and forward corruption
 * frequencies for both processes (binomial bounds, 5 sigma). No fixture needed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "guidance/noise.h"
#include "strand.h"
#include "test_util.h"

static void test_schedules(void)
{
    diff_schedule ll = diff_schedule_default(), cs;
    CU_ASSERT_EQUAL(ll.kind, DIFF_SCHED_LOGLINEAR);
    CU_ASSERT_EQUAL(diff_schedule_parse("cosine", &cs), 0);
    CU_ASSERT_EQUAL(cs.kind, DIFF_SCHED_COSINE);
    diff_schedule bad;
    CU_ASSERT_EQUAL(diff_schedule_parse("geometric", &bad), STRAND_E_ARG);
    double eps = 1e-3;
    /* endpoints */
    CU_ASSERT_DOUBLE_EQUAL(diff_alpha(&ll, 0), 1.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(diff_alpha(&ll, 1), eps, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(diff_alpha(&cs, 0), 1.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(diff_alpha(&cs, 1), eps, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(diff_alpha(&ll, 0.25), 1 - 0.999 * 0.25, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(diff_alpha(&cs, 0.5), eps + (1 - eps) * sqrt(0.5), 1e-15);
    double worst = 0;
    const diff_schedule *ss[2] = {&ll, &cs};
    for (int k = 0; k < 2; k++)
        for (double t = 0.01; t < 0.995; t += 0.0137) {
            double h = 1e-6;
            double fd = (diff_alpha(ss[k], t + h) - diff_alpha(ss[k], t - h)) / (2 * h);
            double d = diff_dalpha(ss[k], t);
            double rel = fabs(fd - d) / fabs(d);
            if (rel > worst) worst = rel;
            CU_ASSERT(d < 0);
            CU_ASSERT_DOUBLE_EQUAL(diff_sigma(ss[k], t), -log(diff_alpha(ss[k], t)), 1e-15);
            CU_ASSERT(diff_alpha(ss[k], t + 0.01) < diff_alpha(ss[k], t)); /* decreasing */
        }
    fprintf(stderr, "    dalpha vs central difference: max rel %.2e (tol 1e-7)\n", worst);
    CU_ASSERT(worst < 1e-7);
    CU_ASSERT_EQUAL(diff_model_sigma(&ll, 0.5, 0), 0.0f);
    CU_ASSERT_DOUBLE_EQUAL(diff_model_sigma(&ll, 0.5, 1), (float)-log(1 - 0.999 * 0.5), 1e-7);
    diff_process p;
    CU_ASSERT(diff_process_parse("udlm", &p) == 0 && p == DIFF_UNIFORM);
    CU_ASSERT(diff_process_parse("mdlm", &p) == 0 && p == DIFF_MASKED);
    CU_ASSERT_EQUAL(diff_process_parse("ar", &p), STRAND_E_ARG);
}

static void test_time_sampling(void)
{
    strand_rng rng;
    strand_rng_seed(&rng, 7);
    enum { N = 64 };
    double t[N];
    for (int rep = 0; rep < 50; rep++) {
        diff_sample_t(&rng, N, 1, DIFF_T_EPS, t);
        for (int i = 0; i < N; i++) {
            /* stratum i of [eps_t, 1) */
            double e = (t[i] - DIFF_T_EPS) / (1 - DIFF_T_EPS);
            CU_ASSERT(e >= (double)i / N - 1e-12 && e < (double)(i + 1) / N + 1e-12);
            CU_ASSERT(t[i] >= DIFF_T_EPS && t[i] < 1.0);
        }
    }
    /* same seed, same times; the plain sampler covers [eps,1) without strata */
    strand_rng a, b;
    strand_rng_seed(&a, 3), strand_rng_seed(&b, 3);
    double t1[N], t2[N];
    diff_sample_t(&a, N, 0, DIFF_T_EPS, t1);
    diff_sample_t(&b, N, 0, DIFF_T_EPS, t2);
    CU_ASSERT(memcmp(t1, t2, sizeof t1) == 0);
    double mean = 0;
    for (int i = 0; i < N; i++) mean += t1[i] / N;
    CU_ASSERT(mean > 0.3 && mean < 0.7);
    /* discrete time */
    CU_ASSERT_DOUBLE_EQUAL(diff_discretize_t(0.0015, 1000), 0.002, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(diff_discretize_t(0.9999, 10), 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(diff_discretize_t(0.37, 0), 0.37, 0);
}

static void test_corruption(void)
{
    enum { L = 20000, V = 12, MASK = 3 };
    int32_t *x = malloc(L * sizeof *x), *z = malloc(L * sizeof *z);
    strand_rng rng;
    strand_rng_seed(&rng, 11);
    for (int l = 0; l < L; l++) x[l] = 5 + l % 4;
    double alpha = 0.3;
    /* masked: P(mask) = 1 - alpha; unmasked tokens are x */
    size_t moved = diff_corrupt(DIFF_MASKED, V, MASK, alpha, x, L, &rng, z);
    size_t nmask = 0, wrong = 0;
    for (int l = 0; l < L; l++) {
        if (z[l] == MASK) nmask++;
        else if (z[l] != x[l]) wrong++;
    }
    double sd = sqrt(L * alpha * (1 - alpha));
    fprintf(stderr, "    masked: %zu of %d masked (expected %.0f ± %.0f)\n", nmask, L, L * (1 - alpha), sd);
    CU_ASSERT_EQUAL(moved, nmask);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT(fabs((double)nmask - L * (1 - alpha)) < 5 * sd);
    /* uniform: P(z = v) = alpha [v = x] + (1 - alpha)/V */
    size_t cnt[V] = {0};
    for (int l = 0; l < L; l++) x[l] = 7;
    diff_corrupt(DIFF_UNIFORM, V, MASK, alpha, x, L, &rng, z);
    for (int l = 0; l < L; l++) {
        CU_ASSERT_FATAL(z[l] >= 0 && z[l] < V);
        cnt[z[l]]++;
    }
    for (int v = 0; v < V; v++) {
        double p = (v == 7 ? alpha : 0) + (1 - alpha) / V;
        double s = sqrt(L * p * (1 - p));
        if (fabs(cnt[v] - L * p) >= 5 * s) fprintf(stderr, "    uniform id %d: %zu vs %.0f\n", v, cnt[v], L * p);
        CU_ASSERT(fabs(cnt[v] - L * p) < 5 * s);
    }
    /* alpha 1: nothing moves; alpha 0 masked: everything masked */
    CU_ASSERT_EQUAL(diff_corrupt(DIFF_UNIFORM, V, MASK, 1.0, x, L, &rng, z), 0);
    CU_ASSERT(memcmp(x, z, L * sizeof *x) == 0);
    CU_ASSERT_EQUAL(diff_corrupt(DIFF_MASKED, V, MASK, 0.0, x, L, &rng, z), L);
    free(x), free(z);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("noise", NULL, NULL);
    ADD_TEST(s, test_schedules);
    ADD_TEST(s, test_time_sampling);
    ADD_TEST(s, test_corruption);
}
