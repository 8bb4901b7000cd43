/* guidance/classifier + guidance/cbg:
 *  - a classifier whose log p(y=1 | x) is linear in the one-hot input (a test backbone):
 *    first-order CBG equals exact CBG to float rounding (both processes);
 *  - the DiT classifier's input gradient by central differences (random weights, soft input);
 *  - guided steps through the sampler (a table denoiser): rows sum to 1, gamma = 0 equals
 *    unguided bitwise, copied MDLM positions one-hot, exact CBG equals brute force (every edit
 *    through clf_log_probs one row at a time, then q ∝ q_unguided · p^gamma) to 1e-6;
 *  - sigma reaches the classifier only with time conditioning; the cache of unchanged rows;
 *  - save/load round trip under the official DITClassifier names; bad input. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "guidance/cbg.h"
#include "guidance/classifier.h"
#include "guidance/sampler.h"
#include "clf_checks.h"
#include "fixture_util.h"
#include "strand.h"
#include "test_util.h"

enum { V = 7, MASK = 6, L = 5, C = 3 };

/* ---- a backbone with log p(1 | x) = f(x) = c0 + Σ_{l,v} W[l,v] x[l,v] (< 0), C = 2:
 *      logits = (log(1 − e^f), f) ---- */
typedef struct lin_bb { paramblock pb; int pw; } lin_bb;
typedef struct lin_ctx { const float *soft; int32_t ids[64 * L]; size_t B, Ln; float f[64]; } lin_ctx;

static int lin_create(void **out, const clf_config *cfg, const char *json)
{
    (void)json;
    lin_bb *m = calloc(1, sizeof *m);
    pb_init(&m->pb);
    int64_t sh[2] = {cfg->length, cfg->vocab};
    m->pw = pb_add(&m->pb, "w", 2, sh, 0);
    pb_alloc_params(&m->pb);
    *out = m;
    return 0;
}
static void lin_free(void *bw) { pb_free(&((lin_bb *)bw)->pb), free(bw); }
static void lin_init(void *bw, strand_rng *r)
{
    lin_bb *m = bw;
    float *w = pb_param(&m->pb, m->pw);
    for (size_t i = 0; i < m->pb.entries[m->pw].numel; i++) w[i] = (float)(-0.05 - 0.25 * strand_rng_uniform(r));
}
static int lin_load(void *bw, const sft_file *f) { return pb_load(&((lin_bb *)bw)->pb, f, ""); }
static paramblock *lin_params(void *bw) { return &((lin_bb *)bw)->pb; }
static int lin_ctx_create(const void *bw, void **c) { (void)bw; *c = calloc(1, sizeof(lin_ctx)); return 0; }
static void lin_ctx_free(void *c) { free(c); }
static int lin_fwd(const void *bw, void *bctx, const int32_t *ids, const float *soft, const float *sigma, size_t B,
                   size_t Ln, float *logits)
{
    (void)sigma;
    const lin_bb *m = bw;
    lin_ctx *c = bctx;
    const float *w = pb_param(&m->pb, m->pw);
    c->soft = soft, c->B = B, c->Ln = Ln;
    for (size_t b = 0; b < B; b++) {
        double f = -0.1;
        for (size_t l = 0; l < Ln; l++)
            for (int v = 0; v < V; v++)
                f += w[l * V + v] * (soft ? soft[(b * Ln + l) * V + v] : (float)(ids[b * Ln + l] == v));
        c->f[b] = (float)f;
        logits[b * 2 + 0] = (float)log1p(-exp(f));
        logits[b * 2 + 1] = (float)f;
    }
    return 0;
}
static int lin_bwd(const void *bw, void *bctx, const float *dlogits, float *dsoft, float *grads)
{
    (void)grads;
    const lin_bb *m = bw;
    lin_ctx *c = bctx;
    const float *w = pb_param(&m->pb, m->pw);
    for (size_t b = 0; b < c->B; b++) {
        double e = exp((double)c->f[b]);
        double df = dlogits[b * 2 + 1] + dlogits[b * 2 + 0] * (-e / (1 - e));
        for (size_t i = 0; dsoft && i < c->Ln * V; i++) dsoft[b * c->Ln * V + i] += (float)(df * w[i]);
    }
    return 0;
}
static size_t lin_row(const void *bw, size_t Ln) { (void)bw; return Ln * 4; }
static const clf_backbone lin_backbone = {"linear", lin_create, lin_free, lin_init, lin_load, lin_params, NULL,
                                          lin_ctx_create, lin_ctx_free, lin_fwd, lin_bwd, lin_row};

