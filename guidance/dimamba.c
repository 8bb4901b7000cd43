/* DiMamba (docs/dit.md "DiMamba"): BiMamba blocks with adaLN conditioning, LM or pooled classifier head.
 *   c = silu(TimestepMLP(sigma)) [+ silu(LabelTable[label])]
 *   layer i: x ← x + gate_i ⊙ BiMamba_i(RMSNorm_i(x)·(1 + scale_i) + shift_i)
 *   final:   f = RMSNorm_f(x)·(1 + scale_f) + shift_f;  LM: f·W_headᵀ;  classifier: mean_L(f)·Wᵀ + b */
#include "guidance/dimamba.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/adaln.h"
#include "core/backbone_config.h"
#include "core/embedding.h"
#include "core/gelu.h"
#include "core/linear.h"
#include "core/rmsnorm.h"
#include "core/timestep.h"

#define DIMAMBA_EPS 1e-5f

dimamba_config dimamba_default_config(void)
{
    dimamba_config c = {.vocab = 12, .dim = 128, .depth = 4, .cond_dim = 128, .time_cond = 1, .num_classes = 0,
                        .model_length = 128, .n_out = 0};
    return c;
}

int dimamba_config_from_json(dimamba_config *cfg, const char *json)
{
    const backbone_int_key ints[] = {
        {"vocab_size", &cfg->vocab, 1}, {"hidden_dim", &cfg->dim, 1}, {"n_blocks", &cfg->depth, 1},
        {"cond_dim", &cfg->cond_dim, 1}, {"model_length", &cfg->model_length, 1}, {"num_outputs", &cfg->n_out, 0}};
    return backbone_config_read(json, "DiMamba", ints, sizeof ints / sizeof ints[0], &cfg->time_cond, &cfg->num_classes);
}

static int check_config(const dimamba_config *c)
{
    if (c->vocab <= 0 || c->dim <= 0 || c->depth <= 0 || c->cond_dim <= 0 || c->model_length <= 0 ||
        c->num_classes < 0 || c->n_out < 0)
        return st_err(NULL, STRAND_E_ARG,
                      "DiMamba config: vocab %d, dim %d, depth %d, cond_dim %d, model_length %d must be > 0, "
                      "num_classes %d and num_outputs %d >= 0",
                      c->vocab, c->dim, c->depth, c->cond_dim, c->model_length, c->num_classes, c->n_out);
    return 0;
}

static int add(dimamba_weights *m, const char *mid, const char *name, int ndim, int64_t a, int64_t b, int decay)
{
    char nm[PB_NAME_MAX];
    int k = snprintf(nm, sizeof nm, "%s%s%s", m->prefix, mid, name);
    if (k < 0 || (size_t)k >= sizeof nm) return st_err(NULL, STRAND_E_ARG, "DiMamba: parameter name too long");
    int64_t shape[2] = {a, b};
    return pb_add(&m->pb, nm, ndim, shape, decay);
}

