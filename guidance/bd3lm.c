/* Block diffusion: 2L forward, per-block SUBS loss, NELBO, clipped-schedule search and the
 * training step (guidance/bd3lm.h, docs/bd3lm.md). */
#include "guidance/bd3lm.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_mask.h"
#include "core/error.h"
#include "core/model_path.h"

/* ---- config and files ------------------------------------------------------------------------- */
int bd3lm_block_from_json(const char *json, int *block)
{
    *block = 0;
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return st_err(NULL, STRAND_E_FORMAT, "BD3-LM config: invalid JSON at line %d: %s", je.line, je.text);
    }
    int rc = 0;
    json_t *b = json_object_get(root, "block_size"), *ml = json_object_get(root, "model_length");
    if (b) {
        json_int_t L = json_is_integer(ml) ? json_integer_value(ml) : 0;
        if (!json_is_integer(b) || json_integer_value(b) < 1 || (L > 0 && json_integer_value(b) > L))
            rc = st_err(NULL, STRAND_E_FORMAT, "BD3-LM config: \"block_size\" must be an integer in [1, model_length %lld]",
                        (long long)L);
        else *block = (int)json_integer_value(b);
    }
    json_decref(root);
    return rc;
}

char *bd3lm_config_json(const dit_config *cfg, const diff_loss_spec *spec, int block, double beta, double omega)
{
    char *base = diff_config_json(cfg, spec);
    if (!base) return NULL;
    json_t *o = json_loads(base, 0, NULL);
    free(base);
    if (!o) return NULL;
    json_object_set_new(o, "block_size", json_integer(block));
    json_object_set_new(o, "clip_beta", json_real(beta));
    json_object_set_new(o, "clip_omega", json_real(omega));
    char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    return s;
}

int bd3lm_probe(const char *path, int *block)
{
    model_files mp;
    sft_file *f = NULL;
    char *json = NULL;
    *block = 0;
    int rc = model_path_open(path, &mp, &f, &json);
    if (rc == 0) rc = bd3lm_block_from_json(json, block);
    sft_close(f);
    free(json);
    return rc;
}

int bd3lm_model_load(diff_model *net, int *block, const char *path, strand_tokenizer **tok)
{
    int rc = bd3lm_probe(path, block);
    if (rc < 0) return st_err_prefix("%s", path);
    if (*block == 0) return st_err(NULL, STRAND_E_UNSUPPORTED, "%s: not a BD3-LM model (no \"block_size\" in its config)", path);
    if ((rc = diff_model_load(net, path, tok)) < 0) return rc;
    if (!net->w) {
        diff_model_free(net);
        return st_err(NULL, STRAND_E_UNSUPPORTED, "%s: BD3-LM needs the DiT backbone", path);
    }
    if (net->spec.proc != DIFF_MASKED || net->w->cfg.time_cond || net->spec.T) {
        diff_model_free(net);
        return st_err(NULL, STRAND_E_FORMAT, "%s: a BD3-LM model must be masked, continuous-time and not time-conditioned",
                      path);
    }
    return 0;
}

/* ---- the 2L forward and the loss --------------------------------------------------------------- */
int bd3lm_fwd_init(bd3lm_fwd *f, const diff_model *net, size_t B, size_t L, size_t Lb)
{
    memset(f, 0, sizeof *f);
    if (!net->w) return st_err(NULL, STRAND_E_UNSUPPORTED, "BD3-LM: the block mask needs the DiT backbone");
    if (Lb < 1 || Lb > L || L > (size_t)net->w->cfg.model_length)
        return st_err(NULL, STRAND_E_ARG, "BD3-LM: block %zu and length %zu (model length %d): need 1 <= block <= length",
                      Lb, L, net->w->cfg.model_length);
    f->B = B, f->L = L, f->Lb = Lb, f->nb = (L + Lb - 1) / Lb;
    size_t N = (size_t)net->spec.vocab;
    f->in = malloc(B * 2 * L * sizeof *f->in);
    f->mask = malloc(4 * L * L * sizeof *f->mask);
    f->logits = malloc(B * 2 * L * N * sizeof *f->logits);
    if (!f->in || !f->mask || !f->logits) {
        bd3lm_fwd_free(f);
        return st_err(NULL, STRAND_E_NOMEM, "BD3-LM: out of memory for %zu x 2·%zu", B, L);
    }
    block_mask_train_additive(f->mask, L, Lb);
    return 0;
}

void bd3lm_fwd_free(bd3lm_fwd *f)
{
    if (!f) return;
    free(f->in), free(f->mask), free(f->logits);
    memset(f, 0, sizeof *f);
}

