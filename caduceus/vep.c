/* VEP scoring: windows, deduplicated forwards spread over the threads, LLR and embedding distance
 * (see caduceus/vep.h). */
#include "caduceus/vep.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "caduceus/vep_sha256.h"
#include "core/log.h"
#include "core/gemm.h"
#include "core/model_path.h"
#include "core/threads.h"
#include "core/tokenizer_dna.h"

#ifdef _OPENMP
#include <omp.h>
#endif

strand_vep_params strand_vep_default_params(void)
{
    strand_vep_params p;
    memset(&p, 0, sizeof p);
    p.window = 0; /* the model's training length (st_vep_model_window) */
    p.pool_half_width = 128;
    p.batch = 64;
    p.threads = 0;
    p.ref_mismatch = STRAND_VEP_REF_SKIP;
    p.missing_contig = STRAND_VEP_CONTIG_AUTO;
    p.nonfinite = STRAND_VEP_NONFINITE_ERROR;
    p.compress_level = -1;
    return p;
}

void strand_vep_free(strand_vep *v)
{
    if (!v) return;
    if (v->wc)
        for (int w = 0; w < v->nw; w++) caduceus_ctx_free(v->wc[w]);
    free(v->wc);
    caduceus_free(v->m);
    st_fasta_close(v->fa);
    free(v->model_path), free(v->fasta_path);
    free(v->ids), free(v->logits), free(v->embed);
    free(v->ids_rc), free(v->logits_rc), free(v->embed_rc);
    st_vep_marginal_free(v);
    st_vep_indel_free(v);
    st_vep_head_detach(v);
    st_vep_options_free(v);
    free(v);
}

const char *strand_vep_last_error(const strand_vep *v) { return v ? v->err.msg : ""; }
const char *strand_vep_model_sha256(const strand_vep *v) { return v ? v->sha256 : ""; }