int dimamba_weights_create(dimamba_weights **out, const dimamba_config *cfg, const char *prefix)
{
    *out = NULL;
    int rc = check_config(cfg);
    if (rc) return rc;
    if (!prefix) prefix = cfg->n_out ? "classifier_model." : "backbone.";
    if (strlen(prefix) >= sizeof(((dimamba_weights *)0)->prefix))
        return st_err(NULL, STRAND_E_ARG, "DiMamba: prefix \"%.40s...\" too long", prefix);
    dimamba_weights *m = calloc(1, sizeof *m);
    if (!m) return st_err(NULL, STRAND_E_NOMEM, "DiMamba: out of memory");
    m->cfg = *cfg;
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    mamba_dims_default(&m->md, (size_t)cfg->dim);
    pb_init(&m->pb);
    m->ly = calloc((size_t)cfg->depth, sizeof *m->ly);
    if (!m->ly) {
        free(m);
        return st_err(NULL, STRAND_E_NOMEM, "DiMamba: out of memory");
    }
    int64_t N = cfg->vocab, D = cfg->dim, C = cfg->cond_dim;
    const char *trunk = cfg->n_out ? "model.backbone." : "model.bimamba.backbone.";
    m->p_label = m->p_headb = -1;
#define ADD(var, mid, name, nd, a, b, decay)                                                                 \
    do {                                                                                                     \
        if ((rc = add(m, mid, name, nd, a, b, decay)) < 0) goto fail;                                        \
        var = rc;                                                                                            \
    } while (0)
    ADD(m->p_s0w, "", "sigma_map.mlp.0.weight", 2, C, TIMESTEP_FREQ_DIM, 1);
    ADD(m->p_s0b, "", "sigma_map.mlp.0.bias", 1, C, 0, 0);
    ADD(m->p_s2w, "", "sigma_map.mlp.2.weight", 2, C, C, 1);
    ADD(m->p_s2b, "", "sigma_map.mlp.2.bias", 1, C, 0, 0);
    if (cfg->num_classes > 0) ADD(m->p_label, "", "cond_map.embedding_table.weight", 2, cfg->num_classes + 1, C, 0);
    ADD(m->p_embed, trunk, "embeddings.word_embeddings.weight", 2, N, D, 0);
    for (int i = 0; i < cfg->depth; i++) {
        dimamba_layer_params *ly = &m->ly[i];
        char pre[PB_NAME_MAX], nm[96];
        snprintf(pre, sizeof pre, "%s%slayers.%d.mixer.mamba_fwd.", m->prefix, trunk, i);
        if ((rc = mamba_declare(&m->pb, pre, &m->md, 1, ly->fwd)) < 0) goto fail;
        snprintf(pre, sizeof pre, "%s%slayers.%d.mixer.mamba_rev.", m->prefix, trunk, i);
        if ((rc = mamba_declare(&m->pb, pre, &m->md, 0, ly->rev)) < 0) goto fail;
        snprintf(nm, sizeof nm, "layers.%d.norm.weight", i);
        ADD(ly->norm, trunk, nm, 1, D, 0, 0);
        snprintf(nm, sizeof nm, "layers.%d.adaLN_modulation.weight", i);
        ADD(ly->adaw, trunk, nm, 2, 3 * D, C, 1);
        snprintf(nm, sizeof nm, "layers.%d.adaLN_modulation.bias", i);
        ADD(ly->adab, trunk, nm, 1, 3 * D, 0, 0);
    }
    ADD(m->p_fadaw, trunk, "adaLN_modulation_final.weight", 2, 2 * D, C, 1);
    ADD(m->p_fadab, trunk, "adaLN_modulation_final.bias", 1, 2 * D, 0, 0);
    ADD(m->p_fnorm, trunk, "norm_f.weight", 1, D, 0, 0);
    if (cfg->n_out) {
        ADD(m->p_head, "", "output_layer.weight", 2, cfg->n_out, D, 1);
        ADD(m->p_headb, "", "output_layer.bias", 1, cfg->n_out, 0, 0);
    } else {
        ADD(m->p_head, "", "model.lm_head.weight", 2, N, D, 1);
    }
#undef ADD
    if ((rc = pb_alloc_params(&m->pb)) < 0) goto fail;
    for (int i = 0; i < cfg->depth; i++) {
        dimamba_layer_params *ly = &m->ly[i];
        mamba_bind(&ly->w.fwd, NULL, &m->pb, ly->fwd);
        mamba_bind(&ly->w.rev, NULL, &m->pb, ly->rev);
        ly->w.rev.p[MAMBA_IN_PROJ] = ly->w.fwd.p[MAMBA_IN_PROJ]; /* tied (docs/mamba.md "BiMamba") */
        ly->w.rev.p[MAMBA_OUT_PROJ] = ly->w.fwd.p[MAMBA_OUT_PROJ];
    }
    *out = m;
    return 0;
fail:
    dimamba_weights_free(m);
    return rc;
}

