/* Ancestral MDLM/UDLM samplers with classifier-free guidance (guidance/sampler.h; docs/diffusion.md
 * "Time grid", "MDLM sampler", "UDLM sampler", "Classifier-free guidance"). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threads.h"
#include "guidance/sampler.h"

diff_sampler_params diff_sampler_default_params(void)
{
    diff_sampler_params p;
    memset(&p, 0, sizeof p);
    p.proc = DIFF_MASKED;
    p.sched = diff_schedule_default();
    p.mask_id = STRAND_TOKEN_MASK;
    p.steps = 32;
    p.t_eps = 1e-5;
    p.label = -1;
    p.gamma = 1.0;
    p.top_p = 1.0;
    p.noise_removal = 1;
    p.use_cache = 1;
    p.batch = 64;
    return p;
}

int diff_sampler_check(const diff_net *net, const diff_sampler_params *p)
{
    if (!net || !p || !net->logits) return st_err(NULL, STRAND_E_ARG, "sampler: NULL network or parameters");
    if (p->proc != DIFF_MASKED && p->proc != DIFF_UNIFORM)
        return st_err(NULL, STRAND_E_ARG, "sampler: unknown process %d", (int)p->proc);
    if (p->proc == DIFF_MASKED && (p->mask_id < 0 || p->mask_id >= net->vocab))
        return st_err(NULL, STRAND_E_RANGE, "sampler: [MASK] id %d outside the vocabulary 0..%d", p->mask_id,
                      net->vocab - 1);
    if (p->steps < 1) return st_err(NULL, STRAND_E_RANGE, "sampler: steps %d (must be >= 1)", p->steps);
    if (p->L < 1 || p->L > net->max_len)
        return st_err(NULL, STRAND_E_RANGE, "sampler: length %zu outside 1..%zu (the model's length)", p->L,
                      net->max_len);
    if (!(p->t_eps > 0 && p->t_eps < 1)) return st_err(NULL, STRAND_E_RANGE, "sampler: t_eps %g outside (0, 1)", p->t_eps);
    if (!(isfinite(p->gamma) && p->gamma >= 0))
        return st_err(NULL, STRAND_E_RANGE, "sampler: guidance weight gamma %g (must be finite and >= 0)", p->gamma);
    if (!(p->top_p > 0 && p->top_p <= 1)) return st_err(NULL, STRAND_E_RANGE, "sampler: top-p %g outside (0, 1]", p->top_p);
    if (p->tail < DIFF_TAIL_NONE || p->tail > DIFF_TAIL_ANCESTRAL)
        return st_err(NULL, STRAND_E_ARG, "sampler: tail %d is not none, greedy or ancestral", p->tail);
    if (p->proc == DIFF_MASKED && p->tail != DIFF_TAIL_NONE)
        return st_err(NULL, STRAND_E_ARG, "sampler: a tail is for uniform-state (UDLM/Duo) models; a masked model ends "
                                          "with its noise-removal step");
    if (p->batch < 1) return st_err(NULL, STRAND_E_RANGE, "sampler: batch size 0");
    if (p->label >= 0 && net->num_classes == 0)
        return st_err(NULL, STRAND_E_ARG, "sampler: label %d given but the model has no label conditioning", p->label);
    if (p->label >= net->num_classes && p->label >= 0)
        return st_err(NULL, STRAND_E_RANGE, "sampler: label %d outside the model's classes 0..%d", p->label,
                      net->num_classes - 1);
    if (p->label < -1) return st_err(NULL, STRAND_E_RANGE, "sampler: label %d (use -1 for none)", p->label);
    return 0;
}

void diff_sample_stream(uint64_t seed, size_t i, strand_rng *rng)
{
    strand_rng_seed(rng, seed);
    for (size_t k = 0; k < i; k++) strand_rng_jump(rng);
}

/* Which calls a step makes: conditional (label yc) and/or unconditional (label yu, the null
 * label, or no label at all on an unconditioned network). */
typedef struct cfg_mode {
    int use_c, use_u;
    int32_t yc, yu;
} cfg_mode;

static cfg_mode mode_of(const diff_net *net, const diff_sampler_params *p)
{
    cfg_mode m = {0, 1, -1, -1};
    if (net->num_classes > 0) {
        m.yu = net->num_classes;
        if (p->label >= 0) {
            m.yc = p->label;
            if (p->gamma == 1) m.use_c = 1, m.use_u = 0;
            else if (p->gamma != 0) m.use_c = 1;
        }
    }
    return m;
}