int strand_vep_create(const char *model_path, const char *fasta_path, const strand_vep_params *pp, strand_vep **out)
{
    if (!out) return st_err(NULL, STRAND_E_ARG, "strand_vep_create: NULL output");
    *out = NULL;
    if (!model_path || !fasta_path) return st_err(NULL, STRAND_E_ARG, "strand_vep_create: NULL model or FASTA path");
    strand_vep_params p = pp ? *pp : strand_vep_default_params();
    if (p.window < 0 || p.window > (1 << 22))
        return st_err(NULL, STRAND_E_ARG, "window %d: must be in 1..%d (0: the model's training length)", p.window,
                      1 << 22);
    if (p.pool_half_width < 0)
        return st_err(NULL, STRAND_E_ARG, "pool half-width %d: must be >= 0", p.pool_half_width);
    if (p.batch < 1) return st_err(NULL, STRAND_E_ARG, "batch %d: must be >= 1", p.batch);
    if (p.threads < 0) return st_err(NULL, STRAND_E_ARG, "threads %d: must be >= 0", p.threads);
    if (p.ref_mismatch < 0 || p.ref_mismatch > 2 || p.missing_contig < 0 || p.missing_contig > 2 || p.nonfinite < 0 ||
        p.nonfinite > 1)
        return st_err(NULL, STRAND_E_ARG, "unknown ref_mismatch (%d) or missing_contig (%d) policy", p.ref_mismatch,
                      p.missing_contig);
    if (p.llr < 0 || p.llr > 1) return st_err(NULL, STRAND_E_ARG, "llr mode %d: use masked (0) or marginal (1)", p.llr);
    if (p.scores < 0 || p.scores > 3)
        return st_err(NULL, STRAND_E_ARG, "scores %d: a set of STRAND_VEP_SCORE_LLR and _EMB bits", p.scores);
    if (p.marginal_core < 0 || p.marginal_core > (1 << 22))
        return st_err(NULL, STRAND_E_ARG, "marginal core %d: must be in 1..%d (0: the default)", p.marginal_core,
                      1 << 22);
    strand_vep *v = calloc(1, sizeof *v);
    if (!v) return st_err(NULL, STRAND_E_NOMEM, "strand_vep_create: out of memory");
    v->p = p;
    int rc;
    v->model_path = strdup(model_path);
    v->fasta_path = strdup(fasta_path);
    if (!v->model_path || !v->fasta_path) {
        rc = st_err(NULL, STRAND_E_NOMEM, "strand_vep_create: out of memory");
        goto fail;
    }
    if ((rc = caduceus_load(&v->m, model_path)) < 0) goto fail;
    /* window: given, else the training length; the pooling clamped to half of it */
    v->W = (p.window ? p.window : (v->m->cfg.train_len > 0 ? v->m->cfg.train_len : 1024)) | 1;
    v->h = v->W / 2;
    v->H = p.pool_half_width < v->h ? p.pool_half_width : v->h;
    if ((rc = st_vep_options_load(v)) < 0) goto fail;
    int W = v->W;
    if (v->m->cfg.vocab != ST_DNA_VOCAB) {
        rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: vocabulary %d, expected the DNA vocabulary of %d", model_path,
                    v->m->cfg.vocab, ST_DNA_VOCAB);
        goto fail;
    }
    /* checksum of the weights file (an HF directory: its model.safetensors[.zst]) */
    model_files mp;
    if ((rc = model_path_resolve(model_path, &mp)) < 0 || (rc = st_sha256_file(mp.weights, v->sha256)) < 0) goto fail;
    if ((rc = st_fasta_open(&v->fa, fasta_path, 0)) < 0) goto fail;
    size_t D = (size_t)v->m->cfg.d_model;
    if (p.threads > 0) strand_set_threads(p.threads);
    /* one worker per thread: each has a run context; the weights are loaded once and shared */
    v->nw = st_threads();
    if (v->nw < 1) v->nw = 1;
    if (v->nw > 64) v->nw = 64;
    /* under ulimit -v: fewer workers when they do not all fit, and an error saying what is needed
     * when one does not, instead of letting OpenBLAS fail to allocate and hang */
    {
        /* a marginal tile (S + W − 1 bases, vep_marginal.c) is the longest forward when there is one */
        size_t Wf = (size_t)W;
        if (p.llr == STRAND_VEP_LLR_MARGINAL) {
            Wf += (size_t)(p.marginal_core > 0 ? p.marginal_core : 4 * (W - 1));
            if (Wf < 2 * (size_t)W) Wf = 2 * (size_t)W; /* an indel haplotype window (vep_indel.c) */
        }
        size_t per = ST_THREAD_RESERVE + Wf * D * (size_t)v->m->cfg.n_layer * 48 * sizeof(float) +
                     Wf * (D + 16) * 16;
        int64_t left = st_address_space_left();
        if (left >= 0 && v->nw > 1 && (int64_t)((size_t)v->nw * per) > left) {
            int fit = (int)(left / (int64_t)per);
            fit = fit < 1 ? 1 : fit;
            st_warn("vep: the address-space limit (ulimit -v) leaves %lld MiB and each thread needs about %zu MiB: "
                    "%d thread%s instead of %d", (long long)(left >> 20), per >> 20, fit, fit == 1 ? "" : "s", v->nw);
            v->nw = fit;
        }
        char what[96];
        snprintf(what, sizeof what, "strand vep with %d thread%s (window %d)", v->nw, v->nw == 1 ? "" : "s", W);
        if ((rc = st_mem_check((size_t)v->nw * per, what)) < 0) goto fail;
    }
    v->wc = calloc((size_t)v->nw, sizeof *v->wc);
    if (!v->wc) {
        rc = st_err(NULL, STRAND_E_NOMEM, "strand_vep_create: out of memory");
        goto fail;
    }
    for (int w = 0; w < v->nw; w++)
        if ((rc = caduceus_ctx_create(&v->wc[w], &v->m->cfg)) < 0) goto fail;
    size_t nw = (size_t)v->nw;
    v->ids = malloc(nw * (size_t)W * sizeof(int32_t));
    v->logits = malloc(nw * (size_t)W * ST_DNA_VOCAB * sizeof(float));
    v->embed = malloc(nw * (size_t)W * D * sizeof(float));
    v->ids_rc = malloc(nw * (size_t)W * sizeof(int32_t));
    v->logits_rc = malloc(nw * (size_t)W * ST_DNA_VOCAB * sizeof(float));
    v->embed_rc = malloc(nw * (size_t)W * D * sizeof(float));
    if (!v->ids || !v->logits || !v->embed || !v->ids_rc || !v->logits_rc || !v->embed_rc) {
        rc = st_err(NULL, STRAND_E_NOMEM, "strand_vep_create: out of memory for %d workers of a %d-base window", v->nw, W);
        goto fail;
    }
    if ((rc = st_vep_marginal_init(v)) < 0 || (rc = st_vep_indel_init(v)) < 0) goto fail;
    *out = v;
    return 0;
