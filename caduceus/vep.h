/* Variant effect prediction with Caduceus (docs/vep.md): zero-shot LLR at a masked site and the
 * embedding distance between REF and ALT windows; public API strand_vep_* in include/strand.h.
 *
 * Flow of a variant: VCF record (io/vcf) → reference window (io/fasta) → tokens
 * (core/tokenizer_dna, N → [PAD], outside the contig → [PAD]) → caduceus_forward (INFER: PS is
 * exactly RC-equivariant, PH is post-hoc conjoined) → scores (vep.c) → INFO fields (vep_vcf.c).
 *
 * Windows: odd length W = 2h+1, the variant's first REF base at index h:
 *   ref    = FASTA[pos−h .. pos+h]
 *   masked = ref with index h set to [MASK]                          (SNV LLR)
 *   alt    = FASTA[pos−h .. pos−1] + ALT + FASTA[pos+len(REF) ..], cut to W   (re-centred ALT haplotype)
 * LLR = logit[alt] − logit[ref] at index h of the masked window (the softmax normaliser cancels,
 * so the score is exactly antisymmetric in REF/ALT for the same masked context).
 * EMB = 1 − cos(pool(ref), pool(alt)), pool = mean of the per-position embedding over indices
 * h−H .. h+H, summed in mirrored pairs (e[h−k] + e[h+k]) so that the reverse-complement window
 * gives the same sum bit for bit.
 * With rc_average the reverse-complemented window is run too: logits at the centre are averaged as
 * (lg[v] + lg_rc[comp v]) / 2 and pooled embeddings as (pool + pool_rc) / 2 (the RC window's
 * pooling pairs mirror the forward ones), which is symmetric term by term, so a variant and its
 * reverse-complement representation give bit-identical scores.
 * A batch deduplicates windows: every (contig, pos, kind, REF length, ALT) window runs once, and the
 * distinct windows of a batch are spread over the threads (one B=1 forward per window in a
 * per-thread run context over the one shared weights object, BLAS single-threaded inside), so scores do not depend on --batch or
 * --threads bit for bit (see docs/vep.md "Throughput and determinism" for why windows are not stacked into
 * B>1 forwards). */
#ifndef STRAND_CADUCEUS_VEP_H
#define STRAND_CADUCEUS_VEP_H
#include <stdint.h>

#include "caduceus/caduceus.h"
#include "caduceus/vep_head.h"
#include "core/error.h"
#include "io/fasta.h"
#include "io/vcf.h"
#include "strand.h"

#define ST_VEP_DEFAULT_MODEL "caduceus-ps-chr20.safetensors"

struct strand_vep {
    caduceus_weights *m; /* one read-only copy, shared by every worker */
    st_fasta *fa;
    strand_vep_params p;
    int W, h, H; /* window (odd), centre index, pooling half-width */
    char sha256[65];
    char *model_path, *fasta_path;
    st_errbuf err;
    /* nw workers (the threads), each runs one B=1 forward at a time in its own run context over
     * the shared weights m: (nw,W) ids, (nw,W,16) logits, (nw,W,D) embeddings */
    int nw;
    caduceus_ctx **wc;   /* [nw] one run context per worker */
    int32_t *ids;
    float *logits, *embed;
    int32_t *ids_rc;            /* rc_average: the reverse-complemented window */
    float *logits_rc, *embed_rc;
    int64_t windows_requested, forwards; /* running totals */
    int64_t fail_index;                  /* variant of the batch a failing score_batch stopped at (-1) */
    int n_examples;
    char examples[5][160];
    /* vep_options.c: --rename-chrs map (sorted by from) and targets */
    char **ren_from, **ren_to;
    int n_ren;
    st_region *targets;
    int n_targets;
    /* vep_marginal.c (llr = MARGINAL): core S and tile T = S + 2h; per-worker tile buffers
     * (nw,T) ids, (nw,T,16) logits (and their RC twins); the last tile of the previous batch */
    int S, T;
    int32_t *mids, *mids_rc;
    float *mlg, *mlg_rc;
    int mc_cid;      /* -1: empty */
    int64_t mc_k;
    float *mc_lg;    /* (S,16) the centre-ready logits of tile (mc_cid, mc_k) */
    int64_t tiles;   /* marginal tile forwards run (also counted in forwards) */
    /* vep_indel.c (llr = MARGINAL): per-worker haplotype-window buffers, up to W + 2h bases:
     * (nw,W+2h) ids, (nw,W+2h,16) logits (and their RC twins) */
    int32_t *iids, *iids_rc;
    float *ilg, *ilg_rc;
    int64_t hap_windows; /* indel haplotype-window forwards run (also counted in forwards) */
    /* vep_head.c (docs/vep.md "Trained score"): features per ALT (feat_groups, 0: none), STRAND_P
     * from head; per batch of score_batch: bdist (n) distances in (NULL: none), bp (n) STRAND_P out,
     * bfeat (n, F of feat_groups) features out (NULL: not kept) */
    st_vep_head *head;
    char *head_path;
    int feat_groups;
    char dist_info[64];
    double *bdist, *bp, *bfeat;
    /* vep_vcf.c: called for every ALT after a batch is scored (vep-train collects its examples) */
    void (*collect)(void *ctx, const bcf_hdr_t *h, bcf1_t *rec, int alt, const strand_vep_variant *x, const double *feat);
    void *collect_ctx;
};

