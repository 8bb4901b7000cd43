/* DiT forward of one block of new positions against a key/value cache of earlier positions
 * (block diffusion sampling, docs/bd3lm.md "Sampling with a key/value cache").
 *
 * With the block-causal mask a clean block's keys and values never depend on later positions, so
 * they are computed once: every layer keeps the rotated keys and the values of the positions
 * committed so far (slots 0..m-1, absolute positions pos0..pos0+m-1). dit_kv_forward runs n new
 * positions (absolute positions pos0+m..) through the network; each attends to all cached slots
 * and to the n new ones (no mask inside the block), which is what the uncached forward of
 * [prefix, block] under core/block_mask.h's block-causal mask computes for the block's rows.
 * With commit the new positions' keys and values stay in the cache (the block is clean now).
 * Only for networks without time conditioning (the conditioning c must not change between the
 * calls that fill the cache and those that read it); labels are fixed at reset.
 *
 *     dit_kv *kv; dit_kv_create(&kv, &w->cfg, B, cap, max_new);
 *     dit_kv_reset(kv, w, labels);                    // empty cache, c for these labels
 *     dit_kv_forward(w, kv, ids, n, 0, logits);       // a noisy block: logits (B,n,N), cache unchanged
 *     dit_kv_forward(w, kv, ids, n, 1, NULL);         // the finished block: appended to the cache
 *     dit_kv_drop(kv, k);                             // forget the k oldest slots (sliding window) */
#ifndef STRAND_CORE_DIT_KV_H
#define STRAND_CORE_DIT_KV_H
#include <stddef.h>
#include <stdint.h>

#include "core/dit.h"
#include "core/error.h"

typedef struct dit_kv dit_kv;

/* B rows, cap cached slots per row, at most max_new positions per call (m + n <= cap). */
int dit_kv_create(dit_kv **out, const dit_config *cfg, size_t B, size_t cap, size_t max_new);
void dit_kv_free(dit_kv *kv); /* accepts NULL */
/* Empty the cache (positions restart at 0) and compute the conditioning for labels (B) (NULL: the
 * null label; ignored without label conditioning). Refuses time-conditioned weights. */
int dit_kv_reset(dit_kv *kv, const dit_weights *w, const int32_t *labels);
/* n new positions ids (B,n): logits (B,n,N) (NULL: not computed) and, with commit, their keys and
 * values appended to the cache. */
int dit_kv_forward(const dit_weights *w, dit_kv *kv, const int32_t *ids, size_t n, int commit, float *logits);
/* Drop the k oldest cached slots (k <= m); the absolute positions of the rest do not change. */
void dit_kv_drop(dit_kv *kv, size_t k);
size_t dit_kv_len(const dit_kv *kv);  /* m: cached slots */
size_t dit_kv_next_pos(const dit_kv *kv); /* absolute position of the next new position */
const char *dit_kv_error(const dit_kv *kv);
#endif