void dimamba_weights_free(dimamba_weights *m)
{
    if (!m) return;
    pb_free(&m->pb);
    free(m->ly);
    free(m);
}

static void fill_uniform(float *p, size_t n, float bound, strand_rng *rng)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)((2.0 * strand_rng_uniform(rng) - 1.0) * bound);
}

static void fill_const(float *p, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) p[i] = v;
}

void dimamba_init_weights(dimamba_weights *m, strand_rng *rng)
{
    paramblock *pb = &m->pb;
    memset(pb->params, 0, pb->total * sizeof(float)); /* biases and every adaLN Linear stay 0 */
    const dimamba_config *c = &m->cfg;
    float *E = pb_param(pb, m->p_embed);
    for (size_t i = 0; i < pb->entries[m->p_embed].numel; i++) E[i] = (float)(0.02 * strand_rng_normal(rng));
    if (m->p_label >= 0) {
        float *p = pb_param(pb, m->p_label);
        for (size_t i = 0; i < pb->entries[m->p_label].numel; i++) p[i] = (float)(0.02 * strand_rng_normal(rng));
    }
    fill_uniform(pb_param(pb, m->p_s0w), pb->entries[m->p_s0w].numel, 1.0f / sqrtf((float)TIMESTEP_FREQ_DIM), rng);
    fill_uniform(pb_param(pb, m->p_s2w), pb->entries[m->p_s2w].numel, 1.0f / sqrtf((float)c->cond_dim), rng);
    for (int i = 0; i < c->depth; i++) {
        dimamba_layer_params *ly = &m->ly[i];
        mamba_init(&ly->w.fwd, &m->md, c->depth, rng);
        mamba_params rev = ly->w.rev;
        rev.p[MAMBA_IN_PROJ] = rev.p[MAMBA_OUT_PROJ] = NULL; /* tied: initialised once */
        mamba_init(&rev, &m->md, c->depth, rng);
        fill_const(pb_param(pb, ly->norm), (size_t)c->dim, 1.0f);
    }
    fill_const(pb_param(pb, m->p_fnorm), (size_t)c->dim, 1.0f);
    fill_uniform(pb_param(pb, m->p_head), pb->entries[m->p_head].numel, 1.0f / sqrtf((float)c->dim), rng);
}

int dimamba_load(dimamba_weights *m, const sft_file *f)
{
    int rc = pb_load(&m->pb, f, "");
    return rc ? st_err_prefix("DiMamba") : 0;
}

/* ---- run context ---------------------------------------------------------------------------------- */
static void layout_acts(dimamba_ctx *m, arena *cv)
{
    size_t B = m->B, L = m->L, BL = B * L, D = (size_t)m->cfg.dim, C = (size_t)m->cfg.cond_dim;
    size_t depth = (size_t)m->cfg.depth, nba = m->backward ? depth : 1;
    m->x = arena_take(cv, (depth + 1) * BL * D);
    m->rstd = arena_take(cv, depth * BL);
    m->nrm = arena_take(cv, depth * BL * D);
    m->h = arena_take(cv, depth * BL * D);
    m->y = arena_take(cv, depth * BL * D);
    m->mod = arena_take(cv, depth * B * 3 * D);
    for (size_t i = 0; i < nba; i++) {
        bimamba_acts a;
        bimamba_acts_layout(&a, cv, &m->md, B, L, m->backward);
        if (cv->base) m->ba[i] = a;
    }
    m->freq = arena_take(cv, B * TIMESTEP_FREQ_DIM);
    m->sh = arena_take(cv, B * C);
    m->sa = arena_take(cv, B * C);
    m->temb = arena_take(cv, B * C);
    m->lemb = arena_take(cv, B * C);
    m->c = arena_take(cv, B * C);
    m->sig = arena_take(cv, B);
    m->rstdf = arena_take(cv, BL);
    m->nf = arena_take(cv, BL * D);
    m->hf = arena_take(cv, BL * D);
    m->modf = arena_take(cv, B * 2 * D);
    m->pool = arena_take(cv, B * D);
}

