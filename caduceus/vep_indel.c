/* The marginal indel score (docs/vep.md "Indel LLR"): STRAND_LLR of an indel or MNV under
 * --llr marginal as the pseudo-log-likelihood difference of the ALT and REF haplotype windows, each
 * from one unmasked forward:
 *   ref_hap = FASTA[pos−h, pos+rlen+h)                                  (rlen + 2h bases)
 *   alt_hap = FASTA[pos−h, pos) + ALT + FASTA[pos+rlen, pos+rlen+h)      (alen + 2h bases)
 *   PLL(x)  = Σ_{i: x_i ≠ [PAD]} log softmax(logits_i)[x_i]             (double; the 16 rows)
 *   LLR     = PLL(alt_hap) − PLL(ref_hap)
 * Both windows carry the same h-base flanks, so swapping REF and ALT on a reference carrying ALT
 * swaps the two windows and negates the score bit for bit. Alleles longer than the window W are not
 * scored (caller's choice, see st_vep_indel_fits). With rc_average the logits are the strand
 * average (lg[i][t] + lg_rc[L−1−i][comp t]) / 2 before the log-softmax. Every distinct haplotype
 * window of a batch runs once (B=1 forward in a worker's run context). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caduceus/vep.h"
#include "core/tokenizer_dna.h"

int st_vep_indel_fits(const strand_vep *v, int64_t rlen, int64_t alen) { return rlen <= v->W && alen <= v->W; }

int st_vep_indel_init(strand_vep *v)
{
    if (v->p.llr != STRAND_VEP_LLR_MARGINAL) return 0;
    size_t nw = (size_t)v->nw, L = (size_t)(v->W + 2 * v->h), V = ST_DNA_VOCAB;
    v->iids = malloc(nw * L * sizeof(int32_t));
    v->iids_rc = malloc(nw * L * sizeof(int32_t));
    v->ilg = malloc(nw * L * V * sizeof(float));
    v->ilg_rc = malloc(nw * L * V * sizeof(float));
    if (!v->iids || !v->iids_rc || !v->ilg || !v->ilg_rc)
        return st_err(NULL, STRAND_E_NOMEM, "vep: out of memory for %d workers of %zu-base indel windows", v->nw, L);
    return 0;
}

void st_vep_indel_free(strand_vep *v) { free(v->iids), free(v->iids_rc), free(v->ilg), free(v->ilg_rc); }

typedef struct hreq {
    int cid, alt_side; /* alt_side 0: ref_hap, 1: alt_hap */
    int64_t pos, rlen;
    const char *alt;
    double pll;
} hreq;

static int add_hreq(hreq *r, int *nr, int cid, int64_t pos, int64_t rlen, const char *alt)
{
    for (int i = *nr - 1; i >= 0; i--) {
        if (r[i].cid != cid || r[i].pos != pos || r[i].rlen != rlen || r[i].alt_side != (alt != NULL)) continue;
        if (alt && strcasecmp(r[i].alt, alt)) continue;
        return i;
    }
    r[*nr] = (hreq){.cid = cid, .alt_side = alt != NULL, .pos = pos, .rlen = rlen, .alt = alt};
    return (*nr)++;
}

/* ids of a haplotype window (length *L): the flanks from the FASTA, the allele in between. */
static int hap_tokens(strand_vep *v, const hreq *q, int32_t *ids, size_t *L)
{
    int64_t h = v->h, mid = q->alt_side ? (int64_t)strlen(q->alt) : q->rlen;
    int rc;
    if (!q->alt_side) {
        rc = st_vep_fetch_tokens(v, q->cid, q->pos - h, q->pos + q->rlen + h, ids);
    } else {
        rc = st_vep_fetch_tokens(v, q->cid, q->pos - h, q->pos, ids);
        st_dna_encode(q->alt, (size_t)mid, ids + h);
        st_dna_n_to_pad(ids + h, (size_t)mid);
        if (rc == 0) rc = st_vep_fetch_tokens(v, q->cid, q->pos + q->rlen, q->pos + q->rlen + h, ids + h + mid);
    }
    *L = (size_t)(mid + 2 * h);
    return rc;
}

/* PLL of ids (L) from logits lg (L,16) and, with rc_average, the RC forward's lr. */
static double pll(const strand_vep *v, const int32_t *ids, size_t L, const float *lg, const float *lr)
{
    const size_t V = ST_DNA_VOCAB;
    double s = 0;
    for (size_t i = 0; i < L; i++) {
        if (ids[i] == ST_DNA_PAD) continue;
        double l[ST_DNA_VOCAB], mx = -INFINITY, z = 0;
        for (size_t t = 0; t < V; t++) {
            float x = lg[i * V + t];
            if (v->p.rc_average) x = 0.5f * (x + lr[(L - 1 - i) * V + (size_t)st_dna_complement((int)t)]);
            l[t] = (double)x;
            mx = l[t] > mx ? l[t] : mx;
        }
        for (size_t t = 0; t < V; t++) z += exp(l[t] - mx);
        s += l[ids[i]] - mx - log(z);
    }
    return s;
}

static int hap_job(strand_vep *v, int w, int r, void *ctx)
{
    hreq *q = (hreq *)ctx + r;
    size_t Lmax = (size_t)(v->W + 2 * v->h), V = ST_DNA_VOCAB, L = 0;
    int32_t *ids = v->iids + (size_t)w * Lmax, *ids_rc = v->iids_rc + (size_t)w * Lmax;
    float *lg = v->ilg + (size_t)w * Lmax * V, *lr = v->ilg_rc + (size_t)w * Lmax * V;
    int rc;
#pragma omp critical(st_vep_fasta) /* the FASTA handle is shared */
    rc = hap_tokens(v, q, ids, &L);
    if (rc < 0) return rc;
    rc = caduceus_forward(v->m, v->wc[w], ids, 1, L, CADUCEUS_INFER, lg, NULL, NULL);
    if (rc == 0 && v->p.rc_average) {
        st_dna_revcomp(ids, ids_rc, L);
        rc = caduceus_forward(v->m, v->wc[w], ids_rc, 1, L, CADUCEUS_INFER, lr, NULL, NULL);
    }
    if (rc < 0) return rc;
    q->pll = pll(v, ids, L, lg, lr);
    return 0;
}

int st_vep_indel_llr(strand_vep *v, strand_vep_variant *vars, size_t n, const int *cids, const unsigned char *want)
{
    hreq *req = malloc((2 * n + 1) * sizeof *req);
    int *ix = malloc((2 * n + 1) * sizeof *ix), nr = 0;
    if (!req || !ix) {
        free(req), free(ix);
        return st_err(&v->err, STRAND_E_NOMEM, "vep: out of memory for %zu indel windows", 2 * n);
    }
    for (size_t i = 0; i < n; i++) {
        ix[2 * i] = ix[2 * i + 1] = -1;
        if (!want[i]) continue;
        int64_t pos = vars[i].pos1 - 1, rlen = (int64_t)strlen(vars[i].ref);
        ix[2 * i] = add_hreq(req, &nr, cids[i], pos, rlen, NULL);
        ix[2 * i + 1] = add_hreq(req, &nr, cids[i], pos, rlen, vars[i].alt);
    }
    int rc = st_vep_run_jobs(v, nr, hap_job, req);
    if (rc == 0) {
        v->forwards += nr, v->hap_windows += nr;
        for (size_t i = 0; i < n; i++)
            if (ix[2 * i] >= 0) vars[i].llr = req[ix[2 * i + 1]].pll - req[ix[2 * i]].pll;
    }
    free(req), free(ix);
    return rc;
}
