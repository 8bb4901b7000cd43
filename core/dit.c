/* DiT backbone (docs/dit.md). Block (pre-norm, adaLN-Zero), with (shift1, scale1, gate1, shift2,
 * scale2, gate2) = Linear(c):
 *   h = LN(x)(1+scale1)+shift1; x += gate1·Attn(h); h = LN(x)(1+scale2)+shift2; x += gate2·MLP(h)
 * Final: logits = Linear(LN(x)(1+scale)+shift), (shift, scale) = Linear(c).
 * c = silu(TimestepMLP(sigma)) [+ silu(LabelTable[label])]. */
#include "core/dit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/adaln.h"
#include "core/arena.h"
#include "core/attention.h"
#include "core/backbone_config.h"
#include "core/embedding.h"
#include "core/gelu.h"
#include "core/layernorm.h"
#include "core/linear.h"
#include "core/mlp.h"
#include "core/timestep.h"

#define DIT_LN_EPS 1e-5f
#define DIT_ROPE_BASE 10000.0f

dit_config dit_default_config(void)
{
    dit_config c = {.vocab = 12, .dim = 256, .depth = 6, .heads = 4, .cond_dim = 128, .time_cond = 1,
                    .num_classes = 0, .model_length = 128};
    return c;
}

int dit_config_from_json(dit_config *cfg, const char *json)
{
    const backbone_int_key ints[] = {
        {"vocab_size", &cfg->vocab, 1}, {"hidden_dim", &cfg->dim, 1}, {"n_blocks", &cfg->depth, 1},
        {"n_heads", &cfg->heads, 1}, {"cond_dim", &cfg->cond_dim, 1}, {"model_length", &cfg->model_length, 1}};
    return backbone_config_read(json, "DiT", ints, sizeof ints / sizeof ints[0], &cfg->time_cond, &cfg->num_classes);
}

static int check_config(const dit_config *c)
{
    if (c->vocab <= 0 || c->dim <= 0 || c->depth <= 0 || c->heads <= 0 || c->cond_dim <= 0 ||
        c->model_length <= 0 || c->num_classes < 0)
        return st_err(NULL, STRAND_E_ARG,
                      "DiT config: vocab %d, dim %d, depth %d, heads %d, cond_dim %d, model_length %d must be > 0 "
                      "and num_classes %d >= 0",
                      c->vocab, c->dim, c->depth, c->heads, c->cond_dim, c->model_length, c->num_classes);
    if (c->dim % c->heads != 0 || (c->dim / c->heads) % 2 != 0)
        return st_err(NULL, STRAND_E_ARG, "DiT config: dim %d must split into %d heads of even size", c->dim,
                      c->heads);
    return 0;
}

static int add(dit_weights *m, const char *name, int ndim, int64_t a, int64_t b, int decay)
{
    char nm[PB_NAME_MAX];
    int k = snprintf(nm, sizeof nm, "%s%s", m->prefix, name);
    if (k < 0 || (size_t)k >= sizeof nm) return st_err(NULL, STRAND_E_ARG, "DiT: parameter name too long");
    int64_t shape[2] = {a, b};
    return pb_add(&m->pb, nm, ndim, shape, decay);
}

#define ADD(var, name, ndim, a, b, decay)                                                                    \
    do {                                                                                                     \
        int r_ = add(m, name, ndim, a, b, decay);                                                            \
        if (r_ < 0) {                                                                                        \
            rc = r_;                                                                                         \
            goto fail;                                                                                       \
        }                                                                                                    \
        var = r_;                                                                                            \
    } while (0)

