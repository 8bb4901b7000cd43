/* core/safetensors.c and `strand inspect`. Fixtures: tests/reference/make_safetensors_fixtures.py
 * (numpy/struct/json, independent of strand) -> tests/data/safetensors/. Every decoded value is
 * compared with the NAME.expected tensor numpy wrote beside it; every bad file must fail with the
 * right code and a message naming the file and the problem. */
#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "strand.h"
#include "test_util.h"

#define SFT_DIR STRAND_TEST_DATA "/safetensors/"

static int is_float_dtype(sft_dtype d) { return d == SFT_F32 || d == SFT_F16 || d == SFT_BF16 || d == SFT_F64; }

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* Every tensor NAME decodes to NAME.expected: floats bit-exact (any NaN matches any NaN), ints
 * exact. Returns the number of tensors checked. */
static size_t check_against_expected(const sft_file *f, const char *label)
{
    size_t checked = 0;
    for (size_t i = 0; i < sft_count(f); i++) {
        const sft_tensor *t = sft_get(f, i);
        if (ends_with(t->name, ".expected")) continue;
        char en[256];
        snprintf(en, sizeof en, "%s.expected", t->name);
        const sft_tensor *e = sft_find(f, en);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_EQUAL(e->ndim, t->ndim);
        for (int d = 0; d < t->ndim; d++) CU_ASSERT_EQUAL(e->shape[d], t->shape[d]);
        CU_ASSERT_EQUAL(e->numel, t->numel);
        size_t n = t->numel, bad = 0, first = (size_t)-1;
        if (is_float_dtype(t->dtype)) {
            float *got = calloc(n + 1, 4), *want = calloc(n + 1, 4);
            CU_ASSERT_EQUAL_FATAL(sft_read_f32(f, t->name, got, n), 0);
            CU_ASSERT_EQUAL_FATAL(sft_read_f32(f, en, want, n), 0);
            double maxd = 0;
            for (size_t k = 0; k < n; k++) {
                uint32_t gb, wb;
                memcpy(&gb, &got[k], 4);
                memcpy(&wb, &want[k], 4);
                int ok = gb == wb || (isnan(got[k]) && isnan(want[k]));
                if (!ok && first == (size_t)-1) first = k;
                bad += !ok;
                if (isfinite(got[k]) && isfinite(want[k])) maxd = fmax(maxd, fabs((double)got[k] - want[k]));
            }
            fprintf(stderr, "    %s %-12s %-4s n=%-3zu bit mismatches %zu, max|diff| finite %.3g (tol 0)", label,
                    t->name, sft_dtype_name(t->dtype), n, bad, maxd);
            if (bad) fprintf(stderr, "  FIRST MISMATCH [%zu]: got %.9g want %.9g", first, got[first], want[first]);
            fprintf(stderr, "\n");
            free(got);
            free(want);
        } else {
            int64_t *got = calloc(n + 1, 8), *want = calloc(n + 1, 8);
            CU_ASSERT_EQUAL_FATAL(sft_read_i64(f, t->name, got, n), 0);
            CU_ASSERT_EQUAL_FATAL(sft_read_i64(f, en, want, n), 0);
            for (size_t k = 0; k < n; k++)
                if (got[k] != want[k]) {
                    if (first == (size_t)-1) first = k;
                    bad++;
                }
            fprintf(stderr, "    %s %-12s %-4s n=%-3zu mismatches %zu", label, t->name, sft_dtype_name(t->dtype), n,
                    bad);
            if (bad) fprintf(stderr, "  FIRST MISMATCH [%zu]: got %" PRId64 " want %" PRId64, first, got[first],
                             want[first]);
            fprintf(stderr, "\n");
            free(got);
            free(want);
        }
        CU_ASSERT_EQUAL(bad, 0);
        checked++;
    }
    return checked;
}

