/* DiT backbone (docs/dit.md) against an independent PyTorch model (tests/reference/dit.py, float64,
 * published MDLM/UDLM names): logits ≤ 1e-4 absolute, every parameter gradient ≤ 1e-3 relative
 * (max |diff| / max |reference|), central finite differences on parameters of every tensor,
 * and metamorphic checks (one-hot soft input == ids, batch rows independent, save/load round trip,
 * zero-init output, threads). Fixtures: /usr/bin/python3 tests/reference/dit.py */
#include <omp.h>
#include <stdint.h>
#include <unistd.h>

#include "core/dit.h"
#include "core/safetensors.h"
#include "strand.h"
#include "fixture_util.h"
#include "test_util.h"

#define LOGIT_TOL 1e-4
#define GRAD_RTOL 1e-3
#define FD_EPS 1e-2f
#define FD_TOL 3e-3

static sft_file *fx_open(const char *name) { return tu_fixture_open("dit", name); }

static int meta_int(sft_file *f, const char *key)
{
    const char *v = sft_meta_get(f, key);
    CU_ASSERT_FATAL(v != NULL);
    return atoi(v);
}

static dit_config fx_config(sft_file *f, size_t *B, size_t *L)
{
    dit_config c = dit_default_config();
    c.vocab = meta_int(f, "N");
    c.dim = meta_int(f, "D");
    c.depth = meta_int(f, "depth");
    c.heads = meta_int(f, "H");
    c.cond_dim = meta_int(f, "cond");
    c.num_classes = meta_int(f, "classes");
    c.time_cond = meta_int(f, "time_cond");
    *B = (size_t)meta_int(f, "B");
    *L = (size_t)meta_int(f, "L");
    c.model_length = (int)*L;
    return c;
}

/* Loaded fixture model with its inputs. */
typedef struct fx_model {
    dit_weights *m;
    dit_ctx *c;
    size_t B, L, N;
    int32_t *ids, *labels;
    float *sigma, *want, *R, *logits;
} fx_model;

static void fx_model_load(fx_model *x, const char *file)
{
    sft_file *f = fx_open(file);
    dit_config c = fx_config(f, &x->B, &x->L);
    x->N = (size_t)c.vocab;
    CU_ASSERT_FATAL(dit_weights_create(&x->m, &c, NULL) == 0);
    CU_ASSERT_FATAL(pb_alloc_grads(&x->m->pb) == 0 && dit_ctx_create(&x->c, &c) == 0);
    int rc = dit_load(x->m, f);
    if (rc) fprintf(stderr, "dit_load: %s\n", strand_last_error());
    CU_ASSERT_FATAL(rc == 0);
    size_t BL = x->B * x->L;
    x->ids = fx_i32_n(f, "ids", BL);
    x->labels = c.num_classes > 0 ? fx_i32_n(f, "labels", x->B) : NULL;
    x->sigma = fx_f32_n(f, "sigma", x->B);
    x->want = fx_f32_n(f, "logits", BL * x->N);
    x->R = fx_f32_n(f, "R", BL * x->N);
    x->logits = calloc(BL * x->N, sizeof(float));
    sft_close(f);
}

static void fx_model_free(fx_model *x)
{
    dit_weights_free(x->m);
    dit_ctx_free(x->c);
    free(x->ids); free(x->labels); free(x->sigma); free(x->want); free(x->R); free(x->logits);
}

static double fx_loss(fx_model *x)
{
    CU_ASSERT_FATAL(dit_forward(x->m, x->c, x->ids, NULL, x->sigma, x->labels, x->B, x->L, x->logits) == 0);
    return fx_dot(x->logits, x->R, x->B * x->L * x->N);
}

/* Compare every parameter gradient with "grad.<name>" of file g. */
static void check_all_grads(dit_weights *m, sft_file *g)
{
    double worst = 0;
    for (size_t i = 0; i < m->pb.n; i++) {
        const pb_entry *e = &m->pb.entries[i];
        char nm[PB_NAME_MAX + 8];
        snprintf(nm, sizeof nm, "grad.%s", e->name);
        float *w = fx_f32_n(g, nm, e->numel);
        double d = tu_max_rel_diff(e->name, pb_grad(&m->pb, (int)i), w, e->numel, GRAD_RTOL);
        CU_ASSERT(d <= GRAD_RTOL);
        worst = fmax(worst, d);
        free(w);
    }
    fprintf(stderr, "    => worst relative gradient error over %zu tensors: %.3g (tol %.0e)\n", m->pb.n, worst, GRAD_RTOL);
}

