/* `strand embed` and the text inputs of `strand logits` (apps/cmd_embed.c, apps/cmd_logits.c,
 * io/seqfile.c) over the Caduceus-PS HF fixture tests/data/caduceus/hf_ps_tiny (written by
 * tests/reference/caduceus.py) and the DiT fixture tests/data/model/dit_strand.safetensors:
 *  - library: pooled embedding == mean of per-position embeddings; rc(x) per position == the
 *    L-flipped embedding of x (PS); mean-pool of rc(x) == mean-pool of x (1e-5);
 *  - CLI: .npy shape and dtype, CLI == library (bitwise), the same metamorphic properties on FASTA
 *    records that are reverse complements of each other, --batch / --threads do not change a bit,
 *    plain == gzip input, --window cut/pad semantics;
 *  - logits from FASTA / SMILES (.smi, .csv --column) == logits from the equivalent .npy ids
 *    (bitwise);
 *  - bad input (bad character, empty record, unequal lengths, wrong tokenizer) fails naming the
 *    file and record and leaves no output behind. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caduceus/caduceus.h"
#include "core/dit.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"
#include "core/tokenizer_dna.h"
#include "strand.h"
#include "fixture_util.h"
#include "test_util.h"

#define PS_MODEL STRAND_TEST_DATA "/caduceus/hf_ps_tiny"
#define TOL_RC 1e-5    /* float32 rounding of reverse-order sums; the model is exactly equivariant in R */
#define TOL_BATCH 2e-6 /* other batch size / thread count: summation order only (see test_cli_embed) */

static const char BASES[] = "ACGT";

/* Random DNA of length L (some lower case, some N) into s (L+1 bytes). */
static void rand_dna(strand_rng *r, char *s, size_t L)
{
    for (size_t i = 0; i < L; i++) {
        uint64_t u = strand_rng_below(r, 40);
        char ch = u < 2 ? 'N' : BASES[u % 4];
        if (u >= 36) ch = (char)(ch - 'A' + 'a');
        s[i] = ch;
    }
    s[L] = '\0';
}

/* Reverse complement of text (ACGTN, any case). */
static void revcomp_text(const char *s, char *out, size_t L)
{
    for (size_t i = 0; i < L; i++) {
        char c = s[L - 1 - i], u = (char)(c & ~0x20);
        char m = u == 'A' ? 'T' : u == 'T' ? 'A' : u == 'C' ? 'G' : u == 'G' ? 'C' : 'N';
        out[i] = (c & 0x20) ? (char)(m | 0x20) : m;
    }
    out[L] = '\0';
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* Run the CLI with the given arguments, stderr captured into msg. */
static int cli(char *msg, size_t cap, const char *fmt, ...)
{
    char args[4096], cmd[4400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", STRAND_BIN, args);
    char buf[8192];
    int rc = tu_run(cmd, msg ? msg : buf, msg ? cap : sizeof buf);
    if (rc != 0) fprintf(stderr, "    [%s] -> %d: %s", args, rc, msg ? msg : buf);
    return rc;
}

static int file_exists(const char *p) { return access(p, F_OK) == 0; }

/* ---- library ------------------------------------------------------------------------------------ */
static void test_library_embed(void)
{
    strand_caduceus *h = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_caduceus_load(PS_MODEL, &h), 0);
    int Di = 0, ps = 0;
    strand_caduceus_info(h, &Di, NULL, &ps);
    CU_ASSERT_EQUAL_FATAL(ps, 1);
    size_t D = (size_t)Di, n = 3, L = 37;
    strand_rng r;
    strand_rng_seed(&r, 11);
    int32_t *ids = malloc(2 * n * L * sizeof *ids);
    char s[64];
    for (size_t i = 0; i < n; i++) {
        rand_dna(&r, s, L);
        st_dna_encode(s, L, ids + i * L);
        CU_ASSERT_EQUAL(st_dna_revcomp(ids + i * L, ids + (n + i) * L, L), 0); /* rows n..2n-1: rc */
    }
    float *em = malloc(2 * n * L * D * sizeof *em), *pool = malloc(2 * n * D * sizeof *pool);
    float *mean = calloc(2 * n * D, sizeof *mean), *flip = malloc(n * L * D * sizeof *flip);
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, ids, 2 * n, L, STRAND_EMBED_PER_POSITION, em), 0);
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, ids, 2 * n, L, STRAND_EMBED_MEAN, pool), 0);
    for (size_t i = 0; i < 2 * n; i++)
        for (size_t t = 0; t < L; t++)
            for (size_t j = 0; j < D; j++) mean[i * D + j] += em[(i * L + t) * D + j] / (float)L;
    CHECK_CLOSE("library: pooled == mean of per-position", pool, mean, 2 * n * D, 1e-5);
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < L; t++)
            memcpy(flip + (i * L + t) * D, em + (i * L + (L - 1 - t)) * D, D * sizeof(float));
    CHECK_CLOSE("library: embed(rc x) == flip_L embed(x)", em + n * L * D, flip, n * L * D, TOL_RC);
    CHECK_CLOSE("library: pool(rc x) == pool(x)", pool + n * D, pool, n * D, TOL_RC);
    free(ids), free(em), free(pool), free(mean), free(flip);
    strand_caduceus_free(h);
}

