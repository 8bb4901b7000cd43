/* Caduceus masked-LM pretraining pieces (docs/caduceus.md "Masked-LM pretraining"); see mlm.h for the recipe. */
#include "caduceus/mlm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tokenizer_dna.h"

void mlm_default_params(mlm_params *p)
{
    p->mask_prob = 0.15;
    p->mask_frac = 0.8;
    p->random_frac = 0.1;
    p->rc_aug = 0;
}

long mlm_mask_batch(const mlm_params *p, int32_t *ids, int32_t *targets, size_t B, size_t L, strand_rng *rng)
{
    if (!p || !ids || !targets || !rng) return st_err(NULL, STRAND_E_ARG, "mlm mask: NULL argument");
    if (!(p->mask_prob >= 0 && p->mask_prob <= 1 && p->mask_frac >= 0 && p->random_frac >= 0 &&
          p->mask_frac + p->random_frac <= 1))
        return st_err(NULL, STRAND_E_ARG, "mlm mask: bad probabilities (mask_prob %g, mask_frac %g, random_frac %g)",
                      p->mask_prob, p->mask_frac, p->random_frac);
    long selected = 0;
    for (size_t b = 0; b < B; b++) {
        int32_t *x = ids + b * L, *y = targets + b * L;
        for (size_t t = 0; t < L; t++)
            if (x[t] < 0 || x[t] >= ST_DNA_VOCAB)
                return st_err(NULL, STRAND_E_RANGE, "mlm mask: sequence %zu position %zu: id %d outside 0..%d", b, t,
                              x[t], ST_DNA_VOCAB - 1);
        st_dna_n_to_pad(x, L);
        if (p->rc_aug && strand_rng_uniform(rng) < 0.5) st_dna_revcomp(x, x, L);
        for (size_t t = 0; t < L; t++) {
            y[t] = -1;
            if (x[t] == ST_DNA_PAD) continue;
            if (!(strand_rng_uniform(rng) < p->mask_prob)) continue;
            y[t] = x[t];
            selected++;
            double u = strand_rng_uniform(rng);
            if (u < p->mask_frac)
                x[t] = ST_DNA_MASK;
            else if (u < p->mask_frac + p->random_frac)
                x[t] = ST_DNA_A + (int32_t)strand_rng_below(rng, 4); /* A,C,G,T */
        }
    }
    return selected;
}

/* ---- trainer ----------------------------------------------------------------------------------- */
int mlm_trainer_init(mlm_trainer *t, caduceus_weights *m, const mlm_params *mp, size_t B, size_t L)
{
    memset(t, 0, sizeof *t);
    if (!m || B == 0 || L == 0) return st_err(NULL, STRAND_E_ARG, "mlm trainer: no model or empty batch");
    t->m = m;
    t->mp = *mp;
    int rc = pb_alloc_grads(&m->pb);
    if (rc == 0) rc = caduceus_ctx_create(&t->ctx, &m->cfg);
    if (rc < 0) {
        mlm_trainer_free(t);
        return rc;
    }
    t->B = B;
    t->L = L;
    size_t V = (size_t)m->cfg.vocab, BL = B * L;
    t->logits = malloc(BL * V * sizeof(float));
    t->dlogits = malloc(BL * V * sizeof(float));
    t->ids = malloc(BL * sizeof(int32_t));
    t->tgt = malloc(BL * sizeof(int32_t));
    if (!t->logits || !t->dlogits || !t->ids || !t->tgt) {
        mlm_trainer_free(t);
        return st_err(NULL, STRAND_E_NOMEM, "mlm trainer: out of memory (B %zu, L %zu)", B, L);
    }
    return 0;
}

void mlm_trainer_free(mlm_trainer *t)
{
    if (!t) return;
    caduceus_ctx_free(t->ctx);
    free(t->logits);
    free(t->dlogits);
    free(t->ids);
    free(t->tgt);
    free(t->val_ids);
    free(t->val_tgt);
    memset(t, 0, sizeof *t);
}