typedef struct grad_bufs { float *dx, *dn, *dh, *dy, *dmod, *dc, *dt1, *dt2, *dpool, *bscr; } grad_bufs;
static void layout_grads(const dimamba_ctx *m, arena *cv, grad_bufs *g)
{
    size_t B = m->B, L = m->L, BL = B * L, D = (size_t)m->cfg.dim, C = (size_t)m->cfg.cond_dim;
    g->dx = arena_take(cv, BL * D);
    g->dn = arena_take(cv, BL * D);
    g->dh = arena_take(cv, BL * D);
    g->dy = arena_take(cv, BL * D);
    g->dmod = arena_take(cv, B * 3 * D);
    g->dc = arena_take(cv, B * C);
    g->dt1 = arena_take(cv, B * C);
    g->dt2 = arena_take(cv, B * C);
    g->dpool = arena_take(cv, B * D);
    g->bscr = arena_take(cv, bimamba_backward_scratch_floats(&m->md, B, L));
}

int dimamba_ctx_create(dimamba_ctx **out, const dimamba_config *cfg, int backward)
{
    *out = NULL;
    int rc = check_config(cfg);
    if (rc) return rc;
    dimamba_ctx *c = calloc(1, sizeof *c);
    if (!c) return st_err(NULL, STRAND_E_NOMEM, "DiMamba: out of memory");
    c->cfg = *cfg;
    c->backward = backward != 0;
    mamba_dims_default(&c->md, (size_t)cfg->dim);
    c->ba = calloc(c->backward ? (size_t)cfg->depth : 1, sizeof *c->ba);
    if (!c->ba) {
        free(c);
        return st_err(NULL, STRAND_E_NOMEM, "DiMamba: out of memory");
    }
    *out = c;
    return 0;
}

void dimamba_ctx_free(dimamba_ctx *c)
{
    if (!c) return;
    arena_block_free(&c->acts);
    arena_block_free(&c->grad_acts);
    arena_block_free(&c->pgrad);
    free(c->ba);
    free(c->ids);
    free(c->labels);
    free(c);
}

int dimamba_ctx_reserve(dimamba_ctx *m, size_t B, size_t L)
{
    if (m->B && B == m->B && L == m->L) return 0;
    m->have_forward = 0;
    if (B == 0 || L == 0 || L > (size_t)m->cfg.model_length)
        return st_err(&m->err, STRAND_E_SHAPE, "DiMamba: batch %zu x length %zu: need B >= 1 and 1 <= L <= %d", B, L,
                      m->cfg.model_length);
    m->B = B;
    m->L = L;
    arena cv = arena_count(), cg = arena_count();
    layout_acts(m, &cv);
    grad_bufs g;
    if (m->backward) layout_grads(m, &cg, &g);
    int rc = 0;
    if (B * L > m->cap_ids) {
        free(m->ids);
        m->ids = calloc(B * L, sizeof *m->ids);
        m->cap_ids = m->ids ? B * L : 0;
        if (!m->ids) rc = STRAND_E_NOMEM;
    }
    if (!rc && B > m->cap_labels) {
        free(m->labels);
        m->labels = calloc(B, sizeof *m->labels);
        m->cap_labels = m->labels ? B : 0;
        if (!m->labels) rc = STRAND_E_NOMEM;
    }
    if (!rc && (arena_block_reserve(&m->acts, cv.used) < 0 ||
                (m->backward && arena_block_reserve(&m->grad_acts, cg.used) < 0)))
        rc = STRAND_E_NOMEM;
    if (rc) {
        m->B = m->L = 0;
        return st_err(&m->err, STRAND_E_NOMEM, "DiMamba: cannot allocate %zu + %zu floats of activations for %zu x %zu",
                      cv.used, cg.used, B, L);
    }
    cv = arena_on(m->acts.p);
    layout_acts(m, &cv);
    return 0;
}

