/* caduceus/: BiMamba, Caduceus-PH and Caduceus-PS against the float64 PyTorch reference
 * (tests/reference/caduceus.py → tests/data/caduceus/), finite differences, the masked-LM loss,
 * reverse-complement equivariance, parameter counts, the HF checkpoint loader and strand's own
 * checkpoint round trip, inference == training forward, O(L·D) inference memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bimamba.h"
#include "caduceus/caduceus.h"
#include "core/mamba.h"
#include "core/gemm.h"
#include "core/paramblock.h"
#include "fixture_util.h"
#include "strand.h"
#include "test_util.h"

static const int32_t COMP[16] = {0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15};

/* ---- BiMamba ------------------------------------------------------------------------------------ */
typedef struct bm {
    mamba_dims d;
    size_t B, L;
    paramblock pb;
    int fi[MAMBA_NPARAM], ri[MAMBA_NPARAM];
    bimamba_params w, g;
    bimamba_acts a;
    float *amem, *u, *out, *Rc, *du, *scratch;
} bm;

static double bm_loss(void *ctx)
{
    bm *k = ctx;
    bimamba_forward(k->out, &k->a, k->u, &k->w, &k->d, k->B, k->L);
    return fx_dot(k->out, k->Rc, k->B * k->L * k->d.D);
}

static void test_bimamba_vs_pytorch(void)
{
    sft_file *f = fx_open_path("caduceus/bimamba.safetensors");
    const sft_tensor *tu = sft_find(f, "u");
    CU_ASSERT_FATAL(tu && tu->ndim == 3);
    bm k;
    memset(&k, 0, sizeof k);
    k.B = (size_t)tu->shape[0], k.L = (size_t)tu->shape[1];
    mamba_dims_default(&k.d, (size_t)tu->shape[2]);
    k.d.chunk = 5;
    pb_init(&k.pb);
    CU_ASSERT_EQUAL_FATAL(mamba_declare(&k.pb, "mamba_fwd.", &k.d, 1, k.fi), 0);
    CU_ASSERT_EQUAL_FATAL(mamba_declare(&k.pb, "mamba_rev.", &k.d, 0, k.ri), 0);
    CU_ASSERT_EQUAL_FATAL(pb_alloc(&k.pb), 0);
    CU_ASSERT_EQUAL_FATAL(pb_load(&k.pb, f, ""), 0); /* tied rev in/out are absent from the file */
    mamba_bind(&k.w.fwd, &k.g.fwd, &k.pb, k.fi);
    mamba_bind(&k.w.rev, &k.g.rev, &k.pb, k.ri);
    k.w.rev.p[MAMBA_IN_PROJ] = k.w.fwd.p[MAMBA_IN_PROJ];
    k.w.rev.p[MAMBA_OUT_PROJ] = k.w.fwd.p[MAMBA_OUT_PROJ];
    size_t n = k.B * k.L * k.d.D;
    k.amem = calloc(bimamba_acts_floats(&k.d, k.B, k.L, 1), sizeof(float));
    bimamba_acts_point(&k.a, k.amem, &k.d, k.B, k.L, 1);
    k.u = fx_f32(f, "u", NULL), k.Rc = fx_f32(f, "Rc", NULL);
    k.out = calloc(n, 4), k.du = calloc(n, 4);
    k.scratch = calloc(bimamba_backward_scratch_floats(&k.d, k.B, k.L), 4);
    bm_loss(&k);
    float *want = fx_f32(f, "out", NULL);
    CHECK_CLOSE("bimamba out", k.out, want, n, 1e-4);
    /* tiled inference (both directions carry conv inputs and scan state across tiles) == the
     * untiled forward, for tiles shorter than the K−1 = 3 conv history, not dividing L, and >= L */
    static const size_t tiles[] = {1, 2, 5, 7, 12, 100};
    for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
        size_t T = tiles[ti] < k.L ? tiles[ti] : k.L;
        float *tmem = malloc(bimamba_tile_floats(&k.d, k.B, T) * sizeof(float)), *tout = malloc(n * 4);
        bimamba_tile_acts ta;
        bimamba_tile_point(&ta, tmem, &k.d, k.B, T);
        bimamba_forward_tiled(tout, &ta, k.u, &k.w, &k.d, k.B, k.L);
        char what[64];
        snprintf(what, sizeof what, "bimamba tiled T=%zu vs untiled", tiles[ti]);
        CHECK_REL(what, tout, k.out, n, 1e-6);
        CHECK_CLOSE("bimamba tiled vs pytorch", tout, want, n, 1e-4);
        if (T < k.L) { /* the directions alone (caduceus inference's units): fwd + rev == tiled, bit for bit */
            float *tf = malloc(n * 4), *tr = malloc(n * 4);
            bimamba_forward_tiled_dir(tf, &ta, k.u, &k.w, &k.d, k.B, k.L, 0);
            bimamba_forward_tiled_dir(tr, &ta, k.u, &k.w, &k.d, k.B, k.L, 1);
            for (size_t j = 0; j < n; j++) tf[j] += tr[j];
            CHECK_CLOSE("bimamba tiled fwd + rev == tiled", tf, tout, n, 0);
            free(tf), free(tr);
        }
        free(tmem), free(tout);
    }
    CU_ASSERT_EQUAL(bimamba_backward(k.du, &k.g, k.Rc, k.u, &k.a, &k.w, &k.d, k.B, k.L, k.scratch), 0);
    float *gu = fx_f32(f, "grad.u", NULL);
    CHECK_REL("grad.u", k.du, gu, n, 1e-3);
    for (size_t i = 0; i < k.pb.n; i++) {
        char nm[256];
        snprintf(nm, sizeof nm, "grad.%s", k.pb.entries[i].name);
        float *gw = fx_f32(f, nm, NULL);
        if (gw) CHECK_REL(nm, pb_grad(&k.pb, (int)i), gw, k.pb.entries[i].numel, 1e-3);
        free(gw);
    }
    /* finite differences on the same block */
    float *an = malloc(k.pb.total * 4);
    memcpy(an, k.pb.grads, k.pb.total * 4);
    for (size_t i = 0; i < k.pb.n; i++) {
        const pb_entry *e = &k.pb.entries[i];
        CU_ASSERT(fx_gradcheck(e->name, bm_loss, &k, k.pb.params + e->offset, an + e->offset, e->numel, 6, 1e-2, (fx_tol){2e-6, 2e-2, 0, 0}) <= 1.0);
    }
    float *du0 = malloc(n * 4);
    memcpy(du0, k.du, n * 4);
    CU_ASSERT(fx_gradcheck("u", bm_loss, &k, k.u, du0, n, 12, 1e-2, (fx_tol){2e-6, 2e-2, 0, 0}) <= 1.0);
    free(an), free(du0), free(want), free(gu);
    free(k.amem), free(k.u), free(k.Rc), free(k.out), free(k.du), free(k.scratch);
    pb_free(&k.pb);
    sft_close(f);
}

