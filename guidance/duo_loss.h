/* Duo's losses over raw DiT logits (docs/duo.md "Curriculum training", "Discrete consistency
 * distillation").
 *
 * The uniform-state ELBO in the Rao-Blackwellised form Duo's code writes it (the sum over j of
 * docs/diffusion.md "UDLM loss" term2 taken in closed form: only x̄_θ[x], x̄_θ[z_t] and Σ_j log x̄_θ[j]
 * appear), with α_t and α'_t given per sequence (Duo's α_t = T(α̃_t) of guidance/duo_map.h) instead of
 * a schedule. It equals guidance/loss.h's diff_udlm_token on the same inputs (tests/test_duo.c). */
#ifndef STRAND_GUIDANCE_DUO_LOSS_H
#define STRAND_GUIDANCE_DUO_LOSS_H
#include <stddef.h>
#include <stdint.h>

/* One position from probabilities p (N): the RB ELBO integrand L and, when dp != NULL, dp (N) = ∂L/∂p
 * (overwritten). 0 < alpha < 1. */
double duo_rb_token(int N, double alpha, double dalpha, const double *p, int x0, int zt, double *dp);

/* Per-token RB ELBO (B,L) from logits (B,L,N) (softmax inside) at z_t with alpha (B), dalpha (B);
 * dlogits (B,L,N) += dscale·∂(Σ losses)/∂logits when not NULL. STRAND_E_RANGE for ids outside [0,N)
 * or alpha outside (0,1). */
int duo_rb_loss(int N, const float *logits, const int32_t *x0, const int32_t *zt, const double *alpha,
                const double *dalpha, size_t B, size_t L, float *loss, float *dlogits, float dscale);

/* Per-token KL(p_student || p_teacher) (B,L) from the two logit arrays (B,L,N) (Duo's "kl-bwd");
 * dlogits (B,L,N) += dscale·∂(Σ KL)/∂student_logits when not NULL. */
int duo_kl_loss(int N, const float *student, const float *teacher, size_t B, size_t L, float *loss, float *dlogits,
                float dscale);
#endif
