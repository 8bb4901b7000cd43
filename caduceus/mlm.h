/* Caduceus masked-LM pretraining (docs/caduceus.md "Masked-LM pretraining"): the masking recipe and
 * the adapter that plugs a Caduceus model into core/train.h. The data (window sets and their
 * shuffled source) is io/window_set.h.
 *
 * Masking recipe (per sequence of L ids, after N -> [PAD]):
 *   - every position that is not [PAD] is selected independently with probability mask_prob
 *     (0.15; a Bernoulli draw per position, as torch.bernoulli in the published collator);
 *   - a selected position becomes [MASK] with probability 0.8, a random nucleotide with 0.1 and
 *     stays unchanged with 0.1. "Random" is uniform over A,C,G,T (ids 7..10): the published recipe only says
 *     "uniform random id"; drawing over the whole padded vocabulary would put specials and unused
 *     ids 12..15 into the input, so strand uses the four bases (documented choice);
 *   - targets are the original ids at selected positions and -1 elsewhere; [PAD] (and therefore
 *     N) is never selected; [UNK] (IUPAC codes, rare: windows with > 10% non-ACGT are dropped)
 *     is selected like a base;
 *   - RC augmentation (Caduceus-PH only): with probability 0.5 per sequence the whole sequence is
 *     reverse-complemented before masking.
 * All randomness comes from the strand_rng passed in, in a fixed order (per sequence: the RC
 * draw when enabled, then per position one selection draw, one action draw when selected and one
 * base draw for a random replacement), so a resumed run repeats the masks bit for bit. */
#ifndef STRAND_CADUCEUS_MLM_H
#define STRAND_CADUCEUS_MLM_H
#include <stddef.h>
#include <stdint.h>

#include "caduceus/caduceus.h"
#include "core/train.h"
#include "io/window_set.h"
#include "strand.h"

typedef struct mlm_params {
    double mask_prob;   /* 0.15 */
    double mask_frac;   /* 0.8 of selected -> [MASK] */
    double random_frac; /* 0.1 of selected -> random A/C/G/T (the rest unchanged) */
    int rc_aug;         /* 1: 50% reverse complement per sequence (PH only) */
} mlm_params;

void mlm_default_params(mlm_params *p);

/* Mask B sequences of L ids in place (ids must be DNA ids 0..15); targets (B,L) receive the
 * original ids (after N -> [PAD] and RC augmentation) at selected positions, -1 elsewhere.
 * Returns the number of selected positions (>= 0) or STRAND_E_ARG / STRAND_E_RANGE. */
long mlm_mask_batch(const mlm_params *p, int32_t *ids, int32_t *targets, size_t B, size_t L, strand_rng *rng);

/* ---- train_model: a Caduceus model with the masking recipe ---- */
typedef struct mlm_trainer {
    caduceus_weights *m;
    caduceus_ctx *ctx;       /* the trainer's run context over m */
    mlm_params mp;
    size_t B, L;
    float *logits, *dlogits; /* (B,L,V) */
    int32_t *ids, *tgt;      /* (B,L) */
    /* validation: fixed masked inputs and targets, n_val rows of L */
    int32_t *val_ids, *val_tgt;
    size_t n_val;
    double last_val_tokens;  /* masked positions scored by the last validation */
} mlm_trainer;

int mlm_trainer_init(mlm_trainer *t, caduceus_weights *m, const mlm_params *mp, size_t B, size_t L);
void mlm_trainer_free(mlm_trainer *t);
/* Fix the validation set: up to max_rows items of L tokens spread evenly over `val` (all when
 * max_rows is 0), masked once with the recipe (no RC augmentation) from an rng seeded with
 * val_seed, so every run with the same data sees the same masks. */
int mlm_trainer_set_val(mlm_trainer *t, const st_window_set *val, size_t max_rows, uint64_t val_seed);
/* Mean cross-entropy per masked base over the whole validation set (train_model.validate). */
int mlm_validate(void *user, float *val_loss);
/* train_model.forward_backward: mask the batch from rng, forward, loss, backward. */
int mlm_forward_backward(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                         float *loss);
/* Fill the train_model for this trainer (validate set only when a validation set was given). */
void mlm_trainer_model(mlm_trainer *t, train_model *out);

#define MLM_VAL_SEED 20240229u /* fixed: validation masks are the same in every run */

/* ---- the whole pretraining run (what `strand train caduceus` does after reading the data) ---- */
#define MLM_DATA_SEED_XOR 0xDA7A5EEDull /* data order: train_params.seed ^ this */
#define MLM_DEFAULT_VAL_ROWS 64         /* validation sequences of `strand train caduceus` */

/* The defaults of `strand train caduceus` (docs/caduceus.md "Masked-LM pretraining", scaled down):
 * B 8, L 1024, 1000 steps; AdamW lr 8e-3, betas 0.9/0.95, weight decay 0.1; warmup 10% of the
 * steps then cosine to 0 (lr_schedule_warmup_cosine(steps, 0.1, 0)); clip 1.0; no EMA;
 * validation every 100 steps; a log row every step. */
train_params mlm_default_train_params(void);
/* Caduceus-PS, d_model 128, 4 layers (the rest caduceus_default_config). */
void mlm_default_model_config(caduceus_config *c);

/* Create the model from `model` (initialised from p->seed), run core/train.h's loop with `p` as
 * given over `train` (and `val` when it has windows: up to val_rows sequences, 0 = all) and hand
 * back the model. PH models (rcps 0) get RC augmentation. Masks come from the loop RNG
 * (p->seed), the data order from p->seed ^ MLM_DATA_SEED_XOR. Returns 0, STRAND_E_CANCELLED
 * (p->stop_at or p->progress: *model_out is still set, the checkpoint written) or another
 * STRAND_E_* (then *model_out is NULL). */
int mlm_train(const caduceus_config *model, const train_params *p, const st_window_set *train,
              const st_window_set *val, size_t val_rows, caduceus_weights **model_out, train_result *res);
/* mlm_train with a warm start: when init_path is not NULL and p->resume_path is NULL, the weights
 * come from that model file (same variant, d_model, layers and vocabulary, checked tensor by
 * tensor: STRAND_E_SHAPE otherwise); AdamW moments and the schedule start fresh. With
 * p->resume_path the checkpoint's weights win and init_path is ignored. */
int mlm_train_from(const caduceus_config *model, const char *init_path, const train_params *p,
                   const st_window_set *train, const st_window_set *val, size_t val_rows,
                   caduceus_weights **model_out, train_result *res);
#endif
