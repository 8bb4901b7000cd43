/* The DiT classifier backbone (guidance/classifier.h; docs/diffusion.md "Noisy classifiers"): the
 * official DITClassifier — token embedding (ids or a soft input), sigma conditioning, `n_blocks`
 * adaLN DiT blocks (core/dit.h with features_only: no output layer), the mean of the last residual
 * stream over positions, Linear(D, C):
 *     logits = W · (1/L) Σ_l x_depth[l] + b
 * Parameter names: `<prefix>vocab_embed.embedding`, `<prefix>sigma_map.*`, `<prefix>blocks.*`,
 * `<prefix>output_layer.weight` (C,D) / `.bias` (C), prefix "classifier_model." (the official
 * Lightning module's attribute). Config keys: hidden_dim, n_blocks, n_heads, cond_dim, prefix. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dit.h"
#include "core/linear.h"
#include "guidance/classifier.h"

#define CLF_DIT_PREFIX "classifier_model."

typedef struct clf_dit {
    dit_weights *w; /* features_only trunk; its paramblock also holds the head */
    int C;
    int p_hw, p_hb; /* head entries in w->pb */
} clf_dit;

typedef struct clf_dit_ctx {
    dit_ctx *dc;
    size_t B, L, cap;         /* cap: B·L floats·D reserved */
    float *feat, *dfeat;      /* (B,L,D) */
    float *pooled, *dpooled;  /* (B,D) */
} clf_dit_ctx;

static int dit_create(void **out, const clf_config *cfg, const char *json)
{
    *out = NULL;
    dit_config dc = dit_default_config();
    dc.dim = 96, dc.depth = 3, dc.heads = 4, dc.cond_dim = 128;
    char prefix[64] = CLF_DIT_PREFIX;
    if (json) {
        int rc = dit_config_from_json(&dc, json);
        if (rc < 0) return rc;
        clf_backbone_prefix(json, prefix, sizeof prefix);
    }
    dc.vocab = cfg->vocab;
    dc.model_length = cfg->length;
    dc.num_classes = 0;
    dc.time_cond = 1; /* the generic layer feeds 0 to a classifier without time conditioning */
    dc.features_only = 1;
    clf_dit *m = calloc(1, sizeof *m);
    if (!m) return st_err(NULL, STRAND_E_NOMEM, "DiT classifier: out of memory");
    m->C = cfg->num_classes;
    int rc = dit_weights_declare(&m->w, &dc, prefix);
    if (rc < 0) goto fail;
    char nm[PB_NAME_MAX];
    int64_t shw[2] = {m->C, dc.dim}, shb[1] = {m->C};
    snprintf(nm, sizeof nm, "%soutput_layer.weight", prefix);
    if ((rc = m->p_hw = pb_add(&m->w->pb, nm, 2, shw, 1)) < 0) goto fail;
    snprintf(nm, sizeof nm, "%soutput_layer.bias", prefix);
    if ((rc = m->p_hb = pb_add(&m->w->pb, nm, 1, shb, 0)) < 0) goto fail;
    if ((rc = pb_alloc_params(&m->w->pb)) < 0) goto fail;
    *out = m;
    return 0;
fail:
    dit_weights_free(m->w);
    free(m);
    return rc;
}

static void dit_free(void *bw)
{
    clf_dit *m = bw;
    dit_weights_free(m->w);
    free(m);
}

static void dit_init(void *bw, strand_rng *rng)
{
    clf_dit *m = bw;
    dit_init_weights(m->w, rng); /* zeroes the whole block first (the head too) */
    float *hw = pb_param(&m->w->pb, m->p_hw);
    float bound = 1.0f / sqrtf((float)m->w->cfg.dim);
    for (size_t i = 0; i < (size_t)m->C * (size_t)m->w->cfg.dim; i++)
        hw[i] = (float)((2.0 * strand_rng_uniform(rng) - 1.0) * bound);
}

static int dit_load_bb(void *bw, const sft_file *f)
{
    clf_dit *m = bw;
    return dit_load(m->w, f);
}

static paramblock *dit_params(void *bw) { return &((clf_dit *)bw)->w->pb; }