/* BiMamba's flip symmetry: with mamba_rev's inner weights equal to mamba_fwd's,
 * BiMamba(flip_L u) = flip_L BiMamba(u). */
static void test_bimamba_flip_symmetry(void)
{
    bm k;
    memset(&k, 0, sizeof k);
    k.B = 2, k.L = 30;
    mamba_dims_default(&k.d, 16);
    pb_init(&k.pb);
    mamba_declare(&k.pb, "f.", &k.d, 1, k.fi);
    mamba_declare(&k.pb, "r.", &k.d, 0, k.ri);
    CU_ASSERT_EQUAL_FATAL(pb_alloc(&k.pb), 0);
    mamba_bind(&k.w.fwd, NULL, &k.pb, k.fi);
    mamba_bind(&k.w.rev, NULL, &k.pb, k.ri);
    strand_rng r;
    strand_rng_seed(&r, 3);
    mamba_init(&k.w.fwd, &k.d, 1, &r);
    for (int p = 0; p < MAMBA_NPARAM; p++)
        if (k.w.rev.p[p]) memcpy(k.w.rev.p[p], k.w.fwd.p[p], k.pb.entries[k.ri[p]].numel * 4);
    k.w.rev.p[MAMBA_IN_PROJ] = k.w.fwd.p[MAMBA_IN_PROJ];
    k.w.rev.p[MAMBA_OUT_PROJ] = k.w.fwd.p[MAMBA_OUT_PROJ];
    size_t n = k.B * k.L * 16;
    float *u = malloc(n * 4), *uf = malloc(n * 4), *o1 = malloc(n * 4), *o2 = malloc(n * 4), *o2f = malloc(n * 4);
    fx_randn(u, n, &r, 1.0f);
    flip_L(uf, u, k.B, k.L, 16);
    k.amem = calloc(bimamba_acts_floats(&k.d, k.B, k.L, 0), 4);
    bimamba_acts_point(&k.a, k.amem, &k.d, k.B, k.L, 0);
    bimamba_forward(o1, &k.a, u, &k.w, &k.d, k.B, k.L);
    bimamba_forward(o2, &k.a, uf, &k.w, &k.d, k.B, k.L);
    flip_L(o2f, o2, k.B, k.L, 16);
    CHECK_CLOSE("BiMamba(flip u) vs flip BiMamba(u)", o2f, o1, n, 1e-5);
    free(u), free(uf), free(o1), free(o2), free(o2f), free(k.amem);
    pb_free(&k.pb);
}

/* ---- whole models ----------------------------------------------------------------------------------- */
static int32_t *get_ids(const sft_file *f, const char *name, size_t *B, size_t *L)
{
    const sft_tensor *t = sft_find(f, name);
    CU_ASSERT_FATAL(t && t->ndim == 2);
    *B = (size_t)t->shape[0], *L = (size_t)t->shape[1];
    int64_t *tmp = malloc(t->numel * 8);
    int32_t *ids = malloc(t->numel * 4);
    CU_ASSERT_EQUAL(sft_read_i64(f, name, tmp, t->numel), 0);
    for (size_t i = 0; i < t->numel; i++) ids[i] = (int32_t)tmp[i];
    free(tmp);
    return ids;
}

/* A forward in a fresh run context (tests that keep state across calls hold their own). */
static int fwd(const caduceus_weights *m, const int32_t *ids, size_t B, size_t L, int mode, float *lg, float *em,
               float *po)
{
    caduceus_ctx *c = NULL;
    int rc = caduceus_ctx_create(&c, &m->cfg);
    if (rc == 0) rc = caduceus_forward(m, c, ids, B, L, mode, lg, em, po);
    caduceus_ctx_free(c);
    return rc;
}

typedef struct mctx {
    caduceus_weights *m;
    caduceus_ctx *cx;
    const int32_t *ids;
    size_t B, L;
    float *logits, *Rc;
} mctx;

static double model_loss(void *ctx)
{
    mctx *c = ctx;
    caduceus_forward(c->m, c->cx, c->ids, c->B, c->L, CADUCEUS_TRAIN, c->logits, NULL, NULL);
    return fx_dot(c->logits, c->Rc, c->B * c->L * (size_t)c->m->cfg.vocab);
}

