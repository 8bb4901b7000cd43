/* guidance/posterior: the step distributions of the ancestral samplers, over random logits.
 *  - every row sums to 1 (both processes, gamma 0/0.5/1/2/3, top-p on/off, with adjustments);
 *  - the per-position kernel (fast path) equals the whole-array reference to 1e-12;
 *  - gamma = 0 is the unconditional and gamma = 1 the conditional distribution (bitwise);
 *  - MDLM: copied positions are one-hot, masked rows put (1 − a_s)/(1 − a_t) on [MASK];
 *  - UDLM with x = onehot(x0) equals the forward-process posterior by Bayes' rule
 *    q(z_s | z_t, x0) = q(z_t | z_s) q(z_s | x0) / q(z_t | x0) (also MDLM), to 1e-12;
 *  - CFG with the finite [MASK] logit stays finite at gamma = 3;
 *  - the exponential race draws from its weights (chi-square, level 1e-3) and consumes N uniforms;
 *  - bad parameters are rejected. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guidance/posterior.h"
#include "stat_util.h"
#include "strand.h"
#include "test_util.h"

enum { N = 11, MASK = 3, B = 3, L = 7 };

static void random_logits(strand_rng *rng, float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * strand_rng_normal(rng));
}

static diff_step_params params(diff_process proc, double t, double s, double gamma, double top_p)
{
    diff_schedule sc = diff_schedule_default();
    diff_step_params p = {proc, N, MASK, diff_alpha(&sc, t), diff_alpha(&sc, s), gamma, top_p};
    return p;
}

static void random_zt(strand_rng *rng, diff_process proc, int32_t *zt, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zt[i] = (proc == DIFF_MASKED && strand_rng_uniform(rng) < 0.6) ? MASK : (int32_t)strand_rng_below(rng, N);
}

static void test_rows_sum_and_ref(void)
{
    strand_rng rng;
    strand_rng_seed(&rng, 11);
    size_t n = (size_t)B * L * N;
    float *lc = malloc(n * sizeof *lc), *lu = malloc(n * sizeof *lu);
    double *q = malloc(n * sizeof *q), *qr = malloc(n * sizeof *qr), *adj = malloc(n * sizeof *adj);
    double scratch[DIFF_STEP_SCRATCH(N)];
    int32_t zt[B * L];
    double worst_sum = 0, worst_ref = 0;
    const double gammas[] = {0, 0.5, 1, 2, 3};
    const double tops[] = {1, 0.9, 0.5};
    for (int proc = 0; proc < 2; proc++)
        for (int gi = 0; gi < 5; gi++)
            for (int ti = 0; ti < 3; ti++)
                for (int ai = 0; ai < 2; ai++) {
                    random_logits(&rng, lc, n, 2.0);
                    random_logits(&rng, lu, n, 2.0);
                    for (size_t i = 0; i < n; i++) adj[i] = strand_rng_normal(&rng);
                    random_zt(&rng, (diff_process)proc, zt, B * L);
                    double t = 0.2 + 0.7 * strand_rng_uniform(&rng), s = 1e-5 + (t - 1e-5) * strand_rng_uniform(&rng);
                    diff_step_params p = params((diff_process)proc, t, s, gammas[gi], tops[ti]);
                    CU_ASSERT_EQUAL_FATAL(diff_step_check(&p), 0);
                    const double *a = ai ? adj : NULL;
                    CU_ASSERT_EQUAL(diff_step_ref(&p, lc, lu, zt, a, B, L, qr), 0);
                    for (size_t i = 0; i < (size_t)B * L; i++) {
                        diff_step_row(&p, lc + i * N, lu + i * N, zt[i], a ? a + i * N : NULL, q + i * N, scratch);
                        double sum = 0;
                        for (int v = 0; v < N; v++) {
                            sum += q[i * N + v];
                            CU_ASSERT(q[i * N + v] >= 0);
                            worst_ref = fmax(worst_ref, fabs(q[i * N + v] - qr[i * N + v]));
                        }
                        worst_sum = fmax(worst_sum, fabs(sum - 1));
                    }
                }
    fprintf(stderr, "    max |row sum - 1| = %.3g (tol 1e-12); max |fast - reference| = %.3g (tol 1e-12)\n", worst_sum,
            worst_ref);
    CU_ASSERT(worst_sum < 1e-12);
    CU_ASSERT(worst_ref < 1e-12);
    free(lc), free(lu), free(q), free(qr), free(adj);
}

static void test_gamma_endpoints(void)
{
    strand_rng rng;
    strand_rng_seed(&rng, 12);
    float lc[N], lu[N];
    double q[N], qc[N], qu[N], scratch[DIFF_STEP_SCRATCH(N)];
    int bad = 0;
    for (int proc = 0; proc < 2; proc++)
        for (int rep = 0; rep < 50; rep++) {
            random_logits(&rng, lc, N, 3);
            random_logits(&rng, lu, N, 3);
            int32_t z = proc == DIFF_MASKED ? MASK : (int32_t)strand_rng_below(&rng, N);
            diff_step_params p0 = params((diff_process)proc, 0.7, 0.5, 0, 1);
            diff_step_params p1 = params((diff_process)proc, 0.7, 0.5, 1, 1);
            diff_step_row(&p0, lc, lu, z, NULL, q, scratch);
            diff_step_row(&p0, NULL, lu, z, NULL, qu, scratch); /* the unconditional call alone */
            bad += memcmp(q, qu, sizeof q) != 0;
            diff_step_row(&p1, lc, lu, z, NULL, q, scratch);
            diff_step_row(&p1, lc, NULL, z, NULL, qc, scratch); /* the conditional call alone */
            bad += memcmp(q, qc, sizeof q) != 0;
            /* and the mixture is not trivially one of them */
            diff_step_params p2 = params((diff_process)proc, 0.7, 0.5, 2, 1);
            diff_step_row(&p2, lc, lu, z, NULL, q, scratch);
            double d = 0;
            for (int v = 0; v < N; v++) d = fmax(d, fabs(q[v] - qc[v]));
            bad += d < 1e-6;
        }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_mdlm_copy_and_mask(void)
{
    strand_rng rng;
    strand_rng_seed(&rng, 13);
    float lc[N], lu[N];
    double q[N], scratch[DIFF_STEP_SCRATCH(N)];
    diff_step_params p = params(DIFF_MASKED, 0.6, 0.3, 3.0, 1);
    for (int z = 0; z < N; z++) {
        random_logits(&rng, lc, N, 3);
        random_logits(&rng, lu, N, 3);
        double adj[N];
        for (int v = 0; v < N; v++) adj[v] = 5 * strand_rng_normal(&rng);
        int drawn = diff_step_row(&p, lc, lu, z, adj, q, scratch);
        CU_ASSERT_EQUAL(drawn, z == MASK);
        if (z != MASK) {
            for (int v = 0; v < N; v++) CU_ASSERT_EQUAL(q[v], v == z ? 1.0 : 0.0);
        } else {
            diff_step_row(&p, lc, lu, z, NULL, q, scratch);
            int finite = 1;
            for (int v = 0; v < N; v++) finite &= isfinite(q[v]);
            CU_ASSERT(finite); /* gamma 3 with the finite [MASK] logit: no NaN */
            CU_ASSERT_DOUBLE_EQUAL(q[MASK], (1 - p.alpha_s) / (1 - p.alpha_t), 1e-14);
        }
    }
}

