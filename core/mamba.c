/* Mamba block (docs/mamba.md): parameters, inner forward/backward around the scan, whole block, step. */
#include "core/mamba.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/linear.h"
#include "core/gemm.h"
#include "core/mamba_math.h"

const char *const mamba_param_names[MAMBA_NPARAM] = {
    "in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight",
    "dt_proj.bias",   "A_log",         "D",           "out_proj.weight"};

void mamba_dims_default(mamba_dims *d, size_t D)
{
    d->D = D;
    d->d_inner = 2 * D;
    d->d_state = MAMBA_D_STATE;
    d->dt_rank = (D + 15) / 16;
    d->d_conv = MAMBA_D_CONV;
    d->chunk = MAMBA_CHUNK_DEFAULT;
}

int mamba_param_shape(const mamba_dims *d, int k, int64_t s[4])
{
    int64_t D = (int64_t)d->D, di = (int64_t)d->d_inner, ns = (int64_t)d->d_state, R = (int64_t)d->dt_rank;
    switch (k) {
    case MAMBA_IN_PROJ: s[0] = 2 * di, s[1] = D; return 2;
    case MAMBA_CONV_W: s[0] = di, s[1] = 1, s[2] = (int64_t)d->d_conv; return 3;
    case MAMBA_CONV_B: s[0] = di; return 1;
    case MAMBA_X_PROJ: s[0] = R + 2 * ns, s[1] = di; return 2;
    case MAMBA_DT_W: s[0] = di, s[1] = R; return 2;
    case MAMBA_DT_B: s[0] = di; return 1;
    case MAMBA_A_LOG: s[0] = di, s[1] = ns; return 2;
    case MAMBA_DSKIP: s[0] = di; return 1;
    case MAMBA_OUT_PROJ: s[0] = D, s[1] = di; return 2;
    }
    return 0;
}

int mamba_declare(paramblock *pb, const char *prefix, const mamba_dims *d, int with_inout,
                  int idx[MAMBA_NPARAM])
{
    for (int k = 0; k < MAMBA_NPARAM; k++) {
        idx[k] = -1;
        if (!with_inout && (k == MAMBA_IN_PROJ || k == MAMBA_OUT_PROJ)) continue;
        char name[PB_NAME_MAX];
        int n = snprintf(name, sizeof name, "%s%s", prefix, mamba_param_names[k]);
        if (n < 0 || (size_t)n >= sizeof name)
            return st_err(NULL, STRAND_E_ARG, "mamba: parameter name \"%s%s\" too long", prefix,
                          mamba_param_names[k]);
        int64_t shape[4];
        int nd = mamba_param_shape(d, k, shape);
        /* docs/caduceus.md "Masked-LM pretraining": no weight decay on biases, A_log and D */
        int decay = k == MAMBA_IN_PROJ || k == MAMBA_CONV_W || k == MAMBA_X_PROJ || k == MAMBA_DT_W ||
                    k == MAMBA_OUT_PROJ;
        int rc = pb_add(pb, name, nd, shape, decay);
        if (rc < 0) return rc;
        idx[k] = rc;
    }
    return 0;
}

void mamba_bind(mamba_params *w, mamba_params *g, const paramblock *pb, const int idx[MAMBA_NPARAM])
{
    for (int k = 0; k < MAMBA_NPARAM; k++) {
        if (idx[k] < 0) continue;
        w->p[k] = pb_param(pb, idx[k]);
        if (g) g->p[k] = pb->grads ? pb_grad(pb, idx[k]) : NULL;
    }
}