/* ---- CLI embed ------------------------------------------------------------------------------------- */
#define NREC 5
#define LREC 48

/* FASTA of NREC records of length LREC: x0, rc(x0), x1, rc(x1), x2 (some lower case and N). Their
 * token ids go to ids (NREC*LREC). */
static void make_fasta(const char *path, int32_t *ids)
{
    strand_rng r;
    strand_rng_seed(&r, 2024);
    char seqs[NREC][LREC + 1], text[NREC * (LREC + 32)];
    size_t k = 0;
    for (int i = 0; i < NREC; i++) {
        if (i % 2 == 1)
            revcomp_text(seqs[i - 1], seqs[i], LREC);
        else
            rand_dna(&r, seqs[i], LREC);
        /* two lines per record: the reader must join them */
        k += (size_t)sprintf(text + k, ">rec%d some description\n%.*s\n%s\n", i, 20, seqs[i], seqs[i] + 20);
        if (ids) st_dna_encode(seqs[i], LREC, ids + (size_t)i * LREC);
    }
    write_text(path, text);
}

static void test_cli_embed(void)
{
    strand_caduceus *h = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_caduceus_load(PS_MODEL, &h), 0);
    int Di = 0;
    strand_caduceus_info(h, &Di, NULL, NULL);
    size_t D = (size_t)Di, n = NREC, L = LREC;
    int32_t ids[NREC * LREC];
    const char *fa = tu_tmp("embed_in.fa"), *none = tu_tmp("embed_none.npy"), *mean = tu_tmp("embed_mean.npy");
    make_fasta(fa, ids);
    unlink(none), unlink(mean);
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s --pool none -q", PS_MODEL, fa, none), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s -q", PS_MODEL, fa, mean), 0); /* default: mean */
    int64_t s3[3] = {(int64_t)n, (int64_t)L, (int64_t)D}, s2[2] = {(int64_t)n, (int64_t)D};
    float *em = fx_npy_f32(none, 3, s3), *pool = fx_npy_f32(mean, 2, s2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(em);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    /* CLI == library on the same token ids */
    float *lib = malloc(n * L * D * sizeof *lib), *libp = malloc(n * D * sizeof *libp);
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, ids, n, L, STRAND_EMBED_PER_POSITION, lib), 0);
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, ids, n, L, STRAND_EMBED_MEAN, libp), 0);
    CHECK_CLOSE("CLI per-position == library", em, lib, n * L * D, 0.0);
    CHECK_CLOSE("CLI mean == library", pool, libp, n * D, 0.0);
    /* pooled == mean of per-position */
    float *m = calloc(n * D, sizeof *m);
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < L; t++)
            for (size_t j = 0; j < D; j++) m[i * D + j] += em[(i * L + t) * D + j] / (float)L;
    CHECK_CLOSE("CLI: pooled == mean of per-position", pool, m, n * D, 1e-5);
    /* records 1 and 3 are the reverse complements of records 0 and 2 */
    float *flip = malloc(L * D * sizeof *flip);
    for (size_t pair = 0; pair < 2; pair++) {
        size_t a = 2 * pair, b = a + 1;
        for (size_t t = 0; t < L; t++) memcpy(flip + t * D, em + (a * L + (L - 1 - t)) * D, D * sizeof(float));
        CHECK_CLOSE("CLI: embed(rc record) == flip_L embed(record)", em + b * L * D, flip, L * D, TOL_RC);
        CHECK_CLOSE("CLI: mean(rc record) == mean(record)", pool + b * D, pool + a * D, D, TOL_RC);
    }
    /* --batch and --threads do not change the result beyond float32 rounding: the library's
     * matrix-product shapes (sequences per call) and its thread split change the summation order
     * (measured: 4.8e-7 on values of O(1)), so TOL_BATCH; gzip input == plain input bitwise */
    const char *o2 = tu_tmp("embed_b1.npy"), *o3 = tu_tmp("embed_b3.npy"), *fgz = tu_tmp("embed_in.fa.gz");
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s --pool none --batch 1 --threads 1 -q", PS_MODEL, fa, o2), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s --pool none -b 3 --threads 2 -q", PS_MODEL, fa, o3), 0);
    float *e2 = fx_npy_f32(o2, 3, s3), *e3 = fx_npy_f32(o3, 3, s3);
    if (e2 && e3) {
        CHECK_CLOSE("--batch 1 --threads 1 == default", e2, em, n * L * D, TOL_BATCH);
        CHECK_CLOSE("--batch 3 --threads 2 == default", e3, em, n * L * D, TOL_BATCH);
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "gzip -c %s > %s", fa, fgz);
    CU_ASSERT_EQUAL(tu_run(cmd, NULL, 0), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s --pool none -q", PS_MODEL, fgz, o2), 0);
    free(e2);
    e2 = fx_npy_f32(o2, 3, s3);
    if (e2) CHECK_CLOSE("gzip FASTA == plain FASTA", e2, em, n * L * D, 0.0);
    free(e2), free(e3), free(em), free(pool), free(lib), free(libp), free(m), free(flip);
    strand_caduceus_free(h);
}

