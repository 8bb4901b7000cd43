/* Public model API (include/strand.h "models"): load any strand/HF checkpoint, report its kind and
 * config, compute logits. Dispatches on the kind: "dit" runs core/dit, "caduceus_ps"/"caduceus_ph"
 * run caduceus/caduceus (inference mode: PH is post-hoc conjoined). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caduceus/caduceus.h"
#include "core/dit.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "api/model_internal.h"
#include "strand.h"

#define MODEL_CHUNK 32 /* sequences per forward call */

struct strand_model {
    char kind[32];
    char *config_json; /* the config as found (strand.config or config.json) */
    dit_weights *dit;  /* read-only, shared by every call */
    dit_ctx *dctx;     /* run state, grows with the largest shape seen */
    caduceus_weights *cad;
    caduceus_ctx *cctx;
    dit_config dcfg;
    char prefix[64];
    size_t B, L;       /* shape the chunk buffers hold (0: not yet) */
    float *chunk_sigma, *chunk_logits;
    int32_t *chunk_ids, *chunk_labels;
    st_errbuf err;
};

static char *read_text(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    return buf;
}

/* The kind named by a config object: "kind" (strand) or "model_type" (HF). */
static int kind_from_config(const char *json, const char *what, char *kind, size_t cap)
{
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return st_err(NULL, STRAND_E_FORMAT, "%s: config is not a JSON object (line %d: %s)", what, je.line, je.text);
    }
    const char *k = json_string_value(json_object_get(root, "kind"));
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    int rc = 0;
    if (k && (!strcmp(k, "dit") || !strcmp(k, "caduceus_ps") || !strcmp(k, "caduceus_ph")))
        snprintf(kind, cap, "%s", k);
    else if (!k && mt && (!strcmp(mt, "udlm") || !strcmp(mt, "mdlm")))
        snprintf(kind, cap, "dit");
    else if (!k && mt && !strcmp(mt, "caduceus")) {
        json_t *rc_ = json_object_get(root, "rcps");
        snprintf(kind, cap, "%s", json_is_true(rc_) ? "caduceus_ps" : "caduceus_ph");
    } else
        rc = st_err(NULL, STRAND_E_UNSUPPORTED,
                    "%s: unknown model kind (config \"kind\": %s%s%s, \"model_type\": %s%s%s; known: dit, udlm, mdlm, "
                    "caduceus_ps, caduceus_ph)",
                    what, k ? "\"" : "", k ? k : "absent", k ? "\"" : "", mt ? "\"" : "", mt ? mt : "absent",
                    mt ? "\"" : "");
    json_decref(root);
    return rc;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int load_dit(strand_model *m, const sft_file *f, const char *what)
{
    m->dcfg = dit_default_config();
    int rc = dit_config_from_json(&m->dcfg, m->config_json);
    if (rc < 0) return st_err_prefix("%s: config", what);
    /* strand files may name their own prefix; published ones use "backbone." */
    snprintf(m->prefix, sizeof m->prefix, "backbone.");
    json_t *root = json_loads(m->config_json, 0, NULL);
    const char *pre = root ? json_string_value(json_object_get(root, "prefix")) : NULL;
    if (pre) snprintf(m->prefix, sizeof m->prefix, "%s", pre);
    json_decref(root);
    if ((rc = dit_weights_create(&m->dit, &m->dcfg, m->prefix)) < 0) return st_err_prefix("%s", what);
    if ((rc = dit_ctx_create(&m->dctx, &m->dcfg)) < 0) return st_err_prefix("%s", what);
    if ((rc = dit_load(m->dit, f)) < 0) return st_err_prefix("%s", what);
    return 0;
}

