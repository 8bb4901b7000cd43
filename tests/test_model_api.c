/* Public model API (api/model.c) and `strand logits` (apps/cmd_logits.c): a DiT loaded from a
 * HuggingFace directory, a strand file and its .zst copy gives PyTorch's logits (weights, inputs and
 * logits from tests/reference/dit.py, repackaged by tests/reference/model_fixtures.py); chunking
 * and padding of large batches changes nothing; bad input is refused with a message; the CLI writes
 * the same numbers to .npy atomically; a Caduceus-PS HF directory goes through the same API. */
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/model_internal.h"
#include "caduceus/caduceus.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "strand.h"
#include "test_util.h"

#define MD STRAND_TEST_DATA "/model/"
#define LOGIT_TOL 1e-4 /* same as tests/test_dit.c: float32 sums in another order than PyTorch */

typedef struct inputs {
    npy_array ids, sigma, labels, logits;
    int32_t ids32[64], labels32[8];
    size_t n, L, V;
} inputs;

static void load_inputs(inputs *in)
{
    CU_ASSERT_EQUAL_FATAL(npy_read(MD "ids.npy", &in->ids), 0);
    CU_ASSERT_EQUAL_FATAL(npy_read(MD "sigma.npy", &in->sigma), 0);
    CU_ASSERT_EQUAL_FATAL(npy_read(MD "labels.npy", &in->labels), 0);
    CU_ASSERT_EQUAL_FATAL(npy_read(MD "logits.npy", &in->logits), 0);
    CU_ASSERT_EQUAL_FATAL(in->ids.ndim, 2);
    CU_ASSERT_EQUAL_FATAL(in->logits.ndim, 3);
    in->n = (size_t)in->ids.shape[0];
    in->L = (size_t)in->ids.shape[1];
    in->V = (size_t)in->logits.shape[2];
    CU_ASSERT_FATAL(in->n * in->L <= 64 && in->n <= 8);
    CU_ASSERT_EQUAL_FATAL(npy_to_i32(&in->ids, in->ids32, 1, 0, "ids"), 0);
    CU_ASSERT_EQUAL_FATAL(npy_to_i32(&in->labels, in->labels32, 1, 0, "labels"), 0);
}

static void free_inputs(inputs *in)
{
    npy_free(&in->ids), npy_free(&in->sigma), npy_free(&in->labels), npy_free(&in->logits);
}

static void check_model(const char *path, const inputs *in)
{
    strand_model *m = NULL;
    int rc = strand_model_load(path, &m);
    if (rc < 0) fprintf(stderr, "    %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(strand_model_kind(m), "dit");
    CU_ASSERT_EQUAL(strand_model_vocab_size(m), in->V);
    CU_ASSERT_EQUAL(strand_model_max_length(m), in->L);
    CU_ASSERT_EQUAL(strand_model_num_classes(m), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_model_config(m), "hidden_dim"));
    size_t nout = in->n * in->L * in->V;
    float *out = malloc(nout * sizeof *out);
    CU_ASSERT_EQUAL(strand_model_logits(m, in->ids32, in->n, in->L, in->sigma.data, in->labels32, out), 0);
    char what[256];
    snprintf(what, sizeof what, "logits %s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
    CHECK_CLOSE(what, out, (const float *)in->logits.data, nout, LOGIT_TOL);
    free(out);
    strand_model_free(m);
}

static void test_load_hf_dir_strand_file_and_zst(void)
{
    inputs in;
    load_inputs(&in);
    check_model(MD "hf_udlm", &in);
    check_model(MD "dit_strand.safetensors", &in);
    /* a .zst copy written through the safetensors writer (tensors + metadata) */
    sft_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, MD "dit_strand.safetensors"), 0);
    sft_writer *w = sft_writer_create();
    for (size_t i = 0; i < sft_count(f); i++) {
        const sft_tensor *t = sft_get(f, i);
        CU_ASSERT_EQUAL(sft_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data), 0);
    }
    for (size_t i = 0; i < sft_meta_count(f); i++)
        CU_ASSERT_EQUAL(sft_writer_meta(w, sft_meta_key(f, i), sft_meta_get(f, sft_meta_key(f, i))), 0);
    const char *zst = tu_tmp("dit_strand.safetensors.zst");
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, zst), 0);
    sft_writer_free(w);
    sft_close(f);
    check_model(zst, &in);
    free_inputs(&in);
}