static void model_vs_pytorch(const char *file, int rcps)
{
    sft_file *f = fx_open_path(file);
    caduceus_config cfg;
    caduceus_default_config(&cfg);
    cfg.d_model = atoi(sft_meta_get(f, "d_model"));
    cfg.n_layer = atoi(sft_meta_get(f, "n_layer"));
    cfg.rcps = rcps;
    caduceus_weights *m = NULL;
    int rc = caduceus_load_from(&m, &cfg, f);
    if (rc) fprintf(stderr, "    load: %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    size_t B, L, V = 16, D = (size_t)cfg.d_model;
    int32_t *ids = get_ids(f, "ids", &B, &L);
    float *logits = calloc(B * L * V, 4), *embed = calloc(B * L * D, 4);
    m->md.chunk = 5; /* several chunks in the checkpointed scan */
    caduceus_ctx *cx = NULL;
    CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx, &m->cfg), 0);
    CU_ASSERT_EQUAL_FATAL(pb_alloc_grads(&m->pb), 0);
    CU_ASSERT_EQUAL(caduceus_forward(m, cx, ids, B, L, CADUCEUS_TRAIN, logits, embed, NULL), 0);
    float *want = fx_f32(f, "logits", NULL), *wemb = fx_f32(f, "embed", NULL);
    CHECK_CLOSE(rcps ? "PS logits" : "PH logits", logits, want, B * L * V, 1e-4);
    CHECK_CLOSE(rcps ? "PS embed (strand-collapsed)" : "PH embed", embed, wemb, B * L * D, 1e-4);
    float *Rc = fx_f32(f, "Rc", NULL);
    pb_zero_grad(&m->pb);
    CU_ASSERT_EQUAL(caduceus_backward(m, cx, Rc, m->pb.grads), 0);
    for (size_t i = 0; i < m->pb.n; i++) {
        char nm[300];
        snprintf(nm, sizeof nm, "grad." CADUCEUS_PREFIX "%s", m->pb.entries[i].name);
        float *gw = fx_f32(f, nm, NULL);
        if (gw) CHECK_REL(nm + 5 + strlen(CADUCEUS_PREFIX), pb_grad(&m->pb, (int)i), gw, m->pb.entries[i].numel, 1e-3);
        free(gw);
    }
    /* masked-LM loss on the selected positions */
    int32_t *tg = get_ids(f, "targets", &B, &L);
    float *dl = calloc(B * L * V, 4), *wdl = fx_f32(f, "grad_logits_mlm", NULL), *wl = fx_f32(f, "mlm_loss", NULL);
    for (size_t i = 0; i < B * L; i++) tg[i] = tg[i] < 0 ? -1 : tg[i];
    double loss = caduceus_mlm_loss(want, tg, B, L, V, dl);
    fprintf(stderr, "    MLM loss %.8f (reference %.8f)\n", loss, wl[0]);
    CU_ASSERT(fabs(loss - wl[0]) <= 1e-5 * fabs(wl[0]));
    CHECK_CLOSE("d mlm / d logits", dl, wdl, B * L * V, 1e-7);
    /* finite differences through the whole model (a few entries of every tensor) */
    float *an = malloc(m->pb.total * 4);
    memcpy(an, m->pb.grads, m->pb.total * 4);
    mctx c = {m, cx, ids, B, L, logits, Rc};
    /* rounding noise of the float forward: ~eps_f·Σ|logit·Rc| in the loss, / 2h in fd */
    model_loss(&c);
    double S = 0;
    for (size_t i = 0; i < B * L * V; i++) S += fabs((double)logits[i] * Rc[i]);
    double h = 3e-2, atol = 1.19e-7 * S / (2 * h), worst = 0;
    fprintf(stderr, "    FD noise floor: sum|logit*Rc| = %.4g -> atol %.2g\n", S, atol);
    for (size_t i = 0; i < m->pb.n; i++) {
        const pb_entry *e = &m->pb.entries[i];
        double w = fx_gradcheck(e->name, model_loss, &c, m->pb.params + e->offset, an + e->offset, e->numel, 2, h, (fx_tol){atol, 2e-2, 0, 0});
        worst = w > worst ? w : worst;
    }
    fprintf(stderr, "    FD worst over all tensors: %.3g of the bound\n", worst);
    CU_ASSERT(worst <= 1.0);
    free(an), free(tg), free(dl), free(wdl), free(wl);
    free(ids), free(logits), free(embed), free(want), free(wemb), free(Rc);
    caduceus_ctx_free(cx);
    caduceus_free(m);
    sft_close(f);
}

static void test_ph_vs_pytorch(void) { model_vs_pytorch("caduceus/ph.safetensors", 0); }
static void test_ps_vs_pytorch(void) { model_vs_pytorch("caduceus/ps.safetensors", 1); }
/* Odd layer counts: with n_layer = 2 a PS network that reverse-complements each strand in place
 * (no half swap) gives the same logits, and it is still RC-equivariant, so only a reference with
 * an odd number of swaps sees the swap (issue 19). */
static void test_ps_one_layer_vs_pytorch(void) { model_vs_pytorch("caduceus/ps_l1.safetensors", 1); }
static void test_ps_three_layers_vs_pytorch(void) { model_vs_pytorch("caduceus/ps_l3.safetensors", 1); }

static caduceus_weights *random_model(int rcps, int D, int nl, uint64_t seed)
{
    caduceus_config cfg;
    caduceus_default_config(&cfg);
    cfg.d_model = D, cfg.n_layer = nl, cfg.rcps = rcps;
    caduceus_weights *m = NULL;
    CU_ASSERT_EQUAL(caduceus_create(&m, &cfg), 0);
    if (!m) return NULL;
    caduceus_init_weights(m, seed);
    /* move every tensor off its structured init so no symmetry hides a bug */
    strand_rng r;
    strand_rng_seed(&r, seed + 1);
    for (size_t i = 0; i < m->pb.total; i++) m->pb.params[i] += (float)(0.1 * strand_rng_normal(&r));
    return m;
}

static void random_ids(int32_t *ids, size_t n, uint64_t seed)
{
    strand_rng r;
    strand_rng_seed(&r, seed);
    static const int32_t pool[8] = {7, 8, 9, 10, 7, 8, 11, 3};
    for (size_t i = 0; i < n; i++) ids[i] = pool[strand_rng_below(&r, 8)];
}

static void rc_ids(int32_t *out, const int32_t *ids, size_t B, size_t L)
{
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) out[b * L + t] = COMP[ids[b * L + L - 1 - t]];
}

