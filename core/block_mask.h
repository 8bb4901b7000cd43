/* Attention masks of block diffusion (docs/bd3lm.md "Training input and attention mask").
 *
 * Training input: concat(x_t, x_0), 2L positions; blk(i) = i div Lb for the noisy half (i < L),
 * (i − L) div Lb for the clean half. Query i may attend to key j when
 *   noisy i, noisy j : blk(j) == blk(i)     block-diagonal
 *   noisy i, clean j : blk(j) <  blk(i)     offset block-causal
 *   clean i, clean j : blk(j) <= blk(i)     block-causal
 *   clean i, noisy j : never
 * Sampling input (no clean copy): the clean prefix blocks then the current noisy block, n
 * positions, blk(i) = i div Lb; j allowed when blk(j) <= blk(i) (block-causal), which gives the
 * noisy block the same view as in training. Boolean masks are row = query, column = key, 1 =
 * allowed; core/attention.h attention_mask_from_bool makes the additive form. Lb = 1 with the
 * sampling mask is the causal mask; Lb >= n is no mask at all. */
#ifndef STRAND_CORE_BLOCK_MASK_H
#define STRAND_CORE_BLOCK_MASK_H
#include <stddef.h>
#include <stdint.h>

/* allowed (2L,2L) for the training input; L % Lb need not be 0 (the last block is short). */
void block_mask_train(uint8_t *allowed, size_t L, size_t Lb);
/* allowed (n,n), block-causal with blocks of Lb. */
void block_mask_causal(uint8_t *allowed, size_t n, size_t Lb);
/* Additive (0 / −inf) versions of the two. */
void block_mask_train_additive(float *mask, size_t L, size_t Lb);
void block_mask_causal_additive(float *mask, size_t n, size_t Lb);
#endif
