/* `strand eval` and `strand train mdlm|udlm` end to end: the deterministic per-token losses of a
 * strand UDLM file and of an HF-layout MDLM directory against the PyTorch reference
 * (tests/reference/diffusion_eval.py, float64) to 1e-5 relative; bad input (label outside the
 * classes, id outside the vocabulary) fails with no output file; a tiny training run on a SMILES
 * table, its checkpoint resume, and the MC NELBO printed by `strand eval -i`. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npy.h"
#include "strand.h"
#include "test_util.h"

#define D STRAND_TEST_DATA "/diffusion/"

static double compare(const char *got_path, const char *want_path)
{
    npy_array g = {0}, w = {0};
    CU_ASSERT_FATAL(npy_read(got_path, &g) == 0);
    CU_ASSERT_FATAL(npy_read(want_path, &w) == 0);
    CU_ASSERT_FATAL(g.numel == w.numel && g.dtype == NPY_F32 && g.ndim == 2);
    const float *a = g.data, *b = w.data;
    double m = 0;
    size_t zeros = 0;
    for (size_t i = 0; i < g.numel; i++) {
        m = fmax(m, fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), 1e-6));
        zeros += b[i] == 0.0f;
    }
    fprintf(stderr, "    %s: %zu per-token losses (%zu exactly 0 in the reference): max rel diff %.2e (tol 1e-5)\n",
            want_path + strlen(D), g.numel, zeros, m);
    npy_free(&g), npy_free(&w);
    return m;
}

static void test_per_token_vs_torch(void)
{
    char out[4096];
    const char *o1 = tu_tmp("eval_udlm_out.npy"), *o2 = tu_tmp("eval_mdlm_out.npy");
    int rc = tu_runf(out, sizeof out,
                     "%s eval -m " D "eval_udlm.safetensors --x0 " D "eval_udlm_x0.npy --zt " D "eval_udlm_zt.npy --t " D
                     "eval_udlm_t.npy --labels " D "eval_udlm_labels.npy --per-token %s 2>&1",
                     STRAND_BIN, o1);
    if (rc) fprintf(stderr, "%s", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(compare(o1, D "eval_udlm_loss.npy") < 1e-5);
    rc = tu_runf(out, sizeof out,
                 "%s eval -m " D "eval_mdlm_hf --x0 " D "eval_mdlm_x0.npy --zt " D "eval_mdlm_zt.npy --t " D
                 "eval_mdlm_t.npy --per-token %s 2>&1",
                 STRAND_BIN, o2);
    if (rc) fprintf(stderr, "%s", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(compare(o2, D "eval_mdlm_loss.npy") < 1e-5);
}

static void test_bad_input(void)
{
    char out[4096];
    const char *o = tu_tmp("eval_bad.npy");
    unlink(o);
    /* labels of the UDLM fixture used as z_t ids for the MDLM dir is fine shape-wise; instead:
     * a label outside 0..2 */
    const char *lab = tu_tmp("eval_bad_labels.npy");
    int64_t shape[1] = {4};
    int64_t y[4] = {0, 1, 3, 0};
    CU_ASSERT_FATAL(npy_write(lab, NPY_I64, 1, shape, y) == 0);
    int rc = tu_runf(out, sizeof out,
                     "%s eval -m " D "eval_udlm.safetensors --x0 " D "eval_udlm_x0.npy --zt " D "eval_udlm_zt.npy --t " D
                     "eval_udlm_t.npy --labels %s --per-token %s 2>&1",
                     STRAND_BIN, lab, o);
    fprintf(stderr, "    label 3 of 2 classes: exit %d: %s", rc, out);
    CU_ASSERT(rc != 0);
    CU_ASSERT(access(o, F_OK) != 0);
    /* x0 ids of the 10-id UDLM model fed to the 9-id MDLM model: some are out of range */
    rc = tu_runf(out, sizeof out,
                 "%s eval -m " D "eval_mdlm_hf --x0 " D "eval_udlm_x0.npy --zt " D "eval_udlm_zt.npy --t " D
                 "eval_mdlm_t.npy --per-token %s 2>&1",
                 STRAND_BIN, o);
    fprintf(stderr, "    ids outside the vocabulary: exit %d: %s", rc, out);
    CU_ASSERT(rc != 0);
    CU_ASSERT(access(o, F_OK) != 0);
}