void mamba_init(const mamba_params *w, const mamba_dims *d, int n_layer, strand_rng *rng)
{
    size_t D = d->D, di = d->d_inner, ns = d->d_state, R = d->dt_rank, K = d->d_conv;
    /* PyTorch Linear/Conv default: U(±1/sqrt(fan_in)) */
    float bin = 1.0f / sqrtf((float)D), bx = 1.0f / sqrtf((float)di), bc = 1.0f / sqrtf((float)K);
    float bdt = 1.0f / sqrtf((float)R), bout = bx / sqrtf((float)(n_layer > 0 ? n_layer : 1));
#define UNI(b) ((float)((2 * strand_rng_uniform(rng) - 1) * (b)))
    if (w->p[MAMBA_IN_PROJ])
        for (size_t i = 0; i < 2 * di * D; i++) w->p[MAMBA_IN_PROJ][i] = UNI(bin);
    for (size_t i = 0; i < di * K; i++) w->p[MAMBA_CONV_W][i] = UNI(bc);
    for (size_t i = 0; i < di; i++) w->p[MAMBA_CONV_B][i] = UNI(bc);
    for (size_t i = 0; i < (R + 2 * ns) * di; i++) w->p[MAMBA_X_PROJ][i] = UNI(bx);
    for (size_t i = 0; i < di * R; i++) w->p[MAMBA_DT_W][i] = UNI(bdt);
    for (size_t c = 0; c < di; c++) {
        double dt = exp(strand_rng_uniform(rng) * (log(0.1) - log(1e-3)) + log(1e-3));
        if (dt < 1e-4) dt = 1e-4;
        w->p[MAMBA_DT_B][c] = (float)(dt + log(-expm1(-dt))); /* inverse softplus */
        for (size_t n = 0; n < ns; n++) w->p[MAMBA_A_LOG][c * ns + n] = logf((float)(n + 1));
        w->p[MAMBA_DSKIP][c] = 1.0f;
    }
    if (w->p[MAMBA_OUT_PROJ])
        for (size_t i = 0; i < D * di; i++) w->p[MAMBA_OUT_PROJ][i] = UNI(bout);
#undef UNI
}

/* ---- cache ---------------------------------------------------------------------------------- */
size_t mamba_nchunk(const mamba_dims *d, size_t L) { return (L + d->chunk - 1) / d->chunk; }

void mamba_cache_layout(mamba_cache *c, arena *a, const mamba_dims *d, size_t B, size_t L, int training)
{
    size_t di = d->d_inner, ns = d->d_state, nbc = d->dt_rank + 2 * ns, BL = B * L;
    memset(c, 0, sizeof *c);
    c->A = arena_take(a, di * ns);
    c->convT = arena_take(a, di * d->d_conv);
    c->xc = arena_take(a, BL * di);
    c->dbc = arena_take(a, BL * nbc);
    c->delta = arena_take(a, BL * di);
    c->y = arena_take(a, BL * di);
    if (training) {
        c->xcp = arena_take(a, BL * di);
        c->dtp = arena_take(a, BL * di);
        c->hck = arena_take(a, B * mamba_nchunk(d, L) * di * ns);
    }
}

size_t mamba_cache_floats(const mamba_dims *d, size_t B, size_t L, int training)
{
    mamba_cache c;
    arena a = arena_count();
    mamba_cache_layout(&c, &a, d, B, L, training);
    return a.used;
}

void mamba_cache_point(mamba_cache *c, float *mem, const mamba_dims *d, size_t B, size_t L, int training)
{
    arena a = arena_on(mem);
    mamba_cache_layout(c, &a, d, B, L, training);
}

size_t mamba_inner_scratch_floats(const mamba_dims *d, size_t B, size_t L)
{
    return B * L * (3 * d->d_inner + d->dt_rank + 2 * d->d_state);
}

/* elementwise maths: the branch-free, vectorisable versions of core/mamba_math.h */
#define siluf mm_silu
#define softplusf mm_softplus

/* Row kernels: AVX-512 and AVX2 builds beside the baseline one (gcc's target_clones, runtime
 * dispatch as for the scan in core/mamba_scan.c; not under the sanitizers). Every lane runs the
 * same branch-free core/mamba_math.h formula; the clone is chosen once per process, so results do
 * not depend on the thread count (they may differ in the last bit between CPUs: FMA contraction). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define ROW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ROW_CLONES
#endif

/* Row kernels with restrict pointers, in blocks of 16 with a scalar tail: gcc -O2 (the
 * "very cheap" cost model) vectorises only loops with a fixed count. In-place forms are separate
 * so restrict stays honest. */