/* Caduceus-PH (a strand checkpoint written here, random weights): the CLI's embeddings are
 * post-hoc conjoined, so the rc record's embedding is the flipped one and its mean is the same. */
static void test_cli_embed_ph(void)
{
    caduceus_config cfg;
    caduceus_default_config(&cfg);
    cfg.d_model = 16, cfg.n_layer = 2, cfg.rcps = 0;
    caduceus_weights *m = NULL;
    CU_ASSERT_EQUAL_FATAL(caduceus_create(&m, &cfg), 0);
    caduceus_init_weights(m, 31);
    strand_rng r;
    strand_rng_seed(&r, 32);
    for (size_t i = 0; i < m->pb.total; i++) m->pb.params[i] += (float)(0.1 * strand_rng_normal(&r));
    const char *model = tu_tmp("embed_ph.safetensors"), *fa = tu_tmp("embed_ph.fa");
    const char *none = tu_tmp("embed_ph_none.npy"), *mean = tu_tmp("embed_ph_mean.npy");
    CU_ASSERT_EQUAL_FATAL(caduceus_save(m, model), 0);
    caduceus_free(m);
    make_fasta(fa, NULL);
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s --pool none -q", model, fa, none), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s --pool mean -q", model, fa, mean), 0);
    size_t n = NREC, L = LREC, D = 16;
    int64_t s3[3] = {NREC, LREC, 16}, s2[2] = {NREC, 16};
    float *em = fx_npy_f32(none, 3, s3), *pool = fx_npy_f32(mean, 2, s2), *flip = malloc(L * D * sizeof *flip);
    if (em && pool) {
        CU_ASSERT(memcmp(em, em + 2 * L * D, L * D * sizeof(float)) != 0); /* not vacuous */
        for (size_t pair = 0; pair < 2; pair++) {
            size_t a = 2 * pair, b = a + 1;
            for (size_t t = 0; t < L; t++) memcpy(flip + t * D, em + (a * L + (L - 1 - t)) * D, D * sizeof(float));
            CHECK_CLOSE("PH CLI: embed(rc record) == flip_L embed(record)", em + b * L * D, flip, L * D, TOL_RC);
            CHECK_CLOSE("PH CLI: mean(rc record) == mean(record)", pool + b * D, pool + a * D, D, TOL_RC);
        }
        float *mm = calloc(n * D, sizeof *mm);
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < L; t++)
                for (size_t j = 0; j < D; j++) mm[i * D + j] += em[(i * L + t) * D + j] / (float)L;
        CHECK_CLOSE("PH CLI: pooled == mean of per-position", pool, mm, n * D, 1e-5);
        free(mm);
    }
    free(em), free(pool), free(flip);
}

