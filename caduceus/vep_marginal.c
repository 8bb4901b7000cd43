/* The wild-type marginal LLR (docs/vep.md "Marginal LLR"): every SNV of a reference tile scored
 * from one unmasked forward, LLR = logit[ALT] − logit[REF] at the site (the log-softmax normaliser
 * cancels). Tiles sit on a fixed grid of the contig, so a variant's score depends only on its
 * position (not on its neighbours, --batch or --threads):
 *   tile k = FASTA[k·S − h, k·S + S + h)   (T = S + 2h bases, [PAD] past the contig ends)
 *   sites k·S .. k·S + S − 1 are scored in it, at index pos − k·S + h,
 * so every site has at least h = window/2 reference bases on both sides. A batch runs each distinct
 * tile once (B=1 forward in a worker's run context, like the masked windows); the last tile of a
 * batch is kept for the next one (VCFs are sorted, a tile often spans a batch boundary). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caduceus/vep.h"
#include "core/tokenizer_dna.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int st_vep_marginal_init(strand_vep *v)
{
    v->mc_cid = -1;
    if (v->p.llr != STRAND_VEP_LLR_MARGINAL) return 0;
    v->S = v->p.marginal_core > 0 ? v->p.marginal_core : 4 * (v->W - 1);
    if (v->S < 1) v->S = 1;
    v->T = v->S + 2 * v->h;
    size_t nw = (size_t)v->nw, T = (size_t)v->T, V = ST_DNA_VOCAB;
    v->mids = malloc(nw * T * sizeof(int32_t));
    v->mids_rc = malloc(nw * T * sizeof(int32_t));
    v->mlg = malloc(nw * T * V * sizeof(float));
    v->mlg_rc = malloc(nw * T * V * sizeof(float));
    v->mc_lg = malloc((size_t)v->S * V * sizeof(float));
    if (!v->mids || !v->mids_rc || !v->mlg || !v->mlg_rc || !v->mc_lg)
        return st_err(NULL, STRAND_E_NOMEM, "vep: out of memory for %d workers of a %d-base marginal tile", v->nw, v->T);
    return 0;
}

void st_vep_marginal_free(strand_vep *v)
{
    free(v->mids), free(v->mids_rc), free(v->mlg), free(v->mlg_rc), free(v->mc_lg);
}

typedef struct mtile {
    int cid;
    int64_t k;
    int cached; /* served from v->mc_lg */
} mtile;

/* Centre-ready logits of site index j (0..S−1 in the core) of a tile run on worker w into out (16):
 * the forward logits, with rc_average (lg[t] + lg_rc[comp t]) / 2 at the mirrored index. */
static void site_logits(const strand_vep *v, int w, size_t j, float *out)
{
    size_t T = (size_t)v->T, V = ST_DNA_VOCAB, i = j + (size_t)v->h;
    const float *lg = v->mlg + (size_t)w * T * V, *lr = v->mlg_rc + (size_t)w * T * V;
    memcpy(out, lg + i * V, V * sizeof(float));
    if (v->p.rc_average)
        for (int t = 0; t < ST_DNA_VOCAB; t++)
            out[t] = 0.5f * (out[t] + lr[(T - 1 - i) * V + (size_t)st_dna_complement(t)]);
}

/* One tile forward on worker w (and its RC with rc_average). 0 or STRAND_E_*. */
static int run_tile(strand_vep *v, int w, const mtile *t)
{
    size_t T = (size_t)v->T, V = ST_DNA_VOCAB;
    int32_t *ids = v->mids + (size_t)w * T, *ids_rc = v->mids_rc + (size_t)w * T;
    float *lg = v->mlg + (size_t)w * T * V, *lr = v->mlg_rc + (size_t)w * T * V;
    int64_t beg = t->k * v->S - v->h;
    int rc;
#pragma omp critical(st_vep_fasta) /* the FASTA handle is shared */
    rc = st_vep_fetch_tokens(v, t->cid, beg, beg + (int64_t)T, ids);
    if (rc < 0) return rc;
    rc = caduceus_forward(v->m, v->wc[w], ids, 1, T, CADUCEUS_INFER, lg, NULL, NULL);
    if (rc == 0 && v->p.rc_average) {
        st_dna_revcomp(ids, ids_rc, T);
        rc = caduceus_forward(v->m, v->wc[w], ids_rc, 1, T, CADUCEUS_INFER, lr, NULL, NULL);
    }
    return rc;
}

