/* Softmax over the last axis, log-softmax, and cross-entropy with per-token weights and an ignore
 * index. Rows are (BT,V); computed with the row max subtracted. */
#ifndef STRAND_CORE_SOFTMAX_H
#define STRAND_CORE_SOFTMAX_H
#include <stddef.h>
#include <stdint.h>
/* probs (BT,V) = softmax(logits); may alias logits. A row of all −inf gives all zeros. */
void softmax_forward(float *probs, const float *logits, size_t BT, size_t V);
/* dlogits += p ⊙ (dprobs − Σ dprobs⊙p). */
void softmax_backward(float *dlogits, const float *dprobs, const float *probs, size_t BT, size_t V);
/* out (BT,V) = logits − logsumexp(logits); may alias logits. */
void log_softmax_forward(float *out, const float *logits, size_t BT, size_t V);
/* dlogits += dout − softmax · Σ dout, with softmax = exp(logsm). */
void log_softmax_backward(float *dlogits, const float *dout, const float *logsm, size_t BT, size_t V);

/* Cross-entropy: loss = (1/norm) · Σ_{t: targets[t] ≠ ignore} w[t] · (logsumexp(logits[t]) − logits[t][targets[t]]).
 * weights (BT) may be NULL (all 1); norm ≤ 0 means "the number of non-ignored tokens" (0 tokens → loss 0).
 * lse (BT) caches each row's logsumexp for the backward (may be NULL if no backward).
 * Returns 0, or STRAND_E_RANGE when a target is outside [0,V) and is not the ignore index.
 * *norm_used receives the divisor actually used (may be NULL). */
int crossentropy_forward(float *loss, float *lse, float *norm_used, const float *logits,
                         const int32_t *targets, const float *weights, int32_t ignore_index, float norm,
                         size_t BT, size_t V);
/* dlogits (BT,V) += dloss · w[t]/norm · (softmax(logits[t]) − onehot(targets[t])); ignored rows get 0.
 * norm is the value returned in *norm_used. The softmax is recomputed from each row's max (lse is
 * accepted for the forward's cache but not needed). */
void crossentropy_backward(float *dlogits, float dloss, const float *logits, const float *lse,
                           const int32_t *targets, const float *weights, int32_t ignore_index, float norm,
                           size_t BT, size_t V);
#endif