/* --window W: records cut to their first W bases or padded with [PAD]; mean over own bases. */
static void test_cli_window(void)
{
    strand_caduceus *h = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_caduceus_load(PS_MODEL, &h), 0);
    int Di = 0;
    strand_caduceus_info(h, &Di, NULL, NULL);
    size_t D = (size_t)Di, W = 20, n = 3;
    const size_t lens[3] = {33, 20, 7};
    strand_rng r;
    strand_rng_seed(&r, 5);
    char seq[3][40], text[512];
    size_t k = 0;
    int32_t ids[3 * 20];
    for (size_t i = 0; i < n; i++) {
        rand_dna(&r, seq[i], lens[i]);
        k += (size_t)sprintf(text + k, ">w%zu\n%s\n", i, seq[i]);
        size_t u = lens[i] < W ? lens[i] : W;
        st_dna_encode(seq[i], u, ids + i * W);
        for (size_t t = u; t < W; t++) ids[i * W + t] = ST_DNA_PAD;
    }
    const char *fa = tu_tmp("embed_win.fa"), *none = tu_tmp("embed_win_none.npy"), *mean = tu_tmp("embed_win_mean.npy");
    write_text(fa, text);
    char msg[4096];
    unlink(none);
    /* unequal lengths without --window: error naming the record, no output */
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "embed -m %s -i %s -o %s --pool none", PS_MODEL, fa, none), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "record 2 (\"w1\")"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, fa));
    CU_ASSERT(!file_exists(none));
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s --pool none --window %zu -q", PS_MODEL, fa, none, W), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s --pool mean -w %zu -q", PS_MODEL, fa, mean, W), 0);
    int64_t s3[3] = {(int64_t)n, (int64_t)W, (int64_t)D}, s2[2] = {(int64_t)n, (int64_t)D};
    float *em = fx_npy_f32(none, 3, s3), *pool = fx_npy_f32(mean, 2, s2);
    float *lib = malloc(n * W * D * sizeof *lib), *want = calloc(n * D, sizeof *want);
    CU_ASSERT_EQUAL(strand_caduceus_embed(h, ids, n, W, STRAND_EMBED_PER_POSITION, lib), 0);
    if (em) CHECK_CLOSE("--window: per-position == library on cut/padded ids", em, lib, n * W * D, 0.0);
    for (size_t i = 0; i < n; i++) {
        size_t u = lens[i] < W ? lens[i] : W;
        for (size_t j = 0; j < D; j++) {
            double a = 0;
            for (size_t t = 0; t < u; t++) a += lib[(i * W + t) * D + j];
            want[i * D + j] = (float)(a / (double)u);
        }
    }
    if (pool) CHECK_CLOSE("--window mean == mean over own bases", pool, want, n * D, 1e-6);
    /* mean pooling without --window takes records of any length: each == library on its own */
    CU_ASSERT_EQUAL(cli(NULL, 0, "embed -m %s -i %s -o %s -q -b 2", PS_MODEL, fa, mean), 0);
    free(pool);
    pool = fx_npy_f32(mean, 2, s2);
    for (size_t i = 0; pool && i < n; i++) {
        int32_t one[40];
        float p[64];
        st_dna_encode(seq[i], lens[i], one);
        CU_ASSERT_EQUAL(strand_caduceus_embed(h, one, 1, lens[i], STRAND_EMBED_MEAN, p), 0);
        CHECK_CLOSE("mean, variable lengths == library per record", pool + i * D, p, D, 0.0);
    }
    free(em), free(pool), free(lib), free(want);
    strand_caduceus_free(h);
}

