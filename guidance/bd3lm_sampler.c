/* Block diffusion sampler (guidance/bd3lm_sampler.h). */
#include "guidance/bd3lm_sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/block_mask.h"
#include "core/clock.h"
#include "core/dit_kv.h"
#include "core/error.h"
#include "guidance/posterior.h"

#define T_EPS 1e-5 /* docs/diffusion.md "Time grid" */

bd3lm_sampler_params bd3lm_sampler_default_params(void)
{
    bd3lm_sampler_params p;
    memset(&p, 0, sizeof p);
    p.steps = 16;
    p.noise_removal = 1;
    p.top_p = 1.0;
    p.label = -1;
    p.gamma = 1.0;
    p.bos_id = p.eos_id = p.pad_id = -1;
    p.use_kv = 1;
    p.batch = 16;
    return p;
}

/* One batch's state. R network rows: Bt, or 2·Bt for a CFG pair (y then null). */
typedef struct bstate {
    diff_model *m;
    const bd3lm_sampler_params *p;
    size_t Lb, Bt, R, N, total, window, ctx_blocks;
    int cfg2;          /* 1: two rows per sample */
    int32_t *labels;   /* (R) */
    int32_t *seq;      /* (Bt, total) */
    int32_t *blk;      /* (R, Lb) the current block (both halves of a CFG pair) */
    float *logits;     /* (R, Lb, N) */
    float *full;       /* (R, window, N) uncached */
    int32_t *in;       /* (R, window) uncached */
    float *mask;       /* (window, window) uncached */
    dit_kv *kv;
    double *q, *scr;
    strand_rng *rng;   /* (Bt) */
    bd3lm_sample_stats *st;
} bstate;

/* logits of the current block (rows R) given the prefix seq[:, 0:start) */
static int block_logits(bstate *s, size_t start)
{
    size_t Lb = s->Lb, R = s->R, N = s->N;
    int rc;
    s->st->net_calls++, s->st->net_rows += R;
    if (s->p->use_kv) {
        s->st->net_tokens += R * Lb;
        if ((rc = dit_kv_forward(s->m->w, s->kv, s->blk, Lb, 0, s->logits)) < 0) return st_err(NULL, rc, "%s", dit_kv_error(s->kv));
        return 0;
    }
    size_t ctx = start < s->ctx_blocks * Lb ? start : s->ctx_blocks * Lb, n = ctx + Lb;
    for (size_t r = 0; r < R; r++) {
        size_t b = r % s->Bt;
        memcpy(s->in + r * n, s->seq + b * s->total + start - ctx, ctx * sizeof(int32_t));
        memcpy(s->in + r * n + ctx, s->blk + r * Lb, Lb * sizeof(int32_t));
    }
    block_mask_causal_additive(s->mask, n, Lb);
    dit_ctx *c = s->m->ctx;
    c->attn_mask = s->mask;
    c->rope_period = 0;
    s->st->net_tokens += R * n;
    rc = dit_forward(s->m->w, c, s->in, NULL, NULL, s->m->w->cfg.num_classes ? s->labels : NULL, R, n, s->full);
    c->attn_mask = NULL;
    if (rc < 0) return rc;
    for (size_t r = 0; r < R; r++) memcpy(s->logits + r * Lb * N, s->full + (r * n + ctx) * N, Lb * N * sizeof(float));
    return 0;
}

/* q (N) for row b, position l at alpha_t -> alpha_s; returns 1 when the position is masked */
static int step_row(bstate *s, size_t b, size_t l, double at, double as)
{
    const bd3lm_sampler_params *p = s->p;
    diff_step_params sp = {DIFF_MASKED, (int)s->N, s->m->spec.mask_id, at, as, 1.0, p->top_p};
    const float *l0 = s->logits + (b * s->Lb + l) * s->N;
    const float *lc = l0, *lu = NULL;
    if (s->cfg2) {
        sp.gamma = p->gamma;
        lu = s->logits + ((s->Bt + b) * s->Lb + l) * s->N;
    }
    return diff_step_row(&sp, lc, lu, s->blk[b * s->Lb + l], NULL, s->q, s->scr);
}

static void sync_halves(bstate *s)
{
    if (s->R > s->Bt) memcpy(s->blk + s->Bt * s->Lb, s->blk, s->Bt * s->Lb * sizeof(int32_t));
}