struct diff_worker {
    void *nctx;
    void (*ctx_free)(void *);
    size_t cap, L;
    int N;
    int32_t *z;          /* (cap, L) the batch's tokens */
    int32_t *ids, *lab;  /* (2cap, L) (2cap): network input */
    float *sig;          /* (2cap) */
    float *out;          /* (2cap, L, N) network output */
    float *lc, *lu;      /* (cap, L, N) logits of the last call of each row (cache) */
    unsigned char *valid; /* (cap) lc/lu hold the logits of the row's current tokens */
    unsigned char *want;  /* (cap) */
    size_t *rows;        /* (cap) */
    double *adj;         /* (cap, L, N) or NULL */
    double *q, *scratch; /* (N) (DIFF_STEP_SCRATCH(N)) */
};

void diff_worker_free(diff_worker *w)
{
    if (!w) return;
    if (w->ctx_free) w->ctx_free(w->nctx);
    free(w->z), free(w->ids), free(w->lab), free(w->sig), free(w->out), free(w->lc), free(w->lu);
    free(w->valid), free(w->want), free(w->rows), free(w->adj), free(w->q), free(w->scratch);
    free(w);
}

int diff_worker_create(const diff_net *net, size_t batch, size_t L, int with_adj, diff_worker **out)
{
    *out = NULL;
    diff_worker *w = calloc(1, sizeof *w);
    if (!w) return st_err(NULL, STRAND_E_NOMEM, "sampler: out of memory");
    w->cap = batch, w->L = L, w->N = net->vocab;
    size_t BL = batch * L, BLN = BL * (size_t)net->vocab;
    w->z = malloc(BL * sizeof *w->z);
    w->ids = malloc(2 * BL * sizeof *w->ids);
    w->lab = malloc(2 * batch * sizeof *w->lab);
    w->sig = malloc(2 * batch * sizeof *w->sig);
    w->out = malloc(2 * BLN * sizeof *w->out);
    w->lc = malloc(BLN * sizeof *w->lc);
    w->lu = malloc(BLN * sizeof *w->lu);
    w->valid = calloc(batch, 1);
    w->want = calloc(batch, 1);
    w->rows = malloc(batch * sizeof *w->rows);
    w->adj = with_adj ? malloc(BLN * sizeof *w->adj) : NULL;
    w->q = malloc((size_t)net->vocab * sizeof *w->q);
    w->scratch = malloc(DIFF_STEP_SCRATCH(net->vocab) * sizeof *w->scratch);
    if (!w->z || !w->ids || !w->lab || !w->sig || !w->out || !w->lc || !w->lu || !w->valid || !w->want || !w->rows ||
        (with_adj && !w->adj) || !w->q || !w->scratch) {
        diff_worker_free(w);
        return st_err(NULL, STRAND_E_NOMEM, "sampler: out of memory for a batch of %zu x %zu", batch, L);
    }
    if (net->ctx_create) {
        int rc = net->ctx_create(net->self, &w->nctx);
        if (rc < 0) {
            diff_worker_free(w);
            return rc;
        }
        w->ctx_free = net->ctx_free;
    }
    *out = w;
    return 0;
}

/* Logits for the rows of the batch (B rows in w->z) that need them: want[b] (NULL: all) and not
 * valid when the cache may be used. One network call: the conditional rows then the
 * unconditional ones. */