/* 45 sequences (a 32-chunk and a padded 13-chunk) equal the fixture's rows they copy; a later call
 * with another length (a fresh model underneath) is consistent with single-sequence calls. */
static void test_chunking_and_shapes(void)
{
    inputs in;
    load_inputs(&in);
    strand_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_model_load(MD "dit_strand.safetensors", &m), 0);
    enum { NB = 45 };
    size_t L = in.L, V = in.V, row = L * V;
    int32_t *ids = malloc(NB * L * sizeof *ids), labels[NB];
    float sigma[NB], *out = malloc(NB * row * sizeof *out), *want = malloc(NB * row * sizeof *want);
    for (size_t i = 0; i < NB; i++) {
        size_t src = (i * 7) % in.n;
        memcpy(ids + i * L, in.ids32 + src * L, L * sizeof *ids);
        labels[i] = in.labels32[src];
        sigma[i] = ((const float *)in.sigma.data)[src];
        memcpy(want + i * row, (const float *)in.logits.data + src * row, row * sizeof(float));
    }
    CU_ASSERT_EQUAL(strand_model_logits(m, ids, NB, L, sigma, labels, out), 0);
    CHECK_CLOSE("45 sequences in chunks of 32", out, want, NB * row, LOGIT_TOL);
    /* shorter sequences: batch of 3 == three calls of 1 */
    size_t L2 = L - 3;
    float o3[3 * 8 * 16], o1[3 * 8 * 16];
    int32_t ids2[3 * 8];
    for (size_t b = 0; b < 3; b++) memcpy(ids2 + b * L2, ids + b * L, L2 * sizeof(int32_t));
    CU_ASSERT_EQUAL(strand_model_logits(m, ids2, 3, L2, sigma, labels, o3), 0);
    for (size_t b = 0; b < 3; b++)
        CU_ASSERT_EQUAL(strand_model_logits(m, ids2 + b * L2, 1, L2, sigma + b, labels + b, o1 + b * L2 * V), 0);
    CHECK_CLOSE("length 5: batch of 3 == 3 single calls", o3, o1, 3 * L2 * V, 1e-5);
    free(ids), free(out), free(want);
    strand_model_free(m);
    free_inputs(&in);
}

static void test_plain_model(void)
{
    npy_array ids, want;
    CU_ASSERT_EQUAL_FATAL(npy_read(MD "plain_ids.npy", &ids), 0);
    CU_ASSERT_EQUAL_FATAL(npy_read(MD "plain_logits.npy", &want), 0);
    strand_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_model_load(MD "dit_plain.safetensors", &m), 0);
    CU_ASSERT_EQUAL(strand_model_num_classes(m), 0);
    size_t n = (size_t)ids.shape[0], L = (size_t)ids.shape[1];
    float *out = malloc(want.numel * sizeof *out);
    CU_ASSERT_EQUAL(strand_model_logits(m, ids.data, n, L, NULL, NULL, out), 0);
    CHECK_CLOSE("plain DiT logits (no sigma, no labels)", out, want.data, want.numel, LOGIT_TOL);
    int32_t lab[3] = {0, 0, 0};
    CU_ASSERT_EQUAL(strand_model_logits(m, ids.data, n, L, NULL, lab, out), STRAND_E_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_model_last_error(m), "no label conditioning"));
    free(out);
    strand_model_free(m);
    npy_free(&ids), npy_free(&want);
}

