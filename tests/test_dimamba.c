/* DiMamba (docs/dit.md "DiMamba") against an independent PyTorch model (tests/reference/dimamba.py,
 * float64, BiMamba as two literal Mamba blocks): outputs ≤ 1e-4 absolute, every parameter gradient
 * ≤ 1e-3 relative (max |diff| / max |reference|), the soft-input path and its d/dsoft, both heads
 * (per-position LM and pooled classifier); central finite differences on every tensor; one-hot
 * soft input == ids; an inference context (backward = 0) gives the same outputs; bad calls.
 * Fixtures: /usr/bin/python3 tests/reference/dimamba.py */
#include <stdint.h>

#include "guidance/dimamba.h"
#include "core/safetensors.h"
#include "strand.h"
#include "fixture_util.h"
#include "test_util.h"

#define OUT_TOL 1e-4
#define GRAD_RTOL 1e-3
#define FD_EPS 1e-2
#define FD_TOL 3e-3

static int meta_int(sft_file *f, const char *key)
{
    const char *v = sft_meta_get(f, key);
    CU_ASSERT_FATAL(v != NULL);
    return atoi(v);
}

typedef struct fx_model {
    dimamba_weights *m;
    dimamba_ctx *c;
    size_t B, L, N, nout; /* nout: floats of one forward's output */
    int32_t *ids, *labels;
    float *sigma, *want, *R, *out;
    sft_file *f;
} fx_model;

static void fx_model_load(fx_model *x, const char *file)
{
    sft_file *f = x->f = tu_fixture_open("dimamba", file);
    dimamba_config c = dimamba_default_config();
    c.vocab = meta_int(f, "N");
    c.dim = meta_int(f, "D");
    c.depth = meta_int(f, "depth");
    c.cond_dim = meta_int(f, "cond");
    c.num_classes = meta_int(f, "classes");
    c.time_cond = meta_int(f, "time_cond");
    c.n_out = meta_int(f, "n_out");
    x->B = (size_t)meta_int(f, "B");
    x->L = (size_t)meta_int(f, "L");
    c.model_length = (int)x->L;
    x->N = (size_t)c.vocab;
    x->nout = c.n_out ? x->B * (size_t)c.n_out : x->B * x->L * x->N;
    CU_ASSERT_FATAL(dimamba_weights_create(&x->m, &c, sft_meta_get(f, "prefix")) == 0);
    CU_ASSERT_FATAL(pb_alloc_grads(&x->m->pb) == 0 && dimamba_ctx_create(&x->c, &c, 1) == 0);
    int rc = dimamba_load(x->m, f);
    if (rc) fprintf(stderr, "dimamba_load: %s\n", strand_last_error());
    CU_ASSERT_FATAL(rc == 0);
    x->ids = fx_i32_n(f, "ids", x->B * x->L);
    x->labels = c.num_classes ? fx_i32_n(f, "labels", x->B) : NULL;
    x->sigma = fx_f32_n(f, "sigma", x->B);
    x->want = fx_f32_n(f, "out", x->nout);
    x->R = fx_f32_n(f, "R", x->nout);
    x->out = calloc(x->nout, sizeof(float));
}

static void fx_model_free(fx_model *x)
{
    dimamba_weights_free(x->m);
    dimamba_ctx_free(x->c);
    sft_close(x->f);
    free(x->ids); free(x->labels); free(x->sigma); free(x->want); free(x->R); free(x->out);
}

static double fx_loss(void *p)
{
    fx_model *x = p;
    CU_ASSERT_FATAL(dimamba_forward(x->m, x->c, x->ids, NULL, x->sigma, x->labels, x->B, x->L, x->out) == 0);
    return fx_dot(x->out, x->R, x->nout);
}

static void check_grads(const dimamba_weights *m, sft_file *g, const char *pfx)
{
    double worst = 0;
    for (size_t i = 0; i < m->pb.n; i++) {
        const pb_entry *e = &m->pb.entries[i];
        char nm[PB_NAME_MAX + 16];
        snprintf(nm, sizeof nm, "%s%s", pfx, e->name);
        if (!sft_find(g, nm)) continue; /* the soft run stores only some */
        float *w = fx_f32_n(g, nm, e->numel);
        double d = tu_max_rel_diff(e->name, pb_grad(&m->pb, (int)i), w, e->numel, GRAD_RTOL);
        CU_ASSERT(d <= GRAD_RTOL);
        worst = fmax(worst, d);
        free(w);
    }
    fprintf(stderr, "    => worst relative gradient error over the tensors (%s*): %.3g (tol %.0e)\n", pfx, worst,
            GRAD_RTOL);
}