int bd3lm_forward(diff_model *net, bd3lm_fwd *f, const int32_t *zt, const int32_t *x0, const int32_t *labels)
{
    size_t B = f->B, L = f->L;
    for (size_t b = 0; b < B; b++) {
        memcpy(f->in + b * 2 * L, zt + b * L, L * sizeof *zt);
        memcpy(f->in + b * 2 * L + L, x0 + b * L, L * sizeof *x0);
    }
    dit_ctx *c = net->ctx;
    const float *old_mask = c->attn_mask;
    size_t old_period = c->rope_period;
    c->attn_mask = f->mask;
    c->rope_period = L;
    int rc = dit_forward(net->w, c, f->in, NULL, NULL, net->w->cfg.num_classes ? labels : NULL, B, 2 * L, f->logits);
    /* the context keeps its activations for dit_backward; the mask must stay alive until then
     * (it is f's), and other users of the context get their settings back */
    c->attn_mask = rc ? old_mask : f->mask;
    c->rope_period = rc ? old_period : L;
    return rc;
}

int bd3lm_loss(const diff_model *net, const bd3lm_fwd *f, const int32_t *x0, const int32_t *zt, const double *t,
               float *loss, float *dlogits, float dscale)
{
    size_t L = f->L, Lb = f->Lb, nb = f->nb, N = (size_t)net->spec.vocab;
    diff_loss_spec sp = net->spec;
    sp.T = 0;
    for (size_t b = 0; b < f->B; b++)
        for (size_t k = 0; k < nb; k++) {
            size_t l0 = k * Lb, n = l0 + Lb <= L ? Lb : L - l0;
            size_t off = (b * 2 * L + l0) * N;
            int rc = diff_loss(&sp, f->logits + off, x0 + b * L + l0, zt + b * L + l0, t + b * nb + k, 1, n,
                               loss + b * L + l0, dlogits ? dlogits + off : NULL, dscale);
            if (rc < 0) return rc;
        }
    return 0;
}

int bd3lm_per_token(diff_model *net, size_t Lb, const int32_t *x0, const int32_t *zt, const double *t,
                    const int32_t *labels, size_t B, size_t L, float *loss)
{
    bd3lm_fwd f;
    int rc = bd3lm_fwd_init(&f, net, B, L, Lb);
    if (rc == 0) rc = bd3lm_forward(net, &f, zt, x0, labels);
    if (rc == 0) rc = bd3lm_loss(net, &f, x0, zt, t, loss, NULL, 0.0f);
    net->ctx->attn_mask = NULL, net->ctx->rope_period = 0;
    bd3lm_fwd_free(&f);
    return rc;
}

/* ---- Monte-Carlo estimates ------------------------------------------------------------------------ */
static void seq_rng(strand_rng *rng, uint64_t seed, size_t i)
{
    strand_rng_seed(rng, seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(i + 1)));
}

/* Corrupt x0 (L) block by block at per-block times t (nb) into zt. */
static void corrupt_blocks(const diff_loss_spec *sp, const int32_t *x0, size_t L, size_t Lb, const double *t,
                           strand_rng *rng, int32_t *zt)
{
    for (size_t k = 0, l0 = 0; l0 < L; k++, l0 += Lb) {
        size_t n = l0 + Lb <= L ? Lb : L - l0;
        diff_corrupt(DIFF_MASKED, sp->vocab, sp->mask_id, diff_alpha(&sp->sched, t[k]), x0 + l0, n, rng, zt + l0);
    }
}

/* Rows r = (sequence i, sample k) in order, `batch` per forward (a short last batch repeats its
 * last row). fill(row, i, k, x0, zt, t) prepares a row; use(i, k, loss row) consumes it. */
typedef struct mc_job {
    diff_model *net;
    size_t Lb, L, nb, batch;
    const int32_t *labels;
    int (*fill)(void *u, size_t i, size_t k, int32_t *zt, double *t);
    void (*use)(void *u, size_t i, size_t k, const float *loss);
    void *u;
    const int32_t *ids;
} mc_job;

