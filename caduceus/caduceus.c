/* Caduceus-PH / Caduceus-PS forward and backward in strand space (see caduceus.h, docs/caduceus.md). */
#include "caduceus/caduceus.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linear.h"
#include "core/rmsnorm.h"

static const int64_t k_comp[CADUCEUS_VOCAB] = {0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15};

void caduceus_default_config(caduceus_config *c)
{
    memset(c, 0, sizeof *c);
    c->d_model = 256;
    c->n_layer = 4;
    c->vocab = CADUCEUS_VOCAB;
    c->rcps = 1;
    c->eps = 1e-5f;
    memcpy(c->comp, k_comp, sizeof k_comp);
}

struct caduceus_acts {
    size_t B, L, nseq, gseq;
    int mode, two;
    float *mem;
    int32_t *ids;  /* (B,L) copy for the embedding backward */
    float **X, **U, **rstd; /* per layer (training) or one shared set (inference) */
    bimamba_acts *ba;
    bimamba_tile_acts ta; /* inference: BiMamba in tiles of `tile` positions */
    size_t tile;
    float *T, *Y, *rstdf, *F, *G;
    float *scratch; /* backward: dT dX dU dF (nseq·L·D each), dG (nseq·L·V), BiMamba scratch */
};

static void acts_free(struct caduceus_acts *a)
{
    if (!a) return;
    free(a->mem), free(a->ids), free(a->X), free(a->U), free(a->rstd), free(a->ba);
    free(a);
}

/* Sizes of the activation set for (B, L, mode). */
static size_t acts_size(const caduceus_config *c, const mamba_dims *md, size_t B, size_t L, int mode, size_t tile,
                        size_t *nseq_out, size_t *gseq_out)
{
    int two = c->rcps || mode == CADUCEUS_INFER;
    size_t nseq = two ? 2 * B : B, D = (size_t)c->d_model, V = (size_t)c->vocab, NL = (size_t)c->n_layer;
    size_t nl = mode == CADUCEUS_TRAIN ? NL : 1;
    size_t gseq = nseq;
    if (mode == CADUCEUS_INFER) { /* BiMamba works on groups of sequences: O(group·L·D) */
        gseq = 65536 / (L ? L : 1);
        if (gseq < 1) gseq = 1;
        if (gseq > nseq) gseq = nseq;
    }
    size_t SLD = nseq * L * D;
    size_t T = tile < L ? tile : L;
    size_t per_layer = 2 * SLD + nseq * L +
                       (mode == CADUCEUS_TRAIN ? bimamba_acts_floats(md, gseq, L, 1) : bimamba_tile_floats(md, gseq, T));
    size_t total = nl * per_layer + 3 * SLD + nseq * L + nseq * L * V;
    if (mode == CADUCEUS_TRAIN) total += 4 * SLD + nseq * L * V + bimamba_backward_scratch_floats(md, nseq, L);
    if (nseq_out) *nseq_out = nseq;
    if (gseq_out) *gseq_out = gseq;
    return total;
}

size_t caduceus_activation_floats(const caduceus_config *c, size_t B, size_t L, int mode)
{
    mamba_dims md;
    mamba_dims_default(&md, (size_t)c->d_model);
    return acts_size(c, &md, B, L, mode, CADUCEUS_INFER_TILE, NULL, NULL);
}

static size_t model_tile(const caduceus_model *m) { return m->infer_tile ? m->infer_tile : CADUCEUS_INFER_TILE; }