static int run_block(bstate *s, size_t start)
{
    const bd3lm_sampler_params *p = s->p;
    size_t Lb = s->Lb, Bt = s->Bt, N = s->N;
    int mask = s->m->spec.mask_id, rc;
    for (size_t i = 0; i < Bt * Lb; i++) s->blk[i] = mask;
    if (start == 0 && p->bos_id >= 0)
        for (size_t b = 0; b < Bt; b++) s->blk[b * Lb] = p->bos_id;
    sync_halves(s);
    if (p->first_hitting) {
        for (;;) {
            size_t left = 0;
            for (size_t i = 0; i < Bt * Lb; i++) left += s->blk[i] == mask;
            if (!left) return 0;
            if ((rc = block_logits(s, start)) < 0) return rc;
            for (size_t b = 0; b < Bt; b++) {
                size_t nm = 0;
                for (size_t l = 0; l < Lb; l++) nm += s->blk[b * Lb + l] == mask;
                if (!nm) continue;
                size_t k = (size_t)strand_rng_below(&s->rng[b], nm), l = 0;
                for (;; l++)
                    if (s->blk[b * Lb + l] == mask && k-- == 0) break;
                step_row(s, b, l, 0.0, 1.0); /* s = 0: q = x_theta (mixed, top-p) */
                s->blk[b * Lb + l] = diff_race(s->q, (int)N, &s->rng[b]);
            }
            sync_halves(s);
        }
    }
    const diff_schedule *sc = &s->m->spec.sched;
    int have = 0;
    for (int k = 0; k < p->steps; k++) {
        double t = 1.0 - (double)k * (1.0 - T_EPS) / p->steps, u = 1.0 - (double)(k + 1) * (1.0 - T_EPS) / p->steps;
        size_t left = 0;
        for (size_t i = 0; i < Bt * Lb; i++) left += s->blk[i] == mask;
        if (!left) return 0;
        /* logits are reused while no position of the batch changed (the input is the same) */
        if (!have && (rc = block_logits(s, start)) < 0) return rc;
        have = 1;
        double at = diff_alpha(sc, t), as = diff_alpha(sc, u);
        for (size_t b = 0; b < Bt; b++)
            for (size_t l = 0; l < Lb; l++) {
                if (s->blk[b * Lb + l] != mask) continue;
                step_row(s, b, l, at, as);
                int32_t v = diff_race(s->q, (int)N, &s->rng[b]);
                if (v != mask) s->blk[b * Lb + l] = v, have = 0;
            }
        sync_halves(s);
    }
    size_t left = 0;
    for (size_t i = 0; i < Bt * Lb; i++) left += s->blk[i] == mask;
    if (left && p->noise_removal) {
        if (!have && (rc = block_logits(s, start)) < 0) return rc;
        double at = diff_alpha(sc, T_EPS);
        for (size_t b = 0; b < Bt; b++)
            for (size_t l = 0; l < Lb; l++)
                if (s->blk[b * Lb + l] == mask) {
                    step_row(s, b, l, at, 1.0);
                    s->blk[b * Lb + l] = diff_argmax(s->q, (int)N);
                }
        sync_halves(s);
    }
    return 0;
}

static void bstate_free(bstate *s)
{
    dit_kv_free(s->kv);
    free(s->labels), free(s->seq), free(s->blk), free(s->logits), free(s->full), free(s->in), free(s->mask);
    free(s->q), free(s->scr), free(s->rng);
}