static int eval_rows(const diff_net *net, diff_worker *w, const cfg_mode *m, size_t B, float sigma, int cache_ok,
                     const unsigned char *want, diff_sample_stats *st)
{
    size_t L = w->L, LN = L * (size_t)w->N, R = 0;
    for (size_t b = 0; b < B; b++) {
        if (want && !want[b]) continue;
        if (cache_ok && w->valid[b]) continue;
        w->rows[R++] = b;
    }
    if (R == 0) return 0;
    size_t k = 0;
    for (int part = 0; part < 2; part++) {
        if ((part == 0 && !m->use_c) || (part == 1 && !m->use_u)) continue;
        for (size_t r = 0; r < R; r++, k++) {
            memcpy(w->ids + k * L, w->z + w->rows[r] * L, L * sizeof *w->ids);
            w->lab[k] = part == 0 ? m->yc : m->yu;
            w->sig[k] = sigma;
        }
    }
    int rc = net->logits(net->self, w->nctx, w->ids, w->sig, net->num_classes ? w->lab : NULL, k, L, w->out);
    if (rc < 0) return rc;
    size_t off = 0;
    if (m->use_c) {
        for (size_t r = 0; r < R; r++) memcpy(w->lc + w->rows[r] * LN, w->out + r * LN, LN * sizeof *w->lc);
        off = R;
    }
    if (m->use_u)
        for (size_t r = 0; r < R; r++) memcpy(w->lu + w->rows[r] * LN, w->out + (off + r) * LN, LN * sizeof *w->lu);
    for (size_t r = 0; r < R; r++) w->valid[w->rows[r]] = 1;
    if (st) st->net_calls++, st->net_rows += k;
    return 0;
}

static diff_step_params step_params(const diff_net *net, const diff_sampler_params *p, double t, double s)
{
    diff_step_params sp = {p->proc, net->vocab, p->mask_id, diff_alpha(&p->sched, t),
                           s <= 0 ? 1.0 : diff_alpha(&p->sched, s), p->gamma, p->top_p};
    return sp;
}

/* 1: adjustments in w->adj; 0: none this step (no guide, or the guide added nothing); < 0: error. */
static int guide_step(const diff_sampler_params *p, diff_worker *w, size_t B, int thread, double t, double s)
{
    if (!p->guide) return 0;
    memset(w->adj, 0, B * w->L * (size_t)w->N * sizeof *w->adj);
    int rc = p->guide(p->guide_user, thread, w->z, B, w->L, w->N, t, s, w->adj);
    return rc < 0 ? rc : rc == 0;
}

/* Draw z_s for every position of rows b with want[b] (NULL: all) in place; a row that changes
 * loses its cached logits. */
static void draw_rows(const diff_step_params *sp, const cfg_mode *m, diff_worker *w, size_t B, int greedy,
                      const unsigned char *want, strand_rng *rngs, int with_adj)
{
    size_t L = w->L, N = (size_t)w->N;
    for (size_t b = 0; b < B; b++) {
        if (want && !want[b]) continue;
        int changed = 0;
        for (size_t l = 0; l < L; l++) {
            size_t i = b * L + l;
            int32_t zt = w->z[i];
            if (sp->proc == DIFF_MASKED && zt != sp->mask_id) continue; /* copied */
            diff_step_row(sp, m->use_c ? w->lc + i * N : NULL, m->use_u ? w->lu + i * N : NULL, zt,
                          with_adj ? w->adj + i * N : NULL, w->q, w->scratch);
            int32_t v = greedy ? diff_argmax(w->q, (int)N) : diff_race(w->q, (int)N, &rngs[b]);
            if (v != zt) w->z[i] = v, changed = 1;
        }
        if (changed) w->valid[b] = 0;
    }
}

/* The grid linspace(1, t_eps, T + 1). */
static double grid_t(const diff_sampler_params *p, int i)
{
    return i >= p->steps ? p->t_eps : 1.0 - (1.0 - p->t_eps) * ((double)i / p->steps);
}

typedef struct shared_run {
    uint64_t done, total;
    int cancelled, rc;
    st_errbuf err;
    const diff_sampler_params *p;
} shared_run;

static int report(shared_run *sh)
{
    int stop;
#pragma omp critical(diff_sampler_progress)
    {
        sh->done++;
        if (sh->p->progress && !sh->cancelled && sh->p->progress(sh->p->progress_user, sh->done, sh->total))
            sh->cancelled = 1;
        stop = sh->cancelled;
    }
    return stop;
}

