/* Noisy classifiers: config, files, the backbone table, log-probabilities and the input gradient
 * (guidance/classifier.h; docs/diffusion.md "Noisy classifiers", "First-order CBG"). */
#include "guidance/classifier.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model_path.h"
#include "core/tokenizer.h"

#define CFG_META "strand.config"

/* ---- the backbone table: one line per backbone ---------------------------------------------------- */
extern const clf_backbone clf_backbone_dit;     /* guidance/classifier_dit.c */
extern const clf_backbone clf_backbone_bimamba; /* guidance/classifier_bimamba.c */

static const clf_backbone *const clf_backbones[] = {
    &clf_backbone_dit,
    &clf_backbone_bimamba,
};
#define N_BACKBONES (sizeof clf_backbones / sizeof clf_backbones[0])

void clf_backbone_prefix(const char *json, char *prefix, size_t n)
{
    json_t *root = json ? json_loads(json, 0, NULL) : NULL;
    const char *pre = root ? json_string_value(json_object_get(root, "prefix")) : NULL;
    if (pre) snprintf(prefix, n, "%s", pre);
    json_decref(root);
}

const clf_backbone *clf_backbone_find(const char *name)
{
    for (size_t i = 0; name && i < N_BACKBONES; i++)
        if (!strcmp(clf_backbones[i]->name, name)) return clf_backbones[i];
    return NULL;
}

static void backbone_names(char *buf, size_t n)
{
    buf[0] = 0;
    for (size_t i = 0; i < N_BACKBONES; i++) {
        size_t u = strlen(buf);
        snprintf(buf + u, n - u, "%s%s", u ? ", " : "", clf_backbones[i]->name);
    }
}

/* ---- config ----------------------------------------------------------------------------------------- */
clf_config clf_default_config(void)
{
    clf_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.backbone, sizeof c.backbone, "dit");
    c.num_classes = 2;
    c.proc = DIFF_MASKED;
    c.mask_id = -1;
    c.sched = diff_schedule_default();
    return c;
}

static int get_int(json_t *root, const char *key, int *dst, int lo, int hi, const char *what)
{
    json_t *v = json_object_get(root, key);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return st_err(NULL, STRAND_E_FORMAT, "%s: classifier config \"%s\" must be an integer in [%d, %d]", what, key,
                      lo, hi);
    *dst = (int)json_integer_value(v);
    return 0;
}

int clf_config_from_json(clf_config *cfg, const char *json, const char *what)
{
    if (!what) what = "classifier";
    json_error_t je;
    json_t *root = json ? json_loads(json, 0, &je) : NULL;
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return st_err(NULL, STRAND_E_FORMAT, "%s: classifier config is not a JSON object", what);
    }
    int rc = 0;
    const char *kind = json_string_value(json_object_get(root, "kind"));
    if (!kind || strcmp(kind, "classifier")) {
        rc = st_err(NULL, STRAND_E_ARG, "%s: not a classifier (config \"kind\" is %s%s%s, not \"classifier\")", what,
                    kind ? "\"" : "", kind ? kind : "absent", kind ? "\"" : "");
        goto done;
    }
    const char *bb = json_string_value(json_object_get(root, "backbone"));
    if (bb) {
        if (!clf_backbone_find(bb)) {
            char names[128];
            backbone_names(names, sizeof names);
            rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: classifier backbone \"%s\" unknown (known: %s)", what, bb, names);
            goto done;
        }
        snprintf(cfg->backbone, sizeof cfg->backbone, "%s", bb);
    }
    if ((rc = get_int(root, "num_classes", &cfg->num_classes, 2, 1 << 20, what)) < 0 ||
        (rc = get_int(root, "vocab_size", &cfg->vocab, 2, 1 << 24, what)) < 0 ||
        (rc = get_int(root, "model_length", &cfg->length, 1, 1 << 24, what)) < 0)
        goto done;
    const char *d = json_string_value(json_object_get(root, "diffusion"));
    if (d && (rc = diff_process_parse(d, &cfg->proc)) < 0) goto done;
    const char *nz = json_string_value(json_object_get(root, "noise"));
    if (nz && (rc = diff_schedule_parse(nz, &cfg->sched)) < 0) goto done;
    cfg->mask_id = cfg->proc == DIFF_MASKED ? cfg->vocab - 1 : -1;
    if ((rc = get_int(root, "mask_id", &cfg->mask_id, 0, cfg->vocab - 1, what)) < 0) goto done;
    if (cfg->proc == DIFF_UNIFORM) cfg->mask_id = -1;
    cfg->time_cond = json_is_true(json_object_get(root, "time_conditioning"));
    cfg->clean = json_is_true(json_object_get(root, "clean"));
    if (cfg->vocab < 2 || cfg->length < 1) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: classifier config needs \"vocab_size\" >= 2 and \"model_length\" >= 1",
                    what);
        goto done;
    }
