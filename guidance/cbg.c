/* Classifier-based guidance, exact and first-order (guidance/cbg.h; docs/diffusion.md
 * "Classifier-based guidance", "First-order CBG"). */
#include "guidance/cbg.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/threads.h"

int cbg_mode_parse(const char *name, cbg_mode *out)
{
    if (name && !strcmp(name, "exact")) *out = CBG_EXACT;
    else if (name && (!strcmp(name, "first-order") || !strcmp(name, "first_order") || !strcmp(name, "approx")))
        *out = CBG_FIRST_ORDER;
    else
        return st_err(NULL, STRAND_E_ARG, "CBG mode \"%s\" unknown (exact or first-order)", name ? name : "(null)");
    return 0;
}

const char *cbg_mode_name(cbg_mode m) { return m == CBG_EXACT ? "exact" : "first-order"; }

static size_t exact_rows_per_seq(size_t L, size_t V) { return 1 + L * (V - 1); }
static size_t chunk_rows(size_t L, size_t V)
{
    size_t r = exact_rows_per_seq(L, V);
    return r < CBG_CHUNK ? r : CBG_CHUNK;
}

int cbg_check(const cbg_params *p, const diff_net *net, size_t L, int workers, const char *what)
{
    if (!what) what = "classifier";
    if (!p || !p->clf) return st_err(NULL, STRAND_E_ARG, "CBG: no classifier");
    const clf_config *c = &p->clf->cfg;
    if (net && c->vocab != net->vocab)
        return st_err(NULL, STRAND_E_ARG,
                      "%s: the classifier's vocabulary has %d ids but the diffusion model's has %d (train the classifier "
                      "on the diffusion model's tokenizer)",
                      what, c->vocab, net->vocab);
    if (L > (size_t)c->length)
        return st_err(NULL, STRAND_E_ARG, "%s: sequences of length %zu but the classifier takes at most %d", what, L,
                      c->length);
    if (p->cls < 0 || p->cls >= c->num_classes)
        return st_err(NULL, STRAND_E_RANGE, "%s: class %d outside the classifier's classes 0..%d", what, p->cls,
                      c->num_classes - 1);
    if (!(isfinite(p->gamma) && p->gamma >= 0))
        return st_err(NULL, STRAND_E_RANGE, "%s: CBG weight gamma %g (must be finite and >= 0)", what, p->gamma);
    if (p->mode == CBG_EXACT) {
        size_t V = (size_t)c->vocab, rows = chunk_rows(L, V), w = workers > 0 ? (size_t)workers : 1;
        size_t bound = p->max_bytes ? p->max_bytes : CBG_DEFAULT_MAX_BYTES;
        double need = (double)w * (double)rows * (double)clf_row_bytes(p->clf, L);
        if (need > (double)bound)
            return st_err(NULL, STRAND_E_NOMEM,
                          "%s: exact CBG at length %zu scores %zu edits per sequence per step, %zu rows per classifier "
                          "call x %zu worker%s x %.1f MiB per row = %.0f MiB, over the bound of %zu MiB: use --cbg "
                          "first-order (one forward + backward per sequence), fewer threads or a larger bound",
                          what, L, exact_rows_per_seq(L, V), rows, w, w == 1 ? "" : "s",
                          (double)clf_row_bytes(p->clf, L) / 1048576.0, need / 1048576.0, bound >> 20);
    }
    return 0;
}

/* Per-worker state: the cache of the last batch's rows and adjustments. Per-thread classifier
 * contexts (exact mode splits a batch's edits over inner threads) live in ctx[]. */
typedef struct cbg_slot {
    size_t cap;
    int32_t *z;          /* (cap, L) tokens the cached adjustments belong to */
    double *adj;         /* (cap, L, N) */
    unsigned char *ok;   /* (cap) */
    unsigned char *todo; /* (cap) rows this call must score */
} cbg_slot;