static int mc_run(mc_job *j, size_t rows, size_t K)
{
    size_t L = j->L, nb = j->nb, B = j->batch;
    bd3lm_fwd f;
    int rc = bd3lm_fwd_init(&f, j->net, B, L, j->Lb);
    if (rc < 0) return rc;
    int32_t *x0 = malloc(B * L * sizeof *x0), *zt = malloc(B * L * sizeof *zt), *lab = malloc(B * sizeof *lab);
    double *t = malloc(B * nb * sizeof *t);
    float *loss = malloc(B * L * sizeof *loss);
    if (!x0 || !zt || !lab || !t || !loss) rc = st_err(NULL, STRAND_E_NOMEM, "BD3-LM: out of memory");
    for (size_t r0 = 0; rc == 0 && r0 < rows; r0 += B) {
        size_t nr = rows - r0 < B ? rows - r0 : B;
        for (size_t q = 0; q < B && rc == 0; q++) {
            size_t r = r0 + (q < nr ? q : nr - 1), i = r / K, k = r % K;
            memcpy(x0 + q * L, j->ids + i * L, L * sizeof *x0);
            lab[q] = j->labels ? j->labels[i] : j->net->w->cfg.num_classes;
            if (q < nr) rc = j->fill(j->u, i, k, zt + q * L, t + q * nb);
            else memcpy(zt + q * L, zt + (nr - 1) * L, L * sizeof *zt), memcpy(t + q * nb, t + (nr - 1) * nb, nb * sizeof *t);
        }
        if (rc == 0) rc = bd3lm_forward(j->net, &f, zt, x0, lab);
        if (rc == 0) rc = bd3lm_loss(j->net, &f, x0, zt, t, loss, NULL, 0.0f);
        for (size_t q = 0; rc == 0 && q < nr; q++) j->use(j->u, (r0 + q) / K, (r0 + q) % K, loss + q * L);
    }
    j->net->ctx->attn_mask = NULL, j->net->ctx->rope_period = 0;
    free(x0), free(zt), free(lab), free(t), free(loss);
    bd3lm_fwd_free(&f);
    return rc;
}

typedef struct nelbo_state {
    const diff_loss_spec *sp;
    const int32_t *ids;
    size_t L, Lb, nb, K, cur;
    uint64_t seed;
    strand_rng rng;
    double *tk;     /* (nb, K) this sequence's times */
    double *nelbo;
} nelbo_state;

static int nelbo_fill(void *u, size_t i, size_t k, int32_t *zt, double *t)
{
    nelbo_state *s = u;
    if (i != s->cur) { /* a new sequence: its stream, its K stratified times per block */
        seq_rng(&s->rng, s->seed, i);
        for (size_t b = 0; b < s->nb; b++) diff_sample_t(&s->rng, s->K, 1, DIFF_T_EPS, s->tk + b * s->K);
        s->cur = i;
    }
    for (size_t b = 0; b < s->nb; b++) t[b] = s->tk[b * s->K + k];
    corrupt_blocks(s->sp, s->ids + i * s->L, s->L, s->Lb, t, &s->rng, zt);
    return 0;
}

static void nelbo_use(void *u, size_t i, size_t k, const float *loss)
{
    nelbo_state *s = u;
    double a = 0;
    for (size_t l = 0; l < s->L; l++) a += loss[l];
    s->nelbo[i] += a / (double)s->K;
    (void)k;
}

int bd3lm_nelbo(diff_model *net, size_t Lb, const int32_t *ids, const int32_t *labels, size_t n, size_t L, int K,
                uint64_t seed, size_t batch, double *nelbo)
{
    if (K < 1 || batch < 1 || n < 1) return st_err(NULL, STRAND_E_ARG, "BD3-LM NELBO: %zu sequences, %d samples, batch %zu", n, K, batch);
    nelbo_state s = {&net->spec, ids, L, Lb, (L + Lb - 1) / Lb, (size_t)K, (size_t)-1, seed, {{0}}, NULL, nelbo};
    s.tk = malloc(s.nb * (size_t)K * sizeof *s.tk);
    if (!s.tk) return st_err(NULL, STRAND_E_NOMEM, "BD3-LM NELBO: out of memory");
    for (size_t i = 0; i < n; i++) nelbo[i] = 0;
    mc_job j = {net, Lb, L, s.nb, batch, labels, nelbo_fill, nelbo_use, &s, ids};
    int rc = mc_run(&j, n * (size_t)K, (size_t)K);
    free(s.tk);
    return rc;
}

/* ---- clipped-schedule search ------------------------------------------------------------------------- */
size_t bd3lm_clip_candidates(const double *widths, size_t n_widths, double delta, double *cand)
{
    size_t n = 0;
    if (cand) cand[0] = DIFF_T_EPS, cand[1] = 1.0;
    n++;
    for (size_t w = 0; w < n_widths; w++)
        for (size_t s = 0;; s++) {
            double i = (double)s * delta;
            if (i + widths[w] > 1.0 + 1e-9) break;
            if (cand) {
                cand[2 * n] = i > DIFF_T_EPS ? i : DIFF_T_EPS;
                cand[2 * n + 1] = fmin(i + widths[w], 1.0);
            }
            n++;
            if (delta <= 0) break;
        }
    return n;
}

