/* Caduceus masked-LM pretraining (docs/caduceus.md "Masked-LM pretraining"): the masking recipe, in-memory window sets (from a
 * FASTA or from token shards) and the adapters that plug a Caduceus model into core/train.h.
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
#include "io/fasta.h"
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

/* ---- window sets ---- */
/* n records of len tokens (uint8 DNA ids), contiguous. */
typedef struct mlm_windows {
    uint8_t *tok;
    size_t n, len;
} mlm_windows;

void mlm_windows_free(mlm_windows *w);
/* Windows of L bases from a FASTA (io/windows.h policy: tiled at stride L, max_n 0.1, windows never
 * cross the train/validation boundary). Train windows come from `regions` (NULL/0: every contig)
 * minus the validation regions; validation windows from `val_regions` (may be 0). */
int mlm_windows_from_fasta(const char *fasta, size_t L, const char *const *regions, int n_regions,
                           const char *const *val_regions, int n_val, mlm_windows *train, mlm_windows *val);
/* Every record of a token shard (io/shards.h). */
int mlm_windows_from_shard(const char *path, mlm_windows *out);

/* ---- train_source: windows in a shuffled order, epoch after epoch ----
 * A record of length R >= L yields R / L sub-windows of L tokens (items). Epoch e visits every item
 * once in a permutation drawn from (seed, e). The cursor holds {epoch, position}, so a resumed run
 * continues the stream exactly. */
typedef struct mlm_source {
    const mlm_windows *w;
    uint64_t seed;
    size_t L, per_rec, n_items;
    uint32_t *perm;
    int64_t perm_epoch;
} mlm_source;

int mlm_source_init(mlm_source *s, const mlm_windows *w, size_t L, uint64_t seed);
void mlm_source_free(mlm_source *s);
/* train_source.next for a mlm_source (user). */
int mlm_source_next(void *user, int32_t *ids, int32_t *labels, size_t B, size_t L, uint64_t cursor[TRAIN_CURSOR_WORDS]);

/* ---- train_model: a Caduceus model with the masking recipe ---- */
typedef struct mlm_trainer {
    caduceus_model *m;
    mlm_params mp;
    size_t B, L;
    float *logits, *dlogits; /* (B,L,V) */
    int32_t *ids, *tgt;      /* (B,L) */
    /* validation: fixed masked inputs and targets, n_val rows of L */
    int32_t *val_ids, *val_tgt;
    size_t n_val;
    double last_val_tokens;  /* masked positions scored by the last validation */
} mlm_trainer;

int mlm_trainer_init(mlm_trainer *t, caduceus_model *m, const mlm_params *mp, size_t B, size_t L);
void mlm_trainer_free(mlm_trainer *t);
/* Fix the validation set: up to max_rows items of L tokens spread evenly over `val` (all when
 * max_rows is 0), masked once with the recipe (no RC augmentation) from an rng seeded with
 * val_seed, so every run with the same data sees the same masks. */
int mlm_trainer_set_val(mlm_trainer *t, const mlm_windows *val, size_t max_rows, uint64_t val_seed);
/* Mean cross-entropy per masked base over the whole validation set (train_model.validate). */
int mlm_validate(void *user, float *val_loss);
/* train_model.forward_backward: mask the batch from rng, forward, loss, backward. */
int mlm_forward_backward(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                         float *loss);
/* Fill the train_model for this trainer (validate set only when a validation set was given). */
void mlm_trainer_model(mlm_trainer *t, train_model *out);

#define MLM_VAL_SEED 20240229u /* fixed: validation masks are the same in every run */

/* ---- the whole pretraining run (what `strand train caduceus` does after reading the data) ---- */
typedef struct mlm_train_config {
    caduceus_config model;    /* d_model, n_layer, rcps (PH gets RC augmentation) */
    size_t batch, seq_len;
    int64_t steps;
    double lr, warmup_frac, min_lr_frac, weight_decay; /* 8e-3, 0.1, 0, 0.1 */
    uint64_t seed;            /* initialisation, loop RNG (masks); data order uses seed ^ MLM_DATA_SEED_XOR */
    size_t val_rows;          /* validation sequences (0: all) */
    int64_t val_every, ckpt_every, log_every;
    int64_t stop_at;          /* > 0: stop after this step as if cancelled (checkpoint written) */
    const char *log_path, *ckpt_path, *resume_path;
    train_progress_fn progress; /* optional; non-zero stops like stop_at */
    void *progress_user;
} mlm_train_config;

#define MLM_DATA_SEED_XOR 0xDA7A5EEDull

/* Defaults (docs/caduceus.md "Masked-LM pretraining", scaled down): PS d_model 128, 4 layers, B 8, L 1024, 1000 steps, lr 8e-3, warmup 10%,
 * cosine to 0, wd 0.1, validation every 100 steps on 64 sequences, log every step. */
void mlm_train_default_config(mlm_train_config *c);

/* Create and initialise the model, run core/train.h's loop (AdamW betas 0.9/0.95, clip 1.0) over
 * `train` (and `val` when it has windows) and hand back the model. Returns 0, STRAND_E_CANCELLED
 * (stop_at / progress: *model_out is still set, the checkpoint written) or another STRAND_E_*
 * (then *model_out is NULL). */
int mlm_train(const mlm_train_config *c, const mlm_windows *train, const mlm_windows *val,
              caduceus_model **model_out, train_result *res);
#endif
