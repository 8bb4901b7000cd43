/* core/paramblock: layout (alignment, offsets), validation, save/load round trip through
 * core/safetensors, and the errors pb_load reports. */
#include <stdint.h>
#include <unistd.h>

#include "core/paramblock.h"
#include "strand.h"
#include "test_util.h"

static void test_layout_and_alignment(void)
{
    paramblock pb;
    pb_init(&pb);
    int64_t s1[2] = {3, 5}, s2[1] = {7}, s3[3] = {2, 4, 2}, s4[1] = {16};
    CU_ASSERT_EQUAL(pb_add(&pb, "a.weight", 2, s1, 1), 0);
    CU_ASSERT_EQUAL(pb_add(&pb, "a.bias", 1, s2, 0), 1);
    CU_ASSERT_EQUAL(pb_add(&pb, "b", 3, s3, 1), 2);
    CU_ASSERT_EQUAL(pb_add(&pb, "c", 1, s4, 0), 3);
    CU_ASSERT_EQUAL(pb_add(&pb, "scalar", 0, NULL, 0), 4);
    CU_ASSERT_EQUAL(pb.n, 5);
    size_t want_numel[5] = {15, 7, 16, 16, 1};
    size_t end = 0;
    for (size_t i = 0; i < pb.n; i++) {
        CU_ASSERT_EQUAL(pb.entries[i].numel, want_numel[i]);
        CU_ASSERT_EQUAL(pb.entries[i].offset % 16, 0);
        CU_ASSERT(pb.entries[i].offset >= end); /* no overlap with the previous entry */
        end = pb.entries[i].offset + pb.entries[i].numel;
    }
    CU_ASSERT(pb.total >= end);
    CU_ASSERT_EQUAL(pb.total % 16, 0);
    CU_ASSERT_EQUAL(pb.entries[0].decay, 1);
    CU_ASSERT_EQUAL(pb.entries[1].decay, 0);
    CU_ASSERT_EQUAL(pb_find(&pb, "b"), 2);
    CU_ASSERT_EQUAL(pb_find(&pb, "nope"), -1);
    CU_ASSERT_PTR_NULL(pb.params);
    CU_ASSERT_EQUAL_FATAL(pb_alloc(&pb), 0);
    CU_ASSERT_EQUAL((uintptr_t)pb.params % 64, 0);
    CU_ASSERT_EQUAL((uintptr_t)pb.grads % 64, 0);
    for (size_t i = 0; i < pb.n; i++) CU_ASSERT_EQUAL((uintptr_t)pb_param(&pb, (int)i) % 64, 0);
    int zero = 1;
    for (size_t i = 0; i < pb.total; i++) zero &= pb.params[i] == 0.0f && pb.grads[i] == 0.0f;
    CU_ASSERT(zero);
    CU_ASSERT_PTR_NULL(pb.m);
    CU_ASSERT_EQUAL_FATAL(pb_alloc_moments(&pb), 0);
    CU_ASSERT_EQUAL((uintptr_t)pb.m % 64, 0);
    CU_ASSERT_EQUAL((uintptr_t)pb.v % 64, 0);
    for (size_t i = 0; i < pb.total; i++) pb.grads[i] = 1.0f;
    pb_zero_grad(&pb);
    zero = 1;
    for (size_t i = 0; i < pb.total; i++) zero &= pb.grads[i] == 0.0f;
    CU_ASSERT(zero);
    /* declaring after allocation is refused */
    CU_ASSERT_EQUAL(pb_add(&pb, "late", 1, s2, 0), STRAND_E_ARG);
    pb_free(&pb);
    CU_ASSERT_PTR_NULL(pb.entries);
    pb_free(&pb); /* twice is fine */
}

static void test_add_validation(void)
{
    paramblock pb;
    pb_init(&pb);
    int64_t ok[1] = {4}, zero[2] = {3, 0}, neg[1] = {-2};
    CU_ASSERT_EQUAL(pb_add(&pb, "x", 1, ok, 1), 0);
    CU_ASSERT_EQUAL(pb_add(&pb, "x", 1, ok, 1), STRAND_E_ARG);
    CU_ASSERT(strstr(strand_last_error(), "duplicate") != NULL);
    CU_ASSERT(strstr(strand_last_error(), "\"x\"") != NULL);
    CU_ASSERT_EQUAL(pb_add(&pb, "z", 2, zero, 1), STRAND_E_SHAPE);
    CU_ASSERT(strstr(strand_last_error(), "\"z\"") != NULL);
    CU_ASSERT_EQUAL(pb_add(&pb, "n", 1, neg, 1), STRAND_E_SHAPE);
    int64_t five[5] = {1, 1, 1, 1, 1};
    CU_ASSERT_EQUAL(pb_add(&pb, "d5", 5, five, 1), STRAND_E_SHAPE);
    CU_ASSERT_EQUAL(pb_add(&pb, "", 1, ok, 1), STRAND_E_ARG);
    char longname[PB_NAME_MAX + 10];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CU_ASSERT_EQUAL(pb_add(&pb, longname, 1, ok, 1), STRAND_E_ARG);
    /* many entries: growth of the table keeps earlier names */
    for (int i = 0; i < 100; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "p%d", i);
        CU_ASSERT_EQUAL(pb_add(&pb, nm, 1, ok, i & 1), i + 1);
    }
    CU_ASSERT_EQUAL(pb_find(&pb, "p57"), 58);
    CU_ASSERT_EQUAL(pb.n, 101);
    pb_free(&pb);
}

