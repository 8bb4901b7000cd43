/* Ancestral samplers of the masked (MDLM) and uniform (UDLM) processes with classifier-free
 * guidance (docs/diffusion.md "Time grid", "MDLM sampler", "UDLM sampler", "Classifier-free
 * guidance", "Semantics strand settles").
 *
 * Time grid: t_i = linspace(1, t_eps, T + 1) (t_eps 1e-5); step i goes from t_i to t_{i+1} and
 * draws every position from guidance/posterior.h's q with the exponential race (double).
 * The network is a diff_net: read-only weights shared by all threads plus one run context per
 * thread. Work is split over batches of `batch` sequences, one batch per thread at a time; sample
 * i draws from its own stream (the seed's state jumped i times, strand_rng_jump), so the samples
 * depend on seed and batch size only, never on the number of threads.
 *
 * Labels: a label-conditioned network (num_classes > 0) without a label runs with the null label
 * (id num_classes, what label dropout trained it for). With a label y and weight gamma:
 * gamma = 0: one call per step with the null label; 1: one call with y; otherwise one call of 2B
 * rows (B with y, then B with the null label).
 * Cache: a row whose tokens did not change since its last call reuses that call's logits when the
 * network is not time-conditioned (MDLM); exact, since the input is the same.
 * Masked process: after the T steps, noise removal (default on) takes one more call at t_eps and
 * replaces every position still [MASK] by its argmax (a greedy step t_eps -> 0).
 * Greedy final step (optional, both processes): step T − 1 takes argmax q instead of drawing.
 * Uniform tail (optional, uniform process; docs/duo.md "Few-step sampling"): after the T steps one more
 * call at t_eps and either the argmax of x_θ (DIFF_TAIL_GREEDY: the step t_eps -> 0 with α_t = 0,
 * α_s = 1, whose posterior is x_θ itself, so CFG mixes log x_θ and guidance adjustments apply) or a
 * draw from q(z_0 | z_t_eps, x_θ) (DIFF_TAIL_ANCESTRAL); Duo's "greedy" / "ancestral" noise removal.
 * Guided steps: an optional diff_guide_fn adds per-position log-probability adjustments to every
 * drawn position's q (q ∝ q·exp(adj)): classifier-based guidance plugs in there. */
#ifndef STRAND_GUIDANCE_SAMPLER_H
#define STRAND_GUIDANCE_SAMPLER_H
#include <stddef.h>
#include <stdint.h>

#include "guidance/noise.h"
#include "guidance/posterior.h"
#include "strand.h"

/* A denoising network: raw logits (B,L,N) for ids (B,L), sigma (B) and labels (B) (NULL when
 * num_classes == 0). `self` is read-only during sampling; each thread uses its own ctx. */
typedef struct diff_net {
    void *self;
    int vocab;       /* N */
    int num_classes; /* 0: no label conditioning; else the null label is num_classes */
    int time_cond;   /* 1: fed sigma_t; 0: fed 0 (and logits can be cached) */
    size_t max_len;
    int (*ctx_create)(void *self, void **ctx);
    void (*ctx_free)(void *ctx);
    int (*logits)(void *self, void *ctx, const int32_t *ids, const float *sigma, const int32_t *labels, size_t B,
                  size_t L, float *out);
} diff_net;

/* Log-probability adjustments for one step of one batch: adj (B,L,N) arrives zeroed; add
 * gamma·log p(y | z_t with position l set to v) or its first-order approximation there. `thread`
 * is the calling worker (0..threads-1), for per-thread classifier contexts. Returns 0 (adj
 * filled), 1 (nothing to add this step: the step is exactly the unguided one, e.g. weight 0) or a
 * negative STRAND_E_* (the sampler stops with it). */
typedef int (*diff_guide_fn)(void *user, int thread, const int32_t *zt, size_t B, size_t L, int N, double t, double s,
                             double *adj);

/* Called after every batch step by one worker at a time: done/total batch steps. Non-zero cancels. */
typedef int (*diff_progress_fn)(void *user, uint64_t done, uint64_t total);