#define ROWS16(n, STMT)                                                                                     \
    do {                                                                                                    \
        size_t i_ = 0;                                                                                      \
        for (; i_ + 16 <= (n); i_ += 16)                                                                    \
            for (size_t k_ = 0; k_ < 16; k_++) {                                                            \
                size_t i = i_ + k_;                                                                         \
                STMT;                                                                                       \
            }                                                                                               \
        for (size_t i = i_; i < (n); i++) {                                                                 \
            STMT;                                                                                           \
        }                                                                                                   \
    } while (0)

ROW_CLONES static void v_silu(float *restrict o, const float *restrict x, size_t n) { ROWS16(n, o[i] = mm_silu(x[i])); }
ROW_CLONES static void v_silu_inplace(float *restrict x, size_t n) { ROWS16(n, x[i] = mm_silu(x[i])); }
ROW_CLONES static void v_softplus(float *restrict o, const float *restrict x, size_t n) { ROWS16(n, o[i] = mm_softplus(x[i])); }
ROW_CLONES static void v_softplus_inplace(float *restrict x, size_t n) { ROWS16(n, x[i] = mm_softplus(x[i])); }
/* o = y ⊙ silu(z) */
ROW_CLONES static void v_gate(float *restrict o, const float *restrict y, const float *restrict z, size_t n)
{
    ROWS16(n, o[i] = y[i] * mm_silu(z[i]));
}
/* gy = go ⊙ silu(z); dz += go ⊙ y ⊙ silu'(z),  silu'(z) = σ(z)(1 + z(1 − σ(z))) */
ROW_CLONES static void v_gate_backward(float *restrict gy, float *restrict dz, const float *restrict go, const float *restrict y,
                            const float *restrict z, size_t n)
{
    ROWS16(n, float s = mm_sigmoid(z[i]); gy[i] = go[i] * z[i] * s;
           dz[i] += go[i] * y[i] * s * (1.0f + z[i] * (1.0f - s)));
}
/* g *= d softplus/dv = σ(v) (1 where v > 20) */
ROW_CLONES static void v_softplus_backward(float *restrict g, const float *restrict v, size_t n)
{
    ROWS16(n, uint32_t big = 0u - (uint32_t)((int32_t)mm_bits(v[i]) > (int32_t)0x41A00000u);
           g[i] *= mm_sel(big, 1.0f, mm_sigmoid(v[i])));
}
ROW_CLONES static void v_silu_backward(float *restrict g, const float *restrict v, size_t n) { ROWS16(n, g[i] *= mm_silu_grad(v[i])); }

/* Causal depthwise conv over one sequence row t: out[c] = b[c] + Σ_k w[c,k]·x_{t−K+1+k}[c].
 * wT is the weight transposed to (K, di) so the channel loop is contiguous. */
ROW_CLONES static void conv_row(float *restrict out, const float *xz, size_t t, const float *restrict wT,
                     const float *restrict bias, size_t di, size_t K)
{
    // xz (L, 2di) of one sequence, x = first di columns
    memcpy(out, bias, di * sizeof(float));
    for (size_t k = 0; k < K; k++) {
        if (t + k + 1 < K) continue; /* zeros before t = 0 */
        const float *restrict xr = xz + (t + k + 1 - K) * 2 * di;
        const float *restrict wk = wT + k * di;
        ROWS16(di, out[i] += wk[i] * xr[i]);
    }
}

