/* Public model API (include/strand.h "models"): load any strand/HF checkpoint, report its kind and
 * config, compute logits (and embeddings where the kind has them). One table of model kinds
 * (kinds[] below: name, the HF model_type names it answers to, load, info, logits, optional
 * embed), like bcftools' command table: adding a kind is one row and its functions. The handle
 * holds read-only weights and one run context per kind, so calls with changing shapes copy no
 * weights. Paths resolve through core/model_path.h. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "caduceus/caduceus.h"
#include "core/dit.h"
#include "core/error.h"
#include "core/model_path.h"
#include "core/safetensors.h"
#include "guidance/classifier.h"
#include "guidance/diff_train.h"
#include "strand.h"

#define MODEL_CHUNK 32 /* sequences per forward call (logits) */
#define EMBED_CHUNK 8  /* sequences per forward call (embeddings) */

typedef struct model_kind model_kind;

struct strand_model {
    const model_kind *kind;
    char *config_json;       /* the config as found (strand.config or config.json) */
    /* DiT */
    dit_weights *dit;        /* read-only, shared by every call (and by samplers' threads) */
    dit_ctx *dctx;           /* run state, grows with the largest shape seen */
    int has_diffusion;       /* the config names a diffusion process */
    diff_loss_spec diffusion;
    /* DiMamba (guidance/dimamba.h): read-only weights, inference run state; diffusion as the DiT's */
    dimamba_weights *dmw;
    dimamba_ctx *dmctx;
    /* classifier (guidance/classifier.h) */
    clf_weights *clf;
    clf_ctx *clctx;
    /* Caduceus */
    caduceus_weights *cad;
    caduceus_ctx *cctx;
    /* DiT chunk buffers */
    size_t B, L;
    float *chunk_sigma, *chunk_logits;
    int32_t *chunk_ids, *chunk_labels;
    st_errbuf err;
};

typedef struct model_info {
    size_t vocab, max_length; /* max_length SIZE_MAX: any length */
    int num_classes;
} model_info;

struct model_kind {
    const char *name;     /* strand "kind" */
    const char *hf_types; /* HF model_type values that mean this kind (space separated), or NULL */
    int hf_rcps;          /* -1: any; else the HF config's "rcps" must be this */
    int beside_ok;        /* a weights file named directly may take its config from config.json beside it */
    int (*load)(strand_model *m, const sft_file *f, const model_files *mp);
    void (*info)(const strand_model *m, model_info *out);
    int (*logits)(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma, const int32_t *labels,
                  float *out);
    int (*embed)(strand_model *m, const int32_t *ids, size_t n, size_t L, int pooling, float *out); /* NULL: none */
};

/* ---- DiT ------------------------------------------------------------------------------------------ */
static int dit_load_kind(strand_model *m, const sft_file *f, const model_files *mp)
{
    dit_config c = dit_default_config();
    int rc = dit_config_from_json(&c, m->config_json);
    if (rc < 0) return st_err_prefix("%s: config", mp->weights);
    /* strand files may name their own prefix; published ones use "backbone." */
    char prefix[64] = "backbone.";
    json_t *root = json_loads(m->config_json, 0, NULL);
    const char *pre = root ? json_string_value(json_object_get(root, "prefix")) : NULL;
    if (pre) snprintf(prefix, sizeof prefix, "%s", pre);
    json_decref(root);
    if ((rc = dit_weights_create(&m->dit, &c, prefix)) < 0 || (rc = dit_load(m->dit, f)) < 0 ||
        (rc = dit_ctx_create(&m->dctx, &c)) < 0)
        return st_err_prefix("%s", mp->weights);
    /* the diffusion process, when the config names one ("diffusion" or HF model_type) */
    m->has_diffusion = diff_spec_from_json(&m->diffusion, m->config_json, c.vocab) == 0;
    if (!m->has_diffusion) strand_clear_error();
    return 0;
}

