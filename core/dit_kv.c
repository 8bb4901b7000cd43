/* Cached block forward of the DiT (core/dit_kv.h): the layers of core/dit.c's forward, with the
 * attention of core/attention.h attention_cached_forward. */
#include "core/dit_kv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/adaln.h"
#include "core/attention.h"
#include "core/embedding.h"
#include "core/gelu.h"
#include "core/layernorm.h"
#include "core/linear.h"
#include "core/mlp.h"
#include "core/timestep.h"

#define KV_LN_EPS 1e-5f    /* docs/dit.md "Block" */
#define KV_ROPE_BASE 10000.0f

struct dit_kv {
    dit_config cfg;
    size_t B, cap, max_new, m, pos0;
    float *k, *v;                 /* (depth, B, cap, D) */
    float *c;                     /* (B, C) */
    float *rope_cos, *rope_sin;   /* (rope_n, hd) */
    size_t rope_n;
    /* per-call scratch for B·max_new rows */
    float *x, *ln, *mean, *rstd, *h, *qkv, *qr, *att, *ao, *ap, *xmid, *fpre, *fact, *mp, *mod;
    int have_c;
    st_errbuf err;
};

int dit_kv_create(dit_kv **out, const dit_config *cfg, size_t B, size_t cap, size_t max_new)
{
    *out = NULL;
    if (B == 0 || cap == 0 || max_new == 0 || max_new > cap)
        return st_err(NULL, STRAND_E_ARG, "DiT cache: %zu rows, %zu slots, %zu new positions", B, cap, max_new);
    dit_kv *kv = calloc(1, sizeof *kv);
    if (!kv) return st_err(NULL, STRAND_E_NOMEM, "DiT cache: out of memory");
    kv->cfg = *cfg;
    kv->B = B, kv->cap = cap, kv->max_new = max_new;
    size_t D = (size_t)cfg->dim, H = (size_t)cfg->heads, C = (size_t)cfg->cond_dim, Ld = (size_t)cfg->depth;
    size_t R = B * max_new;
    kv->k = malloc(Ld * B * cap * D * sizeof(float));
    kv->v = malloc(Ld * B * cap * D * sizeof(float));
    kv->c = malloc(B * C * sizeof(float));
    kv->x = malloc(R * D * sizeof(float));
    kv->ln = malloc(R * D * sizeof(float));
    kv->mean = malloc(R * sizeof(float));
    kv->rstd = malloc(R * sizeof(float));
    kv->h = malloc(R * D * sizeof(float));
    kv->qkv = malloc(R * 3 * D * sizeof(float));
    kv->qr = malloc(R * D * sizeof(float));
    kv->att = malloc(B * H * max_new * cap * sizeof(float));
    kv->ao = malloc(R * D * sizeof(float));
    kv->ap = malloc(R * D * sizeof(float));
    kv->xmid = malloc(R * D * sizeof(float));
    kv->fpre = malloc(R * 4 * D * sizeof(float));
    kv->fact = malloc(R * 4 * D * sizeof(float));
    kv->mp = malloc(R * D * sizeof(float));
    kv->mod = malloc(B * 6 * D * sizeof(float));
    if (!kv->k || !kv->v || !kv->c || !kv->x || !kv->ln || !kv->mean || !kv->rstd || !kv->h || !kv->qkv || !kv->qr ||
        !kv->att || !kv->ao || !kv->ap || !kv->xmid || !kv->fpre || !kv->fact || !kv->mp || !kv->mod) {
        dit_kv_free(kv);
        return st_err(NULL, STRAND_E_NOMEM, "DiT cache: cannot allocate %zu rows x %zu slots", B, cap);
    }
    *out = kv;
    return 0;
}

void dit_kv_free(dit_kv *kv)
{
    if (!kv) return;
    float *p[] = {kv->k, kv->v, kv->c, kv->rope_cos, kv->rope_sin, kv->x, kv->ln, kv->mean, kv->rstd, kv->h, kv->qkv,
                  kv->qr, kv->att, kv->ao, kv->ap, kv->xmid, kv->fpre, kv->fact, kv->mp, kv->mod};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
    free(kv);
}

