/* core/mamba: the Mamba block (docs/mamba.md) against the float64 PyTorch reference
 * (tests/reference/mamba.py → tests/data/mamba/mamba_block.safetensors), finite differences,
 * fast scan == reference scan over several chunks, recurrent step == parallel forward,
 * inference == training forward, the scan's exp approximation against expf. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/mamba.h"
#include "core/mamba_scan.h"
#include "core/mamba_math.h"
#include "core/paramblock.h"
#include "fixture_util.h"
#include "strand.h"
#include "test_util.h"

/* ---- exp ------------------------------------------------------------------------------------ */
static void test_exp_accuracy(void)
{
    enum { N = 200001 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) x[i] = -87.0f + 175.0f * (float)i / (N - 1);
    mamba_exp_array(y, x, N);
    double worst = 0;
    int wi = 0;
    for (int i = 0; i < N; i++) {
        double fe = expf(x[i]);
        if (fabs(y[i] - fe) / fe > worst) worst = fabs(y[i] - fe) / fe, wi = i;
    }
    fprintf(stderr, "    fast exp vs expf on [-87, 88]: max rel err %.3g at x=%.6g\n", worst, x[wi]);
    CU_ASSERT(worst <= 1e-6);
    /* the scan only feeds Δ·A ≤ 0: very negative arguments must give 0 or a tiny value, never NaN */
    float big[4] = {-87.5f, -100.0f, -1e4f, -INFINITY}, out[4];
    mamba_exp_array(out, big, 4);
    for (int i = 0; i < 4; i++) CU_ASSERT(out[i] >= 0.0f && out[i] < 1e-37f);
    free(x);
    free(y);
}

/* The branch-free softplus / sigmoid / SiLU of core/mamba_math.h against double-precision
 * formulas: ≤ 1e-6 relative (plus 1e-30 absolute for results that underflow). */
static void test_pointwise_accuracy(void)
{
    double ws = 0, wg = 0, wl = 0;
    float xs = 0, xg = 0, xl = 0;
    for (int i = 0; i <= 400000; i++) {
        float v = -100.0f + 200.0f * (float)i / 400000.0f;
        double dv = v;
        double sp = dv > 20 ? dv : log1p(exp(dv)), sg = 1 / (1 + exp(-dv)), sl = dv * sg;
        double es = fabs(mm_softplus(v) - sp) / (fabs(sp) + 1e-30 / 1e-6);
        double eg = fabs(mm_sigmoid(v) - sg) / (fabs(sg) + 1e-30 / 1e-6);
        double el = fabs(mm_silu(v) - sl) / (fabs(sl) + 1e-30 / 1e-6);
        if (es > ws) ws = es, xs = v;
        if (eg > wg) wg = eg, xg = v;
        if (el > wl) wl = el, xl = v;
    }
    fprintf(stderr, "    softplus max rel err %.3g at %g; sigmoid %.3g at %g; silu %.3g at %g\n", ws, xs, wg, xg, wl, xl);
    CU_ASSERT(ws <= 1e-6);
    CU_ASSERT(wg <= 1e-6);
    CU_ASSERT(wl <= 1e-6);
    /* tiny arguments of log1p stay accurate (the 1 + u = 1 case) */
    float t = mm_softplus(-30.0f);
    CU_ASSERT(fabs(t - exp(-30.0)) <= 1e-6 * exp(-30.0));
}

/* ---- a block loaded from the fixture --------------------------------------------------------- */
typedef struct blk {
    mamba_dims d;
    size_t B, L;
    paramblock pb;
    int idx[MAMBA_NPARAM];
    mamba_params w, g;
    float *u, *out, *xz, *o, *cmem, *Rc, *scratch, *du;
    mamba_cache c;
} blk;

