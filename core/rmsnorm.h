/* RMSNorm (docs/caduceus.md "Residual pattern and RMSNorm"): out = v / sqrt(mean(v²) + eps) ⊙ w, no bias. */
#ifndef STRAND_CORE_RMSNORM_H
#define STRAND_CORE_RMSNORM_H
#include <stddef.h>
/* out (N,C), rstd (N) cached for backward, inp (N,C), weight (C). */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, size_t N, size_t C,
                     float eps);
/* Accumulates (+=) into dinp (N,C) and dweight (C) (either may be NULL). */
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                      const float *rstd, size_t N, size_t C);
#endif