fail:
    strand_vep_free(v);
    return rc;
}

/* ---- windows ------------------------------------------------------------------------------- */

/* ids[0..end-beg) = tokens of FASTA[beg, end) of contig cid; positions outside the contig stay
 * [PAD]; N → [PAD]. */
int st_vep_fetch_tokens(strand_vep *v, int cid, int64_t beg, int64_t end, int32_t *ids)
{
    int64_t clen = st_fasta_contig_len(v->fa, cid);
    for (int64_t i = beg; i < end; i++) ids[i - beg] = ST_DNA_PAD;
    int64_t b = beg < 0 ? 0 : beg, e = end > clen ? clen : end;
    if (b >= e) return 0;
    char *s = NULL;
    int64_t n = 0;
    int rc = st_fasta_fetch(v->fa, st_fasta_contig_name(v->fa, cid), b, e, 0, &s, &n);
    if (rc < 0) return rc;
    st_dna_encode(s, (size_t)n, ids + (b - beg));
    st_dna_n_to_pad(ids + (b - beg), (size_t)n);
    free(s);
    return 0;
}

int st_vep_window(strand_vep *v, int cid, int64_t pos, int64_t rlen, const char *alt, int kind, int32_t *ids)
{
    int64_t W = v->W, h = v->h;
    int rc;
    if (kind != ST_VEP_WIN_ALT) {
        if ((rc = st_vep_fetch_tokens(v, cid, pos - h, pos + h + 1, ids)) < 0) return rc;
        if (kind == ST_VEP_WIN_MASKED) ids[h] = ST_DNA_MASK;
        return 0;
    }
    if ((rc = st_vep_fetch_tokens(v, cid, pos - h, pos, ids)) < 0) return rc; /* left flank */
    int64_t alen = (int64_t)strlen(alt), k = alen < W - h ? alen : W - h;
    st_dna_encode(alt, (size_t)k, ids + h);
    st_dna_n_to_pad(ids + h, (size_t)k);
    if (h + k < W && (rc = st_vep_fetch_tokens(v, cid, pos + rlen, pos + rlen + (W - h - k), ids + h + k)) < 0) return rc;
    return 0;
}

void st_vep_pool(const strand_vep *v, const float *e, size_t D, double *out)
{
    size_t h = (size_t)v->h, H = (size_t)v->H;
    for (size_t j = 0; j < D; j++) out[j] = e[h * D + j];
    for (size_t k = 1; k <= H; k++) {
        const float *a = e + (h - k) * D, *b = e + (h + k) * D;
        for (size_t j = 0; j < D; j++) out[j] += (double)a[j] + (double)b[j];
    }
    for (size_t j = 0; j < D; j++) out[j] /= (double)(2 * H + 1);
}

