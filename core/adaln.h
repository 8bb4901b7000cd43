/* adaLN conditioning (docs/dit.md "Block"): modulate(x) = x·(1 + scale) + shift and the gated residual
 * out = x + gate·y. shift/scale/gate are per sequence: element [b·ms + d] of the (B, k·D)
 * output of the adaLN Linear (ms = its row stride, e.g. 6D inside a block, 2D at the output). */
#ifndef STRAND_CORE_ADALN_H
#define STRAND_CORE_ADALN_H
#include <stddef.h>
/* out (B,L,D) = x (B,L,D)·(1 + scale[b]) + shift[b]; out may alias x. */
void adaln_modulate_forward(float *out, const float *x, const float *shift, const float *scale, size_t ms,
                            size_t B, size_t L, size_t D);
/* Accumulates: dx (B,L,D), dshift[b·ms+d] += Σ_l dout, dscale[b·ms+d] += Σ_l dout·x (any NULL). */
void adaln_modulate_backward(float *dx, float *dshift, float *dscale, const float *dout, const float *x,
                             const float *scale, size_t ms, size_t B, size_t L, size_t D);
/* out (B,L,D) = x (B,L,D) + gate[b] ⊙ y (B,L,D); out may alias x. */
void adaln_gate_forward(float *out, const float *x, const float *y, const float *gate, size_t ms, size_t B,
                        size_t L, size_t D);
/* Accumulates: dx += dout, dy += gate ⊙ dout, dgate[b·ms+d] += Σ_l dout ⊙ y (any NULL; pass
 * dx = NULL when dout already is the residual stream's gradient buffer). */
void adaln_gate_backward(float *dx, float *dy, float *dgate, const float *dout, const float *y,
                         const float *gate, size_t ms, size_t B, size_t L, size_t D);
#endif