/* logits(rc x)[t, v] = logits(x)[L−1−t, comp v]; embed(rc x)[t] = embed(x)[L−1−t]. */
static void check_rc(caduceus_weights *m, int mode, const char *what)
{
    size_t B = 2, L = 37, V = 16, D = (size_t)m->cfg.d_model;
    int32_t ids[2 * 37], rids[2 * 37];
    random_ids(ids, B * L, 77);
    rc_ids(rids, ids, B, L);
    float *l1 = malloc(B * L * V * 4), *l2 = malloc(B * L * V * 4), *e1 = malloc(B * L * D * 4), *e2 = malloc(B * L * D * 4);
    float *p1 = malloc(B * D * 4), *p2 = malloc(B * D * 4);
    CU_ASSERT_EQUAL(fwd(m, ids, B, L, mode, l1, e1, p1), 0);
    CU_ASSERT_EQUAL(fwd(m, rids, B, L, mode, l2, e2, p2), 0);
    float *lt = malloc(B * L * V * 4), *et = malloc(B * L * D * 4);
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) {
            for (size_t v = 0; v < V; v++) lt[(b * L + t) * V + v] = l1[(b * L + L - 1 - t) * V + COMP[v]];
            memcpy(et + (b * L + t) * D, e1 + (b * L + L - 1 - t) * D, D * 4);
        }
    char nm[128];
    snprintf(nm, sizeof nm, "%s: logits(rc x) vs rc(logits x)", what);
    CHECK_CLOSE(nm, l2, lt, B * L * V, 1e-5);
    snprintf(nm, sizeof nm, "%s: embed(rc x) vs flip_L embed(x)", what);
    CHECK_CLOSE(nm, e2, et, B * L * D, 1e-5);
    snprintf(nm, sizeof nm, "%s: pooled(rc x) vs pooled(x)", what);
    CHECK_CLOSE(nm, p2, p1, B * D, 1e-5);
    /* and the property is not vacuous: x and rc(x) give different logits position by position */
    double diff = 0;
    for (size_t i = 0; i < B * L * V; i++) diff = fmax(diff, fabs(l1[i] - l2[i]));
    CU_ASSERT(diff > 1e-3);
    free(l1), free(l2), free(e1), free(e2), free(p1), free(p2), free(lt), free(et);
}

static void test_ps_rc_equivariance(void)
{
    caduceus_weights *m = random_model(1, 24, 3, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    check_rc(m, CADUCEUS_INFER, "PS infer");
    check_rc(m, CADUCEUS_TRAIN, "PS train");
    caduceus_free(m);
    /* PH is equivariant only through post-hoc conjoining at inference */
    m = random_model(0, 24, 3, 11);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    check_rc(m, CADUCEUS_INFER, "PH conjoined");
    caduceus_free(m);
}

static void test_param_counts(void)
{
    caduceus_weights *ps = random_model(1, 32, 2, 1), *ph = random_model(0, 32, 2, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ph);
    size_t nps = caduceus_param_count(ps), nph = caduceus_param_count(ph);
    /* from the shapes of docs/mamba.md "Sizes and parameters" and docs/caduceus.md: per layer one full block + one block without in/out proj + a norm */
    mamba_dims d;
    mamba_dims_default(&d, 32);
    size_t full = 0, inner = 0;
    for (int k = 0; k < MAMBA_NPARAM; k++) {
        int64_t s[4];
        int nd = mamba_param_shape(&d, k, s);
        size_t e = 1;
        for (int j = 0; j < nd; j++) e *= (size_t)s[j];
        full += e;
        if (k != MAMBA_IN_PROJ && k != MAMBA_OUT_PROJ) inner += e;
    }
    size_t want = 16 * 32 + 2 * (full + inner + 32) + 32;
    fprintf(stderr, "    params: PS %zu, PH %zu, from the shapes %zu\n", nps, nph, want);
    CU_ASSERT_EQUAL(nps, nph);
    CU_ASSERT_EQUAL(nps, want);
    caduceus_free(ps);
    caduceus_free(ph);
}

/* The inference path (groups of sequences, no checkpoints) == the training path. */
static void test_infer_equals_train(void)
{
    caduceus_weights *m = random_model(1, 16, 2, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    size_t B = 3, L = 50, V = 16;
    int32_t ids[150];
    random_ids(ids, B * L, 5);
    float *a = malloc(B * L * V * 4), *b = malloc(B * L * V * 4);
    CU_ASSERT_EQUAL(fwd(m, ids, B, L, CADUCEUS_TRAIN, a, NULL, NULL), 0);
    CU_ASSERT_EQUAL(fwd(m, ids, B, L, CADUCEUS_INFER, b, NULL, NULL), 0);
    CHECK_CLOSE("PS infer vs train logits", b, a, B * L * V, 1e-5);
    /* a bad token id is an error naming the position, not a crash */
    ids[7] = 16;
    CU_ASSERT_EQUAL(fwd(m, ids, B, L, CADUCEUS_INFER, b, NULL, NULL), STRAND_E_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "position 7"));
    free(a), free(b);
    caduceus_free(m);
    /* O(L·D) inference memory: the published 7.7M model at 131072 tokens */
    caduceus_config c;
    caduceus_default_config(&c);
    c.n_layer = 16;
    size_t L1 = 1024, L2 = 131072;
    double per1 = (double)caduceus_activation_floats(&c, 1, L1, CADUCEUS_INFER) / (double)(L1 * 256);
    double per2 = (double)caduceus_activation_floats(&c, 1, L2, CADUCEUS_INFER) / (double)(L2 * 256);
    double tr = (double)caduceus_activation_floats(&c, 1, L1, CADUCEUS_TRAIN) / (double)(L1 * 256);
    fprintf(stderr, "    activation floats per token per channel: infer %.2f (L=1024), %.2f (L=131072); train %.2f\n",
            per1, per2, tr);
    CU_ASSERT(per2 <= per1 * 1.001); /* does not grow with L (nor with n_layer or d_state) */
    /* issue 4: X, U, T, Y, F of both strands (10 floats per token per channel) plus the logits
     * and an O(tile·d_inner) BiMamba working set; the whole set stays under 2 GB at L=131072 */
    CU_ASSERT(per2 < 11);
    double bytes = (double)caduceus_activation_floats(&c, 1, L2, CADUCEUS_INFER) * sizeof(float);
    fprintf(stderr, "    d=256, 16 layers, L=131072, B=1 inference activations: %.1f MB\n", bytes / 1e6);
    CU_ASSERT(bytes < 2e9);
}

/* Tiled inference (tile 7, L not a multiple, many tiles) == one tile spanning L, PS and PH. */
static void test_infer_tiled(void)
{
    for (int rcps = 1; rcps >= 0; rcps--) {
        caduceus_weights *m = random_model(rcps, 16, 2, 40 + (uint64_t)rcps);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        size_t B = 2, L = 61, V = 16, D = 16;
        int32_t ids[122];
        random_ids(ids, B * L, 9);
        float *a = malloc(B * L * V * 4), *b = malloc(B * L * V * 4);
        float *ea = malloc(B * L * D * 4), *eb = malloc(B * L * D * 4);
        caduceus_ctx *cx = NULL;
        CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx, &m->cfg), 0);
        cx->infer_tile = 1u << 20; /* one tile: the untiled computation */
        CU_ASSERT_EQUAL(caduceus_forward(m, cx, ids, B, L, CADUCEUS_INFER, a, ea, NULL), 0);
        cx->infer_tile = 7;
        CU_ASSERT_EQUAL(caduceus_forward(m, cx, ids, B, L, CADUCEUS_INFER, b, eb, NULL), 0);
        CHECK_REL(rcps ? "PS tiled logits (T=7, L=61)" : "PH tiled logits (T=7, L=61)", b, a, B * L * V, 1e-6);
        CHECK_REL(rcps ? "PS tiled embed" : "PH tiled embed", eb, ea, B * L * D, 1e-6);
        if (rcps) { /* and == the training path (untiled BiMamba) */
            CU_ASSERT_EQUAL(caduceus_forward(m, cx, ids, B, L, CADUCEUS_TRAIN, a, NULL, NULL), 0);
            CHECK_REL("PS tiled vs train logits", b, a, B * L * V, 1e-6);
        }
        caduceus_ctx_free(cx);
        free(a), free(b), free(ea), free(eb);
        caduceus_free(m);
    }
}

