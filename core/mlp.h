/* Transformer MLP (docs/dit.md "Block"): Linear C→H with bias, GELU-tanh, Linear H→C with bias (H = 4C). */
#ifndef STRAND_CORE_MLP_H
#define STRAND_CORE_MLP_H
#include <stddef.h>
/* out (BT,C); caches pre (BT,H) = inp·w1ᵀ + b1 and act (BT,H) = gelu(pre); inp (BT,C);
 * w1 (H,C), b1 (H), w2 (C,H), b2 (C). */
void mlp_forward(float *out, float *pre, float *act, const float *inp, const float *w1, const float *b1,
                 const float *w2, const float *b2, size_t BT, size_t C, size_t H);
/* Accumulates into dinp (BT,C) and the four parameter gradients (any may be NULL);
 * scratch (BT,H) is overwritten. */
void mlp_backward(float *dinp, float *dw1, float *db1, float *dw2, float *db2, float *scratch,
                  const float *dout, const float *inp, const float *pre, const float *act, const float *w1,
                  const float *w2, size_t BT, size_t C, size_t H);
#endif