int dit_weights_declare(dit_weights **out, const dit_config *cfg, const char *prefix)
{
    *out = NULL;
    int rc = check_config(cfg);
    if (rc) return rc;
    if (!prefix) prefix = "backbone.";
    if (strlen(prefix) >= sizeof(((dit_weights *)0)->prefix))
        return st_err(NULL, STRAND_E_ARG, "DiT: prefix \"%.40s...\" too long", prefix);
    dit_weights *m = calloc(1, sizeof *m);
    if (!m) return st_err(NULL, STRAND_E_NOMEM, "DiT: out of memory");
    m->cfg = *cfg;
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    pb_init(&m->pb);
    m->blk = calloc((size_t)cfg->depth, sizeof *m->blk);
    if (!m->blk) {
        rc = st_err(NULL, STRAND_E_NOMEM, "DiT: out of memory");
        goto fail;
    }
    int64_t N = cfg->vocab, D = cfg->dim, C = cfg->cond_dim;
    m->p_label = -1;
    ADD(m->p_embed, "vocab_embed.embedding", 2, N, D, 0);
    ADD(m->p_s0w, "sigma_map.mlp.0.weight", 2, C, TIMESTEP_FREQ_DIM, 1);
    ADD(m->p_s0b, "sigma_map.mlp.0.bias", 1, C, 0, 0);
    ADD(m->p_s2w, "sigma_map.mlp.2.weight", 2, C, C, 1);
    ADD(m->p_s2b, "sigma_map.mlp.2.bias", 1, C, 0, 0);
    if (cfg->num_classes > 0) ADD(m->p_label, "cond_map.embedding_table.weight", 2, cfg->num_classes + 1, C, 0);
    for (int i = 0; i < cfg->depth; i++) {
        dit_block_params *b = &m->blk[i];
        char nm[96];
#define BADD(var, suffix, ndim, a, bb, decay)                                                                \
    do {                                                                                                     \
        snprintf(nm, sizeof nm, "blocks.%d.%s", i, suffix);                                                  \
        ADD(var, nm, ndim, a, bb, decay);                                                                    \
    } while (0)
        BADD(b->norm1, "norm1.weight", 1, D, 0, 0);
        BADD(b->qkv, "attn_qkv.weight", 2, 3 * D, D, 1);
        BADD(b->out, "attn_out.weight", 2, D, D, 1);
        BADD(b->norm2, "norm2.weight", 1, D, 0, 0);
        BADD(b->fc1w, "mlp.0.weight", 2, 4 * D, D, 1);
        BADD(b->fc1b, "mlp.0.bias", 1, 4 * D, 0, 0);
        BADD(b->fc2w, "mlp.2.weight", 2, D, 4 * D, 1);
        BADD(b->fc2b, "mlp.2.bias", 1, D, 0, 0);
        BADD(b->adaw, "adaLN_modulation.weight", 2, 6 * D, C, 1);
        BADD(b->adab, "adaLN_modulation.bias", 1, 6 * D, 0, 0);
#undef BADD
    }
    m->p_fnorm = m->p_fw = m->p_fb = m->p_fadaw = m->p_fadab = -1;
    if (!cfg->features_only) {
        ADD(m->p_fnorm, "output_layer.norm_final.weight", 1, D, 0, 0);
        ADD(m->p_fw, "output_layer.linear.weight", 2, N, D, 1);
        ADD(m->p_fb, "output_layer.linear.bias", 1, N, 0, 0);
        ADD(m->p_fadaw, "output_layer.adaLN_modulation.weight", 2, 2 * D, C, 1);
        ADD(m->p_fadab, "output_layer.adaLN_modulation.bias", 1, 2 * D, 0, 0);
    }
    *out = m;
    return 0;
fail:
    dit_weights_free(m);
    return rc;
}
#undef ADD

int dit_weights_create(dit_weights **out, const dit_config *cfg, const char *prefix)
{
    int rc = dit_weights_declare(out, cfg, prefix);
    if (rc) return rc;
    if ((rc = pb_alloc_params(&(*out)->pb)) != 0) {
        dit_weights_free(*out);
        *out = NULL;
    }
    return rc;
}

void dit_weights_free(dit_weights *m)
{
    if (!m) return;
    pb_free(&m->pb);
    free(m->blk);
    free(m);
}

static void fill_uniform(float *p, size_t n, float bound, strand_rng *rng)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)((2.0 * strand_rng_uniform(rng) - 1.0) * bound);
}

