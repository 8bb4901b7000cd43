/* Public classifier API (include/strand.h "noisy classifiers and classifier-based guidance"): a
 * guidance/classifier.h classifier behind a handle; the guided sampler lives in api/sampler.c. */
#include <stdlib.h>
#include <string.h>

#include "api/classifier_internal.h"
#include "core/error.h"
#include "guidance/classifier.h"
#include "strand.h"

struct strand_classifier {
    clf_weights *w;
    clf_ctx *c;
    st_errbuf err;
};

const clf_weights *st_classifier_weights(const strand_classifier *c) { return c ? c->w : NULL; }

int strand_classifier_load(const char *path, strand_classifier **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_classifier_load: NULL output");
    *out = NULL;
    if (!path) return st_err(NULL, STRAND_E_ARG, "strand_classifier_load: NULL path");
    strand_classifier *c = calloc(1, sizeof *c);
    if (!c) return st_err(NULL, STRAND_E_NOMEM, "strand_classifier_load: out of memory");
    int rc = clf_load_path(&c->w, path, NULL);
    if (rc == 0) rc = clf_ctx_create(&c->c, c->w);
    if (rc < 0) {
        strand_classifier_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void strand_classifier_free(strand_classifier *c)
{
    if (!c) return;
    clf_ctx_free(c->c);
    clf_weights_free(c->w);
    free(c);
}

int strand_classifier_num_classes(const strand_classifier *c) { return c ? c->w->cfg.num_classes : 0; }
size_t strand_classifier_vocab_size(const strand_classifier *c) { return c ? (size_t)c->w->cfg.vocab : 0; }
size_t strand_classifier_max_length(const strand_classifier *c) { return c ? (size_t)c->w->cfg.length : 0; }
const char *strand_classifier_last_error(const strand_classifier *c) { return c ? c->err.msg : ""; }

int strand_classifier_info(const strand_classifier *c, int *process, int *time_cond, int *clean)
{
    if (!c) return st_err(NULL, STRAND_E_ARG, "strand_classifier_info: NULL classifier");
    if (process) *process = c->w->cfg.proc == DIFF_MASKED ? STRAND_DIFFUSION_MASKED : STRAND_DIFFUSION_UNIFORM;
    if (time_cond) *time_cond = c->w->cfg.time_cond;
    if (clean) *clean = c->w->cfg.clean;
    return 0;
}

static int failed(strand_classifier *c, int rc, const char *fn)
{
    st_err(&c->err, rc, "%s: %s", fn, c->c->err.msg);
    return rc;
}

int strand_classifier_log_probs(strand_classifier *c, const int32_t *ids, size_t n, size_t L, const float *sigma,
                                float *logp)
{
    if (!c) return st_err(NULL, STRAND_E_ARG, "strand_classifier_log_probs: NULL classifier");
    if (n == 0) return 0;
    if (!ids || !logp) return st_err(&c->err, STRAND_E_ARG, "strand_classifier_log_probs: NULL ids or output");
    size_t C = (size_t)c->w->cfg.num_classes;
    for (size_t s = 0; s < n; s += 32) {
        size_t nb = n - s < 32 ? n - s : 32;
        int rc = clf_log_probs(c->w, c->c, ids + s * L, sigma ? sigma + s : NULL, nb, L, logp + s * C);
        if (rc < 0) return failed(c, rc, "strand_classifier_log_probs");
    }
    return 0;
}

int strand_classifier_input_grad(strand_classifier *c, const int32_t *ids, size_t n, size_t L, const float *sigma,
                                 int cls, float *logp, float *grad)
{
    if (!c) return st_err(NULL, STRAND_E_ARG, "strand_classifier_input_grad: NULL classifier");
    if (n == 0) return 0;
    if (!ids || !grad) return st_err(&c->err, STRAND_E_ARG, "strand_classifier_input_grad: NULL ids or gradient");
    size_t V = (size_t)c->w->cfg.vocab;
    int32_t y[32];
    for (int k = 0; k < 32; k++) y[k] = cls;
    for (size_t s = 0; s < n; s += 32) {
        size_t nb = n - s < 32 ? n - s : 32;
        int rc = clf_input_grad(c->w, c->c, ids + s * L, sigma ? sigma + s : NULL, y, nb, L, logp ? logp + s : NULL,
                                grad + s * L * V);
        if (rc < 0) return failed(c, rc, "strand_classifier_input_grad");
    }
    return 0;
}