/* ---- inner forward ------------------------------------------------------------------------------- */
void mamba_inner_forward(float *o, mamba_cache *c, const float *xz, const mamba_params *w,
                         const mamba_dims *d, size_t B, size_t L)
{
    // o (B,L,di), xz (B,L,2di)
    size_t di = d->d_inner, ns = d->d_state, R = d->dt_rank, K = d->d_conv, nbc = R + 2 * ns, BL = B * L;
    for (size_t i = 0; i < di * ns; i++) c->A[i] = -expf(w->p[MAMBA_A_LOG][i]);
    float *wT = c->convT;
    for (size_t ch = 0; ch < di; ch++)
        for (size_t k = 0; k < K; k++) wT[k * di + ch] = w->p[MAMBA_CONV_W][ch * K + k];
    /* conv + SiLU, rows in parallel */
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) {
        size_t b = (size_t)bt / L, t = (size_t)bt % L;
        float *xc = c->xc + (size_t)bt * di;
        float *pre = c->xcp ? c->xcp + (size_t)bt * di : xc;
        conv_row(pre, xz + b * L * 2 * di, t, wT, w->p[MAMBA_CONV_B], di, K);
        if (pre == xc) v_silu_inplace(xc, di);
        else v_silu(xc, pre, di);
    }
    /* [δ | B | C] = W_x xc */
    gemm_nt(c->dbc, nbc, c->xc, di, w->p[MAMBA_X_PROJ], BL, nbc, di, 0);
    /* Δ = softplus(W_dt δ + b_dt): δ is the first R columns of dbc (row stride nbc) */
    float *dtp = c->dtp ? c->dtp : c->delta;
    for (size_t bt = 0; bt < BL; bt++) memcpy(dtp + bt * di, w->p[MAMBA_DT_B], di * sizeof(float));
    gemm_nt(dtp, di, c->dbc, nbc, w->p[MAMBA_DT_W], BL, di, R, 1);
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) {
        float *dl = c->delta + (size_t)bt * di;
        if (dtp == c->delta) v_softplus_inplace(dl, di);
        else v_softplus(dl, dtp + (size_t)bt * di, di);
    }
    mamba_scan_dims s = {B, L, di, ns, nbc, d->chunk};
    mamba_scan_forward(c->y, c->hck, c->xc, c->delta, c->A, c->dbc + R, w->p[MAMBA_DSKIP], &s);
    /* o = y ⊙ silu(z) */
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) {
        const float *z = xz + (size_t)bt * 2 * di + di, *y = c->y + (size_t)bt * di;
        float *ot = o + (size_t)bt * di;
        v_gate(ot, y, z, di);
    }
}

/* conv_row with history: rows before t = 0 come from prev (K−1, di), oldest first. */
ROW_CLONES static void conv_row_carry(float *restrict out, const float *xz, size_t t, const float *prev,
                           const float *restrict wT, const float *restrict bias, size_t di, size_t K)
{
    memcpy(out, bias, di * sizeof(float));
    for (size_t k = 0; k < K; k++) {
        /* input position t − K + 1 + k: in xz when >= 0, else prev row (K−1) + (t − K + 1 + k) */
        const float *restrict xr = t + k + 1 >= K ? xz + (t + k + 1 - K) * 2 * di : prev + (t + k) * di;
        const float *restrict wk = wT + k * di;
        ROWS16(di, out[i] += wk[i] * xr[i]);
    }
}

void mamba_inner_prepare(mamba_cache *c, const mamba_params *w, const mamba_dims *d)
{
    size_t di = d->d_inner, ns = d->d_state, K = d->d_conv;
    for (size_t i = 0; i < di * ns; i++) c->A[i] = -expf(w->p[MAMBA_A_LOG][i]);
    for (size_t ch = 0; ch < di; ch++)
        for (size_t k = 0; k < K; k++) c->convT[k * di + ch] = w->p[MAMBA_CONV_W][ch * K + k];
}

void mamba_inner_forward_carry(float *o, mamba_cache *c, const float *xz, float *conv_x, float *ssm_h,
                               const mamba_params *w, const mamba_dims *d, size_t B, size_t L)
{
    mamba_inner_prepare(c, w, d);
    mamba_inner_forward_rows(o, c, xz, conv_x, ssm_h, 0, w, d, B, L);
}