int strand_model_load(const char *path, strand_model **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_model_load: NULL output");
    *out = NULL;
    if (!path) return st_err(NULL, STRAND_E_ARG, "strand_model_load: NULL path");
    strand_model *m = calloc(1, sizeof *m);
    if (!m) return st_err(NULL, STRAND_E_NOMEM, "strand_model_load: out of memory");
    sft_file *f = NULL;
    char wpath[4096];
    int rc;
    if (is_dir(path)) { /* HF layout: config.json + model.safetensors[.zst] */
        char cpath[4096];
        snprintf(cpath, sizeof cpath, "%s/config.json", path);
        m->config_json = read_text(cpath, 1 << 20);
        if (!m->config_json) {
            rc = st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s (a model directory needs config.json)", cpath,
                        strerror(errno));
            goto fail;
        }
        snprintf(wpath, sizeof wpath, "%s/model.safetensors", path);
        struct stat st;
        if (stat(wpath, &st) != 0) snprintf(wpath, sizeof wpath, "%s/model.safetensors.zst", path);
        if ((rc = sft_open(&f, wpath)) < 0) goto fail;
        if ((rc = kind_from_config(m->config_json, cpath, m->kind, sizeof m->kind)) < 0) goto fail;
    } else {
        snprintf(wpath, sizeof wpath, "%s", path);
        if ((rc = sft_open(&f, wpath)) < 0) goto fail;
        const char *cfg = sft_meta_get(f, "strand.config");
        if (!cfg) {
            rc = st_err(NULL, STRAND_E_FORMAT,
                        "%s: no \"strand.config\" in the file's __metadata__ (for a HuggingFace checkpoint pass its "
                        "directory, with config.json beside model.safetensors)",
                        path);
            goto fail;
        }
        if (!(m->config_json = strdup(cfg))) {
            rc = st_err(NULL, STRAND_E_NOMEM, "out of memory");
            goto fail;
        }
        if ((rc = kind_from_config(m->config_json, path, m->kind, sizeof m->kind)) < 0) goto fail;
    }
    if (!strcmp(m->kind, "dit")) {
        if ((rc = load_dit(m, f, wpath)) < 0) goto fail;
    } else if (!strcmp(m->kind, "caduceus_ps") || !strcmp(m->kind, "caduceus_ph")) {
        if ((rc = caduceus_load(&m->cad, path)) < 0) goto fail;
        if ((rc = caduceus_ctx_create(&m->cctx, &m->cad->cfg)) < 0) goto fail;
        if ((m->cad->cfg.rcps != 0) != (strcmp(m->kind, "caduceus_ps") == 0)) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: config says \"%s\" but \"rcps\" is %s", path, m->kind,
                        m->cad->cfg.rcps ? "true" : "false");
            goto fail;
        }
    } else {
        rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: model kind \"%s\" is not supported by strand_model yet", path,
                    m->kind);
        goto fail;
    }
    sft_close(f);
    *out = m;
    return 0;
fail:
    sft_close(f);
    strand_model_free(m);
    return rc;
}

void strand_model_free(strand_model *m)
{
    if (!m) return;
    dit_weights_free(m->dit);
    dit_ctx_free(m->dctx);
    caduceus_free(m->cad);
    caduceus_ctx_free(m->cctx);
    free(m->config_json);
    free(m->chunk_sigma);
    free(m->chunk_logits);
    free(m->chunk_ids);
    free(m->chunk_labels);
    free(m);
}

const char *strand_model_kind(const strand_model *m) { return m ? m->kind : ""; }
const char *strand_model_config(const strand_model *m) { return m && m->config_json ? m->config_json : ""; }
const char *strand_model_last_error(const strand_model *m) { return m ? m->err.msg : ""; }
size_t strand_model_vocab_size(const strand_model *m)
{
    return !m ? 0 : m->dit ? (size_t)m->dcfg.vocab : m->cad ? (size_t)m->cad->cfg.vocab : 0;
}
size_t strand_model_max_length(const strand_model *m) { return m && m->dit ? (size_t)m->dcfg.model_length : 0; }
int strand_model_num_classes(const strand_model *m) { return m && m->dit ? m->dcfg.num_classes : 0; }
const dit_weights *st_model_dit_weights(const strand_model *m) { return m ? m->dit : NULL; }

/* Chunk buffers for (B, L); the context grows by itself (no weights are copied). */
static int dit_for_shape(strand_model *m, size_t B, size_t L)
{
    if (m->B == B && m->L == L) return 0;
    int rc = dit_ctx_reserve(m->dctx, B, L);
    if (rc < 0) return rc;
    free(m->chunk_sigma), free(m->chunk_logits), free(m->chunk_ids), free(m->chunk_labels);
    m->chunk_sigma = calloc(B, sizeof(float));
    m->chunk_labels = calloc(B, sizeof(int32_t));
    m->chunk_ids = calloc(B * L, sizeof(int32_t));
    m->chunk_logits = malloc(B * L * (size_t)m->dcfg.vocab * sizeof(float));
    if (!m->chunk_sigma || !m->chunk_labels || !m->chunk_ids || !m->chunk_logits) {
        m->B = m->L = 0;
        return st_err(NULL, STRAND_E_NOMEM, "strand_model_logits: out of memory");
    }
    m->B = B;
    m->L = L;
    return 0;
}