/* Forward-process transition of one position from a to b over clean probability a (uniform:
 * a·[a == b] + (1 − a)/N; masked: a·[a == b] + (1 − a)·[b == mask]). */
static double fwd(diff_process proc, double alpha, int from, int to)
{
    if (proc == DIFF_UNIFORM) return alpha * (from == to) + (1 - alpha) / N;
    if (from == MASK) return to == MASK;
    return alpha * (from == to) + (1 - alpha) * (to == MASK);
}

static void test_bayes(void)
{
    double worst = 0;
    double scratch[DIFF_STEP_SCRATCH(N)], q[N];
    float logits[N];
    const double ts[][2] = {{1.0, 0.97}, {0.5, 0.25}, {0.1, 0.09}, {0.03, 1e-5}};
    for (int proc = 0; proc < 2; proc++)
        for (int k = 0; k < 4; k++)
            for (int x0 = 0; x0 < N; x0++) {
                if (proc == DIFF_MASKED && x0 == MASK) continue;
                for (int zt = 0; zt < N; zt++) {
                    diff_step_params p = params((diff_process)proc, ts[k][0], ts[k][1], 1, 1);
                    for (int v = 0; v < N; v++) logits[v] = v == x0 ? 0.0f : -1e4f; /* x = onehot(x0) */
                    double pzt = fwd((diff_process)proc, p.alpha_t, x0, zt); /* q(z_t | x0) */
                    if (pzt == 0) continue;
                    diff_step_row(&p, logits, NULL, zt, NULL, q, scratch);
                    for (int zs = 0; zs < N; zs++) {
                        double bayes = fwd((diff_process)proc, p.alpha_t / p.alpha_s, zs, zt) *
                                       fwd((diff_process)proc, p.alpha_s, x0, zs) / pzt;
                        worst = fmax(worst, fabs(q[zs] - bayes));
                    }
                }
            }
    fprintf(stderr, "    max |q(z_s|z_t,onehot x0) - Bayes| = %.3g (tol 1e-12)\n", worst);
    CU_ASSERT(worst < 1e-12);
}