/* One batch from the prior to the end (fast path). rngs: the batch's B streams. */
static int run_batch(const diff_net *net, const diff_sampler_params *p, diff_worker *w, size_t B, strand_rng *rngs,
                     int32_t *out, int thread, shared_run *sh, diff_sample_stats *st)
{
    size_t L = p->L;
    cfg_mode m = mode_of(net, p);
    for (size_t b = 0; b < B; b++) {
        w->valid[b] = 0;
        for (size_t l = 0; l < L; l++)
            w->z[b * L + l] = p->proc == DIFF_MASKED ? p->mask_id : (int32_t)strand_rng_below(&rngs[b], (uint64_t)net->vocab);
    }
    int cache_ok = p->use_cache && !net->time_cond, rc;
    for (int i = 0; i < p->steps; i++) {
        double t = grid_t(p, i), s = grid_t(p, i + 1);
        if ((rc = eval_rows(net, w, &m, B, diff_model_sigma(&p->sched, t, net->time_cond), cache_ok, NULL, st)) < 0)
            return rc;
        if ((rc = guide_step(p, w, B, thread, t, s)) < 0) return rc;
        diff_step_params sp = step_params(net, p, t, s);
        draw_rows(&sp, &m, w, B, p->greedy_final && i == p->steps - 1, NULL, rngs, rc);
        st->steps++;
        if (sh && report(sh)) return STRAND_E_CANCELLED;
    }
    if (p->proc == DIFF_MASKED && p->noise_removal) { /* greedy t_eps -> 0 where [MASK] is left */
        int any = 0;
        for (size_t b = 0; b < B; b++) {
            w->want[b] = 0;
            for (size_t l = 0; l < L && !w->want[b]; l++) w->want[b] = w->z[b * L + l] == p->mask_id;
            any |= w->want[b];
        }
        if (any) {
            double t = p->t_eps;
            if ((rc = eval_rows(net, w, &m, B, diff_model_sigma(&p->sched, t, net->time_cond), cache_ok, w->want, st)) < 0)
                return rc;
            if ((rc = guide_step(p, w, B, thread, t, 0)) < 0) return rc;
            diff_step_params sp = step_params(net, p, t, 0);
            draw_rows(&sp, &m, w, B, 1, w->want, rngs, rc);
        }
    }
    if (p->proc == DIFF_UNIFORM && p->tail != DIFF_TAIL_NONE) { /* t_eps -> 0 */
        double t = p->t_eps;
        if ((rc = eval_rows(net, w, &m, B, diff_model_sigma(&p->sched, t, net->time_cond), 0, NULL, st)) < 0) return rc;
        if ((rc = guide_step(p, w, B, thread, t, 0)) < 0) return rc;
        diff_step_params sp = step_params(net, p, t, 0);
        if (p->tail == DIFF_TAIL_GREEDY) sp.alpha_t = 0; /* q = x_θ */
        draw_rows(&sp, &m, w, B, p->tail == DIFF_TAIL_GREEDY, NULL, rngs, rc);
    }
    memcpy(out, w->z, B * L * sizeof *out);
    return 0;
}

static strand_rng *make_streams(uint64_t seed, size_t n)
{
    strand_rng *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) return NULL;
    strand_rng cur;
    strand_rng_seed(&cur, seed);
    for (size_t i = 0; i < n; i++) {
        r[i] = cur;
        strand_rng_jump(&cur);
    }
    return r;
}

int diff_sample(const diff_net *net, const diff_sampler_params *p, size_t n, int32_t *out, diff_sample_stats *stats)
{
    int rc = diff_sampler_check(net, p);
    if (rc < 0) return rc;
    if (stats) memset(stats, 0, sizeof *stats);
    if (n == 0) return 0;
    strand_rng *rngs = make_streams(p->seed, n);
    if (!rngs) return st_err(NULL, STRAND_E_NOMEM, "sampler: out of memory");
    size_t B = p->batch < n ? p->batch : n, nb = (n + B - 1) / B;
    shared_run sh = {0, (uint64_t)nb * (uint64_t)p->steps, 0, 0, {0, ""}, p};
    /* one batch per worker; a lone worker lets the network's own loops use the threads (BLAS
     * stays single-threaded either way, so the arithmetic does not depend on the thread count) */
    int nt_all = p->threads > 0 ? p->threads : st_threads(), nt = nt_all;
    if ((size_t)nt > nb) nt = (int)nb;
    int inner = nt == 1 ? nt_all : 1;
    diff_sample_stats tot = {0};
    st_parallel_begin();
#pragma omp parallel num_threads(nt)
    {
        omp_set_num_threads(inner);
        diff_worker *w = NULL;
        diff_sample_stats st = {0};
        int trc = diff_worker_create(net, B, p->L, p->guide != NULL, &w);
        if (trc < 0) {
#pragma omp critical(diff_sampler_err)
            if (sh.rc == 0) sh.rc = trc, sh.cancelled = 1, st_err_capture(&sh.err);
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < nb; k++) {
            int stop;
#pragma omp atomic read
            stop = sh.cancelled;
            if (trc < 0 || stop) continue;
            size_t b0 = k * B, bn = n - b0 < B ? n - b0 : B;
            int brc = run_batch(net, p, w, bn, rngs + b0, out + b0 * p->L, omp_get_thread_num(), &sh, &st);
            if (brc < 0 && brc != STRAND_E_CANCELLED) {
#pragma omp critical(diff_sampler_err)
                if (sh.rc == 0) sh.rc = brc, sh.cancelled = 1, st_err_capture(&sh.err);
            }
        }
#pragma omp critical(diff_sampler_err)
        {
            tot.net_calls += st.net_calls, tot.net_rows += st.net_rows, tot.steps += st.steps;
        }
        diff_worker_free(w);
    }
    st_parallel_end();
    free(rngs);
    tot.nfe = (double)tot.net_rows / (double)n;
    if (stats) *stats = tot;
    if (sh.rc < 0) return st_err(NULL, sh.rc, "%s", sh.err.msg);
    if (sh.cancelled) return st_err(NULL, STRAND_E_CANCELLED, "sampler: cancelled by the progress callback");
    return 0;
}