/* Central differences on up to k evenly spaced entries of every tensor:
 * |analytic - numeric| <= FD_TOL * max(1, |numeric|). */
static double fd_loss(void *x) { return fx_loss(x); }

static void fd_all(fx_model *x, size_t k)
{
    dit_weights *m = x->m;
    double worst = 0;
    const char *wn = "";
    for (size_t i = 0; i < m->pb.n; i++) {
        const pb_entry *e = &m->pb.entries[i];
        double w = fx_gradcheck(e->name, fd_loss, x, pb_param(&m->pb, (int)i), pb_grad(&m->pb, (int)i), e->numel, k,
                                FD_EPS, (fx_tol){0, 0, FD_TOL, 1});
        if (w > worst || w != w) worst = w != w ? INFINITY : w, wn = e->name;
    }
    fprintf(stderr, "    FD (eps %.0e) over every tensor: worst |analytic - numeric| / (%.0e max(1,|numeric|)) = %.3g in %s\n",
            (double)FD_EPS, FD_TOL, worst, wn);
    CU_ASSERT(worst <= 1.0);
}

static void test_dit_vs_pytorch(void)
{
    fx_model x;
    fx_model_load(&x, "dit_model");
    size_t n = x.B * x.L * x.N;
    fx_loss(&x);
    CHECK_CLOSE("DiT logits (ids, sigma, labels)", x.logits, x.want, n, LOGIT_TOL);
    pb_zero_grad(&x.m->pb);
    CU_ASSERT_EQUAL_FATAL(dit_backward(x.m, x.c, x.R, NULL, x.m->pb.grads), 0);
    sft_file *g = fx_open("dit_grads");
    check_all_grads(x.m, g);
    sft_close(g);
    fd_all(&x, 6);
    /* a second backward accumulates: gradients double */
    fx_loss(&x);
    float *g1 = malloc(x.m->pb.total * sizeof(float));
    memcpy(g1, x.m->pb.grads, x.m->pb.total * sizeof(float));
    CU_ASSERT_EQUAL(dit_backward(x.m, x.c, x.R, NULL, x.m->pb.grads), 0);
    for (size_t i = 0; i < x.m->pb.total; i++) g1[i] *= 2;
    CHECK_REL("second backward accumulates (2x)", x.m->pb.grads, g1, x.m->pb.total, 1e-6);
    free(g1);
    fx_model_free(&x);
}

static void test_dit_batch_rows_independent(void)
{
    fx_model x;
    fx_model_load(&x, "dit_model");
    CU_ASSERT_FATAL(x.B == 2);
    size_t L = x.L, N = x.N;
    /* swap the two sequences (ids, sigma, label): the logits swap */
    int32_t ids2[2 * 64], lab2[2] = {x.labels[1], x.labels[0]};
    CU_ASSERT_FATAL(L <= 64);
    memcpy(ids2, x.ids + L, L * sizeof(int32_t));
    memcpy(ids2 + L, x.ids, L * sizeof(int32_t));
    float sig2[2] = {x.sigma[1], x.sigma[0]};
    float *out = calloc(2 * L * N, sizeof(float)), *sw = calloc(2 * L * N, sizeof(float));
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, x.c, ids2, NULL, sig2, lab2, 2, L, out), 0);
    memcpy(sw, x.want + L * N, L * N * sizeof(float));
    memcpy(sw + L * N, x.want, L * N * sizeof(float));
    CHECK_CLOSE("swapped batch rows give swapped logits", out, sw, 2 * L * N, LOGIT_TOL);
    /* labels matter: label 0 instead of 1 changes sequence 0 */
    lab2[1] = 0;
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, x.c, ids2, NULL, sig2, lab2, 2, L, out), 0);
    double d = 0;
    for (size_t i = L * N; i < 2 * L * N; i++) d = fmax(d, fabs(out[i] - sw[i]));
    fprintf(stderr, "    label 1 -> 0 changes the logits by %.3g (must be > 1e-3)\n", d);
    CU_ASSERT(d > 1e-3);
    free(out);
    free(sw);
    fx_model_free(&x);
}

