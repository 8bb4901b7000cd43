/* Pointwise activations: GELU (tanh approximation, docs/dit.md "Block") and SiLU (conditioning path). */
#ifndef STRAND_CORE_GELU_H
#define STRAND_CORE_GELU_H
#include <stddef.h>
/* GELU-tanh: out = ½x(1 + tanh(√(2/π)(x + 0.044715x³))). out may alias inp. */
void gelu_forward(float *out, const float *inp, size_t n);
/* One value by the textbook formula with tanhf (naive reference for the tests). */
float gelu_ref(float x);
/* dinp += gelu'(inp) ⊙ dout. */
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
/* In place: d[i] = gelu'(inp[i]) · d[i] (for a scratch gradient that is then consumed). */
void gelu_backward_inplace(float *d, const float *inp, size_t n);
/* 1: the GELU calls run their scalar loops even where the AVX-512 ones would (tests compare both;
 * not thread-safe: set it before the calls). 0: dispatch by the CPU (the default). */
void gelu_set_portable(int on);
/* SiLU: out = x·σ(x). out may alias inp. */
void silu_forward(float *out, const float *inp, size_t n);
/* dinp += silu'(inp) ⊙ dout. */
void silu_backward(float *dinp, const float *inp, const float *dout, size_t n);
#endif