int bd3lm_sample(diff_model *m, size_t Lb, const bd3lm_sampler_params *p, size_t n, int32_t *out, size_t *lens,
                 bd3lm_sample_stats *stats)
{
    bd3lm_sample_stats local;
    bd3lm_sample_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    double t0 = st_clock_s();
    if (!m->w) return st_err(NULL, STRAND_E_UNSUPPORTED, "BD3-LM sampler: the model must have the DiT backbone");
    const dit_config *cf = &m->w->cfg;
    size_t window = p->window ? p->window : (size_t)cf->model_length;
    if (m->spec.proc != DIFF_MASKED || cf->time_cond)
        return st_err(NULL, STRAND_E_UNSUPPORTED, "BD3-LM sampler: the model must be masked and not time-conditioned");
    if (Lb < 1 || Lb > window || window > (size_t)cf->model_length || p->length < 1 || p->batch < 1 || n < 1 ||
        (!p->first_hitting && p->steps < 1) || !(p->top_p > 0 && p->top_p <= 1) || !(p->gamma >= 0))
        return st_err(NULL, STRAND_E_ARG,
                      "BD3-LM sampler: block %zu, window %zu (model length %d), length %zu, batch %zu, steps %d, top-p %g, "
                      "gamma %g",
                      Lb, window, cf->model_length, p->length, p->batch, p->steps, p->top_p, p->gamma);
    if (p->label >= 0 && (cf->num_classes == 0 || p->label >= cf->num_classes))
        return st_err(NULL, STRAND_E_RANGE, "BD3-LM sampler: label %d but the model has %d classes", p->label, cf->num_classes);
    size_t nblocks = (p->length + Lb - 1) / Lb, total = nblocks * Lb;
    int rc = 0;
    for (size_t i0 = 0; i0 < n && rc == 0; i0 += p->batch) {
        bstate s;
        memset(&s, 0, sizeof s);
        s.m = m, s.p = p, s.Lb = Lb, s.Bt = n - i0 < p->batch ? n - i0 : p->batch, s.N = (size_t)cf->vocab;
        s.total = total, s.window = window, s.ctx_blocks = (window - Lb) / Lb, s.st = st;
        s.cfg2 = p->label >= 0 && p->gamma != 0 && p->gamma != 1;
        s.R = s.cfg2 ? 2 * s.Bt : s.Bt;
        size_t R = s.R, N = s.N;
        s.labels = malloc(R * sizeof *s.labels);
        s.seq = calloc(s.Bt * total, sizeof *s.seq);
        s.blk = malloc(R * Lb * sizeof *s.blk);
        s.logits = malloc(R * Lb * N * sizeof *s.logits);
        s.q = malloc(N * sizeof *s.q);
        s.scr = malloc(DIFF_STEP_SCRATCH(N) * sizeof *s.scr);
        s.rng = malloc(s.Bt * sizeof *s.rng);
        if (!p->use_kv) {
            s.full = malloc(R * window * N * sizeof *s.full);
            s.in = malloc(R * window * sizeof *s.in);
            s.mask = malloc(window * window * sizeof *s.mask);
        }
        if (!s.labels || !s.seq || !s.blk || !s.logits || !s.q || !s.scr || !s.rng ||
            (!p->use_kv && (!s.full || !s.in || !s.mask))) {
            bstate_free(&s);
            return st_err(NULL, STRAND_E_NOMEM, "BD3-LM sampler: out of memory");
        }
        int nc = cf->num_classes;
        for (size_t r = 0; r < R; r++)
            s.labels[r] = p->label < 0 || (p->gamma == 0) || r >= s.Bt ? nc : p->label;
        for (size_t b = 0; b < s.Bt; b++) diff_sample_stream(p->seed, i0 + b, &s.rng[b]);
        if (p->use_kv && ((rc = dit_kv_create(&s.kv, cf, R, s.ctx_blocks * Lb + Lb, Lb)) < 0 ||
                          (rc = dit_kv_reset(s.kv, m->w, s.labels)) < 0)) {
            if (s.kv) st_err(NULL, rc, "%s", dit_kv_error(s.kv));
            bstate_free(&s);
            return rc;
        }
        size_t *len = calloc(s.Bt, sizeof *len);
        if (!len) rc = st_err(NULL, STRAND_E_NOMEM, "BD3-LM sampler: out of memory");
        size_t done = 0;
        for (size_t j = 0; rc == 0 && j < nblocks && done < s.Bt; j++) {
            size_t start = j * Lb;
            if (p->use_kv && dit_kv_len(s.kv) > s.ctx_blocks * Lb) dit_kv_drop(s.kv, dit_kv_len(s.kv) - s.ctx_blocks * Lb);
            if ((rc = run_block(&s, start)) < 0) break;
            for (size_t b = 0; b < s.Bt; b++) {
                memcpy(s.seq + b * total + start, s.blk + b * Lb, Lb * sizeof(int32_t));
                if (len[b]) continue;
                for (size_t l = 0; p->eos_id >= 0 && l < Lb; l++)
                    if (s.blk[b * Lb + l] == p->eos_id) {
                        len[b] = start + l + 1;
                        done++;
                        break;
                    }
            }
            /* the finished block becomes clean context (not needed after the last block) */
            if (p->use_kv && j + 1 < nblocks && done < s.Bt) {
                st->net_calls++, st->net_rows += R, st->net_tokens += R * Lb;
                if ((rc = dit_kv_forward(m->w, s.kv, s.blk, Lb, 1, NULL)) < 0) st_err(NULL, rc, "%s", dit_kv_error(s.kv));
            }
            uint64_t nbatch = (n + p->batch - 1) / p->batch, bi = i0 / p->batch;
            if (rc == 0 && p->progress && p->progress(p->progress_user, bi * nblocks + j + 1, nbatch * nblocks))
                rc = st_err(NULL, STRAND_E_CANCELLED, "BD3-LM sampler: cancelled");
        }
        for (size_t b = 0; rc == 0 && b < s.Bt; b++) {
            size_t L = len[b] ? (len[b] < p->length ? len[b] : p->length) : p->length;
            int32_t *o = out + (i0 + b) * p->length;
            memcpy(o, s.seq + b * total, L * sizeof *o);
            for (size_t l = L; l < p->length; l++) o[l] = p->pad_id >= 0 ? p->pad_id : s.seq[b * total + l];
            if (lens) lens[i0 + b] = L;
            st->tokens += L;
        }
        free(len);
        bstate_free(&s);
    }
    st->seconds = st_clock_s() - t0;
    return rc;
}