/* Bad input: the record is named, nothing is left under the output name. */
static void test_cli_bad_input(void)
{
    const char *fa = tu_tmp("embed_bad.fa"), *out = tu_tmp("embed_bad.npy");
    char msg[4096];
    struct {
        const char *text, *want1, *want2;
    } cases[] = {
        {">ok\nACGTACGT\n>second\nACGXACGT\n", "record 2 (\"second\")", "'X' at position 4"},
        {">ok\nACGTACGT\n>hole\n>third\nACGT\n", "record 2 (\"hole\")", "empty sequence"},
        {">ok\nACGTACGT\n>dash\nACG-ACGT\n", "record 2 (\"dash\")", "'-' at position 4"},
        {"ACGT\n", "not a FASTA file", ""},
        {"", "no FASTA records", ""},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        write_text(fa, cases[c].text);
        unlink(out);
        CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "embed -m %s -i %s -o %s", PS_MODEL, fa, out), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, "strand embed: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, fa));
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, cases[c].want1));
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, cases[c].want2));
        CU_ASSERT(!file_exists(out));
        /* logits reads FASTA the same way */
        CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "logits -m %s -i %s -o %s", PS_MODEL, fa, out), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, cases[c].want1));
        CU_ASSERT(!file_exists(out));
    }
    /* an existing output is not replaced by a failed run */
    write_text(out, "keep");
    write_text(fa, ">a\nACGT\n>b\nAC?T\n");
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "embed -m %s -i %s -o %s", PS_MODEL, fa, out), 0);
    FILE *f = fopen(out, "r");
    char keep[8] = {0};
    if (f) {
        CU_ASSERT_EQUAL(fread(keep, 1, 7, f), 4);
        fclose(f);
    }
    CU_ASSERT_STRING_EQUAL(keep, "keep");
    unlink(out);
    /* bad options */
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "embed -m %s -i %s -o %s --pool max", PS_MODEL, fa, out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "--pool"));
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "embed -m %s -i %s -o %s --window 0", PS_MODEL, fa, out), 0);
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "embed -m /nonexistent -i %s -o %s", fa, out), 0);
    CU_ASSERT(!file_exists(out));
    write_text(fa, ">a\nACGT\n");
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "embed -m %s/model/dit_strand.safetensors -i %s -o %s", STRAND_TEST_DATA, fa, out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "needs a Caduceus model"));
    CU_ASSERT(!file_exists(out));
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "embed"), 0); /* usage */
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "--window"));
}

/* ---- logits from text input --------------------------------------------------------------------- */
/* Compare two float32 .npy files byte for byte in their data. */
static void check_same_npy(const char *what, const char *a, const char *b)
{
    npy_array x, y;
    CU_ASSERT_EQUAL_FATAL(npy_read(a, &x), 0);
    CU_ASSERT_EQUAL_FATAL(npy_read(b, &y), 0);
    int same_shape = x.ndim == y.ndim && x.numel == y.numel && x.dtype == NPY_F32 && y.dtype == NPY_F32;
    for (int i = 0; same_shape && i < x.ndim; i++) same_shape = x.shape[i] == y.shape[i];
    CU_ASSERT(same_shape);
    if (same_shape) CHECK_CLOSE(what, x.data, y.data, x.numel, 0.0);
    if (same_shape) CU_ASSERT(memcmp(x.data, y.data, x.numel * 4) == 0);
    npy_free(&x), npy_free(&y);
}

