/* Noisy-classifier training step and evaluation (guidance/clf_train.h; docs/diffusion.md
 * "Noisy classifiers"). */
#include "guidance/clf_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "guidance/noise.h"

int clf_trainer_init(clf_trainer *tr, clf_weights *w, size_t B, size_t L)
{
    memset(tr, 0, sizeof *tr);
    tr->w = w, tr->B = B, tr->L = L;
    size_t C = (size_t)w->cfg.num_classes;
    int rc = clf_ctx_create(&tr->c, w);
    if (rc < 0) return rc;
    if ((rc = pb_alloc_grads(clf_params(w))) < 0) {
        clf_trainer_free(tr);
        return rc;
    }
    tr->zt = malloc(B * L * sizeof *tr->zt);
    tr->t = malloc(B * sizeof *tr->t);
    tr->sig = malloc(B * sizeof *tr->sig);
    tr->logits = malloc(B * C * sizeof *tr->logits);
    tr->dlogits = malloc(B * C * sizeof *tr->dlogits);
    if (!tr->zt || !tr->t || !tr->sig || !tr->logits || !tr->dlogits) {
        clf_trainer_free(tr);
        return st_err(NULL, STRAND_E_NOMEM, "classifier trainer: out of memory");
    }
    return 0;
}

void clf_trainer_free(clf_trainer *tr)
{
    clf_ctx_free(tr->c);
    free(tr->zt), free(tr->t), free(tr->sig), free(tr->logits), free(tr->dlogits);
    memset(tr, 0, sizeof *tr);
}

/* z_t and sigma of one sequence at time t (t = 0: clean). */
static void noisy_input(const clf_config *cfg, const int32_t *x0, size_t L, double t, strand_rng *rng, int32_t *z,
                        float *sig)
{
    if (cfg->clean || t <= 0) {
        memcpy(z, x0, L * sizeof *z);
        *sig = 0.0f;
        return;
    }
    diff_corrupt(cfg->proc, cfg->vocab, cfg->mask_id, diff_alpha(&cfg->sched, t), x0, L, rng, z);
    *sig = diff_model_sigma(&cfg->sched, t, cfg->time_cond);
}

/* Cross-entropy (sum over rows) and correct count from logits (B,C); dlogits (when not NULL) =
 * scale·(softmax − onehot(y)). */
static double xent(const float *logits, const int32_t *y, size_t B, size_t C, float *dlogits, float scale,
                   size_t *correct)
{
    double s = 0;
    for (size_t b = 0; b < B; b++) {
        const float *r = logits + b * C;
        double mx = r[0], z = 0;
        size_t am = 0;
        for (size_t k = 1; k < C; k++)
            if (r[k] > mx) mx = r[k], am = k;
        for (size_t k = 0; k < C; k++) z += exp((double)r[k] - mx);
        double lse = mx + log(z);
        s += lse - (double)r[(size_t)y[b]];
        if (correct) *correct += am == (size_t)y[b];
        for (size_t k = 0; dlogits && k < C; k++)
            dlogits[b * C + k] = scale * (float)(exp((double)r[k] - lse) - (k == (size_t)y[b] ? 1.0 : 0.0));
    }
    return s;
}

int clf_trainer_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                   float *loss)
{
    clf_trainer *tr = user;
    clf_weights *w = tr->w;
    const clf_config *cfg = &w->cfg;
    size_t C = (size_t)cfg->num_classes;
    if (B != tr->B || L != tr->L)
        return st_err(NULL, STRAND_E_SHAPE, "classifier trainer: batch (%zu,%zu), built for (%zu,%zu)", B, L, tr->B, tr->L);
    if (!labels) return st_err(NULL, STRAND_E_ARG, "classifier trainer: the training set has no labels");
    for (size_t b = 0; b < B; b++)
        if (labels[b] < 0 || (size_t)labels[b] >= C)
            return st_err(NULL, STRAND_E_RANGE, "classifier trainer: label %d outside the classes 0..%zu", labels[b],
                          C - 1);
    if (cfg->clean) {
        for (size_t b = 0; b < B; b++) tr->t[b] = 0;
    } else {
        diff_sample_t(rng, B, 1, DIFF_T_EPS, tr->t);
    }
    for (size_t b = 0; b < B; b++) noisy_input(cfg, ids + b * L, L, tr->t[b], rng, tr->zt + b * L, &tr->sig[b]);
    int rc = w->bb->forward(w->bw, tr->c->bctx, tr->zt, NULL, tr->sig, B, L, tr->logits);
    if (rc < 0) return rc;
    *loss = (float)(xent(tr->logits, labels, B, C, tr->dlogits, 1.0f / (float)B, NULL) / (double)B);
    return w->bb->backward(w->bw, tr->c->bctx, tr->dlogits, NULL, clf_params(w)->grads);
}

int clf_evaluate(const clf_weights *w, clf_ctx *c, const int32_t *ids, const int32_t *labels, size_t n, size_t L,
                 uint64_t seed, double t_fixed, size_t batch, double *ce, double *acc)
{
    size_t C = (size_t)w->cfg.num_classes;
    if (!labels) return st_err(NULL, STRAND_E_ARG, "classifier evaluation: the set has no labels");
    int32_t *z = malloc(batch * L * sizeof *z);
    float *sig = malloc(batch * sizeof *sig), *lg = malloc(batch * C * sizeof *lg);
    if (!z || !sig || !lg) {
        free(z), free(sig), free(lg);
        return st_err(NULL, STRAND_E_NOMEM, "classifier evaluation: out of memory");
    }
    double s = 0;
    size_t correct = 0;
    int rc = 0;
    for (size_t i0 = 0; i0 < n && rc == 0; i0 += batch) {
        size_t nb = n - i0 < batch ? n - i0 : batch;
        for (size_t b = 0; b < nb; b++) {
            strand_rng r;
            strand_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i0 + b + 1)));
            double t = t_fixed >= 0 ? t_fixed : DIFF_T_EPS + (1 - DIFF_T_EPS) * strand_rng_uniform(&r);
            noisy_input(&w->cfg, ids + (i0 + b) * L, L, t, &r, z + b * L, &sig[b]);
            if (labels[i0 + b] < 0 || (size_t)labels[i0 + b] >= C) {
                rc = st_err(NULL, STRAND_E_RANGE, "classifier evaluation: label %d of sequence %zu outside 0..%zu",
                            labels[i0 + b], i0 + b, C - 1);
                break;
            }
        }
        if (rc == 0 && (rc = w->bb->forward(w->bw, c->bctx, z, NULL, sig, nb, L, lg)) == 0)
            s += xent(lg, labels + i0, nb, C, NULL, 0, &correct);
    }
    free(z), free(sig), free(lg);
    if (rc < 0) return rc;
    *ce = n ? s / (double)n : NAN;
    if (acc) *acc = n ? (double)correct / (double)n : NAN;
    return 0;
}

int clf_trainer_validate(void *user, float *val_loss)
{
    clf_trainer *tr = user;
    if (!tr->val || tr->val->n == 0) {
        *val_loss = NAN;
        return 0;
    }
    size_t n = tr->val_rows && tr->val_rows < tr->val->n ? tr->val_rows : tr->val->n;
    double ce = NAN;
    int rc = clf_evaluate(tr->w, tr->c, tr->val->ids, tr->val->labels, n, tr->val->L, tr->val_seed, -1, tr->B, &ce,
                          &tr->val_acc);
    *val_loss = (float)ce;
    return rc;
}