done:
    json_decref(root);
    return rc;
}

char *clf_config_json(const clf_weights *w)
{
    char *bbj = w->bb->config_json ? w->bb->config_json(w->bw) : NULL;
    json_t *root = bbj ? json_loads(bbj, 0, NULL) : json_object();
    free(bbj);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    const clf_config *c = &w->cfg;
    json_object_set_new(root, "kind", json_string("classifier"));
    json_object_set_new(root, "backbone", json_string(c->backbone));
    json_object_set_new(root, "num_classes", json_integer(c->num_classes));
    json_object_set_new(root, "vocab_size", json_integer(c->vocab));
    json_object_set_new(root, "model_length", json_integer(c->length));
    json_object_set_new(root, "diffusion", json_string(diff_process_name(c->proc)));
    if (c->proc == DIFF_MASKED) json_object_set_new(root, "mask_id", json_integer(c->mask_id));
    json_object_set_new(root, "noise", json_string(diff_schedule_name(c->sched.kind)));
    json_object_set_new(root, "time_conditioning", json_boolean(c->time_cond));
    json_object_set_new(root, "clean", json_boolean(c->clean));
    char *s = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(root);
    return s;
}

/* ---- weights ---------------------------------------------------------------------------------------- */
int clf_weights_create(clf_weights **out, const clf_config *cfg, const char *json)
{
    *out = NULL;
    const clf_backbone *bb = clf_backbone_find(cfg->backbone);
    if (!bb) {
        char names[128];
        backbone_names(names, sizeof names);
        return st_err(NULL, STRAND_E_UNSUPPORTED, "classifier: backbone \"%s\" unknown (known: %s)", cfg->backbone, names);
    }
    return clf_weights_create_with(out, cfg, bb, json);
}

int clf_weights_create_with(clf_weights **out, const clf_config *cfg, const clf_backbone *bb, const char *json)
{
    *out = NULL;
    if (cfg->num_classes < 2 || cfg->vocab < 2 || cfg->length < 1)
        return st_err(NULL, STRAND_E_ARG, "classifier: need >= 2 classes (%d), vocab >= 2 (%d), length >= 1 (%d)",
                      cfg->num_classes, cfg->vocab, cfg->length);
    if (cfg->proc == DIFF_MASKED && (cfg->mask_id < 0 || cfg->mask_id >= cfg->vocab))
        return st_err(NULL, STRAND_E_ARG, "classifier: masked process with [MASK] id %d outside 0..%d", cfg->mask_id,
                      cfg->vocab - 1);
    clf_weights *w = calloc(1, sizeof *w);
    if (!w) return st_err(NULL, STRAND_E_NOMEM, "classifier: out of memory");
    w->cfg = *cfg;
    w->bb = bb;
    int rc = bb->create(&w->bw, cfg, json);
    if (rc < 0) {
        free(w);
        return st_err_prefix("classifier (%s)", bb->name);
    }
    *out = w;
    return 0;
}

void clf_weights_free(clf_weights *w)
{
    if (!w) return;
    if (w->bb && w->bw) w->bb->free(w->bw);
    free(w);
}

void clf_init_weights(clf_weights *w, strand_rng *rng) { w->bb->init(w->bw, rng); }
paramblock *clf_params(clf_weights *w) { return w->bb->params(w->bw); }
size_t clf_row_bytes(const clf_weights *w, size_t L) { return w->bb->row_bytes(w->bw, L); }

int clf_load(clf_weights **out, const sft_file *f, const char *json, const char *what)
{
    *out = NULL;
    clf_config cfg = clf_default_config();
    int rc = clf_config_from_json(&cfg, json, what);
    if (rc < 0) return rc;
    clf_weights *w = NULL;
    if ((rc = clf_weights_create(&w, &cfg, json)) < 0) return st_err_prefix("%s", what);
    if ((rc = w->bb->load(w->bw, f)) < 0) {
        clf_weights_free(w);
        return st_err_prefix("%s", what);
    }
    *out = w;
    return 0;
}

