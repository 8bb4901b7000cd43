/* The evaluation of one design job (docs/design.md "Outputs"): the per-sample rows and set
 * metrics of design/metrics_smiles.h (SMILES: valid, canonical, novel, QED, rings, logP, MW, TPSA,
 * heavy atoms; validity, uniqueness, novelty, property statistics, IntDiv, GuacaMol KL) or
 * design/metrics_dna.h (DNA: GC, longest homopolymer, duplicates), the target's filters over
 * them, the per-sample TSV and the job's metrics object. This is the runner's one place that
 * calls the metrics (docs/metrics.md defines them). */
#ifndef STRAND_DESIGN_SAMPLES_H
#define STRAND_DESIGN_SAMPLES_H
#include <jansson.h>
#include <stddef.h>

#include "design/campaign.h"
#include "design/metrics_dna.h"
#include "design/metrics_smiles.h"

typedef struct dz_eval {
    size_t n;
    int dna;
    int have_ref;          /* SMILES: a training-set reference (novelty defined) */
    char *const *seqs;     /* the decoded samples (borrowed) */
    ms_sample *ms;         /* SMILES rows */
    ms_set_metrics sm;
    md_sample *md;         /* DNA rows */
    md_set_metrics dm;
    /* DNA with a judge or a reference (docs/design.md "Judging DNA samples"), per class y of the
     * model: the share of samples the judge assigns to y, k-mer JS (k = 3, 6) to y's windows */
    int n_classes;          /* 0: no per-class metrics */
    char *const *class_names; /* borrowed (may be NULL) */
    double *pc_share, *pc_js3, *pc_js6;
    int judged;             /* predictions given */
    int *kept;             /* passes every filter */
    const char **why;      /* the first filter failed ("" when kept) */
} dz_eval;

/* Rows and set metrics of n samples; ref (SMILES training set) may be NULL; label: the requested
 * class (-1: none); threads for the per-sample work. DNA: pred/prob (may be NULL) are the judge's
 * class and probability per sample; the model's held-out reference (m->ref, m->ref_all) is
 * used when it has one: the requested class's windows, or every class's for label -1. */
int dz_evaluate(const dz_model *m, const ms_reference *ref, char *const *seqs, size_t n, int label, int threads,
                const int *pred, const double *prob, dz_eval *ev);
/* kept/why by the filters, in sample order (dedupe keeps the first). */
int dz_eval_filter(const dz_filters *f, dz_eval *ev);
/* The per-sample TSV: index, the metrics' columns, kept, filtered_by; written atomically. */
int dz_eval_write_tsv(const char *path, const dz_eval *ev);
/* The job's metrics: the set metrics' JSON plus "kept" and statistics over the kept samples. */
json_t *dz_eval_metrics(const dz_eval *ev);
/* A sample's value of a filter property (NaN when undefined). */
double dz_eval_prop(const dz_eval *ev, size_t i, dz_prop p);
void dz_eval_clear(dz_eval *ev);
#endif