static void blk_alloc(blk *k, size_t D, size_t B, size_t L, size_t chunk)
{
    memset(k, 0, sizeof *k);
    mamba_dims_default(&k->d, D);
    k->d.chunk = chunk;
    k->B = B, k->L = L;
    pb_init(&k->pb);
    CU_ASSERT_EQUAL_FATAL(mamba_declare(&k->pb, "", &k->d, 1, k->idx), 0);
    CU_ASSERT_EQUAL_FATAL(pb_alloc(&k->pb), 0);
    mamba_bind(&k->w, &k->g, &k->pb, k->idx);
    size_t BL = B * L, di = k->d.d_inner;
    k->u = calloc(BL * D, sizeof(float));
    k->out = calloc(BL * D, sizeof(float));
    k->Rc = calloc(BL * D, sizeof(float));
    k->du = calloc(BL * D, sizeof(float));
    k->xz = calloc(BL * 2 * di, sizeof(float));
    k->o = calloc(BL * di, sizeof(float));
    k->cmem = calloc(mamba_cache_floats(&k->d, B, L, 1), sizeof(float));
    k->scratch = calloc(mamba_backward_scratch_floats(&k->d, B, L), sizeof(float));
    mamba_cache_point(&k->c, k->cmem, &k->d, B, L, 1);
}

static void blk_free(blk *k)
{
    pb_free(&k->pb);
    free(k->u), free(k->out), free(k->Rc), free(k->du), free(k->xz), free(k->o), free(k->cmem);
    free(k->scratch);
}

static double blk_loss(void *ctx)
{
    blk *k = ctx;
    mamba_forward(k->out, k->xz, k->o, &k->c, k->u, &k->w, &k->d, k->B, k->L);
    return fx_dot(k->out, k->Rc, k->B * k->L * k->d.D);
}

static void blk_backward(blk *k)
{
    pb_zero_grad(&k->pb);
    memset(k->du, 0, k->B * k->L * k->d.D * sizeof(float));
    blk_loss(k);
    CU_ASSERT_EQUAL(mamba_backward(k->du, &k->g, k->Rc, k->u, k->xz, k->o, &k->c, &k->w, &k->d, k->B, k->L,
                                   k->scratch),
                    0);
}

static void test_block_vs_pytorch(void)
{
    sft_file *f = fx_open_path("mamba/mamba_block.safetensors");
    const sft_tensor *tu = sft_find(f, "u");
    CU_ASSERT_FATAL(tu && tu->ndim == 3);
    blk k;
    /* chunk 5 over L = 12: three chunks, so the checkpointed backward is exercised */
    blk_alloc(&k, (size_t)tu->shape[2], (size_t)tu->shape[0], (size_t)tu->shape[1], 5);
    CU_ASSERT_EQUAL_FATAL(pb_load(&k.pb, f, ""), 0);
    size_t n = k.B * k.L * k.d.D;
    CU_ASSERT_EQUAL(sft_read_f32(f, "u", k.u, n), 0);
    CU_ASSERT_EQUAL(sft_read_f32(f, "Rc", k.Rc, n), 0);
    float *want = fx_f32(f, "out", NULL);
    blk_backward(&k);
    CHECK_CLOSE("mamba out", k.out, want, n, 1e-4);
    free(want);
    float *gu = fx_f32(f, "grad.u", NULL);
    CHECK_REL("grad.u", k.du, gu, n, 1e-3);
    free(gu);
    for (int p = 0; p < MAMBA_NPARAM; p++) {
        char nm[128];
        snprintf(nm, sizeof nm, "grad.%s", mamba_param_names[p]);
        size_t m;
        float *gw = fx_f32(f, nm, &m);
        CU_ASSERT_EQUAL(m, k.pb.entries[k.idx[p]].numel);
        CHECK_REL(nm, k.g.p[p], gw, m, 1e-3);
        free(gw);
    }
    blk_free(&k);
    sft_close(f);
}

static void test_block_finite_differences(void)
{
    sft_file *f = fx_open_path("mamba/mamba_block.safetensors");
    blk k;
    blk_alloc(&k, 16, 2, 12, 4);
    CU_ASSERT_EQUAL_FATAL(pb_load(&k.pb, f, ""), 0);
    size_t n = k.B * k.L * k.d.D;
    sft_read_f32(f, "u", k.u, n);
    sft_read_f32(f, "Rc", k.Rc, n);
    sft_close(f);
    blk_backward(&k);
    /* float forward, loss summed in double, h = 1e-2: truncation ~h², rounding ~1e-7·|loss|/h;
     * bound 2e-2 of the tensor's largest gradient + 1e-6 */
    CU_ASSERT(fx_gradcheck("du", blk_loss, &k, k.u, k.du, n, 24, 1e-2, (fx_tol){1e-6, 2e-2, 0, 0}) <= 1.0);
    for (int p = 0; p < MAMBA_NPARAM; p++) {
        size_t m = k.pb.entries[k.idx[p]].numel;
        float *an = malloc(m * sizeof(float));
        memcpy(an, k.g.p[p], m * sizeof(float));
        CU_ASSERT(fx_gradcheck(mamba_param_names[p], blk_loss, &k, k.w.p[p], an, m, 16, 1e-2, (fx_tol){1e-6, 2e-2, 0, 0}) <= 1.0);
        free(an);
    }
    blk_free(&k);
}

