/* Goodness-of-fit helpers for sampler tests: Pearson's chi-square of counts against a
 * distribution (cells with expected count < 5 pooled into one) and its upper-tail p-value
 * Q(dof/2, stat/2) (regularised upper incomplete gamma: series below a + 1, Lentz's continued
 * fraction above; Numerical Recipes §6.2 maths, own code). */
#ifndef STRAND_TESTS_STAT_UTIL_H
#define STRAND_TESTS_STAT_UTIL_H
#include <math.h>
#include <stdint.h>

static inline double su_gamma_q(double a, double x)
{
    if (x <= 0) return 1;
    double lg = a * log(x) - x - lgamma(a);
    if (x < a + 1) { /* P by the series, Q = 1 − P */
        double term = 1 / a, sum = term;
        for (int n = 1; n < 10000; n++) {
            term *= x / (a + n);
            sum += term;
            if (fabs(term) < fabs(sum) * 1e-16) break;
        }
        return 1 - sum * exp(lg);
    }
    double b = x + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d; /* continued fraction for Q */
    for (int i = 1; i < 10000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < 1e-300) d = 1e-300;
        c = b + an / c;
        if (fabs(c) < 1e-300) c = 1e-300;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return exp(lg) * h;
}

/* Upper-tail p-value of a chi-square statistic with dof degrees of freedom. */
static inline double su_chi2_sf(double stat, double dof) { return su_gamma_q(dof / 2, stat / 2); }

/* Adds Pearson's statistic of cnt (n cells, summing to total) against p (n, summing to 1) to
 * *stat and its degrees of freedom (cells after pooling − 1) to *dof. Cells with expected count
 * < 5 are pooled into one cell (dropped if the pool's expectation is itself < 5, its count then
 * must be 0 or it is reported through *stat as a huge term). */
static inline void su_chi2_add(const uint64_t *cnt, const double *p, int n, uint64_t total, double *stat, int *dof)
{
    double pool_e = 0, pool_o = 0;
    int cells = 0;
    for (int i = 0; i < n; i++) {
        double e = p[i] * (double)total;
        if (e < 5) {
            pool_e += e;
            pool_o += (double)cnt[i];
            continue;
        }
        double d = (double)cnt[i] - e;
        *stat += d * d / e;
        cells++;
    }
    if (pool_e >= 5) {
        double d = pool_o - pool_e;
        *stat += d * d / pool_e;
        cells++;
    } else if (pool_o > 0 && pool_o > 10 * pool_e + 5) {
        *stat += 1e9; /* draws where the distribution puts (almost) no mass */
    }
    if (cells > 1) *dof += cells - 1;
}
#endif
