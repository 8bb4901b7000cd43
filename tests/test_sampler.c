/* guidance/sampler on a network whose x_theta is known exactly (a table: logits[b,l,v] =
 * W[l,v] + U[z_l, v] + Y[label, v] + sigma·S[v]):
 *  - one-step frequencies over 40,000 draws match diff_posterior (chi-square over all positions,
 *    level 1e-3; both processes, with CFG gamma 2 and top-p), and a wrong distribution is rejected;
 *  - the fast sampler equals the reference sampler at batch 1 (bitwise), and is the same at 1 and
 *    3 threads at batch 4 (bitwise);
 *  - call accounting: CFG gamma 2 makes one call of 2B rows per step, gamma 0/1 one call of B
 *    rows; no label on a label-conditioned network means the null label; the MDLM cache saves
 *    calls only when the network is not time-conditioned; noise removal leaves no [MASK];
 *  - copied MDLM positions never change; a guide function's adjustments steer the draws;
 *  - cancel through the progress callback; bad parameters rejected. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guidance/sampler.h"
#include "stat_util.h"
#include "strand.h"
#include "test_util.h"

enum { N = 9, MASK = 2, L = 6, C = 3 };

typedef struct tnet {
    float W[L][N], U[N][N], Y[C + 1][N], S[N];
    long rows_by_label[C + 2]; /* [C + 1]: rows without labels */
    long calls;
} tnet;

static int tnet_logits(void *self, void *ctx, const int32_t *ids, const float *sigma, const int32_t *labels, size_t B,
                       size_t Ln, float *out)
{
    tnet *t = self;
    for (size_t b = 0; b < B; b++) {
        int y = labels ? labels[b] : C + 1;
#pragma omp atomic
        t->rows_by_label[y]++;
        for (size_t l = 0; l < Ln; l++)
            for (int v = 0; v < N; v++)
                out[(b * Ln + l) * N + v] = t->W[l][v] + t->U[ids[b * Ln + l]][v] + (labels ? t->Y[labels[b]][v] : 0) +
                                            sigma[b] * t->S[v];
    }
#pragma omp atomic
    t->calls++;
    return 0;
}

static tnet *make_tnet(uint64_t seed)
{
    tnet *t = calloc(1, sizeof *t);
    strand_rng r;
    strand_rng_seed(&r, seed);
    for (int l = 0; l < L; l++)
        for (int v = 0; v < N; v++) t->W[l][v] = (float)(1.5 * strand_rng_normal(&r));
    for (int a = 0; a < N; a++)
        for (int v = 0; v < N; v++) t->U[a][v] = (float)(0.8 * strand_rng_normal(&r));
    for (int y = 0; y <= C; y++)
        for (int v = 0; v < N; v++) t->Y[y][v] = (float)(1.0 * strand_rng_normal(&r));
    for (int v = 0; v < N; v++) t->S[v] = (float)(0.5 * strand_rng_normal(&r));
    return t;
}

static diff_net net_of(tnet *t, int classes, int time_cond)
{
    diff_net n = {t, N, classes, time_cond, L, NULL, NULL, tnet_logits};
    return n;
}

static diff_sampler_params base(diff_process proc, int steps)
{
    diff_sampler_params p = diff_sampler_default_params();
    p.proc = proc;
    p.mask_id = MASK;
    p.L = L;
    p.steps = steps;
    p.seed = 42;
    return p;
}