/* Inference (no checkpoints, in-place temporaries) gives the training forward's output, and a
 * different chunk size does not change forward or backward. */
static void test_inference_equals_training(void)
{
    strand_rng r;
    strand_rng_seed(&r, 11);
    blk a, b;
    blk_alloc(&a, 16, 2, 70, 256);
    blk_alloc(&b, 16, 2, 70, 16);
    strand_rng rr = r;
    mamba_init(&a.w, &a.d, 2, &rr);
    memcpy(b.pb.params, a.pb.params, a.pb.total * sizeof(float));
    size_t n = a.B * a.L * a.d.D;
    fx_randn(a.u, n, &r, 1.0f);
    fx_randn(a.Rc, n, &r, 1.0f);
    memcpy(b.u, a.u, n * sizeof(float));
    memcpy(b.Rc, a.Rc, n * sizeof(float));
    blk_backward(&a);
    blk_backward(&b);
    CHECK_CLOSE("chunk 256 vs 16: out", a.out, b.out, n, 0.0);
    CHECK_REL("chunk 256 vs 16: du", a.du, b.du, n, 1e-6);
    CHECK_REL("chunk 256 vs 16: grads", a.pb.grads, b.pb.grads, a.pb.total, 1e-6);
    /* inference cache */
    size_t BL = a.B * a.L;
    float *mem = calloc(mamba_cache_floats(&a.d, a.B, a.L, 0), sizeof(float));
    float *out = calloc(n, sizeof(float)), *xz = calloc(BL * 2 * a.d.d_inner, sizeof(float));
    float *o = calloc(BL * a.d.d_inner, sizeof(float));
    mamba_cache c;
    mamba_cache_point(&c, mem, &a.d, a.B, a.L, 0);
    CU_ASSERT_PTR_NULL(c.hck);
    mamba_forward(out, xz, o, &c, a.u, &a.w, &a.d, a.B, a.L);
    CHECK_CLOSE("inference vs training out", out, a.out, n, 0.0);
    /* backward refuses an inference cache */
    CU_ASSERT_EQUAL(mamba_backward(a.du, &a.g, a.Rc, a.u, xz, o, &c, &a.w, &a.d, a.B, a.L, a.scratch),
                    STRAND_E_ARG);
    /* inference in pieces (issue 4): carried conv inputs and scan state reproduce the whole
     * sequence; pieces shorter than the K−1 = 3 conv history and longer ones, both sequences */
    static const size_t piece[] = {1, 2, 1, 5, 3, 13, 2, 7, 36}; /* sums to L = 70 */
    size_t di = a.d.d_inner, K = a.d.d_conv, maxp = 36;
    float *pm = calloc(mamba_cache_floats(&a.d, a.B, maxp, 0), sizeof(float));
    float *pxz = calloc(a.B * maxp * 2 * di, sizeof(float)), *po = calloc(a.B * maxp * di, sizeof(float));
    float *conv_x = calloc(a.B * (K - 1) * di, sizeof(float)), *h = calloc(a.B * di * a.d.d_state, sizeof(float));
    float *oc = calloc(BL * di, sizeof(float));
    mamba_cache pc;
    mamba_cache_point(&pc, pm, &a.d, a.B, maxp, 0);
    size_t t0 = 0;
    for (size_t pi = 0; pi < sizeof piece / sizeof piece[0]; pi++) {
        size_t n = piece[pi];
        for (size_t bb = 0; bb < a.B; bb++)
            memcpy(pxz + bb * n * 2 * di, a.xz + (bb * a.L + t0) * 2 * di, n * 2 * di * sizeof(float));
        mamba_inner_forward_carry(po, &pc, pxz, conv_x, h, &a.w, &a.d, a.B, n);
        for (size_t bb = 0; bb < a.B; bb++)
            memcpy(oc + (bb * a.L + t0) * di, po + bb * n * di, n * di * sizeof(float));
        t0 += n;
    }
    CU_ASSERT_EQUAL(t0, a.L);
    CHECK_REL("inner forward in pieces vs whole", oc, a.o, BL * di, 1e-6);
    free(pm), free(pxz), free(po), free(conv_x), free(h), free(oc);
    free(mem), free(out), free(xz), free(o);
    blk_free(&a);
    blk_free(&b);
}