static void dit_info(const strand_model *m, model_info *o)
{
    o->vocab = (size_t)m->dit->cfg.vocab;
    o->max_length = (size_t)m->dit->cfg.model_length;
    o->num_classes = m->dit->cfg.num_classes;
}

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
    m->chunk_logits = malloc(B * L * (size_t)m->dit->cfg.vocab * sizeof(float));
    if (!m->chunk_sigma || !m->chunk_labels || !m->chunk_ids || !m->chunk_logits) {
        m->B = m->L = 0;
        return st_err(NULL, STRAND_E_NOMEM, "strand_model_logits: out of memory");
    }
    m->B = B;
    m->L = L;
    return 0;
}

/* The argument checks of a denoiser's logits (DiT and DiMamba): length, ids, labels, sigma. */
static int denoiser_check(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                          const int32_t *labels, int vocab, int model_length, int num_classes)
{
    if (L == 0 || L > (size_t)model_length)
        return st_err(&m->err, STRAND_E_SHAPE, "strand_model_logits: length %zu outside 1..%d (the model's length)", L,
                      model_length);
    for (size_t i = 0; i < n * L; i++)
        if (ids[i] < 0 || ids[i] >= vocab)
            return st_err(&m->err, STRAND_E_RANGE, "strand_model_logits: sequence %zu position %zu: id %d outside 0..%d",
                          i / L, i % L, ids[i], vocab - 1);
    if (labels && num_classes == 0)
        return st_err(&m->err, STRAND_E_ARG, "strand_model_logits: labels given but the model has no label conditioning");
    for (size_t i = 0; labels && i < n; i++)
        if (labels[i] < 0 || labels[i] > num_classes)
            return st_err(&m->err, STRAND_E_RANGE,
                          "strand_model_logits: sequence %zu: label %d outside 0..%d (%d = null label)", i, labels[i],
                          num_classes, num_classes);
    for (size_t i = 0; sigma && i < n; i++)
        if (!isfinite(sigma[i]) || sigma[i] < 0)
            return st_err(&m->err, STRAND_E_RANGE, "strand_model_logits: sequence %zu: sigma %g (must be finite, >= 0)",
                          i, sigma[i]);
    return 0;
}

static int dit_logits(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                      const int32_t *labels, float *out)
{
    const dit_config *c = &m->dit->cfg;
    size_t V = (size_t)c->vocab;
    int rc0 = denoiser_check(m, ids, n, L, sigma, labels, c->vocab, c->model_length, c->num_classes);
    if (rc0 < 0) return rc0;
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
        rc = dit_forward(m->dit, m->dctx, m->chunk_ids, NULL, m->chunk_sigma, c->num_classes ? m->chunk_labels : NULL,
                         B, L, dst);
        if (rc < 0) goto err;
        if (nb < B) memcpy(out + s * L * V, m->chunk_logits, nb * L * V * sizeof(float));
    }
    return 0;
err:
    st_err_prefix("strand_model_logits");
    st_err_capture(&m->err);
    return rc;
}

/* ---- DiMamba (guidance/dimamba.h): a diffusion denoiser like the DiT ---------------------------------------- */
static int dimamba_load_kind(strand_model *m, const sft_file *f, const model_files *mp)
{
    dimamba_config c = dimamba_default_config();
    int rc = dimamba_config_from_json(&c, m->config_json);
    if (rc < 0) return st_err_prefix("%s: config", mp->weights);
    c.n_out = 0;
    if ((rc = dimamba_weights_create(&m->dmw, &c, "backbone.")) < 0 || (rc = dimamba_load(m->dmw, f)) < 0 ||
        (rc = dimamba_ctx_create(&m->dmctx, &c, 0)) < 0)
        return st_err_prefix("%s", mp->weights);
    m->has_diffusion = diff_spec_from_json(&m->diffusion, m->config_json, c.vocab) == 0;
    if (!m->has_diffusion) strand_clear_error();
    return 0;
}

static void dimamba_info(const strand_model *m, model_info *o)
{
    o->vocab = (size_t)m->dmw->cfg.vocab;
    o->max_length = (size_t)m->dmw->cfg.model_length;
    o->num_classes = m->dmw->cfg.num_classes;
}