/* Cache-blocked inference (core/bimamba.c "cache-blocked inner passes"): blocks of 2 (shorter
 * than the conv history), 5 and 13 rows == unblocked, bit for bit with the row-independent GEMM
 * (else to 1e-6 relative), PS and PH, B 1 and 3, one tile and tiles of 7 (blocks inside tiles),
 * at 1 thread and at 2 threads (where the blocks run on the inference workers: sequence groups,
 * and on tiles of 7 the two directions of each group as separate units) against the unblocked
 * forward at 1 thread. */
static void test_infer_blocked(void)
{
    int nt0 = strand_get_threads();
    strand_set_threads(1);
    for (int rcps = 1; rcps >= 0; rcps--) {
        caduceus_weights *m = random_model(rcps, 16, 2, 90 + (uint64_t)rcps);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        size_t L = 61, V = 16, D = 16;
        int32_t ids[3 * 61];
        random_ids(ids, 3 * L, 37);
        for (size_t B = 1; B <= 3; B += 2)
            for (size_t tile = 7; tile <= 4096; tile += 4089) {
                float *ref = malloc(B * L * V * 4), *lg = malloc(B * L * V * 4);
                float *eref = malloc(B * L * D * 4), *em = malloc(B * L * D * 4);
                caduceus_ctx *cx = NULL;
                CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx, &m->cfg), 0);
                cx->infer_tile = tile;
                bimamba_set_block_rows(1u << 20); /* longer than L: unblocked */
                CU_ASSERT_EQUAL(caduceus_forward(m, cx, ids, B, L, CADUCEUS_INFER, ref, eref, NULL), 0);
                size_t rows[3] = {2, 5, 13};
                for (int k = 0; k < 6; k++) {
                    strand_set_threads(1 + k / 3);
                    bimamba_set_block_rows(rows[k % 3]);
                    CU_ASSERT_EQUAL(bimamba_block_rows(&m->md), rows[k % 3]);
                    CU_ASSERT_EQUAL(caduceus_forward(m, cx, ids, B, L, CADUCEUS_INFER, lg, em, NULL), 0);
                    char what[96];
                    snprintf(what, sizeof what, "%s B=%zu tile %zu, %d threads: blocks of %zu == unblocked (logits)",
                             rcps ? "PS" : "PH", B, tile, 1 + k / 3, rows[k % 3]);
                    if (gemm_own()) {
                        CHECK_CLOSE(what, lg, ref, B * L * V, 0);
                        CHECK_CLOSE("... (embed)", em, eref, B * L * D, 0);
                    } else {
                        CHECK_REL(what, lg, ref, B * L * V, 1e-6);
                        CHECK_REL("... (embed)", em, eref, B * L * D, 1e-6);
                    }
                }
                bimamba_set_block_rows(0);
                strand_set_threads(1);
                caduceus_ctx_free(cx);
                free(ref), free(lg), free(eref), free(em);
            }
        caduceus_free(m);
    }
    strand_set_threads(nt0);
}

/* Inference is bitwise independent of the thread count (issue 15): 1 thread (every stage serial),
 * 2, 3 and 4 threads (work units on workers, one per thread, BLAS single-threaded inside), for
 * PS and PH, one tile and many tiles (T=7), odd and even layer counts, B=1 and B=3. B=1 is 2
 * strand-space sequences: on one tile 2 units (3 and 4 threads fall back to the stage-parallel
 * path), on tiles of 7 4 units (sequence × direction: 2, 3 and 4 workers on one sequence pair). */