/* ---- reference ------------------------------------------------------------------------------ */

int diff_sample_ref(const diff_net *net, const diff_sampler_params *p, size_t n, int32_t *out, diff_sample_stats *stats)
{
    int rc = diff_sampler_check(net, p);
    if (rc < 0) return rc;
    diff_sample_stats st = {0};
    if (n == 0) {
        if (stats) *stats = st;
        return 0;
    }
    size_t B = p->batch < n ? p->batch : n, L = p->L, N = (size_t)net->vocab;
    strand_rng *rngs = make_streams(p->seed, n);
    diff_worker *w = NULL;
    double *q = malloc(B * L * N * sizeof *q);
    if (!rngs || !q) {
        rc = st_err(NULL, STRAND_E_NOMEM, "sampler: out of memory");
        goto done;
    }
    if ((rc = diff_worker_create(net, B, L, p->guide != NULL, &w)) < 0) goto done;
    cfg_mode m = mode_of(net, p);
    for (size_t b0 = 0; b0 < n; b0 += B) {
        size_t bn = n - b0 < B ? n - b0 : B;
        strand_rng *r = rngs + b0;
        for (size_t i = 0; i < bn * L; i++)
            w->z[i] = p->proc == DIFF_MASKED ? p->mask_id : (int32_t)strand_rng_below(&r[i / L], N);
        int utail = p->proc == DIFF_UNIFORM && p->tail != DIFF_TAIL_NONE;
        int last = p->steps + ((p->proc == DIFF_MASKED && p->noise_removal) || utail);
        for (int i = 0; i < last; i++) {
            int removal = i == p->steps; /* the noise-removal step (or uniform tail) t_eps -> 0 */
            double t = grid_t(p, i), s = removal ? 0 : grid_t(p, i + 1);
            if (removal && !utail) {
                int any = 0;
                for (size_t k = 0; k < bn * L; k++) any |= w->z[k] == p->mask_id;
                if (!any) break;
            }
            if ((rc = eval_rows(net, w, &m, bn, diff_model_sigma(&p->sched, t, net->time_cond), 0, NULL, &st)) < 0)
                goto done;
            if ((rc = guide_step(p, w, bn, 0, t, s)) < 0) goto done;
            diff_step_params sp = step_params(net, p, t, s);
            if (removal && utail && p->tail == DIFF_TAIL_GREEDY) sp.alpha_t = 0;
            if ((rc = diff_step_ref(&sp, m.use_c ? w->lc : NULL, m.use_u ? w->lu : NULL, w->z, rc ? w->adj : NULL, bn,
                                    L, q)) < 0)
                goto done;
            int greedy = removal ? (!utail || p->tail == DIFF_TAIL_GREEDY) : (p->greedy_final && i == p->steps - 1);
            for (size_t k = 0; k < bn * L; k++) {
                if (p->proc == DIFF_MASKED && w->z[k] != p->mask_id) continue;
                w->z[k] = greedy ? diff_argmax(q + k * N, (int)N) : diff_race(q + k * N, (int)N, &r[k / L]);
            }
            if (!removal) st.steps++;
        }
        memcpy(out + b0 * L, w->z, bn * L * sizeof *out);
    }
    st.nfe = (double)st.net_rows / (double)n;
    if (stats) *stats = st;
done:
    diff_worker_free(w);
    free(rngs), free(q);
    return rc;
}