static void test_logits_fasta(void)
{
    int32_t ids[NREC * LREC];
    const char *fa = tu_tmp("logits_in.fa"), *idsf = tu_tmp("logits_ids.npy");
    const char *o1 = tu_tmp("logits_fa.npy"), *o2 = tu_tmp("logits_npy.npy");
    make_fasta(fa, ids);
    int64_t ids64[NREC * LREC], shape[2] = {NREC, LREC};
    for (size_t i = 0; i < NREC * LREC; i++) ids64[i] = ids[i];
    CU_ASSERT_EQUAL_FATAL(npy_write(idsf, NPY_I64, 2, shape, ids64), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "logits -m %s -i %s -o %s", PS_MODEL, fa, o1), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "logits -m %s -i %s -o %s", PS_MODEL, idsf, o2), 0);
    int64_t s3[3] = {NREC, LREC, 16};
    float *l = fx_npy_f32(o1, 3, s3);
    if (l) CU_ASSERT(memcmp(l, l + LREC * 16, LREC * 16 * sizeof(float)) != 0); /* records differ */
    free(l);
    check_same_npy("logits: FASTA == ids .npy (Caduceus)", o1, o2);
    /* a Caduceus model needs records of one length; the record is named, no output */
    char msg[4096];
    write_text(fa, ">a\nACGTAC\n>b\nACGTACG\n");
    unlink(o1);
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "logits -m %s -i %s -o %s", PS_MODEL, fa, o1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "record 2 (\"b\")"));
    CU_ASSERT(!file_exists(o1));
}

/* A small DiT over the DNA vocabulary (16, length 12) with random weights (adaLN-zero would make
 * the logits constant) and the DNA tokenizer in its metadata. */
static int make_dna_dit(const char *path)
{
    dit_config c = dit_default_config();
    c.vocab = 16, c.dim = 16, c.depth = 1, c.heads = 2, c.cond_dim = 8, c.time_cond = 0, c.num_classes = 0;
    c.model_length = 12;
    dit_weights *m = NULL;
    if (dit_weights_create(&m, &c, NULL) < 0) return -1;
    strand_rng r;
    strand_rng_seed(&r, 99);
    for (size_t i = 0; i < m->pb.total; i++) m->pb.params[i] = (float)(0.3 * strand_rng_normal(&r));
    strand_tokenizer *tok = NULL;
    sft_writer *w = sft_writer_create();
    int rc = strand_tokenizer_dna_create(&tok);
    if (rc == 0) rc = pb_save(&m->pb, w, "");
    if (rc == 0)
        rc = sft_writer_meta(w, "strand.config",
                             "{\"kind\": \"dit\", \"vocab_size\": 16, \"hidden_dim\": 16, \"n_blocks\": 1, "
                             "\"n_heads\": 2, \"cond_dim\": 8, \"model_length\": 12, \"time_conditioning\": false, "
                             "\"cfg\": false, \"cfg_num_classes\": 0}");
    if (rc == 0) rc = st_tokenizer_write_meta(w, tok);
    if (rc == 0) rc = sft_writer_write(w, path);
    if (rc < 0) fprintf(stderr, "    make_dna_dit: %s\n", strand_last_error());
    sft_writer_free(w);
    strand_tokenizer_free(tok);
    dit_weights_free(m);
    return rc;
}

