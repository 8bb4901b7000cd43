/* Transformer layers (docs/dit.md) against PyTorch fixtures (tests/reference/layers.py,
 * written to tests/data/layers/), central finite differences for every backward, and
 * metamorphic checks (accumulation, BLAS path == naive path, threads == one thread).
 * Tolerances: forward and backward vs PyTorch float32 ≤ 1e-5 absolute (values are O(1));
 * finite differences: eps 1e-2 on the float forward of loss = Σ out·r (summed in double),
 * |analytic − numeric| ≤ 2e-3·max(1, |numeric|) — a missing or wrong term gives O(0.1–1).
 * Fixtures: /usr/bin/python3 tests/reference/layers.py */
#include <omp.h>
#include <stdint.h>

#include "core/adaln.h"
#include "core/attention.h"
#include "core/embedding.h"
#include "core/gelu.h"
#include "core/gemm.h"
#include "core/layernorm.h"
#include "core/linear.h"
#include "core/mlp.h"
#include "core/rmsnorm.h"
#include "core/safetensors.h"
#include "core/softmax.h"
#include "core/timestep.h"
#include "strand.h"
#include "fixture_util.h"
#include "test_util.h"

#define TOL 1e-5
#define FD_EPS 1e-2f
#define FD_TOL 2e-3

/* ---- fixture access ---------------------------------------------------------------------- */
static sft_file *fx_open(const char *name) { return tu_fixture_open("layers", name); }

static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* ---- central finite differences: |analytic - numeric| <= FD_TOL * max(1, |numeric|) ------------ */
static const fx_tol FD_BOUND = {0, 0, FD_TOL, 1};

/* ---- linear -------------------------------------------------------------------------------- */
typedef struct { float *x, *w, *b, *out, *r; size_t BT, C, OC; } lin_ctx;
static double lin_loss(void *c)
{
    lin_ctx *k = c;
    linear_forward(k->out, k->x, k->w, k->b, k->BT, k->C, k->OC);
    return fx_dot(k->out, k->r, k->BT * k->OC);
}

static void test_linear(void)
{
    sft_file *f = fx_open("linear");
    size_t nx, nw, nb, no;
    lin_ctx k = {fx_f32(f, "x", &nx), fx_f32(f, "w", &nw), fx_f32(f, "b", &nb), NULL, fx_f32(f, "r", &no), 0, 0, 0};
    k.OC = nb;
    k.C = nw / nb;
    k.BT = nx / k.C;
    float *want = fx_f32(f, "out", NULL), *gx = fx_f32(f, "grad.x", NULL), *gw = fx_f32(f, "grad.w", NULL),
          *gb = fx_f32(f, "grad.b", NULL);
    k.out = zeros(no);
    linear_forward(k.out, k.x, k.w, k.b, k.BT, k.C, k.OC);
    CHECK_CLOSE("linear forward", k.out, want, no, TOL);
    float *dx = zeros(nx), *dw = zeros(nw), *db = zeros(nb);
    linear_backward(dx, dw, db, k.r, k.x, k.w, k.BT, k.C, k.OC);
    CHECK_CLOSE("linear dx", dx, gx, nx, TOL);
    CHECK_CLOSE("linear dw", dw, gw, nw, TOL);
    CHECK_CLOSE("linear db", db, gb, nb, TOL);
    CU_ASSERT(fx_gradcheck("linear dx", lin_loss, &k, k.x, dx, nx, 1000, FD_EPS, FD_BOUND) <= 1.0);
    CU_ASSERT(fx_gradcheck("linear dw", lin_loss, &k, k.w, dw, nw, 1000, FD_EPS, FD_BOUND) <= 1.0);
    CU_ASSERT(fx_gradcheck("linear db", lin_loss, &k, k.b, db, nb, 1000, FD_EPS, FD_BOUND) <= 1.0);
    /* backward accumulates; NULL gradients are skipped */
    linear_backward(dx, NULL, db, k.r, k.x, k.w, k.BT, k.C, k.OC);
    for (size_t i = 0; i < nx; i++) gx[i] *= 2;
    for (size_t i = 0; i < nb; i++) gb[i] *= 2;
    CHECK_CLOSE("linear dx accumulated twice", dx, gx, nx, 2 * TOL);
    CHECK_CLOSE("linear db accumulated twice", db, gb, nb, 2 * TOL);
    CHECK_CLOSE("linear dw untouched (NULL)", dw, gw, nw, TOL);
    /* no bias: out = x·wᵀ = (with bias) − b */
    linear_forward(k.out, k.x, k.w, NULL, k.BT, k.C, k.OC);
    for (size_t t = 0; t < k.BT; t++)
        for (size_t o = 0; o < k.OC; o++) want[t * k.OC + o] -= k.b[o];
    CHECK_CLOSE("linear forward, no bias", k.out, want, no, TOL);
    free(k.x); free(k.w); free(k.b); free(k.r); free(k.out); free(want); free(gx); free(gw); free(gb);
    free(dx); free(dw); free(db);
    sft_close(f);
}

/* ---- RMSNorm / LayerNorm --------------------------------------------------------------------- */
typedef struct { float *x, *w, *out, *r, *s1, *s2; size_t N, C; int ln; } norm_ctx;
static double norm_loss(void *c)
{
    norm_ctx *k = c;
    if (k->ln) layernorm_forward(k->out, k->s1, k->s2, k->x, k->w, k->N, k->C, 1e-5f);
    else rmsnorm_forward(k->out, k->s2, k->x, k->w, k->N, k->C, 1e-5f);
    return fx_dot(k->out, k->r, k->N * k->C);
}

