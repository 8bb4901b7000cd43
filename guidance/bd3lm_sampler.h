/* Block diffusion sampling (docs/bd3lm.md "Sampling with a key/value cache"): blocks of Lb tokens
 * left to right; inside a block, masked diffusion conditioned on the clean prefix, either
 * ancestral on the time grid linspace(1, 1e-5, steps + 1) (docs/diffusion.md "MDLM sampler",
 * with its noise removal: a final argmax for positions still masked) or first-hitting (each step
 * unmasks one position chosen uniformly among the masked ones and draws its token from x_theta;
 * the network is not time-conditioned, so the hitting times themselves are not needed). Per
 * position the step distribution is guidance/posterior.h's (SUBS, CFG mixing of log x_theta,
 * top-p) drawn by the exponential race from the sample's own stream (the seed's state jumped i
 * times), so samples depend on seed and batch size only.
 *
 * Context: the prefix the network sees is the last floor((window − Lb)/Lb) whole blocks (window =
 * the model length), so a sequence may be longer than the training window (DNA --length). With
 * the cache (use_kv) the clean blocks' keys and values are computed once, when the block is
 * finished, and the oldest are dropped as the window slides; without it every network call runs
 * [prefix, block] through the DiT under the block-causal mask. While the sequence fits the window
 * the two are the same computation (tested: identical samples); once the window slides, a cached
 * block keeps the keys computed with the context it had then, the uncached call recomputes them
 * from the truncated window (the official sampler's cache behaves like the former).
 *
 * Stop: with eos_id >= 0 a row is finished after the block that holds its first <eos>; its
 * length is the position of that <eos> + 1 and the rest of its output row is pad_id. Sampling
 * ends when every row of the batch is finished or `length` tokens are written. */
#ifndef STRAND_GUIDANCE_BD3LM_SAMPLER_H
#define STRAND_GUIDANCE_BD3LM_SAMPLER_H
#include <stddef.h>
#include <stdint.h>

#include "guidance/diff_train.h"

typedef struct bd3lm_sampler_params {
    size_t length;     /* tokens per sample (may exceed the model length) */
    size_t window;     /* context window (0: the model length) */
    int steps;         /* ancestral steps per block (ignored by first-hitting) */
    int first_hitting; /* 1: one position unmasked per network call */
    int noise_removal; /* ancestral: argmax for positions still masked after the grid (1) */
    double top_p;      /* (0, 1] */
    int label;         /* -1: the null label */
    double gamma;      /* CFG weight >= 0 with a label */
    int bos_id;        /* >= 0: position 0 is fixed to it */
    int eos_id;        /* >= 0: stop a row after the block holding its first <eos> */
    int pad_id;        /* filler after <eos> */
    int use_kv;        /* 1: key/value cache of clean blocks */
    size_t batch;      /* sequences per network call */
    uint64_t seed;
    int (*progress)(void *user, uint64_t done, uint64_t total); /* after every block: blocks done over all batches; non-zero cancels */
    void *progress_user;
} bd3lm_sampler_params;

typedef struct bd3lm_sample_stats {
    uint64_t net_calls;  /* network calls (block steps and cache commits) */
    uint64_t net_rows;   /* rows through the network, CFG pairs counted twice */
    uint64_t net_tokens; /* positions through the network (the cost: the prefix counts when uncached) */
    uint64_t tokens;     /* tokens generated (sum of the lengths) */
    double seconds;
} bd3lm_sample_stats;

/* length 0 (must be set), window 0, 16 steps, ancestral, noise removal, top-p 1, no label, gamma 1,
 * bos/eos/pad -1, cache on, batch 16, seed 0. */
bd3lm_sampler_params bd3lm_sampler_default_params(void);
/* n samples into out (n, length); lens (n) or NULL receives each sample's length. */
int bd3lm_sample(diff_model *m, size_t Lb, const bd3lm_sampler_params *p, size_t n, int32_t *out, size_t *lens,
                 bd3lm_sample_stats *stats);
#endif