static clf_config base_cfg(diff_process proc, int classes)
{
    clf_config c = clf_default_config();
    c.num_classes = classes, c.vocab = V, c.length = L, c.proc = proc;
    c.mask_id = proc == DIFF_MASKED ? MASK : -1;
    return c;
}

/* A DiT classifier with every parameter random (adaLN and head active). */
static clf_weights *random_dit(uint64_t seed, int time_cond)
{
    clf_config cfg = base_cfg(DIFF_MASKED, C);
    cfg.time_cond = time_cond;
    clf_weights *w = NULL;
    CU_ASSERT_FATAL(clf_weights_create(&w, &cfg, "{\"hidden_dim\": 16, \"n_blocks\": 2, \"n_heads\": 2, "
                                                 "\"cond_dim\": 8}") == 0);
    strand_rng r;
    strand_rng_seed(&r, seed);
    clf_init_weights(w, &r);
    paramblock *pb = clf_params(w);
    for (size_t k = 0; k < pb->n; k++) /* entries only: the alignment padding stays 0 */
        for (size_t i = 0; i < pb->entries[k].numel; i++) pb_param(pb, (int)k)[i] += (float)(0.2 * strand_rng_normal(&r));
    return w;
}

/* ---- a table denoiser (as tests/test_sampler.c's) ---- */
typedef struct tnet { float W[L][V], U[V][V]; } tnet;
static int tnet_logits(void *self, void *ctx, const int32_t *ids, const float *sigma, const int32_t *labels, size_t B,
                       size_t Ln, float *out)
{
    (void)ctx, (void)sigma, (void)labels;
    tnet *t = self;
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < Ln; l++)
            for (int v = 0; v < V; v++) out[(b * Ln + l) * V + v] = t->W[l][v] + t->U[ids[b * Ln + l]][v];
    return 0;
}
static diff_net table_net(tnet *t, uint64_t seed)
{
    strand_rng r;
    strand_rng_seed(&r, seed);
    for (int l = 0; l < L; l++)
        for (int v = 0; v < V; v++) t->W[l][v] = (float)strand_rng_normal(&r);
    for (int a = 0; a < V; a++)
        for (int v = 0; v < V; v++) t->U[a][v] = (float)(0.7 * strand_rng_normal(&r));
    diff_net n = {t, V, 0, 0, L, NULL, NULL, tnet_logits};
    return n;
}

static diff_sampler_params sparams(diff_process proc, size_t batch)
{
    diff_sampler_params p = diff_sampler_default_params();
    p.proc = proc, p.mask_id = proc == DIFF_MASKED ? MASK : -1, p.L = L, p.batch = batch, p.threads = 1;
    return p;
}

/* n sequences at a mid-process state: masked: about half [MASK]; uniform: any ids. */
static void some_states(diff_process proc, size_t n, uint64_t seed, int32_t *z)
{
    strand_rng r;
    strand_rng_seed(&r, seed);
    for (size_t i = 0; i < n * L; i++) {
        z[i] = (int32_t)strand_rng_below(&r, proc == DIFF_MASKED ? V - 1 : V);
        if (proc == DIFF_MASKED && strand_rng_uniform(&r) < 0.5) z[i] = MASK;
    }
}

static void guided_adj(const clf_weights *w, cbg_mode mode, int cls, double gamma, diff_process proc,
                       const int32_t *z, size_t n, double t, double *adj, cbg_stats *st)
{
    diff_sampler_params sp = sparams(proc, n);
    cbg_params cp = {w, cls, gamma, mode, 0, 1};
    cbg_guide *g = NULL;
    CU_ASSERT_FATAL(cbg_create(&g, &cp, &sp) == 0);
    memset(adj, 0, n * L * V * sizeof *adj);
    CU_ASSERT_FATAL(cbg_guide_fn(g, 0, z, n, L, V, t, t - 0.1, adj) == 0);
    if (st) cbg_get_stats(g, st);
    cbg_free(g);
}

