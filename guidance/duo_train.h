/* Duo training on the DiT (docs/duo.md "Curriculum training", "Discrete consistency
 * distillation"), as core/train.h models on top of guidance/diff_train.h's diffusion trainer.
 *
 * Gaussian levels follow Duo's linear γ schedule: γ_t = γ_min + t·(γ_max − γ_min),
 * α̃_t² = sigmoid(−γ_t), and the discrete clean probability is α_t = T(α̃_t) (guidance/duo_map.h),
 * α'_t = dT/dγ·(γ_max − γ_min). The network is fed σ_t = −log α_t, the same noise level a UDLM model
 * is fed, so a Duo-trained model is a UDLM model (log-linear schedule) for sampling and evaluation.
 *
 * Curriculum step (user = duo_trainer), for the first `steps` optimiser steps of a run:
 *   t_b stratified (docs/diffusion.md "Time sampling"); w = α̃ e_x + σ̃ ε per position (N normals);
 *   z_t = argmax w; input softmax(w/τ) through the DiT's soft path; loss = the RB ELBO
 *   (guidance/duo_loss.h) at z_t with α_t, α'_t; τ log-linear from tau_start to tau_end over the
 *   curriculum; label dropout as the diffusion trainer. After it, the step is diff_trainer_fb's
 *   (the true discrete UDLM ELBO). RNG order: B times, B·L·N normals (sequence, position, id),
 *   B label-dropout draws.
 *
 * Distillation step (user = duo_distiller): t_b stratified, dt = dt0·2^⌊step/K⌋ (capped at dt_max),
 *   t = min(t + dt, 1), s = t − dt, one ε shared by w_t and w_s, z_t = argmax w_t, z_s = argmax w_s;
 *   loss = KL(x_θ(z_t, σ_t) ‖ x_θ⁻(z_s, σ_s)) per token (Duo's "kl-bwd"); the teacher θ⁻ is a copy
 *   of the student's live weights taken at every step that is a multiple of K (and at the first
 *   step of a run or a resume). RNG order: B times, B·L·N normals, B label-dropout draws. */
#ifndef STRAND_GUIDANCE_DUO_TRAIN_H
#define STRAND_GUIDANCE_DUO_TRAIN_H
#include <stddef.h>
#include <stdint.h>

#include "guidance/diff_train.h"
#include "guidance/duo_map.h"

typedef struct duo_gauss {
    double gamma_min, gamma_max; /* γ range of t ∈ [0,1] */
    duo_map map;                 /* T over [gamma_min, gamma_max] for the model's vocabulary */
} duo_gauss;

int duo_gauss_init(duo_gauss *g, int N, double gamma_min, double gamma_max);
void duo_gauss_free(duo_gauss *g);
/* γ_t, α_t = T(α̃(γ_t)) and α'_t = dα/dt at t in [0,1]. */
double duo_gauss_alpha(const duo_gauss *g, double t, double *dalpha_dt, double *gamma);
/* w = α̃ e_x + σ̃ ε for one sequence x (L) with ε drawn from rng (L·N normals): argmax into z (L)
 * and, when soft != NULL, softmax(w/tau) into soft (L,N). eps (L,N) may be NULL (drawn) or given
 * (not drawn: distillation shares it between two levels). */
int duo_gauss_latent(int N, double gamma, const int32_t *x, size_t L, const float *eps, strand_rng *rng, double tau,
                     int32_t *z, float *soft);

typedef struct duo_trainer {
    diff_trainer *base;          /* the diffusion trainer (its buffers, validation, label dropout) */
    duo_gauss g;                 /* curriculum γ range (Duo: −3.5, −1.75) */
    int64_t steps;               /* curriculum steps (then the discrete ELBO) */
    double tau_start, tau_end;   /* Duo's LM1B run: 1e-3 throughout */
    int64_t step;                /* steps done (set from the checkpoint on resume) */
    float *soft, *sig;
    double *alpha, *dalpha;
} duo_trainer;

int duo_trainer_init(duo_trainer *d, diff_trainer *base, double gamma_min, double gamma_max, int64_t steps,
                     double tau_start, double tau_end);
void duo_trainer_free(duo_trainer *d);
/* τ at a curriculum step (log-linear from tau_start to tau_end). */
double duo_trainer_tau(const duo_trainer *d, int64_t step);
/* core/train.h callback (user = duo_trainer). */
int duo_trainer_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                   float *loss);
/* core/train.h validation (user = duo_trainer): the base trainer's NELBO. */
int duo_trainer_validate(void *user, float *val_loss);

typedef struct duo_distiller {
    diff_model *student;
    diff_trainer *base;          /* validation only (may be NULL: no validation) */
    dit_weights *teacher;        /* owned copy, refreshed from the student's live weights */
    dit_ctx *tctx;
    duo_gauss g;                 /* Duo: −4, −1 */
    int64_t refresh_every;       /* K */
    double dt0, dt_max;          /* dt0 1/512 */
    double label_dropout;
    int antithetic;
    int64_t step, last_refresh;  /* last_refresh −1: refresh at the next step */
    size_t B, L;
    int32_t *zt, *zs, *lab;
    float *eps, *sig_t, *sig_s, *ls, *lt, *dls, *loss;
    double *t;
} duo_distiller;

int duo_distiller_init(duo_distiller *d, diff_model *student, size_t B, size_t L, double gamma_min, double gamma_max,
                       int64_t refresh_every, double dt0, double dt_max);
void duo_distiller_free(duo_distiller *d);
double duo_distiller_dt(const duo_distiller *d, int64_t step);
int duo_distiller_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                     float *loss);
int duo_distiller_validate(void *user, float *val_loss); /* the student's NELBO via base */
#endif
