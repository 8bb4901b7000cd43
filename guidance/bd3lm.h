/* Block diffusion (BD3-LM, docs/bd3lm.md): masked diffusion inside blocks of Lb tokens, blocks
 * conditioned on the clean blocks before them. A BD3-LM model is an MDLM diff_model (SUBS,
 * log-linear or cosine, no time conditioning) whose file config also holds "block_size" (and
 * the clipped training interval "clip_beta", "clip_omega").
 *
 * Network input (training and evaluation): concat(z_t, x_0) of 2L ids under core/block_mask.h's
 * training mask, rotary period L (the two copies of a token share its position); the logits of
 * the noisy half are the model's x_theta. Each block b of each sequence has its own time t_b
 * (times arrays are (B, nb), nb = ceil(L / Lb)); the per-token loss is the MDLM SUBS loss
 * (guidance/loss.h) of block b at t_b.
 *
 * Training (a core/train.h model over a diff_trainer's batches): per-block times
 * t = beta + (omega − beta)·e, e stratified over the B·nb blocks of the batch (the official
 * antithetic draw along blocks and batches); beta = 1e-3, omega = 1 is the full ELBO. The
 * clipped-schedule search (docs/bd3lm.md "Clipped schedules") picks (beta, omega) from
 * candidate intervals as the one with the smallest variance of the per-block loss on
 * validation data. */
#ifndef STRAND_GUIDANCE_BD3LM_H
#define STRAND_GUIDANCE_BD3LM_H
#include <stddef.h>
#include <stdint.h>

#include "guidance/diff_data.h"
#include "guidance/diff_train.h"

/* "block_size" of a model config (0 when absent: not a BD3-LM model); STRAND_E_FORMAT when it is
 * not an integer in [1, model_length]. */
int bd3lm_block_from_json(const char *json, int *block);
/* Config JSON of a BD3-LM model (diff_config_json + block_size, clip_beta, clip_omega), malloc'ed. */
char *bd3lm_config_json(const dit_config *cfg, const diff_loss_spec *spec, int block, double beta, double omega);
/* Load a BD3-LM model (diff_model_load + block size; a file without block_size is refused). */
int bd3lm_model_load(diff_model *net, int *block, const char *path, strand_tokenizer **tok);
/* The file's block size without loading the weights: *block = 0 for another diffusion model. */
int bd3lm_probe(const char *path, int *block);

/* Buffers of the 2L forward for batches of B sequences of L ids. */
typedef struct bd3lm_fwd {
    size_t B, L, Lb, nb;
    int32_t *in;      /* (B, 2L) */
    float *mask;      /* (2L, 2L) additive */
    float *logits;    /* (B, 2L, N) */
} bd3lm_fwd;
int bd3lm_fwd_init(bd3lm_fwd *f, const diff_model *net, size_t B, size_t L, size_t Lb);
void bd3lm_fwd_free(bd3lm_fwd *f);
/* logits of concat(zt, x0) (B rows) into f->logits (the noisy half is rows 0..L-1 of each). */
int bd3lm_forward(diff_model *net, bd3lm_fwd *f, const int32_t *zt, const int32_t *x0, const int32_t *labels);
/* Per-token loss (B,L) of the last bd3lm_forward at per-block times t (B, nb); with dlogits
 * (B,2L,N) the gradient (dscale · ∂Σloss/∂logits) is accumulated into the noisy half. */
int bd3lm_loss(const diff_model *net, const bd3lm_fwd *f, const int32_t *x0, const int32_t *zt, const double *t,
               float *loss, float *dlogits, float dscale);
/* Deterministic per-token loss (B,L) for exactly these x0, z_t, per-block t (B, nb), labels. */
int bd3lm_per_token(diff_model *net, size_t Lb, const int32_t *x0, const int32_t *zt, const double *t,
                    const int32_t *labels, size_t B, size_t L, float *loss);

/* Monte-Carlo NELBO per sequence (nats): K samples; in each, every block draws its own t, the K
 * times of a block stratified over [1e-3, 1), and its corruption, from an RNG seeded by
 * (seed, sequence index) — independent of batching. batch rows per network call. */
int bd3lm_nelbo(diff_model *net, size_t Lb, const int32_t *ids, const int32_t *labels, size_t n, size_t L, int K,
                uint64_t seed, size_t batch, double *nelbo);

/* Clipped-schedule search: candidates (1e-3, 1) and, for each width w, [max(i, 1e-3), i + w]
 * for i = 0, delta, 2 delta, … while i + w <= 1. For each, the per-block loss of every validation
 * sequence at one t ~ U[beta, omega] per block (the same uniforms and corruption uniforms for
 * every candidate: common random numbers, seeded per sequence), and its variance over all
 * (sequence, block) pairs. *beta, *omega = the candidate of least variance; var (n_cand) and
 * cand (2·n_cand) when not NULL receive every candidate's variance and interval (n_cand =
 * bd3lm_clip_candidates(...)). */
size_t bd3lm_clip_candidates(const double *widths, size_t n_widths, double delta, double *cand /* (2·max) or NULL */);
int bd3lm_clip_search(diff_model *net, size_t Lb, const int32_t *ids, const int32_t *labels, size_t n, size_t L,
                      const double *widths, size_t n_widths, double delta, uint64_t seed, size_t batch, double *beta,
                      double *omega, double *var, double *cand);

/* ---- training ---- */
typedef struct bd3lm_trainer {
    diff_trainer base; /* batch shape, label dropout, antithetic flag, validation set and seed */
    size_t Lb, nb;
    double beta, omega;          /* clipped interval of the training times */
    bd3lm_fwd fwd;
    float *dlogits;              /* (B, 2L, N) */
    double *tb;                  /* (B, nb) */
    /* clipped-schedule search at every validation (n_widths 0: off) */
    const double *widths;
    size_t n_widths;
    double delta;
    size_t search_rows;          /* validation rows used by the search (0: as many as validation) */
    int search_on_first;         /* run the search before the first step (a resumed run) */
    void (*on_search)(void *user, double beta, double omega, double var);
    void *on_search_user;
} bd3lm_trainer;

int bd3lm_trainer_init(bd3lm_trainer *tr, diff_model *net, size_t B, size_t L, size_t Lb);
void bd3lm_trainer_free(bd3lm_trainer *tr);
/* core/train.h callbacks (user = bd3lm_trainer). RNG order per batch: B·nb uniforms of the times,
 * then every sequence's corruption block by block, then B label-dropout draws. */
int bd3lm_trainer_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                     float *loss);
/* Validation NELBO per token (full interval) and then, when enabled, the clipped-schedule search
 * that sets (beta, omega) for the following steps. */
int bd3lm_trainer_validate(void *user, float *val_loss);
#endif