static void check_norm(int ln)
{
    const char *nm = ln ? "layernorm" : "rmsnorm";
    sft_file *f = fx_open(nm);
    size_t nx, nw;
    norm_ctx k = {fx_f32(f, "x", &nx), fx_f32(f, "w", &nw), NULL, fx_f32(f, "r", NULL), NULL, NULL, 0, 0, ln};
    k.C = nw;
    k.N = nx / nw;
    k.out = zeros(nx);
    k.s1 = zeros(k.N);
    k.s2 = zeros(k.N);
    float *want = fx_f32(f, "out", NULL), *gx = fx_f32(f, "grad.x", NULL), *gw = fx_f32(f, "grad.w", NULL);
    norm_loss(&k);
    char what[64];
    snprintf(what, sizeof what, "%s forward", nm);
    CHECK_CLOSE(what, k.out, want, nx, TOL);
    float *dx = zeros(nx), *dw = zeros(nw);
    if (ln) layernorm_backward(dx, dw, k.r, k.x, k.w, k.s1, k.s2, k.N, k.C);
    else rmsnorm_backward(dx, dw, k.r, k.x, k.w, k.s2, k.N, k.C);
    snprintf(what, sizeof what, "%s dx", nm);
    CHECK_CLOSE(what, dx, gx, nx, TOL);
    CU_ASSERT(fx_gradcheck(what, norm_loss, &k, k.x, dx, nx, 1000, FD_EPS, FD_BOUND) <= 1.0);
    snprintf(what, sizeof what, "%s dw", nm);
    CHECK_CLOSE(what, dw, gw, nw, TOL);
    CU_ASSERT(fx_gradcheck(what, norm_loss, &k, k.w, dw, nw, 1000, FD_EPS, FD_BOUND) <= 1.0);
    norm_loss(&k); /* restore caches */
    /* accumulation: a second call with dinp only doubles dx and leaves dw */
    if (ln) layernorm_backward(dx, NULL, k.r, k.x, k.w, k.s1, k.s2, k.N, k.C);
    else rmsnorm_backward(dx, NULL, k.r, k.x, k.w, k.s2, k.N, k.C);
    for (size_t i = 0; i < nx; i++) gx[i] *= 2;
    snprintf(what, sizeof what, "%s dx accumulated twice", nm);
    CHECK_CLOSE(what, dx, gx, nx, 2 * TOL);
    free(k.x); free(k.w); free(k.r); free(k.out); free(k.s1); free(k.s2); free(want); free(gx); free(gw);
    free(dx); free(dw);
    sft_close(f);
}
static void test_rmsnorm(void) { check_norm(0); }
static void test_layernorm(void) { check_norm(1); }

/* ---- pointwise -------------------------------------------------------------------------------- */
typedef struct { float *x, *out, *r; size_t n; int silu; } pw_ctx;
static double pw_loss(void *c)
{
    pw_ctx *k = c;
    if (k->silu) silu_forward(k->out, k->x, k->n);
    else gelu_forward(k->out, k->x, k->n);
    return fx_dot(k->out, k->r, k->n);
}

static void check_pointwise(int silu)
{
    const char *nm = silu ? "silu" : "gelu";
    sft_file *f = fx_open(nm);
    size_t n;
    pw_ctx k = {fx_f32(f, "x", &n), NULL, fx_f32(f, "r", NULL), 0, silu};
    k.n = n;
    k.out = zeros(n);
    float *want = fx_f32(f, "out", NULL), *gx = fx_f32(f, "grad.x", NULL), *dx = zeros(n);
    pw_loss(&k);
    char what[64];
    snprintf(what, sizeof what, "%s forward", nm);
    CHECK_CLOSE(what, k.out, want, n, TOL);
    if (silu) silu_backward(dx, k.x, k.r, n);
    else gelu_backward(dx, k.x, k.r, n);
    snprintf(what, sizeof what, "%s dx", nm);
    CHECK_CLOSE(what, dx, gx, n, TOL);
    CU_ASSERT(fx_gradcheck(what, pw_loss, &k, k.x, dx, n, 1000, FD_EPS, FD_BOUND) <= 1.0);
    if (!silu) { /* in-place variant == accumulate into zero */
        float *d = malloc(n * sizeof(float));
        memcpy(d, k.r, n * sizeof(float));
        gelu_backward_inplace(d, k.x, n);
        CHECK_CLOSE("gelu dx (in-place variant)", d, dx, n, 0);
        free(d);
        /* the sigmoid form used for speed == the tanh formula, across the range incl. overflow */
        enum { M = 4001 };
        float xs[M], got[M], ref[M];
        for (int i = 0; i < M; i++) xs[i] = -100.0f + 200.0f * (float)i / (M - 1);
        gelu_forward(got, xs, M);
        double worst = 0;
        for (int i = 0; i < M; i++) {
            ref[i] = gelu_ref(xs[i]);
            worst = fmax(worst, fabs((double)got[i] - ref[i]) / fmax(1.0, fabs(xs[i])));
        }
        fprintf(stderr, "    gelu (sigmoid form) vs tanh formula on [-100,100]: max |diff|/max(1,|x|) = %.3g (tol 1e-6)\n", worst);
        CU_ASSERT(worst <= 1e-6);
    }
    free(k.x); free(k.r); free(k.out); free(want); free(gx); free(dx);
    sft_close(f);
}
/* both GELU paths: the CPU's dispatch (AVX-512 where present) and the scalar loops */
static void test_gelu(void)
{
    for (int portable = 0; portable < 2; portable++) {
        fprintf(stderr, "    -- gelu, %s\n", portable ? "scalar loops (gelu_set_portable(1))" : "dispatched by the CPU");
        gelu_set_portable(portable);
        check_pointwise(0);
    }
    gelu_set_portable(0);
}
static void test_silu(void) { check_pointwise(1); }