/* Chi-square of one step's draws against diff_posterior, summed over positions. */
static double one_step_pvalue(diff_process proc, int classes, int label, double gamma, double top_p, int shift_s)
{
    tnet *t = make_tnet(7);
    diff_net net = net_of(t, classes, proc == DIFF_UNIFORM);
    diff_sampler_params p = base(proc, 8);
    p.label = label, p.gamma = gamma, p.top_p = top_p, p.batch = 500;
    const size_t K = 40000;
    int32_t zt[L] = {MASK, 4, MASK, MASK, 0, MASK};
    if (proc == DIFF_UNIFORM) zt[0] = 5, zt[2] = 8, zt[3] = 1, zt[5] = 3;
    int32_t *zs = malloc(K * L * sizeof *zs), *zin = malloc(K * L * sizeof *zin);
    for (size_t k = 0; k < K; k++) memcpy(zin + k * L, zt, sizeof zt);
    strand_rng *rngs = malloc(K * sizeof *rngs);
    strand_rng cur;
    strand_rng_seed(&cur, 99);
    for (size_t k = 0; k < K; k++) rngs[k] = cur, strand_rng_jump(&cur);
    diff_worker *w = NULL;
    CU_ASSERT_EQUAL_FATAL(diff_worker_create(&net, p.batch, L, 0, &w), 0);
    double t_ = 0.6, s_ = 0.3, q[L * N];
    CU_ASSERT_EQUAL(diff_sample_step(&net, w, &p, zin, K, t_, s_, rngs, zs, NULL), 0);
    CU_ASSERT_EQUAL(diff_posterior(&net, w, &p, zt, 1, t_, shift_s ? 0.1 : s_, q), 0);
    double stat = 0;
    int dof = 0;
    for (int l = 0; l < L; l++) {
        uint64_t cnt[N] = {0};
        for (size_t k = 0; k < K; k++) cnt[zs[k * L + l]]++;
        if (proc == DIFF_MASKED && zt[l] != MASK) { /* copied */
            CU_ASSERT_EQUAL(cnt[zt[l]], K);
            continue;
        }
        su_chi2_add(cnt, q + l * N, N, K, &stat, &dof);
    }
    double pv = su_chi2_sf(stat, dof);
    fprintf(stderr, "    %s label %d gamma %g top-p %g%s: chi2 %.1f on %d dof, p = %.3g\n",
            proc == DIFF_MASKED ? "MDLM" : "UDLM", label, gamma, top_p, shift_s ? " (WRONG s: must reject)" : "", stat,
            dof, pv);
    diff_worker_free(w);
    free(zs), free(zin), free(rngs), free(t);
    return pv;
}

static void test_one_step_chi2(void)
{
    const double level = 1e-3;
    CU_ASSERT(one_step_pvalue(DIFF_MASKED, 0, -1, 1, 1, 0) > level);
    CU_ASSERT(one_step_pvalue(DIFF_UNIFORM, 0, -1, 1, 1, 0) > level);
    CU_ASSERT(one_step_pvalue(DIFF_MASKED, C, 1, 2, 0.9, 0) > level);
    CU_ASSERT(one_step_pvalue(DIFF_UNIFORM, C, 2, 2, 0.9, 0) > level);
    CU_ASSERT(one_step_pvalue(DIFF_MASKED, 0, -1, 1, 1, 1) < level);
    CU_ASSERT(one_step_pvalue(DIFF_UNIFORM, C, 2, 2, 0.9, 1) < level);
}

static void test_fast_equals_reference(void)
{
    const size_t n = 7;
    int32_t a[n * L], b[n * L];
    for (int proc = 0; proc < 2; proc++)
        for (int variant = 0; variant < 3; variant++) {
            tnet *t = make_tnet(3);
            diff_net net = net_of(t, C, proc == DIFF_UNIFORM);
            diff_sampler_params p = base((diff_process)proc, 10);
            p.batch = 1;
            if (variant == 1) p.label = 0, p.gamma = 2.5, p.top_p = 0.8;
            if (variant == 2) p.label = 2, p.gamma = 1, p.greedy_final = 1;
            diff_sample_stats sf, sr;
            CU_ASSERT_EQUAL(diff_sample(&net, &p, n, a, &sf), 0);
            CU_ASSERT_EQUAL(diff_sample_ref(&net, &p, n, b, &sr), 0);
            CU_ASSERT(memcmp(a, b, sizeof a) == 0);
            if (proc == DIFF_MASKED) CU_ASSERT(sf.net_rows <= sr.net_rows); /* the cache only saves */
            int masks = 0;
            for (size_t i = 0; i < n * L; i++) masks += a[i] == MASK;
            if (proc == DIFF_MASKED) CU_ASSERT_EQUAL(masks, 0); /* noise removal */
            free(t);
        }
}