/* A DiT whose tokenizer is DNA: records of any length up to the model length, padded with [PAD]. */
static void test_logits_dna_dit(void)
{
    const char *model = tu_tmp("logits_dna_dit.safetensors"), *fa = tu_tmp("logits_dna_dit.fa");
    const char *idsf = tu_tmp("logits_dna_dit_ids.npy"), *o1 = tu_tmp("logits_dna_fa.npy");
    const char *o2 = tu_tmp("logits_dna_npy.npy");
    CU_ASSERT_EQUAL_FATAL(make_dna_dit(model), 0);
    static const char *seqs[] = {"ACGTTGCA", "acgtNNacgtac", "G"};
    size_t n = 3, L = 12;
    int64_t ids64[3 * 12], shape[2] = {3, 12};
    for (size_t i = 0; i < n; i++) {
        int32_t row[12];
        size_t k = strlen(seqs[i]);
        st_dna_encode(seqs[i], k, row);
        for (size_t t = 0; t < L; t++) ids64[i * L + t] = t < k ? row[t] : ST_DNA_PAD;
    }
    CU_ASSERT_EQUAL_FATAL(npy_write(idsf, NPY_I64, 2, shape, ids64), 0);
    write_text(fa, ">x\nACGTTGCA\n>y\nacgtNNacgtac\n>z\nG\n");
    CU_ASSERT_EQUAL(cli(NULL, 0, "logits -m %s -i %s -o %s", model, fa, o1), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "logits -m %s -i %s -o %s", model, idsf, o2), 0);
    int64_t s3[3] = {3, 12, 16};
    float *l = fx_npy_f32(o1, 3, s3);
    /* the weights are random: rows of different sequences differ (the comparison is not vacuous) */
    if (l) CU_ASSERT(memcmp(l, l + L * 16, L * 16 * sizeof(float)) != 0);
    free(l);
    check_same_npy("logits: FASTA == ids .npy (DNA DiT, padded)", o1, o2);
    char msg[4096];
    write_text(fa, ">x\nACGT\n>long_one\nACGTACGTACGTA\n");
    unlink(o1);
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "logits -m %s -i %s -o %s", model, fa, o1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "record 2 (\"long_one\")"));
    CU_ASSERT(!file_exists(o1));
}

/* A copy of the DiT fixture (vocab 12, length 8) carrying a SMILES tokenizer of 7 tokens. */
static int make_smiles_dit(const char *path, strand_tokenizer **tok)
{
    static const char *corpus[] = {"C(=O)N", "C1CC1", "CO"}; /* tokens ( ) 1 = C N O */
    if (strand_tokenizer_smiles_build(tok, corpus, 3) < 0) return -1;
    if (strand_tokenizer_vocab_size(*tok) != 12) return -1;
    sft_file *f = NULL;
    if (sft_open(&f, STRAND_TEST_DATA "/model/dit_strand.safetensors") < 0) return -1;
    sft_writer *w = sft_writer_create();
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sft_count(f); i++) {
        const sft_tensor *t = sft_get(f, i);
        rc = sft_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
    }
    for (size_t i = 0; rc == 0 && i < sft_meta_count(f); i++)
        rc = sft_writer_meta(w, sft_meta_key(f, i), sft_meta_get(f, sft_meta_key(f, i)));
    if (rc == 0) rc = st_tokenizer_write_meta(w, *tok);
    if (rc == 0) rc = sft_writer_write(w, path);
    sft_writer_free(w);
    sft_close(f);
    return rc;
}