static void make_block(paramblock *pb, int64_t rows)
{
    pb_init(pb);
    int64_t w[2] = {rows, 3}, b[1] = {rows};
    pb_add(pb, "lin.weight", 2, w, 1);
    pb_add(pb, "lin.bias", 1, b, 0);
    pb_alloc(pb);
}

static void test_save_load_roundtrip(void)
{
    paramblock a, b;
    make_block(&a, 5);
    strand_rng r;
    strand_rng_seed(&r, 3);
    for (size_t i = 0; i < a.total; i++) a.params[i] = (float)strand_rng_normal(&r);
    const char *path = tu_tmp("pb_roundtrip.safetensors");
    unlink(path);
    sft_writer *w = sft_writer_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_EQUAL_FATAL(pb_save(&a, w, "model."), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, path), 0);
    sft_writer_free(w);

    sft_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, path), 0);
    CU_ASSERT_EQUAL(sft_count(f), 2);
    const sft_tensor *t = sft_find(f, "model.lin.weight");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->dtype, SFT_F32);
    CU_ASSERT_EQUAL(t->ndim, 2);
    CU_ASSERT_EQUAL(t->shape[0], 5);
    CU_ASSERT_EQUAL(t->shape[1], 3);

    make_block(&b, 5);
    CU_ASSERT_EQUAL(pb_load(&b, f, "model."), 0);
    for (size_t i = 0; i < a.n; i++) {
        const pb_entry *e = &a.entries[i];
        CHECK_CLOSE(e->name, pb_param(&b, (int)i), pb_param(&a, (int)i), e->numel, 0.0);
    }
    /* wrong prefix: the missing tensor is named */
    CU_ASSERT_EQUAL(pb_load(&b, f, "other."), STRAND_E_NOTFOUND);
    CU_ASSERT(strstr(strand_last_error(), "other.lin.weight") != NULL);
    fprintf(stderr, "    missing tensor: %s\n", strand_last_error());
    /* shape mismatch: both shapes named */
    paramblock c;
    make_block(&c, 4);
    CU_ASSERT_EQUAL(pb_load(&c, f, "model."), STRAND_E_SHAPE);
    CU_ASSERT(strstr(strand_last_error(), "[5, 3]") != NULL);
    CU_ASSERT(strstr(strand_last_error(), "[4, 3]") != NULL);
    fprintf(stderr, "    shape mismatch: %s\n", strand_last_error());
    sft_close(f);
    pb_free(&a);
    pb_free(&b);
    pb_free(&c);
}

static void test_load_f16_and_bad_dtype(void)
{
    /* F16 tensors convert on load; an integer tensor is refused with its dtype named. */
    const char *path = tu_tmp("pb_f16.safetensors");
    unlink(path);
    uint16_t h[15], hb[5];
    float want[15], wantb[5];
    for (int i = 0; i < 15; i++) {
        /* exactly representable halves: k/4 for k in -7..7 */
        int k = i - 7;
        want[i] = k / 4.0f;
        /* build the IEEE half by hand: sign, exponent, mantissa of |k|/4 */
        float a = k < 0 ? -want[i] : want[i];
        uint16_t bits = 0;
        if (a != 0) {
            int e = 0;
            float m = a;
            while (m >= 2) { m /= 2; e++; }
            while (m < 1) { m *= 2; e--; }
            bits = (uint16_t)(((e + 15) << 10) | (uint16_t)((m - 1) * 1024));
        }
        h[i] = (uint16_t)(bits | (k < 0 ? 0x8000 : 0));
    }
    for (int i = 0; i < 5; i++) { hb[i] = h[i]; wantb[i] = want[i]; }
    int64_t ws[2] = {5, 3}, bs[1] = {5};
    sft_writer *w = sft_writer_create();
    CU_ASSERT_EQUAL(sft_writer_add(w, "lin.weight", SFT_F16, 2, ws, h), 0);
    CU_ASSERT_EQUAL(sft_writer_add(w, "lin.bias", SFT_F16, 1, bs, hb), 0);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, path), 0);
    sft_writer_free(w);
    sft_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, path), 0);
    paramblock b;
    make_block(&b, 5);
    CU_ASSERT_EQUAL(pb_load(&b, f, ""), 0);
    CHECK_CLOSE("f16 weight", pb_param(&b, 0), want, 15, 0.0);
    CHECK_CLOSE("f16 bias", pb_param(&b, 1), wantb, 5, 0.0);
    sft_close(f);

    path = tu_tmp("pb_i32.safetensors");
    unlink(path);
    int32_t iw[15] = {0}, ib[5] = {0};
    w = sft_writer_create();
    sft_writer_add(w, "lin.weight", SFT_I32, 2, ws, iw);
    sft_writer_add(w, "lin.bias", SFT_I32, 1, bs, ib);
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, path), 0);
    sft_writer_free(w);
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, path), 0);
    CU_ASSERT_EQUAL(pb_load(&b, f, ""), STRAND_E_UNSUPPORTED);
    CU_ASSERT(strstr(strand_last_error(), "I32") != NULL);
    sft_close(f);
    pb_free(&b);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("paramblock", NULL, NULL);
    ADD_TEST(s, test_layout_and_alignment);
    ADD_TEST(s, test_add_validation);
    ADD_TEST(s, test_save_load_roundtrip);
    ADD_TEST(s, test_load_f16_and_bad_dtype);
}