size_t dimamba_ctx_floats(const dimamba_config *cfg, size_t B, size_t L, int backward)
{
    dimamba_ctx c;
    memset(&c, 0, sizeof c);
    c.cfg = *cfg, c.backward = backward != 0, c.B = B, c.L = L;
    mamba_dims_default(&c.md, (size_t)cfg->dim);
    arena cv = arena_count(), cg = arena_count();
    layout_acts(&c, &cv);
    grad_bufs g;
    if (c.backward) layout_grads(&c, &cg, &g);
    return cv.used + cg.used;
}

static int same_dims(const dimamba_config *a, const dimamba_config *b)
{
    return a->vocab == b->vocab && a->dim == b->dim && a->depth == b->depth && a->cond_dim == b->cond_dim &&
           a->num_classes == b->num_classes && a->time_cond == b->time_cond && a->model_length == b->model_length &&
           a->n_out == b->n_out;
}

/* ---- forward ------------------------------------------------------------------------------------------- */
int dimamba_forward(const dimamba_weights *w, dimamba_ctx *m, const int32_t *ids, const float *soft,
                    const float *sigma, const int32_t *labels, size_t B, size_t L, float *out)
{
    m->have_forward = 0;
    if (!same_dims(&w->cfg, &m->cfg))
        return st_err(&m->err, STRAND_E_ARG, "DiMamba forward: the context was made for other dimensions than the weights");
    if ((ids == NULL) == (soft == NULL))
        return st_err(&m->err, STRAND_E_ARG, "DiMamba forward: give exactly one of ids and soft input");
    int rc = dimamba_ctx_reserve(m, B, L);
    if (rc) return rc;
    const paramblock *pb = &w->pb;
    const dimamba_config *cf = &m->cfg;
    size_t BL = B * L, N = (size_t)cf->vocab, D = (size_t)cf->dim, C = (size_t)cf->cond_dim;
    if (ids) {
        if ((rc = embedding_forward(m->x, ids, pb_param(pb, w->p_embed), BL, N, D)) != 0) {
            st_err_capture(&m->err);
            return st_err_prefix("DiMamba forward");
        }
        memcpy(m->ids, ids, BL * sizeof *ids);
        m->soft = NULL;
    } else {
        embedding_soft_forward(m->x, soft, pb_param(pb, w->p_embed), BL, N, D);
        m->soft = soft;
    }
    /* conditioning c (B,C), as the DiT (docs/dit.md "Noise and label conditioning") */
    for (size_t b = 0; b < B; b++) m->sig[b] = (cf->time_cond && sigma) ? sigma[b] : 0.0f;
    timestep_forward(m->temb, m->freq, m->sh, m->sa, m->sig, pb_param(pb, w->p_s0w), pb_param(pb, w->p_s0b),
                     pb_param(pb, w->p_s2w), pb_param(pb, w->p_s2b), B, C);
    silu_forward(m->c, m->temb, B * C);
    if (cf->num_classes > 0) {
        for (size_t b = 0; b < B; b++) {
            int32_t y = labels ? labels[b] : cf->num_classes;
            if (y < 0 || y > cf->num_classes)
                return st_err(&m->err, STRAND_E_RANGE,
                              "DiMamba forward: label %d of sequence %zu is outside [0, %d] (%d = null label)", (int)y,
                              b, cf->num_classes, cf->num_classes);
            m->labels[b] = y;
        }
        embedding_forward(m->lemb, m->labels, pb_param(pb, w->p_label), B, (size_t)cf->num_classes + 1, C);
        for (size_t i = 0; i < B * C; i++) {
            float v = m->lemb[i];
            m->c[i] += v / (1.0f + expf(-v));
        }
    }
    for (int i = 0; i < cf->depth; i++) {
        const dimamba_layer_params *p = &w->ly[i];
        const float *xin = m->x + (size_t)i * BL * D;
        float *xout = m->x + (size_t)(i + 1) * BL * D;
        float *nrm = m->nrm + (size_t)i * BL * D, *h = m->h + (size_t)i * BL * D, *y = m->y + (size_t)i * BL * D;
        float *mod = m->mod + (size_t)i * B * 3 * D, *rstd = m->rstd + (size_t)i * BL;
        linear_forward(mod, m->c, pb_param(pb, p->adaw), pb_param(pb, p->adab), B, C, 3 * D);
        rmsnorm_forward(nrm, rstd, xin, pb_param(pb, p->norm), BL, D, DIMAMBA_EPS);
        adaln_modulate_forward(h, nrm, mod, mod + D, 3 * D, B, L, D);
        bimamba_forward(y, &m->ba[m->backward ? i : 0], h, &p->w, &w->md, B, L);
        adaln_gate_forward(xout, xin, y, mod + 2 * D, 3 * D, B, L, D);
    }
    const float *xl = m->x + (size_t)cf->depth * BL * D;
    linear_forward(m->modf, m->c, pb_param(pb, w->p_fadaw), pb_param(pb, w->p_fadab), B, C, 2 * D);
    rmsnorm_forward(m->nf, m->rstdf, xl, pb_param(pb, w->p_fnorm), BL, D, DIMAMBA_EPS);
    adaln_modulate_forward(m->hf, m->nf, m->modf, m->modf + D, 2 * D, B, L, D);
    if (cf->n_out) {
        for (size_t b = 0; b < B; b++) {
            float *pl = m->pool + b * D;
            memset(pl, 0, D * sizeof *pl);
            for (size_t l = 0; l < L; l++) {
                const float *f = m->hf + (b * L + l) * D;
                for (size_t j = 0; j < D; j++) pl[j] += f[j];
            }
            for (size_t j = 0; j < D; j++) pl[j] /= (float)L;
        }
        linear_forward(out, m->pool, pb_param(pb, w->p_head), pb_param(pb, w->p_headb), B, D, (size_t)cf->n_out);
    } else {
        linear_forward(out, m->hf, pb_param(pb, w->p_head), NULL, BL, D, N);
    }
    m->have_forward = 1;
    return 0;
}