/* ---- MLP ------------------------------------------------------------------------------------------ */
typedef struct { float *x, *w1, *b1, *w2, *b2, *out, *pre, *act, *r; size_t BT, C, H; } mlp_ctx;
static double mlp_loss(void *c)
{
    mlp_ctx *k = c;
    mlp_forward(k->out, k->pre, k->act, k->x, k->w1, k->b1, k->w2, k->b2, k->BT, k->C, k->H);
    return fx_dot(k->out, k->r, k->BT * k->C);
}

static void test_mlp(void)
{
    sft_file *f = fx_open("mlp");
    size_t nx, nw1, nb1, nw2, nb2;
    mlp_ctx k = {0};
    k.x = fx_f32(f, "x", &nx);
    k.w1 = fx_f32(f, "w1", &nw1);
    k.b1 = fx_f32(f, "b1", &nb1);
    k.w2 = fx_f32(f, "w2", &nw2);
    k.b2 = fx_f32(f, "b2", &nb2);
    k.r = fx_f32(f, "r", NULL);
    k.H = nb1;
    k.C = nb2;
    k.BT = nx / k.C;
    k.out = zeros(nx);
    k.pre = zeros(k.BT * k.H);
    k.act = zeros(k.BT * k.H);
    float *want = fx_f32(f, "out", NULL);
    mlp_loss(&k);
    CHECK_CLOSE("mlp forward", k.out, want, nx, TOL);
    float *dx = zeros(nx), *dw1 = zeros(nw1), *db1 = zeros(nb1), *dw2 = zeros(nw2), *db2 = zeros(nb2),
          *scr = zeros(k.BT * k.H);
    mlp_backward(dx, dw1, db1, dw2, db2, scr, k.r, k.x, k.pre, k.act, k.w1, k.w2, k.BT, k.C, k.H);
    struct { const char *n; float *g, *p; size_t len; } g[] = {
        {"x", dx, k.x, nx}, {"w1", dw1, k.w1, nw1}, {"b1", db1, k.b1, nb1}, {"w2", dw2, k.w2, nw2}, {"b2", db2, k.b2, nb2}};
    for (size_t i = 0; i < 5; i++) {
        char nm[32], what[64];
        snprintf(nm, sizeof nm, "grad.%s", g[i].n);
        float *w = fx_f32(f, nm, NULL);
        snprintf(what, sizeof what, "mlp d%s", g[i].n);
        CHECK_CLOSE(what, g[i].g, w, g[i].len, TOL);
        CU_ASSERT(fx_gradcheck(what, mlp_loss, &k, g[i].p, g[i].g, g[i].len, 300, FD_EPS, FD_BOUND) <= 1.0);
        free(w);
    }
    free(k.x); free(k.w1); free(k.b1); free(k.w2); free(k.b2); free(k.r); free(k.out); free(k.pre); free(k.act);
    free(want); free(dx); free(dw1); free(db1); free(dw2); free(db2); free(scr);
    sft_close(f);
}

/* ---- adaLN modulate + gated residual ---------------------------------------------------------------- */
typedef struct { float *x, *y, *mod, *m, *out, *r; size_t B, L, D; } ada_ctx;
static double ada_loss(void *c)
{
    ada_ctx *k = c;
    size_t D = k->D, ms = 3 * D;
    adaln_modulate_forward(k->m, k->x, k->mod, k->mod + D, ms, k->B, k->L, D);
    adaln_gate_forward(k->out, k->y, k->m, k->mod + 2 * D, ms, k->B, k->L, D);
    return fx_dot(k->out, k->r, k->B * k->L * D);
}

static void test_adaln(void)
{
    sft_file *f = fx_open("adaln");
    const sft_tensor *tx = sft_find(f, "x");
    CU_ASSERT_FATAL(tx && tx->ndim == 3);
    ada_ctx k = {0};
    k.B = (size_t)tx->shape[0];
    k.L = (size_t)tx->shape[1];
    k.D = (size_t)tx->shape[2];
    size_t n = k.B * k.L * k.D, nm = k.B * 3 * k.D, D = k.D, ms = 3 * D;
    k.x = fx_f32(f, "x", NULL);
    k.y = fx_f32(f, "y", NULL);
    k.mod = fx_f32(f, "mod", NULL);
    k.r = fx_f32(f, "r", NULL);
    k.m = zeros(n);
    k.out = zeros(n);
    float *want = fx_f32(f, "out", NULL);
    ada_loss(&k);
    CHECK_CLOSE("adaln forward", k.out, want, n, TOL);
    float *dx = zeros(n), *dy = zeros(n), *dm = zeros(n), *dmod = zeros(nm);
    adaln_gate_backward(dy, dm, dmod + 2 * D, k.r, k.m, k.mod + 2 * D, ms, k.B, k.L, D);
    adaln_modulate_backward(dx, dmod, dmod + D, dm, k.x, k.mod + D, ms, k.B, k.L, D);
    float *gx = fx_f32(f, "grad.x", NULL), *gy = fx_f32(f, "grad.y", NULL), *gm = fx_f32(f, "grad.mod", NULL);
    CHECK_CLOSE("adaln dx", dx, gx, n, TOL);
    CHECK_CLOSE("adaln dy", dy, gy, n, TOL);
    CHECK_CLOSE("adaln dmod [shift|scale|gate]", dmod, gm, nm, TOL);
    CU_ASSERT(fx_gradcheck("adaln dx", ada_loss, &k, k.x, dx, n, 1000, FD_EPS, FD_BOUND) <= 1.0);
    CU_ASSERT(fx_gradcheck("adaln dy", ada_loss, &k, k.y, dy, n, 1000, FD_EPS, FD_BOUND) <= 1.0);
    CU_ASSERT(fx_gradcheck("adaln dmod", ada_loss, &k, k.mod, dmod, nm, 1000, FD_EPS, FD_BOUND) <= 1.0);
    free(k.x); free(k.y); free(k.mod); free(k.r); free(k.m); free(k.out); free(want); free(dx); free(dy); free(dm);
    free(dmod); free(gx); free(gy); free(gm);
    sft_close(f);
}

