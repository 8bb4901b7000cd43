/* Per-sample rows of a design job (docs/design.md "Outputs"): what is known about each generated
 * sequence, which filters it passes, the per-sample TSV, and the job's summary metrics.
 * SMILES: valid (docs/metrics.md "Validity"), canonical SMILES, novel (canonical not in the
 * training set), QED, rings, logP, MW, TPSA, heavy atoms. DNA: GC, longest homopolymer.
 * dz_job_metrics is the one place the job's metrics are computed (the design/metrics_* functions
 * of docs/metrics.md plug in there). */
#ifndef STRAND_DESIGN_SAMPLES_H
#define STRAND_DESIGN_SAMPLES_H
#include <jansson.h>
#include <stddef.h>

#include "design/campaign.h"
#include "design/strset.h"

typedef struct dz_row {
    char *seq;       /* decoded sample (specials dropped) */
    int valid;       /* SMILES: RDKit parses and sanitises it, non-empty; DNA: 1 */
    char *canonical; /* SMILES: canonical SMILES of a valid sample, else NULL */
    int novel;       /* 1/0, -1 when there is no training set (or the sample is invalid) */
    double prop[DZ_PROP_COUNT]; /* NAN where not defined */
    int homopolymer; /* DNA: longest run of one base */
    int kept;        /* passes every filter of the target */
    const char *why; /* the first filter it fails ("" when kept) */
} dz_row;

/* Rows for n decoded samples (rows zeroed by the caller; thread-safe after chem_init/qed_init). */
int dz_rows_compute(const dz_model *m, const dz_strset *train, char *const *seqs, size_t n, dz_row *rows);
/* kept/why by the filters, in sample order (dedupe keeps the first). */
int dz_rows_filter(const dz_filters *f, int dna, dz_row *rows, size_t n);
void dz_rows_free(dz_row *rows, size_t n);
/* The per-sample TSV (header + one line per sample), written atomically. */
int dz_rows_write_tsv(const char *path, int dna, const dz_row *rows, size_t n);
/* The job's metrics object (counts, rates, property statistics over valid / kept samples). */
json_t *dz_job_metrics(const dz_model *m, const dz_row *rows, size_t n, int have_train);
#endif