static void test_dit_soft_input(void)
{
    fx_model x;
    fx_model_load(&x, "dit_model");
    size_t BL = x.B * x.L, N = x.N, n = BL * N;
    sft_file *f = fx_open("dit_soft");
    float *P = fx_f32_n(f, "P", n), *want = fx_f32_n(f, "logits_soft", n), *R = fx_f32_n(f, "R_soft", n),
          *gP = fx_f32_n(f, "grad.P", n);
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, x.c, NULL, P, x.sigma, x.labels, x.B, x.L, x.logits), 0);
    CHECK_CLOSE("DiT logits (soft input P)", x.logits, want, n, LOGIT_TOL);
    pb_zero_grad(&x.m->pb);
    float *dP = calloc(n, sizeof(float));
    CU_ASSERT_EQUAL_FATAL(dit_backward(x.m, x.c, R, dP, x.m->pb.grads), 0);
    CHECK_REL("DiT d soft input", dP, gP, n, GRAD_RTOL);
    const char *names[] = {"backbone.vocab_embed.embedding", "backbone.blocks.0.attn_qkv.weight"};
    for (int k = 0; k < 2; k++) {
        int i = pb_find(&x.m->pb, names[k]);
        CU_ASSERT_FATAL(i >= 0);
        char nm[128];
        snprintf(nm, sizeof nm, "grad.%s", names[k]);
        float *w = fx_f32_n(f, nm, x.m->pb.entries[i].numel);
        CHECK_REL(names[k], pb_grad(&x.m->pb, i), w, x.m->pb.entries[i].numel, GRAD_RTOL);
        free(w);
    }
    /* a one-hot soft input is the ids forward */
    float *oh = calloc(n, sizeof(float)), *o2 = calloc(n, sizeof(float));
    for (size_t t = 0; t < BL; t++) oh[t * N + (size_t)x.ids[t]] = 1.0f;
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, x.c, NULL, oh, x.sigma, x.labels, x.B, x.L, o2), 0);
    CHECK_CLOSE("one-hot soft input == ids input", o2, x.want, n, LOGIT_TOL);
    free(P); free(want); free(R); free(gP); free(dP); free(oh); free(o2);
    sft_close(f);
    fx_model_free(&x);
}

static void test_dit_plain(void)
{
    fx_model x;
    fx_model_load(&x, "dit_plain");
    size_t n = x.B * x.L * x.N;
    CU_ASSERT_EQUAL(x.m->cfg.time_cond, 0);
    CU_ASSERT_EQUAL(pb_find(&x.m->pb, "backbone.cond_map.embedding_table.weight"), -1);
    fx_loss(&x);
    CHECK_CLOSE("DiT logits (no time cond, no labels)", x.logits, x.want, n, LOGIT_TOL);
    float *o2 = calloc(n, sizeof(float));
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, x.c, x.ids, NULL, NULL, NULL, x.B, x.L, o2), 0);
    CHECK_CLOSE("sigma ignored without time conditioning", o2, x.logits, n, 0);
    fx_loss(&x);
    pb_zero_grad(&x.m->pb);
    CU_ASSERT_EQUAL_FATAL(dit_backward(x.m, x.c, x.R, NULL, x.m->pb.grads), 0);
    sft_file *f = fx_open("dit_plain");
    check_all_grads(x.m, f);
    sft_close(f);
    fd_all(&x, 8);
    free(o2);
    fx_model_free(&x);
}

/* Save with the paramblock names, load into a fresh model: identical logits. Also check the
 * optional rotary buffer and the loader's errors. */