/* ---- attention ------------------------------------------------------------------------------------ */
typedef struct { float *qkv, *cs, *sn, *mask, *out, *qr, *att, *r; size_t B, L, D, H; } att_ctx;
static double att_loss(void *c)
{
    att_ctx *k = c;
    attention_forward(k->out, k->qr, k->att, k->qkv, k->cs, k->sn, k->mask, k->B, k->L, k->D, k->H);
    return fx_dot(k->out, k->r, k->B * k->L * k->D);
}

static void check_attention(const char *name, int masked)
{
    sft_file *f = fx_open(name);
    const sft_tensor *tq = sft_find(f, "qkv"), *tc = sft_find(f, "cos");
    CU_ASSERT_FATAL(tq && tq->ndim == 3 && tc && tc->ndim == 2);
    att_ctx k = {0};
    k.B = (size_t)tq->shape[0];
    k.L = (size_t)tq->shape[1];
    k.D = (size_t)tq->shape[2] / 3;
    size_t hd = (size_t)tc->shape[1];
    k.H = k.D / hd;
    size_t B = k.B, L = k.L, D = k.D, H = k.H, n = B * L * D, nq = 3 * n;
    k.qkv = fx_f32(f, "qkv", NULL);
    k.r = fx_f32(f, "r", NULL);
    k.cs = zeros(L * hd);
    k.sn = zeros(L * hd);
    rope_tables(k.cs, k.sn, L, hd, 10000.0f);
    float *wc = fx_f32(f, "cos", NULL), *ws = fx_f32(f, "sin", NULL);
    CHECK_CLOSE("rope cos table", k.cs, wc, L * hd, 1e-6);
    CHECK_CLOSE("rope sin table", k.sn, ws, L * hd, 1e-6);
    if (masked) {
        size_t na;
        int32_t *al = fx_i32(f, "allowed", &na);
        CU_ASSERT_FATAL(na == L * L);
        uint8_t *a8 = malloc(L * L);
        for (size_t i = 0; i < L * L; i++) a8[i] = (uint8_t)al[i];
        k.mask = zeros(L * L);
        attention_mask_from_bool(k.mask, a8, L);
        free(al);
        free(a8);
    }
    k.out = zeros(n);
    k.qr = zeros(2 * n);
    k.att = zeros(B * H * L * L);
    float *want = fx_f32(f, "out", NULL);
    att_loss(&k);
    char what[96];
    snprintf(what, sizeof what, "%s forward", name);
    CHECK_CLOSE(what, k.out, want, n, TOL);
    /* the naive reference gives the same numbers */
    float *o2 = zeros(n), *qr2 = zeros(2 * n), *att2 = zeros(B * H * L * L);
    attention_forward_ref(o2, qr2, att2, k.qkv, k.cs, k.sn, k.mask, B, L, D, H);
    snprintf(what, sizeof what, "%s forward_ref == forward", name);
    CHECK_CLOSE(what, o2, k.out, n, 1e-6);
    CHECK_CLOSE("  att probabilities ref == blas", att2, k.att, B * H * L * L, 1e-6);
    /* backward */
    float *dq = zeros(nq), *scr = zeros(attention_scratch_floats(B, L, D, H));
    attention_backward(dq, scr, k.r, k.qkv, k.qr, k.att, k.cs, k.sn, B, L, D, H);
    float *gq = fx_f32(f, "grad.qkv", NULL);
    snprintf(what, sizeof what, "%s dqkv", name);
    CHECK_CLOSE(what, dq, gq, nq, TOL);
    CU_ASSERT(fx_gradcheck(what, att_loss, &k, k.qkv, dq, nq, 1000, FD_EPS, FD_BOUND) <= 1.0);
    /* one thread == two threads, bit for bit (each (b,h) is computed by one thread) */
    att_loss(&k);
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    attention_forward(o2, qr2, att2, k.qkv, k.cs, k.sn, k.mask, B, L, D, H);
    float *dq1 = zeros(nq);
    attention_backward(dq1, scr, k.r, k.qkv, qr2, att2, k.cs, k.sn, B, L, D, H);
    omp_set_num_threads(nt > 1 ? nt : 2);
    float *dq2 = zeros(nq);
    attention_forward(k.out, k.qr, k.att, k.qkv, k.cs, k.sn, k.mask, B, L, D, H);
    attention_backward(dq2, scr, k.r, k.qkv, k.qr, k.att, k.cs, k.sn, B, L, D, H);
    omp_set_num_threads(nt);
    CU_ASSERT(memcmp(o2, k.out, n * sizeof(float)) == 0);
    CU_ASSERT(memcmp(dq1, dq2, nq * sizeof(float)) == 0);
    fprintf(stderr, "    %s: 1 thread == 2 threads bitwise: forward %s, backward %s\n", name,
            memcmp(o2, k.out, n * sizeof(float)) == 0 ? "yes" : "NO", memcmp(dq1, dq2, nq * sizeof(float)) == 0 ? "yes" : "NO");
    free(k.qkv); free(k.r); free(k.cs); free(k.sn); free(k.mask); free(k.out); free(k.qr); free(k.att);
    free(wc); free(ws); free(want); free(o2); free(qr2); free(att2); free(dq); free(scr); free(gq); free(dq1); free(dq2);
    sft_close(f);
}
static void test_attention(void) { check_attention("attention", 0); }
static void test_attention_hd8(void) { check_attention("attention_hd8", 0); }
static void test_attention_mask(void) { check_attention("attention_mask", 1); }

