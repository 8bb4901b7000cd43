/* Caduceus-PH / Caduceus-PS forward and backward in strand space (see caduceus.h, docs/caduceus.md). */
#include "caduceus/caduceus.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linear.h"
#include "core/gemm.h"
#include "core/rmsnorm.h"
#include "core/softmax.h"
#include "core/threads.h"

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

/* ---- run context ------------------------------------------------------------------------------------ */
/* The one layout of a context's block (core/arena.h), for c->B, c->L, c->mode, c->tile:
 * per layer X, U, rstd and the BiMamba set (training), or one shared set and the tile working
 * set (inference); then T, Y, F, rstdf, G and (training) the backward scratch. */
static void layout(caduceus_ctx *c, arena *ar)
{
    const caduceus_config *cf = &c->cfg;
    size_t B = c->B, L = c->L, D = (size_t)cf->d_model, V = (size_t)cf->vocab, NL = (size_t)cf->n_layer;
    int mode = c->mode;
    c->two = cf->rcps || mode == CADUCEUS_INFER;
    size_t nseq = c->two ? 2 * B : B, nl = mode == CADUCEUS_TRAIN ? NL : 1, gseq = nseq;
    if (mode != CADUCEUS_TRAIN) { /* BiMamba works on groups of sequences: O(group·L·D), a share per worker */
        size_t cap = 65536 / (L ? L : 1), nw = c->nw ? c->nw : 1;
        gseq = (nseq + nw - 1) / nw;
        if (gseq > cap) gseq = cap;
        if (gseq < 1) gseq = 1;
    }
    c->nseq = nseq, c->gseq = gseq;
    size_t SLD = nseq * L * D, T = c->tile < L ? c->tile : L;
    for (size_t l = 0; l < nl; l++) {
        float *X = arena_take(ar, SLD), *U = arena_take(ar, SLD), *r = arena_take(ar, nseq * L);
        bimamba_acts ba;
        if (mode == CADUCEUS_TRAIN) bimamba_acts_layout(&ba, ar, &c->md, gseq, L, 1);
        else
            for (size_t w = 0; w < c->nw; w++) bimamba_tile_layout(&c->taw[w], ar, &c->md, gseq, T);
        if (ar->base) {
            c->X[l] = X, c->U[l] = U, c->rstd[l] = r;
            if (mode == CADUCEUS_TRAIN) c->ba[l] = ba;
        }
    }
    c->T = arena_take(ar, SLD);
    c->Y = arena_take(ar, SLD);
    c->F = arena_take(ar, SLD);
    c->rstdf = arena_take(ar, nseq * L);
    c->G = arena_take(ar, nseq * L * V);
    c->scratch = mode == CADUCEUS_TRAIN ? arena_take(ar, 4 * SLD + nseq * L * V +
                                                         bimamba_backward_scratch_floats(&c->md, nseq, L))
                                        : NULL;
}

size_t caduceus_activation_floats(const caduceus_config *cfg, size_t B, size_t L, int mode)
{
    caduceus_ctx c;
    memset(&c, 0, sizeof c);
    c.cfg = *cfg;
    mamba_dims_default(&c.md, (size_t)cfg->d_model);
    c.B = B, c.L = L, c.mode = mode, c.tile = CADUCEUS_INFER_TILE;
    bimamba_tile_acts one; /* one worker */
    c.nw = 1, c.taw = &one;
    arena ar = arena_count();
    layout(&c, &ar);
    return ar.used;
}

