/* Internal: the per-block scan kernels behind core/mamba_scan.h's selection (one sequence b,
 * channels c0..c0+nc-1 with nc <= 16; the drivers in core/mamba_scan.c own threading and
 * work space). */
#ifndef STRAND_CORE_MAMBA_SCAN_KERNELS_H
#define STRAND_CORE_MAMBA_SCAN_KERNELS_H
#include <stddef.h>

#include "core/mamba.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define MAMBA_SCAN_HAVE_AVX512 1
#else
#define MAMBA_SCAN_HAVE_AVX512 0
#endif

#if MAMBA_SCAN_HAVE_AVX512
int mamba_scan_cpu_has_avx512(void);
void mamba_scan_fwd_block_avx512(float *y, float *hck, const float *x, const float *delta, const float *A,
                                 const float *BC, const float *Dskip, const mamba_scan_dims *s, size_t b,
                                 size_t c0, size_t nc, float *hcarry);
/* hs, ea: (chunk, 16, 16) floats each */
void mamba_scan_bwd_block_avx512(float *dx, float *ddelta, float *dAblk, float *dBC_priv, float *dD,
                                 const float *dy, const float *hck, const float *x, const float *delta,
                                 const float *A, const float *BC, const float *Dskip, const mamba_scan_dims *s,
                                 size_t b, size_t c0, size_t nc, float *hs, float *ea, float *rbuf);
#endif
#endif