void mamba_inner_forward_rows(float *o, mamba_cache *c, const float *xz, float *conv_x, float *ssm_h, int fresh,
                              const mamba_params *w, const mamba_dims *d, size_t B, size_t L)
{
    // o (B,L,di), xz (B,L,2di), conv_x (B,K-1,di), ssm_h (B,di,Ns); c->A, c->convT from mamba_inner_prepare
    size_t di = d->d_inner, ns = d->d_state, R = d->dt_rank, K = d->d_conv, nbc = R + 2 * ns, BL = B * L;
    const float *wT = c->convT;
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) {
        size_t b = (size_t)bt / L, t = (size_t)bt % L;
        float *xc = c->xc + (size_t)bt * di;
        if (fresh) conv_row(xc, xz + b * L * 2 * di, t, wT, w->p[MAMBA_CONV_B], di, K); /* mamba_inner_forward's */
        else conv_row_carry(xc, xz + b * L * 2 * di, t, conv_x + b * (K - 1) * di, wT, w->p[MAMBA_CONV_B], di, K);
        v_silu_inplace(xc, di);
    }
    if (fresh) memset(conv_x, 0, B * (K - 1) * di * sizeof(float));
    /* the last K−1 conv inputs for the next piece */
    for (size_t b = 0; b < B; b++) {
        float *prev = conv_x + b * (K - 1) * di;
        for (size_t r = 0; r + 1 < K; r++) { /* new row r = input position L − (K−1) + r */
            if (L + r + 1 >= K) {
                memcpy(prev + r * di, xz + (b * L + L + r + 1 - K) * 2 * di, di * sizeof(float));
            } else {
                /* still inside the old history: shift by L rows (r + L < K − 1) */
                memmove(prev + r * di, prev + (r + L) * di, di * sizeof(float));
            }
        }
    }
    gemm_nt(c->dbc, nbc, c->xc, di, w->p[MAMBA_X_PROJ], BL, nbc, di, 0);
    for (size_t bt = 0; bt < BL; bt++) memcpy(c->delta + bt * di, w->p[MAMBA_DT_B], di * sizeof(float));
    gemm_nt(c->delta, di, c->dbc, nbc, w->p[MAMBA_DT_W], BL, di, R, 1);
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) v_softplus_inplace(c->delta + (size_t)bt * di, di);
    mamba_scan_dims s = {B, L, di, ns, nbc, d->chunk};
    if (fresh) memset(ssm_h, 0, B * di * ns * sizeof(float));
    mamba_scan_forward_carry(c->y, ssm_h, c->xc, c->delta, c->A, c->dbc + R, w->p[MAMBA_DSKIP], &s);
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) {
        const float *z = xz + (size_t)bt * 2 * di + di, *y = c->y + (size_t)bt * di;
        v_gate(o + (size_t)bt * di, y, z, di);
    }
}