int caduceus_ctx_create(caduceus_ctx **out, const caduceus_config *cfg)
{
    *out = NULL;
    if (cfg->d_model <= 0 || cfg->n_layer <= 0 || cfg->vocab <= 0 || cfg->vocab > CADUCEUS_VOCAB)
        return st_err(NULL, STRAND_E_ARG, "caduceus: bad config (d_model %d, n_layer %d, vocab %d; vocab must be 1..%d)",
                      cfg->d_model, cfg->n_layer, cfg->vocab, CADUCEUS_VOCAB);
    caduceus_ctx *c = calloc(1, sizeof *c);
    size_t nl = (size_t)cfg->n_layer;
    if (c) {
        c->X = calloc(nl, sizeof(float *)), c->U = calloc(nl, sizeof(float *)), c->rstd = calloc(nl, sizeof(float *));
        c->ba = calloc(nl, sizeof(bimamba_acts));
        c->g = calloc(nl, sizeof(bimamba_params));
    }
    if (!c || !c->X || !c->U || !c->rstd || !c->ba || !c->g) {
        caduceus_ctx_free(c);
        return st_err(NULL, STRAND_E_NOMEM, "caduceus: out of memory");
    }
    c->cfg = *cfg;
    mamba_dims_default(&c->md, (size_t)cfg->d_model);
    *out = c;
    return 0;
}

void caduceus_ctx_free(caduceus_ctx *c)
{
    if (!c) return;
    arena_block_free(&c->mem);
    free(c->ids), free(c->X), free(c->U), free(c->rstd), free(c->ba), free(c->g), free(c->taw);
    free(c);
}

static size_t ctx_tile(const caduceus_ctx *c) { return c->infer_tile ? c->infer_tile : CADUCEUS_INFER_TILE; }

/* Inference BiMamba work units per strand-space sequence: 2 on the many-tile path (L > tile: its
 * two directions are separate passes over the sequence, run as separate units and added in the
 * layer's epilogue), else 1 (bimamba_forward's arithmetic, both directions in one unit). */
static size_t infer_ndir(size_t L, size_t tile) { return L > tile ? 2 : 1; }

/* Inference workers of one forward: the strand_set_threads threads when strand space holds at
 * least that many units (sequences × infer_ndir: one PS sequence past a tile is 4 units, so
 * up to 4 threads work on it), the projections run strand's own GEMM (core/gemm.h: its result
 * does not depend on how rows are grouped, OpenBLAS's does) and the caller is not itself a worker
 * of a parallel region (VEP runs one forward per thread); else 1 (the layer's stages then use the
 * threads inside: OpenMP loops, BLAS threads). */
static size_t infer_workers(const caduceus_ctx *c, size_t B, size_t L, int mode)
{
    if (mode == CADUCEUS_TRAIN || !gemm_own()) return 1;
    if (omp_in_parallel()) return 1;
    size_t t = (size_t)st_threads(), nseq = c->cfg.rcps || mode == CADUCEUS_INFER ? 2 * B : B;
    return t > 1 && nseq * infer_ndir(L, ctx_tile(c)) >= t ? t : 1;
}

/* Lay the context out for (B, L, mode, workers) when it holds another layout. */
static int ctx_reserve(caduceus_ctx *c, size_t B, size_t L, int mode)
{
    size_t tile = ctx_tile(c), nw = infer_workers(c, B, L, mode);
    if (c->B == B && c->L == L && c->mode == mode && (mode == CADUCEUS_TRAIN || (c->tile == tile && c->nw == nw)))
        return 0;
    if (nw > c->nw || !c->taw) {
        bimamba_tile_acts *t = realloc(c->taw, nw * sizeof *t);
        if (!t) {
            c->B = c->L = 0;
            return st_err(&c->err, STRAND_E_NOMEM, "caduceus: out of memory");
        }
        c->taw = t;
    }
    c->B = B, c->L = L, c->mode = mode, c->tile = tile, c->nw = nw;
    arena ar = arena_count();
    layout(c, &ar);
    int rc = arena_block_reserve(&c->mem, ar.used);
    if (rc == 0 && B * L > c->cap_ids) {
        free(c->ids);
        c->ids = malloc(B * L * sizeof(int32_t));
        c->cap_ids = c->ids ? B * L : 0;
        if (!c->ids) rc = STRAND_E_NOMEM;
    }
    if (rc < 0) {
        c->B = c->L = 0;
        return st_err(&c->err, STRAND_E_NOMEM, "caduceus: cannot allocate activations for B=%zu L=%zu (%zu MB)", B, L,
                      ar.used * sizeof(float) >> 20);
    }
    ar = arena_on(c->mem.p);
    layout(c, &ar);
    return 0;
}

