/* Multi-head attention with rotary embeddings (docs/dit.md "Rotary attention"). Per (batch, head) the heads are strided
 * views into qkv / qr / out, so the GEMMs (core/gemm.h) need no copies: Q_bh = qr + b·L·2D + h·hd (ld 2D),
 * K_bh = … + D (ld 2D), V_bh = qkv + b·L·3D + 2D + h·hd (ld 3D), O_bh = out + b·L·D + h·hd (ld D). */
#include "core/attention.h"

#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "core/simd.h"
#include "core/threads.h"

void rope_tables(float *cos_t, float *sin_t, size_t L, size_t hd, float base)
{
    size_t half = hd / 2;
    for (size_t j = 0; j < half; j++) {
        // fp32 like the reference: inv_freq = 1 / base^(2j/hd), angle = pos · inv_freq
        float inv = 1.0f / powf(base, (float)(2 * j) / (float)hd);
        for (size_t p = 0; p < L; p++) {
            float ang = (float)p * inv;
            float c = (float)cos((double)ang), s = (float)sin((double)ang);
            cos_t[p * hd + j] = cos_t[p * hd + half + j] = c;
            sin_t[p * hd + j] = sin_t[p * hd + half + j] = s;
        }
    }
}

void attention_mask_from_bool(float *mask, const uint8_t *allowed, size_t L)
{
    for (size_t i = 0; i < L * L; i++) mask[i] = allowed[i] ? 0.0f : -INFINITY;
}

/* q' = q·cos + rotate_half(q)·sin, rotate_half([a|b]) = [−b|a] */
static inline void rope_apply(float *dst, const float *src, const float *c, const float *s, size_t hd)
{
    size_t half = hd / 2;
    for (size_t j = 0; j < half; j++) {
        float a = src[j], b = src[half + j];
        dst[j] = a * c[j] - b * s[j];
        dst[half + j] = b * c[half + j] + a * s[half + j];
    }
}

/* transpose of rope_apply, accumulated: dq += Rᵀ dq' */
static inline void rope_apply_back(float *dsrc, const float *ddst, const float *c, const float *s, size_t hd)
{
    size_t half = hd / 2;
    for (size_t j = 0; j < half; j++) {
        float ga = ddst[j], gb = ddst[half + j];
        dsrc[j] += ga * c[j] + gb * s[half + j];
        dsrc[half + j] += gb * c[half + j] - ga * s[j];
    }
}

#if ST_HAVE_AVX512
/* softmax_row on 16 lanes: the max, e^(x − max) by st_exp16 (−inf → 0), the sum in 16 lanes then
 * across them, one multiply by 1/sum. */
ST_T512 static void softmax_row16(float *r, size_t n)
{
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 k = st_mask16(n - j);
        mx = _mm512_mask_max_ps(mx, k, mx, _mm512_maskz_loadu_ps(k, r + j));
    }
    float m = _mm512_reduce_max_ps(mx);
    if (m == -INFINITY) {
        memset(r, 0, n * sizeof(float));
        return;
    }
    __m512 vm = _mm512_set1_ps(m), sum = _mm512_setzero_ps();
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 k = st_mask16(n - j);
        __m512 e = _mm512_maskz_mov_ps(k, st_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, r + j), vm)));
        sum = _mm512_add_ps(sum, e);
        _mm512_mask_storeu_ps(r + j, k, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 k = st_mask16(n - j);
        _mm512_mask_storeu_ps(r + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, r + j), inv));
    }
}
#endif

/* In-place softmax of one row of n scores (mask already added); an all −inf row becomes 0. */
static void softmax_row(float *r, size_t n)
{
#if ST_HAVE_AVX512
    if (st_cpu_avx512()) {
        softmax_row16(r, n);
        return;
    }
#endif
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (size_t j = 0; j < n; j++) m = r[j] > m ? r[j] : m;
    if (m == -INFINITY) {
        memset(r, 0, n * sizeof(float));
        return;
    }
    float s = 0.0f;
    for (size_t j = 0; j < n; j++) {
        r[j] = expf(r[j] - m);
        s += r[j];
    }
    float inv = 1.0f / s;
#pragma omp simd
    for (size_t j = 0; j < n; j++) r[j] *= inv;
}