static void test_dit_save_load(void)
{
    fx_model x;
    fx_model_load(&x, "dit_model");
    size_t n = x.B * x.L * x.N;
    const char *path = tu_tmp("dit_roundtrip.safetensors");
    sft_writer *w = sft_writer_create();
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL_FATAL(pb_save(&x.m->pb, w, ""), 0);
    size_t hd = (size_t)(x.m->cfg.dim / x.m->cfg.heads);
    float inv[64];
    for (size_t j = 0; j < hd / 2; j++) inv[j] = 1.0f / powf(10000.0f, (float)(2 * j) / (float)hd);
    int64_t sh = (int64_t)(hd / 2);
    CU_ASSERT_EQUAL_FATAL(sft_writer_add(w, "backbone.rotary_emb.inv_freq", SFT_F32, 1, &sh, inv), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, path), 0);
    sft_writer_free(w);
    sft_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, path), 0);
    dit_weights *m2 = NULL;
    dit_ctx *c2 = NULL;
    CU_ASSERT_EQUAL_FATAL(dit_weights_create(&m2, &x.m->cfg, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(dit_load(m2, f), 0);
    CU_ASSERT_EQUAL_FATAL(dit_ctx_create(&c2, &m2->cfg), 0);
    float *o2 = calloc(n, sizeof(float));
    CU_ASSERT_EQUAL_FATAL(dit_forward(m2, c2, x.ids, NULL, x.sigma, x.labels, x.B, x.L, o2), 0);
    fx_loss(&x);
    CHECK_CLOSE("logits after save + load", o2, x.logits, n, 0);
    sft_close(f);
    dit_weights_free(m2);
    dit_ctx_free(c2);

    /* a wrong-length inv_freq is rejected with a message naming it */
    w = sft_writer_create();
    CU_ASSERT_EQUAL_FATAL(pb_save(&x.m->pb, w, ""), 0);
    sh = (int64_t)hd;
    float bad[64] = {0};
    CU_ASSERT_EQUAL_FATAL(sft_writer_add(w, "backbone.rotary_emb.inv_freq", SFT_F32, 1, &sh, bad), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, path), 0);
    sft_writer_free(w);
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, path), 0);
    CU_ASSERT_EQUAL_FATAL(dit_weights_create(&m2, &x.m->cfg, NULL), 0);
    CU_ASSERT_EQUAL(dit_load(m2, f), STRAND_E_SHAPE);
    fprintf(stderr, "    bad inv_freq -> \"%s\"\n", strand_last_error());
    CU_ASSERT(strstr(strand_last_error(), "rotary_emb.inv_freq") != NULL);
    sft_close(f);
    dit_weights_free(m2);

    /* right length, other base: rejected */
    w = sft_writer_create();
    CU_ASSERT_EQUAL_FATAL(pb_save(&x.m->pb, w, ""), 0);
    sh = (int64_t)(hd / 2);
    for (size_t j = 0; j < hd / 2; j++) bad[j] = 1.0f / powf(500.0f, (float)(2 * j) / (float)hd);
    CU_ASSERT_EQUAL_FATAL(sft_writer_add(w, "backbone.rotary_emb.inv_freq", SFT_F32, 1, &sh, bad), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, path), 0);
    sft_writer_free(w);
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, path), 0);
    CU_ASSERT_EQUAL_FATAL(dit_weights_create(&m2, &x.m->cfg, NULL), 0);
    CU_ASSERT_EQUAL(dit_load(m2, f), STRAND_E_UNSUPPORTED);
    fprintf(stderr, "    inv_freq of base 500 -> \"%s\"\n", strand_last_error());
    sft_close(f);
    dit_weights_free(m2);

    /* a model with another width cannot load this file: the error names the tensor */
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, path), 0);
    dit_config c = x.m->cfg;
    c.dim = 2 * c.dim;
    CU_ASSERT_EQUAL_FATAL(dit_weights_create(&m2, &c, NULL), 0);
    CU_ASSERT_EQUAL(dit_load(m2, f), STRAND_E_SHAPE);
    fprintf(stderr, "    wrong width -> \"%s\"\n", strand_last_error());
    sft_close(f);
    dit_weights_free(m2);
    free(o2);
    fx_model_free(&x);
    unlink(path);
}