static int same_dims(const caduceus_config *a, const caduceus_config *b)
{
    return a->d_model == b->d_model && a->n_layer == b->n_layer && a->vocab == b->vocab && a->rcps == b->rcps;
}

/* ---- parameters -------------------------------------------------------------------------------- */
static int add1(caduceus_weights *m, const char *name, int64_t n0, int decay)
{
    int64_t s[1] = {n0};
    return pb_add(&m->pb, name, 1, s, decay);
}

int caduceus_create(caduceus_weights **out, const caduceus_config *cfg)
{
    *out = NULL;
    if (cfg->d_model <= 0 || cfg->n_layer <= 0 || cfg->vocab <= 0 || cfg->vocab > CADUCEUS_VOCAB)
        return st_err(NULL, STRAND_E_ARG, "caduceus: bad config (d_model %d, n_layer %d, vocab %d; vocab must be 1..%d)",
                      cfg->d_model, cfg->n_layer, cfg->vocab, CADUCEUS_VOCAB);
    for (int v = 0; v < cfg->vocab; v++)
        if (cfg->comp[v] < 0 || cfg->comp[v] >= cfg->vocab || cfg->comp[cfg->comp[v]] != v)
            return st_err(NULL, STRAND_E_ARG, "caduceus: complement map is not an involution on 0..%d (comp[%d] = %lld)",
                          cfg->vocab - 1, v, (long long)cfg->comp[v]);
    caduceus_weights *m = calloc(1, sizeof *m);
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
    if (rc >= 0) rc = pb_alloc_params(&m->pb);
    if (rc < 0) {
        caduceus_free(m);
        return rc;
    }
    for (int i = 0; i < cfg->n_layer; i++) {
        caduceus_layer *ly = &m->layers[i];
        mamba_bind(&ly->w.fwd, NULL, &m->pb, ly->fwd);
        mamba_bind(&ly->w.rev, NULL, &m->pb, ly->rev);
        ly->w.rev.p[MAMBA_IN_PROJ] = ly->w.fwd.p[MAMBA_IN_PROJ]; /* tied (docs/mamba.md "BiMamba") */
        ly->w.rev.p[MAMBA_OUT_PROJ] = ly->w.fwd.p[MAMBA_OUT_PROJ];
    }
    *out = m;
    return 0;
}

void caduceus_free(caduceus_weights *m)
{
    if (!m) return;
    pb_free(&m->pb);
    free(m->layers);
    free(m);
}

void caduceus_init_weights(caduceus_weights *m, uint64_t seed)
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

size_t caduceus_param_count(const caduceus_weights *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->pb.n; i++) n += m->pb.entries[i].numel;
    return n;
}

int caduceus_find(const caduceus_weights *m, const char *name) { return pb_find(&m->pb, name); }

/* ---- strand-space helpers ------------------------------------------------------------------------------ */
/* dst[s] = rc(src[s']) with s' the other strand: [a ; b] → [rc(b) ; rc(a)]; rc flips L and channels. */
static void rcswap_seq(float *dst, const float *src, size_t s, size_t B, size_t L, size_t D)
{
    size_t so = s < B ? s + B : s - B;
    for (size_t t = 0; t < L; t++) {
        float *d = dst + (s * L + t) * D;
        const float *q = src + (so * L + L - 1 - t) * D;
        for (size_t c = 0; c < D; c++) d[c] = q[D - 1 - c];
    }
}

static void rcswap(float *dst, const float *src, size_t B, size_t L, size_t D)
{
    for (size_t s = 0; s < 2 * B; s++) rcswap_seq(dst, src, s, B, L, D);
}