typedef struct clip_state {
    const diff_loss_spec *sp;
    const int32_t *ids;
    size_t L, Lb, nb;
    uint64_t seed;
    double beta, omega;
    double s1, s2; /* sums of the per-block losses and their squares */
    size_t cnt;
} clip_state;

static int clip_fill(void *u, size_t i, size_t k, int32_t *zt, double *t)
{
    clip_state *s = u;
    strand_rng rng;
    seq_rng(&rng, s->seed, i);
    for (size_t b = 0; b < s->nb; b++) t[b] = s->beta + (s->omega - s->beta) * strand_rng_uniform(&rng);
    corrupt_blocks(s->sp, s->ids + i * s->L, s->L, s->Lb, t, &rng, zt);
    (void)k;
    return 0;
}

static void clip_use(void *u, size_t i, size_t k, const float *loss)
{
    clip_state *s = u;
    for (size_t b = 0, l0 = 0; b < s->nb; b++, l0 += s->Lb) {
        size_t n = l0 + s->Lb <= s->L ? s->Lb : s->L - l0;
        double a = 0;
        for (size_t l = 0; l < n; l++) a += loss[l0 + l];
        a /= (double)n; /* the official per-block mean */
        s->s1 += a, s->s2 += a * a, s->cnt++;
    }
    (void)i, (void)k;
}

int bd3lm_clip_search(diff_model *net, size_t Lb, const int32_t *ids, const int32_t *labels, size_t n, size_t L,
                      const double *widths, size_t n_widths, double delta, uint64_t seed, size_t batch, double *beta,
                      double *omega, double *var, double *cand)
{
    size_t nc = bd3lm_clip_candidates(widths, n_widths, delta, NULL);
    double *cd = cand ? cand : malloc(2 * nc * sizeof *cd);
    if (!cd) return st_err(NULL, STRAND_E_NOMEM, "BD3-LM: out of memory");
    bd3lm_clip_candidates(widths, n_widths, delta, cd);
    double best = INFINITY;
    int rc = 0;
    for (size_t c = 0; c < nc && rc == 0; c++) {
        clip_state s = {&net->spec, ids, L, Lb, (L + Lb - 1) / Lb, seed, cd[2 * c], cd[2 * c + 1], 0, 0, 0};
        mc_job j = {net, Lb, L, s.nb, batch, labels, clip_fill, clip_use, &s, ids};
        rc = mc_run(&j, n, 1);
        double mean = s.s1 / (double)s.cnt, v = s.s2 / (double)s.cnt - mean * mean;
        if (s.cnt > 1) v *= (double)s.cnt / (double)(s.cnt - 1);
        if (var) var[c] = v;
        if (rc == 0 && v < best) best = v, *beta = cd[2 * c], *omega = cd[2 * c + 1];
    }
    if (!cand) free(cd);
    return rc;
}

/* ---- training ------------------------------------------------------------------------------------------ */
int bd3lm_trainer_init(bd3lm_trainer *tr, diff_model *net, size_t B, size_t L, size_t Lb)
{
    memset(tr, 0, sizeof *tr);
    if (!net->w) return st_err(NULL, STRAND_E_UNSUPPORTED, "BD3-LM trainer: the block mask needs the DiT backbone");
    if (net->w->cfg.time_cond || net->spec.proc != DIFF_MASKED || net->spec.T)
        return st_err(NULL, STRAND_E_ARG, "BD3-LM trainer: the model must be masked, continuous-time, not time-conditioned");
    int rc = diff_trainer_init(&tr->base, net, B, L);
    if (rc < 0) return rc;
    if ((rc = bd3lm_fwd_init(&tr->fwd, net, B, L, Lb)) < 0) {
        diff_trainer_free(&tr->base);
        return rc;
    }
    tr->Lb = Lb, tr->nb = tr->fwd.nb;
    tr->beta = DIFF_T_EPS, tr->omega = 1.0;
    tr->delta = 0.05;
    tr->dlogits = malloc(B * 2 * L * (size_t)net->spec.vocab * sizeof *tr->dlogits);
    tr->tb = malloc(B * tr->nb * sizeof *tr->tb);
    if (!tr->dlogits || !tr->tb) {
        bd3lm_trainer_free(tr);
        return st_err(NULL, STRAND_E_NOMEM, "BD3-LM trainer: out of memory");
    }
    return 0;
}

void bd3lm_trainer_free(bd3lm_trainer *tr)
{
    if (!tr) return;
    if (tr->base.net && tr->base.net->ctx) tr->base.net->ctx->attn_mask = NULL, tr->base.net->ctx->rope_period = 0;
    diff_trainer_free(&tr->base);
    bd3lm_fwd_free(&tr->fwd);
    free(tr->dlogits), free(tr->tb);
    memset(tr, 0, sizeof *tr);
}