static void test_dit_errors_and_init(void)
{
    dit_config c = dit_default_config();
    c.vocab = 5;
    c.dim = 16;
    c.depth = 2;
    c.heads = 2;
    c.cond_dim = 8;
    c.num_classes = 2;
    c.model_length = 6;
    dit_weights *m = NULL;
    dit_ctx *cx = NULL;
    c.heads = 3;
    CU_ASSERT_EQUAL(dit_weights_create(&m, &c, NULL), STRAND_E_ARG); /* 16 not divisible by 3 */
    CU_ASSERT(m == NULL);
    CU_ASSERT_EQUAL(dit_ctx_create(&cx, &c), STRAND_E_ARG);
    CU_ASSERT(cx == NULL);
    c.heads = 2;
    CU_ASSERT_EQUAL_FATAL(dit_weights_create(&m, &c, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(pb_alloc_grads(&m->pb), 0);
    CU_ASSERT_EQUAL_FATAL(dit_ctx_create(&cx, &c), 0);
    /* published names */
    const char *must[] = {"backbone.vocab_embed.embedding", "backbone.sigma_map.mlp.0.weight",
                          "backbone.sigma_map.mlp.2.bias", "backbone.cond_map.embedding_table.weight",
                          "backbone.blocks.1.attn_qkv.weight", "backbone.blocks.0.attn_out.weight",
                          "backbone.blocks.0.mlp.0.bias", "backbone.blocks.1.mlp.2.weight",
                          "backbone.blocks.1.adaLN_modulation.weight", "backbone.blocks.0.norm2.weight",
                          "backbone.output_layer.norm_final.weight", "backbone.output_layer.linear.bias",
                          "backbone.output_layer.adaLN_modulation.bias"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) CU_ASSERT(pb_find(&m->pb, must[i]) >= 0);
    CU_ASSERT_EQUAL(m->pb.n, 5 + 1 + 2 * 10 + 5);
    int it = pb_find(&m->pb, "backbone.cond_map.embedding_table.weight");
    CU_ASSERT_EQUAL(m->pb.entries[it].shape[0], 3); /* classes + 1 (null) */

    strand_rng rng;
    strand_rng_seed(&rng, 11);
    dit_init_weights(m, &rng);
    size_t B = 2, L = 6, N = 5, n = B * L * N;
    int32_t ids[12] = {0, 1, 2, 3, 4, 0, 4, 4, 3, 2, 1, 0}, lab[2] = {0, 2};
    float sigma[2] = {0.1f, 3.0f}, logits[60], dl[60];
    for (size_t i = 0; i < n; i++) logits[i] = NAN;
    CU_ASSERT_EQUAL_FATAL(dit_forward(m, cx, ids, NULL, sigma, lab, B, L, logits), 0);
    /* adaLN-Zero + zero final linear: the initial model outputs exactly 0 */
    int allz = 1;
    for (size_t i = 0; i < n; i++) allz &= logits[i] == 0.0f;
    CU_ASSERT(allz);
    for (size_t i = 0; i < n; i++) dl[i] = (float)(i % 7) - 3.0f;
    pb_zero_grad(&m->pb);
    CU_ASSERT_EQUAL(dit_backward(m, cx, dl, NULL, m->pb.grads), 0);
    int ib = pb_find(&m->pb, "backbone.output_layer.linear.bias");
    float want[5] = {0};
    for (size_t t = 0; t < B * L; t++)
        for (size_t v = 0; v < N; v++) want[v] += dl[t * N + v];
    CHECK_CLOSE("init: d output bias = column sums of dlogits", pb_grad(&m->pb, ib), want, N, 1e-5);
    int iq = pb_find(&m->pb, "backbone.blocks.0.attn_qkv.weight");
    float *zero = calloc(m->pb.entries[iq].numel, sizeof(float));
    CHECK_CLOSE("init: d qkv is 0 (gates are 0)", pb_grad(&m->pb, iq), zero, m->pb.entries[iq].numel, 0);
    free(zero);

    /* errors: bad id, bad label, another shape, both/neither input */
    ids[7] = 5;
    CU_ASSERT_EQUAL(dit_forward(m, cx, ids, NULL, sigma, lab, B, L, logits), STRAND_E_RANGE);
    fprintf(stderr, "    bad id -> \"%s\"\n", strand_last_error());
    ids[7] = 4;
    lab[1] = 3;
    CU_ASSERT_EQUAL(dit_forward(m, cx, ids, NULL, sigma, lab, B, L, logits), STRAND_E_RANGE);
    fprintf(stderr, "    bad label -> \"%s\"\n", strand_last_error());
    lab[1] = 2;
    CU_ASSERT_EQUAL(dit_backward(m, cx, dl, NULL, m->pb.grads), STRAND_E_ARG); /* the failed forward left nothing */
    CU_ASSERT_EQUAL(dit_forward(m, cx, ids, NULL, sigma, lab, 1, L + 1, logits), STRAND_E_SHAPE);
    fprintf(stderr, "    longer than model_length -> \"%s\"\n", strand_last_error());
    c.dim = 32; /* a context for other dimensions cannot run these weights */
    dit_ctx *cw = NULL;
    CU_ASSERT_EQUAL_FATAL(dit_ctx_create(&cw, &c), 0);
    CU_ASSERT_EQUAL(dit_forward(m, cw, ids, NULL, sigma, lab, B, L, logits), STRAND_E_ARG);
    dit_ctx_free(cw);
    c.dim = 16;
    CU_ASSERT_EQUAL(dit_forward(m, cx, NULL, NULL, sigma, lab, B, L, logits), STRAND_E_ARG);
    CU_ASSERT_EQUAL(dit_forward(m, cx, ids, NULL, sigma, lab, B, L, logits), 0);
    dit_weights_free(m);
    dit_ctx_free(cx);

    dit_ctx *c2 = NULL;
    CU_ASSERT_EQUAL_FATAL(dit_ctx_create(&c2, &c), 0);
    CU_ASSERT_EQUAL(dit_ctx_reserve(c2, 1, 7), STRAND_E_SHAPE); /* longer than model_length */
    dit_ctx_free(c2);
    dit_weights_free(NULL);
    dit_ctx_free(NULL);

    dit_config j = dit_default_config();
    CU_ASSERT_EQUAL(dit_config_from_json(&j, "{\"vocab_size\": 35, \"model_length\": 32, \"hidden_dim\": 768, "
                                              "\"cond_dim\": 128, \"n_blocks\": 12, \"n_heads\": 12, "
                                              "\"time_conditioning\": true, \"cfg\": true, \"cfg_num_classes\": 2}"),
                    0);
    CU_ASSERT(j.vocab == 35 && j.model_length == 32 && j.dim == 768 && j.depth == 12 && j.heads == 12 &&
              j.time_cond == 1 && j.num_classes == 2);
    CU_ASSERT_EQUAL(dit_config_from_json(&j, "{\"n_heads\": -1}"), STRAND_E_FORMAT);
    CU_ASSERT_EQUAL(dit_config_from_json(&j, "{oops"), STRAND_E_FORMAT);
}

/* attention mask plumbing (block diffusion): with a block-diagonal mask (two halves of L) each
 * half sees only itself, and rotary attention depends only on relative positions, so the second
 * half's logits equal a run of the same model on that half alone (length L/2). An all-allowed mask
 * equals no mask. */
static void test_dit_attention_mask(void)
{
    fx_model x;
    fx_model_load(&x, "dit_model");
    size_t B = x.B, L = x.L, N = x.N, h = L / 2, n = B * L * N;
    float *mask = calloc(L * L, sizeof(float)), *o = calloc(n, sizeof(float));
    x.c->attn_mask = mask; /* all zeros: everything allowed */
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, x.c, x.ids, NULL, x.sigma, x.labels, B, L, o), 0);
    CHECK_CLOSE("all-allowed mask == no mask", o, x.want, n, LOGIT_TOL);
    for (size_t i = 0; i < L; i++)
        for (size_t j = 0; j < L; j++) mask[i * L + j] = (i < h) == (j < h) ? 0.0f : -INFINITY;
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, x.c, x.ids, NULL, x.sigma, x.labels, B, L, o), 0);
    dit_ctx *c2 = NULL; /* a second context over the same weights */
    CU_ASSERT_EQUAL_FATAL(dit_ctx_create(&c2, &x.m->cfg), 0);
    int32_t *ids2 = calloc(B * h, sizeof(int32_t));
    for (size_t b = 0; b < B; b++) memcpy(ids2 + b * h, x.ids + b * L + h, h * sizeof(int32_t));
    float *o2 = calloc(B * h * N, sizeof(float)), *sel = calloc(B * h * N, sizeof(float));
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, c2, ids2, NULL, x.sigma, x.labels, B, h, o2), 0);
    for (size_t b = 0; b < B; b++) memcpy(sel + b * h * N, o + (b * L + h) * N, h * N * sizeof(float));
    CHECK_CLOSE("block-diagonal mask: 2nd half == that half alone", sel, o2, B * h * N, 1e-5);
    /* and the mask matters: the unmasked model's second half differs */
    for (size_t b = 0; b < B; b++) memcpy(sel + b * h * N, x.want + (b * L + h) * N, h * N * sizeof(float));
    double d = 0;
    for (size_t i = 0; i < B * h * N; i++) d = fmax(d, fabs(sel[i] - o2[i]));
    fprintf(stderr, "    without the mask the 2nd half differs by %.3g (must be > 1e-3)\n", d);
    CU_ASSERT(d > 1e-3);
    x.c->attn_mask = NULL;
    dit_ctx_free(c2);
    free(mask); free(o); free(ids2); free(o2); free(sel);
    fx_model_free(&x);
}