/* Token-by-token recurrence == the parallel forward. */
static void test_step_equals_parallel(void)
{
    strand_rng r;
    strand_rng_seed(&r, 5);
    blk k;
    blk_alloc(&k, 24, 3, 40, 256);
    mamba_init(&k.w, &k.d, 1, &r);
    /* perturb A_log, D, conv bias so every term matters */
    for (size_t i = 0; i < k.d.d_inner * 16; i++) k.w.p[MAMBA_A_LOG][i] += (float)(0.3 * strand_rng_normal(&r));
    for (size_t i = 0; i < k.d.d_inner; i++) k.w.p[MAMBA_DSKIP][i] += (float)(0.5 * strand_rng_normal(&r));
    size_t D = k.d.D, B = k.B, L = k.L, di = k.d.d_inner;
    fx_randn(k.u, B * L * D, &r, 1.0f);
    blk_loss(&k);
    float *cs = calloc(B * di * 3, sizeof(float)), *ss = calloc(B * di * 16, sizeof(float));
    float *sc = calloc(mamba_step_scratch_floats(&k.d, B), sizeof(float));
    float *ut = malloc(B * D * sizeof(float)), *ot = malloc(B * D * sizeof(float));
    float *seq = malloc(B * L * D * sizeof(float));
    for (size_t t = 0; t < L; t++) {
        for (size_t b = 0; b < B; b++) memcpy(ut + b * D, k.u + (b * L + t) * D, D * sizeof(float));
        mamba_step(ot, cs, ss, ut, &k.w, &k.d, B, sc);
        for (size_t b = 0; b < B; b++) memcpy(seq + (b * L + t) * D, ot + b * D, D * sizeof(float));
    }
    CHECK_CLOSE("step vs parallel", seq, k.out, B * L * D, 1e-5);
    free(cs), free(ss), free(sc), free(ut), free(ot), free(seq);
    blk_free(&k);
}

