/* Token / label embeddings: rows of a table E (V,D) picked by id, or a soft input P (BT,V)
 * multiplied by E (embedding = P·E, docs/diffusion.md "Classifier-based guidance": the one-hot form used by classifier guidance). */
#ifndef STRAND_CORE_EMBEDDING_H
#define STRAND_CORE_EMBEDDING_H
#include <stddef.h>
#include <stdint.h>
/* out (BT,D) = E[ids[t]]. Returns 0, or STRAND_E_RANGE (message names the position) when an id is
 * outside [0,V); out is then unspecified. */
int embedding_forward(float *out, const int32_t *ids, const float *E, size_t BT, size_t V, size_t D);
/* dE[ids[t]] += dout[t] (ids already validated by the forward). */
void embedding_backward(float *dE, const float *dout, const int32_t *ids, size_t BT, size_t D);
/* out (BT,D) = P (BT,V) · E (V,D). */
void embedding_soft_forward(float *out, const float *P, const float *E, size_t BT, size_t V, size_t D);
/* Accumulates dP (BT,V) += dout·Eᵀ and dE (V,D) += Pᵀ·dout (either may be NULL). */
void embedding_soft_backward(float *dP, float *dE, const float *dout, const float *P, const float *E,
                             size_t BT, size_t V, size_t D);
#endif
