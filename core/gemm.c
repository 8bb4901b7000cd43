/* strand's matrix product (core/gemm.h): an AVX-512 kernel beside OpenBLAS.
 *
 * op(B) comes in panels of 32 output columns: tb = 1 (B stored (N,K)) is packed per call into
 * (K × 32) panels, zero past N; tb = 0 (B stored (K,N)) is read in place, 32 contiguous floats per
 * k, the last panel with masked loads. A 12 × 32 register tile (24 zmm accumulators) runs the whole
 * K loop with one FMA per (k, row, 16 columns), starting from zero, in k order; op(A)'s element is
 * broadcast straight from A (ta = 0: A[i·lda + k]; ta = 1: A[k·lda + i], contiguous in i). A tile
 * of fewer rows (the tail) is the same code with fewer accumulators, so every element of C is the
 * same sequence of FMAs whatever M is, where its row sits and how rows are split over threads.
 * Rows come in blocks of MB so the A block stays in L2 while it meets every panel. */
#include "core/gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NR 32  /* columns per panel: two zmm */
#define MR 12  /* rows per register tile */
#define MB 120 /* rows per block (a multiple of MR) */
/* Below this many multiply-adds one thread does the product (OpenMP start-up costs more). */
#define GEMM_PAR_MIN (1u << 22)

#if defined(__x86_64__) && defined(__GNUC__)
#define GEMM_HAVE_AVX512 1
#else
#define GEMM_HAVE_AVX512 0
#endif

static int g_own = -1;

int gemm_own(void)
{
    int v = __atomic_load_n(&g_own, __ATOMIC_RELAXED);
    if (v < 0) {
        v = 0;
#if GEMM_HAVE_AVX512
        __builtin_cpu_init();
        const char *env = getenv("STRAND_GEMM");
        v = __builtin_cpu_supports("avx512f") && !(env && !strcmp(env, "blas"));
#endif
        __atomic_store_n(&g_own, v, __ATOMIC_RELAXED);
    }
    return v;
}

#if GEMM_HAVE_AVX512
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,fma")))
#define INL static inline __attribute__((always_inline))

/* Bp (npanel, K, 32) from B stored (N,K) with row stride ldb; columns past N are zero. */
static void pack_bt(float *Bp, const float *B, size_t ldb, size_t N, size_t K)
{
    size_t np = (N + NR - 1) / NR;
    for (size_t p = 0; p < np; p++) {
        float *dst = Bp + p * K * NR;
        for (size_t j = 0; j < NR; j++) {
            size_t n = p * NR + j;
            if (n < N)
                for (size_t k = 0; k < K; k++) dst[k * NR + j] = B[n * ldb + k];
            else
                for (size_t k = 0; k < K; k++) dst[k * NR + j] = 0.0f;
        }
    }
}

/* R rows of op(A) × one panel (B row k at Bp + k·bs, 32 columns, masks m0/m1) → C (R, 32). */
T512 INL void tile(const int R, const int ta, float *C, size_t ldc, const float *A, size_t lda, const float *Bp,
                   size_t bs, size_t K, __mmask16 m0, __mmask16 m1, float alpha, int acc)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) c0[i] = c1[i] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k++) {
        const float *b = Bp + k * bs;
        __m512 w0 = _mm512_maskz_loadu_ps(m0, b), w1 = _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            __m512 a = _mm512_set1_ps(ta ? A[k * lda + (size_t)i] : A[(size_t)i * lda + k]);
            c0[i] = _mm512_fmadd_ps(a, w0, c0[i]);
            c1[i] = _mm512_fmadd_ps(a, w1, c1[i]);
        }
    }
    __m512 al = _mm512_set1_ps(alpha);
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        float *o = C + (size_t)i * ldc;
        if (alpha != 1.0f) c0[i] = _mm512_mul_ps(c0[i], al), c1[i] = _mm512_mul_ps(c1[i], al);
        if (acc) {
            c0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, o), c0[i]);
            c1[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, o + 16), c1[i]);
        }
        _mm512_mask_storeu_ps(o, m0, c0[i]);
        _mm512_mask_storeu_ps(o + 16, m1, c1[i]);
    }
}

#define TILE_FN(R, TA)                                                                                          \
    T512 static void tile_##TA##_##R(float *C, size_t ldc, const float *A, size_t lda, const float *Bp, size_t bs, \
                                     size_t K, __mmask16 m0, __mmask16 m1, float alpha, int acc)               \
    {                                                                                                          \
        tile(R, TA, C, ldc, A, lda, Bp, bs, K, m0, m1, alpha, acc);                                            \
    }
#define TILE_FNS(TA)                                                                                           \
    TILE_FN(1, TA) TILE_FN(2, TA) TILE_FN(3, TA) TILE_FN(4, TA) TILE_FN(5, TA) TILE_FN(6, TA) TILE_FN(7, TA)     \
    TILE_FN(8, TA) TILE_FN(9, TA) TILE_FN(10, TA) TILE_FN(11, TA) TILE_FN(12, TA)