/* threads: 1 vs 2 OpenMP threads give the same logits and gradients (every parallel loop splits
 * along axes that never write the same memory) */
static void test_dit_threads(void)
{
    fx_model x;
    fx_model_load(&x, "dit_model");
    size_t n = x.B * x.L * x.N;
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    fx_loss(&x);
    float *o1 = malloc(n * sizeof(float)), *g1 = malloc(x.m->pb.total * sizeof(float));
    memcpy(o1, x.logits, n * sizeof(float));
    pb_zero_grad(&x.m->pb);
    dit_backward(x.m, x.c, x.R, NULL, x.m->pb.grads);
    memcpy(g1, x.m->pb.grads, x.m->pb.total * sizeof(float));
    omp_set_num_threads(nt > 1 ? nt : 2);
    fx_loss(&x);
    pb_zero_grad(&x.m->pb);
    dit_backward(x.m, x.c, x.R, NULL, x.m->pb.grads);
    omp_set_num_threads(nt);
    CHECK_CLOSE("logits 1 thread vs 2", x.logits, o1, n, 0);
    CHECK_CLOSE("gradients 1 thread vs 2", x.m->pb.grads, g1, x.m->pb.total, 0);
    free(o1);
    free(g1);
    fx_model_free(&x);
}

/* Weights apart from run state: one context through changing shapes gives bitwise the logits of a
 * fresh context per shape, with the weights untouched (same pointer, same bytes); two contexts over
 * one weights object in two threads give bitwise the sequential results; a backward for d/dsoft
 * only (grads NULL) gives bitwise the dsoft of a full backward and leaves the gradients alone; an
 * inference context gives bitwise the same logits and refuses a backward. */
