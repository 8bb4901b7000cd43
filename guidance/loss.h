/* Per-token diffusion losses over raw network logits, with their gradients
 * (docs/diffusion.md "MDLM loss", "UDLM loss", "Discrete time").
 *
 * Inputs for a batch of B sequences of length L over N ids: logits (B,L,N) as the backbone
 * returns them (no softmax), the clean x0 (B,L), the corrupted z_t (B,L), the times t (B) and
 * the schedule. Outputs: the per-token loss terms (B,L) before any reduction and, when dlogits is
 * not NULL, dlogits (B,L,N) += dscale * ∂(Σ per-token losses)/∂logits (accumulated, llm.c style),
 * so the caller picks the reduction (dscale = 1/(B·L) for the mean over tokens).
 * Arithmetic is in double per token; the result is stored as float.
 *
 * MDLM (SUBS parameterisation): x_theta = softmax over the N-1 ids other than [MASK] (zero
 * masking: the [MASK] logit is ignored, its gradient is 0); at unmasked positions x_theta is the
 * one-hot of z_t (carry-over) and the loss and gradient are exactly 0.
 *   continuous: L = (alpha'_t / (1 - alpha_t)) log x_theta[x0]     at z_t = [MASK]
 *   discrete T: L = T (alpha_s - alpha_t)/(1 - alpha_t) (-log x_theta[x0]), s = t - 1/T
 * UDLM: x_theta = softmax over all N ids;
 *   continuous: the ELBO integrand of docs/diffusion.md "UDLM loss" with the schedule's alpha_t;
 *   discrete T: L = T KL(q(z_s | z_t, x0) || q(z_s | z_t, x_theta)), s = t - 1/T.
 * x0 = [MASK] under MDLM, an id outside [0,N) or t outside (0,1] is STRAND_E_RANGE. */
#ifndef STRAND_GUIDANCE_LOSS_H
#define STRAND_GUIDANCE_LOSS_H
#include <stddef.h>
#include <stdint.h>

#include "guidance/noise.h"

typedef struct diff_loss_spec {
    diff_process proc;
    diff_schedule sched;
    int vocab;   /* N */
    int mask_id; /* MDLM's [MASK] id (ignored for UDLM) */
    int T;       /* 0: continuous time; > 0: discrete time with T steps */
} diff_loss_spec;

int diff_loss(const diff_loss_spec *spec, const float *logits /* (B,L,N) */, const int32_t *x0 /* (B,L) */,
              const int32_t *zt /* (B,L) */, const double *t /* (B) */, size_t B, size_t L,
              float *loss /* (B,L) */, float *dlogits /* (B,L,N) or NULL */, float dscale);

/* One position of the UDLM continuous-time loss from probabilities p (N) (for tests and
 * references): returns L and, when dp != NULL, dp (N) = ∂L/∂p (overwritten). */
double diff_udlm_token(int N, double alpha, double dalpha, const double *p, int x0, int zt, double *dp);
#endif