static void test_race(void)
{
    strand_rng rng;
    strand_rng_seed(&rng, 14);
    double w[N] = {0.5, 0, 3, 1, 0.01, 2, 0.2, 0, 1.5, 0.7, 0.09};
    double p[N], tot = 0;
    for (int v = 0; v < N; v++) tot += w[v];
    for (int v = 0; v < N; v++) p[v] = w[v] / tot;
    uint64_t cnt[N] = {0};
    const uint64_t K = 200000;
    for (uint64_t i = 0; i < K; i++) cnt[diff_race(w, N, &rng)]++;
    CU_ASSERT_EQUAL(cnt[1], 0);
    CU_ASSERT_EQUAL(cnt[7], 0);
    double stat = 0;
    int dof = 0;
    su_chi2_add(cnt, p, N, K, &stat, &dof);
    double pv = su_chi2_sf(stat, dof);
    fprintf(stderr, "    race: chi2 %.2f on %d dof, p = %.3g (reject below 1e-3)\n", stat, dof, pv);
    CU_ASSERT(pv > 1e-3);
    /* the test can fail: the same counts against a slightly different distribution */
    double p2[N];
    memcpy(p2, p, sizeof p2);
    p2[2] -= 0.01, p2[5] += 0.01;
    stat = 0, dof = 0;
    su_chi2_add(cnt, p2, N, K, &stat, &dof);
    CU_ASSERT(su_chi2_sf(stat, dof) < 1e-3);
    /* exactly N uniforms per draw, whatever the weights */
    strand_rng a, b;
    strand_rng_seed(&a, 5);
    b = a;
    diff_race(w, N, &a);
    for (int v = 0; v < N; v++) strand_rng_uniform(&b);
    CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
    /* the chi-square helper on known values: P(chi2_2 > 2 ln 20) = 0.05, P(chi2_10 > 18.307) = 0.05 */
    CU_ASSERT_DOUBLE_EQUAL(su_chi2_sf(2 * log(20.0), 2), 0.05, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(su_chi2_sf(18.307038, 10), 0.05, 1e-6);
    CU_ASSERT_EQUAL(diff_argmax(w, N), 2);
}

static void test_top_p(void)
{
    /* x = softmax(logits); top-p 0.5 keeps the ids whose sorted mass first reaches 0.5 */
    float lg[N];
    double lx[N];
    int idx[N];
    for (int v = 0; v < N; v++) lg[v] = (float)log(v + 1.0); /* x ∝ v + 1 (uniform process) */
    diff_step_params p = params(DIFF_UNIFORM, 0.5, 0.4, 1, 0.5);
    diff_log_xtheta(&p, lg, lx, idx);
    /* masses (v+1)/66: 11, 10, 9 sum to 30/66 < 0.5; + 8 → 38/66 ≥ 0.5: ids 10, 9, 8, 7 kept */
    for (int v = 0; v < N; v++) {
        double x = exp(lx[v]);
        if (v >= 7) CU_ASSERT_DOUBLE_EQUAL(x, (v + 1) / 38.0, 1e-6); /* float logits */
        if (v < 7) CU_ASSERT_EQUAL(x, 0.0);
    }
}

static void test_bad_params(void)
{
    diff_step_params p = params(DIFF_MASKED, 0.5, 0.4, -0.5, 1);
    CU_ASSERT_EQUAL(diff_step_check(&p), STRAND_E_RANGE);
    p = params(DIFF_MASKED, 0.4, 0.5, 1, 1); /* s > t */
    CU_ASSERT_EQUAL(diff_step_check(&p), STRAND_E_RANGE);
    p = params(DIFF_MASKED, 0.5, 0.4, 1, 0);
    CU_ASSERT_EQUAL(diff_step_check(&p), STRAND_E_RANGE);
    p = params(DIFF_MASKED, 0.5, 0.4, NAN, 1);
    CU_ASSERT_EQUAL(diff_step_check(&p), STRAND_E_RANGE);
    p = params(DIFF_MASKED, 0.5, 0.4, 1, 1);
    p.mask_id = N;
    CU_ASSERT_EQUAL(diff_step_check(&p), STRAND_E_RANGE);
    p = params(DIFF_UNIFORM, 0.5, 0.4, 1, 1);
    p.mask_id = -1; /* ignored by the uniform process */
    CU_ASSERT_EQUAL(diff_step_check(&p), 0);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("posterior", NULL, NULL);
    ADD_TEST(s, test_rows_sum_and_ref);
    ADD_TEST(s, test_gamma_endpoints);
    ADD_TEST(s, test_mdlm_copy_and_mask);
    ADD_TEST(s, test_bayes);
    ADD_TEST(s, test_race);
    ADD_TEST(s, test_top_p);
    ADD_TEST(s, test_bad_params);
}