static const float *norm_w(const caduceus_weights *m, int i) { return pb_param(&m->pb, m->layers[i].norm); }

/* Inference layer i's prologue on the sequences [s0, s0+g) of strand space: X = rcswap(Tin)
 * (PH: Tin) for those sequences, U = RMSNorm(X). */
static void infer_prologue(const caduceus_weights *m, caduceus_ctx *a, int i, size_t s0, size_t g, const float *Tin)
{
    const caduceus_config *c = &m->cfg;
    size_t B = a->B, L = a->L, D = (size_t)c->d_model;
    for (size_t s = s0; s < s0 + g; s++) {
        if (!c->rcps) {
            memcpy(a->X[0] + s * L * D, Tin + s * L * D, L * D * sizeof(float));
            continue;
        }
        rcswap_seq(a->X[0], Tin, s, B, L, D); /* the other strand, reversed along L and channels */
    }
    rmsnorm_forward(a->U[0] + s0 * L * D, a->rstd[0] + s0 * L, a->X[0] + s0 * L * D, norm_w(m, i), g * L, D, c->eps);
}

/* Inference, one layer on the sequences [s0, s0+g) on worker w's tile working set: the prologue,
 * then Tout = X + BiMamba(U). Tin is only read and Tout only written for the group's own rows, so
 * groups run in parallel. */
static void infer_group(const caduceus_weights *m, caduceus_ctx *a, int i, size_t s0, size_t g, size_t w,
                        const float *Tin, float *Tout)
{
    size_t L = a->L, D = (size_t)m->cfg.d_model, off = s0 * L * D, n = g * L * D;
    const float *X = a->X[0] + off;
    const float *Y = a->Y + off;
    infer_prologue(m, a, i, s0, g, Tin);
    bimamba_forward_tiled(a->Y + off, &a->taw[w], a->U[0] + off, &m->layers[i].w, &m->md, g, L);
    for (size_t j = 0; j < n; j++) Tout[off + j] = X[j] + Y[j];
}

/* Group q of a->gseq sequences: its first sequence and size. */
static size_t group_of(const caduceus_ctx *a, size_t q, size_t *g)
{
    size_t s0 = q * a->gseq;
    *g = a->nseq - s0 < a->gseq ? a->nseq - s0 : a->gseq;
    return s0;
}

/* Many-tile unit u = (group u / 2, direction u % 2) of layer i on worker w's tile working set:
 * the forward direction writes Y, the reverse one F (the group's rows only). */
static void infer_unit(const caduceus_weights *m, caduceus_ctx *a, int i, size_t u, size_t w)
{
    size_t g, s0 = group_of(a, u / 2, &g), off = s0 * a->L * (size_t)m->cfg.d_model;
    int rev = (int)(u % 2);
    bimamba_forward_tiled_dir((rev ? a->F : a->Y) + off, &a->taw[w], a->U[0] + off, &m->layers[i].w, &m->md, g, a->L,
                              rev);
}

/* Many-tile epilogue of group q: T = X + (Y + F) = X + bimamba_forward_tiled's (fwd + rev). */
static void infer_epilogue(const caduceus_weights *m, caduceus_ctx *a, size_t q)
{
    size_t g, s0 = group_of(a, q, &g), LD = a->L * (size_t)m->cfg.d_model, off = s0 * LD, n = g * LD;
    const float *X = a->X[0] + off, *Yf = a->Y + off, *Yr = a->F + off;
    float *T = a->T + off;
    for (size_t j = 0; j < n; j++) T[j] = X[j] + (Yf[j] + Yr[j]);
}