static void vs_pytorch(const char *file)
{
    fx_model x;
    fx_model_load(&x, file);
    CU_ASSERT_EQUAL_FATAL(dimamba_forward(x.m, x.c, x.ids, NULL, x.sigma, x.labels, x.B, x.L, x.out), 0);
    CHECK_CLOSE("DiMamba output", x.out, x.want, x.nout, OUT_TOL);
    pb_zero_grad(&x.m->pb);
    CU_ASSERT_EQUAL_FATAL(dimamba_backward(x.m, x.c, x.R, NULL, x.m->pb.grads), 0);
    check_grads(x.m, x.f, "grad.");
    /* soft input: out, d/dsoft and the embedding gradient */
    size_t n = x.B * x.L * x.N;
    float *P = fx_f32_n(x.f, "P", n), *want = fx_f32_n(x.f, "out_soft", x.nout), *R = fx_f32_n(x.f, "R_soft", x.nout);
    float *gP = fx_f32_n(x.f, "grad.P", n), *dP = calloc(n, sizeof(float));
    CU_ASSERT_EQUAL_FATAL(dimamba_forward(x.m, x.c, NULL, P, x.sigma, x.labels, x.B, x.L, x.out), 0);
    CHECK_CLOSE("DiMamba output (soft input)", x.out, want, x.nout, OUT_TOL);
    pb_zero_grad(&x.m->pb);
    CU_ASSERT_EQUAL_FATAL(dimamba_backward(x.m, x.c, R, dP, x.m->pb.grads), 0);
    CHECK_REL("DiMamba d soft input", dP, gP, n, GRAD_RTOL);
    check_grads(x.m, x.f, "gradsoft.");
    /* a one-hot soft input is the ids forward; an inference context gives the same output */
    for (size_t i = 0; i < n; i++) P[i] = 0;
    for (size_t t = 0; t < x.B * x.L; t++) P[t * x.N + (size_t)x.ids[t]] = 1.0f;
    CU_ASSERT_EQUAL_FATAL(dimamba_forward(x.m, x.c, NULL, P, x.sigma, x.labels, x.B, x.L, x.out), 0);
    CHECK_CLOSE("one-hot soft input == ids", x.out, x.want, x.nout, OUT_TOL);
    dimamba_ctx *ic = NULL;
    CU_ASSERT_FATAL(dimamba_ctx_create(&ic, &x.m->cfg, 0) == 0);
    CU_ASSERT_EQUAL_FATAL(dimamba_forward(x.m, ic, x.ids, NULL, x.sigma, x.labels, x.B, x.L, x.out), 0);
    CHECK_CLOSE("inference context", x.out, x.want, x.nout, OUT_TOL);
    CU_ASSERT(dimamba_backward(x.m, ic, x.R, NULL, NULL) == STRAND_E_ARG); /* no activations kept */
    dimamba_ctx_free(ic);
    free(P); free(want); free(R); free(gP); free(dP);
    fx_model_free(&x);
}

static void test_dimamba_lm_vs_pytorch(void) { vs_pytorch("dimamba_lm"); }
static void test_dimamba_classifier_vs_pytorch(void) { vs_pytorch("dimamba_cls"); }

/* Central differences on up to 6 entries of every tensor (the loss in double over a float forward). */
static void fd_all(const char *file)
{
    fx_model x;
    fx_model_load(&x, file);
    pb_zero_grad(&x.m->pb);
    fx_loss(&x);
    CU_ASSERT_EQUAL_FATAL(dimamba_backward(x.m, x.c, x.R, NULL, x.m->pb.grads), 0);
    double worst = 0;
    const char *wn = "";
    for (size_t i = 0; i < x.m->pb.n; i++) {
        const pb_entry *e = &x.m->pb.entries[i];
        double w = fx_gradcheck(e->name, fx_loss, &x, pb_param(&x.m->pb, (int)i), pb_grad(&x.m->pb, (int)i), e->numel,
                                6, FD_EPS, (fx_tol){0, 0, FD_TOL, 1});
        if (w > worst || w != w) worst = w != w ? INFINITY : w, wn = e->name;
    }
    fprintf(stderr, "    FD over every tensor: worst %.3g in %s\n", worst, wn);
    CU_ASSERT(worst <= 1.0);
    fx_model_free(&x);
}

