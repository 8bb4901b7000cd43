/* strand's matrix product (core/gemm.c): one GEMM for the linear layers, attention and embeddings
 * of the DiT and the projections of the Mamba blocks.
 *
 *   C (M,N; row stride ldc) = alpha · op(A) · op(B)        (accumulate != 0: C += alpha · op(A) · op(B))
 *   op(A) (M,K): ta = 0: A (M,K) row stride lda;  ta = 1: A stored (K,M), row stride lda (Aᵀ)
 *   op(B) (K,N): tb = 0: B (K,N) row stride ldb;  tb = 1: B stored (N,K), row stride ldb (Bᵀ, the
 *                PyTorch Linear weight layout)
 *
 * On CPUs with AVX-512F it runs strand's own kernel (a 12 × 32 register tile): every element of C
 * is one fixed sequence of FMAs over k in order, starting from zero, then · alpha, then + C when
 * accumulating. The result therefore does not depend on M, on where a row sits, or on how the rows
 * are split over threads: the DiT sampler and Caduceus inference give the serial result bit for bit
 * at any thread count. op(B) with tb = 1 is packed per call into 32-column panels in a per-thread
 * buffer (kept and grown; freed when its thread exits); tb = 0 is read in place. Elsewhere, or with
 * STRAND_GEMM=blas in the environment (read on first use), or out of memory for the packed panels,
 * it calls OpenBLAS's cblas_sgemm with the same layouts. */
#ifndef STRAND_CORE_GEMM_H
#define STRAND_CORE_GEMM_H
#include <stddef.h>

void gemm(float *C, size_t ldc, int ta, const float *A, size_t lda, int tb, const float *B, size_t ldb, size_t M,
          size_t N, size_t K, float alpha, int accumulate);
/* C (M,N) (+)= A (M,K; stride lda) · Wᵀ, W (N,K) row-major (stride K). */
void gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *W, size_t M, size_t N, size_t K,
             int accumulate);
/* 1 when gemm runs strand's own (bitwise row- and thread-independent) kernel. */
int gemm_own(void);
/* Reference: the same products as plain loops in double (tests compare the two). */
void gemm_ref(float *C, size_t ldc, int ta, const float *A, size_t lda, int tb, const float *B, size_t ldb, size_t M,
              size_t N, size_t K, float alpha, int accumulate);
#endif