int clf_load_path(clf_weights **out, const char *path, strand_tokenizer **tok)
{
    *out = NULL;
    if (tok) *tok = NULL;
    model_files mp;
    sft_file *f = NULL;
    char *json = NULL;
    int rc = model_path_open(path, &mp, &f, &json);
    if (rc == 0) rc = clf_load(out, f, json, path);
    if (rc == 0 && tok && sft_meta_get(f, STRAND_TOKENIZER_META_KEY) &&
        (rc = st_tokenizer_read_meta(tok, f, mp.weights)) < 0) {
        clf_weights_free(*out);
        *out = NULL;
    }
    sft_close(f);
    free(json);
    return rc;
}

int clf_save(const clf_weights *w, const float *params, const strand_tokenizer *tok, const char *const *extra,
             const char *path)
{
    sft_writer *sw = sft_writer_create();
    if (!sw) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    const paramblock *pb = w->bb->params(w->bw);
    int rc = pb_save_data(pb, params ? params : pb->params, sw, "");
    char *cfg = rc == 0 ? clf_config_json(w) : NULL;
    if (rc == 0 && !cfg) rc = st_err(NULL, STRAND_E_NOMEM, "%s: cannot format the classifier config", path);
    if (rc == 0) rc = sft_writer_meta(sw, CFG_META, cfg);
    if (rc == 0) rc = sft_writer_meta(sw, "format", "pt");
    if (rc == 0 && tok) rc = st_tokenizer_write_meta(sw, tok);
    for (size_t i = 0; rc == 0 && extra && extra[i] && extra[i + 1]; i += 2) rc = sft_writer_meta(sw, extra[i], extra[i + 1]);
    if (rc == 0) rc = sft_writer_write(sw, path);
    free(cfg);
    sft_writer_free(sw);
    return rc;
}

/* ---- run context -------------------------------------------------------------------------------------- */
int clf_ctx_create(clf_ctx **out, const clf_weights *w)
{
    *out = NULL;
    clf_ctx *c = calloc(1, sizeof *c);
    if (!c) return st_err(NULL, STRAND_E_NOMEM, "classifier: out of memory");
    c->w = w;
    int rc = w->bb->ctx_create(w->bw, &c->bctx);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void clf_ctx_free(clf_ctx *c)
{
    if (!c) return;
    if (c->bctx) c->w->bb->ctx_free(c->bctx);
    free(c->logits), free(c->dlogits), free(c->soft), free(c->sig);
    free(c);
}

static int reserve(clf_ctx *c, size_t B, size_t L, int soft)
{
    size_t C = (size_t)c->w->cfg.num_classes, V = (size_t)c->w->cfg.vocab;
    if (B > c->cap_b) {
        free(c->logits), free(c->dlogits), free(c->sig);
        c->logits = malloc(B * C * sizeof *c->logits);
        c->dlogits = malloc(B * C * sizeof *c->dlogits);
        c->sig = malloc(B * sizeof *c->sig);
        c->cap_b = c->logits && c->dlogits && c->sig ? B : 0;
        if (!c->cap_b) return st_err(&c->err, STRAND_E_NOMEM, "classifier: out of memory for a batch of %zu", B);
    }
    if (soft && B * L > c->cap_bl) {
        free(c->soft);
        c->soft = malloc(B * L * V * sizeof *c->soft);
        c->cap_bl = c->soft ? B * L : 0;
        if (!c->soft) return st_err(&c->err, STRAND_E_NOMEM, "classifier: out of memory for a %zu x %zu one-hot", B, L);
    }
    return 0;
}

static int check_shape(const clf_weights *w, clf_ctx *c, size_t B, size_t L)
{
    if (c->w != w) return st_err(&c->err, STRAND_E_ARG, "classifier: the context was made for other weights");
    if (B == 0 || L == 0 || L > (size_t)w->cfg.length)
        return st_err(&c->err, STRAND_E_SHAPE, "classifier: batch %zu x length %zu: need B >= 1 and 1 <= L <= %d", B, L,
                      w->cfg.length);
    return 0;
}

static int check_ids(const clf_weights *w, clf_ctx *c, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= w->cfg.vocab)
            return st_err(&c->err, STRAND_E_RANGE, "classifier: input %zu: id %d outside 0..%d", i, ids[i],
                          w->cfg.vocab - 1);
    return 0;
}

