/* Noise-level conditioning (docs/dit.md "Noise and label conditioning"): sinusoidal embedding of sigma (256 frequencies,
 * f_i = exp(−ln(1e4)·i/128), laid out [cos | sin]) → Linear(256→cond) → SiLU → Linear(cond→cond).
 * The label embedding (num_classes + 1 rows, the last = null label) is core/embedding.h. */
#ifndef STRAND_CORE_TIMESTEP_H
#define STRAND_CORE_TIMESTEP_H
#include <stddef.h>

#define TIMESTEP_FREQ_DIM 256

/* out (B,256) = [cos(sigma·f) | sin(sigma·f)]. */
void timestep_freq_forward(float *out, const float *sigma, size_t B);
/* out (B,cond); caches freq (B,256), h (B,cond) pre-activation, a (B,cond) = silu(h).
 * w0 (cond,256), b0 (cond), w2 (cond,cond), b2 (cond) — checkpoint sigma_map.mlp.{0,2}. */
void timestep_forward(float *out, float *freq, float *h, float *a, const float *sigma, const float *w0,
                      const float *b0, const float *w2, const float *b2, size_t B, size_t cond);
/* Accumulates into the parameter gradients (any NULL); scratch (B,cond) overwritten.
 * No gradient flows to sigma. */
void timestep_backward(float *dw0, float *db0, float *dw2, float *db2, float *scratch, const float *dout,
                       const float *freq, const float *h, const float *a, const float *w2, size_t B,
                       size_t cond);
#endif