const char *dit_kv_error(const dit_kv *kv) { return kv->err.msg; }
size_t dit_kv_len(const dit_kv *kv) { return kv->m; }
size_t dit_kv_next_pos(const dit_kv *kv) { return kv->pos0 + kv->m; }

int dit_kv_reset(dit_kv *kv, const dit_weights *w, const int32_t *labels)
{
    const dit_config *cf = &w->cfg;
    if (cf->dim != kv->cfg.dim || cf->depth != kv->cfg.depth || cf->heads != kv->cfg.heads ||
        cf->cond_dim != kv->cfg.cond_dim || cf->vocab != kv->cfg.vocab || cf->num_classes != kv->cfg.num_classes)
        return st_err(&kv->err, STRAND_E_ARG, "DiT cache: made for other dimensions than the weights");
    if (cf->time_cond)
        return st_err(&kv->err, STRAND_E_UNSUPPORTED,
                      "DiT cache: a time-conditioned network's keys change with the noise level; no cache");
    kv->m = kv->pos0 = 0;
    size_t B = kv->B, C = (size_t)cf->cond_dim;
    const paramblock *pb = &w->pb;
    float *sig = calloc(B, sizeof *sig), *freq = malloc(B * TIMESTEP_FREQ_DIM * sizeof(float));
    float *sh = malloc(B * C * sizeof(float)), *sa = malloc(B * C * sizeof(float)), *temb = malloc(B * C * sizeof(float));
    float *lemb = malloc(B * C * sizeof(float));
    int32_t *lab = malloc(B * sizeof *lab);
    int rc = 0;
    if (!sig || !freq || !sh || !sa || !temb || !lemb || !lab) {
        rc = st_err(&kv->err, STRAND_E_NOMEM, "DiT cache: out of memory");
        goto done;
    }
    timestep_forward(temb, freq, sh, sa, sig, pb_param(pb, w->p_s0w), pb_param(pb, w->p_s0b), pb_param(pb, w->p_s2w),
                     pb_param(pb, w->p_s2b), B, C);
    silu_forward(kv->c, temb, B * C);
    if (cf->num_classes > 0) {
        for (size_t b = 0; b < B; b++) {
            lab[b] = labels ? labels[b] : cf->num_classes;
            if (lab[b] < 0 || lab[b] > cf->num_classes) {
                rc = st_err(&kv->err, STRAND_E_RANGE, "DiT cache: label %d outside [0, %d]", lab[b], cf->num_classes);
                goto done;
            }
        }
        embedding_forward(lemb, lab, pb_param(pb, w->p_label), B, (size_t)cf->num_classes + 1, C);
        for (size_t i = 0; i < B * C; i++) kv->c[i] += lemb[i] / (1.0f + expf(-lemb[i]));
    }
    kv->have_c = 1;
done:
    free(sig), free(freq), free(sh), free(sa), free(temb), free(lemb), free(lab);
    return rc;
}

/* rotary rows for absolute positions 0..need-1 (the same values core/dit.c's tables hold) */
static int ensure_rope(dit_kv *kv, size_t need)
{
    if (need <= kv->rope_n) return 0;
    size_t n = kv->rope_n ? kv->rope_n : 256, hd = (size_t)(kv->cfg.dim / kv->cfg.heads);
    while (n < need) n *= 2;
    float *c = malloc(n * hd * sizeof *c), *s = malloc(n * hd * sizeof *s);
    if (!c || !s) {
        free(c), free(s);
        return st_err(&kv->err, STRAND_E_NOMEM, "DiT cache: out of memory");
    }
    rope_tables(c, s, n, hd, KV_ROPE_BASE);
    free(kv->rope_cos), free(kv->rope_sin);
    kv->rope_cos = c, kv->rope_sin = s, kv->rope_n = n;
    return 0;
}