/* In-place row softmax of an (L,L) score block. */
static void softmax_rows(float *a, size_t L)
{
    for (size_t i = 0; i < L; i++) softmax_row(a + i * L, L);
}

static void rope_qk(float *qr, const float *qkv, const float *cos_t, const float *sin_t, size_t B, size_t L,
                    size_t D, size_t H)
{
    size_t hd = D / H;
#pragma omp parallel for schedule(static) if (B * L * D > 32768)
    for (size_t bl = 0; bl < B * L; bl++) {
        size_t p = bl % L;
        const float *src = qkv + bl * 3 * D;
        float *dst = qr + bl * 2 * D;
        for (size_t h = 0; h < 2 * H; h++) // q heads then k heads: same layout in qkv and qr
            rope_apply(dst + h * hd, src + h * hd, cos_t + p * hd, sin_t + p * hd, hd);
    }
}

void attention_forward(float *out, float *qr, float *att, const float *qkv, const float *cos_t,
                       const float *sin_t, const float *mask, size_t B, size_t L, size_t D, size_t H)
{
    size_t hd = D / H;
    float scale = 1.0f / sqrtf((float)hd);
    rope_qk(qr, qkv, cos_t, sin_t, B, L, D, H);
    st_parallel_begin();
#pragma omp parallel for schedule(dynamic, 1) if (B * H > 1)
    for (size_t bh = 0; bh < B * H; bh++) {
        size_t b = bh / H, h = bh % H;
        const float *Q = qr + b * L * 2 * D + h * hd;
        const float *K = Q + D;
        const float *V = qkv + b * L * 3 * D + 2 * D + h * hd;
        float *A = att + bh * L * L;
        float *O = out + b * L * D + h * hd;
        // A (L,L) = scale · Q Kᵀ
        gemm(A, L, 0, Q, 2 * D, 1, K, 2 * D, L, L, hd, scale, 0);
        if (mask)
            for (size_t i = 0; i < L * L; i++) A[i] += mask[i];
        softmax_rows(A, L);
        // O (L,hd) = A V
        gemm(O, D, 0, A, L, 0, V, 3 * D, L, hd, L, 1.0f, 0);
    }
    st_parallel_end();
}

size_t attention_scratch_floats(size_t B, size_t L, size_t D, size_t H)
{
    return B * H * L * L + B * L * 2 * D;
}

void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *qr,
                        const float *att, const float *cos_t, const float *sin_t, size_t B, size_t L,
                        size_t D, size_t H)
{
    size_t hd = D / H;
    float scale = 1.0f / sqrtf((float)hd);
    float *datt = scratch;               // (B,H,L,L)
    float *dqr = scratch + B * H * L * L; // (B,L,2D): gradients of the rotated q, k
    st_parallel_begin();
#pragma omp parallel for schedule(dynamic, 1) if (B * H > 1)
    for (size_t bh = 0; bh < B * H; bh++) {
        size_t b = bh / H, h = bh % H;
        const float *Q = qr + b * L * 2 * D + h * hd, *K = Q + D;
        const float *V = qkv + b * L * 3 * D + 2 * D + h * hd;
        const float *A = att + bh * L * L;
        const float *dO = dout + b * L * D + h * hd;
        float *dA = datt + bh * L * L;
        float *dQ = dqr + b * L * 2 * D + h * hd, *dK = dQ + D;
        float *dV = dqkv + b * L * 3 * D + 2 * D + h * hd;
        // dA (L,L) = dO Vᵀ ; dV += Aᵀ dO
        gemm(dA, L, 0, dO, D, 1, V, 3 * D, L, L, hd, 1.0f, 0);
        gemm(dV, 3 * D, 1, A, L, 0, dO, D, L, hd, L, 1.0f, 1);
        // softmax backward in place: dS = A ⊙ (dA − Σ_j A⊙dA)
        for (size_t i = 0; i < L; i++) {
            const float *a = A + i * L;
            float *d = dA + i * L;
            float s = 0.0f;
#pragma omp simd reduction(+ : s)
            for (size_t j = 0; j < L; j++) s += a[j] * d[j];
#pragma omp simd
            for (size_t j = 0; j < L; j++) d[j] = a[j] * (d[j] - s);
        }
        // dQ = scale · dS K ; dK = scale · dSᵀ Q
        gemm(dQ, 2 * D, 0, dA, L, 0, K, 2 * D, L, hd, L, scale, 0);
        gemm(dK, 2 * D, 1, dA, L, 0, Q, 2 * D, L, hd, L, scale, 0);
    }
    st_parallel_end();
    // undo the rotation into the q and k parts of dqkv
#pragma omp parallel for schedule(static) if (B * L * D > 32768)
    for (size_t bl = 0; bl < B * L; bl++) {
        size_t p = bl % L;
        const float *src = dqr + bl * 2 * D;
        float *dst = dqkv + bl * 3 * D;
        for (size_t h = 0; h < 2 * H; h++)
            rope_apply_back(dst + h * hd, src + h * hd, cos_t + p * hd, sin_t + p * hd, hd);
    }
}