/* Inference layers: groups of a->gseq sequences over a->nw workers (one OpenMP team for all
 * layers, BLAS single-threaded inside), each group's arithmetic independent of the worker count;
 * the result ends in T.
 * - One tile (L <= tile): a group is one unit (prologue, BiMamba, epilogue), T and F ping-pong,
 *   one barrier per layer.
 * - Many tiles: a layer is three phases with a barrier after each: the prologue per group (X, U
 *   from T), the units (group, direction) in any order (infer_unit), and the epilogue per group
 *   (infer_epilogue), which is bimamba_forward_tiled added to X, bit for bit. One PS sequence is
 *   four units: two threads share them dynamically (a worker slowed by another process takes
 *   fewer), up to four run at once. */
static void infer_layers(const caduceus_weights *m, caduceus_ctx *a)
{
    size_t ng = (a->nseq + a->gseq - 1) / a->gseq, SLD = a->nseq * a->L * (size_t)m->cfg.d_model;
    int many = infer_ndir(a->L, a->tile) == 2, nl = m->cfg.n_layer;
    if (a->nw > 1) {
        st_parallel_begin();
#pragma omp parallel num_threads((int)a->nw)
        {
            size_t w = (size_t)omp_get_thread_num();
            for (int i = 0; i < nl; i++) {
                if (!many) {
#pragma omp for schedule(static)
                    for (long q = 0; q < (long)ng; q++) {
                        size_t g, s0 = group_of(a, (size_t)q, &g);
                        infer_group(m, a, i, s0, g, w, i & 1 ? a->F : a->T, i & 1 ? a->T : a->F);
                    }
                    continue;
                }
#pragma omp for schedule(static)
                for (long q = 0; q < (long)ng; q++) {
                    size_t g, s0 = group_of(a, (size_t)q, &g);
                    infer_prologue(m, a, i, s0, g, a->T);
                }
#pragma omp for schedule(dynamic, 1)
                for (long u = 0; u < (long)(2 * ng); u++) infer_unit(m, a, i, (size_t)u, w);
#pragma omp for schedule(static)
                for (long q = 0; q < (long)ng; q++) infer_epilogue(m, a, (size_t)q);
            }
        }
        st_parallel_end();
    } else {
        for (int i = 0; i < nl; i++) { /* the same phases in order (a prologue reads the other strand's rows of T) */
            for (size_t q = 0; q < ng; q++) {
                size_t g, s0 = group_of(a, q, &g);
                if (many) infer_prologue(m, a, i, s0, g, a->T);
                else infer_group(m, a, i, s0, g, 0, i & 1 ? a->F : a->T, i & 1 ? a->T : a->F);
            }
            for (size_t u = 0; many && u < 2 * ng; u++) infer_unit(m, a, i, u, 0);
            for (size_t q = 0; many && q < ng; q++) infer_epilogue(m, a, q);
        }
    }
    if (!many && (nl & 1)) memcpy(a->T, a->F, SLD * sizeof(float));
}

