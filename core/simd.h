/* Internal: what strand's AVX-512 kernels share — the CPU check and a 16-lane exp. Kernels are
 * compiled with ST_T512 (function-level target) and called only when st_cpu_avx512() says so, so
 * the default build runs on any x86-64 (docs/architecture.md, runtime dispatch). */
#ifndef STRAND_CORE_SIMD_H
#define STRAND_CORE_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__)
#define ST_HAVE_AVX512 1
#include <immintrin.h>
#include <stddef.h>
#define ST_T512 __attribute__((target("avx512f,fma")))
#define ST_INL static inline __attribute__((always_inline))

/* 1 when the CPU (and OS) run AVX-512F. */
static inline int st_cpu_avx512(void)
{
    static int v = -1;
    int r = __atomic_load_n(&v, __ATOMIC_RELAXED);
    if (r < 0) {
        __builtin_cpu_init();
        r = __builtin_cpu_supports("avx512f") ? 1 : 0;
        __atomic_store_n(&v, r, __ATOMIC_RELAXED);
    }
    return r;
}

/* The lanes of a 16-float vector that hold the next `left` elements: all 16 when left >= 16. */
static inline __mmask16 st_mask16(size_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); }

/* exp on 16 lanes: core/mamba_math.h mm_exp's k and r (Cody–Waite, degree-7 polynomial); 2^k
 * applied by scalef (no clamps, no integer exponent arithmetic: for x in [−87.3, 88] the same value
 * as mm_exp's p·2^k, bit for bit); below −87.3 (and −inf) the mask gives 0, no denormals. Above 88
 * it is not mm_exp's clamp (scalef gives up to +inf): callers clamp where it matters. */
ST_T512 ST_INL __m512 st_exp16(__m512 x)
{
    const __m512 lo = _mm512_set1_ps(-87.3f), big = _mm512_set1_ps(12582912.0f);
    __mmask16 ok = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), big);
    __m512 kf = _mm512_sub_ps(t, big);
    __m512 r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(ok, p, kf);
}
#else
#define ST_HAVE_AVX512 0
static inline int st_cpu_avx512(void) { return 0; }
#endif
#endif
