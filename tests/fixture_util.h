/* The test suites' one set of fixture readers and their one finite-difference checker.
 *
 * Fixtures are committed safetensors files (tests/data/<subdir>/<name>.safetensors, written by a
 * script in tests/reference/); a missing file or tensor is a fatal CUnit failure naming it. The
 * readers return malloc'd copies (free them): fx_f32 / fx_i32 take any size and report it in *n
 * (may be NULL); fx_f32_n / fx_i32_n require exactly n values. Integer tensors are stored as int64
 * and read as int32.
 *
 * fx_gradcheck: central finite differences (llm.c's check_tensor idea, in double) at `count`
 * entries of x spread evenly (step = max(1, n / count), from step / 2):
 *     fd_i = (f(x + h e_i) - f(x - h e_i)) / (x_i+ - x_i-)
 * with the perturbation as actually stored in float. The loss f is accumulated in double, but a
 * forward in float makes fd noisy by about eps_f |loss| / h, hence the bound
 *     |fd_i - an_i| <= atol + rtol_max * max_j |an_j| + rtol_fd * max(fd_floor, |fd_i|)
 * (fx_tol: e.g. {0, 0, 2e-3, 1} is "2e-3 relative, absolute below 1"; {1e-6, 2e-2, 0, 0} scales
 * with the tensor's largest gradient). It prints the worst entry and returns max_i |fd_i - an_i| / bound_i: pass <= 1. */
#ifndef STRAND_TESTS_FIXTURE_UTIL_H
#define STRAND_TESTS_FIXTURE_UTIL_H
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "core/safetensors.h"
#include "strand.h"

/* tests/data/<rel> (e.g. "mamba/block.safetensors"); prints the fixture's generator and description. */
static inline sft_file *fx_open_path(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", STRAND_TEST_DATA, rel);
    sft_file *f = NULL;
    int rc = sft_open(&f, path);
    if (rc != 0) fprintf(stderr, "cannot open fixture %s: %s\n", path, strand_last_error());
    CU_ASSERT_FATAL(rc == 0);
    const char *gen = sft_meta_get(f, "generator"), *d = sft_meta_get(f, "description");
    fprintf(stderr, "\n  fixture %s%s%s: %s\n", rel, gen ? " from " : "", gen ? gen : "", d ? d : "");
    return f;
}

/* tests/data/<subdir>/<name>.safetensors */
static inline sft_file *tu_fixture_open(const char *subdir, const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s.safetensors", subdir, name);
    return fx_open_path(rel);
}

static inline size_t fx_numel(const sft_file *f, const char *name)
{
    const sft_tensor *t = sft_find(f, name);
    if (!t) fprintf(stderr, "fixture lacks tensor \"%s\"\n", name);
    CU_ASSERT_FATAL(t != NULL);
    return t->numel;
}

static inline float *fx_f32(const sft_file *f, const char *name, size_t *n)
{
    size_t k = fx_numel(f, name);
    float *p = calloc(k ? k : 1, sizeof(float));
    CU_ASSERT_FATAL(p != NULL);
    CU_ASSERT_FATAL(sft_read_f32(f, name, p, k) == 0);
    if (n) *n = k;
    return p;
}

static inline int32_t *fx_i32(const sft_file *f, const char *name, size_t *n)
{
    size_t k = fx_numel(f, name);
    int64_t *t = calloc(k ? k : 1, sizeof(int64_t));
    int32_t *p = calloc(k ? k : 1, sizeof(int32_t));
    CU_ASSERT_FATAL(t && p);
    CU_ASSERT_FATAL(sft_read_i64(f, name, t, k) == 0);
    for (size_t i = 0; i < k; i++) p[i] = (int32_t)t[i];
    free(t);
    if (n) *n = k;
    return p;
}

static inline float *fx_f32_n(const sft_file *f, const char *name, size_t n)
{
    size_t k = fx_numel(f, name);
    if (k != n) fprintf(stderr, "fixture tensor \"%s\" has %zu values, expected %zu\n", name, k, n);
    CU_ASSERT_FATAL(k == n);
    return fx_f32(f, name, NULL);
}

static inline int32_t *fx_i32_n(const sft_file *f, const char *name, size_t n)
{
    size_t k = fx_numel(f, name);
    if (k != n) fprintf(stderr, "fixture tensor \"%s\" has %zu values, expected %zu\n", name, k, n);
    CU_ASSERT_FATAL(k == n);
    return fx_i32(f, name, NULL);
}

/* A float32 .npy (a command's output, say) of exactly this shape, as a malloc'd copy; NULL (and
 * failed assertions) when it cannot be read or differs in dtype, rank or shape. */
static inline float *fx_npy_f32(const char *path, int ndim, const int64_t *shape)
{
    npy_array a;
    if (npy_read(path, &a) < 0) {
        fprintf(stderr, "    %s\n", strand_last_error());
        CU_FAIL("npy_read");
        return NULL;
    }
    CU_ASSERT_EQUAL(a.dtype, NPY_F32);
    CU_ASSERT_EQUAL(a.ndim, ndim);
    int ok = a.dtype == NPY_F32 && a.ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = a.shape[i] == shape[i];
    CU_ASSERT(ok);
    float *d = NULL;
    if (ok) {
        d = malloc((a.numel ? a.numel : 1) * sizeof *d);
        if (d) memcpy(d, a.data, a.numel * sizeof *d);
    }
    npy_free(&a);
    return d;
}