static void test_threads_invariant(void)
{
    const size_t n = 13;
    int32_t a[n * L], b[n * L];
    for (int proc = 0; proc < 2; proc++) {
        tnet *t = make_tnet(4);
        diff_net net = net_of(t, C, proc == DIFF_UNIFORM);
        diff_sampler_params p = base((diff_process)proc, 12);
        p.batch = 4, p.label = 1, p.gamma = 3;
        p.threads = 1;
        CU_ASSERT_EQUAL(diff_sample(&net, &p, n, a, NULL), 0);
        p.threads = 3;
        CU_ASSERT_EQUAL(diff_sample(&net, &p, n, b, NULL), 0);
        CU_ASSERT(memcmp(a, b, sizeof a) == 0);
        p.seed = 43; /* and another seed gives other samples */
        CU_ASSERT_EQUAL(diff_sample(&net, &p, n, b, NULL), 0);
        CU_ASSERT(memcmp(a, b, sizeof a) != 0);
        free(t);
    }
}

static void test_call_accounting(void)
{
    const size_t n = 8;
    int32_t out[n * L];
    const int T = 10;
    /* uniform (time-conditioned): no cache; gamma 2 → 2 rows per sample per step */
    tnet *t = make_tnet(5);
    diff_net net = net_of(t, C, 1);
    diff_sampler_params p = base(DIFF_UNIFORM, T);
    p.batch = 4, p.label = 1, p.gamma = 2;
    diff_sample_stats st;
    CU_ASSERT_EQUAL(diff_sample(&net, &p, n, out, &st), 0);
    CU_ASSERT_EQUAL(st.net_calls, 2 * T);           /* two batches, one call per step */
    CU_ASSERT_EQUAL(st.net_rows, 2 * n * T);         /* 2B rows per call */
    CU_ASSERT_EQUAL(t->rows_by_label[1], (long)(n * T));
    CU_ASSERT_EQUAL(t->rows_by_label[C], (long)(n * T)); /* the null label */
    CU_ASSERT_DOUBLE_EQUAL(st.nfe, 2.0 * T, 1e-12);
    /* gamma 0: null label only; gamma 1: the label only; no label: null label */
    const double gs[] = {0, 1, 1};
    const int labels[] = {1, 1, -1}, want_label[] = {C, 1, C};
    for (int k = 0; k < 3; k++) {
        memset(t->rows_by_label, 0, sizeof t->rows_by_label);
        p.gamma = gs[k], p.label = labels[k];
        CU_ASSERT_EQUAL(diff_sample(&net, &p, n, out, &st), 0);
        CU_ASSERT_EQUAL(st.net_rows, n * T);
        CU_ASSERT_EQUAL(t->rows_by_label[want_label[k]], (long)(n * T));
    }
    /* an unconditioned network gets no labels at all */
    diff_net net0 = net_of(t, 0, 1);
    memset(t->rows_by_label, 0, sizeof t->rows_by_label);
    p.label = -1;
    CU_ASSERT_EQUAL(diff_sample(&net0, &p, n, out, &st), 0);
    CU_ASSERT_EQUAL(t->rows_by_label[C + 1], (long)(n * T));
    /* masked, not time-conditioned: the cache saves calls; with it off every step calls */
    diff_net netm = net_of(t, 0, 0);
    diff_sampler_params pm = base(DIFF_MASKED, 64);
    pm.batch = 1; /* L = 6 positions over 64 steps: most steps change nothing */
    diff_sample_stats cached, uncached, timed;
    CU_ASSERT_EQUAL(diff_sample(&netm, &pm, n, out, &cached), 0);
    pm.use_cache = 0;
    CU_ASSERT_EQUAL(diff_sample(&netm, &pm, n, out, &uncached), 0);
    pm.use_cache = 1;
    diff_net nett = net_of(t, 0, 1);
    CU_ASSERT_EQUAL(diff_sample(&nett, &pm, n, out, &timed), 0);
    fprintf(stderr, "    MDLM 64 steps, L 6: NFE/sample cached %.2f, uncached %.2f, time-conditioned %.2f\n", cached.nfe,
            uncached.nfe, timed.nfe);
    CU_ASSERT(cached.nfe <= L + 1); /* a call only after a change (at most L of them) + the first */
    CU_ASSERT(uncached.nfe >= 64);
    CU_ASSERT(timed.nfe >= 64);
    free(t);
}