static double site_llr(const float *lg, const strand_vep_variant *x)
{
    int a = st_dna_byte_to_id[(unsigned char)x->alt[0]], b = st_dna_byte_to_id[(unsigned char)x->ref[0]];
    return (double)lg[a] - (double)lg[b];
}

/* One tile of a batch (run[r]): its forward, then the site logits of every variant on it, and the
 * whole core when it is the tile kept for the next batch. */
typedef struct tile_jobs {
    const mtile *tl;
    const int *tix, *run;
    const strand_vep_variant *vars;
    size_t n;
    float *out, *keep;
    int last;
    int64_t S;
    size_t V;
} tile_jobs;
static int tile_job(strand_vep *v, int w, int r, void *ctx)
{
    const tile_jobs *t = ctx;
    int j = t->run[r], rc = run_tile(v, w, &t->tl[j]);
    if (rc < 0) return rc;
    for (size_t i = 0; i < t->n; i++) /* the sites of this tile */
        if (t->tix[i] == j)
            site_logits(v, w, (size_t)(t->vars[i].pos1 - 1 - t->tl[j].k * t->S), t->out + i * t->V);
    if (j == t->last)
        for (int64_t s = 0; s < t->S; s++) site_logits(v, w, (size_t)s, t->keep + (size_t)s * t->V);
    return 0;
}

int st_vep_marginal_llr(strand_vep *v, strand_vep_variant *vars, size_t n, const int *cids,
                        const unsigned char *want)
{
    size_t V = ST_DNA_VOCAB;
    int64_t S = v->S;
    mtile *tl = malloc((n + 1) * sizeof *tl);
    int *tix = malloc((n + 1) * sizeof *tix); /* per variant: its tile (-1: none) */
    int nt = 0, rc = 0;
    if (!tl || !tix) {
        free(tl), free(tix);
        return st_err(&v->err, STRAND_E_NOMEM, "vep: out of memory for %zu marginal sites", n);
    }
    int last = -1; /* the tile of the batch furthest along (kept for the next batch) */
    for (size_t i = 0; i < n; i++) {
        tix[i] = -1;
        if (!want[i]) continue;
        int64_t k = (vars[i].pos1 - 1) / S;
        int j = nt - 1;
        for (; j >= 0 && (tl[j].cid != cids[i] || tl[j].k != k); j--) {}
        if (j < 0) {
            j = nt++;
            tl[j] = (mtile){.cid = cids[i], .k = k, .cached = cids[i] == v->mc_cid && k == v->mc_k};
        }
        tix[i] = j;
        last = j;
    }
    /* the tiles to run; the last one's core logits are kept (into mc_lg after the loop) */
    int *run = malloc(((size_t)nt + 1) * sizeof *run), nrun = 0;
    float *keep = last >= 0 && !tl[last].cached ? malloc((size_t)S * V * sizeof(float)) : NULL;
    float *out = malloc((size_t)n * V * sizeof(float) + 1); /* per wanted variant: its site logits */
    if (!run || !out || (last >= 0 && !tl[last].cached && !keep)) {
        rc = st_err(&v->err, STRAND_E_NOMEM, "vep: out of memory for %d marginal tiles", nt);
        goto done;
    }
    for (int j = 0; j < nt; j++)
        if (!tl[j].cached) run[nrun++] = j;
    for (size_t i = 0; i < n; i++)
        if (tix[i] >= 0 && tl[tix[i]].cached)
            memcpy(out + i * V, v->mc_lg + (size_t)(vars[i].pos1 - 1 - tl[tix[i]].k * S) * V, V * sizeof(float));
    tile_jobs tj = {tl, tix, run, vars, n, out, keep, last, S, V};
    rc = st_vep_run_jobs(v, nrun, tile_job, &tj);
    if (rc < 0) goto done;
    v->forwards += nrun, v->tiles += nrun;
    for (size_t i = 0; i < n; i++)
        if (tix[i] >= 0) vars[i].llr = site_llr(out + i * V, &vars[i]);
    if (keep) {
        memcpy(v->mc_lg, keep, (size_t)S * V * sizeof(float));
        v->mc_cid = tl[last].cid, v->mc_k = tl[last].k;
    }
done:
    free(tl), free(tix), free(run), free(keep), free(out);
    return rc;
}