static void test_bad_inputs(void)
{
    strand_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_model_load(MD "dit_strand.safetensors", &m), 0);
    int32_t ids[16] = {0};
    float out[16 * 12], sigma[2] = {0, 0};
    ids[5] = 12;
    CU_ASSERT_EQUAL(strand_model_logits(m, ids, 2, 8, NULL, NULL, out), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_model_last_error(m), "sequence 0 position 5: id 12"));
    ids[5] = 0;
    CU_ASSERT_EQUAL(strand_model_logits(m, ids, 1, 9, NULL, NULL, out), STRAND_E_SHAPE); /* L > 8 */
    int32_t lab[2] = {1, 4};
    CU_ASSERT_EQUAL(strand_model_logits(m, ids, 2, 8, NULL, lab, out), STRAND_E_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_model_last_error(m), "label 4"));
    sigma[1] = NAN;
    CU_ASSERT_EQUAL(strand_model_logits(m, ids, 2, 8, sigma, NULL, out), STRAND_E_RANGE);
    CU_ASSERT_EQUAL(strand_model_logits(m, NULL, 2, 8, NULL, NULL, out), STRAND_E_ARG);
    strand_model_free(m);
    strand_model_free(NULL);

    /* loading errors */
    CU_ASSERT_EQUAL(strand_model_load(tu_tmp("no_such_model.safetensors"), &m), STRAND_E_IO);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_EQUAL(strand_model_load(MD "hf_udlm/model.safetensors", &m), STRAND_E_FORMAT); /* no strand.config */
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "strand.config"));
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_tmp("empty_model_dir"));
    mkdir(dir, 0755);
    CU_ASSERT_EQUAL(strand_model_load(dir, &m), STRAND_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "config.json"));
    /* unknown kind */
    sft_writer *w = sft_writer_create();
    float x[2] = {0};
    int64_t s[1] = {2};
    sft_writer_add(w, "x", SFT_F32, 1, s, x);
    sft_writer_meta(w, "strand.config", "{\"kind\": \"transformer9000\"}");
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, tu_tmp("unknown_kind.safetensors")), 0);
    sft_writer_free(w);
    CU_ASSERT_EQUAL(strand_model_load(tu_tmp("unknown_kind.safetensors"), &m), STRAND_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "transformer9000"));
    fprintf(stderr, "    %s\n", strand_last_error());
    /* a DiT config whose tensors are missing */
    w = sft_writer_create();
    sft_writer_add(w, "x", SFT_F32, 1, s, x);
    sft_writer_meta(w, "strand.config", "{\"kind\": \"dit\", \"vocab_size\": 12, \"hidden_dim\": 32, \"n_blocks\": 2, "
                                        "\"n_heads\": 2, \"cond_dim\": 16, \"model_length\": 8}");
    CU_ASSERT_EQUAL_FATAL(sft_writer_write(w, tu_tmp("dit_no_tensors.safetensors")), 0);
    sft_writer_free(w);
    CU_ASSERT(strand_model_load(tu_tmp("dit_no_tensors.safetensors"), &m) < 0);
    fprintf(stderr, "    %s\n", strand_last_error());
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "backbone."));
}

