/* core/npy: files written by numpy (tests/reference/npy_fixtures.py) read back to the values
 * numpy saved (tests/data/npy/expected.safetensors), our writer reproduces numpy's bytes, and bad
 * files (numpy-written unsupported ones and corruptions made here) are refused with a message. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/npy.h"
#include "core/safetensors.h"
#include "strand.h"
#include "test_util.h"

#define NPY_DIR STRAND_TEST_DATA "/npy/"

typedef struct good_case {
    const char *name;
    npy_dtype dt;
    int ndim;
    int64_t shape[3];
} good_case;

static const good_case k_good[] = {
    {"f32_2x3", NPY_F32, 2, {2, 3}},        {"f64_5", NPY_F64, 1, {5}},
    {"i64_2x2x3", NPY_I64, 3, {2, 2, 3}},   {"i32_scalar", NPY_I32, 0, {0}},
    {"i32_0x3", NPY_I32, 2, {0, 3}},        {"i64_ids_3x7", NPY_I64, 2, {3, 7}},
    {"f32_v2_4x2", NPY_F32, 2, {4, 2}},
};
#define NGOOD (sizeof k_good / sizeof k_good[0])

static void test_read_numpy_files(void)
{
    sft_file *exp = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&exp, NPY_DIR "expected.safetensors"), 0);
    for (size_t c = 0; c < NGOOD; c++) {
        const good_case *g = &k_good[c];
        char path[512];
        snprintf(path, sizeof path, NPY_DIR "%s.npy", g->name);
        npy_array a;
        int rc = npy_read(path, &a);
        if (rc < 0) fprintf(stderr, "    %s\n", strand_last_error());
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_EQUAL(a.dtype, g->dt);
        CU_ASSERT_EQUAL(a.ndim, g->ndim);
        size_t numel = 1;
        for (int d = 0; d < g->ndim; d++) {
            CU_ASSERT_EQUAL(a.shape[d], g->shape[d]);
            numel *= (size_t)g->shape[d];
        }
        CU_ASSERT_EQUAL(a.numel, numel);
        CU_ASSERT_EQUAL((uintptr_t)a.data % 64, 0);
        if (numel == 0) {
            CU_ASSERT_PTR_NULL(sft_find(exp, g->name));
        } else if (g->dt == NPY_F32 || g->dt == NPY_F64) {
            /* compare in double: read the raw expected bytes */
            const sft_tensor *t = sft_find(exp, g->name);
            CU_ASSERT_PTR_NOT_NULL_FATAL(t);
            CU_ASSERT_EQUAL_FATAL(t->numel, numel);
            size_t es = npy_dtype_size(g->dt);
            CU_ASSERT_EQUAL_FATAL(sft_dtype_size(t->dtype), es);
            CU_ASSERT(memcmp(a.data, t->data, numel * es) == 0);
            float *f = malloc(numel * sizeof *f), *w = malloc(numel * sizeof *w);
            CU_ASSERT_EQUAL(npy_to_f32(&a, f), 0);
            CU_ASSERT_EQUAL(sft_read_f32(exp, g->name, w, numel), 0);
            CHECK_CLOSE(g->name, f, w, numel, 0.0);
            free(f), free(w);
        } else {
            int64_t *w = malloc(numel * sizeof *w);
            CU_ASSERT_EQUAL_FATAL(sft_read_i64(exp, g->name, w, numel), 0);
            int same = 1;
            for (size_t i = 0; i < numel; i++)
                same &= (g->dt == NPY_I64 ? ((int64_t *)a.data)[i] : ((int32_t *)a.data)[i]) == w[i];
            CU_ASSERT(same);
            fprintf(stderr, "    %-40s %zu integers %s\n", g->name, numel, same ? "equal" : "DIFFER");
            free(w);
        }
        npy_free(&a);
    }
    sft_close(exp);
}

