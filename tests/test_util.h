/* Helpers for the CUnit suites: array comparison with a report, CLI runs, temp paths. */
#ifndef STRAND_TESTS_TEST_UTIL_H
#define STRAND_TESTS_TEST_UTIL_H
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADD_TEST(suite, fn) CU_add_test(suite, #fn, fn)

/* Max |got - want| over n values; prints it and the first element over tol. Returns max diff. */
static inline double tu_max_abs_diff(const char *what, const float *got, const float *want, size_t n,
                                     double tol)
{
    double m = 0;
    size_t first = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= tol) && first == (size_t)-1) first = i; /* NaN counts as a mismatch */
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    fprintf(stderr, "    %-40s max|diff| = %.3g over %zu values (tol %.1g)", what, m, n, tol);
    if (first != (size_t)-1)
        fprintf(stderr, "  FIRST MISMATCH [%zu]: got %.9g want %.9g", first, got[first], want[first]);
    fprintf(stderr, "\n");
    return m;
}
#define CHECK_CLOSE(what, got, want, n, tol) CU_ASSERT(tu_max_abs_diff(what, got, want, n, tol) <= (tol))

/* Max relative error |g-w| / max(|w|_inf, floor) — for gradients. */
static inline double tu_max_rel_diff(const char *what, const float *got, const float *want, size_t n,
                                     double tol)
{
    double scale = 1e-6, m = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / scale;
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    fprintf(stderr, "    %-40s max rel diff = %.3g (scale %.3g, tol %.1g)\n", what, m, scale, tol);
    return m;
}
#define CHECK_REL(what, got, want, n, tol) CU_ASSERT(tu_max_rel_diff(what, got, want, n, tol) <= (tol))

/* Run a shell command; returns its exit status (or -1). Output captured into `out` if not NULL. */
static inline int tu_run(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t k = 0;
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, p)) > 0) {
        if (out && k + 1 < outlen) {
            size_t c = r < outlen - 1 - k ? r : outlen - 1 - k;
            memcpy(out + k, buf, c);
            k += c;
        }
    }
    if (out) out[k] = '\0';
    int st = pclose(p);
    return st == -1 ? -1 : (st >> 8) & 0xff;
}

/* tu_run with a printf-style command line; output (if `out`) captured into out[outlen]. */
static inline int tu_runf(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int tu_runf(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_run(cmd, out, out ? outlen : 0);
}

/* Text equality with a report of the first differing line. */
static inline int tu_same_text(const char *what, const char *got, const char *want)
{
    if (!strcmp(got, want)) return 1;
    int line = 1;
    const char *g = got, *w = want;
    while (*g && *g == *w) {
        if (*g == '\n') line++;
        g++, w++;
    }
    fprintf(stderr, "    %s: differs at line %d: got \"%.80s\" want \"%.80s\"\n", what, line, g, w);
    return 0;
}

/* The whole file, malloc'd and NUL-terminated (so text can be searched); *len (may be NULL) = its
 * size. NULL when it cannot be opened or read. */
static inline unsigned char *tu_slurp(const char *path, size_t *len)
{
    if (len) *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    unsigned char *b = NULL;
    long n = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    if (n >= 0 && fseek(fp, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1)) != NULL &&
        fread(b, 1, (size_t)n, fp) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    if (b) b[n] = 0;
    if (len) *len = b ? (size_t)n : 0;
    return b;
}

/* STRAND_TEST_TMP/<subdir>/<name> (static buffer rotation: up to 8 live at once); a suite keeps its
 * files in its own subdir (created by the suite) with `#define tmpf(name) tu_tmp_in("bam", name)`. */
static inline const char *tu_tmp_in(const char *subdir, const char *name)
{
    static char bufs[8][1024];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 1024, "%s/%s/%s", STRAND_TEST_TMP, subdir, name);
    return b;
}

/* A path under the build's test temp dir (static buffer rotation: up to 8 live at once). */
static inline const char *tu_tmp(const char *name)
{
    static char bufs[8][1024];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 1024, "%s/%s", STRAND_TEST_TMP, name);
    return b;
}
#endif