typedef struct cbg_buf { /* one classifier context and its scratch */
    clf_ctx *c;
    int32_t *ids, *y;    /* (chunk, L) (chunk) */
    float *sig, *lp;     /* (chunk) (chunk, C) */
    float *grad;         /* first-order: (chunk, L, V) */
} cbg_buf;

struct cbg_guide {
    cbg_params p;
    diff_process proc;
    int mask_id;
    diff_schedule sched;
    size_t batch, L, chunk;
    int n;               /* workers = contexts */
    cbg_slot *slot;      /* [n] */
    cbg_buf *buf;        /* [n] */
    uint64_t calls, rows, cached;
    st_errbuf err;
};

static void buf_free(cbg_buf *b)
{
    clf_ctx_free(b->c);
    free(b->ids), free(b->y), free(b->sig), free(b->lp), free(b->grad);
}

void cbg_free(cbg_guide *g)
{
    if (!g) return;
    for (int i = 0; i < g->n; i++) {
        if (g->slot) free(g->slot[i].z), free(g->slot[i].adj), free(g->slot[i].ok), free(g->slot[i].todo);
        if (g->buf) buf_free(&g->buf[i]);
    }
    free(g->slot), free(g->buf);
    free(g);
}

int cbg_create(cbg_guide **out, const cbg_params *p, const diff_sampler_params *sp)
{
    *out = NULL;
    if (!p || !p->clf || !sp) return st_err(NULL, STRAND_E_ARG, "CBG: NULL classifier or sampler parameters");
    cbg_guide *g = calloc(1, sizeof *g);
    if (!g) return st_err(NULL, STRAND_E_NOMEM, "CBG: out of memory");
    g->p = *p;
    g->proc = sp->proc, g->mask_id = sp->mask_id, g->sched = sp->sched;
    g->batch = sp->batch, g->L = sp->L;
    g->n = sp->threads > 0 ? sp->threads : st_threads();
    size_t V = (size_t)p->clf->cfg.vocab, C = (size_t)p->clf->cfg.num_classes, L = g->L;
    g->chunk = p->mode == CBG_EXACT ? chunk_rows(L, V) : (g->batch < CBG_CHUNK ? g->batch : CBG_CHUNK);
    g->slot = calloc((size_t)g->n, sizeof *g->slot);
    g->buf = calloc((size_t)g->n, sizeof *g->buf);
    if (!g->slot || !g->buf) goto nomem;
    for (int i = 0; i < g->n; i++) {
        cbg_slot *s = &g->slot[i];
        s->cap = g->batch;
        s->z = malloc(g->batch * L * sizeof *s->z);
        s->adj = malloc(g->batch * L * V * sizeof *s->adj);
        s->ok = calloc(g->batch, 1);
        s->todo = calloc(g->batch, 1);
        cbg_buf *b = &g->buf[i];
        int rc = clf_ctx_create(&b->c, p->clf);
        if (rc < 0) {
            cbg_free(g);
            return rc;
        }
        b->ids = malloc(g->chunk * L * sizeof *b->ids);
        b->y = malloc(g->chunk * sizeof *b->y);
        b->sig = malloc(g->chunk * sizeof *b->sig);
        b->lp = malloc(g->chunk * C * sizeof *b->lp);
        b->grad = p->mode == CBG_FIRST_ORDER ? malloc(g->chunk * L * V * sizeof *b->grad) : NULL;
        if (!s->z || !s->adj || !s->ok || !s->todo || !b->ids || !b->y || !b->sig || !b->lp ||
            (p->mode == CBG_FIRST_ORDER && !b->grad))
            goto nomem;
    }
    *out = g;
    return 0;
nomem:
    cbg_free(g);
    return st_err(NULL, STRAND_E_NOMEM, "CBG: out of memory for %zu x %zu", sp->batch, sp->L);
}

void cbg_get_stats(const cbg_guide *g, cbg_stats *st)
{
    st->clf_calls = g->calls, st->clf_rows = g->rows, st->cached_rows = g->cached;
}