static int logits_dit(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                      const int32_t *labels, float *out)
{
    const dit_config *c = &m->dcfg;
    size_t V = (size_t)c->vocab;
    if (L == 0 || L > (size_t)c->model_length)
        return st_err(&m->err, STRAND_E_SHAPE, "strand_model_logits: length %zu outside 1..%d (the model's length)", L,
                      c->model_length);
    for (size_t i = 0; i < n * L; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab)
            return st_err(&m->err, STRAND_E_RANGE, "strand_model_logits: sequence %zu position %zu: id %d outside 0..%d",
                          i / L, i % L, ids[i], c->vocab - 1);
    if (labels && c->num_classes == 0)
        return st_err(&m->err, STRAND_E_ARG, "strand_model_logits: labels given but the model has no label conditioning");
    for (size_t i = 0; labels && i < n; i++)
        if (labels[i] < 0 || labels[i] > c->num_classes)
            return st_err(&m->err, STRAND_E_RANGE,
                          "strand_model_logits: sequence %zu: label %d outside 0..%d (%d = null label)", i, labels[i],
                          c->num_classes, c->num_classes);
    for (size_t i = 0; sigma && i < n; i++)
        if (!isfinite(sigma[i]) || sigma[i] < 0)
            return st_err(&m->err, STRAND_E_RANGE, "strand_model_logits: sequence %zu: sigma %g (must be finite, >= 0)",
                          i, sigma[i]);
    size_t B = n < MODEL_CHUNK ? n : MODEL_CHUNK;
    int rc = dit_for_shape(m, B, L);
    if (rc < 0) goto err;
    for (size_t s = 0; s < n; s += B) {
        size_t nb = n - s < B ? n - s : B;
        /* the last chunk is padded with copies of its first row (outputs dropped) */
        for (size_t b = 0; b < B; b++) {
            size_t src = s + (b < nb ? b : 0);
            memcpy(m->chunk_ids + b * L, ids + src * L, L * sizeof(int32_t));
            m->chunk_sigma[b] = sigma ? sigma[src] : 0.0f;
            m->chunk_labels[b] = labels ? labels[src] : c->num_classes;
        }
        float *dst = nb == B ? out + s * L * V : m->chunk_logits;
        rc = dit_forward(m->dit, m->dctx, m->chunk_ids, NULL, m->chunk_sigma, c->num_classes ? m->chunk_labels : NULL, B, L, dst);
        if (rc < 0) goto err;
        if (nb < B) memcpy(out + s * L * V, m->chunk_logits, nb * L * V * sizeof(float));
    }
    return 0;
err:
    st_err_prefix("strand_model_logits");
    st_err_capture(&m->err);
    return rc;
}

static int logits_caduceus(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                           const int32_t *labels, float *out)
{
    size_t V = (size_t)m->cad->cfg.vocab;
    if (sigma || labels)
        return st_err(&m->err, STRAND_E_ARG, "strand_model_logits: a %s model takes no sigma and no labels", m->kind);
    if (L == 0) return st_err(&m->err, STRAND_E_SHAPE, "strand_model_logits: length 0");
    for (size_t i = 0; i < n * L; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= V)
            return st_err(&m->err, STRAND_E_RANGE, "strand_model_logits: sequence %zu position %zu: id %d outside 0..%zu",
                          i / L, i % L, ids[i], V - 1);
    for (size_t s = 0; s < n; s += MODEL_CHUNK) {
        size_t nb = n - s < MODEL_CHUNK ? n - s : MODEL_CHUNK;
        int rc = caduceus_forward(m->cad, m->cctx, ids + s * L, nb, L, CADUCEUS_INFER, out + s * L * V, NULL, NULL);
        if (rc < 0) {
            st_err_prefix("strand_model_logits");
            st_err_capture(&m->err);
            return rc;
        }
    }
    return 0;
}

int strand_model_logits(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                        const int32_t *labels, float *out)
{
    if (!m) return st_err(NULL, STRAND_E_ARG, "strand_model_logits: NULL model");
    if (n == 0) return 0;
    if (!ids || !out) return st_err(&m->err, STRAND_E_ARG, "strand_model_logits: NULL ids or output");
    if (m->dit) return logits_dit(m, ids, n, L, sigma, labels, out);
    if (m->cad) return logits_caduceus(m, ids, n, L, sigma, labels, out);
    return st_err(&m->err, STRAND_E_UNSUPPORTED, "strand_model_logits: kind \"%s\" not supported", m->kind);
}