int dit_kv_forward(const dit_weights *w, dit_kv *kv, const int32_t *ids, size_t n, int commit, float *logits)
{
    if (!kv->have_c) return st_err(&kv->err, STRAND_E_ARG, "DiT cache: reset before the first forward");
    if (n == 0 || n > kv->max_new || kv->m + n > kv->cap)
        return st_err(&kv->err, STRAND_E_SHAPE, "DiT cache: %zu new positions after %zu cached (room for %zu, %zu per call)",
                      n, kv->m, kv->cap, kv->max_new);
    size_t B = kv->B, R = B * n, N = (size_t)kv->cfg.vocab, D = (size_t)kv->cfg.dim, H = (size_t)kv->cfg.heads;
    size_t C = (size_t)kv->cfg.cond_dim, hd = D / H, ms = 6 * D, m = kv->m, cap = kv->cap;
    size_t pos = kv->pos0 + m;
    int rc = ensure_rope(kv, pos + n);
    if (rc) return rc;
    const paramblock *pb = &w->pb;
    if ((rc = embedding_forward(kv->x, ids, pb_param(pb, w->p_embed), R, N, D)) < 0) {
        st_err_capture(&kv->err);
        return rc;
    }
    for (int i = 0; i < kv->cfg.depth; i++) {
        const dit_block_params *p = &w->blk[i];
        float *kc = kv->k + (size_t)i * B * cap * D, *vc = kv->v + (size_t)i * B * cap * D;
        const float *mod = kv->mod;
        linear_forward(kv->mod, kv->c, pb_param(pb, p->adaw), pb_param(pb, p->adab), B, C, 6 * D);
        layernorm_forward(kv->ln, kv->mean, kv->rstd, kv->x, pb_param(pb, p->norm1), R, D, KV_LN_EPS);
        adaln_modulate_forward(kv->h, kv->ln, mod, mod + D, ms, B, n, D);
        linear_forward(kv->qkv, kv->h, pb_param(pb, p->qkv), NULL, R, D, 3 * D);
        attention_cached_forward(kv->ao, kc, vc, kv->qr, kv->att, kv->qkv, kv->rope_cos + pos * hd,
                                 kv->rope_sin + pos * hd, B, n, m, cap, D, H);
        linear_forward(kv->ap, kv->ao, pb_param(pb, p->out), NULL, R, D, D);
        adaln_gate_forward(kv->xmid, kv->x, kv->ap, mod + 2 * D, ms, B, n, D);
        layernorm_forward(kv->ln, kv->mean, kv->rstd, kv->xmid, pb_param(pb, p->norm2), R, D, KV_LN_EPS);
        adaln_modulate_forward(kv->h, kv->ln, mod + 3 * D, mod + 4 * D, ms, B, n, D);
        mlp_forward(kv->mp, kv->fpre, kv->fact, kv->h, pb_param(pb, p->fc1w), pb_param(pb, p->fc1b),
                    pb_param(pb, p->fc2w), pb_param(pb, p->fc2b), R, D, 4 * D);
        adaln_gate_forward(kv->x, kv->xmid, kv->mp, mod + 5 * D, ms, B, n, D);
    }
    if (logits) {
        linear_forward(kv->mod, kv->c, pb_param(pb, w->p_fadaw), pb_param(pb, w->p_fadab), B, C, 2 * D);
        layernorm_forward(kv->ln, kv->mean, kv->rstd, kv->x, pb_param(pb, w->p_fnorm), R, D, KV_LN_EPS);
        adaln_modulate_forward(kv->h, kv->ln, kv->mod, kv->mod + D, 2 * D, B, n, D);
        linear_forward(logits, kv->h, pb_param(pb, w->p_fw), pb_param(pb, w->p_fb), R, D, N);
    }
    if (commit) kv->m += n;
    return 0;
}

void dit_kv_drop(dit_kv *kv, size_t k)
{
    if (k > kv->m) k = kv->m;
    if (!k) return;
    size_t D = (size_t)kv->cfg.dim, rows = (size_t)kv->cfg.depth * kv->B, keep = kv->m - k;
    for (size_t r = 0; r < rows; r++) {
        memmove(kv->k + r * kv->cap * D, kv->k + (r * kv->cap + k) * D, keep * D * sizeof(float));
        memmove(kv->v + r * kv->cap * D, kv->v + (r * kv->cap + k) * D, keep * D * sizeof(float));
    }
    kv->m = keep;
    kv->pos0 += k;
}