/* ---- backward -------------------------------------------------------------------------------------------- */
int dimamba_backward(const dimamba_weights *w, dimamba_ctx *m, const float *dout, float *dsoft, float *grads)
{
    if (!m->have_forward) return st_err(&m->err, STRAND_E_ARG, "DiMamba backward: no forward to differentiate");
    if (!m->backward)
        return st_err(&m->err, STRAND_E_ARG, "DiMamba backward: the context was made for inference (backward = 0)");
    if (!same_dims(&w->cfg, &m->cfg))
        return st_err(&m->err, STRAND_E_ARG, "DiMamba backward: the context was made for other dimensions than the weights");
    const paramblock *pb = &w->pb;
    if (!grads) {
        if (arena_block_reserve(&m->pgrad, pb->total) < 0) {
            st_err_capture(&m->err);
            return STRAND_E_NOMEM;
        }
        grads = m->pgrad.p;
        memset(grads, 0, pb->total * sizeof(float));
    }
    const dimamba_config *cf = &m->cfg;
    size_t B = m->B, L = m->L, BL = B * L, N = (size_t)cf->vocab, D = (size_t)cf->dim, C = (size_t)cf->cond_dim;
    grad_bufs g;
    arena cg = arena_on(m->grad_acts.p);
    layout_grads(m, &cg, &g);
    size_t nD = BL * D * sizeof(float);
#define G(idx) (grads + pb->entries[idx].offset)
#define P(idx) pb_param(pb, idx)
    /* head → dh (gradient of the final features hf) */
    memset(g.dh, 0, nD);
    if (cf->n_out) {
        memset(g.dpool, 0, B * D * sizeof(float));
        linear_backward(g.dpool, G(w->p_head), G(w->p_headb), dout, m->pool, P(w->p_head), B, D, (size_t)cf->n_out);
        for (size_t b = 0; b < B; b++)
            for (size_t l = 0; l < L; l++) {
                float *d = g.dh + (b * L + l) * D;
                for (size_t j = 0; j < D; j++) d[j] = g.dpool[b * D + j] / (float)L;
            }
    } else {
        linear_backward(g.dh, G(w->p_head), NULL, dout, m->hf, P(w->p_head), BL, D, N);
    }
    /* final adaLN + RMSNorm */
    memset(g.dmod, 0, B * 3 * D * sizeof(float));
    memset(g.dn, 0, nD);
    adaln_modulate_backward(g.dn, g.dmod, g.dmod + D, g.dh, m->nf, m->modf + D, 2 * D, B, L, D);
    memset(g.dx, 0, nD);
    const float *xl = m->x + (size_t)cf->depth * BL * D;
    rmsnorm_backward(g.dx, G(w->p_fnorm), g.dn, xl, P(w->p_fnorm), m->rstdf, BL, D);
    memset(g.dc, 0, B * C * sizeof(float));
    linear_backward(g.dc, G(w->p_fadaw), G(w->p_fadab), g.dmod, m->c, P(w->p_fadaw), B, C, 2 * D);
    /* layers, last to first; g.dx holds ∂/∂(residual stream) */
    for (int i = cf->depth - 1; i >= 0; i--) {
        const dimamba_layer_params *p = &w->ly[i];
        const float *xin = m->x + (size_t)i * BL * D;
        const float *nrm = m->nrm + (size_t)i * BL * D, *h = m->h + (size_t)i * BL * D, *y = m->y + (size_t)i * BL * D;
        const float *mod = m->mod + (size_t)i * B * 3 * D, *rstd = m->rstd + (size_t)i * BL;
        memset(g.dmod, 0, B * 3 * D * sizeof(float));
        memset(g.dy, 0, nD);
        adaln_gate_backward(NULL, g.dy, g.dmod + 2 * D, g.dx, y, mod + 2 * D, 3 * D, B, L, D);
        bimamba_params gp; /* views of grads; rev's tied in/out stay NULL (fwd's slots get both) */
        memset(&gp, 0, sizeof gp);
        for (int k = 0; k < MAMBA_NPARAM; k++) {
            if (p->fwd[k] >= 0) gp.fwd.p[k] = G(p->fwd[k]);
            if (p->rev[k] >= 0) gp.rev.p[k] = G(p->rev[k]);
        }
        memset(g.dh, 0, nD);
        int rc = bimamba_backward(g.dh, &gp, g.dy, h, &m->ba[i], &p->w, &w->md, B, L, g.bscr);
        if (rc < 0) {
            st_err_capture(&m->err);
            return rc;
        }
        memset(g.dn, 0, nD);
        adaln_modulate_backward(g.dn, g.dmod, g.dmod + D, g.dh, nrm, mod + D, 3 * D, B, L, D);
        rmsnorm_backward(g.dx, G(p->norm), g.dn, xin, P(p->norm), rstd, BL, D);
        linear_backward(g.dc, G(p->adaw), G(p->adab), g.dmod, m->c, P(p->adaw), B, C, 3 * D);
    }
    if (m->soft) embedding_soft_backward(dsoft, G(w->p_embed), g.dx, m->soft, P(w->p_embed), BL, N, D);
    else embedding_backward(G(w->p_embed), g.dx, m->ids, BL, D);
    memset(g.dt1, 0, B * C * sizeof(float));
    silu_backward(g.dt1, m->temb, g.dc, B * C);
    timestep_backward(G(w->p_s0w), G(w->p_s0b), G(w->p_s2w), G(w->p_s2b), g.dt2, g.dt1, m->freq, m->sh, m->sa,
                      P(w->p_s2w), B, C);
    if (cf->num_classes > 0) {
        memset(g.dt1, 0, B * C * sizeof(float));
        silu_backward(g.dt1, m->lemb, g.dc, B * C);
        embedding_backward(G(w->p_label), g.dt1, m->labels, B, C);
    }
#undef G
#undef P
    return 0;
}