double st_vep_cosine_distance(const double *a, const double *b, size_t D)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t j = 0; j < D; j++) ab += a[j] * b[j], aa += a[j] * a[j], bb += b[j] * b[j];
    if (!(aa > 0) || !(bb > 0)) return NAN;
    double d = 1.0 - ab / (sqrt(aa) * sqrt(bb));
    return d < 0 ? 0 : d > 2 ? 2 : d;
}

/* ---- batch scoring ------------------------------------------------------------------------- */

typedef struct wreq {
    int cid, kind;
    int64_t pos, rlen;
    const char *alt;
    float lg[ST_DNA_VOCAB]; /* masked: logits at the centre */
    double *pooled;         /* ref/alt: (D) */
} wreq;

static int allele_is_symbolic(const char *a)
{
    return a[0] == '<' || !strcmp(a, "*") || !strcmp(a, ".") || strchr(a, '[') || strchr(a, ']');
}

static int allele_is_acgt(const char *a)
{
    if (!*a) return 0;
    for (; *a; a++) {
        int c = toupper((unsigned char)*a);
        if (c != 'A' && c != 'C' && c != 'G' && c != 'T') return 0;
    }
    return 1;
}

/* Index of an equal request or a new one. */
static int add_req(wreq *r, int *nr, int cid, int64_t pos, int kind, int64_t rlen, const char *alt)
{
    for (int i = *nr - 1; i >= 0; i--) {
        if (r[i].cid != cid || r[i].pos != pos || r[i].kind != kind) continue;
        if (kind == ST_VEP_WIN_ALT && (r[i].rlen != rlen || strcasecmp(r[i].alt, alt))) continue;
        return i;
    }
    r[*nr] = (wreq){.cid = cid, .kind = kind, .pos = pos, .rlen = rlen, .alt = alt};
    return (*nr)++;
}

static void note_example(strand_vep *v, const char *fmt, const char *contig, long long pos1, const char *a,
                         const char *b)
{
    if (v->n_examples >= 5) return;
    snprintf(v->examples[v->n_examples++], sizeof v->examples[0], fmt, contig, pos1, a, b);
}

/* One distinct window on worker w (its run context and buffers): the centre logits (masked) or the
 * pooled embedding into pooled (D); tmp (D) is the worker's scratch. 0 or STRAND_E_*. */
static int run_window(strand_vep *v, int w, wreq *q, double *pooled, double *tmp)
{
    size_t W = (size_t)v->W, D = (size_t)v->m->cfg.d_model, V = ST_DNA_VOCAB;
    int32_t *ids = v->ids + (size_t)w * W, *ids_rc = v->ids_rc + (size_t)w * W;
    float *logits = v->logits + (size_t)w * W * V, *logits_rc = v->logits_rc + (size_t)w * W * V;
    float *embed = v->embed + (size_t)w * W * D, *embed_rc = v->embed_rc + (size_t)w * W * D;
    int rc;
#pragma omp critical(st_vep_fasta) /* the FASTA handle is shared */
    rc = st_vep_window(v, q->cid, q->pos, q->rlen, q->alt, q->kind, ids);
    if (rc < 0) return rc;
    int masked = q->kind == ST_VEP_WIN_MASKED;
    const caduceus_weights *m = v->m;
    caduceus_ctx *cx = v->wc[w];
    rc = caduceus_forward(m, cx, ids, 1, W, CADUCEUS_INFER, masked ? logits : NULL, masked ? NULL : embed, NULL);
    if (rc == 0 && v->p.rc_average) {
        st_dna_revcomp(ids, ids_rc, W);
        rc = caduceus_forward(m, cx, ids_rc, 1, W, CADUCEUS_INFER, masked ? logits_rc : NULL, masked ? NULL : embed_rc,
                              NULL);
    }
    if (rc < 0) return rc;
    const size_t c = (size_t)v->h; /* the centre maps to itself under RC (odd window) */
    if (masked) {
        memcpy(q->lg, logits + c * V, sizeof q->lg);
        if (v->p.rc_average)
            for (int t = 0; t < ST_DNA_VOCAB; t++)
                q->lg[t] = 0.5f * (q->lg[t] + logits_rc[c * V + (size_t)st_dna_complement(t)]);
    } else {
        q->pooled = pooled;
        st_vep_pool(v, embed, D, q->pooled);
        if (v->p.rc_average) {
            st_vep_pool(v, embed_rc, D, tmp);
            for (size_t j = 0; j < D; j++) q->pooled[j] = 0.5 * (q->pooled[j] + tmp[j]);
        }
    }
    return 0;
}