static int dimamba_logits(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                          const int32_t *labels, float *out)
{
    const dimamba_config *c = &m->dmw->cfg;
    int rc = denoiser_check(m, ids, n, L, sigma, labels, c->vocab, c->model_length, c->num_classes);
    for (size_t s = 0; rc == 0 && s < n; s += MODEL_CHUNK) {
        size_t nb = n - s < MODEL_CHUNK ? n - s : MODEL_CHUNK;
        rc = dimamba_forward(m->dmw, m->dmctx, ids + s * L, NULL, sigma ? sigma + s : NULL,
                             labels && c->num_classes ? labels + s : NULL, nb, L, out + s * L * (size_t)c->vocab);
        if (rc < 0) {
            st_err_prefix("strand_model_logits");
            st_err_capture(&m->err);
        }
    }
    return rc;
}

/* ---- Caduceus (PS and PH) ------------------------------------------------------------------------------- */
static int cad_load_kind(strand_model *m, const sft_file *f, const model_files *mp)
{
    caduceus_config cfg;
    caduceus_default_config(&cfg);
    int rc = caduceus_config_from_json(&cfg, m->config_json, mp->dir || mp->config_beside ? mp->config : mp->weights);
    if (rc == 0) rc = caduceus_load_from(&m->cad, &cfg, f);
    if (rc < 0) return st_err_prefix("%s", mp->weights);
    int want_ps = !strcmp(m->kind->name, "caduceus_ps");
    if ((m->cad->cfg.rcps != 0) != want_ps)
        return st_err(NULL, STRAND_E_FORMAT, "%s: config says \"%s\" but \"rcps\" is %s", mp->weights, m->kind->name,
                      m->cad->cfg.rcps ? "true" : "false");
    return caduceus_ctx_create(&m->cctx, &m->cad->cfg);
}

static void cad_info(const strand_model *m, model_info *o)
{
    o->vocab = (size_t)m->cad->cfg.vocab;
    o->max_length = SIZE_MAX; /* no positional limit: inference memory is O(L·D), tiled along L */
    o->num_classes = 0;       /* no label conditioning */
}

static int cad_check(strand_model *m, const int32_t *ids, size_t n, size_t L, const char *fn)
{
    size_t V = (size_t)m->cad->cfg.vocab;
    if (L == 0) return st_err(&m->err, STRAND_E_SHAPE, "%s: length 0", fn);
    for (size_t i = 0; i < n * L; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= V)
            return st_err(&m->err, STRAND_E_RANGE, "%s: sequence %zu position %zu: id %d outside 0..%zu", fn, i / L,
                          i % L, ids[i], V - 1);
    return 0;
}

/* Chunks of `chunk` sequences through caduceus_forward; logits / embed / pooled may be NULL. */
static int cad_run(strand_model *m, const int32_t *ids, size_t n, size_t L, size_t chunk, int mode, float *logits,
                   float *embed, float *pooled, const char *fn)
{
    size_t V = (size_t)m->cad->cfg.vocab, D = (size_t)m->cad->cfg.d_model;
    for (size_t s = 0; s < n; s += chunk) {
        size_t nb = n - s < chunk ? n - s : chunk;
        int rc = caduceus_forward(m->cad, m->cctx, ids + s * L, nb, L, mode, logits ? logits + s * L * V : NULL,
                                  embed ? embed + s * L * D : NULL, pooled ? pooled + s * D : NULL);
        if (rc < 0) {
            st_err_prefix("%s", fn);
            st_err_capture(&m->err);
            return rc;
        }
    }
    return 0;
}

static int cad_logits(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                      const int32_t *labels, float *out)
{
    if (sigma || labels)
        return st_err(&m->err, STRAND_E_ARG, "strand_model_logits: a %s model takes no sigma and no labels",
                      m->kind->name);
    int rc = cad_check(m, ids, n, L, "strand_model_logits");
    /* the network's raw output, as the HF model's logits: PH runs x alone (no post-hoc conjoining) */
    return rc < 0 ? rc : cad_run(m, ids, n, L, MODEL_CHUNK, CADUCEUS_INFER_RAW, out, NULL, NULL, "strand_model_logits");
}