/* Reading a numpy v1 file and writing it back gives numpy's exact bytes (header included). */
static void test_write_matches_numpy_bytes(void)
{
    for (size_t c = 0; c < NGOOD; c++) {
        const good_case *g = &k_good[c];
        if (strstr(g->name, "_v2")) continue; /* we write v1 where it fits, like numpy */
        char path[512];
        snprintf(path, sizeof path, NPY_DIR "%s.npy", g->name);
        npy_array a;
        CU_ASSERT_EQUAL_FATAL(npy_read(path, &a), 0);
        const char *outp = tu_tmp("npy_rewrite.npy");
        unlink(outp);
        CU_ASSERT_EQUAL_FATAL(npy_write(outp, a.dtype, a.ndim, a.shape, a.data), 0);
        size_t la, lb;
        unsigned char *x = tu_slurp(path, &la), *y = tu_slurp(outp, &lb);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        int same = la == lb && memcmp(x, y, la) == 0;
        fprintf(stderr, "    %-40s %zu bytes, numpy %zu: %s\n", g->name, lb, la, same ? "identical" : "DIFFER");
        CU_ASSERT(same);
        free(x), free(y);
        npy_free(&a);
    }
}

static void expect_fail(const char *what, const void *buf, size_t len, int code, const char *needle)
{
    npy_array a;
    int rc = npy_read_buffer(buf, len, what, &a);
    if (rc != code || (needle && !strstr(strand_last_error(), needle)))
        fprintf(stderr, "    %s: rc %d (want %d) message \"%s\" (want \"%s\")\n", what, rc, code,
                strand_last_error(), needle ? needle : "");
    CU_ASSERT_EQUAL(rc, code);
    if (needle) CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), needle));
    CU_ASSERT_PTR_NULL(a.data);
}

static void test_unsupported_numpy_files(void)
{
    struct {
        const char *file, *needle;
    } bad[] = {{"bad_fortran.npy", "Fortran"},
               {"bad_bigendian.npy", "big-endian"},
               {"bad_complex.npy", "'<c8'"},
               {"bad_uint8.npy", "'|u1'"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, NPY_DIR "%s", bad[i].file);
        npy_array a;
        int rc = npy_read(path, &a);
        fprintf(stderr, "    %s\n", strand_last_error());
        CU_ASSERT_EQUAL(rc, STRAND_E_UNSUPPORTED);
        CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), bad[i].needle));
        CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), bad[i].file)); /* names the file */
    }
    npy_array a;
    CU_ASSERT_EQUAL(npy_read(tu_tmp("does_not_exist.npy"), &a), STRAND_E_IO);
}

/* Make a v1 file from a header dict and `nbytes` of zero data. */
static size_t make_v1(unsigned char *buf, const char *dict, size_t nbytes)
{
    size_t k = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((k + 1) & 0xff);
    buf[9] = (unsigned char)((k + 1) >> 8);
    memcpy(buf + 10, dict, k);
    buf[10 + k] = '\n';
    memset(buf + 11 + k, 0, nbytes);
    return 11 + k + nbytes;
}

