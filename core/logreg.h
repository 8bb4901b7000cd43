/* Binary classification statistics for trained scores (docs/vep.md "Trained score"): ridge logistic
 * regression fitted by Newton's method (IRLS), Platt scaling, AUROC, expected calibration error, and
 * stratified k-fold assignment. Everything in double; no randomness except st_kfold's seeded RNG. */
#ifndef STRAND_CORE_LOGREG_H
#define STRAND_CORE_LOGREG_H
#include <stddef.h>
#include <stdint.h>

/* Minimise Σ_i log(1 + exp(−s_i z_i)) + (l2/2)·‖w‖², z_i = b + X_i·w, s_i = ±1 for y_i = 1/0, over w
 * (F) and b (not penalised), X (n,F) row-major. Newton steps with the exact Hessian (Cholesky of
 * the (F+1)² system) from w = 0, b = logit(mean y), until the largest step < 1e-10 or 100 steps.
 * 0, or STRAND_E_ARG (n = 0, one class only) / STRAND_E_NOMEM / STRAND_E_RANGE (not positive definite). */
int st_logreg_fit(const double *X, const int *y, size_t n, int F, double l2, double *w, double *b);

/* Platt scaling: P = σ(a·z + c) fitted by maximum likelihood on scores z with Platt's (1999) smoothed
 * targets (N+ + 1)/(N+ + 2) and 1/(N− + 2) (st_logreg_fit with F = 1 and no penalty). */
int st_platt_fit(const double *z, const int *y, size_t n, double *a, double *c);

static inline double st_sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + __builtin_exp(-z)) : __builtin_exp(z) / (1.0 + __builtin_exp(z)); }

/* Area under the ROC curve of scores s for labels y (Mann–Whitney U / (N+ N−), ties count ½).
 * NaN when a class is empty. Entries with idx == NULL: all; else only i with idx[i] != 0. */
double st_auroc(const double *s, const int *y, size_t n, const unsigned char *idx);

/* Expected calibration error of probabilities p with `bins` equal-width bins on [0, 1]:
 * Σ_b (n_b / n) · |mean(p in b) − mean(y in b)|. cnt, mp, my (bins) may be NULL: the table. */
double st_ece(const double *p, const int *y, size_t n, int bins, int64_t *cnt, double *mp, double *my);

/* fold[i] in [0, k): positives and negatives each shuffled (seeded) and dealt round-robin. */
void st_kfold(const int *y, size_t n, int k, uint64_t seed, int *fold);
#endif