static void check_good_mixed(const char *path, const char *label)
{
    sft_file *f = NULL;
    int rc = sft_open(&f, path);
    if (rc) fprintf(stderr, "    %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(sft_count(f), 26); /* 13 tensors + 13 expectations (see the fixture script) */
    CU_ASSERT_EQUAL(check_against_expected(f, label), 13);
    /* file order of data offsets */
    for (size_t i = 1; i < sft_count(f); i++) CU_ASSERT(sft_get(f, i - 1)->begin <= sft_get(f, i)->begin);
    CU_ASSERT_PTR_NULL(sft_get(f, sft_count(f)));
    /* 0-d and empty tensors */
    const sft_tensor *s = sft_find(f, "scalar_f32"), *e = sft_find(f, "empty_i64");
    CU_ASSERT_FATAL(s && e);
    CU_ASSERT_EQUAL(s->ndim, 0);
    CU_ASSERT_EQUAL(s->numel, 1);
    CU_ASSERT_EQUAL(e->ndim, 2);
    CU_ASSERT_EQUAL(e->numel, 0);
    CU_ASSERT_EQUAL(e->begin, e->end);
    CU_ASSERT_EQUAL(sft_read_i64(f, "empty_i64", NULL, 0), 0);
    /* metadata, in file order, UTF-8 intact */
    CU_ASSERT_EQUAL(sft_meta_count(f), 5);
    CU_ASSERT_STRING_EQUAL(sft_meta_key(f, 0), "generator");
    CU_ASSERT_STRING_EQUAL(sft_meta_get(f, "generator"), "make_safetensors_fixtures.py");
    CU_ASSERT_STRING_EQUAL(sft_meta_get(f, "unicode"), "h\xc3\xa9lix \xce\xb1\xe2\x86\x92\xce\xb2 \xf0\x9f\xa7\xac");
    CU_ASSERT_PTR_NULL(sft_meta_get(f, "absent"));
    CU_ASSERT_PTR_NULL(sft_meta_key(f, 5));
    /* wrong family, wrong count, absent name */
    float fb[16];
    int64_t ib[16];
    CU_ASSERT_EQUAL(sft_read_f32(f, "ids_i64", fb, 8), STRAND_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "ids_i64"));
    CU_ASSERT_EQUAL(sft_read_i64(f, "w_f32", ib, 12), STRAND_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(sft_read_f32(f, "w_f32", fb, 11), STRAND_E_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "[3,4] (12 elements)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "expects 11"));
    CU_ASSERT_EQUAL(sft_read_f32(f, "nope", fb, 1), STRAND_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "\"nope\" not found"));
    CU_ASSERT_PTR_NULL(sft_find(f, "nope"));
    sft_close(f);
}

static void test_good_plain(void) { check_good_mixed(SFT_DIR "good_mixed.safetensors", "plain"); }
/* zstd CLI from stdin: no content size in the frame -> streaming decompression */
static void test_good_zst_unknown_size(void) { check_good_mixed(SFT_DIR "good_mixed.safetensors.zst", "zst"); }
static void test_good_zst_known_size(void) { check_good_mixed(SFT_DIR "good_mixed_fcs.safetensors.zst", "zst+fcs"); }
static void test_good_zst_two_frames(void) { check_good_mixed(SFT_DIR "good_mixed_2frames.safetensors.zst", "zst*2"); }

/* The same bytes through sft_open_buffer and sft_open (mmap) give the same tables and data. */
static void test_open_buffer_matches_file(void)
{
    size_t len;
    unsigned char *b = tu_slurp(SFT_DIR "good_mixed.safetensors", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    sft_file *a = NULL, *m = NULL, *z = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open_buffer(&a, b, len, "buf"), 0);
    memset(b, 0xAB, len); /* the buffer was copied */
    CU_ASSERT_EQUAL_FATAL(sft_open(&m, SFT_DIR "good_mixed.safetensors"), 0);
    CU_ASSERT_EQUAL_FATAL(sft_open(&z, SFT_DIR "good_mixed.safetensors.zst"), 0);
    CU_ASSERT_EQUAL_FATAL(sft_count(a), sft_count(m));
    CU_ASSERT_EQUAL_FATAL(sft_count(z), sft_count(m));
    for (size_t i = 0; i < sft_count(a); i++) {
        const sft_tensor *x = sft_get(a, i), *y = sft_get(m, i), *w = sft_get(z, i);
        CU_ASSERT_STRING_EQUAL(x->name, y->name);
        CU_ASSERT_STRING_EQUAL(w->name, y->name);
        CU_ASSERT_EQUAL(x->dtype, y->dtype);
        CU_ASSERT(x->begin == y->begin && x->end == y->end && w->begin == y->begin && w->end == y->end);
        CU_ASSERT(memcmp(x->data, y->data, x->end - x->begin) == 0);
        CU_ASSERT(memcmp(w->data, y->data, x->end - x->begin) == 0);
    }
    sft_close(a);
    sft_close(m);
    sft_close(z);
    sft_close(NULL);
    free(b);
    /* zstd recognised by its magic: in a buffer, and in a file whose name lacks ".zst" */
    b = tu_slurp(SFT_DIR "good_mixed.safetensors.zst", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(sft_open_buffer(&a, b, len, "zbuf"), 0);
    CU_ASSERT_EQUAL(sft_count(a), 26);
    sft_close(a);
    const char *noext = tu_tmp("zstd_without_suffix.safetensors");
    FILE *fp = fopen(noext, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    CU_ASSERT_EQUAL(fwrite(b, 1, len, fp), len);
    fclose(fp);
    CU_ASSERT_EQUAL(sft_open(&a, noext), 0);
    CU_ASSERT_EQUAL(sft_count(a), 26);
    sft_close(a);
    free(b);
}

/* IEEE half -> float for all 65536 bit patterns against the textbook formula in double. */
static void test_f16_all_values(void)
{
    size_t bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        double want = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
        if (s) want = -want;
        float got = sft_f16_to_f32((uint16_t)h);
        int ok = isnan(want) ? isnan(got) : ((double)got == want && !!signbit(got) == s);
        if (!ok && bad++ == 0) fprintf(stderr, "    FIRST MISMATCH h=0x%04x got %.9g want %.9g\n", h, got, want);
    }
    fprintf(stderr, "    f16->f32 over all 65536 patterns: %zu mismatches (exact)\n", bad);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(sft_bf16_to_f32(0x3f80) == 1.0f);
}

/* ---- bad files ----------------------------------------------------------------------------- */
typedef struct bad_case {
    const char *file;
    int code;
    const char *kw1, *kw2; /* both must appear in the message (with the file name) */
} bad_case;

static const bad_case k_bad[] = {
    {"bad_truncated.safetensors", STRAND_E_FORMAT, "past the end", "data_offsets"},
    {"bad_header_past_end.safetensors", STRAND_E_FORMAT, "header length 1000 runs past the end", "68 bytes"},
    {"bad_short.safetensors", STRAND_E_FORMAT, "5 bytes", "shorter than 8 bytes"},
    {"bad_empty.safetensors", STRAND_E_FORMAT, "0 bytes", "shorter than 8 bytes"},
    {"bad_json.safetensors", STRAND_E_FORMAT, "not valid JSON", "line 1 column"},
    {"bad_duplicate_key.safetensors", STRAND_E_FORMAT, "not valid JSON", "duplicate"},
    {"bad_overlap.safetensors", STRAND_E_FORMAT, "\"first\"", "\"second\" (data_offsets [8, 16]) overlap"},
    {"bad_offsets_past_end.safetensors", STRAND_E_FORMAT, "tensor \"a\"", "[0, 32] run past the end"},
    /* one byte over each bound (issue 19); good_touching / good_end_exact are the byte-under twins */
    {"bad_overlap_1byte.safetensors", STRAND_E_FORMAT, "\"first\" (data_offsets [0, 5])",
     "\"second\" (data_offsets [4, 8]) overlap"},
    {"bad_offsets_past_end_1byte.safetensors", STRAND_E_FORMAT, "tensor \"a\"",
     "[5, 17] run past the end of the data section (16 bytes"},
    {"bad_offsets_reversed.safetensors", STRAND_E_FORMAT, "tensor \"a\"", "begin <= end"},
    {"bad_unknown_dtype.safetensors", STRAND_E_FORMAT, "tensor \"a\"", "unknown dtype \"F8_E9M9\""},
    {"bad_size_mismatch.safetensors", STRAND_E_FORMAT, "tensor \"w\"",
     "shape [3,4] F32 needs 48 bytes, data_offsets give 40"},
    {"bad_size_larger.safetensors", STRAND_E_FORMAT, "tensor \"w\"", "shape [2] F32 needs 8 bytes, data_offsets give 16"},
    {"bad_negative_shape.safetensors", STRAND_E_FORMAT, "tensor \"a\"", "negative"},
    {"bad_float_shape.safetensors", STRAND_E_FORMAT, "tensor \"a\"", "not an integer"},
    {"bad_numel_overflow.safetensors", STRAND_E_FORMAT, "tensor \"a\"", "overflow"},
    {"bad_missing_offsets.safetensors", STRAND_E_FORMAT, "tensor \"a\"", "missing \"data_offsets\""},
    {"bad_entry_not_object.safetensors", STRAND_E_FORMAT, "tensor \"a\"", "not a JSON object"},
    {"bad_header_not_object.safetensors", STRAND_E_FORMAT, "header", "not a JSON object"},
    {"bad_metadata_nonstring.safetensors", STRAND_E_FORMAT, "__metadata__", "\"n_layer\" is not a string"},
    {"bad_metadata_not_object.safetensors", STRAND_E_FORMAT, "__metadata__", "not an object of strings"},
    {"bad_truncated.safetensors.zst", STRAND_E_FORMAT, "zstd", "truncated"},
    {"bad_huge.safetensors.zst", STRAND_E_RANGE, "declares 1125899906842624", "limit"},
};
#define N_BAD (sizeof k_bad / sizeof k_bad[0])

static void test_bad_files(void)
{
    for (size_t i = 0; i < N_BAD; i++) {
        char path[1024];
        snprintf(path, sizeof path, SFT_DIR "%s", k_bad[i].file);
        sft_file *f = (sft_file *)&path; /* must be reset to NULL */
        strand_clear_error();
        int rc = sft_open(&f, path);
        const char *msg = strand_last_error();
        int ok = rc == k_bad[i].code && f == NULL && strstr(msg, path) && strstr(msg, k_bad[i].kw1) &&
                 strstr(msg, k_bad[i].kw2) && strand_last_error_code() == rc;
        fprintf(stderr, "    %s %-36s rc=%d: %s\n", ok ? "ok  " : "FAIL", k_bad[i].file, rc, msg);
        CU_ASSERT(ok);
    }
    /* every bad fixture on disk is in the table (a new one must get an expectation) */
    DIR *d = opendir(SFT_DIR);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *de;
    size_t nbad = 0;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "bad_", 4)) nbad++;
    closedir(d);
    CU_ASSERT_EQUAL(nbad, N_BAD);
    /* not a file at all */
    sft_file *f = NULL;
    CU_ASSERT_EQUAL(sft_open(&f, SFT_DIR "does_not_exist.safetensors"), STRAND_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "No such file"));
    CU_ASSERT_EQUAL(sft_open(&f, SFT_DIR), STRAND_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "not a regular file"));
}