static void test_first_order_equals_exact_linear(void)
{
    for (int pr = 0; pr < 2; pr++) {
        diff_process proc = pr ? DIFF_UNIFORM : DIFF_MASKED;
        clf_config cfg = base_cfg(proc, 2);
        clf_weights *w = NULL;
        CU_ASSERT_FATAL(clf_weights_create_with(&w, &cfg, &lin_backbone, NULL) == 0);
        strand_rng r;
        strand_rng_seed(&r, 5);
        clf_init_weights(w, &r);
        enum { n = 6 };
        int32_t z[n * L];
        some_states(proc, n, 11 + pr, z);
        double ex[n * L * V], fo[n * L * V];
        guided_adj(w, CBG_EXACT, 1, 1.7, proc, z, n, 0.6, ex, NULL);
        guided_adj(w, CBG_FIRST_ORDER, 1, 1.7, proc, z, n, 0.6, fo, NULL);
        double md = 0;
        size_t drawn = 0;
        for (size_t i = 0; i < n * L; i++) {
            if (proc == DIFF_MASKED && z[i] != MASK) continue;
            drawn++;
            for (int v = 0; v < V; v++) md = fmax(md, fabs(ex[i * V + v] - fo[i * V + v]));
        }
        fprintf(stderr, "    %s: first-order vs exact on a linear log p: max |diff| %.3g over %zu drawn positions\n",
                diff_process_name(proc), md, drawn);
        CU_ASSERT(drawn > 0);
        CU_ASSERT(md <= 2e-6);
        clf_weights_free(w);
    }
}

static void test_input_grad_fd(void)
{
    strand_set_threads(1); /* tiny shapes: OpenMP's fork/join would dominate on a loaded machine */
    for (int tc = 0; tc < 2; tc++) {
        clf_weights *w = random_dit(21 + tc, tc);
        clf_ctx *c = NULL;
        CU_ASSERT_FATAL(clf_ctx_create(&c, w) == 0);
        int32_t ids[2 * L], y[2] = {0, 2};
        some_states(DIFF_MASKED, 2, 8, ids);
        clf_check_input_grad(tc ? "DiT classifier d log p/d soft (time-cond)" : "DiT classifier d log p/d soft", w, c, V, L, C,
                             ids, y);
        clf_ctx_free(c);
        clf_weights_free(w);
    }
}

static void test_time_conditioning(void)
{
    for (int tc = 0; tc < 2; tc++) {
        clf_weights *w = random_dit(31, tc);
        int32_t ids[2 * L];
        some_states(DIFF_MASKED, 1, 4, ids);
        memcpy(ids + L, ids, L * sizeof *ids);
        clf_check_time_cond(w, L, C, ids, tc);
        clf_weights_free(w);
    }
}

/* Guided steps through diff_posterior: normalisation, gamma 0, copied positions, brute force. */
/* log p(cls | seq with position l set to v): one edit through the plain classifier forward (brute force). */
static double edit_log_prob(const clf_weights *w, clf_ctx *c, const int32_t *seq, size_t l, int v, int cls)
{
    int32_t e[L];
    memcpy(e, seq, sizeof e);
    e[l] = v;
    float lp[C], sg = 0;
    CU_ASSERT_FATAL(clf_log_probs(w, c, e, &sg, 1, L, lp) == 0);
    return lp[cls];
}