void dit_init_weights(dit_weights *m, strand_rng *rng)
{
    paramblock *pb = &m->pb;
    memset(pb->params, 0, pb->total * sizeof(float)); /* biases, adaLN and the final linear stay 0 */
    float D = (float)m->cfg.dim, C = (float)m->cfg.cond_dim;
    const pb_entry *e;
#define UNI(idx, fan_in)                                                                                     \
    (e = &pb->entries[idx], fill_uniform(pb_param(pb, idx), e->numel, 1.0f / sqrtf(fan_in), rng))
#define ONES(idx)                                                                                            \
    do {                                                                                                     \
        float *p_ = pb_param(pb, idx);                                                                       \
        for (size_t i_ = 0; i_ < pb->entries[idx].numel; i_++) p_[i_] = 1.0f;                               \
    } while (0)
    UNI(m->p_embed, D);
    UNI(m->p_s0w, (float)TIMESTEP_FREQ_DIM);
    UNI(m->p_s2w, C);
    if (m->p_label >= 0) {
        float *p = pb_param(pb, m->p_label);
        for (size_t i = 0; i < pb->entries[m->p_label].numel; i++) p[i] = (float)(0.02 * strand_rng_normal(rng));
    }
    for (int i = 0; i < m->cfg.depth; i++) {
        const dit_block_params *b = &m->blk[i];
        ONES(b->norm1);
        ONES(b->norm2);
        UNI(b->qkv, D);
        UNI(b->out, D);
        UNI(b->fc1w, D);
        UNI(b->fc2w, 4 * D);
    }
    if (m->p_fnorm >= 0) ONES(m->p_fnorm);
#undef UNI
#undef ONES
}

int dit_load(dit_weights *m, const sft_file *f)
{
    int rc = pb_load(&m->pb, f, "");
    if (rc) return st_err_prefix("DiT");
    char nm[128];
    snprintf(nm, sizeof nm, "%srotary_emb.inv_freq", m->prefix);
    const sft_tensor *t = sft_find(f, nm);
    if (t) {
        size_t hd = (size_t)(m->cfg.dim / m->cfg.heads);
        if (t->numel != hd / 2)
            return st_err(NULL, STRAND_E_SHAPE, "DiT: \"%s\" has %zu entries but head_dim %zu needs %zu", nm,
                          t->numel, hd, hd / 2);
        float inv[1024];
        if (hd / 2 <= 1024) {
            rc = sft_read_f32(f, nm, inv, hd / 2);
            if (rc) return st_err_prefix("DiT");
            for (size_t j = 0; j < hd / 2; j++) {
                float want = 1.0f / powf(DIT_ROPE_BASE, (float)(2 * j) / (float)hd);
                if (!(fabsf(inv[j] - want) <= 1e-5f * want + 1e-12f))
                    return st_err(NULL, STRAND_E_UNSUPPORTED,
                                  "DiT: \"%s\"[%zu] = %g but rotary base 10000 gives %g (other bases are not "
                                  "supported)",
                                  nm, j, inv[j], want);
            }
        }
    }
    return 0;
}

/* ---- run context ---------------------------------------------------------------------------------- */
/* One layout for both passes (core/arena.h): counting, then pointing. */
static void layout_acts(dit_ctx *m, arena *cv)
{
    size_t B = m->B, L = m->L, BL = B * L, D = (size_t)m->cfg.dim, H = (size_t)m->cfg.heads, hd = D / H;
    size_t C = (size_t)m->cfg.cond_dim, depth = (size_t)m->cfg.depth;
    m->rope_cos = arena_take(cv, L * hd);
    m->rope_sin = arena_take(cv, L * hd);
    m->x = arena_take(cv, (m->inference ? 2 : depth + 1) * BL * D);
    for (size_t i = 0; i < depth; i++) {
        if (m->inference && i > 0) { /* one block's activations for all */
            if (cv->base) m->ba[i] = m->ba[0];
            continue;
        }
        dit_block_acts a;
        a.ln1 = arena_take(cv, BL * D);
        a.mean1 = arena_take(cv, BL);
        a.rstd1 = arena_take(cv, BL);
        a.h1 = arena_take(cv, BL * D);
        a.qkv = arena_take(cv, BL * 3 * D);
        a.qr = arena_take(cv, BL * 2 * D);
        a.att = arena_take(cv, B * H * L * L);
        a.ao = arena_take(cv, BL * D);
        a.ap = arena_take(cv, BL * D);
        a.xmid = arena_take(cv, BL * D);
        a.ln2 = arena_take(cv, BL * D);
        a.mean2 = arena_take(cv, BL);
        a.rstd2 = arena_take(cv, BL);
        a.h2 = arena_take(cv, BL * D);
        a.fpre = arena_take(cv, BL * 4 * D);
        a.fact = arena_take(cv, BL * 4 * D);
        a.mp = arena_take(cv, BL * D);
        a.mod = arena_take(cv, B * 6 * D);
        if (cv->base) m->ba[i] = a;
    }
    m->freq = arena_take(cv, B * TIMESTEP_FREQ_DIM);
    m->sh = arena_take(cv, B * C);
    m->sa = arena_take(cv, B * C);
    m->temb = arena_take(cv, B * C);
    m->lemb = arena_take(cv, B * C);
    m->c = arena_take(cv, B * C);
    m->sig = arena_take(cv, B);
    m->lnf = arena_take(cv, BL * D);
    m->meanf = arena_take(cv, BL);
    m->rstdf = arena_take(cv, BL);
    m->hf = arena_take(cv, BL * D);
    m->modf = arena_take(cv, B * 2 * D);
}