enum { DIFF_TAIL_NONE = 0, DIFF_TAIL_GREEDY = 1, DIFF_TAIL_ANCESTRAL = 2 };

typedef struct diff_sampler_params {
    diff_process proc;
    diff_schedule sched;
    int mask_id;       /* masked process */
    size_t L;          /* sequence length (<= the network's max_len) */
    int steps;         /* T >= 1 */
    double t_eps;      /* last time of the grid (1e-5) */
    int label;         /* -1: none (null label on label-conditioned networks) */
    double gamma;      /* CFG weight >= 0 (1) */
    double top_p;      /* (0, 1] (1: off) */
    int greedy_final;  /* argmax at the last step (0) */
    int noise_removal; /* masked process: final argmax call at t_eps (1) */
    int tail;          /* uniform process: DIFF_TAIL_* after the steps (DIFF_TAIL_NONE) */
    int use_cache;     /* reuse logits of unchanged rows when not time-conditioned (1) */
    size_t batch;      /* sequences per network call (64) */
    int threads;       /* workers (0: st_threads()) */
    uint64_t seed;
    diff_guide_fn guide; /* NULL: unguided */
    void *guide_user;
    diff_progress_fn progress;
    void *progress_user;
} diff_sampler_params;

/* masked, log-linear, L 0 (must be set), 32 steps, t_eps 1e-5, no label, gamma 1, top-p 1,
 * noise removal and cache on, batch 64, threads 0, seed 0. */
diff_sampler_params diff_sampler_default_params(void);
/* 0 or STRAND_E_ARG / STRAND_E_RANGE / STRAND_E_UNSUPPORTED with a message naming the parameter. */
int diff_sampler_check(const diff_net *net, const diff_sampler_params *p);

typedef struct diff_sample_stats {
    uint64_t net_calls; /* logits() invocations */
    uint64_t net_rows;  /* sequences evaluated (a CFG pair counts 2) */
    uint64_t steps;     /* batch steps run */
    double nfe;         /* net_rows / samples: network evaluations per sample */
} diff_sample_stats;

/* n samples into out (n, L). stats may be NULL. Fast path: cache, batches over threads. */
int diff_sample(const diff_net *net, const diff_sampler_params *p, size_t n, int32_t *out, diff_sample_stats *stats);
/* Reference: one batch after another on one thread, every row through the network at every step,
 * the whole-array diff_step_ref, the same per-sample streams. Same samples as diff_sample when
 * the network's rows do not depend on the batch they are computed in (e.g. batch 1). */
int diff_sample_ref(const diff_net *net, const diff_sampler_params *p, size_t n, int32_t *out,
                    diff_sample_stats *stats);

/* Per-sample stream i of a seed: the seeded state jumped i times. */
void diff_sample_stream(uint64_t seed, size_t i, strand_rng *rng);

/* One worker's buffers (network context, caches, scratch) for batches of up to `batch` rows of
 * length L; with_adj: room for guidance adjustments. */
typedef struct diff_worker diff_worker;
int diff_worker_create(const diff_net *net, size_t batch, size_t L, int with_adj, diff_worker **out);
void diff_worker_free(diff_worker *w); /* accepts NULL */

/* One step t -> s (t_eps <= s < t <= 1, or s = 0) for n sequences zt (n, L) in batches of
 * p->batch on the calling thread: zs (n, L) (may alias zt), sequence i drawn from rngs[i]
 * (advanced). Uses p's label, gamma, top_p, guide; greedy_final: argmax instead of drawing. */
int diff_sample_step(const diff_net *net, diff_worker *w, const diff_sampler_params *p, const int32_t *zt, size_t n,
                     double t, double s, strand_rng *rngs, int32_t *zs, diff_sample_stats *stats);
/* q (n, L, N): the distribution diff_sample_step draws z_s from (a copied position is one-hot). */
int diff_posterior(const diff_net *net, diff_worker *w, const diff_sampler_params *p, const int32_t *zt, size_t n,
                   double t, double s, double *q);
#endif