static void test_guided_posterior(void)
{
    strand_set_threads(1);
    for (int pr = 0; pr < 2; pr++) {
        diff_process proc = pr ? DIFF_UNIFORM : DIFF_MASKED;
        clf_weights *w = random_dit(41 + pr, 0);
        w->cfg.proc = proc;
        w->cfg.mask_id = proc == DIFF_MASKED ? MASK : -1;
        tnet tn;
        diff_net net = table_net(&tn, 7 + pr);
        enum { n = 3 };
        int32_t z[n * L];
        some_states(proc, n, 19 + pr, z);
        double t = 0.7, s = 0.55;
        for (int mode = 0; mode < 2; mode++) {
            diff_sampler_params sp = sparams(proc, n);
            diff_worker *wk = NULL;
            CU_ASSERT_FATAL(diff_worker_create(&net, n, L, 1, &wk) == 0);
            static double q0[n * L * V], qg[n * L * V], q00[n * L * V];
            CU_ASSERT_FATAL(diff_posterior(&net, wk, &sp, z, n, t, s, q0) == 0);
            cbg_params cp = {w, 2, 0.0, (cbg_mode)mode, 0, 1};
            cbg_guide *g = NULL;
            CU_ASSERT_FATAL(cbg_create(&g, &cp, &sp) == 0);
            sp.guide = cbg_guide_fn, sp.guide_user = g;
            CU_ASSERT_FATAL(diff_posterior(&net, wk, &sp, z, n, t, s, q00) == 0);
            CU_ASSERT(!memcmp(q0, q00, sizeof q0)); /* gamma 0 == unguided, bitwise */
            cbg_free(g);
            cp.gamma = 2.5;
            CU_ASSERT_FATAL(cbg_create(&g, &cp, &sp) == 0);
            sp.guide_user = g;
            CU_ASSERT_FATAL(diff_posterior(&net, wk, &sp, z, n, t, s, qg) == 0);
            double sum_err = 0, bf_err = 0, onehot_err = 0;
            clf_ctx *c = NULL;
            CU_ASSERT_FATAL(clf_ctx_create(&c, w) == 0);
            for (size_t i = 0; i < n * L; i++) {
                double sum = 0;
                for (int v = 0; v < V; v++) sum += qg[i * V + v];
                sum_err = fmax(sum_err, fabs(sum - 1));
                if (proc == DIFF_MASKED && z[i] != MASK) {
                    for (int v = 0; v < V; v++) onehot_err = fmax(onehot_err, fabs(qg[i * V + v] - (v == z[i])));
                    continue;
                }
                if (mode != CBG_EXACT) continue;
                /* brute force: q_v ∝ q0_v · p(y | z^{l<-v})^gamma, each edit one plain forward */
                double lw[V], mx = -INFINITY, tot = 0;
                for (int v = 0; v < V; v++) {
                    double lp = edit_log_prob(w, c, z + (i / L) * L, i % L, v, 2);
                    lw[v] = q0[i * V + v] > 0 ? log(q0[i * V + v]) + cp.gamma * lp : -INFINITY;
                    mx = fmax(mx, lw[v]);
                }
                for (int v = 0; v < V; v++) tot += exp(lw[v] - mx);
                for (int v = 0; v < V; v++) bf_err = fmax(bf_err, fabs(exp(lw[v] - mx) / tot - qg[i * V + v]));
            }
            fprintf(stderr, "    %s %s: rows sum to 1 within %.2g, copied rows one-hot within %.2g, brute force %.3g\n",
                    diff_process_name(proc), cbg_mode_name((cbg_mode)mode), sum_err, onehot_err, bf_err);
            CU_ASSERT(sum_err <= 1e-12);
            CU_ASSERT(onehot_err == 0);
            CU_ASSERT(bf_err <= 1e-6);
            clf_ctx_free(c);
            cbg_free(g);
            diff_worker_free(wk);
        }
        clf_weights_free(w);
    }
}

/* CBG with Duo's greedy tail (docs/duo.md "Few-step sampling"): the tail is the step t_eps -> 0
 * whose posterior is x_theta itself, so with exact CBG each position of the pre-tail state z becomes
 * argmax_v [log x_theta(v | z) + gamma log p(y | z^{l<-v})], by brute force through the plain classifier. */