int mlm_trainer_set_val(mlm_trainer *t, const st_window_set *val, size_t max_rows, uint64_t val_seed)
{
    free(t->val_ids);
    free(t->val_tgt);
    t->val_ids = t->val_tgt = NULL;
    t->n_val = 0;
    if (!val || val->n == 0) return 0;
    size_t L = t->L;
    if (val->len < L)
        return st_err(NULL, STRAND_E_ARG, "mlm validation: windows of %zu tokens, training length %zu", val->len, L);
    size_t per = val->len / L, items = val->n * per;
    size_t n = max_rows && max_rows < items ? max_rows : items;
    t->val_ids = malloc(n * L * sizeof(int32_t));
    t->val_tgt = malloc(n * L * sizeof(int32_t));
    if (!t->val_ids || !t->val_tgt) return st_err(NULL, STRAND_E_NOMEM, "mlm validation: out of memory");
    for (size_t r = 0; r < n; r++) {
        size_t item = (size_t)((double)r * (double)items / (double)n); /* evenly spread */
        const uint8_t *src = val->tok + (item / per) * val->len + (item % per) * L;
        for (size_t k = 0; k < L; k++) t->val_ids[r * L + k] = src[k];
    }
    mlm_params mp = t->mp;
    mp.rc_aug = 0;
    strand_rng r;
    strand_rng_seed(&r, val_seed);
    long sel = mlm_mask_batch(&mp, t->val_ids, t->val_tgt, n, L, &r);
    if (sel < 0) return (int)sel;
    t->n_val = n;
    return 0;
}

int mlm_validate(void *user, float *val_loss)
{
    mlm_trainer *t = user;
    size_t B = t->B, L = t->L, V = (size_t)t->m->cfg.vocab;
    double sum = 0, count = 0;
    for (size_t r0 = 0; r0 < t->n_val; r0 += B) {
        size_t nb = t->n_val - r0 < B ? t->n_val - r0 : B;
        /* a short last batch is padded with copies of its first row, scored nowhere */
        for (size_t b = 0; b < B; b++) {
            size_t src = r0 + (b < nb ? b : 0);
            memcpy(t->ids + b * L, t->val_ids + src * L, L * sizeof(int32_t));
            if (b < nb)
                memcpy(t->tgt + b * L, t->val_tgt + src * L, L * sizeof(int32_t));
            else
                for (size_t k = 0; k < L; k++) t->tgt[b * L + k] = -1;
        }
        /* the training mode keeps the activation buffers of the training steps (same logits) */
        int rc = caduceus_forward(t->m, t->ctx, t->ids, B, L, CADUCEUS_TRAIN, t->logits, NULL, NULL);
        if (rc < 0) return rc;
        size_t n = 0;
        for (size_t i = 0; i < B * L; i++) n += t->tgt[i] >= 0;
        sum += caduceus_mlm_loss(t->logits, t->tgt, B, L, V, NULL) * (double)n;
        count += (double)n;
    }
    t->last_val_tokens = count;
    *val_loss = count > 0 ? (float)(sum / count) : NAN;
    return 0;
}

int mlm_forward_backward(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                         float *loss)
{
    (void)labels;
    mlm_trainer *t = user;
    if (B != t->B || L != t->L)
        return st_err(NULL, STRAND_E_ARG, "mlm trainer: batch (%zu, %zu), built for (%zu, %zu)", B, L, t->B, t->L);
    memcpy(t->ids, ids, B * L * sizeof(int32_t));
    long sel = mlm_mask_batch(&t->mp, t->ids, t->tgt, B, L, rng);
    if (sel < 0) return (int)sel;
    int rc = caduceus_forward(t->m, t->ctx, t->ids, B, L, CADUCEUS_TRAIN, t->logits, NULL, NULL);
    if (rc < 0) return rc;
    memset(t->dlogits, 0, B * L * (size_t)t->m->cfg.vocab * sizeof(float)); /* the loss accumulates */
    *loss = (float)caduceus_mlm_loss(t->logits, t->tgt, B, L, (size_t)t->m->cfg.vocab, t->dlogits);
    if (sel == 0) return 0; /* nothing selected (an all-pad batch): zero gradient */
    return caduceus_backward(t->m, t->ctx, t->dlogits, t->m->pb.grads);
}

void mlm_trainer_model(mlm_trainer *t, train_model *out)
{
    memset(out, 0, sizeof *out);
    out->pb = &t->m->pb;
    out->forward_backward = mlm_forward_backward;
    out->validate = t->n_val ? mlm_validate : NULL;
    out->user = t;
}