static int acts_alloc(caduceus_model *m, size_t B, size_t L, int mode)
{
    const caduceus_config *c = &m->cfg;
    int two = c->rcps || mode == CADUCEUS_INFER;
    size_t nseq, gseq, D = (size_t)c->d_model, NL = (size_t)c->n_layer;
    size_t nl = mode == CADUCEUS_TRAIN ? NL : 1;
    size_t tile = model_tile(m), T = tile < L ? tile : L;
    size_t total = acts_size(c, &m->md, B, L, mode, tile, &nseq, &gseq);
    size_t SLD = nseq * L * D, V = (size_t)c->vocab;
    struct caduceus_acts *a = calloc(1, sizeof *a);
    if (!a) return st_err(&m->err, STRAND_E_NOMEM, "caduceus: out of memory");
    a->B = B, a->L = L, a->nseq = nseq, a->gseq = gseq, a->mode = mode, a->two = two, a->tile = tile;
    a->mem = malloc(total * sizeof(float));
    a->ids = malloc((B * L > 0 ? B * L : 1) * sizeof(int32_t));
    a->X = calloc(nl, sizeof(float *)), a->U = calloc(nl, sizeof(float *)), a->rstd = calloc(nl, sizeof(float *));
    a->ba = calloc(nl, sizeof(bimamba_acts));
    if (!a->mem || !a->ids || !a->X || !a->U || !a->rstd || !a->ba) {
        acts_free(a);
        return st_err(&m->err, STRAND_E_NOMEM, "caduceus: cannot allocate activations for B=%zu L=%zu (%zu MB)", B,
                      L, total * sizeof(float) >> 20);
    }
    float *p = a->mem;
    for (size_t l = 0; l < nl; l++) {
        a->X[l] = p, p += SLD;
        a->U[l] = p, p += SLD;
        a->rstd[l] = p, p += nseq * L;
        if (mode == CADUCEUS_TRAIN) {
            bimamba_acts_point(&a->ba[l], p, &m->md, gseq, L, 1);
            p += bimamba_acts_floats(&m->md, gseq, L, 1);
        } else {
            bimamba_tile_point(&a->ta, p, &m->md, gseq, T);
            p += bimamba_tile_floats(&m->md, gseq, T);
        }
    }
    a->T = p, p += SLD;
    a->Y = p, p += SLD;
    a->F = p, p += SLD;
    a->rstdf = p, p += nseq * L;
    a->G = p, p += nseq * L * V;
    a->scratch = mode == CADUCEUS_TRAIN ? p : NULL;
    acts_free(m->acts);
    m->acts = a;
    return 0;
}

/* ---- parameters -------------------------------------------------------------------------------- */
static int add1(caduceus_model *m, const char *name, int64_t n0, int decay)
{
    int64_t s[1] = {n0};
    return pb_add(&m->pb, name, 1, s, decay);
}

int caduceus_create(caduceus_model **out, const caduceus_config *cfg)
{
    *out = NULL;
    if (cfg->d_model <= 0 || cfg->n_layer <= 0 || cfg->vocab <= 0 || cfg->vocab > CADUCEUS_VOCAB)
        return st_err(NULL, STRAND_E_ARG, "caduceus: bad config (d_model %d, n_layer %d, vocab %d; vocab must be 1..%d)",
                      cfg->d_model, cfg->n_layer, cfg->vocab, CADUCEUS_VOCAB);
    for (int v = 0; v < cfg->vocab; v++)
        if (cfg->comp[v] < 0 || cfg->comp[v] >= cfg->vocab || cfg->comp[cfg->comp[v]] != v)
            return st_err(NULL, STRAND_E_ARG, "caduceus: complement map is not an involution on 0..%d (comp[%d] = %lld)",
                          cfg->vocab - 1, v, (long long)cfg->comp[v]);
    caduceus_model *m = calloc(1, sizeof *m);
    if (!m) return st_err(NULL, STRAND_E_NOMEM, "caduceus: out of memory");
    m->cfg = *cfg;
    mamba_dims_default(&m->md, (size_t)cfg->d_model);
    pb_init(&m->pb);
    m->layers = calloc((size_t)cfg->n_layer, sizeof *m->layers);
    if (!m->layers) {
        free(m);
        return st_err(NULL, STRAND_E_NOMEM, "caduceus: out of memory");
    }
    int64_t es[2] = {cfg->vocab, cfg->d_model};
    int rc = m->emb = pb_add(&m->pb, cfg->rcps ? "embeddings.word_embeddings.embedding.weight"
                                                 : "embeddings.word_embeddings.weight",
                             2, es, 0);
    for (int i = 0; rc >= 0 && i < cfg->n_layer; i++) {
        char pre[128];
        caduceus_layer *ly = &m->layers[i];
        snprintf(pre, sizeof pre, cfg->rcps ? "layers.%d.mixer.submodule.mamba_fwd." : "layers.%d.mixer.mamba_fwd.", i);
        rc = mamba_declare(&m->pb, pre, &m->md, 1, ly->fwd);
        if (rc < 0) break;
        snprintf(pre, sizeof pre, cfg->rcps ? "layers.%d.mixer.submodule.mamba_rev." : "layers.%d.mixer.mamba_rev.", i);
        rc = mamba_declare(&m->pb, pre, &m->md, 0, ly->rev);
        if (rc < 0) break;
        snprintf(pre, sizeof pre, "layers.%d.norm.weight", i);
        rc = ly->norm = add1(m, pre, cfg->d_model, 0);
    }
    if (rc >= 0) rc = m->norm_f = add1(m, "norm_f.weight", cfg->d_model, 0);
    if (rc >= 0) rc = pb_alloc(&m->pb);
    if (rc < 0) {
        caduceus_free(m);
        return rc;
    }
    for (int i = 0; i < cfg->n_layer; i++) {
        caduceus_layer *ly = &m->layers[i];
        mamba_bind(&ly->w.fwd, &ly->g.fwd, &m->pb, ly->fwd);
        mamba_bind(&ly->w.rev, &ly->g.rev, &m->pb, ly->rev);
        ly->w.rev.p[MAMBA_IN_PROJ] = ly->w.fwd.p[MAMBA_IN_PROJ]; /* tied (docs/mamba.md "BiMamba") */
        ly->w.rev.p[MAMBA_OUT_PROJ] = ly->w.fwd.p[MAMBA_OUT_PROJ];
    }
    *out = m;
    return 0;
}