static void test_copy_and_guide(void)
{
    tnet *t = make_tnet(6);
    diff_net net = net_of(t, 0, 0);
    diff_sampler_params p = base(DIFF_MASKED, 4);
    const size_t n = 50;
    int32_t zt[n * L], zs[n * L];
    strand_rng rngs[n];
    for (size_t i = 0; i < n; i++) diff_sample_stream(1, i, &rngs[i]);
    for (size_t i = 0; i < n * L; i++) zt[i] = (i % 3 == 0) ? (int32_t)(i % N) : MASK;
    diff_worker *w = NULL;
    CU_ASSERT_EQUAL_FATAL(diff_worker_create(&net, p.batch, L, 1, &w), 0);
    CU_ASSERT_EQUAL(diff_sample_step(&net, w, &p, zt, n, 0.9, 0.5, rngs, zs, NULL), 0);
    int moved = 0, unmasked = 0;
    for (size_t i = 0; i < n * L; i++) {
        if (zt[i] != MASK) moved += zs[i] != zt[i];
        else unmasked += zs[i] != MASK;
    }
    CU_ASSERT_EQUAL(moved, 0);
    CU_ASSERT(unmasked > 0);
    diff_worker_free(w);
    free(t);
}

/* A guide that makes id 7 overwhelmingly likely everywhere. */
static int guide7(void *user, int thread, const int32_t *zt, size_t B, size_t Ln, int Nn, double t, double s, double *adj)
{
    for (size_t i = 0; i < B * Ln; i++) adj[i * Nn + 7] = 60;
    ++*(int *)user;
    return 0;
}

static void test_guide_hook(void)
{
    tnet *t = make_tnet(8);
    diff_net net = net_of(t, 0, 1);
    diff_sampler_params p = base(DIFF_UNIFORM, 5);
    int calls = 0;
    p.guide = guide7, p.guide_user = &calls;
    int32_t out[4 * L];
    CU_ASSERT_EQUAL(diff_sample(&net, &p, 4, out, NULL), 0);
    CU_ASSERT_EQUAL(calls, 5);
    for (int i = 0; i < 4 * L; i++) CU_ASSERT_EQUAL(out[i], 7);
    free(t);
}

/* logits that also depend on the left neighbour's token: the MDLM cache must be dropped when any
 * token of the row changes (with tnet alone a masked position's logits never change). */
static int cnet_logits(void *self, void *ctx, const int32_t *ids, const float *sigma, const int32_t *labels, size_t B,
                       size_t Ln, float *out)
{
    tnet_logits(self, ctx, ids, sigma, labels, B, Ln, out);
    tnet *t = self;
    for (size_t b = 0; b < B; b++)
        for (size_t l = 1; l < Ln; l++)
            for (int v = 0; v < N; v++) out[(b * Ln + l) * N + v] += 0.7f * t->U[ids[b * Ln + l - 1]][v];
    return 0;
}

typedef struct grid_log { int n; double t[64], s[64]; } grid_log;

static int record_grid(void *user, int thread, const int32_t *zt, size_t B, size_t Ln, int Nn, double t, double s,
                       double *adj)
{
    grid_log *g = user;
    if (g->n < 64) g->t[g->n] = t, g->s[g->n] = s;
    g->n++;
    return 0;
}

/* The time grid is linspace(1, t_eps, T + 1), then (noise removal) one greedy step t_eps -> 0
 * (docs/diffusion.md "Time grid"); with t_eps = 0.5 [MASK]s are left for that step, and the fast
 * sampler (cache on, a network with context) equals the reference and the uncached sampler. */
