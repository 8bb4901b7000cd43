/* `strand vep-train` (docs/vep.md "Trained score"): fit a STRAND_P head on strand features of a
 * labelled VCF; see caduceus/vep_train.c. */
#ifndef STRAND_CADUCEUS_VEP_TRAIN_H
#define STRAND_CADUCEUS_VEP_TRAIN_H
#include <stdint.h>
#include <stdio.h>

#include "strand.h"

typedef struct st_vep_train_opts {
    const char *vcf;        /* labelled input */
    const char *label_info; /* INFO Flag (present = 1) or Integer (non-zero = 1) holding the label, or */
    const char *labels_tsv; /* CHROM POS REF ALT LABEL lines */
    const char *dist_info;  /* INFO field of the distance feature (NULL: none) */
    int groups;             /* ST_HEAD_* of the head */
    int folds;
    uint64_t seed;
    double l2;
    const char *head_out;   /* NULL: not written */
} st_vep_train_opts;

/* Features of every labelled ALT of o->vcf from v (its window, pooling, LLR mode), cross-validated
 * AUROC of the head's features and of the comparison subsets (by distance bucket when there is a
 * distance), the head's cross-fitted Platt ECE and reliability table, all written to rep; the head
 * fitted on everything to o->head_out. 0 or STRAND_E_* (message in v). */
int st_vep_train(strand_vep *v, const st_vep_train_opts *o, FILE *rep);
#endif
