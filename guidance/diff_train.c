/* Diffusion models on the DiT: config, files, per-token loss, MC NELBO and the training step
 * (docs/diffusion.md "Training", "Evaluation", "Model files"). */
#include "guidance/diff_train.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/model_path.h"
#include "core/tokenizer.h"

#define CFG_META "strand.config"

/* ---- config ----------------------------------------------------------------------------------- */
int diff_spec_from_json(diff_loss_spec *spec, const char *json, int vocab)
{
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return st_err(NULL, STRAND_E_FORMAT, "diffusion config: invalid JSON at line %d: %s", je.line, je.text);
    }
    int rc = 0;
    memset(spec, 0, sizeof *spec);
    spec->sched = diff_schedule_default();
    spec->vocab = vocab;
    const char *d = json_string_value(json_object_get(root, "diffusion"));
    if (!d) d = json_string_value(json_object_get(root, "model_type"));
    if (!d) {
        rc = st_err(NULL, STRAND_E_FORMAT, "diffusion config: no \"diffusion\" (mdlm or udlm) and no HF \"model_type\"");
        goto done;
    }
    if (!strcmp(d, "absorbing_state")) d = "mdlm";
    if (!strcmp(d, "uniform")) d = "udlm";
    if ((rc = diff_process_parse(d, &spec->proc)) < 0) goto done;
    const char *nz = json_string_value(json_object_get(root, "noise"));
    if (nz && (rc = diff_schedule_parse(nz, &spec->sched)) < 0) goto done;
    json_t *T = json_object_get(root, "T");
    if (T) {
        if (!json_is_integer(T) || json_integer_value(T) < 0 || json_integer_value(T) > 1000000) {
            rc = st_err(NULL, STRAND_E_FORMAT, "diffusion config: \"T\" must be an integer >= 0");
            goto done;
        }
        spec->T = (int)json_integer_value(T);
    }
    json_t *mk = json_object_get(root, "mask_id");
    spec->mask_id = spec->proc == DIFF_MASKED ? vocab - 1 : -1;
    if (mk) {
        if (!json_is_integer(mk) || json_integer_value(mk) < 0 || json_integer_value(mk) >= vocab) {
            rc = st_err(NULL, STRAND_E_FORMAT, "diffusion config: \"mask_id\" must be an id in [0, %d)", vocab);
            goto done;
        }
        spec->mask_id = (int)json_integer_value(mk);
    }
done:
    json_decref(root);
    return rc;
}

/* The strand.config keys every diffusion backbone writes (docs/diffusion.md "Model files"). */
static json_t *config_common_json(const char *kind, const diff_loss_spec *spec, int vocab, int model_length, int dim,
                                  int cond_dim, int depth, int time_cond, int num_classes)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "diffusion", json_string(diff_process_name(spec->proc)));
    json_object_set_new(o, "noise", json_string(diff_schedule_name(spec->sched.kind)));
    json_object_set_new(o, "T", json_integer(spec->T));
    if (spec->proc == DIFF_MASKED) json_object_set_new(o, "mask_id", json_integer(spec->mask_id));
    json_object_set_new(o, "vocab_size", json_integer(vocab));
    json_object_set_new(o, "model_length", json_integer(model_length));
    json_object_set_new(o, "hidden_dim", json_integer(dim));
    json_object_set_new(o, "cond_dim", json_integer(cond_dim));
    json_object_set_new(o, "n_blocks", json_integer(depth));
    json_object_set_new(o, "time_conditioning", json_boolean(time_cond));
    json_object_set_new(o, "cfg", json_boolean(num_classes > 0));
    json_object_set_new(o, "cfg_num_classes", json_integer(num_classes > 0 ? num_classes : -1));
    return o;
}

static char *dump_config(json_t *o)
{
    char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    return s;
}

char *diff_config_json(const dit_config *c, const diff_loss_spec *spec)
{
    json_t *o = config_common_json("dit", spec, c->vocab, c->model_length, c->dim, c->cond_dim, c->depth, c->time_cond,
                                   c->num_classes);
    json_object_set_new(o, "n_heads", json_integer(c->heads));
    return dump_config(o);
}