/* Jobs (one forward each) on the workers, one job per worker at a time. When the jobs do not
 * fill the workers (a batch's last n % nw jobs: a marginal batch often has 1-3 tiles), those run
 * one after the other on worker 0 outside the parallel region, so that each forward uses every
 * thread itself (caduceus inference on strand groups: bitwise the 1-thread result with the
 * row-independent GEMM, core/gemm.h; without it every job stays in the parallel region, as
 * before). BLAS is single-threaded inside every forward whenever there are several workers (also
 * for a batch of one window), so a window's bits do not depend on --batch. */
int st_vep_run_jobs(strand_vep *v, int n, st_vep_job_fn job, void *ctx)
{
    if (n <= 0) return 0;
    int nw = v->nw < n ? v->nw : n, failed = 0, rc = 0;
    int npar = v->nw > 1 ? (gemm_own() ? n - n % nw : n) : 0; /* jobs [0, npar) in parallel */
    if (v->nw > 1) st_parallel_begin();
    if (npar > 0) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nw)
        for (int r = 0; r < npar; r++) {
            int w = 0;
#ifdef _OPENMP
            w = omp_get_thread_num();
#endif
            int rr;
#pragma omp atomic read
            rr = failed;
            if (rr) continue;
            rr = job(v, w, r, ctx);
            if (rr < 0) {
#pragma omp critical(st_vep_fail)
                if (!rc) {
                    rc = rr;
                    st_err_capture(&v->err);
#pragma omp atomic write
                    failed = 1;
                }
            }
        }
    }
    for (int r = npar; r < n && !rc; r++)
        if ((rc = job(v, 0, r, ctx)) < 0) st_err_capture(&v->err);
    if (v->nw > 1) st_parallel_end();
    return rc;
}

/* The distinct windows of a batch: window r pools into pool[r], worker w's scratch is pool[n + w]. */
typedef struct window_jobs { wreq *req; double *pool; int n; size_t D; } window_jobs;
static int window_job(strand_vep *v, int w, int r, void *ctx)
{
    window_jobs *j = ctx;
    return run_window(v, w, &j->req[r], j->pool + (size_t)r * j->D, j->pool + ((size_t)j->n + (size_t)w) * j->D);
}