/* The byte-under twins of bad_overlap_1byte / bad_offsets_past_end_1byte: tensors that touch (with
 * an empty one at the seam, listed out of offset order) and a tensor that ends exactly at the end of
 * the data section are accepted and read back exactly. */
static void test_boundaries_accepted(void)
{
    sft_file *f = NULL;
    int rc = sft_open(&f, SFT_DIR "good_touching.safetensors");
    if (rc) fprintf(stderr, "    good_touching: %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    int64_t v[4];
    CU_ASSERT_EQUAL(sft_read_i64(f, "first", v, 4), 0);
    CU_ASSERT(v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4);
    CU_ASSERT_EQUAL(sft_read_i64(f, "second", v, 4), 0);
    CU_ASSERT(v[0] == 5 && v[1] == 6 && v[2] == 7 && v[3] == 8);
    const sft_tensor *t = sft_find(f, "seam");
    CU_ASSERT(t && t->numel == 0);
    sft_close(f);
    f = NULL;
    rc = sft_open(&f, SFT_DIR "good_end_exact.safetensors");
    if (rc) fprintf(stderr, "    good_end_exact: %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    float a[3];
    CU_ASSERT_EQUAL(sft_read_f32(f, "a", a, 3), 0);
    CU_ASSERT(a[0] == 1.5f && a[1] == -2.0f && a[2] == 3.25f);
    CU_ASSERT_EQUAL(sft_read_i64(f, "b", v, 4), 0);
    CU_ASSERT(v[0] == 9 && v[3] == 6);
    sft_close(f);
}

/* Every proper prefix of a good file is rejected (the last tensor ends at the end of the file);
 * random byte mutations never crash and, when rejected, always come with a message. */
static void test_prefixes_and_mutations(void)
{
    size_t len;
    unsigned char *b = tu_slurp(SFT_DIR "good_mixed.safetensors", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    size_t accepted = 0;
    for (size_t k = 0; k < len; k++) {
        sft_file *f = NULL;
        if (sft_open_buffer(&f, b, k, "prefix") == 0) accepted++;
        sft_close(f);
    }
    fprintf(stderr, "    %zu of %zu proper prefixes accepted (want 0)\n", accepted, len);
    CU_ASSERT_EQUAL(accepted, 0);
    strand_rng r;
    strand_rng_seed(&r, 1);
    size_t ok = 0, nomsg = 0;
    unsigned char *m = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    float *fb = malloc(len * sizeof(float));
    int64_t *ib = malloc(len * sizeof(int64_t));
    for (int it = 0; it < 3000; it++) {
        memcpy(m, b, len);
        int nmut = 1 + (int)strand_rng_below(&r, 3);
        for (int j = 0; j < nmut; j++) {
            /* mostly in the header, where the structure is */
            size_t pos = strand_rng_below(&r, 4) ? strand_rng_below(&r, 8 + 1400) : strand_rng_below(&r, len);
            m[pos] = (unsigned char)strand_rng_below(&r, 256);
        }
        sft_file *f = NULL;
        strand_clear_error();
        if (sft_open_buffer(&f, m, len, "mut") == 0) {
            ok++;
            for (size_t i = 0; i < sft_count(f); i++) { /* touch every tensor */
                const sft_tensor *t = sft_get(f, i);
                int rr = is_float_dtype(t->dtype) ? sft_read_f32(f, t->name, fb, t->numel)
                                                  : sft_read_i64(f, t->name, ib, t->numel);
                CU_ASSERT_EQUAL(rr, 0);
            }
        } else if (!strand_last_error()[0] || !strstr(strand_last_error(), "mut")) {
            nomsg++;
        }
        sft_close(f);
    }
    fprintf(stderr, "    3000 mutated files: %zu accepted, %zu rejected without a message (want 0)\n", ok, nomsg);
    CU_ASSERT_EQUAL(nomsg, 0);
    free(m);
    free(fb);
    free(ib);
    free(b);
}

static void test_zst_size_limit(void)
{
    sft_file *f = NULL;
    uint64_t def = sft_get_max_decompressed();
    CU_ASSERT_EQUAL(def, (uint64_t)1 << 36);
    size_t plain_len;
    free(tu_slurp(SFT_DIR "good_mixed.safetensors", &plain_len));
    /* exactly the decompressed size is allowed; one byte less is refused, with or without a
     * content size in the frame */
    sft_set_max_decompressed(plain_len);
    CU_ASSERT_EQUAL(sft_open(&f, SFT_DIR "good_mixed.safetensors.zst"), 0);
    sft_close(f);
    CU_ASSERT_EQUAL(sft_open(&f, SFT_DIR "good_mixed_fcs.safetensors.zst"), 0);
    sft_close(f);
    f = NULL;
    sft_set_max_decompressed(plain_len - 1);
    CU_ASSERT_EQUAL(sft_open(&f, SFT_DIR "good_mixed.safetensors.zst"), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "exceeds the limit"));
    CU_ASSERT_EQUAL(sft_open(&f, SFT_DIR "good_mixed_fcs.safetensors.zst"), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "declares"));
    CU_ASSERT_PTR_NULL(f);
    sft_set_max_decompressed(0);
    CU_ASSERT_EQUAL(sft_get_max_decompressed(), def);
}

/* ---- writer -------------------------------------------------------------------------------- */
static void test_writer_roundtrip(void)
{
    float x[2 * 3 * 4];
    int64_t ids[5] = {INT64_MIN, -1, 0, 1, INT64_MAX};
    uint16_t h[4] = {0x3c00, 0x0001, 0xfc00, 0x7bff};
    uint8_t u[3] = {0, 7, 255};
    float sc = 2.5f;
    strand_rng r;
    strand_rng_seed(&r, 3);
    for (int i = 0; i < 24; i++) x[i] = (float)strand_rng_normal(&r);
    const int64_t sx[3] = {2, 3, 4}, sids[1] = {5}, sh[2] = {2, 2}, su[1] = {3}, se[2] = {0, 7};
    const char *paths[2] = {tu_tmp("rt.safetensors"), tu_tmp("rt.safetensors.zst")};
    for (int p = 0; p < 2; p++) {
        sft_writer *w = sft_writer_create();
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        CU_ASSERT_EQUAL(sft_writer_add(w, "zeta.weight", SFT_F32, 3, sx, x), 0); /* order added, not sorted */
        CU_ASSERT_EQUAL(sft_writer_add(w, "alpha.ids", SFT_I64, 1, sids, ids), 0);
        CU_ASSERT_EQUAL(sft_writer_add(w, "half", SFT_F16, 2, sh, h), 0);
        CU_ASSERT_EQUAL(sft_writer_add(w, "bytes", SFT_U8, 1, su, u), 0);
        CU_ASSERT_EQUAL(sft_writer_add(w, "scalar", SFT_F32, 0, NULL, &sc), 0);
        CU_ASSERT_EQUAL(sft_writer_add(w, "empty", SFT_F32, 2, se, NULL), 0);
        CU_ASSERT_EQUAL(sft_writer_meta(w, "kind", "caduceus"), 0);
        CU_ASSERT_EQUAL(sft_writer_meta(w, "odd", "quote\" back\\ nl\n tab\t ctl\x01 \xc3\xa9 \xf0\x9f\xa7\xac"), 0);
        CU_ASSERT_EQUAL(sft_writer_meta(w, "kind", "caduceus-ph"), 0); /* replaces */
        float x0 = x[0];
        x[0] = 1000; /* data was copied at add time */
        CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, paths[p]), 0);
        x[0] = x0;
        sft_writer_free(w);

        sft_file *f = NULL;
        int rc = sft_open(&f, paths[p]);
        if (rc) fprintf(stderr, "    %s\n", strand_last_error());
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        const char *order[6] = {"zeta.weight", "alpha.ids", "half", "bytes", "scalar", "empty"};
        CU_ASSERT_EQUAL_FATAL(sft_count(f), 6);
        for (int i = 0; i < 5; i++) CU_ASSERT_STRING_EQUAL(sft_get(f, i)->name, order[i]); /* empty: [x,x] */
        float got[24];
        CU_ASSERT_EQUAL(sft_read_f32(f, "zeta.weight", got, 24), 0);
        CHECK_CLOSE("roundtrip F32", got, x, 24, 0.0);
        int64_t gi[5];
        CU_ASSERT_EQUAL(sft_read_i64(f, "alpha.ids", gi, 5), 0);
        CU_ASSERT(memcmp(gi, ids, sizeof ids) == 0);
        const sft_tensor *t = sft_find(f, "half");
        CU_ASSERT(t && t->dtype == SFT_F16 && t->ndim == 2 && t->shape[1] == 2 && !memcmp(t->data, h, 8));
        CU_ASSERT_EQUAL(sft_read_f32(f, "half", got, 4), 0);
        CU_ASSERT(got[0] == 1.0f && got[1] == ldexpf(1, -24) && isinf(got[2]) && got[2] < 0 && got[3] == 65504.0f);
        CU_ASSERT_EQUAL(sft_read_i64(f, "bytes", gi, 3), 0);
        CU_ASSERT(gi[0] == 0 && gi[1] == 7 && gi[2] == 255);
        CU_ASSERT_EQUAL(sft_read_f32(f, "scalar", got, 1), 0);
        CU_ASSERT(got[0] == 2.5f && sft_find(f, "scalar")->ndim == 0);
        t = sft_find(f, "empty");
        CU_ASSERT(t && t->numel == 0 && t->shape[0] == 0 && t->shape[1] == 7);
        CU_ASSERT_EQUAL(sft_meta_count(f), 2);
        CU_ASSERT_STRING_EQUAL(sft_meta_get(f, "kind"), "caduceus-ph");
        CU_ASSERT_STRING_EQUAL(sft_meta_get(f, "odd"), "quote\" back\\ nl\n tab\t ctl\x01 \xc3\xa9 \xf0\x9f\xa7\xac");
        sft_close(f);
    }
    /* plain layout: header length 8-aligned, padded with spaces, data right after */
    size_t len;
    unsigned char *b = tu_slurp(paths[0], &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    CU_ASSERT_EQUAL(hl % 8, 0);
    CU_ASSERT(b[8] == '{');
    size_t close_at = 8 + hl - 1;
    while (b[close_at] == ' ') close_at--;
    CU_ASSERT(b[close_at] == '}' && 8 + hl - 1 - close_at < 8);
    CU_ASSERT_EQUAL(len, 8 + hl + 96 + 40 + 8 + 3 + 4);
    free(b);
    /* the .zst file is a real zstd frame with a checksum, readable by the zstd CLI */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "zstd -q -t '%s' 2>&1 && zstd -q -d -c '%s' | cmp -s - '%s'", paths[1], paths[1],
             paths[0]);
    int zrc = tu_run(cmd, NULL, 0);
    if (zrc == 127) {
        fprintf(stderr, "    zstd CLI not installed: skipped the CLI cross-check\n");
    } else {
        CU_ASSERT_EQUAL(zrc, 0);
    }
}

