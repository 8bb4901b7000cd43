/* Bidirectional multi-head self-attention with rotary embeddings (docs/dit.md "Rotary attention"
 * bit-compatibility"): qkv (B,L,3D) laid out (3, H, hd) per position; q and k rotated with
 * rotate-half and [freqs | freqs] tables, v not rotated; scores scaled by 1/sqrt(hd); an optional
 * additive (L,L) mask (0 / −inf; row i = query, column j = key) for block diffusion. */
#ifndef STRAND_CORE_ATTENTION_H
#define STRAND_CORE_ATTENTION_H
#include <stddef.h>
#include <stdint.h>

/* cos, sin (L,hd): inv_freq_j = 1/base^(2j/hd), angle = pos·inv_freq_j, columns [j | j + hd/2]. */
void rope_tables(float *cos_t, float *sin_t, size_t L, size_t hd, float base);
/* Additive mask (L,L) from a boolean one: allowed[i·L+j] != 0 → 0, else −inf. */
void attention_mask_from_bool(float *mask, const uint8_t *allowed, size_t L);

/* out (B,L,D): heads concatenated (B,L,H,hd). Caches qr (B,L,2D) = rotated [q | k] and
 * att (B,H,L,L) = softmax probabilities. qkv (B,L,3D); cos/sin (L,hd); mask (L,L) or NULL.
 * A query whose keys are all masked gets probabilities 0 (output 0). D % H == 0, hd even. */
void attention_forward(float *out, float *qr, float *att, const float *qkv, const float *cos_t,
                       const float *sin_t, const float *mask, size_t B, size_t L, size_t D, size_t H);
/* Floats of scratch attention_backward needs: B·H·L·L + B·L·2D. */
size_t attention_scratch_floats(size_t B, size_t L, size_t D, size_t H);
/* Accumulates (+=) dqkv (B,L,3D) from dout (B,L,D); scratch is overwritten. */
void attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *qr,
                        const float *att, const float *cos_t, const float *sin_t, size_t B, size_t L,
                        size_t D, size_t H);
/* Naive loops, no BLAS, no threads (tests compare the two). Same contract as attention_forward. */
void attention_forward_ref(float *out, float *qr, float *att, const float *qkv, const float *cos_t,
                           const float *sin_t, const float *mask, size_t B, size_t L, size_t D, size_t H);
/* Attention of n new positions over a key/value cache (block diffusion sampling, docs/bd3lm.md
 * "Sampling with a key/value cache"). qkv (B,n,3D) of the new positions, unrotated; cos/sin (n,hd)
 * are the rotary rows of their positions. Their rotated keys and their values are written into
 * the cache kc, vc (B,cap,D) at slots m..m+n-1; then every new query attends, unmasked, to the
 * m + n keys in slots 0..m+n-1 (the clean prefix and its own block). qr (B,n,D) scratch (rotated
 * queries), att (B,H,n,m+n) the probabilities. out (B,n,D). m + n <= cap. */
void attention_cached_forward(float *out, float *kc, float *vc, float *qr, float *att, const float *qkv,
                              const float *cos_t, const float *sin_t, size_t B, size_t n, size_t m, size_t cap,
                              size_t D, size_t H);
#endif