static void test_grid_cache_and_noise_removal(void)
{
    tnet *t = make_tnet(10);
    diff_net net = net_of(t, 0, 0);
    net.logits = cnet_logits;
    diff_sampler_params p = base(DIFF_MASKED, 4);
    p.t_eps = 0.5, p.batch = 1, p.threads = 1;
    p.seed = 1; /* a draw that leaves [MASK]s after the 4 steps (p ~ 1/2 per position): 5 calls */
    grid_log g = {0};
    p.guide = record_grid, p.guide_user = &g;
    int32_t one[L];
    CU_ASSERT_EQUAL_FATAL(diff_sample(&net, &p, 1, one, NULL), 0);
    CU_ASSERT_EQUAL(g.n, 5);
    double worst = 0;
    for (int i = 0; i < 4; i++) {
        worst = fmax(worst, fabs(g.t[i] - (1.0 + (0.5 - 1.0) * i / 4.0)));
        worst = fmax(worst, fabs(g.s[i] - (1.0 + (0.5 - 1.0) * (i + 1) / 4.0)));
    }
    CU_ASSERT(g.t[4] == 0.5 && g.s[4] == 0.0); /* the noise-removal step */
    fprintf(stderr, "    grid: %d guide calls, max |t - linspace(1, 0.5, 5)| %.2g\n", g.n, worst);
    CU_ASSERT(worst <= 1e-15);
    p.guide = NULL;
    const size_t n = 24;
    int32_t a[n * L], b[n * L], c[n * L];
    diff_sample_stats sa, sb;
    CU_ASSERT_EQUAL(diff_sample(&net, &p, n, a, &sa), 0);
    CU_ASSERT_EQUAL(diff_sample_ref(&net, &p, n, b, &sb), 0);
    p.use_cache = 0;
    CU_ASSERT_EQUAL(diff_sample(&net, &p, n, c, NULL), 0);
    int masks = 0, diff_ref = 0, diff_nocache = 0;
    for (size_t i = 0; i < n * L; i++) masks += a[i] == MASK, diff_ref += a[i] != b[i], diff_nocache += a[i] != c[i];
    fprintf(stderr, "    t_eps 0.5, 4 steps, %zu samples: %d [MASK] left, %d tokens differ from the reference, %d from "
            "the uncached run; NFE %.2f (reference %.2f)\n", n, masks, diff_ref, diff_nocache, sa.nfe, sb.nfe);
    CU_ASSERT_EQUAL(masks, 0);
    CU_ASSERT_EQUAL(diff_ref, 0);
    CU_ASSERT_EQUAL(diff_nocache, 0);
    free(t);
}

static int cancel_at_3(void *user, uint64_t done, uint64_t total) { return done >= 3; }

static void test_cancel_and_bad(void)
{
    tnet *t = make_tnet(9);
    diff_net net = net_of(t, C, 1);
    diff_sampler_params p = base(DIFF_UNIFORM, 20);
    int32_t out[10 * L];
    p.progress = cancel_at_3;
    CU_ASSERT_EQUAL(diff_sample(&net, &p, 10, out, NULL), STRAND_E_CANCELLED);
    p.progress = NULL;
    p.steps = 0;
    CU_ASSERT_EQUAL(diff_sample(&net, &p, 10, out, NULL), STRAND_E_RANGE);
    p.steps = 4, p.gamma = -1;
    CU_ASSERT_EQUAL(diff_sample(&net, &p, 10, out, NULL), STRAND_E_RANGE);
    p.gamma = 1, p.label = C;
    CU_ASSERT_EQUAL(diff_sample(&net, &p, 10, out, NULL), STRAND_E_RANGE);
    CU_ASSERT(strstr(strand_last_error(), "label 3 outside") != NULL);
    diff_net net0 = net_of(t, 0, 1);
    p.label = 0;
    CU_ASSERT_EQUAL(diff_sample(&net0, &p, 10, out, NULL), STRAND_E_ARG);
    p.label = -1, p.L = L + 1;
    CU_ASSERT_EQUAL(diff_sample(&net, &p, 10, out, NULL), STRAND_E_RANGE);
    free(t);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("sampler", NULL, NULL);
    ADD_TEST(s, test_one_step_chi2);
    ADD_TEST(s, test_fast_equals_reference);
    ADD_TEST(s, test_threads_invariant);
    ADD_TEST(s, test_call_accounting);
    ADD_TEST(s, test_copy_and_guide);
    ADD_TEST(s, test_guide_hook);
    ADD_TEST(s, test_grid_cache_and_noise_removal);
    ADD_TEST(s, test_cancel_and_bad);
}