int caduceus_forward(const caduceus_weights *m, caduceus_ctx *a, const int32_t *ids, size_t B, size_t L, int mode,
                     float *logits, float *embed, float *pooled)
{
    const caduceus_config *c = &m->cfg;
    if (!same_dims(c, &a->cfg))
        return st_err(&a->err, STRAND_E_ARG, "caduceus forward: the context was made for other dimensions than the weights");
    if (!ids || B == 0 || L == 0) return st_err(&a->err, STRAND_E_ARG, "caduceus forward: empty input (B=%zu, L=%zu)", B, L);
    for (size_t i = 0; i < B * L; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab)
            return st_err(&a->err, STRAND_E_ARG, "caduceus forward: sequence %zu position %zu: token id %d outside 0..%d",
                          i / L, i % L, ids[i], c->vocab - 1);
    if (memcmp(&a->md, &m->md, sizeof m->md) != 0) { /* e.g. another scan chunk: lay out again */
        a->md = m->md;
        a->B = 0;
    }
    int rc = ctx_reserve(a, B, L, mode);
    if (rc < 0) return rc;
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
    for (int i = 0; mode == CADUCEUS_TRAIN && i < c->n_layer; i++) {
        size_t li = (size_t)i;
        float *X = a->X[li], *U = a->U[li];
        if (c->rcps) rcswap(X, a->T, B, L, D); /* docs/caduceus.md "The half-swap" */
        else memcpy(X, a->T, SL * D * sizeof(float));
        rmsnorm_forward(U, a->rstd[li], X, norm_w(m, i), SL, D, c->eps);
        bimamba_forward(a->Y, &a->ba[li], U, &m->layers[i].w, &m->md, nseq, L);
        for (size_t j = 0; j < SL * D; j++) a->T[j] = X[j] + a->Y[j];
    }
    if (mode != CADUCEUS_TRAIN) infer_layers(m, a);
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

int caduceus_backward(const caduceus_weights *m, caduceus_ctx *a, const float *dlogits, float *grads)
{
    if (!a->B || a->mode != CADUCEUS_TRAIN)
        return st_err(&a->err, STRAND_E_ARG, "caduceus backward: no training forward to differentiate");
    if (!same_dims(&m->cfg, &a->cfg) || !grads)
        return st_err(&a->err, STRAND_E_ARG, "caduceus backward: %s",
                      grads ? "the context was made for other dimensions than the weights" : "no gradient block");
    const caduceus_config *c = &m->cfg;
    size_t B = a->B, L = a->L, D = (size_t)c->d_model, V = (size_t)c->vocab, nseq = a->nseq, SL = nseq * L;
    size_t SLD = SL * D;
    float *dT = a->scratch, *dX = dT + SLD, *dU = dX + SLD, *dF = dU + SLD, *dG = dF + SLD, *rest = dG + SL * V;
    const float *E = pb_param(&m->pb, m->emb);
#define GRAD(idx) (grads + m->pb.entries[idx].offset)
    float *dE = GRAD(m->emb);
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
    rmsnorm_backward(dT, GRAD(m->norm_f), dF, a->T, pb_param(&m->pb, m->norm_f), a->rstdf, SL, D);
    for (int i = c->n_layer - 1; i >= 0; i--) {
        const caduceus_layer *ly = &m->layers[i];
        bimamba_params *g = &a->g[i]; /* views of grads; rev's tied in/out stay NULL (fwd's slots get both) */
        memset(g, 0, sizeof *g);
        for (int k = 0; k < MAMBA_NPARAM; k++) {
            if (ly->fwd[k] >= 0) g->fwd.p[k] = GRAD(ly->fwd[k]);
            if (ly->rev[k] >= 0) g->rev.p[k] = GRAD(ly->rev[k]);
        }
        memcpy(dX, dT, SLD * sizeof(float)); /* residual: T = X + Y */
        memset(dU, 0, SLD * sizeof(float));
        int rc = bimamba_backward(dU, g, dT, a->U[i], &a->ba[i], &ly->w, &m->md, nseq, L, rest);
        if (rc < 0) return rc;
        rmsnorm_backward(dX, GRAD(ly->norm), dU, a->X[i], norm_w(m, i), a->rstd[i], SL, D);
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
#undef GRAD
    return 0;
}

double caduceus_mlm_loss(const float *logits, const int32_t *targets, size_t B, size_t L, size_t V,
                         float *dlogits)
{
    size_t BL = B * L;
    float *lse = malloc((BL ? BL : 1) * sizeof(float));
    if (!lse) {
        st_err(NULL, STRAND_E_NOMEM, "caduceus MLM loss: out of memory");
        return NAN;
    }
    float loss = 0.0f, norm = 0.0f;
    int rc = crossentropy_forward(&loss, lse, &norm, logits, targets, NULL, -1, 0.0f, BL, (size_t)V);
    if (rc == 0 && dlogits) crossentropy_backward(dlogits, 1.0f, logits, lse, targets, NULL, -1, norm, BL, V);
    free(lse);
    return rc < 0 ? NAN : (double)loss;
}