/* Σ a_i b_i in double: the scalar loss Σ out·r the fixtures' gradients are taken of. */
static inline double fx_dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* n standard normal draws times scale. */
static inline void fx_randn(float *p, size_t n, strand_rng *r, float scale)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)(strand_rng_normal(r) * scale);
}

typedef double (*fx_loss_fn)(void *ctx);
typedef struct fx_tol {
    double atol;     /* absolute */
    double rtol_max; /* times the largest |analytic| of the tensor */
    double rtol_fd;  /* times max(fd_floor, |fd_i|) of the entry */
    double fd_floor;
} fx_tol;

static inline double fx_gradcheck(const char *what, fx_loss_fn f, void *ctx, float *x, const float *analytic,
                                  size_t n, size_t count, double h, fx_tol tol)
{
    double scale = 0, worst = 0, worst_fd = 0, worst_bound = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(analytic[i]));
    size_t worst_i = 0, step = n > count ? n / count : 1;
    for (size_t i = step / 2; i < n; i += step) {
        float x0 = x[i];
        x[i] = (float)(x0 + h);
        double hp = (double)x[i] - x0;
        double fp = f(ctx);
        x[i] = (float)(x0 - h);
        double hm = x0 - (double)x[i];
        double fm = f(ctx);
        x[i] = x0;
        double fd = (fp - fm) / (hp + hm);
        double bound = tol.atol + tol.rtol_max * scale + tol.rtol_fd * fmax(tol.fd_floor, fabs(fd));
        double e = fabs(fd - analytic[i]) / bound;
        if (e > worst || e != e) worst = e != e ? INFINITY : e, worst_i = i, worst_fd = fd, worst_bound = bound;
    }
    fprintf(stderr, "    FD %-37s worst |fd-an|/bound %.3g at [%zu]: fd %.6g an %.6g, bound %.2g (%.0e + %.0e*max|an| %.3g + %.0e*max(%g,|fd|))\n",
            what, worst, worst_i, worst_fd, n ? analytic[worst_i] : 0.0, worst_bound, tol.atol, tol.rtol_max, scale,
            tol.rtol_fd, tol.fd_floor);
    return worst;
}
/* ---- VEP tests (test_vep.c, test_vep_marginal.c): a tiny random Caduceus and a FASTA read as text */
#include "caduceus/caduceus.h"

/* A tiny random PS (rcps 1) or PH model (d 16, 2 layers) written to path, embeddings scaled by
 * scale (50: logits O(10), scores not ~0; mechanics, not accuracy). 0 or < 0. */
static inline int fx_tiny_caduceus(const char *path, int rcps, uint64_t seed, float scale)
{
    caduceus_config c;
    caduceus_default_config(&c);
    c.d_model = 16, c.n_layer = 2, c.rcps = rcps;
    caduceus_weights *m = NULL;
    if (caduceus_create(&m, &c) < 0) return -1;
    caduceus_init_weights(m, seed);
    float *E = pb_param(&m->pb, m->emb);
    for (size_t i = 0; i < m->pb.entries[m->emb].numel; i++) E[i] *= scale;
    int rc = caduceus_save(m, path);
    caduceus_free(m);
    return rc;
}

/* The records of a FASTA as text, read independently of io/fasta: name up to the first blank, the
 * sequence as written (free seq). Returns the number of records read (at most max), -1: no file. */
typedef struct fx_contig { char name[64]; char *seq; int64_t len; } fx_contig;
static inline int fx_read_fasta(const char *path, fx_contig *cs, int max)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    char line[4096];
    int n = -1;
    size_t cap = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '>') {
            if (++n >= max) break;
            snprintf(cs[n].name, sizeof cs[n].name, "%.63s", line + 1);
            cs[n].name[strcspn(cs[n].name, " \t")] = 0;
            cs[n].seq = malloc(cap = 1 << 16), cs[n].len = 0;
        } else if (n >= 0) {
            size_t k = strlen(line);
            if ((size_t)cs[n].len + k + 1 > cap) cs[n].seq = realloc(cs[n].seq, cap = 2 * (cap + k));
            memcpy(cs[n].seq + cs[n].len, line, k + 1);
            cs[n].len += (int64_t)k;
        }
    }
    fclose(fp);
    return n >= max ? max : n + 1;
}

/* Write records as a FASTA of 60-column lines and remove a stale .fai beside it. */
static inline void fx_write_fasta(const char *path, const fx_contig *cs, int n)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return;
    for (int i = 0; i < n; i++) {
        fprintf(fp, ">%s\n", cs[i].name);
        for (int64_t j = 0; j < cs[i].len; j += 60) fprintf(fp, "%.60s\n", cs[i].seq + j);
    }
    fclose(fp);
    char fai[1100];
    snprintf(fai, sizeof fai, "%s.fai", path);
    remove(fai); /* a fresh index (faidx refuses stale ones) */
}
#endif