/* backward scratch */
typedef struct dit_grad_bufs { float *dx, *dbuf, *dh, *dao, *dqkv, *dfc, *ascr, *dmod, *dc, *dt1, *dt2; } dit_grad_bufs;
static void layout_grads(const dit_ctx *m, arena *cv, dit_grad_bufs *g)
{
    size_t B = m->B, L = m->L, BL = B * L, D = (size_t)m->cfg.dim, H = (size_t)m->cfg.heads;
    size_t C = (size_t)m->cfg.cond_dim;
    g->dx = arena_take(cv, BL * D);
    g->dbuf = arena_take(cv, BL * D);
    g->dh = arena_take(cv, BL * D);
    g->dao = arena_take(cv, BL * D);
    g->dqkv = arena_take(cv, BL * 3 * D);
    g->dfc = arena_take(cv, BL * 4 * D);
    g->ascr = arena_take(cv, attention_scratch_floats(B, L, D, H));
    g->dmod = arena_take(cv, B * 6 * D);
    g->dc = arena_take(cv, B * C);
    g->dt1 = arena_take(cv, B * C);
    g->dt2 = arena_take(cv, B * C);
}

int dit_ctx_create(dit_ctx **out, const dit_config *cfg)
{
    *out = NULL;
    int rc = check_config(cfg);
    if (rc) return rc;
    dit_ctx *c = calloc(1, sizeof *c);
    if (!c) return st_err(NULL, STRAND_E_NOMEM, "DiT: out of memory");
    c->cfg = *cfg;
    *out = c;
    return 0;
}

int dit_ctx_create_inference(dit_ctx **out, const dit_config *cfg)
{
    int rc = dit_ctx_create(out, cfg);
    if (rc == 0) (*out)->inference = 1;
    return rc;
}

/* The residual stream before block i (i = depth: after the last block). */
static float *x_slot(const dit_ctx *m, size_t i)
{
    return m->x + (m->inference ? i % 2 : i) * m->B * m->L * (size_t)m->cfg.dim;
}

void dit_ctx_free(dit_ctx *c)
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

/* Rotary tables for the layout's L positions; with rope_period P, row i holds position i mod P. */
static void build_rope(dit_ctx *m)
{
    size_t hd = (size_t)(m->cfg.dim / m->cfg.heads), L = m->L, P = m->rope_period;
    rope_tables(m->rope_cos, m->rope_sin, P && P < L ? P : L, hd, DIT_ROPE_BASE);
    for (size_t i = P; P && i < L; i++) {
        memcpy(m->rope_cos + i * hd, m->rope_cos + (i % P) * hd, hd * sizeof(float));
        memcpy(m->rope_sin + i * hd, m->rope_sin + (i % P) * hd, hd * sizeof(float));
    }
    m->rope_built = P;
}