void caduceus_free(caduceus_model *m)
{
    if (!m) return;
    acts_free(m->acts);
    pb_free(&m->pb);
    free(m->layers);
    free(m);
}

void caduceus_init_weights(caduceus_model *m, uint64_t seed)
{
    strand_rng r;
    strand_rng_seed(&r, seed);
    float *E = pb_param(&m->pb, m->emb);
    for (size_t i = 0; i < (size_t)m->cfg.vocab * (size_t)m->cfg.d_model; i++) E[i] = (float)(0.02 * strand_rng_normal(&r));
    for (int i = 0; i < m->cfg.n_layer; i++) {
        caduceus_layer *ly = &m->layers[i];
        mamba_init(&ly->w.fwd, &m->md, m->cfg.n_layer, &r);
        mamba_params rev = ly->w.rev;
        rev.p[MAMBA_IN_PROJ] = rev.p[MAMBA_OUT_PROJ] = NULL; /* tied: initialised once */
        mamba_init(&rev, &m->md, m->cfg.n_layer, &r);
        float *w = pb_param(&m->pb, ly->norm);
        for (int j = 0; j < m->cfg.d_model; j++) w[j] = 1.0f;
    }
    float *wf = pb_param(&m->pb, m->norm_f);
    for (int j = 0; j < m->cfg.d_model; j++) wf[j] = 1.0f;
}

size_t caduceus_param_count(const caduceus_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->pb.n; i++) n += m->pb.entries[i].numel;
    return n;
}

int caduceus_find(const caduceus_model *m, const char *name) { return pb_find(&m->pb, name); }

/* ---- strand-space helpers ------------------------------------------------------------------------------ */
/* dst[s] = rc(src[s']) with s' the other strand: [a ; b] → [rc(b) ; rc(a)]; rc flips L and channels. */
static void rcswap(float *dst, const float *src, size_t B, size_t L, size_t D)
{
    for (size_t s = 0; s < 2 * B; s++) {
        size_t so = s < B ? s + B : s - B;
        for (size_t t = 0; t < L; t++) {
            float *d = dst + (s * L + t) * D;
            const float *q = src + (so * L + L - 1 - t) * D;
            for (size_t c = 0; c < D; c++) d[c] = q[D - 1 - c];
        }
    }
}

static const float *norm_w(const caduceus_model *m, int i) { return pb_param(&m->pb, m->layers[i].norm); }