static void test_corrupt_files(void)
{
    size_t len;
    unsigned char *good = tu_slurp(NPY_DIR "f32_2x3.npy", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    /* every truncation is an error, never a crash (ASan run) */
    int all = 1;
    for (size_t n = 0; n < len; n++) {
        npy_array a;
        int rc = npy_read_buffer(good, n, "trunc", &a);
        all &= rc == STRAND_E_FORMAT;
    }
    CU_ASSERT(all);
    expect_fail("truncated data", good, len - 1, STRAND_E_FORMAT, "truncated");
    unsigned char *big = malloc(len + 4);
    memcpy(big, good, len);
    memset(big + len, 0, 4);
    expect_fail("trailing", big, len + 4, STRAND_E_FORMAT, "trailing");
    memcpy(big, good, len);
    big[0] = 'X';
    expect_fail("magic", big, len, STRAND_E_FORMAT, "magic");
    memcpy(big, good, len);
    big[6] = 9;
    expect_fail("version", big, len, STRAND_E_UNSUPPORTED, "9.0");
    memcpy(big, good, len);
    big[8] = 0xff, big[9] = 0xff;
    expect_fail("header length", big, len, STRAND_E_FORMAT, "header");
    free(big);
    free(good);

    unsigned char buf[512];
    struct {
        const char *dict;
        size_t nbytes;
        int code;
        const char *needle;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, 0, NULL},
        {"{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (1, 1)}", 8, 0, NULL},
        {"['descr', '<f4']", 8, STRAND_E_FORMAT, "not a dict"},
        {"{'descr': '<f4', 'fortran_order': False}", 4, STRAND_E_FORMAT, "missing key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, STRAND_E_FORMAT, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 8, STRAND_E_FORMAT, "shape"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8, STRAND_E_FORMAT, "True or False"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, STRAND_E_FORMAT,
         "duplicate"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, STRAND_E_FORMAT, "'x'"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, STRAND_E_UNSUPPORTED,
         "structured"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999), }", 8,
         STRAND_E_FORMAT, "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", 8, STRAND_E_FORMAT, "trailing"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, STRAND_E_UNSUPPORTED,
         "dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", 0, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = make_v1(buf, cases[i].dict, cases[i].nbytes);
        if (cases[i].code == 0) {
            npy_array a;
            int rc = npy_read_buffer(buf, n, cases[i].dict, &a);
            if (rc) fprintf(stderr, "    unexpected: %s\n", strand_last_error());
            CU_ASSERT_EQUAL(rc, 0);
            npy_free(&a);
        } else {
            expect_fail(cases[i].dict, buf, n, cases[i].code, cases[i].needle);
        }
    }
}

static void test_conversions_and_write_errors(void)
{
    npy_array a;
    CU_ASSERT_EQUAL_FATAL(npy_read(NPY_DIR "i64_2x2x3.npy", &a), 0);
    int32_t dst[12];
    /* values up to 2^40 do not fit int32 */
    CU_ASSERT_EQUAL(npy_to_i32(&a, dst, 1, 0, "ids"), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "ids: element"));
    npy_free(&a);
    CU_ASSERT_EQUAL_FATAL(npy_read(NPY_DIR "i64_ids_3x7.npy", &a), 0);
    int32_t ids[21];
    CU_ASSERT_EQUAL(npy_to_i32(&a, ids, 0, 15, "ids"), 0);
    CU_ASSERT_EQUAL(ids[5], (int32_t)((int64_t *)a.data)[5]);
    CU_ASSERT_EQUAL(npy_to_i32(&a, ids, 0, 3, "ids"), STRAND_E_RANGE); /* vocabulary check */
    npy_free(&a);
    CU_ASSERT_EQUAL_FATAL(npy_read(NPY_DIR "f32_2x3.npy", &a), 0);
    CU_ASSERT_EQUAL(npy_to_i32(&a, dst, 1, 0, "x"), STRAND_E_UNSUPPORTED);
    npy_free(&a);

    /* writing into a missing directory fails and leaves nothing */
    float v[2] = {1, 2};
    int64_t s[1] = {2};
    const char *bad = tu_tmp("no_such_dir/x.npy");
    CU_ASSERT_EQUAL(npy_write(bad, NPY_F32, 1, s, v), STRAND_E_IO);
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(bad, &st), 0);
    CU_ASSERT_EQUAL(npy_write(tu_tmp("x.npy"), (npy_dtype)9, 1, s, v), STRAND_E_ARG);
    /* round trip of a float64 scalar */
    double d = 3.25;
    CU_ASSERT_EQUAL_FATAL(npy_write(tu_tmp("scalar.npy"), NPY_F64, 0, NULL, &d), 0);
    CU_ASSERT_EQUAL_FATAL(npy_read(tu_tmp("scalar.npy"), &a), 0);
    CU_ASSERT_EQUAL(a.ndim, 0);
    CU_ASSERT_EQUAL(a.numel, 1);
    CU_ASSERT_EQUAL(*(double *)a.data, 3.25);
    npy_free(&a);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("npy", NULL, NULL);
    ADD_TEST(s, test_read_numpy_files);
    ADD_TEST(s, test_write_matches_numpy_bytes);
    ADD_TEST(s, test_unsupported_numpy_files);
    ADD_TEST(s, test_corrupt_files);
    ADD_TEST(s, test_conversions_and_write_errors);
}