/* vep_options.c: load / free the rename map and targets of v->p. */
int st_vep_options_load(strand_vep *v);
void st_vep_options_free(strand_vep *v);
/* FASTA contig id of a VCF contig name (through the rename map), or -1. */
int st_vep_contig_id(const strand_vep *v, const char *vcf_name);
/* A scored variant with a non-finite LLR or pooled embedding: NONFINITE error (message names the
 * variant) or status STRAND_VEP_NONFINITE with both scores NaN, by v->p.nonfinite. */
int st_vep_check_finite(strand_vep *v, strand_vep_variant *x, size_t i, int has_llr, const double *pref,
                        const double *palt, size_t D);

/* Token ids (W) of a window of `kind` for the variant (contig cid, 0-based pos, REF length rlen,
 * ALT text alt); see the header comment. 0 or STRAND_E_*. */
enum { ST_VEP_WIN_REF = 0, ST_VEP_WIN_MASKED = 1, ST_VEP_WIN_ALT = 2 };
int st_vep_window(strand_vep *v, int cid, int64_t pos, int64_t rlen, const char *alt, int kind, int32_t *ids);
/* ids[0..end-beg) = tokens of FASTA[beg, end) of contig cid; outside the contig [PAD]; N → [PAD]. */
int st_vep_fetch_tokens(strand_vep *v, int cid, int64_t beg, int64_t end, int32_t *ids);
/* Run job(v, w, r, ctx) for r in [0, n) over the handle's workers (w = the worker's index, for its
 * run context), BLAS single-threaded inside when there are several; after the first failure no
 * new job starts, and that job's code and message (captured into v->err) are returned. */
typedef int (*st_vep_job_fn)(strand_vep *v, int w, int r, void *ctx);
int st_vep_run_jobs(strand_vep *v, int n, st_vep_job_fn job, void *ctx);

/* vep_marginal.c: the wild-type marginal LLR (docs/vep.md "Marginal LLR"). Site pos (0-based) is
 * scored in tile k = floor(pos / S), the reference FASTA[k·S − h, k·S + S + h) (T bases), at index
 * pos − k·S + h. */
int st_vep_marginal_init(strand_vep *v);
void st_vep_marginal_free(strand_vep *v);
/* x->llr for every vars[i] with want[i] (an SNV on contig cids[i] whose REF/ALT are ACGT). One
 * forward per distinct tile, spread over the workers (call inside st_parallel_begin/end when
 * v->nw > 1). 0 or STRAND_E_*. */
int st_vep_marginal_llr(strand_vep *v, strand_vep_variant *vars, size_t n, const int *cids,
                        const unsigned char *want);

/* vep_indel.c: the marginal indel/MNV score (docs/vep.md "Indel LLR"), LLR = PLL(alt_hap) −
 * PLL(ref_hap) of the haplotype windows FASTA[pos−h, pos) + allele + FASTA[pos+rlen, pos+rlen+h).
 * st_vep_indel_fits: whether alleles of these lengths are scored (both ≤ W). */
int st_vep_indel_init(strand_vep *v);
void st_vep_indel_free(strand_vep *v);
int st_vep_indel_fits(const strand_vep *v, int64_t rlen, int64_t alen);
/* x->llr for every vars[i] with want[i] (a non-SNV on contig cids[i], ACGT alleles that fit). One
 * forward per distinct haplotype window, spread over the workers. 0 or STRAND_E_*. */
int st_vep_indel_llr(strand_vep *v, strand_vep_variant *vars, size_t n, const int *cids, const unsigned char *want);

/* vep_head.c: load the head file of STRAND_P into v (checks that it was trained with v's model,
 * window, pooling and LLR mode), and the feature scratch of score_batch. */
int st_vep_head_attach(strand_vep *v, const char *path);
void st_vep_head_detach(strand_vep *v);
/* Features (and STRAND_P) of variant i of a batch into v->bfeat / v->bp, from its pooled embeddings
 * (NULL when not computed) and LLR. */
void st_vep_head_variant(strand_vep *v, size_t i, const double *pref, const double *palt, double llr);

/* Pooled embedding (D, double) of per-position embeddings e (W,D) around the centre. */
void st_vep_pool(const strand_vep *v, const float *e, size_t D, double *out);
/* 1 − cos(a, b) for D-vectors; NaN when a norm is 0. */
double st_vep_cosine_distance(const double *a, const double *b, size_t D);
#endif
