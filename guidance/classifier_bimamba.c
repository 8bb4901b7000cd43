/* The BiMamba classifier backbone (guidance/classifier.h; docs/diffusion.md "Noisy classifiers"):
 * the official DiMambaClassifier — DiMamba (guidance/dimamba.h) with the pooled head: token
 * embedding (ids or a soft input), sigma conditioning through adaLN, `n_blocks` bi-directional
 * BiMamba blocks, RMSNorm_f + final adaLN, the mean over positions, Linear(D, C):
 *     logits = W · (1/L) Σ_l f[l] + b
 * Bi-directional (each block reads the sequence both ways); not RC-equivariant.
 * Parameter names: docs/dit.md "DiMamba" under prefix "classifier_model." (trunk
 * `classifier_model.model.backbone.`, head `classifier_model.output_layer.{weight,bias}`).
 * Config keys: hidden_dim, n_blocks, cond_dim, prefix. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guidance/classifier.h"
#include "guidance/dimamba.h"

typedef struct clf_bimamba {
    dimamba_weights *w;
} clf_bimamba;

static int bm_create(void **out, const clf_config *cfg, const char *json)
{
    *out = NULL;
    dimamba_config dc = dimamba_default_config(); /* D 128, 4 blocks: the paper's DNA classifier */
    char prefix[64] = "classifier_model.";
    if (json) {
        int rc = dimamba_config_from_json(&dc, json);
        if (rc < 0) return rc;
        clf_backbone_prefix(json, prefix, sizeof prefix);
    }
    dc.vocab = cfg->vocab;
    dc.model_length = cfg->length;
    dc.num_classes = 0;
    dc.time_cond = 1; /* the generic layer feeds 0 to a classifier without time conditioning */
    dc.n_out = cfg->num_classes;
    clf_bimamba *m = calloc(1, sizeof *m);
    if (!m) return st_err(NULL, STRAND_E_NOMEM, "BiMamba classifier: out of memory");
    int rc = dimamba_weights_create(&m->w, &dc, prefix);
    if (rc < 0) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void bm_free(void *bw)
{
    clf_bimamba *m = bw;
    dimamba_weights_free(m->w);
    free(m);
}

static void bm_init(void *bw, strand_rng *rng) { dimamba_init_weights(((clf_bimamba *)bw)->w, rng); }
static int bm_load(void *bw, const sft_file *f) { return dimamba_load(((clf_bimamba *)bw)->w, f); }
static paramblock *bm_params(void *bw) { return &((clf_bimamba *)bw)->w->pb; }

static char *bm_cfg_json(const void *bw)
{
    const dimamba_weights *w = ((const clf_bimamba *)bw)->w;
    json_t *o = json_object();
    json_object_set_new(o, "hidden_dim", json_integer(w->cfg.dim));
    json_object_set_new(o, "n_blocks", json_integer(w->cfg.depth));
    json_object_set_new(o, "cond_dim", json_integer(w->cfg.cond_dim));
    json_object_set_new(o, "prefix", json_string(w->prefix));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static int bm_ctx_make(const void *bw, void **out)
{
    dimamba_ctx *c = NULL;
    int rc = dimamba_ctx_create(&c, &((const clf_bimamba *)bw)->w->cfg, 1);
    *out = c;
    return rc;
}

static void bm_ctx_drop(void *bctx) { dimamba_ctx_free(bctx); }

static int bm_fwd(const void *bw, void *bctx, const int32_t *ids, const float *soft, const float *sigma, size_t B,
                  size_t L, float *logits)
{
    return dimamba_forward(((const clf_bimamba *)bw)->w, bctx, ids, soft, sigma, NULL, B, L, logits);
}

static int bm_bwd(const void *bw, void *bctx, const float *dlogits, float *dsoft, float *grads)
{
    return dimamba_backward(((const clf_bimamba *)bw)->w, bctx, dlogits, dsoft, grads);
}

static size_t bm_row(const void *bw, size_t L)
{
    const dimamba_weights *w = ((const clf_bimamba *)bw)->w;
    return (dimamba_ctx_floats(&w->cfg, 1, L, 1) + (size_t)w->cfg.vocab * L) * sizeof(float);
}

const clf_backbone clf_backbone_bimamba = {
    .name = "bimamba",
    .create = bm_create,
    .free = bm_free,
    .init = bm_init,
    .load = bm_load,
    .params = bm_params,
    .config_json = bm_cfg_json,
    .ctx_create = bm_ctx_make,
    .ctx_free = bm_ctx_drop,
    .forward = bm_fwd,
    .backward = bm_bwd,
    .row_bytes = bm_row,
};