void attention_forward_ref(float *out, float *qr, float *att, const float *qkv, const float *cos_t,
                           const float *sin_t, const float *mask, size_t B, size_t L, size_t D, size_t H)
{
    size_t hd = D / H;
    float scale = 1.0f / sqrtf((float)hd);
    for (size_t b = 0; b < B; b++)
        for (size_t p = 0; p < L; p++)
            for (size_t h = 0; h < 2 * H; h++)
                rope_apply(qr + (b * L + p) * 2 * D + h * hd, qkv + (b * L + p) * 3 * D + h * hd,
                           cos_t + p * hd, sin_t + p * hd, hd);
    for (size_t b = 0; b < B; b++)
        for (size_t h = 0; h < H; h++) {
            float *A = att + (b * H + h) * L * L;
            for (size_t i = 0; i < L; i++)
                for (size_t j = 0; j < L; j++) {
                    const float *q = qr + (b * L + i) * 2 * D + h * hd;
                    const float *k = qr + (b * L + j) * 2 * D + D + h * hd;
                    float s = 0.0f;
                    for (size_t e = 0; e < hd; e++) s += q[e] * k[e];
                    A[i * L + j] = s * scale + (mask ? mask[i * L + j] : 0.0f);
                }
            softmax_rows(A, L);
            for (size_t i = 0; i < L; i++)
                for (size_t e = 0; e < hd; e++) {
                    float s = 0.0f;
                    for (size_t j = 0; j < L; j++) s += A[i * L + j] * qkv[(b * L + j) * 3 * D + 2 * D + h * hd + e];
                    out[(b * L + i) * D + h * hd + e] = s;
                }
        }
}

void attention_cached_forward(float *out, float *kc, float *vc, float *qr, float *att, const float *qkv,
                              const float *cos_t, const float *sin_t, size_t B, size_t n, size_t m, size_t cap,
                              size_t D, size_t H)
{
    size_t hd = D / H, nk = m + n;
    float scale = 1.0f / sqrtf((float)hd);
    for (size_t b = 0; b < B; b++)
        for (size_t p = 0; p < n; p++) {
            const float *src = qkv + (b * n + p) * 3 * D;
            float *kd = kc + (b * cap + m + p) * D;
            for (size_t h = 0; h < H; h++) {
                rope_apply(qr + (b * n + p) * D + h * hd, src + h * hd, cos_t + p * hd, sin_t + p * hd, hd);
                rope_apply(kd + h * hd, src + D + h * hd, cos_t + p * hd, sin_t + p * hd, hd);
            }
            memcpy(vc + (b * cap + m + p) * D, src + 2 * D, D * sizeof(float));
        }
    st_parallel_begin();
#pragma omp parallel for schedule(dynamic, 1) if (B * H > 1)
    for (size_t bh = 0; bh < B * H; bh++) {
        size_t b = bh / H, h = bh % H;
        const float *Q = qr + b * n * D + h * hd;
        const float *K = kc + b * cap * D + h * hd;
        const float *V = vc + b * cap * D + h * hd;
        float *A = att + bh * n * nk;
        float *O = out + b * n * D + h * hd;
        gemm(A, nk, 0, Q, D, 1, K, D, n, nk, hd, scale, 0);
        for (size_t i = 0; i < n; i++) softmax_row(A + i * nk, nk);
        gemm(O, D, 0, A, nk, 0, V, D, n, hd, nk, 1.0f, 0);
    }
    st_parallel_end();
}