static void test_infer_threads_bitwise(void)
{
    int nt0 = strand_get_threads();
    for (int rcps = 1; rcps >= 0; rcps--)
        for (int nl = 2; nl <= 3; nl++) {
            caduceus_weights *m = random_model(rcps, 16, nl, 70 + (uint64_t)(rcps * 10 + nl));
            CU_ASSERT_PTR_NOT_NULL_FATAL(m);
            size_t L = 61, V = 16, D = 16;
            int32_t ids[3 * 61];
            random_ids(ids, 3 * L, 31);
            for (size_t B = 1; B <= 3; B += 2)
                for (size_t tile = 7; tile <= 4096; tile += 4089) {
                    float *ref = malloc(B * L * V * 4), *lg = malloc(B * L * V * 4);
                    float *eref = malloc(B * L * D * 4), *em = malloc(B * L * D * 4);
                    caduceus_ctx *cx = NULL;
                    CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx, &m->cfg), 0);
                    cx->infer_tile = tile;
                    strand_set_threads(1);
                    CU_ASSERT_EQUAL(caduceus_forward(m, cx, ids, B, L, CADUCEUS_INFER, ref, eref, NULL), 0);
                    for (int t = 2; t <= 4; t++) {
                        strand_set_threads(t);
                        CU_ASSERT_EQUAL(caduceus_forward(m, cx, ids, B, L, CADUCEUS_INFER, lg, em, NULL), 0);
                        /* every thread a worker where strand space holds enough units (2B sequences,
                         * × 2 directions past one tile): one sequence pair past a tile takes 4 */
                        if (gemm_own()) CU_ASSERT_EQUAL(cx->nw, 2 * B * (tile < L ? 2 : 1) >= (size_t)t ? (size_t)t : 1);
                        char what[96];
                        snprintf(what, sizeof what, "%s %d layers B=%zu tile %zu: %d threads == 1 (logits)",
                                 rcps ? "PS" : "PH", nl, B, tile, t);
                        CHECK_CLOSE(what, lg, ref, B * L * V, 0);
                        CHECK_CLOSE("... (embed)", em, eref, B * L * D, 0);
                    }
                    caduceus_ctx_free(cx);
                    free(ref), free(lg), free(eref), free(em);
                }
            caduceus_free(m);
        }
    strand_set_threads(nt0);
}