/* ---- inner backward ------------------------------------------------------------------------------ */
int mamba_inner_backward(float *dxz, const mamba_params *g, const float *dout, const mamba_cache *c,
                         const float *xz, const mamba_params *w, const mamba_dims *d, size_t B, size_t L,
                         float *scratch)
{
    // dxz (B,L,2di) +=, dout (B,L,di) = dL/do
    size_t di = d->d_inner, ns = d->d_state, R = d->dt_rank, K = d->d_conv, nbc = R + 2 * ns, BL = B * L;
    if (!c->xcp || !c->dtp || !c->hck)
        return st_err(NULL, STRAND_E_ARG, "mamba backward: the forward pass was run without a training cache");
    float *dy = scratch, *dxc = dy + BL * di, *ddelta = dxc + BL * di, *ddbc = ddelta + BL * di;
    memset(dxc, 0, BL * (2 * di + nbc) * sizeof(float));
    /* gate: g = dout ⊙ silu(z); dz = dout ⊙ y ⊙ silu'(z) */
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) {
        const float *z = xz + (size_t)bt * 2 * di + di, *y = c->y + (size_t)bt * di;
        const float *go = dout + (size_t)bt * di;
        float *dz = dxz + (size_t)bt * 2 * di + di, *gy = dy + (size_t)bt * di;
        v_gate_backward(gy, dz, go, y, z, di);
    }
    /* scan (dA w.r.t. A, then dA_log = dA ⊙ A) */
    float *dA = calloc(di * ns, sizeof(float));
    if (!dA) return st_err(NULL, STRAND_E_NOMEM, "mamba backward: out of memory");
    mamba_scan_dims s = {B, L, di, ns, nbc, d->chunk};
    float *dD = g->p[MAMBA_DSKIP];
    float *dDtmp = NULL;
    if (!dD) {
        dDtmp = calloc(di, sizeof(float));
        if (!dDtmp) {
            free(dA);
            return st_err(NULL, STRAND_E_NOMEM, "mamba backward: out of memory");
        }
        dD = dDtmp;
    }
    int rc = mamba_scan_backward(dxc, ddelta, dA, ddbc + R, dD, dy, c->hck, c->xc, c->delta, c->A, c->dbc + R,
                                 w->p[MAMBA_DSKIP], &s);
    free(dDtmp);
    if (rc < 0) {
        free(dA);
        return rc;
    }
    if (g->p[MAMBA_A_LOG])
        for (size_t i = 0; i < di * ns; i++) g->p[MAMBA_A_LOG][i] += dA[i] * c->A[i];
    free(dA);
    /* softplus: d(pre) = dΔ · σ(v) (1 where v > 20), in place */
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) v_softplus_backward(ddelta + (size_t)bt * di, c->dtp + (size_t)bt * di, di);
    /* dt_proj: dδ (row stride nbc) += dpre·W_dt; dW_dt += dpreᵀ·δ; db_dt += Σ dpre */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)BL, (int)R, (int)di, 1.0f, ddelta, (int)di,
                w->p[MAMBA_DT_W], (int)R, 1.0f, ddbc, (int)nbc);
    if (g->p[MAMBA_DT_W])
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)di, (int)R, (int)BL, 1.0f, ddelta, (int)di,
                    c->dbc, (int)nbc, 1.0f, g->p[MAMBA_DT_W], (int)R);
    if (g->p[MAMBA_DT_B])
        for (size_t bt = 0; bt < BL; bt++)
            for (size_t j = 0; j < di; j++) g->p[MAMBA_DT_B][j] += ddelta[bt * di + j];
    /* x_proj */
    linear_backward(dxc, g->p[MAMBA_X_PROJ], NULL, ddbc, c->xc, w->p[MAMBA_X_PROJ], BL, di, nbc);
    /* SiLU after the conv, in place: dxcp = dxc · silu'(xcp) */
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long bt = 0; bt < (long)BL; bt++) v_silu_backward(dxc + (size_t)bt * di, c->xcp + (size_t)bt * di, di);
    /* conv: parallel over channel blocks (each writes its own dw, db and dx columns) */
    const float *wc = w->p[MAMBA_CONV_W];
    float *dwc = g->p[MAMBA_CONV_W], *dbc_ = g->p[MAMBA_CONV_B];
    size_t nblk = (di + 15) / 16;
#pragma omp parallel for schedule(static) if (BL * di >= MAMBA_PAR_MIN)
    for (long ib = 0; ib < (long)nblk; ib++) {
        size_t c0 = (size_t)ib * 16, c1 = c0 + 16 < di ? c0 + 16 : di;
        for (size_t b = 0; b < B; b++)
            for (size_t t = 0; t < L; t++) {
                const float *gp = dxc + (b * L + t) * di;
                if (dbc_)
                    for (size_t ch = c0; ch < c1; ch++) dbc_[ch] += gp[ch];
                for (size_t k = 0; k < K; k++) {
                    if (t + k + 1 < K) continue;
                    size_t src = b * L + t + k + 1 - K;
                    const float *xr = xz + src * 2 * di;
                    float *dxr = dxz + src * 2 * di;
                    for (size_t ch = c0; ch < c1; ch++) {
                        dxr[ch] += wc[ch * K + k] * gp[ch];
                        if (dwc) dwc[ch * K + k] += gp[ch] * xr[ch];
                    }
                }
            }
    }
    return 0;
}

/* ---- whole block ------------------------------------------------------------------------------------ */
void mamba_forward(float *out, float *xz, float *o, mamba_cache *c, const float *u, const mamba_params *w,
                   const mamba_dims *d, size_t B, size_t L)
{
    // out (B,L,D), xz (B,L,2di), o (B,L,di), u (B,L,D)
    size_t BL = B * L, D = d->D, di = d->d_inner;
    gemm_nt(xz, 2 * di, u, D, w->p[MAMBA_IN_PROJ], BL, 2 * di, D, 0);
    mamba_inner_forward(o, c, xz, w, d, B, L);
    gemm_nt(out, D, o, di, w->p[MAMBA_OUT_PROJ], BL, D, di, 0);
}