int dit_ctx_reserve(dit_ctx *m, size_t B, size_t L)
{
    if (m->B && B == m->B && L == m->L && m->rope_built != m->rope_period) build_rope(m);
    if (m->B && B == m->B && L == m->L) return 0;
    m->have_forward = 0;
    size_t maxL = (size_t)m->cfg.model_length * (m->rope_period ? 2 : 1);
    if (B == 0 || L == 0 || L > maxL)
        return st_err(&m->err, STRAND_E_SHAPE, "DiT: batch %zu x length %zu: need B >= 1 and 1 <= L <= %zu", B, L, maxL);
    m->B = B;
    m->L = L;
    arena cv = arena_count();
    layout_acts(m, &cv);
    int rc = 0;
    if (!m->ba) {
        m->ba = calloc((size_t)m->cfg.depth, sizeof *m->ba);
        if (!m->ba) rc = STRAND_E_NOMEM;
    }
    if (!rc && B * L > m->cap_ids) {
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
    if (!rc && (rc = arena_block_reserve(&m->acts, cv.used)) < 0) rc = STRAND_E_NOMEM;
    if (rc) { /* no layout: the next call starts over */
        m->B = m->L = 0;
        return st_err(&m->err, STRAND_E_NOMEM, "DiT: cannot allocate %zu floats of activations for %zu x %zu", cv.used,
                      B, L);
    }
    cv = arena_on(m->acts.p);
    layout_acts(m, &cv);
    build_rope(m);
    return 0;
}

static int same_dims(const dit_config *a, const dit_config *b)
{
    return a->vocab == b->vocab && a->dim == b->dim && a->depth == b->depth && a->heads == b->heads &&
           a->cond_dim == b->cond_dim && a->num_classes == b->num_classes && a->time_cond == b->time_cond &&
           a->model_length == b->model_length && a->features_only == b->features_only;
}

/* ---- forward ------------------------------------------------------------------------------------------- */
int dit_forward(const dit_weights *w, dit_ctx *m, const int32_t *ids, const float *soft, const float *sigma,
                const int32_t *labels, size_t B, size_t L, float *logits)
{
    m->have_forward = 0;
    if (!same_dims(&w->cfg, &m->cfg))
        return st_err(&m->err, STRAND_E_ARG, "DiT forward: the context was made for other dimensions than the weights");
    if ((ids == NULL) == (soft == NULL))
        return st_err(&m->err, STRAND_E_ARG, "DiT forward: give exactly one of ids and soft input");
    int rc = dit_ctx_reserve(m, B, L);
    if (rc) return rc;
    const paramblock *pb = &w->pb;
    size_t BL = B * L, N = (size_t)m->cfg.vocab, D = (size_t)m->cfg.dim, H = (size_t)m->cfg.heads;
    size_t C = (size_t)m->cfg.cond_dim;
    /* embedding */
    if (ids) {
        rc = embedding_forward(m->x, ids, pb_param(pb, w->p_embed), BL, N, D);
        if (rc) {
            st_err_capture(&m->err);
            return st_err_prefix("DiT forward");
        }
        memcpy(m->ids, ids, BL * sizeof *ids);
        m->soft = NULL;
    } else {
        embedding_soft_forward(m->x, soft, pb_param(pb, w->p_embed), BL, N, D);
        m->soft = soft;
    }
    /* conditioning c (B,C) */
    for (size_t b = 0; b < B; b++) m->sig[b] = (m->cfg.time_cond && sigma) ? sigma[b] : 0.0f;
    timestep_forward(m->temb, m->freq, m->sh, m->sa, m->sig, pb_param(pb, w->p_s0w), pb_param(pb, w->p_s0b),
                     pb_param(pb, w->p_s2w), pb_param(pb, w->p_s2b), B, C);
    silu_forward(m->c, m->temb, B * C);
    if (m->cfg.num_classes > 0) {
        for (size_t b = 0; b < B; b++) {
            int32_t y = labels ? labels[b] : m->cfg.num_classes;
            if (y < 0 || y > m->cfg.num_classes)
                return st_err(&m->err, STRAND_E_RANGE,
                              "DiT forward: label %d of sequence %zu is outside [0, %d] (%d = null label)", (int)y, b,
                              m->cfg.num_classes, m->cfg.num_classes);
            m->labels[b] = y;
        }
        embedding_forward(m->lemb, m->labels, pb_param(pb, w->p_label), B, (size_t)m->cfg.num_classes + 1, C);
        for (size_t i = 0; i < B * C; i++) {
            float v = m->lemb[i];
            m->c[i] += v / (1.0f + expf(-v));
        }
    }
    /* blocks */
    for (int i = 0; i < m->cfg.depth; i++) {
        const dit_block_params *p = &w->blk[i];
        dit_block_acts *a = &m->ba[i];
        const float *xin = x_slot(m, (size_t)i);
        float *xout = x_slot(m, (size_t)i + 1);
        const float *mod = a->mod;
        size_t ms = 6 * D;
        linear_forward(a->mod, m->c, pb_param(pb, p->adaw), pb_param(pb, p->adab), B, C, 6 * D);
        layernorm_forward(a->ln1, a->mean1, a->rstd1, xin, pb_param(pb, p->norm1), BL, D, DIT_LN_EPS);
        adaln_modulate_forward(a->h1, a->ln1, mod, mod + D, ms, B, L, D);
        linear_forward(a->qkv, a->h1, pb_param(pb, p->qkv), NULL, BL, D, 3 * D);
        attention_forward(a->ao, a->qr, a->att, a->qkv, m->rope_cos, m->rope_sin, m->attn_mask, B, L, D, H);
        linear_forward(a->ap, a->ao, pb_param(pb, p->out), NULL, BL, D, D);
        adaln_gate_forward(a->xmid, xin, a->ap, mod + 2 * D, ms, B, L, D);
        layernorm_forward(a->ln2, a->mean2, a->rstd2, a->xmid, pb_param(pb, p->norm2), BL, D, DIT_LN_EPS);
        adaln_modulate_forward(a->h2, a->ln2, mod + 3 * D, mod + 4 * D, ms, B, L, D);
        mlp_forward(a->mp, a->fpre, a->fact, a->h2, pb_param(pb, p->fc1w), pb_param(pb, p->fc1b),
                    pb_param(pb, p->fc2w), pb_param(pb, p->fc2b), BL, D, 4 * D);
        adaln_gate_forward(xout, a->xmid, a->mp, mod + 5 * D, ms, B, L, D);
    }
    /* final layer */
    const float *xl = x_slot(m, (size_t)m->cfg.depth);
    if (m->cfg.features_only) { /* a classifier trunk: the last residual stream */
        memcpy(logits, xl, BL * D * sizeof *logits);
        m->have_forward = 1;
        return 0;
    }
    linear_forward(m->modf, m->c, pb_param(pb, w->p_fadaw), pb_param(pb, w->p_fadab), B, C, 2 * D);
    layernorm_forward(m->lnf, m->meanf, m->rstdf, xl, pb_param(pb, w->p_fnorm), BL, D, DIT_LN_EPS);
    adaln_modulate_forward(m->hf, m->lnf, m->modf, m->modf + D, 2 * D, B, L, D);
    linear_forward(logits, m->hf, pb_param(pb, w->p_fw), pb_param(pb, w->p_fb), BL, D, N);
    m->have_forward = 1;
    return 0;
}

/* ---- backward -------------------------------------------------------------------------------------------- */
int dit_backward(const dit_weights *w, dit_ctx *m, const float *dlogits, float *dsoft, float *grads)
{
    if (!m->have_forward) return st_err(&m->err, STRAND_E_ARG, "DiT backward: no forward to differentiate");
    if (m->inference)
        return st_err(&m->err, STRAND_E_ARG, "DiT backward: an inference context (dit_ctx_create_inference) keeps no "
                      "activations to differentiate");
    if (!same_dims(&w->cfg, &m->cfg))
        return st_err(&m->err, STRAND_E_ARG, "DiT backward: the context was made for other dimensions than the weights");
    const paramblock *pb = &w->pb;
    if (!grads) { /* parameter gradients not wanted: a zeroed sink in the context */
        if (arena_block_reserve(&m->pgrad, pb->total) < 0) {
            st_err_capture(&m->err);
            return STRAND_E_NOMEM;
        }
        grads = m->pgrad.p;
        memset(grads, 0, pb->total * sizeof(float));
    }
    size_t B = m->B, L = m->L, BL = B * L, N = (size_t)m->cfg.vocab, D = (size_t)m->cfg.dim;
    size_t H = (size_t)m->cfg.heads, C = (size_t)m->cfg.cond_dim;
    /* backward scratch: reserved by the first backward at this shape (inference never needs it) */
    dit_grad_bufs g;
    arena cg = arena_count();
    layout_grads(m, &cg, &g);
    if (arena_block_reserve(&m->grad_acts, cg.used) < 0)
        return st_err(&m->err, STRAND_E_NOMEM, "DiT backward: cannot allocate %zu floats of scratch for %zu x %zu",
                      cg.used, B, L);
    cg = arena_on(m->grad_acts.p);
    layout_grads(m, &cg, &g);
    size_t nD = BL * D * sizeof(float);
#define G(idx) (grads + pb->entries[idx].offset)
#define P(idx) pb_param(pb, idx)
    /* final layer */
    memset(g.dc, 0, B * C * sizeof(float));
    if (m->cfg.features_only) {
        memcpy(g.dx, dlogits, nD); /* ∂/∂(last residual stream) */
    } else {
        memset(g.dh, 0, nD);
        linear_backward(g.dh, G(w->p_fw), G(w->p_fb), dlogits, m->hf, P(w->p_fw), BL, D, N);
        memset(g.dmod, 0, B * 2 * D * sizeof(float));
        memset(g.dbuf, 0, nD);
        adaln_modulate_backward(g.dbuf, g.dmod, g.dmod + D, g.dh, m->lnf, m->modf + D, 2 * D, B, L, D);
        memset(g.dx, 0, nD);
        const float *xl = m->x + (size_t)m->cfg.depth * BL * D;
        layernorm_backward(g.dx, G(w->p_fnorm), g.dbuf, xl, P(w->p_fnorm), m->meanf, m->rstdf, BL, D);
        linear_backward(g.dc, G(w->p_fadaw), G(w->p_fadab), g.dmod, m->c, P(w->p_fadaw), B, C, 2 * D);
    }
    /* blocks, last to first; g.dx holds ∂/∂(residual stream) */
    for (int i = m->cfg.depth - 1; i >= 0; i--) {
        const dit_block_params *p = &w->blk[i];
        const dit_block_acts *a = &m->ba[i];
        const float *xin = m->x + (size_t)i * BL * D;
        const float *mod = a->mod;
        size_t ms = 6 * D;
        memset(g.dmod, 0, B * 6 * D * sizeof(float));
        /* x_out = xmid + gate2·mp */
        memset(g.dbuf, 0, nD);
        adaln_gate_backward(NULL, g.dbuf, g.dmod + 5 * D, g.dx, a->mp, mod + 5 * D, ms, B, L, D);
        memset(g.dh, 0, nD);
        mlp_backward(g.dh, G(p->fc1w), G(p->fc1b), G(p->fc2w), G(p->fc2b), g.dfc, g.dbuf, a->h2, a->fpre, a->fact,
                     P(p->fc1w), P(p->fc2w), BL, D, 4 * D);
        memset(g.dbuf, 0, nD);
        adaln_modulate_backward(g.dbuf, g.dmod + 3 * D, g.dmod + 4 * D, g.dh, a->ln2, mod + 4 * D, ms, B, L, D);
        layernorm_backward(g.dx, G(p->norm2), g.dbuf, a->xmid, P(p->norm2), a->mean2, a->rstd2, BL, D);
        /* xmid = xin + gate1·ap */
        memset(g.dbuf, 0, nD);
        adaln_gate_backward(NULL, g.dbuf, g.dmod + 2 * D, g.dx, a->ap, mod + 2 * D, ms, B, L, D);
        memset(g.dao, 0, nD);
        linear_backward(g.dao, G(p->out), NULL, g.dbuf, a->ao, P(p->out), BL, D, D);
        memset(g.dqkv, 0, 3 * nD);
        attention_backward(g.dqkv, g.ascr, g.dao, a->qkv, a->qr, a->att, m->rope_cos, m->rope_sin, B, L, D, H);
        memset(g.dh, 0, nD);
        linear_backward(g.dh, G(p->qkv), NULL, g.dqkv, a->h1, P(p->qkv), BL, D, 3 * D);
        memset(g.dbuf, 0, nD);
        adaln_modulate_backward(g.dbuf, g.dmod, g.dmod + D, g.dh, a->ln1, mod + D, ms, B, L, D);
        layernorm_backward(g.dx, G(p->norm1), g.dbuf, xin, P(p->norm1), a->mean1, a->rstd1, BL, D);
        linear_backward(g.dc, G(p->adaw), G(p->adab), g.dmod, m->c, P(p->adaw), B, C, 6 * D);
    }
    /* embedding */
    if (m->soft) embedding_soft_backward(dsoft, G(w->p_embed), g.dx, m->soft, P(w->p_embed), BL, N, D);
    else embedding_backward(G(w->p_embed), g.dx, m->ids, BL, D);
    /* conditioning: c = silu(temb) [+ silu(lemb)] */
    memset(g.dt1, 0, B * C * sizeof(float));
    silu_backward(g.dt1, m->temb, g.dc, B * C);
    timestep_backward(G(w->p_s0w), G(w->p_s0b), G(w->p_s2w), G(w->p_s2b), g.dt2, g.dt1, m->freq, m->sh, m->sa,
                      P(w->p_s2w), B, C);
    if (m->cfg.num_classes > 0) {
        memset(g.dt1, 0, B * C * sizeof(float));
        silu_backward(g.dt1, m->lemb, g.dc, B * C);
        embedding_backward(G(w->p_label), g.dt1, m->labels, B, C);
    }
#undef G
#undef P
    return 0;
}
