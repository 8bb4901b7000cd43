/* AVX-512 selective-scan blocks (core/mamba_scan.h MAMBA_SCAN_AVX512; called by the drivers in
 * core/mamba_scan.c, which own threading and the work-space layout).
 *
 * Layout: one block is one sequence b and up to 16 channels c0..c0+nc-1, one channel per lane of
 * a zmm register; state n of the 16 channels is register h[n] (16 registers), so a time step is
 * 16 vector exps and 32 FMAs for 256 (channel, state) pairs, with contiguous loads of Δ, x, dy and
 * contiguous stores of y, dx, dΔ. Lanes past nc are masked on load (zero) and store: with Δ = x = 0
 * and A = 0 there, every quantity in those lanes stays 0. The exp is core/mamba_math.h's mm_exp
 * (same reduction, clamps and degree-7 polynomial) on 16 lanes, with FMA (core/simd.h st_exp16). Summation orders differ
 * from the portable kernel (y: sequential FMA over n starting from D·x; dB/dC: tree over the 16
 * channels); tests/test_mamba.c holds both kernels to the same tolerance against the reference. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/mamba.h"
#include "core/mamba_scan_kernels.h"
#include "core/simd.h"

#if MAMBA_SCAN_HAVE_AVX512
#include <immintrin.h>

#define NS MAMBA_D_STATE
#define T512 ST_T512
#define INL ST_INL

/* v[n] (16 lanes each) -> out lane n = Σ_lanes v[n]: a transpose-add in four shuffle stages. */
T512 INL __m512 sum_lanes16(const __m512 *v)
{
    __m512 s[8], w[4], y0, y1;
    for (int i = 0; i < 8; i++)
        s[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++)
        w[i] = _mm512_add_ps(_mm512_shuffle_ps(s[2 * i], s[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(s[2 * i], s[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    y0 = _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(w[0], w[1], _MM_SHUFFLE(3, 1, 3, 1)));
    y1 = _mm512_add_ps(_mm512_shuffle_f32x4(w[2], w[3], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(w[2], w[3], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(y0, y1, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(y0, y1, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* (nc channels × 16 states, row stride NS) <-> (16 states × 16 lanes), lanes >= nc zero */
T512 INL void load_state(__m512 *h, const float *src, size_t nc)
{
    float tmp[NS][16] __attribute__((aligned(64)));
    memset(tmp, 0, sizeof tmp);
    for (size_t j = 0; j < nc; j++)
        for (int n = 0; n < NS; n++) tmp[n][j] = src[j * NS + n];
    for (int n = 0; n < NS; n++) h[n] = _mm512_load_ps(tmp[n]);
}

T512 INL void store_state(float *dst, const __m512 *h, size_t nc)
{
    float tmp[NS][16] __attribute__((aligned(64)));
    for (int n = 0; n < NS; n++) _mm512_store_ps(tmp[n], h[n]);
    for (size_t j = 0; j < nc; j++)
        for (int n = 0; n < NS; n++) dst[j * NS + n] = tmp[n][j];
}

/* A (di, 16) rows c0.. -> At[n] lanes j (0 past nc) */
T512 INL void load_A(__m512 *At, const float *A, size_t c0, size_t nc) { load_state(At, A + c0 * NS, nc); }

T512 void mamba_scan_fwd_block_avx512(float *y, float *hck, const float *x, const float *delta, const float *A,
                                      const float *BC, const float *Dskip, const mamba_scan_dims *s, size_t b,
                                      size_t c0, size_t nc, float *hcarry)
{
    size_t L = s->L, di = s->di, nck = (L + s->chunk - 1) / s->chunk;
    __mmask16 m = (__mmask16)((1u << nc) - 1u);
    __m512 At[NS], h[NS];
    load_A(At, A, c0, nc);
    if (hcarry) load_state(h, hcarry + (b * di + c0) * NS, nc);
    else
        for (int n = 0; n < NS; n++) h[n] = _mm512_setzero_ps();
    __m512 Dv = _mm512_maskz_loadu_ps(m, Dskip + c0);
    for (size_t t = 0; t < L; t++) {
        size_t bt = b * L + t;
        if (hck && t % s->chunk == 0) store_state(hck + ((b * nck + t / s->chunk) * di + c0) * NS, h, nc);
        const float *Bt = BC + bt * s->bc_stride, *Ct = Bt + NS;
        __m512 dl = _mm512_maskz_loadu_ps(m, delta + bt * di + c0);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + bt * di + c0);
        __m512 dx = _mm512_mul_ps(dl, xv);
        __m512 acc = _mm512_mul_ps(Dv, xv);
#pragma GCC unroll 16
        for (int n = 0; n < NS; n++) {
            __m512 e = st_exp16(_mm512_mul_ps(dl, At[n]));
            h[n] = _mm512_fmadd_ps(e, h[n], _mm512_mul_ps(dx, _mm512_set1_ps(Bt[n])));
            acc = _mm512_fmadd_ps(_mm512_set1_ps(Ct[n]), h[n], acc);
        }
        _mm512_mask_storeu_ps(y + bt * di + c0, m, acc);
    }
    if (hcarry) store_state(hcarry + (b * di + c0) * NS, h, nc);
}

/* hs, ea: (chunk, 16 states, 16 lanes) work space; rbuf: unused here (state r stays in registers
 * within a chunk and is spilled to `rsave` between chunks). */
T512 void mamba_scan_bwd_block_avx512(float *dx, float *ddelta, float *dAblk, float *dBC_priv, float *dD,
                                      const float *dy, const float *hck, const float *x, const float *delta,
                                      const float *A, const float *BC, const float *Dskip, const mamba_scan_dims *s,
                                      size_t b, size_t c0, size_t nc, float *hs, float *ea, float *rbuf)
{
    (void)rbuf;
    size_t L = s->L, di = s->di, ch = s->chunk, nck = (L + ch - 1) / ch;
    __mmask16 m = (__mmask16)((1u << nc) - 1u);
    __m512 At[NS], r[NS], dAacc[NS], h0[NS];
    load_A(At, A, c0, nc);
    for (int n = 0; n < NS; n++) r[n] = dAacc[n] = _mm512_setzero_ps();
    __m512 Dv = _mm512_maskz_loadu_ps(m, Dskip + c0), dDacc = _mm512_setzero_ps();
    for (size_t k = nck; k-- > 0;) {
        size_t t0 = k * ch, t1 = t0 + ch < L ? t0 + ch : L;
        /* recompute h_t and exp(Δ_t A) inside the chunk from the checkpoint */
        load_state(h0, hck + ((b * nck + k) * di + c0) * NS, nc);
        {
            __m512 h[NS];
            for (int n = 0; n < NS; n++) h[n] = h0[n];
            for (size_t t = t0; t < t1; t++) {
                size_t bt = b * L + t;
                const float *Bt = BC + bt * s->bc_stride;
                __m512 dl = _mm512_maskz_loadu_ps(m, delta + bt * di + c0);
                __m512 dxv = _mm512_mul_ps(dl, _mm512_maskz_loadu_ps(m, x + bt * di + c0));
                float *e_t = ea + (t - t0) * NS * 16, *h_t = hs + (t - t0) * NS * 16;
#pragma GCC unroll 16
                for (int n = 0; n < NS; n++) {
                    __m512 e = st_exp16(_mm512_mul_ps(dl, At[n]));
                    h[n] = _mm512_fmadd_ps(e, h[n], _mm512_mul_ps(dxv, _mm512_set1_ps(Bt[n])));
                    _mm512_storeu_ps(e_t + n * 16, e);
                    _mm512_storeu_ps(h_t + n * 16, h[n]);
                }
            }
        }
        /* reverse sweep */
        for (size_t t = t1; t-- > t0;) {
            size_t bt = b * L + t;
            const float *Bt = BC + bt * s->bc_stride, *Ct = Bt + NS;
            float *dBt = dBC_priv + t * 2 * NS, *dCt = dBt + NS;
            __m512 dl = _mm512_maskz_loadu_ps(m, delta + bt * di + c0);
            __m512 xv = _mm512_maskz_loadu_ps(m, x + bt * di + c0);
            __m512 g = _mm512_maskz_loadu_ps(m, dy + bt * di + c0);
            __m512 dlx = _mm512_mul_ps(dl, xv);
            const float *e_t = ea + (t - t0) * NS * 16, *h_t = hs + (t - t0) * NS * 16;
            const float *hp_t = t > t0 ? hs + (t - 1 - t0) * NS * 16 : NULL;
            __m512 sdx = _mm512_setzero_ps(), sdd = _mm512_setzero_ps(), pdB[NS], pdC[NS];
#pragma GCC unroll 16
            for (int n = 0; n < NS; n++) {
                __m512 e = _mm512_loadu_ps(e_t + n * 16);
                __m512 hp = hp_t ? _mm512_loadu_ps(hp_t + n * 16) : h0[n];
                __m512 Bn = _mm512_set1_ps(Bt[n]);
                __m512 dh = _mm512_fmadd_ps(g, _mm512_set1_ps(Ct[n]), r[n]);
                __m512 a = _mm512_mul_ps(e, hp);
                sdx = _mm512_fmadd_ps(dh, Bn, sdx);
                sdd = _mm512_fmadd_ps(dh, _mm512_fmadd_ps(Bn, xv, _mm512_mul_ps(At[n], a)), sdd);
                dAacc[n] = _mm512_fmadd_ps(_mm512_mul_ps(dh, dl), a, dAacc[n]);
                pdB[n] = _mm512_mul_ps(dh, dlx);
                pdC[n] = _mm512_mul_ps(g, _mm512_loadu_ps(h_t + n * 16));
                r[n] = _mm512_mul_ps(dh, e);
            }
            __m512 sB = sum_lanes16(pdB), sC = sum_lanes16(pdC);
            _mm512_storeu_ps(dBt, _mm512_add_ps(_mm512_loadu_ps(dBt), sB));
            _mm512_storeu_ps(dCt, _mm512_add_ps(_mm512_loadu_ps(dCt), sC));
            float *dxp = dx + bt * di + c0, *ddp = ddelta + bt * di + c0;
            __m512 vdx = _mm512_fmadd_ps(Dv, g, _mm512_mul_ps(dl, sdx));
            _mm512_mask_storeu_ps(dxp, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dxp), vdx));
            _mm512_mask_storeu_ps(ddp, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, ddp), sdd));
            dDacc = _mm512_fmadd_ps(g, xv, dDacc);
        }
    }
    float tmp[NS][16] __attribute__((aligned(64)));
    for (int n = 0; n < NS; n++) _mm512_store_ps(tmp[n], dAacc[n]);
    for (size_t j = 0; j < nc; j++)
        for (int n = 0; n < NS; n++) dAblk[j * NS + n] += tmp[n][j];
    _mm512_mask_storeu_ps(dD + c0, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dD + c0), dDacc));
}

int mamba_scan_cpu_has_avx512(void) { return st_cpu_avx512(); }
#endif