static char *dimamba_config_json(const dimamba_config *c, const diff_loss_spec *spec)
{
    return dump_config(config_common_json("dimamba", spec, c->vocab, c->model_length, c->dim, c->cond_dim, c->depth,
                                          c->time_cond, c->num_classes));
}

char *diff_model_config_json(const diff_model *m)
{
    return m->mw ? dimamba_config_json(&m->mw->cfg, &m->spec) : diff_config_json(&m->w->cfg, &m->spec);
}

int diff_config_is_dimamba(const char *json)
{
    json_t *root = json_loads(json, 0, NULL);
    const char *k = root ? json_string_value(json_object_get(root, "kind")) : NULL;
    int r = k && !strcmp(k, "dimamba");
    json_decref(root);
    return r;
}

/* ---- the backbone dispatch (docs/diffusion.md "Backbones") ---------------------------------------- */
diff_model_dims diff_model_get_dims(const diff_model *m)
{
    diff_model_dims d;
    if (m->mw) {
        const dimamba_config *c = &m->mw->cfg;
        d.vocab = c->vocab, d.num_classes = c->num_classes, d.time_cond = c->time_cond;
        d.model_length = (size_t)c->model_length;
    } else {
        const dit_config *c = &m->w->cfg;
        d.vocab = c->vocab, d.num_classes = c->num_classes, d.time_cond = c->time_cond;
        d.model_length = (size_t)c->model_length;
    }
    return d;
}

paramblock *diff_model_params(const diff_model *m) { return m->mw ? &m->mw->pb : &m->w->pb; }
const char *diff_model_backbone(const diff_model *m) { return m->mw ? "dimamba" : "dit"; }

/* logits of the backbone for ids with sigma (B) and labels (B; dropped without label conditioning) */
static int bb_forward(diff_model *m, const int32_t *ids, const float *sig, const int32_t *labels, size_t B, size_t L,
                      float *logits)
{
    if (m->mw) return dimamba_forward(m->mw, m->mctx, ids, NULL, sig, m->mw->cfg.num_classes ? labels : NULL, B, L, logits);
    return dit_forward(m->w, m->ctx, ids, NULL, sig, m->w->cfg.num_classes ? labels : NULL, B, L, logits);
}

static int bb_backward(diff_model *m, const float *dlogits, float *grads)
{
    if (m->mw) return dimamba_backward(m->mw, m->mctx, dlogits, NULL, grads);
    return dit_backward(m->w, m->ctx, dlogits, NULL, grads);
}

/* ---- files ------------------------------------------------------------------------------------ */
void diff_model_free(diff_model *net)
{
    if (!net) return;
    dit_ctx_free(net->ctx);
    dimamba_ctx_free(net->mctx);
    if (!net->borrowed) dit_weights_free(net->w), dimamba_weights_free(net->mw);
    memset(net, 0, sizeof *net);
}

int diff_model_wrap(diff_model *m, const dit_weights *w, const char *config_json)
{
    memset(m, 0, sizeof *m);
    if (!w || !config_json) return st_err(NULL, STRAND_E_UNSUPPORTED, "not a DiT diffusion model");
    int rc = diff_spec_from_json(&m->spec, config_json, w->cfg.vocab);
    if (rc < 0) return rc;
    m->w = (dit_weights *)w; /* read-only use: forward and loss never write the weights */
    m->borrowed = 1;
    if ((rc = dit_ctx_create(&m->ctx, &w->cfg)) < 0) diff_model_free(m);
    return rc;
}

int diff_model_wrap_dimamba(diff_model *m, const dimamba_weights *w, const char *config_json)
{
    memset(m, 0, sizeof *m);
    if (!w || !config_json || w->cfg.n_out) return st_err(NULL, STRAND_E_UNSUPPORTED, "not a DiMamba diffusion model");
    int rc = diff_spec_from_json(&m->spec, config_json, w->cfg.vocab);
    if (rc < 0) return rc;
    m->mw = (dimamba_weights *)w;
    m->borrowed = 1;
    if ((rc = dimamba_ctx_create(&m->mctx, &w->cfg, 1)) < 0) diff_model_free(m);
    return rc;
}