/* ---- checkpoints ------------------------------------------------------------------------------------- */
static void test_hf_checkpoint(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/caduceus/hf_ps_tiny", STRAND_TEST_DATA);
    caduceus_weights *m = NULL;
    int rc = caduceus_load(&m, dir);
    if (rc) fprintf(stderr, "    %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(m->cfg.rcps, 1);
    for (int v = 0; v < 16; v++) CU_ASSERT_EQUAL(m->cfg.comp[v], COMP[v]);
    /* tied tensors are aliases, not copies */
    CU_ASSERT_PTR_EQUAL(m->layers[0].w.rev.p[MAMBA_IN_PROJ], m->layers[0].w.fwd.p[MAMBA_IN_PROJ]);
    CU_ASSERT_PTR_EQUAL(m->layers[1].w.rev.p[MAMBA_OUT_PROJ], m->layers[1].w.fwd.p[MAMBA_OUT_PROJ]);
    sft_file *f = fx_open_path("caduceus/hf_ps_tiny_expected.safetensors");
    size_t B, L, V = 16, D = (size_t)m->cfg.d_model;
    int32_t *ids = get_ids(f, "ids", &B, &L);
    float *lg = malloc(B * L * V * 4), *em = malloc(B * L * D * 4);
    CU_ASSERT_EQUAL(fwd(m, ids, B, L, CADUCEUS_INFER, lg, em, NULL), 0);
    float *want = fx_f32(f, "logits", NULL), *wem = fx_f32(f, "embed", NULL);
    CHECK_CLOSE("hf_ps_tiny logits", lg, want, B * L * V, 1e-4);
    CHECK_CLOSE("hf_ps_tiny embed", em, wem, B * L * D, 1e-4);
    /* strand's own checkpoint: same names, config in metadata, loads back identically */
    const char *out = tu_tmp("caduceus_rt.safetensors");
    unlink(out);
    CU_ASSERT_EQUAL(caduceus_save(m, out), 0);
    caduceus_weights *m2 = NULL;
    rc = caduceus_load(&m2, out);
    if (rc) fprintf(stderr, "    %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(m2->cfg.d_model, m->cfg.d_model);
    CU_ASSERT_EQUAL(m2->cfg.n_layer, m->cfg.n_layer);
    CU_ASSERT_EQUAL(m2->pb.total, m->pb.total);
    CU_ASSERT_EQUAL(memcmp(m2->pb.params, m->pb.params, m->pb.total * 4), 0);
    sft_file *g;
    CU_ASSERT_EQUAL_FATAL(sft_open(&g, out), 0);
    CU_ASSERT_PTR_NOT_NULL(sft_find(g, CADUCEUS_PREFIX "layers.0.mixer.submodule.mamba_fwd.A_log"));
    CU_ASSERT_PTR_NULL(sft_find(g, CADUCEUS_PREFIX "layers.0.mixer.submodule.mamba_rev.in_proj.weight"));
    CU_ASSERT_PTR_NOT_NULL(sft_find(g, "lm_head.complement_map"));
    CU_ASSERT_PTR_NOT_NULL(sft_meta_get(g, "strand.config"));
    sft_close(g);
    free(ids), free(lg), free(em), free(want), free(wem);
    caduceus_free(m2);
    sft_close(f);

    /* errors: a missing tensor is named; a wrong complement map is refused */
    sft_file *src;
    char mpath[1100];
    snprintf(mpath, sizeof mpath, "%s/model.safetensors", dir);
    CU_ASSERT_EQUAL_FATAL(sft_open(&src, mpath), 0);
    sft_writer *w = sft_writer_create();
    for (size_t i = 0; i < sft_count(src); i++) {
        const sft_tensor *t = sft_get(src, i);
        if (strstr(t->name, "layers.1.mixer.submodule.mamba_rev.A_log")) continue;
        if (t->dtype == SFT_I64) {
            int64_t cm[16];
            sft_read_i64(src, t->name, cm, 16);
            sft_writer_add(w, t->name, SFT_I64, t->ndim, t->shape, cm);
        } else {
            float *buf = malloc(t->numel * 4);
            sft_read_f32(src, t->name, buf, t->numel);
            sft_writer_add(w, t->name, SFT_F32, t->ndim, t->shape, buf);
            free(buf);
        }
    }
    caduceus_config cfg = m->cfg;
    sft_writer_meta(w, "strand.config", "{\"d_model\": 24, \"n_layer\": 2, \"rcps\": true}");
    const char *bad = tu_tmp("caduceus_missing.safetensors");
    CU_ASSERT_EQUAL(sft_writer_write(w, bad), 0);
    sft_writer_free(w);
    caduceus_weights *m3 = NULL;
    rc = caduceus_load(&m3, bad);
    fprintf(stderr, "    missing tensor -> %d: %s\n", rc, strand_last_error());
    CU_ASSERT_EQUAL(rc, STRAND_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "layers.1.mixer.submodule.mamba_rev.A_log"));
    CU_ASSERT_PTR_NULL(m3);
    cfg.comp[7] = 9; /* not an involution */
    rc = caduceus_create(&m3, &cfg);
    CU_ASSERT_EQUAL(rc, STRAND_E_ARG);
    CU_ASSERT_EQUAL(caduceus_config_from_json(&cfg, "{\"d_model\": 8, \"n_layer\": 1, \"ssm_cfg\": {\"d_state\": 64}}", "x.json"),
                    STRAND_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(caduceus_config_from_json(&cfg, "{\"d_model\": 8", "x.json"), STRAND_E_FORMAT);
    sft_close(src);
    caduceus_free(m);
}

/* PH checkpoints round-trip too (no complement_map tensors: the config's map by key), and the
 * published config.json's complement_map, whose keys are in string order, is read by key. */
static void test_ph_roundtrip_and_config_map(void)
{
    caduceus_weights *m = random_model(0, 16, 2, 21);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    const char *out = tu_tmp("caduceus_ph_rt.safetensors");
    unlink(out);
    CU_ASSERT_EQUAL_FATAL(caduceus_save(m, out), 0);
    caduceus_weights *m2 = NULL;
    CU_ASSERT_EQUAL_FATAL(caduceus_load(&m2, out), 0);
    CU_ASSERT_EQUAL(m2->cfg.rcps, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(m2->pb.entries[m2->emb].name, "embeddings.word_embeddings.weight"));
    size_t B = 2, L = 20, V = 16;
    int32_t ids[40];
    random_ids(ids, B * L, 3);
    float a[40 * 16], b[40 * 16];
    CU_ASSERT_EQUAL(fwd(m, ids, B, L, CADUCEUS_INFER, a, NULL, NULL), 0);
    CU_ASSERT_EQUAL(fwd(m2, ids, B, L, CADUCEUS_INFER, b, NULL, NULL), 0);
    CHECK_CLOSE("PH saved/loaded logits", b, a, B * L * V, 0.0);
    caduceus_free(m);
    caduceus_free(m2);

    char path[1024];
    snprintf(path, sizeof path, "%s/caduceus/hf_ps_tiny/config.json", STRAND_TEST_DATA);
    FILE *fp = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = 0;
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"10\": 7")); /* the fixture really lists "10" before "2" */
    caduceus_config cfg;
    caduceus_default_config(&cfg);
    memset(cfg.comp, 0, sizeof cfg.comp);
    CU_ASSERT_EQUAL(caduceus_config_from_json(&cfg, text, path), 0);
    for (int v = 0; v < 16; v++) CU_ASSERT_EQUAL(cfg.comp[v], COMP[v]);
    CU_ASSERT_EQUAL(cfg.rcps, 1);
    CU_ASSERT_EQUAL(cfg.d_model, 24);
}

/* include/strand.h "caduceus": the public API over the HF fixture. */
static void test_public_api(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/caduceus/hf_ps_tiny", STRAND_TEST_DATA);
    strand_caduceus *h = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_caduceus_load(dir, &h), 0);
    int D = 0, nl = 0, ps = -1;
    CU_ASSERT_EQUAL(strand_caduceus_info(h, &D, &nl, &ps), 0);
    CU_ASSERT(D > 0 && nl > 0 && ps == 1);
    sft_file *f = fx_open_path("caduceus/hf_ps_tiny_expected.safetensors");
    size_t B, L;
    int32_t *ids1 = get_ids(f, "ids", &B, &L);
    /* 11 copies: more than one internal chunk of sequences */
    size_t n = 11, V = 16;
    int32_t *ids = malloc(n * L * 4);
    for (size_t s = 0; s < n; s++) memcpy(ids + s * L, ids1, L * 4);
    float *lg = malloc(n * L * V * 4), *em = malloc(n * L * (size_t)D * 4), *pool = malloc(n * (size_t)D * 4);
    CU_ASSERT_EQUAL(strand_caduceus_logits(h, ids, n, L, lg), 0);
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, ids, n, L, STRAND_EMBED_PER_POSITION, em), 0);
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, ids, n, L, STRAND_EMBED_MEAN, pool), 0);
    float *want = fx_f32(f, "logits", NULL);
    CHECK_CLOSE("API logits, sequence 10", lg + 10 * L * V, want, L * V, 1e-4);
    float *mean = calloc((size_t)D, 4);
    for (size_t t = 0; t < L; t++)
        for (int j = 0; j < D; j++) mean[j] += em[(10 * L + t) * (size_t)D + (size_t)j] / (float)L;
    CHECK_CLOSE("API mean pool vs mean of per-position", pool + 10 * (size_t)D, mean, (size_t)D, 1e-5);
    ids[9 * L + 3] = 99;
    CU_ASSERT_EQUAL(strand_caduceus_logits(h, ids, n, L, lg), STRAND_E_ARG);
    fprintf(stderr, "    bad id -> %s\n", strand_caduceus_last_error(h));
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_caduceus_last_error(h), "sequence 9 position 3"));
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, ids, n, L, 7, em), STRAND_E_ARG);
    strand_caduceus *h2 = NULL;
    CU_ASSERT_EQUAL(strand_caduceus_load("/nonexistent/model", &h2), STRAND_E_IO);
    CU_ASSERT_PTR_NULL(h2);
    strand_caduceus_free(NULL);
    free(ids1), free(ids), free(lg), free(em), free(pool), free(want), free(mean);
    strand_caduceus_free(h);
    sft_close(f);
}