/* Read the fixture.py file, write it back with sft_writer: byte-identical. */
static void test_writer_matches_fixturepy(void)
{
    const char *src = SFT_DIR "good_fixturepy.safetensors", *dst = tu_tmp("fixturepy_copy.safetensors");
    sft_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, src), 0);
    sft_writer *w = sft_writer_create();
    for (size_t i = 0; i < sft_count(f); i++) {
        const sft_tensor *t = sft_get(f, i);
        CU_ASSERT_EQUAL(sft_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data), 0);
    }
    for (size_t i = 0; i < sft_meta_count(f); i++)
        CU_ASSERT_EQUAL(sft_writer_meta(w, sft_meta_key(f, i), sft_meta_get(f, sft_meta_key(f, i))), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, dst), 0);
    sft_writer_free(w);
    sft_close(f);
    size_t la, lb;
    unsigned char *a = tu_slurp(src, &la), *b = tu_slurp(dst, &lb);
    CU_ASSERT_FATAL(a && b);
    size_t first = 0;
    while (first < la && first < lb && a[first] == b[first]) first++;
    if (la != lb || first != la)
        fprintf(stderr, "    fixture.py %zu bytes, sft_writer %zu bytes, first difference at byte %zu\n", la, lb, first);
    else
        fprintf(stderr, "    sft_writer output == fixture.py output (%zu bytes)\n", la);
    CU_ASSERT(la == lb && first == la);
    free(a);
    free(b);
}