static void test_cli_logits(void)
{
    char out[8192], cmd[2048];
    /* no arguments: usage, non-zero */
    snprintf(cmd, sizeof cmd, "%s logits 2>&1", STRAND_BIN);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: strand logits"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Examples:"));

    const char *o = tu_tmp("cli_logits.npy");
    unlink(o);
    snprintf(cmd, sizeof cmd,
             "%s logits -m %shf_udlm -i %sids.npy -o %s --sigma-file %ssigma.npy --labels %slabels.npy --threads 1 2>&1",
             STRAND_BIN, MD, MD, o, MD, MD);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "    %s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    npy_array got, want;
    CU_ASSERT_EQUAL_FATAL(npy_read(o, &got), 0);
    CU_ASSERT_EQUAL_FATAL(npy_read(MD "logits.npy", &want), 0);
    CU_ASSERT_EQUAL(got.dtype, NPY_F32);
    CU_ASSERT_EQUAL(got.ndim, 3);
    CU_ASSERT_EQUAL_FATAL(got.numel, want.numel);
    CHECK_CLOSE("strand logits CLI (.npy)", got.data, want.data, want.numel, LOGIT_TOL);
    npy_free(&got), npy_free(&want);

    /* --sigma / --label broadcast == per-sequence files with those values */
    const char *o2 = tu_tmp("cli_logits2.npy"), *o3 = tu_tmp("cli_logits3.npy");
    float s2[2] = {0.7f, 0.7f};
    int64_t l2[2] = {2, 2}, sh[1] = {2};
    CU_ASSERT_EQUAL(npy_write(tu_tmp("s2.npy"), NPY_F32, 1, sh, s2), 0);
    CU_ASSERT_EQUAL(npy_write(tu_tmp("l2.npy"), NPY_I64, 1, sh, l2), 0);
    snprintf(cmd, sizeof cmd, "%s logits -m %sdit_strand.safetensors -i %sids.npy -o %s --sigma 0.7 --label 2 2>&1",
             STRAND_BIN, MD, MD, o2);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s logits -m %sdit_strand.safetensors -i %sids.npy -o %s --sigma-file %s --labels %s 2>&1",
             STRAND_BIN, MD, MD, o3, tu_tmp("s2.npy"), tu_tmp("l2.npy"));
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    npy_array a, b;
    if (npy_read(o2, &a) == 0 && npy_read(o3, &b) == 0) {
        CHECK_CLOSE("--sigma/--label == per-sequence files", a.data, b.data, a.numel, 0.0);
        npy_free(&a), npy_free(&b);
    } else {
        CU_FAIL("CLI outputs missing");
    }

    /* failures: message with the command name, non-zero, nothing under the output name */
    const char *bad = tu_tmp("cli_bad.npy");
    unlink(bad);
    snprintf(cmd, sizeof cmd, "%s logits -m %sdit_strand.safetensors -i %sbad_fortran.npy -o %s 2>&1", STRAND_BIN, MD,
             STRAND_TEST_DATA "/npy/", bad);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "strand logits: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Fortran"));
    snprintf(cmd, sizeof cmd, "%s logits -m %sdit_strand.safetensors -i %sids.npy -o %s --label 9 2>&1", STRAND_BIN, MD,
             MD, bad);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "label 9"));
    snprintf(cmd, sizeof cmd, "%s logits -m %sdit_strand.safetensors -i %si64_ids_3x7.npy -o %s 2>&1", STRAND_BIN, MD,
             STRAND_TEST_DATA "/npy/", bad); /* ids up to 15 but vocabulary 12 */
    rc = tu_run(cmd, out, sizeof out);
    fprintf(stderr, "    %s", out);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    snprintf(cmd, sizeof cmd, "%s logits -m %sdit_strand.safetensors -i %sids.npy -o %s --sigma 1 --sigma-file x 2>&1",
             STRAND_BIN, MD, MD, bad);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "exclusive"));
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(bad, &st), 0);
}

/* Caduceus-PS from its HuggingFace directory (fixture of tests/reference/caduceus.py) through the same
 * API and CLI; it takes no sigma/labels. */
static void test_caduceus_kind(void)
{
    strand_model *m = NULL;
    int rc = strand_model_load(STRAND_TEST_DATA "/caduceus/hf_ps_tiny", &m);
    if (rc < 0) fprintf(stderr, "    %s\n", strand_last_error());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(strand_model_kind(m), "caduceus_ps");
    CU_ASSERT_EQUAL(strand_model_vocab_size(m), 16);
    sft_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, STRAND_TEST_DATA "/caduceus/hf_ps_tiny_expected.safetensors"), 0);
    const sft_tensor *t = sft_find(f, "ids");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    size_t n = (size_t)t->shape[0], L = (size_t)t->shape[1], V = 16;
    int64_t *ids64 = malloc(n * L * sizeof *ids64);
    int32_t *ids = malloc(n * L * sizeof *ids);
    float *want = malloc(n * L * V * sizeof *want), *out = malloc(n * L * V * sizeof *out);
    CU_ASSERT_EQUAL_FATAL(sft_read_i64(f, "ids", ids64, n * L), 0);
    CU_ASSERT_EQUAL_FATAL(sft_read_f32(f, "logits", want, n * L * V), 0);
    for (size_t i = 0; i < n * L; i++) ids[i] = (int32_t)ids64[i];
    CU_ASSERT_EQUAL(strand_model_logits(m, ids, n, L, NULL, NULL, out), 0);
    CHECK_CLOSE("caduceus_ps logits via strand_model", out, want, n * L * V, 1e-4);
    float sg[1] = {0.5f};
    CU_ASSERT_EQUAL(strand_model_logits(m, ids, 1, L, sg, NULL, out), STRAND_E_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(strand_model_last_error(m), "no sigma"));
    strand_model_free(m);
    /* CLI */
    int64_t shape[2] = {(int64_t)n, (int64_t)L};
    CU_ASSERT_EQUAL_FATAL(npy_write(tu_tmp("cad_ids.npy"), NPY_I64, 2, shape, ids64), 0);
    char cmd[2048], msg[4096];
    const char *o = tu_tmp("cad_logits.npy");
    unlink(o);
    snprintf(cmd, sizeof cmd, "%s logits -m %s/caduceus/hf_ps_tiny -i %s -o %s 2>&1", STRAND_BIN, STRAND_TEST_DATA,
             tu_tmp("cad_ids.npy"), o);
    rc = tu_run(cmd, msg, sizeof msg);
    if (rc) fprintf(stderr, "    %s\n", msg);
    CU_ASSERT_EQUAL(rc, 0);
    npy_array a;
    if (npy_read(o, &a) == 0) {
        CU_ASSERT_EQUAL(a.numel, n * L * V);
        if (a.numel == n * L * V) CHECK_CLOSE("caduceus_ps logits via strand logits", a.data, want, a.numel, 1e-4);
        npy_free(&a);
    } else {
        CU_FAIL("no CLI output");
    }
    free(ids64), free(ids), free(want), free(out);
    sft_close(f);
}