/* ---- single steps ----------------------------------------------------------------------------- */

static int check_step(const diff_net *net, diff_worker *w, const diff_sampler_params *p, double t, double s)
{
    int rc = diff_sampler_check(net, p);
    if (rc < 0) return rc;
    if (!w || w->L != p->L || w->cap < p->batch || (p->guide && !w->adj))
        return st_err(NULL, STRAND_E_ARG, "sampler step: worker made for another shape (batch %zu, length %zu)",
                      w ? w->cap : 0, w ? w->L : 0);
    if (!(t > 0 && t <= 1 && s >= 0 && s < t))
        return st_err(NULL, STRAND_E_RANGE, "sampler step: need 0 <= s < t <= 1 (t %g, s %g)", t, s);
    return 0;
}

static int load_rows(const diff_net *net, diff_worker *w, const int32_t *zt, size_t b0, size_t bn)
{
    size_t L = w->L;
    for (size_t i = 0; i < bn * L; i++) {
        int32_t v = zt[b0 * L + i];
        if (v < 0 || v >= net->vocab)
            return st_err(NULL, STRAND_E_RANGE, "sequence %zu position %zu: id %d outside 0..%d", b0 + i / L, i % L, v,
                          net->vocab - 1);
        w->z[i] = v;
    }
    memset(w->valid, 0, bn);
    return 0;
}

int diff_sample_step(const diff_net *net, diff_worker *w, const diff_sampler_params *p, const int32_t *zt, size_t n,
                     double t, double s, strand_rng *rngs, int32_t *zs, diff_sample_stats *stats)
{
    int rc = check_step(net, w, p, t, s);
    if (rc < 0) return rc;
    cfg_mode m = mode_of(net, p);
    diff_step_params sp = step_params(net, p, t, s);
    if ((rc = diff_step_check(&sp)) < 0) return rc;
    for (size_t b0 = 0; b0 < n; b0 += p->batch) {
        size_t bn = n - b0 < p->batch ? n - b0 : p->batch;
        if ((rc = load_rows(net, w, zt, b0, bn)) < 0) return rc;
        if ((rc = eval_rows(net, w, &m, bn, diff_model_sigma(&p->sched, t, net->time_cond), 0, NULL, stats)) < 0)
            return rc;
        if ((rc = guide_step(p, w, bn, 0, t, s)) < 0) return rc;
        draw_rows(&sp, &m, w, bn, p->greedy_final, NULL, rngs + b0, rc);
        memcpy(zs + b0 * p->L, w->z, bn * p->L * sizeof *zs);
    }
    return 0;
}

int diff_posterior(const diff_net *net, diff_worker *w, const diff_sampler_params *p, const int32_t *zt, size_t n,
                   double t, double s, double *q)
{
    int rc = check_step(net, w, p, t, s);
    if (rc < 0) return rc;
    cfg_mode m = mode_of(net, p);
    diff_step_params sp = step_params(net, p, t, s);
    if ((rc = diff_step_check(&sp)) < 0) return rc;
    size_t L = p->L, N = (size_t)net->vocab;
    for (size_t b0 = 0; b0 < n; b0 += p->batch) {
        size_t bn = n - b0 < p->batch ? n - b0 : p->batch;
        if ((rc = load_rows(net, w, zt, b0, bn)) < 0) return rc;
        if ((rc = eval_rows(net, w, &m, bn, diff_model_sigma(&p->sched, t, net->time_cond), 0, NULL, NULL)) < 0)
            return rc;
        int adj = guide_step(p, w, bn, 0, t, s);
        if (adj < 0) return adj;
        for (size_t i = 0; i < bn * L; i++)
            diff_step_row(&sp, m.use_c ? w->lc + i * N : NULL, m.use_u ? w->lu + i * N : NULL, w->z[i],
                          adj ? w->adj + i * N : NULL, q + (b0 * L + i) * N, w->scratch);
    }
    return 0;
}