static void test_writer_errors(void)
{
    sft_writer *w = sft_writer_create();
    float v[4] = {0};
    const int64_t s1[1] = {4}, sneg[1] = {-4}, s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CU_ASSERT_EQUAL(sft_writer_add(w, "a", SFT_F32, 1, s1, v), 0);
    CU_ASSERT_EQUAL(sft_writer_add(w, "a", SFT_F32, 1, s1, v), STRAND_E_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "\"a\" added twice"));
    CU_ASSERT_EQUAL(sft_writer_add(w, "b", SFT_F32, 1, sneg, v), STRAND_E_ARG);
    CU_ASSERT_EQUAL(sft_writer_add(w, "c", SFT_F32, 9, s9, v), STRAND_E_ARG);
    CU_ASSERT_EQUAL(sft_writer_add(w, "d", (sft_dtype)99, 1, s1, v), STRAND_E_ARG);
    CU_ASSERT_EQUAL(sft_writer_add(w, "__metadata__", SFT_F32, 1, s1, v), STRAND_E_ARG);
    CU_ASSERT_EQUAL(sft_writer_add(w, "", SFT_F32, 1, s1, v), STRAND_E_ARG);
    CU_ASSERT_EQUAL(sft_writer_add(w, "bad\xff", SFT_F32, 1, s1, v), STRAND_E_ARG);
    CU_ASSERT_EQUAL(sft_writer_add(w, "e", SFT_F32, 1, s1, NULL), STRAND_E_ARG);
    CU_ASSERT_EQUAL(sft_writer_meta(w, "k", "\xc3"), STRAND_E_ARG);
    /* unwritable destinations: an error naming the path, nothing under the final name, no temp */
    const char *nodir = "/nonexistent-dir-strand/x.safetensors";
    CU_ASSERT_EQUAL(sft_writer_write(w, nodir), STRAND_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), nodir));
    const char *afile = tu_tmp("not_a_dir");
    FILE *fp = fopen(afile, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fclose(fp);
    char under[1100];
    snprintf(under, sizeof under, "%s/x.safetensors.zst", afile);
    CU_ASSERT_EQUAL(sft_writer_write(w, under), STRAND_E_IO);
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(nodir, &st), 0);
    CU_ASSERT_NOT_EQUAL(stat(under, &st), 0);
    if (geteuid() != 0) { /* a read-only directory (root writes anyway, so only as a normal user) */
        const char *ro = tu_tmp("readonly_dir");
        mkdir(ro, 0755);
        chmod(ro, 0555);
        snprintf(under, sizeof under, "%s/x.safetensors", ro);
        CU_ASSERT_EQUAL(sft_writer_write(w, under), STRAND_E_IO);
        CU_ASSERT_NOT_EQUAL(stat(under, &st), 0);
        chmod(ro, 0755);
    }
    /* a successful write replaces an old file atomically and leaves no temporary behind */
    const char *dst = tu_tmp("replace.safetensors");
    fp = fopen(dst, "w");
    fputs("old contents", fp);
    fclose(fp);
    CU_ASSERT_EQUAL(sft_writer_write(w, dst), 0);
    sft_file *f = NULL;
    CU_ASSERT_EQUAL(sft_open(&f, dst), 0);
    CU_ASSERT_EQUAL(sft_count(f), 1);
    sft_close(f);
    DIR *d = opendir(STRAND_TEST_TMP);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *de;
    int temps = 0;
    while ((de = readdir(d)))
        if (strstr(de->d_name, "replace.safetensors.tmp")) temps++;
    closedir(d);
    CU_ASSERT_EQUAL(temps, 0);
    sft_writer_free(w);
    sft_writer_free(NULL);
    /* an empty writer writes a valid empty file */
    w = sft_writer_create();
    CU_ASSERT_EQUAL(sft_writer_write(w, tu_tmp("empty.safetensors")), 0);
    sft_writer_free(w);
    CU_ASSERT_EQUAL(sft_open(&f, tu_tmp("empty.safetensors")), 0);
    CU_ASSERT_EQUAL(sft_count(f), 0);
    sft_close(f);
}