/* ---- scans --------------------------------------------------------------------------------- */
static void scan_compare(size_t B, size_t L, size_t di, size_t chunk, uint64_t seed)
{
    strand_rng r;
    strand_rng_seed(&r, seed);
    size_t ns = 16, stride = 3 + 2 * ns, BL = B * L, n = BL * di;
    mamba_scan_dims s = {B, L, di, ns, stride, chunk};
    float *x = malloc(n * 4), *dl = malloc(n * 4), *A = malloc(di * ns * 4), *bc = malloc(BL * stride * 4);
    float *Dk = malloc(di * 4), *dy = malloc(n * 4);
    fx_randn(x, n, &r, 1.0f);
    fx_randn(dy, n, &r, 1.0f);
    fx_randn(bc, BL * stride, &r, 1.0f);
    fx_randn(Dk, di, &r, 1.0f);
    for (size_t i = 0; i < n; i++) dl[i] = (float)(0.001 + 0.3 * strand_rng_uniform(&r));
    for (size_t i = 0; i < di * ns; i++) A[i] = -expf((float)(log((double)(i % ns) + 1) + 0.3 * strand_rng_normal(&r)));
    size_t nck = (L + chunk - 1) / chunk;
    float *y1 = calloc(n, 4), *y2 = calloc(n, 4), *hs = calloc(n * ns, 4), *hck = calloc(B * nck * di * ns, 4);
    mamba_scan_ref_forward(y1, hs, x, dl, A, bc + 3, Dk, &s);
    mamba_scan_forward(y2, hck, x, dl, A, bc + 3, Dk, &s);
    char what[128];
    snprintf(what, sizeof what, "scan %s y L=%zu chunk=%zu", mamba_scan_kernel_name(mamba_scan_kernel_active()), L, chunk);
    CHECK_REL(what, y2, y1, n, 1e-5);
    float *g1 = calloc(2 * n + di * ns + BL * stride + di, 4), *g2 = calloc(2 * n + di * ns + BL * stride + di, 4);
    float *p1[5] = {g1, g1 + n, g1 + 2 * n, g1 + 2 * n + di * ns, g1 + 2 * n + di * ns + BL * stride};
    float *p2[5] = {g2, g2 + n, g2 + 2 * n, g2 + 2 * n + di * ns, g2 + 2 * n + di * ns + BL * stride};
    mamba_scan_ref_backward(p1[0], p1[1], p1[2], p1[3] + 3, p1[4], dy, hs, x, dl, A, bc + 3, Dk, &s);
    CU_ASSERT_EQUAL(mamba_scan_backward(p2[0], p2[1], p2[2], p2[3] + 3, p2[4], dy, hck, x, dl, A, bc + 3, Dk, &s), 0);
    const char *nm[5] = {"dx", "ddelta", "dA", "dBC", "dD"};
    size_t len[5] = {n, n, di * ns, BL * stride, di};
    for (int i = 0; i < 5; i++) {
        snprintf(what, sizeof what, "scan %s %s L=%zu chunk=%zu", mamba_scan_kernel_name(mamba_scan_kernel_active()), nm[i], L, chunk);
        CHECK_REL(what, p2[i], p1[i], len[i], 1e-5);
    }
    /* the dt columns of dBC are not the scan's to touch */
    int untouched = 1;
    for (size_t bt = 0; bt < BL; bt++)
        for (int j = 0; j < 3; j++) untouched &= p2[3][bt * stride + j] == 0.0f;
    CU_ASSERT(untouched);
    free(x), free(dl), free(A), free(bc), free(Dk), free(dy), free(y1), free(y2), free(hs), free(hck);
    free(g1), free(g2);
}

/* Every kernel of core/mamba_scan.h this CPU can run, forced in turn, against the reference. */
static void test_fast_scan_equals_reference(void)
{
    mamba_scan_kernel ks[] = {MAMBA_SCAN_PORTABLE, MAMBA_SCAN_AVX512};
    int ran = 0;
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        if (!mamba_scan_kernel_available(ks[i])) {
            CU_ASSERT_EQUAL(mamba_scan_set_kernel(ks[i]), STRAND_E_UNSUPPORTED);
            printf("\n  scan kernel %s: not available on this CPU, skipped ", mamba_scan_kernel_name(ks[i]));
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(mamba_scan_set_kernel(ks[i]), 0);
        CU_ASSERT_EQUAL(mamba_scan_kernel_active(), ks[i]);
        scan_compare(2, 100, 24, 16, 1);  /* 7 chunks, a partial last chunk, a partial channel block */
        scan_compare(1, 600, 16, 256, 2); /* default chunk: 3 chunks */
        scan_compare(3, 9, 40, 256, 3);   /* one short chunk */
        scan_compare(2, 70, 37, 32, 4);   /* 3 channel blocks, the last with 5 lanes */
        ran++;
    }
    CU_ASSERT(ran >= 1);
    CU_ASSERT_EQUAL(mamba_scan_set_kernel(MAMBA_SCAN_AUTO), 0);
    CU_ASSERT_NOT_EQUAL(mamba_scan_kernel_active(), MAMBA_SCAN_AUTO);
    CU_ASSERT_EQUAL(mamba_scan_set_kernel((mamba_scan_kernel)7), STRAND_E_ARG);
}

