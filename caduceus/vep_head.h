/* A trained variant score on strand features (docs/vep.md "Trained score"): the feature vector of an
 * ALT, the head (standardisation + logistic regression + Platt calibration) and its text file.
 *
 * Features, in this order, of the groups a head uses:
 *   emb  (3D)  pool_ref, pool_alt, pool_alt − pool_ref   (the pooled strand-collapsed embeddings of
 *              STRAND_EMB's REF and ALT windows)
 *   llr  (1)   STRAND_LLR (the head's llr mode)
 *   dist (2)   log10(1 + |d|), sign(d)                   (d from an INFO field, e.g. distance to a TSS)
 * z = b + Σ_j w_j (x_j − mean_j) / sd_j,  STRAND_P = σ(platt_a · z + platt_c). */
#ifndef STRAND_CADUCEUS_VEP_HEAD_H
#define STRAND_CADUCEUS_VEP_HEAD_H
#include <stddef.h>
#include <stdint.h>

enum { ST_HEAD_EMB = 1, ST_HEAD_LLR = 2, ST_HEAD_DIST = 4 };
#define ST_HEAD_ALL (ST_HEAD_EMB | ST_HEAD_LLR | ST_HEAD_DIST)

typedef struct st_vep_head {
    int groups, D, F;        /* feature groups, embedding width, number of features */
    double *mean, *sd, *w;   /* (F) */
    double b, platt_a, platt_c, l2;
    char sha256[65];         /* the model the features came from */
    int window, pool_half_width, llr; /* strand_vep_params the features need (llr: STRAND_VEP_LLR_*) */
    char dist_info[64];      /* INFO field of d ("" without dist) */
    double cv_auroc, cv_ece; /* cross-validated, from training (provenance) */
    int64_t n_train, n_pos;
} st_vep_head;

/* Features of groups for embedding width D. */
int st_vep_head_nfeat(int groups, int D);
/* "emb,llr,dist" ↔ bits; parse: 0 or STRAND_E_ARG. */
int st_vep_head_parse_groups(const char *s, int *groups);
void st_vep_head_groups_str(int groups, char *out, size_t cap);
/* x (st_vep_head_nfeat) for one ALT; pref/palt may be NULL and llr/dist NaN when their group is
 * absent. Returns 1 when every needed value is there and finite, else 0 (x filled with NaN). */
int st_vep_head_features(int groups, int D, const double *pref, const double *palt, double llr, double dist, double *x);
/* The columns of the groups `sub` inside a full (ST_HEAD_ALL) feature vector: cols[0..n) ascending. */
int st_vep_head_columns(int sub, int D, int *cols);
double st_vep_head_margin(const st_vep_head *h, const double *x); /* z */
double st_vep_head_prob(const st_vep_head *h, const double *x);   /* σ(a z + c); NaN if x has NaN */
/* allocate mean/sd/w for h->F */
int st_vep_head_alloc(st_vep_head *h);
void st_vep_head_free(st_vep_head *h);
/* Text file "strand-vep-head 1", one "key value..." line each, doubles as %.17g (exact round trip). */
int st_vep_head_write(const st_vep_head *h, const char *path);
int st_vep_head_read(st_vep_head *h, const char *path);
#endif