/* ---- the whole run ------------------------------------------------------------------------------- */
train_params mlm_default_train_params(void)
{
    train_params p = train_default_params();
    p.batch = 8;
    p.seq_len = 1024;
    p.steps = 1000;
    p.opt.lr = 8e-3f;
    p.opt.beta1 = 0.9f;
    p.opt.beta2 = 0.95f;
    p.opt.weight_decay = 0.1f;
    p.sched = lr_schedule_warmup_cosine(p.steps, 0.1, 0.0);
    p.clip = 1.0f;
    p.ema_decay = 0;
    p.val_every = 100;
    p.log_every = 1;
    return p;
}

void mlm_default_model_config(caduceus_config *c)
{
    caduceus_default_config(c);
    c->d_model = 128;
    c->n_layer = 4;
    c->rcps = 1;
}

/* Copy the weights of the model file `path` into m (same architecture, checked tensor by tensor). */
static int warm_start(caduceus_weights *m, const char *path)
{
    caduceus_weights *src = NULL;
    int rc = caduceus_load(&src, path);
    if (rc < 0) return st_err_prefix("init from %s", path), rc;
    const caduceus_config *a = &m->cfg, *b = &src->cfg;
    if (a->d_model != b->d_model || a->n_layer != b->n_layer || a->rcps != b->rcps || a->vocab != b->vocab ||
        m->pb.n != src->pb.n || m->pb.total != src->pb.total) {
        rc = st_err(NULL, STRAND_E_SHAPE,
                    "init from %s: the model is %s d_model %d, %d layers, vocab %d; this run is %s d_model %d, "
                    "%d layers, vocab %d",
                    path, b->rcps ? "PS" : "PH", b->d_model, b->n_layer, b->vocab, a->rcps ? "PS" : "PH", a->d_model,
                    a->n_layer, a->vocab);
        caduceus_free(src);
        return rc;
    }
    for (size_t i = 0; i < m->pb.n; i++)
        if (strcmp(m->pb.entries[i].name, src->pb.entries[i].name) || m->pb.entries[i].offset != src->pb.entries[i].offset) {
            rc = st_err(NULL, STRAND_E_SHAPE, "init from %s: tensor %zu is %s, expected %s", path, i,
                        src->pb.entries[i].name, m->pb.entries[i].name);
            caduceus_free(src);
            return rc;
        }
    memcpy(m->pb.params, src->pb.params, m->pb.total * sizeof(float));
    caduceus_free(src);
    return 0;
}

int mlm_train(const caduceus_config *model, const train_params *p, const st_window_set *train,
              const st_window_set *val, size_t val_rows, caduceus_weights **model_out, train_result *res)
{
    return mlm_train_from(model, NULL, p, train, val, val_rows, model_out, res);
}

int mlm_train_from(const caduceus_config *model, const char *init_path, const train_params *p,
                   const st_window_set *train, const st_window_set *val, size_t val_rows,
                   caduceus_weights **model_out, train_result *res)
{
    *model_out = NULL;
    caduceus_weights *m = NULL;
    st_window_source src;
    mlm_trainer tr;
    memset(&src, 0, sizeof src);
    memset(&tr, 0, sizeof tr);
    int rc = st_window_source_init(&src, train, p->seq_len, p->seed ^ MLM_DATA_SEED_XOR);
    if (rc < 0) goto out;
    if ((rc = caduceus_create(&m, model)) < 0) goto out;
    caduceus_init_weights(m, p->seed);
    if (init_path && !p->resume_path && (rc = warm_start(m, init_path)) < 0) goto out;
    mlm_params mp;
    mlm_default_params(&mp);
    mp.rc_aug = !model->rcps; /* RC augmentation for PH only (docs/caduceus.md "Masked-LM pretraining") */
    if ((rc = mlm_trainer_init(&tr, m, &mp, p->batch, p->seq_len)) < 0) goto out;
    if (val && val->n && (rc = mlm_trainer_set_val(&tr, val, val_rows, MLM_VAL_SEED)) < 0) goto out;

    train_model tm;
    mlm_trainer_model(&tr, &tm); /* no validation set: tm.validate is NULL, the loop skips val_every */
    train_source ts = {st_window_source_next, 0, &src};
    rc = train_run(p, &tm, &ts, NULL, res);
out:
    mlm_trainer_free(&tr);
    st_window_source_free(&src);
    if (rc < 0 && rc != STRAND_E_CANCELLED) {
        caduceus_free(m);
        return rc;
    }
    *model_out = m;
    return rc;
}