/* Bidirectional attention with rotary embeddings depends only on relative positions, so
 * shifting every q/k rotation by the same offset (tables of a longer sequence, sliced) keeps the
 * output. A metamorphic check of the rotary convention without any fixture. */
static void test_attention_rope_shift(void)
{
    size_t B = 1, L = 7, H = 2, hd = 6, D = H * hd, off = 5;
    strand_rng rng;
    strand_rng_seed(&rng, 3);
    float *qkv = zeros(B * L * 3 * D), *cs = zeros((L + off) * hd), *sn = zeros((L + off) * hd);
    for (size_t i = 0; i < B * L * 3 * D; i++) qkv[i] = (float)strand_rng_normal(&rng);
    rope_tables(cs, sn, L + off, hd, 10000.0f);
    float *o1 = zeros(B * L * D), *o2 = zeros(B * L * D), *qr = zeros(B * L * 2 * D), *att = zeros(B * H * L * L);
    attention_forward(o1, qr, att, qkv, cs, sn, NULL, B, L, D, H);
    attention_forward(o2, qr, att, qkv, cs + off * hd, sn + off * hd, NULL, B, L, D, H);
    CHECK_CLOSE("attention(rope offset 5) == attention", o2, o1, B * L * D, 2e-5);
    /* and a different rotation convention (interleaved pairs) would not be invariant; check the
     * output actually depends on positions: swapping two keys changes it */
    float *o3 = zeros(B * L * D);
    for (size_t c = D; c < 2 * D; c++) {
        float t = qkv[1 * 3 * D + c];
        qkv[1 * 3 * D + c] = qkv[4 * 3 * D + c];
        qkv[4 * 3 * D + c] = t;
    }
    attention_forward(o3, qr, att, qkv, cs, sn, NULL, B, L, D, H);
    double m = 0;
    for (size_t i = 0; i < B * L * D; i++) m = fmax(m, fabs(o3[i] - o1[i]));
    fprintf(stderr, "    moving two keys changes the output by %.3g (must be > 1e-3)\n", m);
    CU_ASSERT(m > 1e-3);
    free(qkv); free(cs); free(sn); free(o1); free(o2); free(o3); free(qr); free(att);
}

/* ---- embeddings ------------------------------------------------------------------------------------- */
typedef struct { float *E, *P, *out, *r; size_t BT, V, D; } emb_ctx;
static double emb_loss(void *c)
{
    emb_ctx *k = c;
    embedding_soft_forward(k->out, k->P, k->E, k->BT, k->V, k->D);
    return fx_dot(k->out, k->r, k->BT * k->D);
}

typedef struct { float *E, *out, *r; const int32_t *ids; size_t BT, V, D; } ids_ctx;
static double ids_loss(void *c)
{
    ids_ctx *k = c;
    embedding_forward(k->out, k->ids, k->E, k->BT, k->V, k->D);
    return fx_dot(k->out, k->r, k->BT * k->D);
}

