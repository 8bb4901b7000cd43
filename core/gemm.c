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

#include "core/simd.h"

#define NR 32  /* columns per panel: two zmm */
#define MR 12  /* rows per register tile */
#define MB 120 /* rows per block (a multiple of MR) */
#define KC 256 /* k per block of a long product */
#define KMAX 384 /* longest K done in one block */
/* Below this many multiply-adds one thread does the product (OpenMP start-up costs more). */
#define GEMM_PAR_MIN (1u << 22)

#define GEMM_HAVE_AVX512 ST_HAVE_AVX512

static int g_own = -1;

int gemm_own(void)
{
    int v = __atomic_load_n(&g_own, __ATOMIC_RELAXED);
    if (v < 0) {
        v = 0;
#if GEMM_HAVE_AVX512
        const char *env = getenv("STRAND_GEMM");
        v = st_cpu_avx512() && !(env && !strcmp(env, "blas"));
#endif
        __atomic_store_n(&g_own, v, __ATOMIC_RELAXED);
    }
    return v;
}

#if GEMM_HAVE_AVX512
#define T512 ST_T512
#define INL ST_INL

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

/* R rows of op(A) × one panel over k in [0, K) (B row k at Bp + k·bs, 32 columns, masks m0/m1).
 * The accumulators start from zero, or from S (R, 32; row stride lds) when S is given: the partial
 * sums of the earlier k of a K-blocked product (stored and reloaded exactly, so the FMA sequence is
 * the unblocked one). fin: C (R, 32) = alpha · acc (+ C when acc); else the partial sums go to S. */
T512 INL void tile(const int R, const int ta, const int full, float *C, size_t ldc, const float *A, size_t lda, const float *Bp,
                   size_t bs, size_t K, __mmask16 m0, __mmask16 m1, float alpha, int acc, float *S, size_t lds,
                   int first, int fin)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        if (first) {
            c0[i] = c1[i] = _mm512_setzero_ps();
        } else {
            c0[i] = _mm512_loadu_ps(S + (size_t)i * lds);
            c1[i] = _mm512_loadu_ps(S + (size_t)i * lds + 16);
        }
    }
    for (size_t k = 0; k < K; k++) {
        const float *b = Bp + k * bs;
        __m512 w0 = full ? _mm512_loadu_ps(b) : _mm512_maskz_loadu_ps(m0, b);
        __m512 w1 = full ? _mm512_loadu_ps(b + 16) : _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            __m512 a = _mm512_set1_ps(ta ? A[k * lda + (size_t)i] : A[(size_t)i * lda + k]);
            c0[i] = _mm512_fmadd_ps(a, w0, c0[i]);
            c1[i] = _mm512_fmadd_ps(a, w1, c1[i]);
        }
    }
    if (!fin) {
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            _mm512_storeu_ps(S + (size_t)i * lds, c0[i]);
            _mm512_storeu_ps(S + (size_t)i * lds + 16, c1[i]);
        }
        return;
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

#define TILE_FN(R, TA, F)                                                                                       \
    T512 static void tile_##TA##_##F##_##R(float *C, size_t ldc, const float *A, size_t lda, const float *Bp, size_t bs, \
                                     size_t K, __mmask16 m0, __mmask16 m1, float alpha, int acc, float *S,     \
                                     size_t lds, int first, int fin)                                           \
    {                                                                                                          \
        tile(R, TA, F, C, ldc, A, lda, Bp, bs, K, m0, m1, alpha, acc, S, lds, first, fin);                     \
    }
#define TILE_FNS(TA, F)                                                                                        \
    TILE_FN(1, TA, F) TILE_FN(2, TA, F) TILE_FN(3, TA, F) TILE_FN(4, TA, F) TILE_FN(5, TA, F) TILE_FN(6, TA, F)  \
    TILE_FN(7, TA, F) TILE_FN(8, TA, F) TILE_FN(9, TA, F) TILE_FN(10, TA, F) TILE_FN(11, TA, F) TILE_FN(12, TA, F)
TILE_FNS(0, 0)
TILE_FNS(1, 0)
TILE_FNS(0, 1)
TILE_FNS(1, 1)
typedef void (*tile_fn)(float *, size_t, const float *, size_t, const float *, size_t, size_t, __mmask16, __mmask16,
                        float, int, float *, size_t, int, int);
