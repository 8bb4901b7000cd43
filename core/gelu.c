#include "core/gelu.h"

#include <math.h>

#include "core/simd.h"

#define GELU_K 0.7978845608028654f /* √(2/π) */

static int portable_only; /* gelu_set_portable: the scalar loops even on an AVX-512 CPU */
void gelu_set_portable(int on) { portable_only = on; }
static inline int use_avx512(void) { return !portable_only && st_cpu_avx512(); }

/* ½(1 + tanh u) = σ(2u): one expf instead of tanhf (glibc's tanhf goes through expm1f and
 * was a quarter of the DiT's time). x → −∞: expf overflows to inf and the result is −0. */
static inline float gelu_sig(float x)
{
    float u = GELU_K * (x + 0.044715f * x * x * x);
    return 1.0f / (1.0f + expf(-2.0f * u));
}

#if ST_HAVE_AVX512
/* gelu_sig on 16 lanes: the exponent clamped at 88 (e^88 is finite, x/(1 + e^88) is 0 to float
 * accuracy), st_exp16 for expf, the reciprocal by rcp14 and one Newton step (relative error ~4e-9). */
ST_T512 ST_INL __m512 gelu_sig16(__m512 x)
{
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 u = _mm512_mul_ps(_mm512_set1_ps(GELU_K), _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x2), x, x));
    __m512 z = _mm512_min_ps(_mm512_mul_ps(_mm512_set1_ps(-2.0f), u), _mm512_set1_ps(88.0f));
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), st_exp16(z));
    __m512 y = _mm512_rcp14_ps(d); /* 1/d to 2^-14, one Newton step: to ~2^-28 */
    return _mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
}

/* gelu_grad on 16 lanes: s + 2x·s(1 − s)·K(1 + 3·0.044715x²) */
ST_T512 ST_INL __m512 gelu_grad16(__m512 x)
{
    __m512 s = gelu_sig16(x), one = _mm512_set1_ps(1.0f);
    __m512 du = _mm512_mul_ps(_mm512_set1_ps(GELU_K),
                              _mm512_fmadd_ps(_mm512_set1_ps(3.0f * 0.044715f), _mm512_mul_ps(x, x), one));
    __m512 t = _mm512_mul_ps(_mm512_mul_ps(_mm512_add_ps(x, x), _mm512_mul_ps(s, _mm512_sub_ps(one, s))), du);
    return _mm512_add_ps(s, t);
}

#define GELU_CHUNK 4096 /* elements per OpenMP chunk (a multiple of 16) */

/* elements [c, e), mode 0: out = x·s; 1: d += g'(x)·dout; 2: d *= g'(x) */
ST_T512 static void gelu_chunk_avx512(float *out, const float *inp, const float *dout, size_t c, size_t e, int mode)
{
    for (size_t i = c; i < e; i += 16) {
        __mmask16 m = st_mask16(e - i);
        __m512 x = _mm512_maskz_loadu_ps(m, inp + i), o = _mm512_maskz_loadu_ps(m, out + i);
        if (mode == 0) o = _mm512_mul_ps(x, gelu_sig16(x));
        else if (mode == 1) o = _mm512_fmadd_ps(gelu_grad16(x), _mm512_maskz_loadu_ps(m, dout + i), o);
        else o = _mm512_mul_ps(o, gelu_grad16(x));
        _mm512_mask_storeu_ps(out + i, m, o);
    }
}

/* The OpenMP region stays outside the AVX-512 function: clang outlines a parallel loop body into a
 * function without the caller's target attribute, which may not hold __m512 values. */
static void gelu_avx512(float *out, const float *inp, const float *dout, size_t n, int mode)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t c = 0; c < n; c += GELU_CHUNK)
        gelu_chunk_avx512(out, inp, dout, c, c + GELU_CHUNK < n ? c + GELU_CHUNK : n, mode);
}
#endif

void gelu_forward(float *out, const float *inp, size_t n)
{
#if ST_HAVE_AVX512
    if (use_avx512()) {
        gelu_avx512(out, inp, NULL, n, 0);
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) out[i] = inp[i] * gelu_sig(inp[i]);
}

/* d/dx ½x(1 + tanh u) = ½(1 + t) + ½x(1 − t²)u' with t = 2s − 1, so = s + 2x·s(1 − s)·u' */
static inline float gelu_grad(float x)
{
    float s = gelu_sig(x);
    return s + 2.0f * x * s * (1.0f - s) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
}

/* the textbook tanh form, kept as the reference the tests compare against */
float gelu_ref(float x) { return 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x))); }

void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
#if ST_HAVE_AVX512
    if (use_avx512()) {
        gelu_avx512(dinp, inp, dout, n, 1);
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) dinp[i] += gelu_grad(inp[i]) * dout[i];
}

void gelu_backward_inplace(float *d, const float *inp, size_t n)
{
#if ST_HAVE_AVX512
    if (use_avx512()) {
        gelu_avx512(d, inp, NULL, n, 2);
        return;
    }
#endif
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) d[i] *= gelu_grad(inp[i]);
}

void silu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = x / (1.0f + expf(-x));
    }
}

void silu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-inp[i]));
        dinp[i] += dout[i] * s * (1.0f + inp[i] * (1.0f - s));
    }
}