int caduceus_forward(caduceus_model *m, const int32_t *ids, size_t B, size_t L, int mode, float *logits,
                     float *embed, float *pooled)
{
    const caduceus_config *c = &m->cfg;
    if (!ids || B == 0 || L == 0) return st_err(&m->err, STRAND_E_ARG, "caduceus forward: empty input (B=%zu, L=%zu)", B, L);
    for (size_t i = 0; i < B * L; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab)
            return st_err(&m->err, STRAND_E_ARG, "caduceus forward: sequence %zu position %zu: token id %d outside 0..%d",
                          i / L, i % L, ids[i], c->vocab - 1);
    struct caduceus_acts *a = m->acts;
    if (!a || a->B != B || a->L != L || a->mode != mode || (mode == CADUCEUS_INFER && a->tile != model_tile(m))) {
        int rc = acts_alloc(m, B, L, mode);
        if (rc < 0) return rc;
        a = m->acts;
    }
    memcpy(a->ids, ids, B * L * sizeof(int32_t));
    size_t D = (size_t)c->d_model, V = (size_t)c->vocab, nseq = a->nseq, SL = nseq * L;
    const float *E = pb_param(&m->pb, m->emb);
    /* embedding: strand of x, then (two strands) the strand of rc(x) */
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) {
            memcpy(a->T + (b * L + t) * D, E + (size_t)ids[b * L + t] * D, D * sizeof(float));
            if (a->two)
                memcpy(a->T + ((B + b) * L + t) * D, E + (size_t)c->comp[ids[b * L + L - 1 - t]] * D, D * sizeof(float));
        }
    for (int i = 0; i < c->n_layer; i++) {
        size_t li = mode == CADUCEUS_TRAIN ? (size_t)i : 0;
        float *X = a->X[li], *U = a->U[li];
        if (c->rcps) rcswap(X, a->T, B, L, D); /* docs/caduceus.md "The half-swap" */
        else memcpy(X, a->T, SL * D * sizeof(float));
        rmsnorm_forward(U, a->rstd[li], X, norm_w(m, i), SL, D, c->eps);
        for (size_t s0 = 0; s0 < nseq; s0 += a->gseq) {
            size_t g = nseq - s0 < a->gseq ? nseq - s0 : a->gseq;
            if (mode == CADUCEUS_TRAIN)
                bimamba_forward(a->Y + s0 * L * D, &a->ba[li], U + s0 * L * D, &m->layers[i].w, &m->md, g, L);
            else
                bimamba_forward_tiled(a->Y + s0 * L * D, &a->ta, U + s0 * L * D, &m->layers[i].w, &m->md, g, L);
        }
        for (size_t j = 0; j < SL * D; j++) a->T[j] = X[j] + a->Y[j];
    }
    rmsnorm_forward(a->F, a->rstdf, a->T, pb_param(&m->pb, m->norm_f), SL, D, c->eps);
    if (logits) {
        linear_forward(a->G, a->F, E, NULL, SL, D, V);
        float scale = c->rcps ? 1.0f : 0.5f; /* PS sums the strands; PH conjoining averages */
        for (size_t b = 0; b < B; b++)
            for (size_t t = 0; t < L; t++) {
                float *o = logits + (b * L + t) * V;
                const float *g = a->G + (b * L + t) * V;
                if (!a->two) {
                    memcpy(o, g, V * sizeof(float));
                    continue;
                }
                const float *h = a->G + ((B + b) * L + L - 1 - t) * V;
                for (size_t v = 0; v < V; v++) o[v] = scale * (g[v] + h[c->comp[v]]);
            }
    }
    if (embed || pooled) {
        if (pooled) memset(pooled, 0, B * D * sizeof(float));
        for (size_t b = 0; b < B; b++)
            for (size_t t = 0; t < L; t++) {
                const float *f = a->F + (b * L + t) * D;
                const float *h = a->two ? a->F + ((B + b) * L + L - 1 - t) * D : f;
                for (size_t j = 0; j < D; j++) {
                    float e = 0.5f * (f[j] + h[j]);
                    if (embed) embed[(b * L + t) * D + j] = e;
                    if (pooled) pooled[b * D + j] += e / (float)L;
                }
            }
    }
    return 0;
}