/* Weights apart from run state: two run contexts over one weights object, in two threads at
 * once, give bitwise the logits and embeddings of two separate loads (each with its own context),
 * and a context reused across shapes and modes gives bitwise a fresh context's output. */
static void test_shared_weights_two_contexts(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/caduceus/hf_ps_tiny", STRAND_TEST_DATA);
    caduceus_weights *w = NULL, *sep[2] = {NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(caduceus_load(&w, dir), 0);
    CU_ASSERT_EQUAL_FATAL(caduceus_load(&sep[0], dir), 0);
    CU_ASSERT_EQUAL_FATAL(caduceus_load(&sep[1], dir), 0);
    size_t B = 2, L = 45, V = 16, D = (size_t)w->cfg.d_model;
    int32_t ids[2][2 * 45];
    random_ids(ids[0], B * L, 101);
    random_ids(ids[1], B * L, 202);
    float *lg[2][2], *em[2][2]; /* [shared/separate][input] */
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 2; t++) lg[k][t] = malloc(B * L * V * 4), em[k][t] = malloc(B * L * D * 4);
    caduceus_ctx *cx[2] = {NULL, NULL}, *cs[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
        CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx[t], &w->cfg), 0);
        CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cs[t], &w->cfg), 0);
    }
    int rc[2] = {-1, -1};
#pragma omp parallel for num_threads(2)
    for (int t = 0; t < 2; t++) rc[t] = caduceus_forward(w, cx[t], ids[t], B, L, CADUCEUS_INFER, lg[0][t], em[0][t], NULL);
    CU_ASSERT(rc[0] == 0 && rc[1] == 0);
    for (int t = 0; t < 2; t++)
        CU_ASSERT_EQUAL(caduceus_forward(sep[t], cs[t], ids[t], B, L, CADUCEUS_INFER, lg[1][t], em[1][t], NULL), 0);
    CHECK_CLOSE("thread 0: shared weights == own load (logits)", lg[0][0], lg[1][0], B * L * V, 0);
    CHECK_CLOSE("thread 1: shared weights == own load (logits)", lg[0][1], lg[1][1], B * L * V, 0);
    CHECK_CLOSE("thread 0: shared weights == own load (embed)", em[0][0], em[1][0], B * L * D, 0);
    CHECK_CLOSE("thread 1: shared weights == own load (embed)", em[0][1], em[1][1], B * L * D, 0);
    /* one context through other shapes and the training layout, then back */
    const float *params = w->pb.params;
    CU_ASSERT_EQUAL(caduceus_forward(w, cx[0], ids[1], 1, 20, CADUCEUS_INFER, lg[1][0], NULL, NULL), 0);
    CU_ASSERT_EQUAL(caduceus_forward(w, cx[0], ids[1], B, L, CADUCEUS_TRAIN, lg[1][0], NULL, NULL), 0);
    CU_ASSERT_EQUAL(caduceus_forward(w, cx[0], ids[0], B, L, CADUCEUS_INFER, lg[1][0], em[1][0], NULL), 0);
    CHECK_CLOSE("reused context == fresh context (logits)", lg[1][0], lg[0][0], B * L * V, 0);
    CHECK_CLOSE("reused context == fresh context (embed)", em[1][0], em[0][0], B * L * D, 0);
    CU_ASSERT(w->pb.params == params && w->pb.grads == NULL); /* inference allocates no gradients */
    /* a context for other dimensions is refused */
    caduceus_config other = w->cfg;
    other.d_model *= 2;
    caduceus_ctx *bad = NULL;
    CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&bad, &other), 0);
    CU_ASSERT_EQUAL(caduceus_forward(w, bad, ids[0], B, L, CADUCEUS_INFER, lg[1][0], NULL, NULL), STRAND_E_ARG);
    caduceus_ctx_free(bad);
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 2; t++) free(lg[k][t]), free(em[k][t]);
    for (int t = 0; t < 2; t++) caduceus_ctx_free(cx[t]), caduceus_ctx_free(cs[t]), caduceus_free(sep[t]);
    caduceus_ctx_free(NULL);
    caduceus_free(w);
}

void register_suites(void)
{
    ADD_TEST(CU_add_suite("caduceus_api", NULL, NULL), test_public_api);
    CU_pSuite s = CU_add_suite("caduceus", NULL, NULL);
    ADD_TEST(s, test_bimamba_vs_pytorch);
    ADD_TEST(s, test_bimamba_flip_symmetry);
    ADD_TEST(s, test_ph_vs_pytorch);
    ADD_TEST(s, test_ps_vs_pytorch);
    ADD_TEST(s, test_ps_one_layer_vs_pytorch);
    ADD_TEST(s, test_ps_three_layers_vs_pytorch);
    ADD_TEST(s, test_ps_rc_equivariance);
    ADD_TEST(s, test_param_counts);
    ADD_TEST(s, test_infer_equals_train);
    ADD_TEST(s, test_infer_tiled);
    ADD_TEST(s, test_infer_threads_bitwise);
    ADD_TEST(s, test_infer_blocked);
    ADD_TEST(s, test_hf_checkpoint);
    ADD_TEST(s, test_ph_roundtrip_and_config_map);
    ADD_TEST(s, test_shared_weights_two_contexts);
}