/* Shapes that change call to call copy no weights: one weights object (same pointer, same params
 * block) serves every shape, and each call's logits equal those of a freshly loaded model, bit
 * for bit. The kind table answers max_length / num_classes truthfully for every kind. */
static void test_shapes_share_weights(void)
{
    inputs in;
    load_inputs(&in);
    strand_model *m = NULL, *fresh = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_model_load(MD "dit_strand.safetensors", &m), 0);
    const dit_weights *w = st_model_dit_weights(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    const float *params = w->pb.params;
    CU_ASSERT_PTR_NULL(w->pb.grads); /* inference: no gradient block */
    size_t L = in.L, V = in.V;
    enum { NB = 40 };
    int32_t *ids = malloc(NB * L * sizeof *ids), labels[NB];
    float sigma[NB], *a = malloc(NB * L * V * sizeof *a), *b = malloc(NB * L * V * sizeof *b);
    for (size_t i = 0; i < NB; i++) {
        memcpy(ids + i * L, in.ids32 + (i % in.n) * L, L * sizeof *ids);
        labels[i] = in.labels32[i % in.n];
        sigma[i] = ((const float *)in.sigma.data)[i % in.n];
    }
    size_t shapes[][2] = {{2, L}, {NB, L}, {1, L - 3}, {5, L - 1}, {NB, L - 2}, {2, L}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        size_t n = shapes[k][0], Lk = shapes[k][1];
        int32_t *idk = malloc(n * Lk * sizeof *idk);
        for (size_t r = 0; r < n; r++) memcpy(idk + r * Lk, ids + r * L, Lk * sizeof *idk);
        CU_ASSERT_EQUAL(strand_model_logits(m, idk, n, Lk, sigma, labels, a), 0);
        CU_ASSERT_EQUAL_FATAL(strand_model_load(MD "dit_strand.safetensors", &fresh), 0);
        CU_ASSERT_EQUAL(strand_model_logits(fresh, idk, n, Lk, sigma, labels, b), 0);
        strand_model_free(fresh);
        char what[96];
        snprintf(what, sizeof what, "%zu x %zu after other shapes == fresh load", n, Lk);
        CHECK_CLOSE(what, a, b, n * Lk * V, 0);
        CU_ASSERT_PTR_EQUAL(st_model_dit_weights(m), w);
        CU_ASSERT_PTR_EQUAL(w->pb.params, params);
        free(idk);
    }
    CU_ASSERT_EQUAL(strand_model_max_length(m), (size_t)w->cfg.model_length);
    CU_ASSERT_EQUAL(strand_model_num_classes(m), w->cfg.num_classes);
    float e[8];
    CU_ASSERT_EQUAL(strand_model_embed(m, ids, 1, L, STRAND_EMBED_MEAN, e), STRAND_E_UNSUPPORTED);
    strand_model_free(m);
    /* Caduceus: no positional limit, no labels, embeddings == strand_caduceus_embed */
    CU_ASSERT_EQUAL_FATAL(strand_model_load(STRAND_TEST_DATA "/caduceus/hf_ps_tiny", &m), 0);
    CU_ASSERT_EQUAL(strand_model_max_length(m), SIZE_MAX);
    CU_ASSERT_EQUAL(strand_model_num_classes(m), 0);
    CU_ASSERT_PTR_NULL(st_model_dit_weights(m));
    CU_ASSERT_PTR_NULL(st_model_diffusion(m));
    const caduceus_weights *cw = st_model_caduceus_weights(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cw);
    size_t D = (size_t)cw->cfg.d_model, n = 3, Lc = 30;
    int32_t cid[3 * 30];
    for (size_t i = 0; i < n * Lc; i++) cid[i] = 7 + (int32_t)(i * 5 % 4);
    float *e1 = malloc(n * Lc * D * sizeof *e1), *e2 = malloc(n * Lc * D * sizeof *e2);
    CU_ASSERT_EQUAL(strand_model_embed(m, cid, n, Lc, STRAND_EMBED_PER_POSITION, e1), 0);
    strand_caduceus *h = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_caduceus_load(STRAND_TEST_DATA "/caduceus/hf_ps_tiny", &h), 0);
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, cid, n, Lc, STRAND_EMBED_PER_POSITION, e2), 0);
    CHECK_CLOSE("strand_model_embed == strand_caduceus_embed", e1, e2, n * Lc * D, 0);
    strand_caduceus_free(h);
    CU_ASSERT_EQUAL(strand_caduceus_load(MD "dit_strand.safetensors", &h), STRAND_E_UNSUPPORTED);
    CU_ASSERT_PTR_NULL(h);
    strand_model_free(m);
    free(ids), free(a), free(b), free(e1), free(e2);
    free_inputs(&in);
}