static void test_embedding(void)
{
    sft_file *f = fx_open("embedding");
    const sft_tensor *te = sft_find(f, "E");
    CU_ASSERT_FATAL(te && te->ndim == 2);
    size_t V = (size_t)te->shape[0], D = (size_t)te->shape[1], BT;
    float *E = fx_f32(f, "E", NULL), *r = fx_f32(f, "r", NULL), *want = fx_f32(f, "out", NULL),
          *gE = fx_f32(f, "grad.E", NULL);
    int32_t *ids = fx_i32(f, "ids", &BT);
    float *out = zeros(BT * D), *dE = zeros(V * D);
    CU_ASSERT_EQUAL(embedding_forward(out, ids, E, BT, V, D), 0);
    CHECK_CLOSE("embedding forward", out, want, BT * D, 0);
    embedding_backward(dE, r, ids, BT, D);
    CHECK_CLOSE("embedding dE (repeated ids accumulate)", dE, gE, V * D, TOL);
    ids_ctx ic = {E, out, r, ids, BT, V, D};
    CU_ASSERT(fx_gradcheck("embedding dE", ids_loss, &ic, E, dE, V * D, 1000, FD_EPS, FD_BOUND) <= 1.0);
    ids_loss(&ic);
    /* ids lookup == one-hot matrix product */
    float *P = zeros(BT * V), *o2 = zeros(BT * D);
    for (size_t t = 0; t < BT; t++) P[t * V + (size_t)ids[t]] = 1.0f;
    embedding_soft_forward(o2, P, E, BT, V, D);
    CHECK_CLOSE("one-hot P·E == lookup", o2, out, BT * D, 1e-7);
    /* an id out of range is an error naming the position */
    ids[3] = (int32_t)V;
    CU_ASSERT_EQUAL(embedding_forward(out, ids, E, BT, V, D), STRAND_E_RANGE);
    fprintf(stderr, "    bad id -> \"%s\"\n", strand_last_error());
    CU_ASSERT(strstr(strand_last_error(), "position 3") != NULL);
    ids[3] = -1;
    CU_ASSERT_EQUAL(embedding_forward(out, ids, E, BT, V, D), STRAND_E_RANGE);
    free(E); free(r); free(want); free(gE); free(ids); free(out); free(dE); free(P); free(o2);
    sft_close(f);

    f = fx_open("embedding_soft");
    emb_ctx k = {0};
    const sft_tensor *tp = sft_find(f, "P");
    te = sft_find(f, "E");
    CU_ASSERT_FATAL(tp && te);
    k.V = (size_t)te->shape[0];
    k.D = (size_t)te->shape[1];
    k.BT = tp->numel / k.V;
    k.E = fx_f32(f, "E", NULL);
    k.P = fx_f32(f, "P", NULL);
    k.r = fx_f32(f, "r", NULL);
    k.out = zeros(k.BT * k.D);
    want = fx_f32(f, "out", NULL);
    emb_loss(&k);
    CHECK_CLOSE("soft embedding forward", k.out, want, k.BT * k.D, TOL);
    float *dP = zeros(k.BT * k.V);
    dE = zeros(k.V * k.D);
    embedding_soft_backward(dP, dE, k.r, k.P, k.E, k.BT, k.V, k.D);
    float *gP = fx_f32(f, "grad.P", NULL);
    gE = fx_f32(f, "grad.E", NULL);
    CHECK_CLOSE("soft embedding dP", dP, gP, k.BT * k.V, TOL);
    CHECK_CLOSE("soft embedding dE", dE, gE, k.V * k.D, TOL);
    CU_ASSERT(fx_gradcheck("soft embedding dP", emb_loss, &k, k.P, dP, k.BT * k.V, 1000, FD_EPS, FD_BOUND) <= 1.0);
    CU_ASSERT(fx_gradcheck("soft embedding dE", emb_loss, &k, k.E, dE, k.V * k.D, 1000, FD_EPS, FD_BOUND) <= 1.0);
    free(k.E); free(k.P); free(k.r); free(k.out); free(want); free(dP); free(dE); free(gP); free(gE);
    sft_close(f);
}

/* ---- timestep embedding ------------------------------------------------------------------------- */
typedef struct { float *sigma, *w0, *b0, *w2, *b2, *out, *freq, *h, *a, *r; size_t B, cond; } ts_ctx;
static double ts_loss(void *c)
{
    ts_ctx *k = c;
    timestep_forward(k->out, k->freq, k->h, k->a, k->sigma, k->w0, k->b0, k->w2, k->b2, k->B, k->cond);
    return fx_dot(k->out, k->r, k->B * k->cond);
}

static void test_timestep(void)
{
    sft_file *f = fx_open("timestep");
    ts_ctx k = {0};
    size_t nw0, nb0, nw2;
    k.sigma = fx_f32(f, "sigma", &k.B);
    k.w0 = fx_f32(f, "w0", &nw0);
    k.b0 = fx_f32(f, "b0", &nb0);
    k.w2 = fx_f32(f, "w2", &nw2);
    k.b2 = fx_f32(f, "b2", NULL);
    k.r = fx_f32(f, "r", NULL);
    k.cond = nb0;
    CU_ASSERT_FATAL(nw0 == k.cond * TIMESTEP_FREQ_DIM);
    k.out = zeros(k.B * k.cond);
    k.freq = zeros(k.B * TIMESTEP_FREQ_DIM);
    k.h = zeros(k.B * k.cond);
    k.a = zeros(k.B * k.cond);
    ts_loss(&k);
    float *wf = fx_f32(f, "freq", NULL), *want = fx_f32(f, "out", NULL);
    CHECK_CLOSE("sinusoidal [cos|sin] of sigma", k.freq, wf, k.B * TIMESTEP_FREQ_DIM, 1e-6);
    CHECK_CLOSE("timestep embedding forward", k.out, want, k.B * k.cond, TOL);
    float *dw0 = zeros(nw0), *db0 = zeros(nb0), *dw2 = zeros(nw2), *db2 = zeros(k.cond), *scr = zeros(k.B * k.cond);
    timestep_backward(dw0, db0, dw2, db2, scr, k.r, k.freq, k.h, k.a, k.w2, k.B, k.cond);
    struct { const char *n; float *g, *p; size_t len; } g[] = {
        {"w0", dw0, k.w0, nw0}, {"b0", db0, k.b0, nb0}, {"w2", dw2, k.w2, nw2}, {"b2", db2, k.b2, k.cond}};
    for (size_t i = 0; i < 4; i++) {
        char nm[32], what[64];
        snprintf(nm, sizeof nm, "grad.%s", g[i].n);
        float *w = fx_f32(f, nm, NULL);
        snprintf(what, sizeof what, "timestep d%s", g[i].n);
        CHECK_CLOSE(what, g[i].g, w, g[i].len, TOL);
        CU_ASSERT(fx_gradcheck(what, ts_loss, &k, g[i].p, g[i].g, g[i].len, 400, FD_EPS, FD_BOUND) <= 1.0);
        free(w);
    }
    free(k.sigma); free(k.w0); free(k.b0); free(k.w2); free(k.b2); free(k.r); free(k.out); free(k.freq); free(k.h);
    free(k.a); free(wf); free(want); free(dw0); free(db0); free(dw2); free(db2); free(scr);
    sft_close(f);
}