size_t mamba_backward_scratch_floats(const mamba_dims *d, size_t B, size_t L)
{
    return B * L * 3 * d->d_inner + mamba_inner_scratch_floats(d, B, L);
}

int mamba_backward(float *du, const mamba_params *g, const float *dout, const float *u, const float *xz,
                   const float *o, const mamba_cache *c, const mamba_params *w, const mamba_dims *d, size_t B,
                   size_t L, float *scratch)
{
    size_t BL = B * L, D = d->D, di = d->d_inner;
    float *dO = scratch, *dxz = dO + BL * di, *rest = dxz + BL * 2 * di;
    memset(dO, 0, BL * 3 * di * sizeof(float));
    linear_backward(dO, g->p[MAMBA_OUT_PROJ], NULL, dout, o, w->p[MAMBA_OUT_PROJ], BL, di, D);
    int rc = mamba_inner_backward(dxz, g, dO, c, xz, w, d, B, L, rest);
    if (rc < 0) return rc;
    linear_backward(du, g->p[MAMBA_IN_PROJ], NULL, dxz, u, w->p[MAMBA_IN_PROJ], BL, D, 2 * di);
    return 0;
}

/* ---- recurrent step ------------------------------------------------------------------------------- */
size_t mamba_step_scratch_floats(const mamba_dims *d, size_t B)
{
    return B * (2 * d->d_inner + d->d_inner + d->dt_rank + 2 * d->d_state + 2 * d->d_inner);
}

void mamba_step(float *out, float *conv_state, float *ssm_state, const float *u, const mamba_params *w,
                const mamba_dims *d, size_t B, float *scratch)
{
    size_t D = d->D, di = d->d_inner, ns = d->d_state, R = d->dt_rank, K = d->d_conv, nbc = R + 2 * ns;
    float *xz = scratch, *xc = xz + B * 2 * di, *dbc = xc + B * di, *o = dbc + B * nbc;
    linear_forward(xz, u, w->p[MAMBA_IN_PROJ], NULL, B, D, 2 * di);
    for (size_t b = 0; b < B; b++) {
        const float *x = xz + b * 2 * di;
        float *cs = conv_state + b * di * (K - 1);
        for (size_t c = 0; c < di; c++) {
            float acc = w->p[MAMBA_CONV_B][c];
            for (size_t k = 0; k + 1 < K; k++) acc += w->p[MAMBA_CONV_W][c * K + k] * cs[c * (K - 1) + k];
            acc += w->p[MAMBA_CONV_W][c * K + K - 1] * x[c];
            for (size_t k = 0; k + 2 < K; k++) cs[c * (K - 1) + k] = cs[c * (K - 1) + k + 1];
            if (K > 1) cs[c * (K - 1) + K - 2] = x[c];
            xc[b * di + c] = siluf(acc);
        }
    }
    linear_forward(dbc, xc, w->p[MAMBA_X_PROJ], NULL, B, di, nbc);
    for (size_t b = 0; b < B; b++) {
        const float *dt = dbc + b * nbc, *Bt = dt + R, *Ct = Bt + ns;
        for (size_t c = 0; c < di; c++) {
            float v = w->p[MAMBA_DT_B][c];
            for (size_t r = 0; r < R; r++) v += w->p[MAMBA_DT_W][c * R + r] * dt[r];
            float delta = softplusf(v), xv = xc[b * di + c], acc = 0;
            float *h = ssm_state + (b * di + c) * ns;
            for (size_t n = 0; n < ns; n++) {
                float A = -expf(w->p[MAMBA_A_LOG][c * ns + n]);
                h[n] = expf(delta * A) * h[n] + delta * Bt[n] * xv;
                acc += Ct[n] * h[n];
            }
            float y = acc + w->p[MAMBA_DSKIP][c] * xv;
            o[b * di + c] = y * siluf(xz[b * 2 * di + di + c]);
        }
    }
    linear_forward(out, o, w->p[MAMBA_OUT_PROJ], NULL, B, di, D);
}
