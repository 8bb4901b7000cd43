/* The Mamba projections' matrix product (core/mamba_gemm.h): an AVX-512 kernel beside OpenBLAS.
 *
 * C (M,N) = A (M,K, row stride lda) · Wᵀ, W (N,K) row-major (PyTorch Linear layout). W is packed
 * per call into panels of 32 output columns (K × 32, zero past N); a 12 × 32 register tile (24 zmm
 * accumulators) runs the whole K loop with one FMA per (k, row, 16 columns), starting from zero,
 * in k order. Every element of C is therefore the same sequence of FMAs whatever M is, where its
 * row sits in a tile, and how rows are split over threads: the rows of a tail tile are copied
 * into a zero-padded tile and computed by the same kernel. Rows come in blocks of MB so the A
 * block stays in L2 while it meets every panel of W. */
#include "core/mamba_gemm.h"

#include <cblas.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mamba.h"
#include "core/mamba_scan.h"
#include "core/mamba_scan_kernels.h"

#define NR 32 /* columns per panel: two zmm */
#define MR 12 /* rows per register tile */
#define MB 120 /* rows per block (a multiple of MR) */
/* Below this many multiply-adds one thread does the product (OpenMP start-up costs more). */
#define GEMM_PAR_MIN (1u << 22)

int mamba_gemm_own(void) { return mamba_scan_kernel_active() == MAMBA_SCAN_AVX512; }

#if MAMBA_SCAN_HAVE_AVX512
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,fma")))

/* Wp (npanel, K, 32) from W (N, K); columns past N are zero. */
static void pack_w(float *Wp, const float *W, size_t N, size_t K)
{
    size_t np = (N + NR - 1) / NR;
    for (size_t p = 0; p < np; p++) {
        float *dst = Wp + p * K * NR;
        for (size_t j = 0; j < NR; j++) {
            size_t n = p * NR + j;
            if (n < N)
                for (size_t k = 0; k < K; k++) dst[k * NR + j] = W[n * K + k];
            else
                for (size_t k = 0; k < K; k++) dst[k * NR + j] = 0.0f;
        }
    }
}

/* 12 rows of A (stride lda) × one panel → out (12, 32, stride ldo), columns masked by m0/m1. */
T512 static void tile12(float *out, size_t ldo, const float *A, size_t lda, const float *Wp, size_t K, __mmask16 m0,
                        __mmask16 m1, int acc)
{
    __m512 c[MR][2];
    for (int i = 0; i < MR; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k++) {
        __m512 w0 = _mm512_loadu_ps(Wp + k * NR), w1 = _mm512_loadu_ps(Wp + k * NR + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512 a = _mm512_set1_ps(A[(size_t)i * lda + k]);
            c[i][0] = _mm512_fmadd_ps(a, w0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(a, w1, c[i][1]);
        }
    }
    for (int i = 0; i < MR; i++) {
        float *o = out + (size_t)i * ldo;
        if (acc) {
            c[i][0] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, o), c[i][0]);
            c[i][1] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, o + 16), c[i][1]);
        }
        _mm512_mask_storeu_ps(o, m0, c[i][0]);
        _mm512_mask_storeu_ps(o + 16, m1, c[i][1]);
    }
}