static int drawn(const cbg_guide *g, int32_t z) { return g->proc != DIFF_MASKED || z == g->mask_id; }

/* Exact: edit e of sequence b enumerates (l, v) over drawn positions l and v != z[l] after the
 * unedited row (e = 0). Rows of all sequences of the batch go through the classifier in chunks. */
typedef struct edit { uint32_t b, l; int32_t v; } edit;

static int exact_batch(cbg_guide *g, int thread, const int32_t *zt, const unsigned char *todo, size_t B, size_t L,
                       int N, float sigma, double *adj)
{
    size_t V = (size_t)N, C = (size_t)g->p.clf->cfg.num_classes;
    size_t n = 0;
    for (size_t b = 0; b < B; b++) {
        if (!todo[b]) continue;
        n++;
        for (size_t l = 0; l < L; l++)
            if (drawn(g, zt[b * L + l])) n += V - 1;
    }
    edit *e = malloc((n ? n : 1) * sizeof *e);
    if (!e) return st_err(&g->err, STRAND_E_NOMEM, "CBG: out of memory for %zu edits", n);
    size_t k = 0;
    for (size_t b = 0; b < B; b++) {
        if (!todo[b]) continue;
        e[k++] = (edit){(uint32_t)b, UINT32_MAX, -1};
        for (size_t l = 0; l < L; l++) {
            int32_t z = zt[b * L + l];
            if (!drawn(g, z)) continue;
            for (int32_t v = 0; v < N; v++)
                if (v != z) e[k++] = (edit){(uint32_t)b, (uint32_t)l, v};
        }
    }
    size_t nchunks = (n + g->chunk - 1) / g->chunk;
    int nin = (thread == 0 && omp_get_max_threads() > 1) ? omp_get_max_threads() : 1;
    if (nin > g->n) nin = g->n;
    if ((size_t)nin > nchunks) nin = (int)nchunks;
    int outer = !omp_in_parallel() && nin > 1;
    int rc = 0;
    if (outer) st_parallel_begin();
#pragma omp parallel for num_threads(nin) schedule(dynamic, 1) if (nin > 1)
    for (size_t ch = 0; ch < nchunks; ch++) {
        int stop;
#pragma omp atomic read
        stop = rc;
        if (stop) continue;
        cbg_buf *bf = &g->buf[nin > 1 ? omp_get_thread_num() : thread];
        size_t e0 = ch * g->chunk, ne = n - e0 < g->chunk ? n - e0 : g->chunk;
        for (size_t r = 0; r < ne; r++) {
            const edit *x = &e[e0 + r];
            memcpy(bf->ids + r * L, zt + (size_t)x->b * L, L * sizeof *bf->ids);
            if (x->v >= 0) bf->ids[r * L + x->l] = x->v;
            bf->sig[r] = sigma;
        }
        int crc = clf_log_probs(g->p.clf, bf->c, bf->ids, bf->sig, ne, L, bf->lp);
        if (crc < 0) {
#pragma omp critical(cbg_err)
            if (!rc) rc = crc, st_err(&g->err, crc, "%s", bf->c->err.msg);
            continue;
        }
        for (size_t r = 0; r < ne; r++) {
            const edit *x = &e[e0 + r];
            double a = g->p.gamma * (double)bf->lp[r * C + (size_t)g->p.cls];
            double *ab = adj + (size_t)x->b * L * V;
            if (x->v >= 0) {
                ab[(size_t)x->l * V + (size_t)x->v] += a;
            } else { /* the unedited row: v = z[l] at every drawn position */
                for (size_t l = 0; l < L; l++) {
                    int32_t z = zt[(size_t)x->b * L + l];
                    if (drawn(g, z)) ab[l * V + (size_t)z] += a;
                }
            }
        }
    }
    if (outer) st_parallel_end();
    free(e);
#pragma omp atomic
    g->calls += nchunks;
#pragma omp atomic
    g->rows += n;
    return rc;
}

