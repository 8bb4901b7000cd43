/* SMILES design metrics (docs/metrics.md "Validity" .. "GuacaMol KL score"): per-sample rows and
 * per-set metrics of generated SMILES against a reference (the training set).
 *
 *   ms_reference *ref;   ms_reference_from_tsv("smiles_60k.props.tsv", NULL, &p, &ref);
 *   ms_sample *rows = calloc(n, sizeof *rows);  ms_set_metrics m;
 *   ms_evaluate(smiles, n, ref, &p, rows, &m);   json_t *j = ms_metrics_json(&m);
 *   ms_samples_clear(rows, n);  ms_reference_free(ref);
 *
 * NaN in a double means "undefined" (no valid molecule, k < 2, no reference); the JSON writer
 * turns it into null. Thread-safe: one ms_reference may be shared by concurrent ms_evaluate calls. */
#ifndef STRAND_DESIGN_METRICS_SMILES_H
#define STRAND_DESIGN_METRICS_SMILES_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Per-sample properties (docs/chem.md "Properties"), in report/TSV order. */
typedef enum ms_prop { MS_QED = 0, MS_RINGS, MS_LOGP, MS_MW, MS_TPSA, MS_HEAVY, MS_NPROP } ms_prop;
const char *ms_prop_name(ms_prop p); /* "qed", "rings", "logp", "mw", "tpsa", "heavy_atoms" */

/* The ten GuacaMol KL terms in GuacaMol's order (docs/metrics.md "GuacaMol KL score"). */
enum { MS_KL_BERTZ = 0, MS_KL_LOGP, MS_KL_MW, MS_KL_TPSA, MS_KL_HBA, MS_KL_HBD, MS_KL_ROTB,
       MS_KL_ALIPHATIC_RINGS, MS_KL_AROMATIC_RINGS, MS_KL_NN_SIM, MS_KL_N };
const char *ms_kl_name(int k); /* "BertzCT", "MolLogP", ..., "internal_similarity" */

typedef struct ms_sample {
    int valid;        /* non-empty, RDKit parses and sanitises */
    int novel;        /* valid and canonical not in the reference's training set (0 without one) */
    int first;        /* valid and the first occurrence of its canonical SMILES in the set */
    char *canonical;  /* malloc'd canonical SMILES, NULL when invalid */
    double v[MS_NPROP]; /* properties (NaN when invalid) */
} ms_sample;
void ms_samples_clear(ms_sample *rows, size_t n); /* frees canonical strings, NULL is fine */

/* mean, sd (n-1), quantiles 5/25/50/75/95 % (numpy linear); NaN when n = 0 (sd: n < 2). */
enum { MS_NQ = 5 };
extern const double ms_quantile_levels[MS_NQ];
typedef struct ms_stats {
    size_t n;
    double mean, sd, q[MS_NQ];
} ms_stats;
void ms_stats_compute(const double *x, size_t n, ms_stats *out); /* x is not modified */

typedef struct ms_set_metrics {
    size_t n, n_valid, n_unique, n_novel;
    double validity, uniqueness, novelty; /* docs/metrics.md; uniqueness/novelty NaN when undefined */
    double unique_of_all, novel_of_all;   /* |U|/n, |U \ T|/n */
    ms_stats valid_stats[MS_NPROP];       /* over V (with repeats) */
    ms_stats novel_stats[MS_NPROP];       /* over U \ T_can (each distinct molecule once) */
    double intdiv;                        /* 1 - mean pairwise Tanimoto over U (Morgan r2, 2048 bits) */
    double kl_score;                      /* GuacaMol KL score vs the reference, NaN without one */
    double kl[MS_KL_N];                   /* the ten KL divergences (nats) */
} ms_set_metrics;

typedef struct ms_params {
    int threads;          /* OpenMP threads for per-sample work (default 1) */
    uint64_t seed;        /* subset selection seed (default 42) */
    size_t intdiv_max;    /* IntDiv over a fixed-seed subset above this many molecules (5000) */
    size_t kl_max;        /* GuacaMol subsets of sample and reference (10000) */
    int compute_kl;       /* 1 (default): compute the KL score when the reference has KL data */
} ms_params;
void ms_default_params(ms_params *p);

typedef struct ms_reference ms_reference;
/* Reference from training SMILES. canonical = 1 trusts them as RDKit canonical SMILES already
 * (skips re-canonicalising: e.g. the canonical_smiles column strand data smiles writes);
 * 0 canonicalises each (invalid ones are skipped). Also keeps, for a fixed-seed subset of at most
 * p->kl_max valid molecules, the GuacaMol descriptors and the per-property values used as the
 * training distribution in reports. */
int ms_reference_build(const char *const *smiles, size_t n, int canonical, const ms_params *p, ms_reference **out);
/* Reads column `column` (NULL: "canonical_smiles", trusted canonical; any other column is
 * canonicalised) of a TSV with a header line. STRAND_E_IO / STRAND_E_FORMAT naming the file. */
int ms_reference_from_tsv(const char *path, const char *column, const ms_params *p, ms_reference **out);
void ms_reference_free(ms_reference *r);
size_t ms_reference_size(const ms_reference *r);              /* distinct canonical training SMILES */
int ms_reference_contains(const ms_reference *r, const char *canonical);
/* Property values of the reference subset (training distribution for plots); *n set. */
const double *ms_reference_values(const ms_reference *r, ms_prop p, size_t *n);
/* The reference's own statistics over its subset (as ms_set_metrics.valid_stats). */
const ms_stats *ms_reference_stats(const ms_reference *r, ms_prop p);

/* One sample row (rows of ms_evaluate). ref may be NULL (novel = 0). Returns 0 also for an
 * invalid SMILES (row->valid = 0); < 0 only on out-of-memory or an internal RDKit failure. */
int ms_sample_compute(const char *smiles, const ms_reference *ref, ms_sample *row);
/* Evaluate n samples (NULL or "" entries are empty, hence invalid). rows (n entries, may be NULL)
 * receives the per-sample rows (caller clears them); ref may be NULL (novelty NaN, no KL). */
int ms_evaluate(const char *const *smiles, size_t n, const ms_reference *ref, const ms_params *p,
                ms_sample *rows, ms_set_metrics *out);

/* Building blocks, exposed for tests: IntDiv of k fingerprints of nwords words; the GuacaMol
 * continuous (KDE) and discrete (histogram) KL(ref || sample) of docs/metrics.md; the internal
 * nearest-neighbour similarity of each of k fingerprints (max Tanimoto to any other; 0 when k=1). */
double ms_intdiv(const uint64_t *fps, size_t k, size_t nwords);
double ms_kl_continuous(const double *ref, size_t a, const double *sample, size_t b);
double ms_kl_discrete(const double *ref, size_t a, const double *sample, size_t b);
int ms_nn_similarity(const uint64_t *fps, size_t k, size_t nwords, double *out);
/* The GuacaMol KL score of distinct canonical sample SMILES against the reference subset. */
int ms_kl_score(const char *const *canonical, size_t k, const ms_reference *ref, const ms_params *p,
                double kl[MS_KL_N], double *score);

/* JSON object of the set metrics (NaN -> null). NULL on out-of-memory. */
json_t *ms_metrics_json(const ms_set_metrics *m);
/* One per-sample TSV line (no newline): smiles valid canonical novel qed rings logp mw tpsa heavy_atoms. */
const char *ms_tsv_header(void);
int ms_sample_tsv(const char *smiles, const ms_sample *row, char **line); /* *line malloc'd */
#endif
