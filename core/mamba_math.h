/* Branch-free elementwise maths for the Mamba block (internal): exp, sigmoid, SiLU, softplus.
 * Written without calls and without float comparisons (selects are integer masks on the float
 * bits, which -ftrapping-math does not stop gcc from if-converting), so loops over them vectorise
 * with plain SSE2 (and AVX2 in the target_clones of core/mamba_scan.c).
 * Accuracy (tests/test_mamba.c test_exp_accuracy / test_pointwise_accuracy): exp ≤ 1e-6 relative
 * to expf on [−87, 88]; softplus and sigmoid ≤ 1e-6 relative to the libm formulas. */
#ifndef STRAND_CORE_MAMBA_MATH_H
#define STRAND_CORE_MAMBA_MATH_H
#include <stdint.h>
#include <string.h>

#define MM_INLINE static inline __attribute__((always_inline))

MM_INLINE uint32_t mm_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return b;
}
MM_INLINE float mm_float(uint32_t b)
{
    float x;
    memcpy(&x, &b, 4);
    return x;
}
/* mask ? a : b for a mask of all ones / all zeros */
MM_INLINE float mm_sel(uint32_t mask, float a, float b) { return mm_float((mm_bits(a) & mask) | (mm_bits(b) & ~mask)); }

/* exp(x) = 2^k · e^r, k = round(x/ln2) by the 1.5·2^23 trick, r = x − k·ln2 (two-part ln2), e^r by
 * Taylor to r^7 (|r| ≤ ln2/2: truncation < 6e-9 relative). x is clamped to [−87.3, 88]; below
 * −87.3 the result is 0 (no denormals). */
MM_INLINE float mm_exp(float x)
{
    const float big = 12582912.0f;   /* 1.5·2^23 */
    const uint32_t lo = 0xC2AE999Au; /* bits of −87.3f */
    const uint32_t hi = 0x42B00000u; /* bits of 88.0f */
    uint32_t xb = mm_bits(x);
    uint32_t under = 0u - (uint32_t)(xb > lo);                    /* unsigned: sign set and |x| > 87.3 */
    uint32_t over = 0u - (uint32_t)((int32_t)xb > (int32_t)hi); /* signed: positive and x > 88 */
    uint32_t cb = (xb & ~(under | over)) | (lo & under) | (hi & over);
    float xc = mm_float(cb);
    float t = xc * 1.44269504088896341f + big;
    float kf = t - big;
    float r = xc - kf * 0.693145751953125f;
    r = r - kf * 1.428606765330187e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t k = (int32_t)mm_bits(t) - 0x4B400000; /* the low mantissa bits of t hold k */
    float e = p * mm_float((uint32_t)(k + 127) << 23);
    return mm_float(mm_bits(e) & ~under);
}

/* log(w) for finite w ≥ 1: w = 2^e·m with m in [√½, √2), log m = 2·atanh(s), s = (m−1)/(m+1),
 * |s| ≤ 0.1716, series to s^9 (truncation < 1e-9). */
MM_INLINE float mm_log_ge1(float w)
{
    uint32_t wb = mm_bits(w);
    int32_t e = (int32_t)(wb >> 23) - 127;
    uint32_t mb = (wb & 0x007FFFFFu) | 0x3F800000u; /* m in [1, 2) */
    uint32_t hiM = 0u - (uint32_t)(mb > 0x3FB504F3u); /* m > √2: halve it */
    mb -= hiM & 0x00800000u;
    e += (int32_t)(hiM & 1u);
    float m = mm_float(mb);
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float q = 1.0f / 9.0f;
    q = q * s2 + 1.0f / 7.0f;
    q = q * s2 + 1.0f / 5.0f;
    q = q * s2 + 1.0f / 3.0f;
    q = q * s2 + 1.0f;
    return (float)e * 0.693147180559945309f + 2.0f * s * q;
}

/* softplus(v) = v > 20 ? v : log1p(exp(v))  (docs/mamba.md "Discretisation"). log1p(u) = log(1+u)·u/((1+u)−1), exact
 * when 1+u rounds to 1 (Goldberg's trick keeps small values accurate). */
MM_INLINE float mm_softplus(float v)
{
    uint32_t big = 0u - (uint32_t)((int32_t)mm_bits(v) > (int32_t)0x41A00000u); /* v > 20 */
    float u = mm_exp(mm_sel(big, 20.0f, v));
    float w = 1.0f + u, d = w - 1.0f;
    uint32_t tiny = 0u - (uint32_t)(mm_bits(d) == 0u);
    float ratio = u / mm_sel(tiny, 1.0f, d);
    float lp = mm_sel(tiny, u, mm_log_ge1(w) * ratio);
    return mm_sel(big, v, lp);
}

MM_INLINE float mm_sigmoid(float v) { return 1.0f / (1.0f + mm_exp(-v)); }
MM_INLINE float mm_silu(float v) { return v * mm_sigmoid(v); }
/* d silu(v)/dv = σ(v)·(1 + v·(1 − σ(v))) */
MM_INLINE float mm_silu_grad(float v)
{
    float s = mm_sigmoid(v);
    return s * (1.0f + v * (1.0f - s));
}
#endif