/* `strand logits` gives the network's raw output for every kind (docs/caduceus.md "Caduceus-PH"):
 * PH and PS checkpoints of tests/data/caduceus (weights, ids and the logits of the PyTorch model of
 * tests/reference/caduceus.py, which like the HF CaduceusForMaskedLM does not conjoin PH) saved as
 * strand files; the CLI's default output equals PyTorch's logits (1e-4, the tolerance of
 * test_caduceus). --rc-average is the post-hoc conjoined output: for PH bitwise the library's
 * CADUCEUS_INFER (the mode strand embed / strand vep use) and far from the raw logits; for PS equal to
 * the raw logits up to float rounding (RC-equivariant by construction). A DiT refuses --rc-average. */
static void cad_raw_vs_pytorch(const char *fixture, int rcps)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/caduceus/%s", STRAND_TEST_DATA, fixture);
    sft_file *f = NULL;
    CU_ASSERT_EQUAL_FATAL(sft_open(&f, path), 0);
    caduceus_config cfg;
    caduceus_default_config(&cfg);
    cfg.d_model = atoi(sft_meta_get(f, "d_model"));
    cfg.n_layer = atoi(sft_meta_get(f, "n_layer"));
    cfg.rcps = rcps;
    caduceus_weights *w = NULL;
    CU_ASSERT_EQUAL_FATAL(caduceus_load_from(&w, &cfg, f), 0);
    const char *mf = tu_tmp(rcps ? "raw_ps.safetensors" : "raw_ph.safetensors");
    CU_ASSERT_EQUAL_FATAL(caduceus_save(w, mf), 0);
    const sft_tensor *t = sft_find(f, "ids");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    size_t n = (size_t)t->shape[0], L = (size_t)t->shape[1], V = 16;
    int64_t *ids64 = malloc(n * L * sizeof *ids64);
    int32_t *ids = malloc(n * L * sizeof *ids);
    float *want = malloc(n * L * V * sizeof *want), *conj = malloc(n * L * V * sizeof *conj);
    CU_ASSERT_EQUAL_FATAL(sft_read_i64(f, "ids", ids64, n * L), 0);
    CU_ASSERT_EQUAL_FATAL(sft_read_f32(f, "logits", want, n * L * V), 0);
    for (size_t i = 0; i < n * L; i++) ids[i] = (int32_t)ids64[i];
    int64_t shape[2] = {(int64_t)n, (int64_t)L};
    const char *in = tu_tmp("raw_ids.npy"), *o = tu_tmp("raw_logits.npy"), *oc = tu_tmp("raw_logits_rc.npy");
    CU_ASSERT_EQUAL_FATAL(npy_write(in, NPY_I64, 2, shape, ids64), 0);
    char cmd[4096], msg[4096];
    unlink(o), unlink(oc);
    snprintf(cmd, sizeof cmd, "%s logits -m %s -i %s -o %s --threads 1 2>&1", STRAND_BIN, mf, in, o);
    int rc = tu_run(cmd, msg, sizeof msg);
    if (rc) fprintf(stderr, "    %s\n", msg);
    CU_ASSERT_EQUAL(rc, 0);
    snprintf(cmd, sizeof cmd, "%s logits -m %s -i %s -o %s --threads 1 --rc-average 2>&1", STRAND_BIN, mf, in, oc);
    rc = tu_run(cmd, msg, sizeof msg);
    if (rc) fprintf(stderr, "    %s\n", msg);
    CU_ASSERT_EQUAL(rc, 0);
    caduceus_ctx *cx = NULL;
    CU_ASSERT_EQUAL_FATAL(caduceus_ctx_create(&cx, &w->cfg), 0);
    for (size_t b = 0; b < n; b++) /* one sequence at a time, as --rc-average runs PS */
        CU_ASSERT_EQUAL(caduceus_forward(w, cx, ids + b * L, 1, L, CADUCEUS_INFER, conj + b * L * V, NULL, NULL), 0);
    npy_array a = {0}, c = {0};
    CU_ASSERT_EQUAL_FATAL(npy_read(o, &a), 0);
    CU_ASSERT_EQUAL_FATAL(npy_read(oc, &c), 0);
    CU_ASSERT_EQUAL_FATAL(a.numel, n * L * V);
    CU_ASSERT_EQUAL_FATAL(c.numel, n * L * V);
    const float *ra = a.data, *rc_ = c.data;
    double d_raw = 0, d_conj = 0, d_rc_raw = 0;
    for (size_t i = 0; i < n * L * V; i++) {
        d_raw = fmax(d_raw, fabs((double)ra[i] - want[i]));
        d_conj = fmax(d_conj, fabs((double)rc_[i] - conj[i]));
        d_rc_raw = fmax(d_rc_raw, fabs((double)rc_[i] - ra[i]));
    }
    fprintf(stderr, "    %s: default vs PyTorch max |diff| %.3g (tol 1e-4); --rc-average vs CADUCEUS_INFER %.3g; "
            "--rc-average vs default %.3g\n", rcps ? "PS" : "PH", d_raw, d_conj, d_rc_raw);
    CU_ASSERT(d_raw <= 1e-4);
    if (rcps) {
        CU_ASSERT(d_rc_raw <= 1e-4);
        CU_ASSERT(d_conj <= 1e-4);
    } else {
        CU_ASSERT(d_conj == 0.0);
        CU_ASSERT(d_rc_raw > 1e-2); /* conjoining changes an untrained PH's output */
    }
    npy_free(&a), npy_free(&c);
    caduceus_ctx_free(cx);
    free(ids64), free(ids), free(want), free(conj);
    caduceus_free(w);
    sft_close(f);
}

static void test_cli_logits_raw_caduceus(void)
{
    cad_raw_vs_pytorch("ph.safetensors", 0);
    cad_raw_vs_pytorch("ps.safetensors", 1);
    char cmd[2048], msg[4096];
    snprintf(cmd, sizeof cmd, "%s logits -m %sdit_strand.safetensors -i %sids.npy -o %s --rc-average 2>&1", STRAND_BIN,
             MD, MD, tu_tmp("raw_dit.npy"));
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, msg, sizeof msg), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "rc-average"));
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("model_api", NULL, NULL);
    ADD_TEST(s, test_load_hf_dir_strand_file_and_zst);
    ADD_TEST(s, test_chunking_and_shapes);
    ADD_TEST(s, test_plain_model);
    ADD_TEST(s, test_bad_inputs);
    ADD_TEST(s, test_cli_logits);
    ADD_TEST(s, test_caduceus_kind);
    ADD_TEST(s, test_cli_logits_raw_caduceus);
    ADD_TEST(s, test_shapes_share_weights);
}
