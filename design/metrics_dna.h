/* DNA design metrics (docs/metrics.md "k-mer Jensen-Shannon divergence" .. "MCC"): per-sample
 * rows and per-set metrics of generated DNA against real windows of the requested class.
 * Sequences are strings; A, C, G, T (either case) are bases, anything else (N, specials) is not.
 *
 *   md_reference *real, *train;   md_reference_build(test_windows, n_test, &real);
 *   md_reference_build(train_windows, n_train, &train);
 *   md_sample *rows = calloc(n, sizeof *rows);  md_set_metrics m;
 *   md_evaluate(seqs, n, real, train, pred, requested, &p, rows, &m);
 *
 * NaN means undefined; the JSON writer writes null. A reference may be shared between threads. */
#ifndef STRAND_DESIGN_METRICS_DNA_H
#define STRAND_DESIGN_METRICS_DNA_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Normalised spectrum of overlapping k-mers of ACGT only (k-mers touching another symbol are
 * skipped), 4^k entries indexed with A=0,C=1,G=2,T=3, first base most significant. k in 1..8.
 * All zeros when no k-mer is counted (returns the count). */
long md_kmer_spectrum(const char *const *seqs, size_t n, int k, double *p);
/* Jensen-Shannon divergence in bits of two distributions of m entries. */
double md_js_bits(const double *p, const double *q, size_t m);
/* GC share among ACGT positions (NaN when none). */
double md_gc(const char *s);
/* Longest run of one identical base (case-insensitive, ACGT only; 0 for none). */
int md_longest_homopolymer(const char *s);

/* Real windows, 2-bit packed with both strands, plus their k = 3 and 6 spectra and GC stats. */
typedef struct md_reference md_reference;
int md_reference_build(const char *const *seqs, size_t n, md_reference **out);
void md_reference_free(md_reference *r);
size_t md_reference_size(const md_reference *r);
const double *md_reference_spectrum(const md_reference *r, int k); /* k = 3 or 6, else NULL */
double md_reference_gc_mean(const md_reference *r);
double md_reference_gc_sd(const md_reference *r);
/* nn_id(s) of docs/metrics.md "Memorised copies": max over the windows w of the same length L
 * (and their reverse complements) of the share of the L positions where w has the same base
 * (ungapped). Non-ACGT positions never match. NaN when the reference has no window of length L.
 * Cost: 2 x (L/64) x 3 word operations per window (2-bit packed, popcount). */
double md_nn_identity(const md_reference *r, const char *s);

typedef struct md_sample {
    double gc;          /* GC share */
    int homopolymer;    /* longest homopolymer */
    double nn_id;       /* identity to the nearest training window (NaN without a training reference) */
    int predicted;      /* classifier's class (-1 when none given) */
    double prob;        /* its probability (NaN when none given) */
    int duplicate;      /* 1 when an earlier sample is the same string */
} md_sample;

typedef struct md_set_metrics {
    size_t n;
    double js3, js6;                 /* JS (bits) to the real reference spectra; NaN without one */
    double gc_mean, gc_sd, real_gc_mean, real_gc_sd;
    double homopolymer_mean;
    int homopolymer_max;
    size_t exact_duplicates;         /* n - |distinct| */
    double nn_id_mean, nn_id_q95, nn_id_max;
    size_t memorised;                /* samples with nn_id >= 0.99 */
    int requested;                   /* requested class (-1 unguided / none) */
    double accuracy;                 /* share predicted == requested; NaN without predictions */
} md_set_metrics;

typedef struct md_params {
    int threads;          /* OpenMP threads for the nearest-window search (default 1) */
    double memorised_id;  /* 0.99 */
} md_params;
void md_default_params(md_params *p);

/* real, train, pred, prob and rows may each be NULL. pred/prob: the clean classifier's class and
 * probability per sample; requested: the class the target asked for (-1 for none). */
int md_evaluate(const char *const *seqs, size_t n, const md_reference *real, const md_reference *train,
                const int *pred, const double *prob, int requested, const md_params *p,
                md_sample *rows, md_set_metrics *out);

/* Confusion matrix C[y*k + c] (requested y, predicted c) over k classes: macro-F1 (over classes
 * occurring as requested or predicted; sklearn zero_division=0) and multi-class MCC (0 when the
 * denominator is 0). Add samples with md_confusion_add (ignores y or c outside 0..k-1). */
void md_confusion_add(long *C, int k, const int *requested, const int *predicted, size_t n);
double md_macro_f1(const long *C, int k);
double md_mcc(const long *C, int k);

json_t *md_metrics_json(const md_set_metrics *m);
const char *md_tsv_header(void); /* sequence gc predicted prob homopolymer nn_identity duplicate */
int md_sample_tsv(const char *seq, const md_sample *row, char **line);
#endif