static void test_dimamba_lm_finite_differences(void) { fd_all("dimamba_lm"); }
static void test_dimamba_classifier_finite_differences(void) { fd_all("dimamba_cls"); }

static void test_dimamba_init_and_errors(void)
{
    dimamba_config c = dimamba_default_config();
    c.dim = 16, c.depth = 2, c.cond_dim = 8, c.num_classes = 3, c.model_length = 8;
    dimamba_weights *w = NULL;
    CU_ASSERT_FATAL(dimamba_weights_create(&w, &c, NULL) == 0);
    CU_ASSERT(pb_find(&w->pb, "backbone.model.bimamba.backbone.layers.1.mixer.mamba_rev.A_log") >= 0);
    CU_ASSERT(pb_find(&w->pb, "backbone.model.bimamba.backbone.layers.1.mixer.mamba_rev.in_proj.weight") < 0); /* tied */
    strand_rng r;
    strand_rng_seed(&r, 7);
    dimamba_init_weights(w, &r);
    /* adaLN zero at init: every gate is 0, so the output is the head of the modulated embedding */
    const float *ada = pb_param(&w->pb, w->ly[0].adaw);
    int zero = 1;
    for (size_t i = 0; i < w->pb.entries[w->ly[0].adaw].numel; i++) zero &= ada[i] == 0.0f;
    CU_ASSERT(zero);
    dimamba_ctx *ctx = NULL;
    CU_ASSERT_FATAL(dimamba_ctx_create(&ctx, &c, 1) == 0);
    int32_t ids[16] = {7, 8, 9, 10, 7, 8, 9, 10, 11, 7, 7, 7, 8, 8, 8, 8}, bad_lab[2] = {0, 4}, big[9] = {0};
    float out[2 * 8 * 12];
    CU_ASSERT(dimamba_forward(w, ctx, ids, NULL, NULL, NULL, 2, 8, out) == 0);
    CU_ASSERT(dimamba_forward(w, ctx, ids, NULL, NULL, bad_lab, 2, 8, out) == STRAND_E_RANGE);
    CU_ASSERT(dimamba_forward(w, ctx, big, NULL, NULL, NULL, 1, 9, out) == STRAND_E_SHAPE);
    CU_ASSERT(dimamba_forward(w, ctx, ids, out, NULL, NULL, 2, 8, out) == STRAND_E_ARG);
    ids[3] = 12;
    CU_ASSERT(dimamba_forward(w, ctx, ids, NULL, NULL, NULL, 2, 8, out) == STRAND_E_RANGE);
    CU_ASSERT(dimamba_backward(w, ctx, out, NULL, NULL) == STRAND_E_ARG); /* the failed forward left none */
    dimamba_config c2 = c;
    c2.depth = 3;
    dimamba_ctx *other = NULL;
    CU_ASSERT_FATAL(dimamba_ctx_create(&other, &c2, 0) == 0);
    CU_ASSERT(dimamba_forward(w, other, big, NULL, NULL, NULL, 1, 8, out) == STRAND_E_ARG);
    dimamba_ctx_free(other);
    dimamba_ctx_free(ctx);
    dimamba_weights_free(w);
    c.vocab = 0;
    CU_ASSERT(dimamba_weights_create(&w, &c, NULL) == STRAND_E_ARG && w == NULL);
    dimamba_config j = dimamba_default_config();
    CU_ASSERT(dimamba_config_from_json(&j, "{\"hidden_dim\": 64, \"n_blocks\": 2, \"cfg\": true, "
                                           "\"cfg_num_classes\": 10, \"num_outputs\": 0}") == 0);
    CU_ASSERT(j.dim == 64 && j.depth == 2 && j.num_classes == 10 && j.n_out == 0);
    CU_ASSERT(dimamba_config_from_json(&j, "{\"hidden_dim\": -1}") == STRAND_E_FORMAT);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("dimamba", NULL, NULL);
    ADD_TEST(s, test_dimamba_lm_vs_pytorch);
    ADD_TEST(s, test_dimamba_classifier_vs_pytorch);
    ADD_TEST(s, test_dimamba_lm_finite_differences);
    ADD_TEST(s, test_dimamba_classifier_finite_differences);
    ADD_TEST(s, test_dimamba_init_and_errors);
}
