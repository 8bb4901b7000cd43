/* guidance/duo*: Duo's duality map T against scipy's quad (tests/reference/duo_map.py, to 1e-6
 * over gamma in [-5, 1] for N in {2, 12, 75, 1000}), the N = 2 closed form, T's derivative in α̃
 * and in γ by central differences, the interpolated table vs direct quadrature. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fixture_util.h"
#include "guidance/duo_map.h"
#include "strand.h"
#include "test_util.h"

static double *pair_d(const sft_file *f, const char *hi, const char *lo, size_t *n)
{
    size_t n1, n2;
    float *a = fx_f32(f, hi, &n1), *b = fx_f32(f, lo, &n2);
    CU_ASSERT_FATAL(n1 == n2);
    double *d = malloc(n1 * sizeof *d);
    for (size_t i = 0; i < n1; i++) d[i] = (double)a[i] + (double)b[i];
    free(a), free(b);
    *n = n1;
    return d;
}

/* quadrature and the table vs scipy */
static void test_duo_map_vs_scipy(void)
{
    sft_file *f = tu_fixture_open("duo", "map");
    size_t nN, ng, nT, ndT;
    int32_t *Ns = fx_i32(f, "N", &nN);
    double *g = pair_d(f, "gamma_hi", "gamma_lo", &ng);
    double *T = pair_d(f, "T_hi", "T_lo", &nT), *dT = pair_d(f, "dT_hi", "dT_lo", &ndT);
    CU_ASSERT_FATAL(nT == nN * ng && ndT == nT);
    double wq = 0, wqd = 0, wt = 0, wtd = 0;
    for (size_t a = 0; a < nN; a++) {
        duo_map m;
        CU_ASSERT_FATAL(duo_map_init(&m, Ns[a], -5.0, 1.0, 0) == 0);
        for (size_t b = 0; b < ng; b++) {
            double ref = T[a * ng + b], dref = dT[a * ng + b], d, dm;
            double v = duo_T_gamma(Ns[a], g[b], &d);
            double vm = duo_map_alpha(&m, g[b], &dm);
            wq = fmax(wq, fabs(v - ref)), wqd = fmax(wqd, fabs(d - dref));
            wt = fmax(wt, fabs(vm - ref)), wtd = fmax(wtd, fabs(dm - dref));
        }
        duo_map_free(&m);
    }
    fprintf(stderr, "    vs scipy quad: quadrature |T| %.2e |dT/dgamma| %.2e; table (2049 pts) %.2e / %.2e (tol 1e-6)\n",
            wq, wqd, wt, wtd);
    CU_ASSERT(wq < 1e-6 && wqd < 1e-6 && wt < 1e-6 && wtd < 1e-6);
    free(Ns), free(g), free(T), free(dT);
    sft_close(f);
}

/* N = 2: P(ε_x + μ > ε_j) = Φ(μ/√2); derivatives by central differences; monotone, T(0) = 0 */
static void test_duo_map_shape(void)
{
    double w2 = 0;
    for (double at = 0.05; at < 0.99; at += 0.0731) {
        double mu = at / sqrt(1 - at * at);
        double ref = 2 * (0.5 * erfc(-mu / 2.0) - 0.5); /* Φ(μ/√2) = erfc(−μ/2)/2 */
        w2 = fmax(w2, fabs(duo_T(2, at, NULL) - ref));
    }
    fprintf(stderr, "    N=2 closed form: %.2e (tol 1e-12)\n", w2);
    CU_ASSERT(w2 < 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(duo_T(75, 0.0, NULL), 0.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(duo_T(75, 1.0, NULL), 1.0, 1e-15);
    CU_ASSERT(fabs(duo_T_gamma(75, 0.0, NULL) - duo_T(75, sqrt(0.5), NULL)) < 1e-13);
    double wd = 0, wg = 0, prev = -1;
    int mono = 1;
    const int Ns[3] = {12, 75, 1000};
    for (int k = 0; k < 3; k++)
        for (double at = 0.02; at < 0.95; at += 0.0173) {
            double d, h = 1e-5;
            double v = duo_T(Ns[k], at, &d);
            double fd = (duo_T(Ns[k], at + h, NULL) - duo_T(Ns[k], at - h, NULL)) / (2 * h);
            wd = fmax(wd, fabs(fd - d) / fmax(1.0, fabs(d)));
            if (at > 0.021 && v <= prev) mono = 0;
            prev = at + 0.0173 < 0.95 ? v : -1;
            double gm = log((1 - at * at) / (at * at)), dg; /* at^2 = sigmoid(-g) */
            duo_T_gamma(Ns[k], gm, &dg);
            double fg = (duo_T_gamma(Ns[k], gm + h, NULL) - duo_T_gamma(Ns[k], gm - h, NULL)) / (2 * h);
            wg = fmax(wg, fabs(fg - dg) / fmax(1.0, fabs(dg)));
            CU_ASSERT(fabs(duo_alpha_tilde(gm) - at) < 1e-12);
        }
    fprintf(stderr, "    dT/dalpha~ (alpha~ < 0.95) and dT/dgamma vs central differences: %.2e / %.2e (tol 1e-7)\n", wd, wg);
    CU_ASSERT(wd < 1e-7 && wg < 1e-7);
    CU_ASSERT(mono);
    duo_map m;
    CU_ASSERT_EQUAL(duo_map_init(&m, 1, -5, 1, 0), STRAND_E_ARG);
    CU_ASSERT_EQUAL(duo_map_init(&m, 12, 1, -5, 0), STRAND_E_ARG);
    /* clamping outside the table */
    CU_ASSERT_FATAL(duo_map_init(&m, 12, -4, -1, 65) == 0);
    CU_ASSERT_DOUBLE_EQUAL(duo_map_alpha(&m, -9, NULL), m.T[0], 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(duo_map_alpha(&m, 3, NULL), m.T[64], 1e-15);
    duo_map_free(&m);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("duo", NULL, NULL);
    ADD_TEST(s, test_duo_map_vs_scipy);
    ADD_TEST(s, test_duo_map_shape);
}