static char *dit_cfg_json(const void *bw)
{
    const clf_dit *m = bw;
    const dit_config *c = &m->w->cfg;
    json_t *o = json_object();
    json_object_set_new(o, "hidden_dim", json_integer(c->dim));
    json_object_set_new(o, "n_blocks", json_integer(c->depth));
    json_object_set_new(o, "n_heads", json_integer(c->heads));
    json_object_set_new(o, "cond_dim", json_integer(c->cond_dim));
    json_object_set_new(o, "prefix", json_string(m->w->prefix));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static int dit_ctx_make(const void *bw, void **out)
{
    const clf_dit *m = bw;
    clf_dit_ctx *c = calloc(1, sizeof *c);
    if (!c) return st_err(NULL, STRAND_E_NOMEM, "DiT classifier: out of memory");
    int rc = dit_ctx_create(&c->dc, &m->w->cfg);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void dit_ctx_drop(void *bctx)
{
    clf_dit_ctx *c = bctx;
    if (!c) return;
    dit_ctx_free(c->dc);
    free(c->feat), free(c->dfeat), free(c->pooled), free(c->dpooled);
    free(c);
}

static int dit_reserve(clf_dit_ctx *c, size_t B, size_t L, size_t D)
{
    if (B * L * D > c->cap || B * D > c->cap) {
        free(c->feat), free(c->dfeat), free(c->pooled), free(c->dpooled);
        size_t n = B * L * D;
        c->feat = malloc(n * sizeof(float));
        c->dfeat = malloc(n * sizeof(float));
        c->pooled = malloc(B * D * sizeof(float));
        c->dpooled = malloc(B * D * sizeof(float));
        c->cap = c->feat && c->dfeat && c->pooled && c->dpooled ? n : 0;
        if (!c->cap) return st_err(NULL, STRAND_E_NOMEM, "DiT classifier: out of memory for %zu x %zu", B, L);
    }
    c->B = B, c->L = L;
    return 0;
}

static int dit_fwd(const void *bw, void *bctx, const int32_t *ids, const float *soft, const float *sigma, size_t B,
                   size_t L, float *logits)
{
    const clf_dit *m = bw;
    clf_dit_ctx *c = bctx;
    size_t D = (size_t)m->w->cfg.dim;
    int rc = dit_reserve(c, B, L, D);
    if (rc < 0) return rc;
    if ((rc = dit_forward(m->w, c->dc, ids, soft, sigma, NULL, B, L, c->feat)) < 0) return rc;
    for (size_t b = 0; b < B; b++) { /* mean over positions */
        float *p = c->pooled + b * D;
        for (size_t d = 0; d < D; d++) p[d] = 0;
        for (size_t l = 0; l < L; l++) {
            const float *x = c->feat + (b * L + l) * D;
            for (size_t d = 0; d < D; d++) p[d] += x[d];
        }
        for (size_t d = 0; d < D; d++) p[d] /= (float)L;
    }
    const paramblock *pb = &m->w->pb;
    linear_forward(logits, c->pooled, pb_param(pb, m->p_hw), pb_param(pb, m->p_hb), B, D, (size_t)m->C);
    return 0;
}

static int dit_bwd(const void *bw, void *bctx, const float *dlogits, float *dsoft, float *grads)
{
    const clf_dit *m = bw;
    clf_dit_ctx *c = bctx;
    size_t B = c->B, L = c->L, D = (size_t)m->w->cfg.dim;
    const paramblock *pb = &m->w->pb;
    memset(c->dpooled, 0, B * D * sizeof(float));
    linear_backward(c->dpooled, grads ? grads + pb->entries[m->p_hw].offset : NULL,
                    grads ? grads + pb->entries[m->p_hb].offset : NULL, dlogits, c->pooled, pb_param(pb, m->p_hw), B,
                    D, (size_t)m->C);
    for (size_t b = 0; b < B; b++)
        for (size_t l = 0; l < L; l++) {
            float *dx = c->dfeat + (b * L + l) * D;
            const float *dp = c->dpooled + b * D;
            for (size_t d = 0; d < D; d++) dx[d] = dp[d] / (float)L;
        }
    return dit_backward(m->w, c->dc, c->dfeat, dsoft, grads);
}

/* Floats of a DiT context per row (the layout of core/dit.c: residual streams, per-block
 * activations with the (H,L,L) attention, backward scratch), plus this backbone's (L,D) buffers. */
static size_t dit_row(const void *bw, size_t L)
{
    const clf_dit *m = bw;
    size_t D = (size_t)m->w->cfg.dim, H = (size_t)m->w->cfg.heads, depth = (size_t)m->w->cfg.depth;
    size_t per_block = L * (22 * D + 2) + H * L * L + 6 * D;
    size_t acts = (depth + 1) * L * D + depth * per_block + 2 * L * D + 2 * L;
    size_t grads = L * (15 * D) + H * L * L + 6 * D;
    return (acts + grads + 2 * L * D + (size_t)m->w->cfg.vocab * L) * sizeof(float);
}

const clf_backbone clf_backbone_dit = {
    .name = "dit",
    .create = dit_create,
    .free = dit_free,
    .init = dit_init,
    .load = dit_load_bb,
    .params = dit_params,
    .config_json = dit_cfg_json,
    .ctx_create = dit_ctx_make,
    .ctx_free = dit_ctx_drop,
    .forward = dit_fwd,
    .backward = dit_bwd,
    .row_bytes = dit_row,
};