static void test_train_resume_eval(void)
{
    const char *tsv = tu_tmp("diff_train.tsv");
    FILE *f = fopen(tsv, "w");
    CU_ASSERT_FATAL(f != NULL);
    const char *mols[] = {"CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCl", "OCC(O)CO", "CC#N", "c1ccncc1", "CCOC(=O)C", "NCC(=O)O"};
    fprintf(f, "smiles\tqed\n");
    for (int i = 0; i < 120; i++) fprintf(f, "%s\t%.3f\n", mols[i % 10], 0.05 + 0.9 * ((i * 37) % 101) / 100.0);
    fclose(f);
    char out[8192];
    const char *m1 = tu_tmp("diff_full.safetensors"), *m2 = tu_tmp("diff_resumed.safetensors");
    const char *ck = tu_tmp("diff_cli.ckpt"), *l1 = tu_tmp("diff_full.tsv"), *l2 = tu_tmp("diff_resumed.tsv");
    unlink(ck);
    const char *common = "--prop-col qed --val-hold 20 -L 16 -B 4 --dim 16 --depth 1 --heads 2 --cond-dim 8 --steps 6 "
                         "--val-every 3 --val-rows 8 --log-every 1 --threads 1 --seed 3 -q";
    int rc = tu_runf(out, sizeof out, "%s train mdlm -i %s %s --log %s -o %s 2>&1", STRAND_BIN, tsv, common, l1, m1);
    if (rc) fprintf(stderr, "%s", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    rc = tu_runf(out, sizeof out, "%s train mdlm -i %s %s --stop-at 3 --ckpt %s -o %s 2>&1", STRAND_BIN, tsv, common, ck, m2);
    if (rc) fprintf(stderr, "%s", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    rc = tu_runf(out, sizeof out, "%s train mdlm -i %s %s --resume %s --log %s -o %s 2>&1", STRAND_BIN, tsv, common, ck, l2,
                 m2);
    if (rc) fprintf(stderr, "%s", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    /* the resumed run's log rows 4..6 equal the straight run's */
    char a[4096], b[4096];
    tu_runf(a, sizeof a, "tail -n 3 %s | cut -f1-4,6", l1); /* tokens_per_s is timing */
    tu_runf(b, sizeof b, "tail -n 3 %s | cut -f1-4,6", l2);
    fprintf(stderr, "    straight run, last log rows:\n%s", a);
    CU_ASSERT(tu_same_text("log rows 4..6 after resume", b, a));
    CU_ASSERT(tu_runf(NULL, 0, "cmp -s %s %s", m1, m2) == 0);
    /* MC NELBO of the held-out rows, twice with the same seed: identical, finite */
    rc = tu_runf(a, sizeof a, "%s eval -m %s -i %s --samples 4 --seed 9 --batch 8 --per-seq %s", STRAND_BIN, m1, tsv,
                 tu_tmp("diff_perseq.tsv"));
    CU_ASSERT_EQUAL(rc, 0);
    tu_runf(b, sizeof b, "%s eval -m %s -i %s --samples 4 --seed 9 --batch 5", STRAND_BIN, m1, tsv);
    fprintf(stderr, "    strand eval:\n%s", a);
    CU_ASSERT(strcmp(a, b) == 0);
    double nelbo = NAN, ppl = NAN;
    char *nl = strchr(a, '\n');
    CU_ASSERT_FATAL(nl != NULL);
    CU_ASSERT(sscanf(nl + 1, "%*s %*s %*s %*s %lf %lf", &nelbo, &ppl) == 2);
    CU_ASSERT(nelbo > 0 && nelbo < 20 && fabs(ppl - exp(nelbo)) < 1e-3 * ppl);
    CU_ASSERT(tu_runf(NULL, 0, "test $(wc -l < %s) -eq 121", tu_tmp("diff_perseq.tsv")) == 0);
    /* a label outside the classes: error, exit != 0 */
    rc = tu_runf(out, sizeof out, "%s eval -m %s -i %s --label 7 2>&1", STRAND_BIN, m1, tsv);
    fprintf(stderr, "    --label 7: exit %d: %s", rc, out);
    CU_ASSERT(rc != 0);
}

/* DNA from FASTA with class labels: train, then eval with and without a label. */
static void test_fasta_labels(void)
{
    const char *fa = tu_tmp("diff_a.fa"), *fb = tu_tmp("diff_b.fa"), *m = tu_tmp("diff_fa.safetensors");
    FILE *f = fopen(fa, "w");
    fprintf(f, ">a\nACGTACGTACGTACGTACGTACGTACGTACGTAAAA\n>b\nTTTTGGGGCCCCAAAATTTTGGGGCCCCAAAA\n");
    fclose(f);
    f = fopen(fb, "w");
    fprintf(f, ">c\nGGGGGGGGCCCCCCCCGGGGGGGGCCCCCCCC\n");
    fclose(f);
    char out[4096];
    int rc = tu_runf(out, sizeof out,
                     "%s train udlm --fasta %s:0 --fasta %s:1 --val-fasta %s:1 -L 16 -B 2 --dim 16 --depth 1 --heads 2 "
                     "--cond-dim 8 --steps 3 --val-every 3 --threads 1 -q -o %s 2>&1",
                     STRAND_BIN, fa, fb, fb, m);
    if (rc) fprintf(stderr, "%s", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    /* 2 classes + null: labels 0, 1 and 2 evaluate, 3 does not */
    CU_ASSERT(tu_runf(out, sizeof out, "%s eval -m %s -i %s --label 1 --samples 2", STRAND_BIN, m, fb) == 0);
    fprintf(stderr, "    %s", strchr(out, '\n') + 1);
    CU_ASSERT(strstr(out, "\t2\t32\t2\t") != NULL); /* 2 windows of 16, 32 tokens, 2 samples */
    CU_ASSERT(tu_runf(out, sizeof out, "%s eval -m %s -i %s --label 3 2>&1", STRAND_BIN, m, fb) != 0);
    /* labels on some files only */
    rc = tu_runf(out, sizeof out, "%s train udlm --fasta %s:0 --val-fasta %s -L 16 --steps 1 -q -o %s 2>&1", STRAND_BIN, fa,
                 fb, tu_tmp("diff_fa2.safetensors"));
    fprintf(stderr, "    mixed labels: exit %d: %s", rc, out);
    CU_ASSERT(rc != 0);
}

/* The public calls over a strand_model: the same per-token losses as the reference, and a NELBO. */
static void test_public_api(void)
{
    strand_model *m = NULL;
    CU_ASSERT_FATAL(strand_model_load(D "eval_udlm.safetensors", &m) == 0);
    npy_array ax = {0}, az = {0}, at = {0}, ay = {0}, aw = {0};
    CU_ASSERT_FATAL(npy_read(D "eval_udlm_x0.npy", &ax) == 0 && npy_read(D "eval_udlm_zt.npy", &az) == 0 &&
                    npy_read(D "eval_udlm_t.npy", &at) == 0 && npy_read(D "eval_udlm_labels.npy", &ay) == 0 &&
                    npy_read(D "eval_udlm_loss.npy", &aw) == 0);
    size_t B = (size_t)ax.shape[0], L = (size_t)ax.shape[1];
    int32_t *x0 = malloc(B * L * sizeof *x0), *zt = malloc(B * L * sizeof *zt), y[16];
    CU_ASSERT_FATAL(npy_to_i32(&ax, x0, 0, 9, "x0") == 0 && npy_to_i32(&az, zt, 0, 9, "zt") == 0 &&
                    npy_to_i32(&ay, y, 0, 2, "y") == 0);
    float *loss = malloc(B * L * sizeof *loss);
    CU_ASSERT_FATAL(strand_diffusion_per_token(m, x0, zt, at.data, y, B, L, loss) == 0);
    double worst = 0;
    const float *w = aw.data;
    for (size_t i = 0; i < B * L; i++) worst = fmax(worst, fabs((double)loss[i] - w[i]) / fmax(fabs((double)w[i]), 1e-6));
    fprintf(stderr, "    strand_diffusion_per_token vs PyTorch: max rel diff %.2e (tol 1e-5)\n", worst);
    CU_ASSERT(worst < 1e-5);
    double nl[4];
    CU_ASSERT_FATAL(strand_diffusion_nelbo(m, x0, y, B, L, 3, 1, nl) == 0);
    for (size_t b = 0; b < B; b++) CU_ASSERT(nl[b] > 0 && isfinite(nl[b]));
    /* a label outside the classes */
    y[0] = 3;
    CU_ASSERT_EQUAL(strand_diffusion_per_token(m, x0, zt, at.data, y, B, L, loss), STRAND_E_RANGE);
    strand_model_free(m);
    /* a Caduceus model is not a diffusion model */
    CU_ASSERT_FATAL(strand_model_load(STRAND_SOURCE_DIR "/models/caduceus-ps-chr20.safetensors", &m) == 0);
    CU_ASSERT_EQUAL(strand_diffusion_nelbo(m, x0, NULL, B, L, 1, 1, nl), STRAND_E_UNSUPPORTED);
    fprintf(stderr, "    Caduceus: %s\n", strand_last_error());
    strand_model_free(m);
    free(x0), free(zt), free(loss);
    npy_free(&ax), npy_free(&az), npy_free(&at), npy_free(&ay), npy_free(&aw);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("diffusion_eval", NULL, NULL);
    ADD_TEST(s, test_per_token_vs_torch);
    ADD_TEST(s, test_bad_input);
    ADD_TEST(s, test_train_resume_eval);
    ADD_TEST(s, test_fasta_labels);
    ADD_TEST(s, test_public_api);
}