#define TILE_ROW(TA, F)                                                                                        \
    {NULL, tile_##TA##_##F##_1, tile_##TA##_##F##_2, tile_##TA##_##F##_3, tile_##TA##_##F##_4,                 \
     tile_##TA##_##F##_5, tile_##TA##_##F##_6, tile_##TA##_##F##_7, tile_##TA##_##F##_8, tile_##TA##_##F##_9,  \
     tile_##TA##_##F##_10, tile_##TA##_##F##_11, tile_##TA##_##F##_12}
/* [full panel][ta][rows]: a full panel loads B unmasked (the same values, so the same FMAs) */
static const tile_fn g_tiles[2][2][MR + 1] = {{TILE_ROW(0, 0), TILE_ROW(1, 0)}, {TILE_ROW(0, 1), TILE_ROW(1, 1)}};

/* Rows [m0, m1) of C against every panel, k in blocks of KC (K ≤ KMAX: one block). Panel p's row
 * k is at Bp + p·pstride + k·bs. S: (MB, npanel·32) for the partial sums of a blocked K, or NULL. */
static void rows_block(float *C, size_t ldc, int ta, const float *A, size_t lda, const float *Bp, size_t pstride,
                       size_t bs, size_t m0, size_t m1, size_t N, size_t K, float alpha, int acc, float *S)
{
    size_t np = (N + NR - 1) / NR, lds = np * NR, kc = K <= KMAX || !S ? K : KC;
    for (size_t k0 = 0; k0 < K; k0 += kc) {
        size_t kn = K - k0 < kc ? K - k0 : kc;
        int first = k0 == 0, fin = k0 + kn == K;
        for (size_t p = 0; p < np; p++) {
            size_t n0 = p * NR, nv = N - n0 < NR ? N - n0 : NR;
            __mmask16 q0 = st_mask16(nv), q1 = nv <= 16 ? (__mmask16)0 : st_mask16(nv - 16);
            const float *Bpp = Bp + p * pstride + k0 * bs;
            for (size_t m = m0; m < m1; m += MR) {
                size_t r = m1 - m < MR ? m1 - m : MR;
                const float *Am = ta ? A + k0 * lda + m : A + m * lda + k0;
                float *Sm = S ? S + (m - m0) * lds + n0 : NULL;
                g_tiles[nv == NR][ta][r](C + m * ldc + n0, ldc, Am, lda, Bpp, bs, kn, q0, q1, alpha, acc, Sm, lds, first, fin);
            }
        }
    }
}

/* Per-thread buffers (the packed panels of op(B), the partial sums of a K-blocked row block), kept
 * and grown: a fresh 1 MB malloc per call is an mmap, and its page faults cost more than the
 * packing. A thread-specific key frees them when the thread exits (OpenMP teams come and go), so
 * no buffer outlives its thread. */
typedef struct gemm_tls { float *buf[2]; size_t cap[2]; } gemm_tls;
static __thread gemm_tls *g_tls;
static pthread_key_t g_tls_key;
static pthread_once_t g_tls_once = PTHREAD_ONCE_INIT;
static void tls_free(void *p)
{
    gemm_tls *t = p;
    free(t->buf[0]), free(t->buf[1]), free(t);
}
static void tls_key_create(void) { pthread_key_create(&g_tls_key, tls_free); }

/* This thread's buffer `which` of at least n floats, or NULL. */
static float *tls_buf(int which, size_t n)
{
    if (!g_tls) {
        pthread_once(&g_tls_once, tls_key_create);
        g_tls = calloc(1, sizeof *g_tls);
        if (!g_tls) return NULL;
        pthread_setspecific(g_tls_key, g_tls);
    }
    if (n > g_tls->cap[which]) {
        float *t = realloc(g_tls->buf[which], n * sizeof(float));
        if (!t) return NULL;
        g_tls->buf[which] = t, g_tls->cap[which] = n;
    }
    return g_tls->buf[which];
}

static int own_gemm(float *C, size_t ldc, int ta, const float *A, size_t lda, int tb, const float *B, size_t ldb,
                    size_t M, size_t N, size_t K, float alpha, int acc)
{
    const float *Bp = B;
    size_t np = (N + NR - 1) / NR, pstride = NR, bs = ldb;
    if (tb) {
        float *p = tls_buf(0, np * K * NR);
        if (!p) return -1;
        pack_bt(p, B, ldb, N, K);
        Bp = p, pstride = K * NR, bs = NR;
    }
    size_t nb = (M + MB - 1) / MB;
    if ((uint64_t)M * N * K < GEMM_PAR_MIN || nb == 1) { /* small (attention heads): no OpenMP region at all */
        float *S = K > KMAX ? tls_buf(1, MB * np * NR) : NULL;
        for (size_t b = 0; b < nb; b++)
            rows_block(C, ldc, ta, A, lda, Bp, pstride, bs, b * MB, b * MB + MB < M ? b * MB + MB : M, N, K, alpha, acc,
                       S);
        return 0;
    }
#pragma omp parallel for schedule(static)
    for (long b = 0; b < (long)nb; b++) {
        size_t m0 = (size_t)b * MB, m1 = m0 + MB < M ? m0 + MB : M;
        /* no buffer for the partial sums: one k block (slower, the same result) */
        float *S = K > KMAX ? tls_buf(1, MB * np * NR) : NULL;
        rows_block(C, ldc, ta, A, lda, Bp, pstride, bs, m0, m1, N, K, alpha, acc, S);
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
