/* Linear layer through core/gemm.h: out = in · Wᵀ + b. Row-major, PyTorch weight layout [OC, C]. */
#ifndef STRAND_CORE_LINEAR_H
#define STRAND_CORE_LINEAR_H
#include <stddef.h>
/* out (BT,OC) = inp (BT,C) · weight(OC,C)ᵀ + bias(OC) (bias may be NULL). Overwrites out. */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias, size_t BT,
                    size_t C, size_t OC);
/* Accumulates (+=): dinp (BT,C), dweight (OC,C), dbias (OC). Any of them may be NULL to skip. */
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, size_t BT, size_t C, size_t OC);
#endif