/* sigma as the classifier is fed it: the caller's values with time conditioning, else 0. */
static const float *fed_sigma(const clf_weights *w, clf_ctx *c, const float *sigma, size_t B)
{
    for (size_t b = 0; b < B; b++) c->sig[b] = w->cfg.time_cond && sigma ? sigma[b] : 0.0f;
    return c->sig;
}

static void log_softmax_rows(const float *x, size_t B, size_t C, float *out)
{
    for (size_t b = 0; b < B; b++) {
        const float *r = x + b * C;
        double mx = r[0], s = 0;
        for (size_t k = 1; k < C; k++) mx = r[k] > mx ? r[k] : mx;
        for (size_t k = 0; k < C; k++) s += exp((double)r[k] - mx);
        double lse = mx + log(s);
        for (size_t k = 0; k < C; k++) out[b * C + k] = (float)((double)r[k] - lse);
    }
}

int clf_logits(const clf_weights *w, clf_ctx *c, const int32_t *ids, const float *sigma, size_t B, size_t L,
               float *logits)
{
    int rc;
    if ((rc = check_shape(w, c, B, L)) < 0 || (rc = check_ids(w, c, ids, B * L)) < 0 || (rc = reserve(c, B, L, 0)) < 0)
        return rc;
    rc = w->bb->forward(w->bw, c->bctx, ids, NULL, fed_sigma(w, c, sigma, B), B, L, logits);
    if (rc < 0) st_err_capture(&c->err);
    return rc;
}

int clf_log_probs(const clf_weights *w, clf_ctx *c, const int32_t *ids, const float *sigma, size_t B, size_t L,
                  float *logp)
{
    int rc = clf_logits(w, c, ids, sigma, B, L, logp);
    if (rc < 0) return rc;
    log_softmax_rows(logp, B, (size_t)w->cfg.num_classes, logp);
    return 0;
}

int clf_soft_grad(const clf_weights *w, clf_ctx *c, const float *soft, const float *sigma, const int32_t *y, size_t B,
                  size_t L, float *logp_y, float *grad)
{
    int rc;
    if ((rc = check_shape(w, c, B, L)) < 0 || (rc = reserve(c, B, L, 0)) < 0) return rc;
    size_t C = (size_t)w->cfg.num_classes, V = (size_t)w->cfg.vocab;
    for (size_t b = 0; b < B; b++)
        if (y[b] < 0 || (size_t)y[b] >= C)
            return st_err(&c->err, STRAND_E_RANGE, "classifier: class %d of row %zu outside 0..%zu", y[b], b, C - 1);
    if ((rc = w->bb->forward(w->bw, c->bctx, NULL, soft, fed_sigma(w, c, sigma, B), B, L, c->logits)) < 0) goto err;
    /* d log softmax(z)_y / dz = onehot(y) − softmax(z) */
    log_softmax_rows(c->logits, B, C, c->logits);
    for (size_t b = 0; b < B; b++) {
        if (logp_y) logp_y[b] = c->logits[b * C + (size_t)y[b]];
        for (size_t k = 0; k < C; k++)
            c->dlogits[b * C + k] = (k == (size_t)y[b] ? 1.0f : 0.0f) - (float)exp((double)c->logits[b * C + k]);
    }
    memset(grad, 0, B * L * V * sizeof *grad);
    if ((rc = w->bb->backward(w->bw, c->bctx, c->dlogits, grad, NULL)) < 0) goto err;
    return 0;
err:
    st_err_capture(&c->err);
    return rc;
}

int clf_input_grad(const clf_weights *w, clf_ctx *c, const int32_t *ids, const float *sigma, const int32_t *y,
                   size_t B, size_t L, float *logp_y, float *grad)
{
    int rc;
    if ((rc = check_shape(w, c, B, L)) < 0 || (rc = check_ids(w, c, ids, B * L)) < 0 || (rc = reserve(c, B, L, 1)) < 0)
        return rc;
    size_t V = (size_t)w->cfg.vocab;
    memset(c->soft, 0, B * L * V * sizeof *c->soft);
    for (size_t i = 0; i < B * L; i++) c->soft[i * V + (size_t)ids[i]] = 1.0f;
    return clf_soft_grad(w, c, c->soft, sigma, y, B, L, logp_y, grad);
}