static void test_cbg_greedy_tail(void)
{
    strand_set_threads(1);
    clf_weights *w = random_dit(61, 0);
    w->cfg.proc = DIFF_UNIFORM, w->cfg.mask_id = -1;
    tnet tn;
    diff_net net = table_net(&tn, 13);
    enum { n = 4 };
    double gamma = 3.0;
    int32_t pre[n * L], tail[n * L];
    diff_sampler_params sp = sparams(DIFF_UNIFORM, 2);
    sp.steps = 3, sp.seed = 23, sp.label = -1;
    cbg_params cp = {w, 1, gamma, CBG_EXACT, 0, 1};
    cbg_guide *g = NULL;
    CU_ASSERT_FATAL(cbg_create(&g, &cp, &sp) == 0);
    sp.guide = cbg_guide_fn, sp.guide_user = g;
    CU_ASSERT_FATAL(diff_sample(&net, &sp, n, pre, NULL) == 0); /* no tail: the state the tail starts from */
    sp.tail = DIFF_TAIL_GREEDY;
    CU_ASSERT_FATAL(diff_sample(&net, &sp, n, tail, NULL) == 0);
    cbg_free(g);
    clf_ctx *c = NULL;
    CU_ASSERT_FATAL(clf_ctx_create(&c, w) == 0);
    float lg[n * L * V];
    CU_ASSERT_FATAL(tnet_logits(&tn, NULL, pre, NULL, NULL, n, L, lg) == 0);
    int same = 1, moved = 0, guided_differs = 0;
    for (size_t i = 0; i < n * L; i++) {
        double mx = -INFINITY, z = 0, best = -INFINITY, best0 = -INFINITY;
        int arg = -1, arg0 = -1;
        for (int v = 0; v < V; v++) mx = fmax(mx, lg[i * V + v]);
        for (int v = 0; v < V; v++) z += exp(lg[i * V + v] - mx);
        for (int v = 0; v < V; v++) {
            double score = lg[i * V + v] - mx - log(z) + gamma * edit_log_prob(w, c, pre + (i / L) * L, i % L, v, 1);
            if (score > best) best = score, arg = v;
            if (lg[i * V + v] > best0) best0 = lg[i * V + v], arg0 = v; /* the unguided tail: argmax x_theta */
        }
        same &= arg == tail[i];
        moved += pre[i] != tail[i];
        guided_differs += arg0 != tail[i];
    }
    fprintf(stderr, "    greedy tail under exact CBG = argmax of x_theta p(y|edit)^gamma by hand: %s (%d of %d positions "
                    "moved by the tail, %d not the unguided argmax)\n",
            same ? "yes" : "NO", moved, n * L, guided_differs);
    CU_ASSERT(same);
    CU_ASSERT(moved > 0);
    CU_ASSERT(guided_differs > 0); /* the guidance acts at the tail itself */
    clf_ctx_free(c);
    clf_weights_free(w);
}

static void test_cache_and_threads(void)
{
    strand_set_threads(2); /* the exact mode splits the edits over 2 inner threads */
    clf_weights *w = random_dit(51, 0);
    enum { n = 4 };
    int32_t z[n * L];
    some_states(DIFF_MASKED, n, 2, z);
    diff_sampler_params sp = sparams(DIFF_MASKED, n);
    sp.threads = 2;
    cbg_params cp = {w, 1, 1.0, CBG_EXACT, 0, 1};
    cbg_guide *g = NULL;
    CU_ASSERT_FATAL(cbg_create(&g, &cp, &sp) == 0);
    static double a1[n * L * V], a2[n * L * V], a3[n * L * V];
    CU_ASSERT_FATAL(cbg_guide_fn(g, 1, z, n, L, V, 0.5, 0.4, a1) == 0);
    z[0] = z[0] == MASK ? 0 : MASK; /* row 0 changes, rows 1..3 do not */
    CU_ASSERT_FATAL(cbg_guide_fn(g, 1, z, n, L, V, 0.4, 0.3, a2) == 0);
    cbg_stats st;
    cbg_get_stats(g, &st);
    CU_ASSERT_EQUAL(st.cached_rows, 3);
    CU_ASSERT(!memcmp(a1 + L * V, a2 + L * V, 3 * L * V * sizeof *a1));
    cbg_free(g);
    /* the same numbers without the cache, split over 2 inner threads */
    cp.use_cache = 0;
    CU_ASSERT_FATAL(cbg_create(&g, &cp, &sp) == 0);
    CU_ASSERT_FATAL(cbg_guide_fn(g, 0, z, n, L, V, 0.4, 0.3, a3) == 0);
    cbg_get_stats(g, &st);
    CU_ASSERT_EQUAL(st.cached_rows, 0);
    double md = 0;
    for (size_t i = 0; i < n * L * V; i++) md = fmax(md, fabs(a2[i] - a3[i]));
    CU_ASSERT(md <= 1e-6);
    cbg_free(g);
    clf_weights_free(w);
}