/* ---- CLI ------------------------------------------------------------------------------------ */
static void test_cli_inspect_good(void)
{
    static char out[65536];
    char cmd[2048];
    const char *files[2] = {SFT_DIR "good_mixed.safetensors", SFT_DIR "good_mixed.safetensors.zst"};
    sft_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, files[0]), 0);
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, STRAND_BIN " inspect '%s' 2>&1", files[k]);
        CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
        for (size_t i = 0; i < sft_count(f); i++) { /* every row: name, dtype, shape, bytes */
            const sft_tensor *t = sft_get(f, i);
            char row[512], sb[128] = "[";
            for (int d = 0; d < t->ndim; d++)
                snprintf(sb + strlen(sb), sizeof sb - strlen(sb), "%s%" PRId64, d ? "," : "", t->shape[d]);
            strcat(sb, "]");
            snprintf(row, sizeof row, "\n  %s ", t->name);
            char *line = strstr(out, row);
            CU_ASSERT_PTR_NOT_NULL_FATAL(line);
            line++;
            char *eol = strchr(line, '\n');
            CU_ASSERT_PTR_NOT_NULL_FATAL(eol);
            *eol = '\0';
            char bytes[32];
            snprintf(bytes, sizeof bytes, " %" PRIu64, t->end - t->begin);
            int ok = strstr(line, sft_dtype_name(t->dtype)) && strstr(line, sb) && strstr(line, bytes);
            if (!ok) fprintf(stderr, "    bad row for %s: \"%s\"\n", t->name, line);
            CU_ASSERT(ok);
            *eol = '\n';
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "generator"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "--full shows all")); /* long_config was cut */
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "total: 26 tensors"));
    }
    snprintf(cmd, sizeof cmd, STRAND_BIN " inspect --full '%s'", files[0]);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NULL(strstr(out, "--full shows all"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, sft_meta_get(f, "long_config")));
    /* --json parses and agrees with the library */
    snprintf(cmd, sizeof cmd, STRAND_BIN " inspect --json '%s'", files[0]);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_t *ts = json_object_get(j, "tensors");
    CU_ASSERT_EQUAL(json_array_size(ts), sft_count(f));
    uint64_t params = 0, bytes = 0;
    for (size_t i = 0; i < sft_count(f) && i < json_array_size(ts); i++) {
        const sft_tensor *t = sft_get(f, i);
        json_t *o = json_array_get(ts, i);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "name")), t->name);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "dtype")), sft_dtype_name(t->dtype));
        CU_ASSERT_EQUAL(json_array_size(json_object_get(o, "shape")), (size_t)t->ndim);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "bytes")), (json_int_t)(t->end - t->begin));
        params += t->numel;
        bytes += t->end - t->begin;
    }
    json_t *tot = json_object_get(j, "totals");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(tot, "parameters")), (json_int_t)params);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(tot, "bytes")), (json_int_t)bytes);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(j, "metadata"), "unicode")),
                           sft_meta_get(f, "unicode"));
    json_decref(j);
    sft_close(f);
    /* usage */
    CU_ASSERT_EQUAL(tu_run(STRAND_BIN " inspect", out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: strand inspect"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Examples:"));
    CU_ASSERT_EQUAL(tu_run(STRAND_BIN " inspect a b 2>/dev/null", NULL, 0), 1);
    CU_ASSERT_EQUAL(tu_run(STRAND_BIN " inspect --bogus x 2>/dev/null", NULL, 0), 1);
}