static int run_search(bd3lm_trainer *tr)
{
    const diff_seqs *v = tr->base.val;
    if (!tr->n_widths || !v || !v->n) return 0;
    size_t n = tr->search_rows && tr->search_rows < v->n ? tr->search_rows : v->n;
    size_t nc = bd3lm_clip_candidates(tr->widths, tr->n_widths, tr->delta, NULL);
    double *var = malloc(nc * sizeof *var);
    if (!var) return st_err(NULL, STRAND_E_NOMEM, "BD3-LM: out of memory");
    double b = tr->beta, o = tr->omega;
    int rc = bd3lm_clip_search(tr->base.net, tr->Lb, v->ids, v->labels, n, v->L, tr->widths, tr->n_widths, tr->delta,
                               tr->base.val_seed ^ 0xC11Full, tr->base.B, &b, &o, var, NULL);
    if (rc == 0) {
        double best = INFINITY;
        for (size_t c = 0; c < nc; c++) best = fmin(best, var[c]);
        tr->beta = b, tr->omega = o;
        if (tr->on_search) tr->on_search(tr->on_search_user, b, o, best);
    }
    free(var);
    return rc;
}

int bd3lm_trainer_fb(void *user, const int32_t *ids, const int32_t *labels, size_t B, size_t L, strand_rng *rng,
                     float *loss_out)
{
    bd3lm_trainer *tr = user;
    diff_trainer *bt = &tr->base;
    diff_model *net = bt->net;
    const diff_loss_spec *sp = &net->spec;
    if (B != bt->B || L != bt->L)
        return st_err(NULL, STRAND_E_SHAPE, "BD3-LM trainer: batch (%zu,%zu), built for (%zu,%zu)", B, L, bt->B, bt->L);
    int rc;
    if (tr->search_on_first) {
        tr->search_on_first = 0;
        if ((rc = run_search(tr)) < 0) return rc;
    }
    size_t nb = tr->nb, BL = B * L;
    diff_sample_t(rng, B * nb, bt->antithetic, 0.0, tr->tb);
    for (size_t i = 0; i < B * nb; i++) tr->tb[i] = tr->beta + (tr->omega - tr->beta) * tr->tb[i];
    for (size_t b = 0; b < B; b++) corrupt_blocks(sp, ids + b * L, L, tr->Lb, tr->tb + b * nb, rng, bt->zt + b * L);
    const int nc = net->w->cfg.num_classes;
    for (size_t b = 0; b < B; b++) {
        int32_t y = labels && labels[b] >= 0 ? labels[b] : nc;
        if (y > nc) return st_err(NULL, STRAND_E_RANGE, "BD3-LM trainer: label %d outside 0..%d", y, nc);
        double u = strand_rng_uniform(rng);
        bt->lab[b] = u < bt->label_dropout ? nc : y;
    }
    if ((rc = bd3lm_forward(net, &tr->fwd, bt->zt, ids, bt->lab)) < 0) return rc;
    memset(tr->dlogits, 0, B * 2 * L * (size_t)sp->vocab * sizeof *tr->dlogits);
    if ((rc = bd3lm_loss(net, &tr->fwd, ids, bt->zt, tr->tb, bt->loss, tr->dlogits, 1.0f / (float)BL)) < 0) return rc;
    double s = 0;
    for (size_t i = 0; i < BL; i++) s += bt->loss[i];
    *loss_out = (float)(s / (double)BL);
    return dit_backward(net->w, net->ctx, tr->dlogits, NULL, net->w->pb.grads);
}

int bd3lm_trainer_validate(void *user, float *val_loss)
{
    bd3lm_trainer *tr = user;
    diff_trainer *bt = &tr->base;
    if (!bt->val || bt->val->n == 0) {
        *val_loss = NAN;
        return 0;
    }
    size_t n = bt->val_rows && bt->val_rows < bt->val->n ? bt->val_rows : bt->val->n;
    double *nl = malloc(n * sizeof *nl);
    if (!nl) return st_err(NULL, STRAND_E_NOMEM, "validation: out of memory");
    int rc = bd3lm_nelbo(bt->net, tr->Lb, bt->val->ids, bt->val->labels, n, bt->val->L, bt->val_samples, bt->val_seed,
                         bt->B, nl);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += nl[i];
    free(nl);
    *val_loss = (float)(s / ((double)n * (double)bt->val->L));
    if (rc == 0) rc = run_search(tr);
    return rc;
}