static void test_save_load_names(void)
{
    clf_weights *w = random_dit(61, 1);
    const char *names[] = {"classifier_model.output_layer.weight", "classifier_model.blocks.1.attn_qkv.weight",
                           "classifier_model.sigma_map.mlp.0.weight", "classifier_model.vocab_embed.embedding", NULL};
    CU_ASSERT(pb_find(clf_params(w), "classifier_model.output_layer.linear.weight") < 0);
    clf_check_save_load(w, names, C);
    clf_weights_free(w);
}

static void test_bad_input(void)
{
    clf_weights *w = random_dit(71, 0);
    tnet tn;
    diff_net net = table_net(&tn, 1);
    cbg_params cp = {w, C, 1.0, CBG_EXACT, 0, 1};
    CU_ASSERT_EQUAL(cbg_check(&cp, &net, L, 1, "clf"), STRAND_E_RANGE); /* class out of range */
    CU_ASSERT(strstr(strand_last_error(), "class 3 outside") != NULL);
    cp.cls = 1;
    CU_ASSERT_EQUAL(cbg_check(&cp, &net, L, 1, "clf"), 0);
    CU_ASSERT_EQUAL(cbg_check(&cp, &net, L + 1, 1, "clf"), STRAND_E_ARG); /* too long */
    net.vocab = V + 1;
    CU_ASSERT_EQUAL(cbg_check(&cp, &net, L, 1, "clf"), STRAND_E_ARG); /* vocabulary */
    CU_ASSERT(strstr(strand_last_error(), "vocabulary") != NULL);
    net.vocab = V;
    cp.max_bytes = 1000; /* exact over the bound: suggests first-order */
    CU_ASSERT_EQUAL(cbg_check(&cp, &net, L, 2, "clf"), STRAND_E_NOMEM);
    CU_ASSERT(strstr(strand_last_error(), "first-order") != NULL);
    cp.mode = CBG_FIRST_ORDER;
    CU_ASSERT_EQUAL(cbg_check(&cp, &net, L, 2, "clf"), 0);
    cp.gamma = -1;
    CU_ASSERT_EQUAL(cbg_check(&cp, &net, L, 2, "clf"), STRAND_E_RANGE);
    clf_config cfg = clf_default_config();
    CU_ASSERT(clf_config_from_json(&cfg, "{\"kind\": \"dit\", \"vocab_size\": 7}", "x.safetensors") < 0);
    CU_ASSERT(strstr(strand_last_error(), "not a classifier") != NULL);
    CU_ASSERT(clf_config_from_json(&cfg, "{\"kind\": \"classifier\", \"backbone\": \"lstm\", \"vocab_size\": 7, "
                                         "\"model_length\": 4}", "x") == STRAND_E_UNSUPPORTED);
    clf_ctx *c = NULL;
    CU_ASSERT_FATAL(clf_ctx_create(&c, w) == 0);
    int32_t ids[L] = {0, 1, V, 2, 3};
    float lp[C];
    CU_ASSERT_EQUAL(clf_log_probs(w, c, ids, NULL, 1, L, lp), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(clf_log_probs(w, c, ids, NULL, 1, L + 1, lp), STRAND_E_SHAPE);
    int32_t y = C;
    float g[L * V];
    ids[2] = 1;
    CU_ASSERT_EQUAL(clf_input_grad(w, c, ids, NULL, &y, 1, L, lp, g), STRAND_E_RANGE);
    clf_ctx_free(c);
    clf_weights_free(w);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("classifier", NULL, NULL);
    ADD_TEST(s, test_first_order_equals_exact_linear);
    ADD_TEST(s, test_input_grad_fd);
    ADD_TEST(s, test_time_conditioning);
    ADD_TEST(s, test_guided_posterior);
    ADD_TEST(s, test_cbg_greedy_tail);
    ADD_TEST(s, test_cache_and_threads);
    ADD_TEST(s, test_save_load_names);
    ADD_TEST(s, test_bad_input);
}
