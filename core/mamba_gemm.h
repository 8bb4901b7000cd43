/* Matrix products of the Mamba block's projections (core/mamba_gemm.c): in_proj, x_proj,
 * dt_proj and out_proj in the forward passes of core/mamba.c and core/bimamba.c.
 *
 * With the AVX-512 scan kernel selected (core/mamba_scan.h; the default on CPUs with AVX-512F)
 * they run strand's own AVX-512 kernel, whose every output element is one fixed sequence of FMAs
 * over k: the result does not depend on M, on the row's place in the matrix or on the thread
 * count, so inference on sequence groups in parallel (caduceus/caduceus.c) gives the serial
 * result bit for bit. Otherwise (portable kernel, or out of memory for the packed weight) they
 * call OpenBLAS's cblas_sgemm. */
#ifndef STRAND_CORE_MAMBA_GEMM_H
#define STRAND_CORE_MAMBA_GEMM_H
#include <stddef.h>

/* C (M,N; row stride ldc) = A (M,K; row stride lda) · Wᵀ with W (N,K) row-major; accumulate != 0:
 * C += instead. Splits rows over the OpenMP threads when large and not already inside a
 * parallel region. */
void mamba_gemm_nt(float *C, size_t ldc, const float *A, size_t lda, const float *W, size_t M, size_t N, size_t K,
                   int accumulate);
/* linear_forward without bias through mamba_gemm_nt: out (BT,OC) = inp (BT,C) · weightᵀ. */
void mamba_linear_forward(float *out, const float *inp, const float *weight, size_t BT, size_t C, size_t OC);
/* 1 when mamba_gemm_nt runs strand's own (bitwise row- and thread-independent) kernel. */
int mamba_gemm_own(void);
#endif
