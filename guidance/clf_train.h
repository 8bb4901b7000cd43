/* Training and evaluation of noisy classifiers (docs/diffusion.md "Noisy classifiers"): the
 * training step as a core/train.h model — times t stratified over the batch (antithetic, eps
 * 1e-3, as the diffusion trainer), z_t from the classifier's process and schedule
 * (guidance/noise.h diff_corrupt), sigma_t fed when time-conditioned, cross-entropy on the label,
 * backward through the backbone — or, for a clean classifier, z = x0 and sigma 0; and a
 * deterministic evaluation (per-sequence RNG seeded by (seed, index): t and corruption do not
 * depend on the batch). */
#ifndef STRAND_GUIDANCE_CLF_TRAIN_H
#define STRAND_GUIDANCE_CLF_TRAIN_H
#include <stddef.h>
#include <stdint.h>

#include "guidance/classifier.h"
#include "guidance/diff_data.h"
#include "strand.h"

typedef struct clf_trainer {
    clf_weights *w;
    clf_ctx *c;
    size_t B, L;
    int32_t *zt;
    double *t;
    float *sig, *logits, *dlogits;
    /* validation: mean cross-entropy over val (val_rows; 0 = all) at noisy inputs seeded by val_seed */
    const diff_seqs *val;
    size_t val_rows;
    uint64_t val_seed;
    double val_acc; /* accuracy of the last validation */
} clf_trainer;

int clf_trainer_init(clf_trainer *tr, clf_weights *w, size_t B, size_t L);
void clf_trainer_free(clf_trainer *tr);
/* core/train.h callbacks (user = clf_trainer). RNG order per batch: B times, then each
 * sequence's corruption draws (none for a clean classifier). Labels must be in [0, C). */
int clf_trainer_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                   float *loss);
int clf_trainer_validate(void *user, float *val_loss);

/* Mean cross-entropy and accuracy of n labelled sequences: sequence i corrupted at a time
 * t_i ~ U[1e-3, 1) drawn with its own RNG seeded by (seed, i) (clean classifier: z = x0, t = 0;
 * t_fixed >= 0: every sequence at that time instead), rows through the classifier `batch` at a time. */
int clf_evaluate(const clf_weights *w, clf_ctx *c, const int32_t *ids, const int32_t *labels, size_t n, size_t L,
                 uint64_t seed, double t_fixed, size_t batch, double *ce, double *acc);
#endif