int diff_model_create(diff_model *net, const dit_config *cfg, const diff_loss_spec *spec)
{
    memset(net, 0, sizeof *net);
    if (spec) net->spec = *spec;
    int rc = dit_weights_create(&net->w, cfg, "backbone.");
    if (rc == 0) rc = dit_ctx_create(&net->ctx, &net->w->cfg);
    if (rc < 0) diff_model_free(net);
    return rc;
}

int diff_model_create_dimamba(diff_model *net, const dimamba_config *cfg, const diff_loss_spec *spec)
{
    memset(net, 0, sizeof *net);
    if (spec) net->spec = *spec;
    if (cfg->n_out) return st_err(NULL, STRAND_E_ARG, "DiMamba diffusion model: the LM head (num_outputs 0) is needed");
    int rc = dimamba_weights_create(&net->mw, cfg, "backbone.");
    if (rc == 0) rc = dimamba_ctx_create(&net->mctx, &net->mw->cfg, 1);
    if (rc < 0) diff_model_free(net);
    return rc;
}

int diff_model_load(diff_model *net, const char *path, strand_tokenizer **tok)
{
    memset(net, 0, sizeof *net);
    if (tok) *tok = NULL;
    model_files mp;
    sft_file *f = NULL;
    char *json = NULL;
    const char *wpath = mp.weights;
    int rc = model_path_open(path, &mp, &f, &json);
    if (rc < 0) goto done;
    if (diff_config_is_dimamba(json)) {
        dimamba_config mc = dimamba_default_config();
        if ((rc = dimamba_config_from_json(&mc, json)) < 0 || (rc = diff_spec_from_json(&net->spec, json, mc.vocab)) < 0) {
            st_err_prefix("%s", path);
            goto done;
        }
        mc.n_out = 0;
        if ((rc = dimamba_weights_create(&net->mw, &mc, "backbone.")) < 0 || (rc = dimamba_load(net->mw, f)) < 0 ||
            (rc = dimamba_ctx_create(&net->mctx, &net->mw->cfg, 1)) < 0) {
            st_err_prefix("%s", wpath);
            goto done;
        }
    } else {
        dit_config dc = dit_default_config();
        if ((rc = dit_config_from_json(&dc, json)) < 0) {
            st_err_prefix("%s", path);
            goto done;
        }
        if ((rc = diff_spec_from_json(&net->spec, json, dc.vocab)) < 0) {
            st_err_prefix("%s", path);
            goto done;
        }
        if ((rc = dit_weights_create(&net->w, &dc, "backbone.")) < 0 || (rc = dit_load(net->w, f)) < 0 ||
            (rc = dit_ctx_create(&net->ctx, &net->w->cfg)) < 0) {
            st_err_prefix("%s", wpath);
            goto done;
        }
    }
    if (tok && sft_meta_get(f, STRAND_TOKENIZER_META_KEY) && (rc = st_tokenizer_read_meta(tok, f, wpath)) < 0) goto done;
done:
    if (rc < 0) diff_model_free(net);
    sft_close(f);
    free(json);
    return rc;
}

int diff_model_save(const diff_model *net, const float *params, const strand_tokenizer *tok, const char *const *extra,
                  const char *path)
{
    return diff_model_save_json(net, params, NULL, tok, extra, path);
}

int diff_model_save_json(const diff_model *net, const float *params, const char *config_json, const strand_tokenizer *tok,
                         const char *const *extra, const char *path)
{
    sft_writer *w = sft_writer_create();
    if (!w) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    const paramblock *pb = diff_model_params(net);
    int rc = pb_save_data(pb, params ? params : pb->params, w, "");
    char *cfg = rc == 0 ? (config_json ? strdup(config_json) : diff_model_config_json(net)) : NULL;
    if (rc == 0 && !cfg) rc = st_err(NULL, STRAND_E_NOMEM, "%s: cannot format the config", path);
    if (rc == 0) rc = sft_writer_meta(w, CFG_META, cfg);
    if (rc == 0) rc = sft_writer_meta(w, "format", "pt");
    if (rc == 0 && tok) rc = st_tokenizer_write_meta(w, tok);
    for (size_t i = 0; rc == 0 && extra && extra[i] && extra[i + 1]; i += 2) rc = sft_writer_meta(w, extra[i], extra[i + 1]);
    if (rc == 0) rc = sft_writer_write(w, path);
    free(cfg);
    sft_writer_free(w);
    return rc;
}