/* ---- softmax / log-softmax / cross-entropy --------------------------------------------------------- */
typedef struct { float *x, *out, *r; size_t BT, V; int log; } sm_ctx;
static double sm_loss(void *c)
{
    sm_ctx *k = c;
    if (k->log) log_softmax_forward(k->out, k->x, k->BT, k->V);
    else softmax_forward(k->out, k->x, k->BT, k->V);
    return fx_dot(k->out, k->r, k->BT * k->V);
}

static void check_softmax(int lg)
{
    const char *nm = lg ? "log_softmax" : "softmax";
    sft_file *f = fx_open(nm);
    const sft_tensor *tx = sft_find(f, "x");
    CU_ASSERT_FATAL(tx && tx->ndim == 2);
    sm_ctx k = {fx_f32(f, "x", NULL), NULL, fx_f32(f, "r", NULL), (size_t)tx->shape[0], (size_t)tx->shape[1], lg};
    size_t n = k.BT * k.V;
    k.out = zeros(n);
    float *want = fx_f32(f, "out", NULL), *gx = fx_f32(f, "grad.x", NULL), *dx = zeros(n);
    sm_loss(&k);
    char what[64];
    snprintf(what, sizeof what, "%s forward", nm);
    CHECK_CLOSE(what, k.out, want, n, TOL);
    if (lg) log_softmax_backward(dx, k.r, k.out, k.BT, k.V);
    else softmax_backward(dx, k.r, k.out, k.BT, k.V);
    snprintf(what, sizeof what, "%s dx", nm);
    CHECK_CLOSE(what, dx, gx, n, TOL);
    CU_ASSERT(fx_gradcheck(what, sm_loss, &k, k.x, dx, n, 1000, FD_EPS, FD_BOUND) <= 1.0);
    sm_loss(&k); /* fd_check leaves the last perturbed output behind */
    /* shift invariance: adding a constant to a row changes nothing */
    float *x2 = malloc(n * sizeof(float)), *o2 = zeros(n);
    for (size_t i = 0; i < n; i++) x2[i] = k.x[i] + 50.0f;
    if (lg) log_softmax_forward(o2, x2, k.BT, k.V);
    else softmax_forward(o2, x2, k.BT, k.V);
    snprintf(what, sizeof what, "%s(x + 50) == %s(x)", nm, nm);
    CHECK_CLOSE(what, o2, k.out, n, 2e-5);
    free(k.x); free(k.r); free(k.out); free(want); free(gx); free(dx); free(x2); free(o2);
    sft_close(f);
}
static void test_softmax(void) { check_softmax(0); }
static void test_log_softmax(void) { check_softmax(1); }

typedef struct { float *x, *w; int32_t *t; size_t BT, V; } ce_ctx;
static double ce_loss(void *c)
{
    ce_ctx *k = c;
    float loss = 0;
    crossentropy_forward(&loss, NULL, NULL, k->x, k->t, k->w, -100, 0.0f, k->BT, k->V);
    return loss;
}

static void test_crossentropy(void)
{
    sft_file *f = fx_open("crossentropy");
    const sft_tensor *tx = sft_find(f, "x");
    CU_ASSERT_FATAL(tx && tx->ndim == 2);
    ce_ctx k = {fx_f32(f, "x", NULL), fx_f32(f, "weights", NULL), fx_i32(f, "targets", NULL), (size_t)tx->shape[0],
                (size_t)tx->shape[1]};
    size_t n = k.BT * k.V;
    float *wl = fx_f32(f, "loss", NULL), *gx = fx_f32(f, "grad.x", NULL), *lse = zeros(k.BT), *dx = zeros(n);
    float loss = -1, norm = 0;
    CU_ASSERT_EQUAL(crossentropy_forward(&loss, lse, &norm, k.x, k.t, k.w, -100, 0.0f, k.BT, k.V), 0);
    CHECK_CLOSE("cross-entropy loss", &loss, wl, 1, TOL);
    CU_ASSERT_EQUAL(norm, (float)(k.BT - 2)); /* two ignored tokens */
    crossentropy_backward(dx, 1.0f, k.x, lse, k.t, k.w, -100, norm, k.BT, k.V);
    CHECK_CLOSE("cross-entropy dlogits", dx, gx, n, TOL);
    CU_ASSERT(fx_gradcheck("cross-entropy dlogits", ce_loss, &k, k.x, dx, n, 1000, FD_EPS, FD_BOUND) <= 1.0);
    /* ignored rows get exactly zero gradient */
    for (size_t i = 0; i < k.V; i++) CU_ASSERT_EQUAL(dx[2 * k.V + i], 0.0f);
    /* an out-of-range target is an error; all ignored gives loss 0 */
    int32_t save = k.t[4];
    k.t[4] = (int32_t)k.V;
    CU_ASSERT_EQUAL(crossentropy_forward(&loss, lse, &norm, k.x, k.t, k.w, -100, 0.0f, k.BT, k.V), STRAND_E_RANGE);
    fprintf(stderr, "    bad target -> \"%s\"\n", strand_last_error());
    k.t[4] = save;
    int32_t *ign = malloc(k.BT * sizeof(int32_t));
    for (size_t i = 0; i < k.BT; i++) ign[i] = -100;
    CU_ASSERT_EQUAL(crossentropy_forward(&loss, lse, &norm, k.x, ign, NULL, -100, 0.0f, k.BT, k.V), 0);
    CU_ASSERT_EQUAL(loss, 0.0f);
    free(ign); free(k.x); free(k.w); free(k.t); free(wl); free(gx); free(lse); free(dx);
    sft_close(f);
}