static int cad_embed(strand_model *m, const int32_t *ids, size_t n, size_t L, int pooling, float *out)
{
    int rc = cad_check(m, ids, n, L, "strand_model_embed");
    if (rc < 0) return rc;
    return cad_run(m, ids, n, L, EMBED_CHUNK, CADUCEUS_INFER, NULL, pooling == STRAND_EMBED_PER_POSITION ? out : NULL,
                   pooling == STRAND_EMBED_MEAN ? out : NULL, "strand_model_embed");
}

/* ---- noisy classifiers (guidance/classifier.h): logits are class logits (n, C) ------------------------ */
static int clf_load_kind(strand_model *m, const sft_file *f, const model_files *mp)
{
    int rc = clf_load(&m->clf, f, m->config_json, mp->weights);
    return rc < 0 ? rc : clf_ctx_create(&m->clctx, m->clf);
}

static void clf_info(const strand_model *m, model_info *o)
{
    o->vocab = (size_t)m->clf->cfg.vocab;
    o->max_length = (size_t)m->clf->cfg.length;
    o->num_classes = m->clf->cfg.num_classes;
}

static int clf_logits_kind(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                           const int32_t *labels, float *out)
{
    if (labels)
        return st_err(&m->err, STRAND_E_ARG, "strand_model_logits: a classifier takes no labels (it predicts them)");
    for (size_t i = 0; sigma && i < n; i++)
        if (!isfinite(sigma[i]) || sigma[i] < 0)
            return st_err(&m->err, STRAND_E_RANGE, "strand_model_logits: sequence %zu: sigma %g (must be finite, >= 0)",
                          i, sigma[i]);
    size_t C = (size_t)m->clf->cfg.num_classes;
    for (size_t s = 0; s < n; s += MODEL_CHUNK) {
        size_t nb = n - s < MODEL_CHUNK ? n - s : MODEL_CHUNK;
        int rc = clf_logits(m->clf, m->clctx, ids + s * L, sigma ? sigma + s : NULL, nb, L, out + s * C);
        if (rc < 0) {
            st_err(&m->err, rc, "strand_model_logits: %s", m->clctx->err.msg);
            return rc;
        }
    }
    return 0;
}

/* ---- the table ----------------------------------------------------------------------------------------- */
static const model_kind kinds[] = {
    {"dit", "udlm mdlm", -1, 0, dit_load_kind, dit_info, dit_logits, NULL},
    {"dimamba", NULL, -1, 0, dimamba_load_kind, dimamba_info, dimamba_logits, NULL},
    {"caduceus_ps", "caduceus", 1, 1, cad_load_kind, cad_info, cad_logits, cad_embed},
    {"caduceus_ph", "caduceus", 0, 1, cad_load_kind, cad_info, cad_logits, cad_embed},
    {"classifier", NULL, -1, 0, clf_load_kind, clf_info, clf_logits_kind, NULL},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static int word_in(const char *w, const char *list)
{
    size_t n = strlen(w);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !strncmp(p, w, n)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* The kind named by a config object: "kind" (strand) or "model_type" (HF, with "rcps" for Caduceus). */
static int kind_from_config(const char *json, const char *what, const model_kind **out)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return st_err(NULL, STRAND_E_FORMAT, "%s: config is not a JSON object (line %d: %s)", what, je.line, je.text);
    }
    const char *k = json_string_value(json_object_get(root, "kind"));
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    int rcps = json_is_true(json_object_get(root, "rcps"));
    for (size_t i = 0; i < N_KINDS && !*out; i++) {
        if (k) {
            if (!strcmp(k, kinds[i].name)) *out = &kinds[i];
        } else if (mt && word_in(mt, kinds[i].hf_types) && (kinds[i].hf_rcps < 0 || kinds[i].hf_rcps == rcps)) {
            *out = &kinds[i];
        }
    }
    int rc = 0;
    if (!*out) {
        char known[256] = "", hf[128] = "";
        for (size_t i = 0; i < N_KINDS; i++) {
            size_t u = strlen(known), h = strlen(hf);
            snprintf(known + u, sizeof known - u, "%s%s", u ? ", " : "", kinds[i].name);
            if (kinds[i].hf_types && !strstr(hf, kinds[i].hf_types))
                snprintf(hf + h, sizeof hf - h, "%s%s", h ? " " : "", kinds[i].hf_types);
        }
        rc = st_err(NULL, STRAND_E_UNSUPPORTED,
                    "%s: unknown model kind (config \"kind\": %s%s%s, \"model_type\": %s%s%s; known kinds: %s; HF "
                    "model_type: %s)",
                    what, k ? "\"" : "", k ? k : "absent", k ? "\"" : "", mt ? "\"" : "", mt ? mt : "absent",
                    mt ? "\"" : "", known, hf);
    }
    json_decref(root);
    return rc;
}