/* ---- network calls ---------------------------------------------------------------------------- */
static int forward(diff_model *net, const int32_t *zt, const double *t, const int32_t *labels, size_t B, size_t L,
                   float *logits)
{
    float *sig = malloc(B * sizeof *sig);
    if (!sig) return st_err(NULL, STRAND_E_NOMEM, "diffusion: out of memory");
    int tc = diff_model_get_dims(net).time_cond;
    for (size_t b = 0; b < B; b++) sig[b] = diff_model_sigma(&net->spec.sched, t[b], tc);
    int rc = bb_forward(net, zt, sig, labels, B, L, logits);
    free(sig);
    return rc;
}

/* Sampler adapters: one for each backbone (read-only weights as self, a context per thread; the
 * DiT and DiMamba sampler contexts keep no backward activations). */
static int net_ctx_create(void *self, void **ctx)
{
    const dit_weights *w = self;
    dit_ctx *c = NULL;
    int rc = dit_ctx_create_inference(&c, &w->cfg);
    *ctx = c;
    return rc;
}

static void net_ctx_free(void *ctx) { dit_ctx_free(ctx); }

static int net_logits(void *self, void *ctx, const int32_t *ids, const float *sigma, const int32_t *labels, size_t B,
                      size_t L, float *out)
{
    const dit_weights *w = self;
    return dit_forward(w, ctx, ids, NULL, sigma, w->cfg.num_classes ? labels : NULL, B, L, out);
}

static int mnet_ctx_create(void *self, void **ctx)
{
    const dimamba_weights *w = self;
    dimamba_ctx *c = NULL;
    int rc = dimamba_ctx_create(&c, &w->cfg, 0);
    *ctx = c;
    return rc;
}

static void mnet_ctx_free(void *ctx) { dimamba_ctx_free(ctx); }

static int mnet_logits(void *self, void *ctx, const int32_t *ids, const float *sigma, const int32_t *labels, size_t B,
                       size_t L, float *out)
{
    const dimamba_weights *w = self;
    return dimamba_forward(w, ctx, ids, NULL, sigma, w->cfg.num_classes ? labels : NULL, B, L, out);
}

void diff_model_net(const diff_model *m, diff_net *net, diff_sampler_params *p)
{
    memset(net, 0, sizeof *net);
    diff_model_dims d = diff_model_get_dims(m);
    net->self = m->mw ? (void *)m->mw : (void *)m->w;
    net->vocab = d.vocab;
    net->num_classes = d.num_classes;
    net->time_cond = d.time_cond;
    net->max_len = d.model_length;
    net->ctx_create = m->mw ? mnet_ctx_create : net_ctx_create;
    net->ctx_free = m->mw ? mnet_ctx_free : net_ctx_free;
    net->logits = m->mw ? mnet_logits : net_logits;
    if (p) {
        p->proc = m->spec.proc;
        p->sched = m->spec.sched;
        p->mask_id = m->spec.mask_id;
    }
}

static int check_labels(const diff_model *net, const int32_t *labels, size_t B)
{
    if (!labels) return 0;
    int nc = diff_model_get_dims(net).num_classes;
    for (size_t b = 0; b < B; b++)
        if (labels[b] < 0 || labels[b] > nc)
            return st_err(NULL, STRAND_E_RANGE, "label %d of sequence %zu outside 0..%d (%d classes; %d = null label)",
                          labels[b], b, nc, nc, nc);
    return 0;
}

int diff_model_logits(diff_model *net, const int32_t *zt, const double *t, const int32_t *labels, size_t B, size_t L,
                    float *logits)
{
    int rc = check_labels(net, labels, B);
    return rc < 0 ? rc : forward(net, zt, t, labels, B, L, logits);
}

