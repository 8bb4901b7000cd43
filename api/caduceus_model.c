/* Public Caduceus API (include/strand.h "caduceus"): load an HF or strand checkpoint, logits,
 * per-position and mean-pooled embeddings (PS: strand-collapsed; PH: post-hoc conjoined).
 * Inference runs in chunks of sequences so memory stays O(chunk·L·D). */
#include <stdlib.h>
#include <string.h>

#include "caduceus/caduceus.h"
#include "core/error.h"
#include "strand.h"

#define CAD_CHUNK 8 /* sequences per forward call */

struct strand_caduceus {
    caduceus_weights *m;
    caduceus_ctx *ctx;
    st_errbuf err;
};

int strand_caduceus_load(const char *path, strand_caduceus **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_caduceus_load: NULL output");
    *out = NULL;
    if (!path) return st_err(NULL, STRAND_E_ARG, "strand_caduceus_load: NULL path");
    strand_caduceus *h = calloc(1, sizeof *h);
    if (!h) return st_err(NULL, STRAND_E_NOMEM, "strand_caduceus_load: out of memory");
    int rc = caduceus_load(&h->m, path);
    if (rc == 0) rc = caduceus_ctx_create(&h->ctx, &h->m->cfg);
    if (rc < 0) {
        caduceus_free(h->m);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void strand_caduceus_free(strand_caduceus *h)
{
    if (!h) return;
    caduceus_free(h->m);
    caduceus_ctx_free(h->ctx);
    free(h);
}

const char *strand_caduceus_last_error(const strand_caduceus *h) { return h ? h->err.msg : ""; }

int strand_caduceus_info(const strand_caduceus *h, int *d_model, int *n_layer, int *rcps)
{
    if (!h) return st_err(NULL, STRAND_E_ARG, "strand_caduceus_info: NULL model");
    if (d_model) *d_model = h->m->cfg.d_model;
    if (n_layer) *n_layer = h->m->cfg.n_layer;
    if (rcps) *rcps = h->m->cfg.rcps;
    return 0;
}

/* Run chunks of sequences; logits (n,L,V) / embed (n,L,D) / pooled (n,D), any may be NULL. */
static int run(strand_caduceus *h, const int32_t *ids, size_t n, size_t L, float *logits, float *embed, float *pooled,
               const char *fn)
{
    if (!h) return st_err(NULL, STRAND_E_ARG, "%s: NULL model", fn);
    if (n == 0) return 0;
    if (!ids || L == 0) return st_err(&h->err, STRAND_E_ARG, "%s: NULL ids or zero length", fn);
    size_t V = (size_t)h->m->cfg.vocab, D = (size_t)h->m->cfg.d_model;
    for (size_t i = 0; i < n * L; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= V)
            return st_err(&h->err, STRAND_E_ARG, "%s: sequence %zu position %zu: token id %d outside 0..%zu", fn, i / L,
                          i % L, ids[i], V - 1);
    for (size_t s = 0; s < n; s += CAD_CHUNK) {
        size_t nb = n - s < CAD_CHUNK ? n - s : CAD_CHUNK;
        int rc = caduceus_forward(h->m, h->ctx, ids + s * L, nb, L, CADUCEUS_INFER, logits ? logits + s * L * V : NULL,
                                  embed ? embed + s * L * D : NULL, pooled ? pooled + s * D : NULL);
        if (rc < 0) {
            st_err_prefix("%s", fn);
            st_err_capture(&h->err);
            return rc;
        }
    }
    return 0;
}

int strand_caduceus_logits(strand_caduceus *h, const int32_t *ids, size_t n, size_t L, float *out)
{
    return run(h, ids, n, L, out, NULL, NULL, "strand_caduceus_logits");
}

int strand_caduceus_embed(strand_caduceus *h, const int32_t *ids, size_t n, size_t L, int pooling, float *out)
{
    if (pooling != STRAND_EMBED_PER_POSITION && pooling != STRAND_EMBED_MEAN)
        return st_err(h ? &h->err : NULL, STRAND_E_ARG, "strand_caduceus_embed: pooling %d is not STRAND_EMBED_*",
                      pooling);
    return run(h, ids, n, L, NULL, pooling == STRAND_EMBED_PER_POSITION ? out : NULL,
               pooling == STRAND_EMBED_MEAN ? out : NULL, "strand_caduceus_embed");
}