/* Rows [m0, m1) of C: full tiles straight from A, the tail through a zero-padded copy. */
T512 static void rows_block(float *C, size_t ldc, const float *A, size_t lda, const float *Wp, size_t m0, size_t m1,
                            size_t N, size_t K, int acc, float *pad, float *ctile)
{
    size_t np = (N + NR - 1) / NR;
    for (size_t p = 0; p < np; p++) {
        size_t n0 = p * NR, nv = N - n0 < NR ? N - n0 : NR;
        __mmask16 k0 = (__mmask16)(nv >= 16 ? 0xFFFFu : (1u << nv) - 1u);
        __mmask16 k1 = (__mmask16)(nv <= 16 ? 0u : nv >= 32 ? 0xFFFFu : (1u << (nv - 16)) - 1u);
        const float *Wpp = Wp + p * K * NR;
        size_t m = m0;
        for (; m + MR <= m1; m += MR) tile12(C + m * ldc + n0, ldc, A + m * lda, lda, Wpp, K, k0, k1, acc);
        if (m < m1) { /* tail: the same kernel on a zero-padded copy */
            size_t r = m1 - m;
            memset(pad, 0, MR * K * sizeof(float));
            for (size_t i = 0; i < r; i++) memcpy(pad + i * K, A + (m + i) * lda, K * sizeof(float));
            for (size_t i = 0; i < r; i++) memcpy(ctile + i * NR, C + (m + i) * ldc + n0, nv * sizeof(float));
            tile12(ctile, NR, pad, K, Wpp, K, k0, k1, acc);
            for (size_t i = 0; i < r; i++) memcpy(C + (m + i) * ldc + n0, ctile + i * NR, nv * sizeof(float));
        }
    }
}

/* The packed weight: a buffer per thread, kept and grown (a fresh 1 MB malloc per call is an
 * mmap, and its page faults cost more than the packing). A thread-specific key frees it when its
 * thread exits (OpenMP teams come and go), so no buffer outlives its thread. */
static __thread float *g_wp;
static __thread size_t g_wp_cap;
static pthread_key_t g_wp_key;
static pthread_once_t g_wp_once = PTHREAD_ONCE_INIT;
static void wp_free(void *p) { free(p); }
static void wp_key_create(void) { pthread_key_create(&g_wp_key, wp_free); }

static int own_gemm(float *C, size_t ldc, const float *A, size_t lda, const float *W, size_t M, size_t N, size_t K,
                    int acc)
{
    size_t np = (N + NR - 1) / NR, nb = (M + MB - 1) / MB, need = np * K * NR;
    if (need > g_wp_cap) {
        float *t = realloc(g_wp, need * sizeof(float));
        if (!t) return STRAND_E_NOMEM;
        g_wp = t, g_wp_cap = need;
        pthread_once(&g_wp_once, wp_key_create);
        pthread_setspecific(g_wp_key, g_wp);
    }
    float *Wp = g_wp;
    pack_w(Wp, W, N, K);
    int bad = 0;
#pragma omp parallel if ((uint64_t)M * N * K >= GEMM_PAR_MIN && nb > 1)
    {
        float *pad = malloc((MR * K + MR * NR) * sizeof(float));
        if (!pad) {
#pragma omp atomic write
            bad = 1;
        }
#pragma omp for schedule(static)
        for (long b = 0; b < (long)nb; b++) {
            if (!pad) continue;
            size_t m0 = (size_t)b * MB, m1 = m0 + MB < M ? m0 + MB : M;
            rows_block(C, ldc, A, lda, Wp, m0, m1, N, K, acc, pad, pad + MR * K);
        }
        free(pad);
    }
    return bad ? STRAND_E_NOMEM : 0;
}
#endif

void mamba_gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *W, size_t M, size_t N, size_t K,
                   int accumulate)
{
    if (M == 0 || N == 0) return;
    if (K == 0) {
        if (!accumulate)
            for (size_t m = 0; m < M; m++) memset(C + m * ldc, 0, N * sizeof(float));
        return;
    }
#if MAMBA_SCAN_HAVE_AVX512
    if (mamba_gemm_own() && own_gemm(C, ldc, A, lda, W, M, N, K, accumulate) == 0) return;
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, A, (int)lda, W, (int)K,
                accumulate ? 1.0f : 0.0f, C, (int)ldc);
}

void mamba_linear_forward(float *out, const float *inp, const float *weight, size_t BT, size_t C, size_t OC)
{
    mamba_gemm_nt(out, OC, inp, C, weight, BT, OC, C, 0);
}