int strand_model_load(const char *path, strand_model **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_model_load: NULL output");
    *out = NULL;
    if (!path) return st_err(NULL, STRAND_E_ARG, "strand_model_load: NULL path");
    strand_model *m = calloc(1, sizeof *m);
    if (!m) return st_err(NULL, STRAND_E_NOMEM, "strand_model_load: out of memory");
    model_files mp;
    sft_file *f = NULL;
    int rc = model_path_open(path, &mp, &f, &m->config_json);
    if (rc == 0) rc = kind_from_config(m->config_json, mp.dir || mp.config_beside ? mp.config : path, &m->kind);
    if (rc == 0 && mp.config_beside && !m->kind->beside_ok)
        rc = st_err(NULL, STRAND_E_FORMAT,
                    "%s: no \"strand.config\" in the file's __metadata__ (for a HuggingFace %s checkpoint pass its "
                    "directory, with config.json beside model.safetensors)",
                    path, m->kind->name);
    if (rc == 0) rc = m->kind->load(m, f, &mp);
    sft_close(f);
    if (rc < 0) {
        strand_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void strand_model_free(strand_model *m)
{
    if (!m) return;
    dit_weights_free(m->dit);
    dit_ctx_free(m->dctx);
    dimamba_weights_free(m->dmw);
    dimamba_ctx_free(m->dmctx);
    caduceus_free(m->cad);
    caduceus_ctx_free(m->cctx);
    clf_ctx_free(m->clctx);
    clf_weights_free(m->clf);
    free(m->config_json);
    free(m->chunk_sigma);
    free(m->chunk_logits);
    free(m->chunk_ids);
    free(m->chunk_labels);
    free(m);
}

static model_info info_of(const strand_model *m)
{
    model_info o = {0, 0, 0};
    if (m && m->kind) m->kind->info(m, &o);
    return o;
}

const char *strand_model_kind(const strand_model *m) { return m && m->kind ? m->kind->name : ""; }
const char *strand_model_config(const strand_model *m) { return m && m->config_json ? m->config_json : ""; }
const char *strand_model_last_error(const strand_model *m) { return m ? m->err.msg : ""; }
size_t strand_model_vocab_size(const strand_model *m) { return info_of(m).vocab; }
size_t strand_model_max_length(const strand_model *m) { return info_of(m).max_length; }
int strand_model_num_classes(const strand_model *m) { return info_of(m).num_classes; }

int strand_model_logits(strand_model *m, const int32_t *ids, size_t n, size_t L, const float *sigma,
                        const int32_t *labels, float *out)
{
    if (!m) return st_err(NULL, STRAND_E_ARG, "strand_model_logits: NULL model");
    if (n == 0) return 0;
    if (!ids || !out) return st_err(&m->err, STRAND_E_ARG, "strand_model_logits: NULL ids or output");
    return m->kind->logits(m, ids, n, L, sigma, labels, out);
}

/* Post-hoc conjoined logits (docs/caduceus.md "Caduceus-PH"): out[t, v] = ½ (f(x)[t, v] + f(rc x)[L−1−t, comp v]).
 * PH: the conjoined inference mode; PS: its raw logits averaged with those of rc(x) mapped back. */
int strand_model_logits_rc_average(strand_model *m, const int32_t *ids, size_t n, size_t L, float *out)
{
    const char *fn = "strand_model_logits_rc_average";
    if (!m) return st_err(NULL, STRAND_E_ARG, "%s: NULL model", fn);
    if (!m->cad)
        return st_err(&m->err, STRAND_E_UNSUPPORTED, "%s: a %s model is not a Caduceus DNA model (no reverse "
                      "complement)", fn, m->kind->name);
    if (n == 0) return 0;
    if (!ids || !out) return st_err(&m->err, STRAND_E_ARG, "%s: NULL ids or output", fn);
    int rc = cad_check(m, ids, n, L, fn);
    if (rc < 0) return rc;
    if (!m->cad->cfg.rcps) return cad_run(m, ids, n, L, MODEL_CHUNK, CADUCEUS_INFER, out, NULL, NULL, fn);
    size_t V = (size_t)m->cad->cfg.vocab;
    int32_t *rid = malloc(L * sizeof *rid);
    float *lr = malloc(L * V * sizeof *lr);
    if (!rid || !lr) {
        free(rid), free(lr);
        return st_err(&m->err, STRAND_E_NOMEM, "%s: out of memory", fn);
    }
    for (size_t b = 0; b < n && rc == 0; b++) {
        const int32_t *x = ids + b * L;
        float *o = out + b * L * V;
        for (size_t t = 0; t < L; t++) rid[t] = (int32_t)m->cad->cfg.comp[x[L - 1 - t]];
        rc = cad_run(m, x, 1, L, 1, CADUCEUS_INFER_RAW, o, NULL, NULL, fn);
        if (rc == 0) rc = cad_run(m, rid, 1, L, 1, CADUCEUS_INFER_RAW, lr, NULL, NULL, fn);
        if (rc == 0)
            for (size_t t = 0; t < L; t++)
                for (size_t v = 0; v < V; v++)
                    o[t * V + v] = 0.5f * (o[t * V + v] + lr[(L - 1 - t) * V + (size_t)m->cad->cfg.comp[v]]);
    }
    free(rid), free(lr);
    return rc;
}

int strand_model_embed(strand_model *m, const int32_t *ids, size_t n, size_t L, int pooling, float *out)
{
    if (!m) return st_err(NULL, STRAND_E_ARG, "strand_model_embed: NULL model");
    if (pooling != STRAND_EMBED_PER_POSITION && pooling != STRAND_EMBED_MEAN)
        return st_err(&m->err, STRAND_E_ARG, "strand_model_embed: pooling %d is not STRAND_EMBED_*", pooling);
    if (!m->kind->embed)
        return st_err(&m->err, STRAND_E_UNSUPPORTED, "strand_model_embed: a %s model has no embeddings", m->kind->name);
    if (n == 0) return 0;
    if (!ids || !out) return st_err(&m->err, STRAND_E_ARG, "strand_model_embed: NULL ids or output");
    return m->kind->embed(m, ids, n, L, pooling, out);
}

/* ---- internal views (api/model_internal.h) ----------------------------------------------------------------- */
const dit_weights *st_model_dit_weights(const strand_model *m) { return m ? m->dit : NULL; }
const dimamba_weights *st_model_dimamba_weights(const strand_model *m) { return m ? m->dmw : NULL; }

int st_model_diff_wrap(const strand_model *m, diff_model *dm)
{
    if (m && m->dit) return diff_model_wrap(dm, m->dit, m->config_json);
    if (m && m->dmw) return diff_model_wrap_dimamba(dm, m->dmw, m->config_json);
    memset(dm, 0, sizeof *dm);
    return st_err(NULL, STRAND_E_UNSUPPORTED,
                  "a %s model is not a diffusion model (an MDLM/UDLM model: kind \"dit\" or \"dimamba\" with a "
                  "\"diffusion\" config)",
                  m ? strand_model_kind(m) : "NULL");
}
const diff_loss_spec *st_model_diffusion(const strand_model *m) { return m && m->has_diffusion ? &m->diffusion : NULL; }
const caduceus_weights *st_model_caduceus_weights(const strand_model *m) { return m ? m->cad : NULL; }
const clf_weights *st_model_classifier(const strand_model *m) { return m ? m->clf : NULL; }