static void test_cli_inspect_bad(void)
{
    static char out[65536];
    char cmd[2048], want[1200];
    for (size_t i = 0; i < N_BAD; i++) {
        snprintf(cmd, sizeof cmd, STRAND_BIN " inspect '" SFT_DIR "%s' 2>&1 >/dev/null", k_bad[i].file);
        int rc = tu_run(cmd, out, sizeof out);
        snprintf(want, sizeof want, "strand inspect: " SFT_DIR "%s: ", k_bad[i].file);
        int ok = rc == 1 && !strncmp(out, want, strlen(want)) && strstr(out, k_bad[i].kw2);
        if (!ok) fprintf(stderr, "    FAIL %s: exit %d, stderr \"%s\"\n", k_bad[i].file, rc, out);
        CU_ASSERT(ok);
    }
    snprintf(cmd, sizeof cmd, STRAND_BIN " inspect " SFT_DIR "missing.safetensors 2>&1");
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "No such file"));
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("safetensors", NULL, NULL);
    ADD_TEST(s, test_good_plain);
    ADD_TEST(s, test_good_zst_unknown_size);
    ADD_TEST(s, test_good_zst_known_size);
    ADD_TEST(s, test_good_zst_two_frames);
    ADD_TEST(s, test_open_buffer_matches_file);
    ADD_TEST(s, test_f16_all_values);
    ADD_TEST(s, test_bad_files);
    ADD_TEST(s, test_boundaries_accepted);
    ADD_TEST(s, test_prefixes_and_mutations);
    ADD_TEST(s, test_zst_size_limit);
    ADD_TEST(s, test_writer_roundtrip);
    ADD_TEST(s, test_writer_matches_fixturepy);
    ADD_TEST(s, test_writer_errors);
    ADD_TEST(s, test_cli_inspect_good);
    ADD_TEST(s, test_cli_inspect_bad);
}