static void test_dit_ctx_shapes_and_sharing(void)
{
    fx_model x;
    fx_model_load(&x, "dit_model");
    size_t L = x.L, N = x.N, h = L / 2, n = 2 * L * N;
    const float *params = x.m->pb.params;
    float *snap = malloc(x.m->pb.total * sizeof(float));
    memcpy(snap, params, x.m->pb.total * sizeof(float));
    struct { size_t B, L; } sh[] = {{2, L}, {1, h}, {2, L}, {1, L}, {2, h}, {2, L}};
    float *o = calloc(n, sizeof(float)), *o2 = calloc(n, sizeof(float));
    for (size_t k = 0; k < sizeof sh / sizeof sh[0]; k++) {
        size_t B = sh[k].B, Lk = sh[k].L;
        CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, x.c, x.ids, NULL, x.sigma, x.labels, B, Lk, o), 0);
        dit_ctx *f = NULL;
        CU_ASSERT_EQUAL_FATAL(dit_ctx_create(&f, &x.m->cfg), 0);
        CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, f, x.ids, NULL, x.sigma, x.labels, B, Lk, o2), 0);
        dit_ctx_free(f);
        char what[96];
        snprintf(what, sizeof what, "shape %zu: %zu x %zu, reused context == fresh context", k, B, Lk);
        CHECK_CLOSE(what, o, o2, B * Lk * N, 0);
        /* an inference context (one block's activations for all) gives the same bits and no backward */
        CU_ASSERT_EQUAL_FATAL(dit_ctx_create_inference(&f, &x.m->cfg), 0);
        CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, f, x.ids, NULL, x.sigma, x.labels, B, Lk, o2), 0);
        snprintf(what, sizeof what, "shape %zu: %zu x %zu, inference context == training context", k, B, Lk);
        CHECK_CLOSE(what, o2, o, B * Lk * N, 0);
        CU_ASSERT_EQUAL(dit_backward(x.m, f, o2, NULL, NULL), STRAND_E_ARG);
        dit_ctx_free(f);
        if (B == 2 && Lk == L) CHECK_CLOSE("reused context vs PyTorch", o, x.want, n, LOGIT_TOL);
    }
    CU_ASSERT(x.m->pb.params == params);
    CU_ASSERT(memcmp(snap, params, x.m->pb.total * sizeof(float)) == 0);

    /* two threads, one context each, one weights object */
    int32_t ids2[2 * 64];
    CU_ASSERT_FATAL(L <= 64);
    memcpy(ids2, x.ids + L, L * sizeof(int32_t));
    memcpy(ids2 + L, x.ids, L * sizeof(int32_t));
    float sig2[2] = {x.sigma[1], x.sigma[0]};
    int32_t lab2[2] = {x.labels[1], x.labels[0]};
    float *seq[2] = {calloc(n, sizeof(float)), calloc(n, sizeof(float))};
    float *par[2] = {calloc(n, sizeof(float)), calloc(n, sizeof(float))};
    const int32_t *in_ids[2] = {x.ids, ids2};
    const float *in_sig[2] = {x.sigma, sig2};
    const int32_t *in_lab[2] = {x.labels, lab2};
    for (int t = 0; t < 2; t++)
        CU_ASSERT_EQUAL(dit_forward(x.m, x.c, in_ids[t], NULL, in_sig[t], in_lab[t], 2, L, seq[t]), 0);
    dit_ctx *tc[2] = {NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(dit_ctx_create(&tc[0], &x.m->cfg), 0);
    CU_ASSERT_EQUAL_FATAL(dit_ctx_create(&tc[1], &x.m->cfg), 0);
    int rcs[2] = {-1, -1};
#pragma omp parallel for num_threads(2)
    for (int t = 0; t < 2; t++) rcs[t] = dit_forward(x.m, tc[t], in_ids[t], NULL, in_sig[t], in_lab[t], 2, L, par[t]);
    CU_ASSERT(rcs[0] == 0 && rcs[1] == 0);
    CHECK_CLOSE("thread 0 context == sequential", par[0], seq[0], n, 0);
    CHECK_CLOSE("thread 1 context == sequential", par[1], seq[1], n, 0);

    /* dsoft only */
    sft_file *f = fx_open("dit_soft");
    float *P = fx_f32_n(f, "P", n), *R = fx_f32_n(f, "R_soft", n), *gP = fx_f32_n(f, "grad.P", n);
    sft_close(f);
    float *d1 = calloc(n, sizeof(float)), *d2 = calloc(n, sizeof(float));
    pb_zero_grad(&x.m->pb);
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, tc[0], NULL, P, x.sigma, x.labels, 2, L, o), 0);
    CU_ASSERT_EQUAL_FATAL(dit_backward(x.m, tc[0], R, d1, x.m->pb.grads), 0);
    float *g1 = malloc(x.m->pb.total * sizeof(float));
    memcpy(g1, x.m->pb.grads, x.m->pb.total * sizeof(float));
    CU_ASSERT_EQUAL_FATAL(dit_forward(x.m, tc[1], NULL, P, x.sigma, x.labels, 2, L, o), 0);
    CU_ASSERT_EQUAL_FATAL(dit_backward(x.m, tc[1], R, d2, NULL), 0);
    CHECK_CLOSE("dsoft with grads NULL == dsoft of a full backward", d2, d1, n, 0);
    CHECK_REL("dsoft (grads NULL) vs PyTorch", d2, gP, n, GRAD_RTOL);
    CHECK_CLOSE("grads NULL leaves the gradients alone", x.m->pb.grads, g1, x.m->pb.total, 0);
    dit_ctx_free(tc[0]);
    dit_ctx_free(tc[1]);
    free(P); free(R); free(gP); free(d1); free(d2); free(g1);
    free(seq[0]); free(seq[1]); free(par[0]); free(par[1]);
    free(o); free(o2); free(snap);
    fx_model_free(&x);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("dit", NULL, NULL);
    ADD_TEST(s, test_dit_vs_pytorch);
    ADD_TEST(s, test_dit_batch_rows_independent);
    ADD_TEST(s, test_dit_soft_input);
    ADD_TEST(s, test_dit_plain);
    ADD_TEST(s, test_dit_save_load);
    ADD_TEST(s, test_dit_errors_and_init);
    ADD_TEST(s, test_dit_attention_mask);
    ADD_TEST(s, test_dit_threads);
    ADD_TEST(s, test_dit_ctx_shapes_and_sharing);
}