int diff_model_per_token(diff_model *net, const int32_t *x0, const int32_t *zt, const double *t, const int32_t *labels,
                       size_t B, size_t L, float *loss)
{
    if (L > diff_model_get_dims(net).model_length)
        return st_err(NULL, STRAND_E_SHAPE, "length %zu exceeds the model length %zu", L, diff_model_get_dims(net).model_length);
    float *logits = malloc(B * L * (size_t)net->spec.vocab * sizeof *logits);
    if (!logits) return st_err(NULL, STRAND_E_NOMEM, "diffusion: out of memory");
    int rc = diff_model_logits(net, zt, t, labels, B, L, logits);
    if (rc == 0) rc = diff_loss(&net->spec, logits, x0, zt, t, B, L, loss, NULL, 0.0f);
    free(logits);
    return rc;
}

int diff_nelbo(diff_model *net, const int32_t *ids, const int32_t *labels, size_t n, size_t L, int K, uint64_t seed,
               size_t batch, double *nelbo)
{
    if (K < 1 || batch < 1 || n < 1) return st_err(NULL, STRAND_E_ARG, "NELBO: %zu sequences, %d samples, batch %zu", n, K, batch);
    if (L > diff_model_get_dims(net).model_length)
        return st_err(NULL, STRAND_E_SHAPE, "length %zu exceeds the model length %zu", L, diff_model_get_dims(net).model_length);
    int rc = check_labels(net, labels, n);
    if (rc < 0) return rc;
    const diff_loss_spec *sp = &net->spec;
    size_t rows = n * (size_t)K;
    int32_t *x0 = malloc(batch * L * sizeof *x0), *zt = malloc(batch * L * sizeof *zt), *lab = malloc(batch * sizeof *lab);
    double *t = malloc(batch * sizeof *t);
    float *loss = malloc(batch * L * sizeof *loss);
    double *tk = malloc((size_t)K * sizeof *tk);
    if (!x0 || !zt || !lab || !t || !loss || !tk) rc = st_err(NULL, STRAND_E_NOMEM, "NELBO: out of memory");
    for (size_t i = 0; i < n; i++) nelbo[i] = 0;
    /* rows in order (i, k); each sequence's stream is its own RNG, so fill rows lazily */
    strand_rng rng;
    size_t cur_i = (size_t)-1;
    for (size_t r0 = 0; rc == 0 && r0 < rows; r0 += batch) {
        size_t nb = rows - r0 < batch ? rows - r0 : batch;
        /* the network always sees `batch` rows (a short last batch repeats its last row), so the
         * DiT's shape never changes under a trainer */
        for (size_t j = 0; j < batch; j++) {
            if (j >= nb) {
                memcpy(x0 + j * L, x0 + (nb - 1) * L, L * sizeof *x0);
                memcpy(zt + j * L, zt + (nb - 1) * L, L * sizeof *zt);
                t[j] = t[nb - 1];
                lab[j] = lab[nb - 1];
                continue;
            }
            size_t r = r0 + j, i = r / (size_t)K, k = r % (size_t)K;
            if (i != cur_i) {
                strand_rng_seed(&rng, seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(i + 1)));
                diff_sample_t(&rng, (size_t)K, 1, DIFF_T_EPS, tk);
                cur_i = i;
            }
            t[j] = diff_discretize_t(tk[k], sp->T);
            if (t[j] > 1.0) t[j] = 1.0;
            memcpy(x0 + j * L, ids + i * L, L * sizeof *x0);
            diff_corrupt(sp->proc, sp->vocab, sp->mask_id, diff_alpha(&sp->sched, t[j]), ids + i * L, L, &rng, zt + j * L);
            lab[j] = labels ? labels[i] : diff_model_get_dims(net).num_classes;
        }
        if ((rc = diff_model_per_token(net, x0, zt, t, lab, batch, L, loss)) < 0) break;
        for (size_t j = 0; j < nb; j++) {
            double s = 0;
            for (size_t l = 0; l < L; l++) s += loss[j * L + l];
            nelbo[(r0 + j) / (size_t)K] += s / K;
        }
    }
    free(x0), free(zt), free(lab), free(t), free(loss), free(tk);
    return rc;
}

