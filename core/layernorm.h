/* LayerNorm with a weight and no bias (docs/dit.md "Block"): out = (x − mean)/sqrt(var + eps) ⊙ w, in fp32. */
#ifndef STRAND_CORE_LAYERNORM_H
#define STRAND_CORE_LAYERNORM_H
#include <stddef.h>
/* out (N,C), mean (N), rstd (N) cached for backward (both may be NULL at inference),
 * inp (N,C), weight (C) or NULL for 1. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, size_t N,
                       size_t C, float eps);
/* Accumulates (+=) into dinp (N,C) and dweight (C) (either may be NULL). */
void layernorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                        const float *mean, const float *rstd, size_t N, size_t C);
#endif
