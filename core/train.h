/* A training loop generic over the model: batches from a token source, forward+backward through a
 * callback, global-norm clipping, AdamW with a warmup+cosine schedule, optional weight EMA, a TSV
 * log, periodic validation, atomic checkpoints and exact resume, and a progress callback that can
 * cancel. Resuming from a checkpoint written after step k gives the same losses, bit for bit, as an
 * uninterrupted run (same threads): the checkpoint holds the weights, both AdamW moments, the EMA,
 * the loop's RNG state, the step and the data source's cursor. */
#ifndef STRAND_CORE_TRAIN_H
#define STRAND_CORE_TRAIN_H
#include <stddef.h>
#include <stdint.h>

#include "core/adamw.h"
#include "core/paramblock.h"
#include "core/lr_schedule.h"
#include "strand.h"

#define TRAIN_CURSOR_WORDS 8

/* Where batches come from. `next` fills ids (B,L) and, when label_len > 0, labels (B,label_len);
 * it advances the cursor, which must hold everything needed to continue the stream exactly. */
typedef struct train_source {
    int (*next)(void *user, int32_t *ids /* (B,L) */, int32_t *labels /* (B,label_len) or NULL */, size_t B,
                size_t L, uint64_t cursor[TRAIN_CURSOR_WORDS]);
    size_t label_len; /* 0: no labels; 1: one per sequence; L: one per token */
    void *user;
} train_source;

/* The model. forward_backward gets zeroed gradients in pb->grads, must ACCUMULATE its gradients
 * there and store the mean loss of the batch; it may draw randomness only from `rng`. */
typedef struct train_model {
    paramblock *pb;
    int (*forward_backward)(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L,
                            strand_rng *rng, float *loss);
    int (*validate)(void *user, float *val_loss); /* optional (NULL) */
    void *user;
} train_model;

typedef struct train_progress {
    int64_t step;      /* updates done (1 after the first) */
    int64_t steps;     /* target */
    float loss, grad_norm;
    double lr, tokens_per_s;
    float val_loss;    /* NAN when not validated at this step */
    int ckpt_written;  /* a checkpoint for this step is on disk */
} train_progress;
/* Return non-zero to stop: the loop writes a checkpoint (when it has a path) and returns
 * STRAND_E_CANCELLED. */
typedef int (*train_progress_fn)(void *user, const train_progress *p);

typedef struct train_params {
    size_t batch, seq_len; /* B, L */
    int64_t steps;         /* total optimiser updates of the run (a resumed run continues to this) */
    adamw_params opt;
    lr_schedule sched;     /* multiplies opt.lr; step k (0-based) uses base * multiplier(k) */
    float clip;            /* max global L2 norm of the gradients (0: no clipping) */
    float ema_decay;       /* 0: no EMA */
    uint64_t seed;         /* seeds the RNG given to forward_backward */
    int64_t log_every;     /* a TSV row every k steps (0: no log) */
    int64_t val_every;     /* validate every k steps and at the end (0: never) */
    int64_t ckpt_every;    /* checkpoint every k steps (0: only at the end / on cancel) */
    const char *log_path;  /* TSV: step lr loss grad_norm tokens_per_s val_loss (NULL: none) */
    const char *ckpt_path; /* checkpoint (safetensors, ".zst" compressed), written atomically */
    const char *resume_path; /* continue from this checkpoint (NULL: start fresh) */
    int64_t stop_at;       /* > 0: stop after this step as if cancelled (checkpoint written), the schedule
                            * still the one of `steps`: a later --resume continues the same run */
    train_progress_fn progress;
    void *progress_user;
} train_params;

/* B 8, L 128, 1000 steps, AdamW defaults, warmup 100 + cosine to 0.1, clip 1, no EMA, seed 0,
 * log every step, no validation, checkpoint only at the end, no stop_at. */
train_params train_default_params(void);

typedef struct train_result {
    int64_t steps_done;   /* updates done at return (including those before a resume) */
    float last_loss, last_val_loss;
} train_result;

/* Runs the loop. The caller owns the model (its block allocated and initialised) and the source;
 * `ema` may be NULL, else an uninitialised paramblock that receives the EMA weights (pb_free it).
 * Returns 0, STRAND_E_CANCELLED, or another STRAND_E_* (non-finite loss, bad checkpoint, I/O). */
int train_run(const train_params *p, train_model *m, train_source *src, paramblock *ema, train_result *res);

/* Step recorded in a checkpoint file (or a negative STRAND_E_*). */
int64_t train_checkpoint_step(const char *path);
#endif