/* core/gemm: every layout (op(A), op(B)), tails in M, N and K (K past one k block), alpha, accumulate
 * against the double-precision loops (|diff| <= 1e-5 K); with the own kernel, each row computed alone
 * gives bitwise that row of the whole product. */
static void test_gemm(void)
{
    struct { size_t M, N, K; } sh[] = {{1, 1, 1}, {13, 33, 7}, {37, 40, 96}, {130, 17, 385}, {25, 70, 800}};
    strand_rng r;
    strand_rng_seed(&r, 3);
    for (size_t q = 0; q < sizeof sh / sizeof sh[0]; q++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int acc = 0; acc < 2; acc++) {
                    size_t M = sh[q].M, N = sh[q].N, K = sh[q].K, lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5;
                    size_t ldc = N + 2, na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb;
                    float *A = malloc(na * sizeof(float)), *B = malloc(nb * sizeof(float));
                    float *C = malloc(M * ldc * sizeof(float)), *R = malloc(M * ldc * sizeof(float));
                    float *C1 = malloc(M * ldc * sizeof(float));
                    for (size_t i = 0; i < na; i++) A[i] = (float)strand_rng_normal(&r);
                    for (size_t i = 0; i < nb; i++) B[i] = (float)strand_rng_normal(&r);
                    for (size_t i = 0; i < M * ldc; i++) C[i] = R[i] = C1[i] = (float)strand_rng_normal(&r);
                    float alpha = acc ? 0.5f : 1.0f;
                    gemm(C, ldc, ta, A, lda, tb, B, ldb, M, N, K, alpha, acc);
                    gemm_ref(R, ldc, ta, A, lda, tb, B, ldb, M, N, K, alpha, acc);
                    double worst = 0;
                    for (size_t i = 0; i < M; i++)
                        for (size_t j = 0; j < ldc; j++) {
                            double d = fabs((double)C[i * ldc + j] - R[i * ldc + j]) / (1e-5 * (double)K);
                            if (j >= N) d = C[i * ldc + j] != R[i * ldc + j] ? INFINITY : 0; /* padding untouched */
                            worst = fmax(worst, d);
                        }
                    if (worst > 1.0)
                        fprintf(stderr, "    gemm M %zu N %zu K %zu ta %d tb %d acc %d: |C - ref| / (1e-5 K) = %.3g\n", M,
                                N, K, ta, tb, acc, worst);
                    CU_ASSERT(worst <= 1.0);
                    if (gemm_own()) {
                        int same = 1;
                        for (size_t i = 0; i < M; i++) { /* row i alone */
                            const float *Ai = ta ? A + i : A + i * lda;
                            gemm(C1 + i * ldc, ldc, ta, Ai, lda, tb, B, ldb, 1, N, K, alpha, acc);
                        }
                        same &= memcmp(C, C1, M * ldc * sizeof(float)) == 0;
                        if (!same) fprintf(stderr, "    gemm M %zu N %zu K %zu ta %d tb %d: row alone differs\n", M, N, K, ta, tb);
                        CU_ASSERT(same);
                    }
                    free(A), free(B), free(C), free(R), free(C1);
                }
}

/* STRAND_GEMM=blas selects OpenBLAS for every product (the ctest entries *_blas run this file, test_dit,
 * test_mamba, test_caduceus, test_sampler and test_classifier so): the switch must take effect, or those
 * entries would test the own kernel twice. */
static void test_gemm_backend(void)
{
    const char *env = getenv("STRAND_GEMM");
    int blas = env && !strcmp(env, "blas");
    fprintf(stderr, "    gemm backend: %s\n", gemm_own() ? "own AVX-512 kernel" : "OpenBLAS");
    if (blas) CU_ASSERT(!gemm_own());
}

/* the own kernel's result at 1 and 2 threads on a product big enough to split (row blocks) */
static void test_gemm_threads(void)
{
    size_t M = 500, N = 300, K = 700;
    strand_rng r;
    strand_rng_seed(&r, 4);
    float *A = malloc(M * K * sizeof(float)), *W = malloc(N * K * sizeof(float));
    float *C1 = malloc(M * N * sizeof(float)), *C2 = malloc(M * N * sizeof(float));
    for (size_t i = 0; i < M * K; i++) A[i] = (float)strand_rng_normal(&r);
    for (size_t i = 0; i < N * K; i++) W[i] = (float)strand_rng_normal(&r);
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    gemm_nt(C1, N, A, K, W, M, N, K, 0);
    omp_set_num_threads(2);
    gemm_nt(C2, N, A, K, W, M, N, K, 0);
    omp_set_num_threads(nt);
    CU_ASSERT(memcmp(C1, C2, M * N * sizeof(float)) == 0);
    free(A), free(W), free(C1), free(C2);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("layers", NULL, NULL);
    ADD_TEST(s, test_linear);
    ADD_TEST(s, test_rmsnorm);
    ADD_TEST(s, test_layernorm);
    ADD_TEST(s, test_gelu);
    ADD_TEST(s, test_silu);
    ADD_TEST(s, test_mlp);
    ADD_TEST(s, test_adaln);
    ADD_TEST(s, test_attention);
    ADD_TEST(s, test_attention_hd8);
    ADD_TEST(s, test_attention_mask);
    ADD_TEST(s, test_attention_rope_shift);
    ADD_TEST(s, test_embedding);
    ADD_TEST(s, test_timestep);
    ADD_TEST(s, test_softmax);
    ADD_TEST(s, test_log_softmax);
    ADD_TEST(s, test_crossentropy);
    ADD_TEST(s, test_gemm);
    ADD_TEST(s, test_gemm_threads);
    ADD_TEST(s, test_gemm_backend);
}