static void test_logits_smiles(void)
{
    const char *model = tu_tmp("logits_smiles_dit.safetensors"), *smi = tu_tmp("logits_in.smi");
    const char *csv = tu_tmp("logits_in.csv"), *idsf = tu_tmp("logits_smiles_ids.npy");
    const char *o1 = tu_tmp("logits_smi.npy"), *o2 = tu_tmp("logits_csv.npy"), *o3 = tu_tmp("logits_sids.npy");
    strand_tokenizer *tok = NULL;
    CU_ASSERT_EQUAL_FATAL(make_smiles_dit(model, &tok), 0);
    static const char *mols[] = {"CCO", "C(=O)N", "C1CC1", "N"};
    size_t n = 4, L = 8; /* the model length */
    int32_t ids[4 * 8];
    int64_t ids64[4 * 8], shape[2] = {4, 8};
    for (size_t i = 0; i < n; i++) CU_ASSERT_EQUAL(strand_tokenizer_encode_padded(tok, mols[i], ids + i * L, L, NULL, NULL), 0);
    CU_ASSERT_EQUAL(ids[0], STRAND_TOKEN_BOS);
    CU_ASSERT_EQUAL(ids[4], STRAND_TOKEN_EOS);
    CU_ASSERT_EQUAL(ids[7], STRAND_TOKEN_PAD);
    for (size_t i = 0; i < n * L; i++) ids64[i] = ids[i];
    CU_ASSERT_EQUAL_FATAL(npy_write(idsf, NPY_I64, 2, shape, ids64), 0);
    write_text(smi, "CCO ethanol\nC(=O)N formamide\nC1CC1\nN ammonia\n");
    write_text(csv, "name,smiles,other\nethanol,CCO,1\nformamide,C(=O)N,2\ncyclopropane,C1CC1,3\nammonia,N,4\n");
    CU_ASSERT_EQUAL(cli(NULL, 0, "logits -m %s -i %s -o %s --sigma 0.5", model, smi, o1), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "logits -m %s -i %s --column smiles -o %s --sigma 0.5", model, csv, o2), 0);
    CU_ASSERT_EQUAL(cli(NULL, 0, "logits -m %s -i %s -o %s --sigma 0.5", model, idsf, o3), 0);
    int64_t s3[3] = {4, 8, 12};
    float *l = fx_npy_f32(o1, 3, s3);
    if (l) CU_ASSERT(memcmp(l, l + L * 12, L * 12 * sizeof(float)) != 0); /* molecules differ: not vacuous */
    free(l);
    check_same_npy("logits: .smi == ids .npy (DiT, SMILES)", o1, o3);
    check_same_npy("logits: .csv --column == ids .npy", o2, o3);
    /* too long for the model (9 tokens + bos/eos > 8), wrong tokenizer kind, bad column */
    char msg[4096];
    write_text(smi, "CCO\nCCCCCCCCC\n");
    unlink(o1);
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "logits -m %s -i %s -o %s", model, smi, o1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "record 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, smi));
    CU_ASSERT(!file_exists(o1));
    const char *fa = tu_tmp("logits_smiles.fa");
    write_text(fa, ">a\nACGT\n");
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "logits -m %s -i %s -o %s", model, fa, o1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not DNA"));
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "logits -m %s -i %s -o %s", PS_MODEL, csv, o1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "tokenizer is DNA"));
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "logits -m %s -i %s --column nosuch -o %s", model, csv, o1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "nosuch"));
    /* a model without tokenizer metadata cannot read text */
    CU_ASSERT_NOT_EQUAL(cli(msg, sizeof msg, "logits -m %s/model/dit_strand.safetensors -i %s -o %s", STRAND_TEST_DATA,
                            csv, o1),
                        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, STRAND_TOKENIZER_META_KEY));
    CU_ASSERT(!file_exists(o1));
    strand_tokenizer_free(tok);
}

/* The CLI's default (--threads 0 = all cores), so bitwise CLI == library comparisons use one thread split. */
static int suite_init(void)
{
    strand_set_threads(0);
    return 0;
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("embed", suite_init, NULL);
    ADD_TEST(s, test_library_embed);
    ADD_TEST(s, test_cli_embed);
    ADD_TEST(s, test_cli_embed_ph);
    ADD_TEST(s, test_cli_window);
    ADD_TEST(s, test_cli_bad_input);
    ADD_TEST(s, test_logits_fasta);
    ADD_TEST(s, test_logits_dna_dit);
    ADD_TEST(s, test_logits_smiles);
}