/* First-order: one forward + backward per sequence, in chunks of rows. */
static int first_order_batch(cbg_guide *g, int thread, const int32_t *zt, const unsigned char *todo, size_t B,
                             size_t L, int N, float sigma, double *adj)
{
    size_t V = (size_t)N;
    cbg_buf *bf = &g->buf[thread];
    size_t rows[CBG_CHUNK];
    uint64_t calls = 0, nrows = 0;
    for (size_t b0 = 0; b0 < B;) {
        size_t ne = 0;
        for (; b0 < B && ne < g->chunk; b0++)
            if (todo[b0]) rows[ne++] = b0;
        if (!ne) break;
        for (size_t r = 0; r < ne; r++) {
            memcpy(bf->ids + r * L, zt + rows[r] * L, L * sizeof *bf->ids);
            bf->y[r] = g->p.cls;
            bf->sig[r] = sigma;
        }
        int rc = clf_input_grad(g->p.clf, bf->c, bf->ids, bf->sig, bf->y, ne, L, bf->lp, bf->grad);
        if (rc < 0) return st_err(&g->err, rc, "%s", bf->c->err.msg);
        calls++, nrows += ne;
        for (size_t r = 0; r < ne; r++) {
            const float *gr = bf->grad + r * L * V;
            double *ab = adj + rows[r] * L * V, lp = bf->lp[r];
            for (size_t l = 0; l < L; l++) {
                int32_t z = bf->ids[r * L + l];
                if (!drawn(g, z)) continue;
                double gz = gr[l * V + (size_t)z];
                for (size_t v = 0; v < V; v++) ab[l * V + v] += g->p.gamma * (lp + (double)gr[l * V + v] - gz);
            }
        }
    }
#pragma omp atomic
    g->calls += calls;
#pragma omp atomic
    g->rows += nrows;
    return 0;
}

int cbg_guide_fn(void *user, int thread, const int32_t *zt, size_t B, size_t L, int N, double t, double s, double *adj)
{
    (void)s;
    cbg_guide *g = user;
    if (thread < 0 || thread >= g->n || B > g->batch || L != g->L || N != g->p.clf->cfg.vocab)
        return st_err(NULL, STRAND_E_ARG, "CBG: guide made for %d workers, batch %zu, length %zu, vocab %d (called "
                      "with worker %d, %zu x %zu, vocab %d)", g->n, g->batch, g->L, g->p.clf->cfg.vocab, thread, B, L, N);
    if (g->p.gamma == 0) return 1; /* nothing to add: the unguided step exactly */
    size_t V = (size_t)N, LV = L * V;
    cbg_slot *sl = &g->slot[thread];
    int cache = g->p.use_cache && !g->p.clf->cfg.time_cond;
    unsigned char *todo = sl->todo;
    uint64_t hits = 0;
    for (size_t b = 0; b < B; b++) {
        todo[b] = 1;
        if (cache && sl->ok[b] && !memcmp(sl->z + b * L, zt + b * L, L * sizeof *zt)) {
            memcpy(adj + b * LV, sl->adj + b * LV, LV * sizeof *adj);
            todo[b] = 0, hits++;
        }
    }
    float sigma = diff_model_sigma(&g->sched, t, 1); /* zeroed by clf_* without time conditioning */
    int rc = hits == B ? 0
             : g->p.mode == CBG_EXACT ? exact_batch(g, thread, zt, todo, B, L, N, sigma, adj)
                                      : first_order_batch(g, thread, zt, todo, B, L, N, sigma, adj);
    if (rc < 0) return st_err(NULL, rc, "%s", g->err.msg);
    if (cache)
        for (size_t b = 0; b < B; b++) {
            if (!todo[b]) continue;
            memcpy(sl->z + b * L, zt + b * L, L * sizeof *zt);
            memcpy(sl->adj + b * LV, adj + b * LV, LV * sizeof *adj);
            sl->ok[b] = 1;
        }
#pragma omp atomic
    g->cached += hits;
    return 0;
}