TILE_FNS(0)
TILE_FNS(1)
typedef void (*tile_fn)(float *, size_t, const float *, size_t, const float *, size_t, size_t, __mmask16, __mmask16,
                        float, int);
static const tile_fn g_tiles[2][MR + 1] = {
    {NULL, tile_0_1, tile_0_2, tile_0_3, tile_0_4, tile_0_5, tile_0_6, tile_0_7, tile_0_8, tile_0_9, tile_0_10,
     tile_0_11, tile_0_12},
    {NULL, tile_1_1, tile_1_2, tile_1_3, tile_1_4, tile_1_5, tile_1_6, tile_1_7, tile_1_8, tile_1_9, tile_1_10,
     tile_1_11, tile_1_12}};

/* Rows [m0, m1) of C against every panel. Panel p's row k is at Bp + p·pstride + k·bs. */
static void rows_block(float *C, size_t ldc, int ta, const float *A, size_t lda, const float *Bp, size_t pstride,
                       size_t bs, size_t m0, size_t m1, size_t N, size_t K, float alpha, int acc)
{
    size_t np = (N + NR - 1) / NR;
    for (size_t p = 0; p < np; p++) {
        size_t n0 = p * NR, nv = N - n0 < NR ? N - n0 : NR;
        __mmask16 k0 = (__mmask16)(nv >= 16 ? 0xFFFFu : (1u << nv) - 1u);
        __mmask16 k1 = (__mmask16)(nv <= 16 ? 0u : nv >= 32 ? 0xFFFFu : (1u << (nv - 16)) - 1u);
        const float *Bpp = Bp + p * pstride;
        for (size_t m = m0; m < m1; m += MR) {
            size_t r = m1 - m < MR ? m1 - m : MR;
            const float *Am = ta ? A + m : A + m * lda;
            g_tiles[ta][r](C + m * ldc + n0, ldc, Am, lda, Bpp, bs, K, k0, k1, alpha, acc);
        }
    }
}

/* The packed panels: a buffer per thread, kept and grown (a fresh 1 MB malloc per call is an
 * mmap, and its page faults cost more than the packing). A thread-specific key frees it when its
 * thread exits (OpenMP teams come and go), so no buffer outlives its thread. */
static __thread float *g_bp;
static __thread size_t g_bp_cap;
static pthread_key_t g_bp_key;
static pthread_once_t g_bp_once = PTHREAD_ONCE_INIT;
static void bp_free(void *p) { free(p); }
static void bp_key_create(void) { pthread_key_create(&g_bp_key, bp_free); }

static int own_gemm(float *C, size_t ldc, int ta, const float *A, size_t lda, int tb, const float *B, size_t ldb,
                    size_t M, size_t N, size_t K, float alpha, int acc)
{
    const float *Bp = B;
    size_t pstride = NR, bs = ldb;
    if (tb) {
        size_t np = (N + NR - 1) / NR, need = np * K * NR;
        if (need > g_bp_cap) {
            float *t = realloc(g_bp, need * sizeof(float));
            if (!t) return -1;
            g_bp = t, g_bp_cap = need;
            pthread_once(&g_bp_once, bp_key_create);
            pthread_setspecific(g_bp_key, g_bp);
        }
        pack_bt(g_bp, B, ldb, N, K);
        Bp = g_bp, pstride = K * NR, bs = NR;
    }
    size_t nb = (M + MB - 1) / MB;
#pragma omp parallel for schedule(static) if ((uint64_t)M * N * K >= GEMM_PAR_MIN && nb > 1)
    for (long b = 0; b < (long)nb; b++) {
        size_t m0 = (size_t)b * MB, m1 = m0 + MB < M ? m0 + MB : M;
        rows_block(C, ldc, ta, A, lda, Bp, pstride, bs, m0, m1, N, K, alpha, acc);
    }
    return 0;
}
#endif

void gemm(float *C, size_t ldc, int ta, const float *A, size_t lda, int tb, const float *B, size_t ldb, size_t M,
          size_t N, size_t K, float alpha, int accumulate)
{
    if (M == 0 || N == 0) return;
    if (K == 0) {
        if (!accumulate)
            for (size_t m = 0; m < M; m++) memset(C + m * ldc, 0, N * sizeof(float));
        return;
    }
#if GEMM_HAVE_AVX512
    if (gemm_own() && own_gemm(C, ldc, ta, A, lda, tb, B, ldb, M, N, K, alpha, accumulate) == 0) return;
#endif
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A, (int)lda, B, (int)ldb, accumulate ? 1.0f : 0.0f, C, (int)ldc);
}

void gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *W, size_t M, size_t N, size_t K,
             int accumulate)
{
    gemm(C, ldc, 0, A, lda, 1, W, K, M, N, K, 1.0f, accumulate);
}

void gemm_ref(float *C, size_t ldc, int ta, const float *A, size_t lda, int tb, const float *B, size_t ldb, size_t M,
              size_t N, size_t K, float alpha, int accumulate)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < K; k++)
                s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (double)(tb ? B[j * ldb + k] : B[k * ldb + j]);
            float v = (float)(alpha * s);
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + v : v;
        }
}