int strand_vep_score_batch(strand_vep *v, strand_vep_variant *vars, size_t n)
{
    if (!v) return st_err(NULL, STRAND_E_ARG, "strand_vep_score_batch: NULL handle");
    if (n == 0) return 0;
    if (!vars) return st_err(&v->err, STRAND_E_ARG, "strand_vep_score_batch: NULL variants");
    size_t D = (size_t)v->m->cfg.d_model;
    wreq *req = calloc(3 * n, sizeof *req);
    int *ix = malloc(3 * n * sizeof(int)); /* per variant: masked, ref, alt request (-1: none) */
    double *pool = NULL;
    int nr = 0, rc = 0;
    /* which scores (docs/vep.md "Marginal LLR"): marginal SNVs are scored from tiles, not windows */
    int want_llr = !v->p.scores || (v->p.scores & STRAND_VEP_SCORE_LLR);
    int want_emb = !v->p.scores || (v->p.scores & STRAND_VEP_SCORE_EMB);
    int marginal = want_llr && v->p.llr == STRAND_VEP_LLR_MARGINAL, any_marginal = 0;
    unsigned char *ok = calloc(n, 1); /* 1: reached scoring, 2: and a marginal SNV, 3: a marginal indel/MNV */
    int any_indel = 0;
    int *cids = malloc(n * sizeof(int));
    v->fail_index = -1;
    if (!req || !ix || !ok || !cids) {
        rc = st_err(&v->err, STRAND_E_NOMEM, "vep: out of memory for a batch of %zu variants", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        strand_vep_variant *x = &vars[i];
        x->llr = x->emb = NAN;
        ix[3 * i] = ix[3 * i + 1] = ix[3 * i + 2] = -1;
        if (v->feat_groups) st_vep_head_variant(v, i, NULL, NULL, NAN); /* NaN until scored */
        if (!x->contig || !x->ref || !x->alt) {
            rc = st_err(&v->err, STRAND_E_ARG, "vep: variant %zu: NULL contig or allele", i);
            v->fail_index = (int64_t)i;
            goto done;
        }
        if (allele_is_symbolic(x->alt)) { x->status = STRAND_VEP_SYMBOLIC; continue; }
        if (x->pos1 < 1) { x->status = STRAND_VEP_UNSCORABLE; continue; } /* POS 0: a telomere */
        int cid = st_vep_contig_id(v, x->contig);
        cids[i] = cid;
        if (cid < 0) {
            x->status = STRAND_VEP_MISSING_CONTIG;
            note_example(v, "%s:%lld %s%s(contig not in the FASTA)", x->contig, (long long)x->pos1, "", "");
            if (v->p.missing_contig == STRAND_VEP_CONTIG_ERROR) {
                rc = st_err(&v->err, STRAND_E_NOTFOUND, "%s:%lld: contig \"%s\" is not in the FASTA %s", x->contig,
                            (long long)x->pos1, x->contig, v->fasta_path);
                v->fail_index = (int64_t)i;
                goto done;
            }
            continue;
        }
        if (!allele_is_acgt(x->ref) || !allele_is_acgt(x->alt)) { x->status = STRAND_VEP_UNSCORABLE; continue; }
        int64_t pos = x->pos1 - 1, rlen = (int64_t)strlen(x->ref), clen = st_fasta_contig_len(v->fa, cid);
        int mism = 0;
        char fref[48] = "";
        if (pos + rlen > clen) {
            mism = 1;
            snprintf(fref, sizeof fref, "(past the end, length %lld)", (long long)clen);
        } else {
            char *s = NULL;
            int64_t got = 0;
            if ((rc = st_fasta_fetch(v->fa, st_fasta_contig_name(v->fa, cid), pos, pos + rlen, ST_FASTA_UPPER, &s, &got)) < 0) {
                st_err_capture(&v->err);
                goto done;
            }
            for (int64_t k = 0; k < rlen && !mism; k++) mism = toupper((unsigned char)x->ref[k]) != s[k];
            if (mism) snprintf(fref, sizeof fref, "%.40s%s", s, rlen > 40 ? "..." : "");
            free(s);
        }
        x->status = STRAND_VEP_OK;
        if (mism) {
            x->status = STRAND_VEP_REF_MISMATCH;
            note_example(v, "%s:%lld REF=%.40s FASTA=%s", x->contig, (long long)x->pos1, x->ref, fref);
            if (v->p.ref_mismatch == STRAND_VEP_REF_ERROR) {
                rc = st_err(&v->err, STRAND_E_FORMAT, "%s:%lld: REF %.40s does not match the FASTA %s (%s)", x->contig,
                            (long long)x->pos1, x->ref, v->fasta_path, fref);
                v->fail_index = (int64_t)i;
                goto done;
            }
            if (v->p.ref_mismatch == STRAND_VEP_REF_SKIP) continue;
        }
        int snv = rlen == 1 && strlen(x->alt) == 1;
        ok[i] = 1;
        if (snv && marginal) ok[i] = 2, any_marginal = 1;
        else if (!snv && marginal && st_vep_indel_fits(v, rlen, (int64_t)strlen(x->alt))) ok[i] = 3, any_indel = 1;
        else if (snv && want_llr) ix[3 * i] = add_req(req, &nr, cid, pos, ST_VEP_WIN_MASKED, 0, NULL);
        if (want_emb) {
            ix[3 * i + 1] = add_req(req, &nr, cid, pos, ST_VEP_WIN_REF, 0, NULL);
            ix[3 * i + 2] = add_req(req, &nr, cid, pos, ST_VEP_WIN_ALT, rlen, x->alt);
        }
        v->windows_requested += 2 * want_emb + (ix[3 * i] >= 0);
    }
    if (any_marginal || any_indel) {
        /* the marginal LLR: SNVs from tiles (vep_marginal.c), indels/MNVs from haplotype windows (vep_indel.c) */
        unsigned char *want = malloc(2 * n);
        if (!want) {
            rc = st_err(&v->err, STRAND_E_NOMEM, "vep: out of memory for a batch of %zu variants", n);
            goto done;
        }
        for (size_t i = 0; i < n; i++) want[i] = ok[i] == 2, want[n + i] = ok[i] == 3;
        rc = any_marginal ? st_vep_marginal_llr(v, vars, n, cids, want) : 0;
        if (rc == 0 && any_indel) rc = st_vep_indel_llr(v, vars, n, cids, want + n);
        free(want);
        if (rc < 0) goto done;
        for (size_t i = 0; i < n; i++) ok[i] = ok[i] >= 2; /* 1: has a marginal LLR */
        any_marginal = 1;
    }
    /* one B=1 forward per distinct window, the windows spread over the workers */
    pool = malloc(((size_t)nr + (size_t)v->nw) * D * sizeof(double));
    if (!pool) {
        rc = st_err(&v->err, STRAND_E_NOMEM, "vep: out of memory for %d pooled embeddings", nr);
        goto done;
    }
    /* BLAS is single-threaded inside every forward whenever there are several workers (also for a
     * batch of one window), so a window's bits do not depend on --batch */
    window_jobs wj = {req, pool, nr, D};
    rc = st_vep_run_jobs(v, nr, window_job, &wj);
    if (rc < 0) goto done;
    v->forwards += nr;
    for (size_t i = 0; i < n; i++) {
        strand_vep_variant *x = &vars[i];
        int has_m = ix[3 * i] >= 0, has_e = ix[3 * i + 1] >= 0, has_g = any_marginal && ok[i];
        if (!has_m && !has_e && !has_g) continue;
        if (has_m) {
            const float *lg = req[ix[3 * i]].lg;
            int a = st_dna_byte_to_id[(unsigned char)x->alt[0]], b = st_dna_byte_to_id[(unsigned char)x->ref[0]];
            x->llr = (double)lg[a] - (double)lg[b]; /* log-softmax normaliser cancels (docs/vep.md "STRAND_LLR") */
        }
        const double *pr = has_e ? req[ix[3 * i + 1]].pooled : NULL, *pa = has_e ? req[ix[3 * i + 2]].pooled : NULL;
        if (has_e) x->emb = st_vep_cosine_distance(pr, pa, D);
        if ((rc = st_vep_check_finite(v, x, i, has_m || has_g, pr, pa, has_e ? D : 0)) < 0) goto done;
        if (v->feat_groups && x->status == STRAND_VEP_OK) st_vep_head_variant(v, i, pr, pa, x->llr);
    }
done:
    free(req), free(ix), free(pool), free(ok), free(cids);
    return rc;
}

int strand_vep_score_snv(strand_vep *v, const char *contig, int64_t pos1, const char *ref, const char *alt,
                         double *llr, double *emb_dist)
{
    strand_vep_variant x = {.contig = contig, .pos1 = pos1, .ref = ref, .alt = alt};
    int rc = strand_vep_score_batch(v, &x, 1);
    if (rc < 0) return rc;
    if (llr) *llr = x.llr;
    if (emb_dist) *emb_dist = x.emb;
    return x.status;
}