int caduceus_backward(caduceus_model *m, const float *dlogits)
{
    struct caduceus_acts *a = m->acts;
    if (!a || a->mode != CADUCEUS_TRAIN)
        return st_err(&m->err, STRAND_E_ARG, "caduceus backward: no training forward to differentiate");
    const caduceus_config *c = &m->cfg;
    size_t B = a->B, L = a->L, D = (size_t)c->d_model, V = (size_t)c->vocab, nseq = a->nseq, SL = nseq * L;
    size_t SLD = SL * D;
    float *dT = a->scratch, *dX = dT + SLD, *dU = dX + SLD, *dF = dU + SLD, *dG = dF + SLD, *rest = dG + SL * V;
    const float *E = pb_param(&m->pb, m->emb);
    float *dE = pb_grad(&m->pb, m->emb);
    /* head: logits[b,t,v] = G[b,t,v] (+ G[B+b, L−1−t, comp v] for PS) */
    memset(dG, 0, SL * V * sizeof(float));
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) {
            const float *gl = dlogits + (b * L + t) * V;
            float *g = dG + (b * L + t) * V;
            for (size_t v = 0; v < V; v++) g[v] += gl[v];
            if (a->two) {
                float *h = dG + ((B + b) * L + L - 1 - t) * V;
                for (size_t v = 0; v < V; v++) h[c->comp[v]] += gl[v];
            }
        }
    memset(dF, 0, SLD * sizeof(float));
    linear_backward(dF, dE, NULL, dG, a->F, E, SL, D, V);
    memset(dT, 0, SLD * sizeof(float));
    rmsnorm_backward(dT, pb_grad(&m->pb, m->norm_f), dF, a->T, pb_param(&m->pb, m->norm_f), a->rstdf, SL, D);
    for (int i = c->n_layer - 1; i >= 0; i--) {
        caduceus_layer *ly = &m->layers[i];
        memcpy(dX, dT, SLD * sizeof(float)); /* residual: T = X + Y */
        memset(dU, 0, SLD * sizeof(float));
        int rc = bimamba_backward(dU, &ly->g, dT, a->U[i], &a->ba[i], &ly->w, &m->md, nseq, L, rest);
        if (rc < 0) return rc;
        rmsnorm_backward(dX, pb_grad(&m->pb, ly->norm), dU, a->X[i], norm_w(m, i), a->rstd[i], SL, D);
        if (c->rcps) rcswap(dT, dX, B, L, D); /* the permutation is its own inverse */
        else memcpy(dT, dX, SLD * sizeof(float));
    }
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < L; t++) {
            float *e = dE + (size_t)a->ids[b * L + t] * D;
            const float *g = dT + (b * L + t) * D;
            for (size_t j = 0; j < D; j++) e[j] += g[j];
            if (a->two) {
                float *e2 = dE + (size_t)c->comp[a->ids[b * L + L - 1 - t]] * D;
                const float *g2 = dT + ((B + b) * L + t) * D;
                for (size_t j = 0; j < D; j++) e2[j] += g2[j];
            }
        }
    return 0;
}

double caduceus_mlm_loss(const float *logits, const int32_t *targets, size_t B, size_t L, size_t V,
                         float *dlogits)
{
    size_t n = 0;
    for (size_t i = 0; i < B * L; i++) n += targets[i] >= 0 && (size_t)targets[i] < V;
    if (dlogits) memset(dlogits, 0, B * L * V * sizeof(float));
    if (n == 0) return 0.0;
    double loss = 0;
    for (size_t i = 0; i < B * L; i++) {
        int32_t y = targets[i];
        if (y < 0 || (size_t)y >= V) continue;
        const float *z = logits + i * V;
        double mx = z[0], s = 0;
        for (size_t v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        for (size_t v = 0; v < V; v++) s += exp(z[v] - mx);
        double lse = mx + log(s);
        loss += lse - z[y];
        if (dlogits)
            for (size_t v = 0; v < V; v++)
                dlogits[i * V + v] = (float)((exp(z[v] - lse) - (v == (size_t)y)) / (double)n);
    }
    return loss / (double)n;
}