/* The carried-state inference scan in pieces == one whole forward, for every available kernel. */
static void test_scan_carry_all_kernels(void)
{
    mamba_scan_kernel ks[] = {MAMBA_SCAN_PORTABLE, MAMBA_SCAN_AVX512};
    size_t B = 2, L = 90, di = 21, ns = 16, stride = 2 * ns, n = B * L * di;
    strand_rng r;
    strand_rng_seed(&r, 11);
    float *x = malloc(n * 4), *dl = malloc(n * 4), *A = malloc(di * ns * 4), *bc = malloc(B * L * stride * 4);
    float *Dk = malloc(di * 4), *y1 = calloc(n, 4), *y2 = calloc(n, 4), *hs = calloc(n * ns, 4);
    fx_randn(x, n, &r, 1.0f);
    fx_randn(bc, B * L * stride, &r, 1.0f);
    fx_randn(Dk, di, &r, 1.0f);
    for (size_t i = 0; i < n; i++) dl[i] = (float)(0.001 + 0.3 * strand_rng_uniform(&r));
    for (size_t i = 0; i < di * ns; i++) A[i] = -(float)((i % ns) + 1);
    mamba_scan_dims s = {B, L, di, ns, stride, 256};
    mamba_scan_ref_forward(y1, hs, x, dl, A, bc, Dk, &s);
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        if (!mamba_scan_kernel_available(ks[i])) continue;
        CU_ASSERT_EQUAL_FATAL(mamba_scan_set_kernel(ks[i]), 0);
        /* pieces of 40, 40, 10 steps: rows of (B, piece, di) gathered from the whole sequence */
        float *h = calloc(B * di * ns, 4);
        size_t cuts[] = {0, 40, 80, 90};
        for (int p = 0; p < 3; p++) {
            size_t t0 = cuts[p], len = cuts[p + 1] - t0;
            float *px = malloc(B * len * di * 4), *pd = malloc(B * len * di * 4), *pb = malloc(B * len * stride * 4);
            float *py = malloc(B * len * di * 4);
            for (size_t b = 0; b < B; b++) {
                memcpy(px + b * len * di, x + (b * L + t0) * di, len * di * 4);
                memcpy(pd + b * len * di, dl + (b * L + t0) * di, len * di * 4);
                memcpy(pb + b * len * stride, bc + (b * L + t0) * stride, len * stride * 4);
            }
            mamba_scan_dims ps = {B, len, di, ns, stride, 256};
            mamba_scan_forward_carry(py, h, px, pd, A, pb, Dk, &ps);
            for (size_t b = 0; b < B; b++) memcpy(y2 + (b * L + t0) * di, py + b * len * di, len * di * 4);
            free(px), free(pd), free(pb), free(py);
        }
        char what[64];
        snprintf(what, sizeof what, "carried scan (%s)", mamba_scan_kernel_name(ks[i]));
        CHECK_REL(what, y2, y1, n, 1e-5);
        free(h);
    }
    mamba_scan_set_kernel(MAMBA_SCAN_AUTO);
    free(x), free(dl), free(A), free(bc), free(Dk), free(y1), free(y2), free(hs);
}

/* 1 thread and 2 threads give the same numbers. */
static void test_threads_agree(void)
{
    strand_rng r;
    strand_rng_seed(&r, 9);
    blk a;
    blk_alloc(&a, 32, 2, 300, 64); /* B·L·d_inner = 38400 ≥ MAMBA_PAR_MIN: really parallel */
    CU_ASSERT(a.B * a.L * a.d.d_inner >= MAMBA_PAR_MIN);
    mamba_init(&a.w, &a.d, 1, &r);
    size_t n = a.B * a.L * a.d.D;
    fx_randn(a.u, n, &r, 1.0f);
    fx_randn(a.Rc, n, &r, 1.0f);
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    blk_backward(&a);
    float *out1 = malloc(n * 4), *g1 = malloc(a.pb.total * 4);
    memcpy(out1, a.out, n * 4);
    memcpy(g1, a.pb.grads, a.pb.total * 4);
    omp_set_num_threads(2);
    blk_backward(&a);
    CHECK_CLOSE("1 vs 2 threads: out", a.out, out1, n, 0.0);
    CHECK_REL("1 vs 2 threads: grads", a.pb.grads, g1, a.pb.total, 1e-6);
    omp_set_num_threads(nt);
    free(out1), free(g1);
    blk_free(&a);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("mamba", NULL, NULL);
    ADD_TEST(s, test_exp_accuracy);
    ADD_TEST(s, test_pointwise_accuracy);
    ADD_TEST(s, test_fast_scan_equals_reference);
    ADD_TEST(s, test_scan_carry_all_kernels);
    ADD_TEST(s, test_block_vs_pytorch);
    ADD_TEST(s, test_block_finite_differences);
    ADD_TEST(s, test_inference_equals_training);
    ADD_TEST(s, test_step_equals_parallel);
    ADD_TEST(s, test_threads_agree);
}
