/* The distribution one ancestral step draws z_s from, per position, given the network's raw
 * logits at z_t (docs/diffusion.md "MDLM sampler", "UDLM posterior", "Classifier-free guidance",
 * "Exponential race"). All arithmetic in double.
 *
 * Per position, with x = x_theta (the denoiser's distribution over the N ids):
 *   masked (MDLM, SUBS): x = softmax(logits with the [MASK] logit set to DIFF_MASK_LOGIT);
 *     z_t = [MASK]:  q(v) = x(v)(a_s - a_t)/(1 - a_t) for v != mask, q(mask) = (1 - a_s)/(1 - a_t);
 *     z_t != [MASK]: q = onehot(z_t) (carry-over: the position is copied, nothing is drawn).
 *   uniform (UDLM): q = [N a_t x⊙e_z + (a_ts - a_t) e_z + (a_s - a_t) x + (1 - a_ts)(1 - a_s)/N]
 *                       / [N a_t x(z) + 1 - a_t],   a_ts = a_t/a_s, e_z = onehot(z_t).
 * Classifier-free guidance with weight gamma >= 0 (conditional logits c, unconditional u):
 *   masked:  x = softmax(gamma log x_c + (1 - gamma) log x_u), then the masked q;
 *   uniform: log q = gamma log q(x_c) + (1 - gamma) log q(x_u), normalised over N.
 *   gamma = 0 uses u alone, gamma = 1 uses c alone (then the other may be NULL).
 * Guided steps (classifier-based guidance, docs/diffusion.md "Classifier-based guidance") add a
 * per-position vector adj (N) of log-probability adjustments: q ∝ q · exp(adj) (drawn positions
 * only; a copied MDLM position stays one-hot).
 * Top-p (nucleus, p < 1) applies to each x before the posterior: the smallest set of ids with the
 * largest x whose mass reaches p keeps its mass (renormalised), the rest get x = 0.
 *
 * Two implementations: diff_step_ref over whole (B,L,N) arrays, written as the formulas read, and
 * diff_step_row, the per-position kernel the fast sampler uses; tests compare them. */
#ifndef STRAND_GUIDANCE_POSTERIOR_H
#define STRAND_GUIDANCE_POSTERIOR_H
#include <stddef.h>
#include <stdint.h>

#include "guidance/noise.h"
#include "strand.h"

/* The masked process' [MASK] logit: large and finite (−inf would make CFG's (1 − gamma)·log x
 * NaN for gamma > 1). exp of it underflows to exactly 0 in double after normalisation. */
#define DIFF_MASK_LOGIT (-1.0e6)

typedef struct diff_step_params {
    diff_process proc;
    int vocab;      /* N */
    int mask_id;    /* [MASK] id (masked process; ignored for uniform) */
    double alpha_t; /* clean probability at t (the current, noisier time) */
    double alpha_s; /* at s < t: alpha_s > alpha_t */
    double gamma;   /* CFG weight (>= 0); only read when both logits rows are given */
    double top_p;   /* (0, 1]; 1 = off */
} diff_step_params;

/* 0 or STRAND_E_ARG / STRAND_E_RANGE with a message: vocab >= 2, mask id in range (masked),
 * 0 <= alpha_t < alpha_s <= 1, alpha_t < 1, gamma finite and >= 0, 0 < top_p <= 1. */
int diff_step_check(const diff_step_params *p);

/* Scratch doubles diff_step_row needs: 4N. */
#define DIFF_STEP_SCRATCH(N) (4 * (size_t)(N))

/* One position. lc / lu: raw logits (N) of the conditional / unconditional calls; with gamma = 1
 * only lc is read, with gamma = 0 only lu, otherwise both (a NULL one makes the other be used
 * alone). adj (N) or NULL. Writes the normalised q (N) and returns 1 when the position is drawn,
 * 0 when it is copied (masked process, z_t != [MASK]: q = onehot(z_t)). */
int diff_step_row(const diff_step_params *p, const float *lc, const float *lu, int32_t zt, const double *adj,
                  double *q, double *scratch);

/* Reference: q (B,L,N) for every position from lc/lu (B,L,N) (as diff_step_row: either may be
 * NULL), zt (B,L), adj (B,L,N) or NULL. Allocates its own temporaries; 0 or STRAND_E_NOMEM. */
int diff_step_ref(const diff_step_params *p, const float *lc, const float *lu, const int32_t *zt, const double *adj,
                  size_t B, size_t L, double *q);

/* log x_theta (N) from raw logits (N) (masked: the [MASK] logit replaced by DIFF_MASK_LOGIT),
 * then top-p when p < 1 (removed ids get log x = DIFF_MASK_LOGIT, the rest renormalised).
 * idx (N ints) is scratch for top-p (may be NULL when top_p = 1). */
void diff_log_xtheta(const diff_step_params *p, const float *logits, double *logx, int *idx);

/* Draw one id from unnormalised weights w (N, >= 0, not all 0) by the exponential race:
 * argmax_v w_v / E_v with E_v = −log(U_v), U_v ~ U(0,1]. Consumes exactly N uniforms from rng
 * (one per id, in order, also for w_v = 0) so streams stay aligned whatever w is. Ties: lowest id. */
int32_t diff_race(const double *w, int N, strand_rng *rng);
/* argmax_v w_v (ties: lowest id); consumes nothing. */
int32_t diff_argmax(const double *w, int N);
#endif