/* ---- training --------------------------------------------------------------------------------- */
int diff_trainer_init(diff_trainer *tr, diff_model *net, size_t B, size_t L)
{
    memset(tr, 0, sizeof *tr);
    tr->net = net;
    tr->label_dropout = 0.1;
    tr->antithetic = 1;
    tr->B = B;
    tr->L = L;
    tr->val_samples = 1;
    size_t BL = B * L, V = (size_t)net->spec.vocab;
    tr->zt = malloc(BL * sizeof *tr->zt);
    tr->lab = malloc(B * sizeof *tr->lab);
    tr->t = malloc(B * sizeof *tr->t);
    tr->logits = malloc(BL * V * sizeof *tr->logits);
    tr->dlogits = malloc(BL * V * sizeof *tr->dlogits);
    tr->loss = malloc(BL * sizeof *tr->loss);
    if (!tr->zt || !tr->lab || !tr->t || !tr->logits || !tr->dlogits || !tr->loss) {
        diff_trainer_free(tr);
        return st_err(NULL, STRAND_E_NOMEM, "diffusion trainer: out of memory");
    }
    paramblock *pb = diff_model_params(net);
    if (!pb->grads) return pb_alloc_grads(pb);
    return 0;
}

void diff_trainer_free(diff_trainer *tr)
{
    if (!tr) return;
    free(tr->zt), free(tr->lab), free(tr->t), free(tr->logits), free(tr->dlogits), free(tr->loss);
    memset(tr, 0, sizeof *tr);
}

int diff_trainer_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                    float *loss_out)
{
    diff_trainer *tr = user;
    diff_model *net = tr->net;
    const diff_loss_spec *sp = &net->spec;
    if (B != tr->B || L != tr->L) return st_err(NULL, STRAND_E_SHAPE, "diffusion trainer: batch (%zu,%zu), built for (%zu,%zu)", B, L, tr->B, tr->L);
    diff_sample_t(rng, B, tr->antithetic, DIFF_T_EPS, tr->t);
    for (size_t b = 0; b < B; b++) {
        tr->t[b] = diff_discretize_t(tr->t[b], sp->T);
        if (tr->t[b] > 1.0) tr->t[b] = 1.0;
        diff_corrupt(sp->proc, sp->vocab, sp->mask_id, diff_alpha(&sp->sched, tr->t[b]), ids + b * L, L, rng, tr->zt + b * L);
    }
    const int nc = diff_model_get_dims(net).num_classes;
    for (size_t b = 0; b < B; b++) {
        int32_t y = labels && labels[b] >= 0 ? labels[b] : nc;
        if (y > nc) return st_err(NULL, STRAND_E_RANGE, "diffusion trainer: label %d outside 0..%d", y, nc);
        double u = strand_rng_uniform(rng);
        tr->lab[b] = u < tr->label_dropout ? nc : y;
    }
    int rc = forward(net, tr->zt, tr->t, tr->lab, B, L, tr->logits);
    if (rc < 0) return rc;
    size_t BL = B * L;
    memset(tr->dlogits, 0, BL * (size_t)sp->vocab * sizeof *tr->dlogits);
    if ((rc = diff_loss(sp, tr->logits, ids, tr->zt, tr->t, B, L, tr->loss, tr->dlogits, 1.0f / (float)BL)) < 0) return rc;
    double s = 0;
    for (size_t i = 0; i < BL; i++) s += tr->loss[i];
    *loss_out = (float)(s / (double)BL);
    return bb_backward(net, tr->dlogits, diff_model_params(net)->grads);
}

int diff_trainer_validate(void *user, float *val_loss)
{
    diff_trainer *tr = user;
    if (!tr->val || tr->val->n == 0) {
        *val_loss = NAN;
        return 0;
    }
    size_t n = tr->val_rows && tr->val_rows < tr->val->n ? tr->val_rows : tr->val->n;
    double *nl = malloc(n * sizeof *nl);
    if (!nl) return st_err(NULL, STRAND_E_NOMEM, "validation: out of memory");
    /* the null label for unlabelled sets; the true label otherwise (conditional NELBO) */
    int rc = diff_nelbo(tr->net, tr->val->ids, tr->val->labels, n, tr->val->L, tr->val_samples, tr->val_seed, tr->B, nl);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += nl[i];
    free(nl);
    *val_loss = (float)(s / ((double)n * (double)tr->val->L));
    return rc;
}
