/* Public Caduceus API (include/strand.h "caduceus"): a thin layer over strand_model (api/model.c)
 * that accepts only the Caduceus kinds; logits are strand_model_logits, embeddings
 * strand_model_embed. */
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/error.h"
#include "strand.h"

struct strand_caduceus {
    strand_model *m;
};

int strand_caduceus_load(const char *path, strand_caduceus **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_caduceus_load: NULL output");
    *out = NULL;
    if (!path) return st_err(NULL, STRAND_E_ARG, "strand_caduceus_load: NULL path");
    strand_model *m = NULL;
    int rc = strand_model_load(path, &m);
    if (rc < 0) return rc;
    if (!st_model_caduceus_weights(m)) {
        rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: a %s model, not a Caduceus model", path, strand_model_kind(m));
        strand_model_free(m);
        return rc;
    }
    strand_caduceus *h = calloc(1, sizeof *h);
    if (!h) {
        strand_model_free(m);
        return st_err(NULL, STRAND_E_NOMEM, "strand_caduceus_load: out of memory");
    }
    h->m = m;
    *out = h;
    return 0;
}

void strand_caduceus_free(strand_caduceus *h)
{
    if (!h) return;
    strand_model_free(h->m);
    free(h);
}

const char *strand_caduceus_last_error(const strand_caduceus *h) { return h ? strand_model_last_error(h->m) : ""; }

int strand_caduceus_info(const strand_caduceus *h, int *d_model, int *n_layer, int *rcps)
{
    if (!h) return st_err(NULL, STRAND_E_ARG, "strand_caduceus_info: NULL model");
    const caduceus_weights *w = st_model_caduceus_weights(h->m);
    if (d_model) *d_model = w->cfg.d_model;
    if (n_layer) *n_layer = w->cfg.n_layer;
    if (rcps) *rcps = w->cfg.rcps;
    return 0;
}

/* This API has always reported bad ids and lengths as STRAND_E_ARG (strand_model: E_RANGE / E_SHAPE). */
static int as_arg(int rc) { return rc == STRAND_E_RANGE || rc == STRAND_E_SHAPE ? STRAND_E_ARG : rc; }

int strand_caduceus_logits(strand_caduceus *h, const int32_t *ids, size_t n, size_t L, float *out)
{
    if (!h) return st_err(NULL, STRAND_E_ARG, "strand_caduceus_logits: NULL model");
    return as_arg(strand_model_logits(h->m, ids, n, L, NULL, NULL, out));
}

int strand_caduceus_embed(strand_caduceus *h, const int32_t *ids, size_t n, size_t L, int pooling, float *out)
{
    if (!h) return st_err(NULL, STRAND_E_ARG, "strand_caduceus_embed: NULL model");
    return as_arg(strand_model_embed(h->m, ids, n, L, pooling, out));
}
