/* `strand sample` / `strand posterior` and the strand_sampler API on tiny DiT diffusion models with
 * fixed random weights (an MDLM on a SMILES vocabulary, label-conditioned, not time-conditioned;
 * a UDLM on DNA, label- and time-conditioned), written by the test:
 *  - one-step frequencies of strand_sampler_step over 12,000 draws match `strand posterior`
 *    (chi-square over every position, level 1e-3; CFG gamma 2), and a wrong s is rejected;
 *  - `strand posterior`: rows sum to 1, copied MDLM positions one-hot, gamma 0 equals the run
 *    without a label (null label) bitwise, gamma 1 equals the conditional posterior recomputed from
 *    strand_model_logits with the label (1e-12);
 *  - `strand sample`: same seed + batch gives the same ids at 1 and 2 threads; SMILES and FASTA
 *    output decoded without specials; the summary reports samples/s and NFE;
 *  - bad input (--steps 0, gamma < 0, a label outside the classes, a Caduceus model, a DiT without
 *    a diffusion config): non-zero exit, a message, and no output file. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dit.h"
#include "core/npy.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"
#include "guidance/noise.h"
#include "guidance/posterior.h"
#include "stat_util.h"
#include "strand.h"
#include "test_util.h"

enum { LEN = 10 };

static char MDLM[1024], UDLM[1024], PLAIN[1024];

static int make_model(const char *path, int dna, int time_cond, int classes, const char *diffusion, uint64_t seed)
{
    strand_tokenizer *tok = NULL;
    const char *smi[] = {"CCO", "c1ccccc1", "CC(=O)N", "CCl", "C#N"};
    int rc = dna ? strand_tokenizer_dna_create(&tok) : strand_tokenizer_smiles_build(&tok, smi, 5);
    if (rc < 0) return rc;
    dit_config c = dit_default_config();
    c.vocab = (int)strand_tokenizer_vocab_size(tok), c.dim = 32, c.depth = 2, c.heads = 2, c.cond_dim = 16;
    c.time_cond = time_cond, c.num_classes = classes, c.model_length = LEN;
    dit_weights *m = NULL;
    if ((rc = dit_weights_create(&m, &c, NULL)) < 0) return rc;
    strand_rng r;
    strand_rng_seed(&r, seed);
    for (size_t i = 0; i < m->pb.total; i++) m->pb.params[i] = (float)(0.4 * strand_rng_normal(&r));
    char cfg[1024];
    int k = snprintf(cfg, sizeof cfg,
                     "{\"kind\": \"dit\", \"vocab_size\": %d, \"hidden_dim\": 32, \"n_blocks\": 2, \"n_heads\": 2, "
                     "\"cond_dim\": 16, \"model_length\": %d, \"time_conditioning\": %s, \"cfg\": %s, "
                     "\"cfg_num_classes\": %d",
                     c.vocab, LEN, time_cond ? "true" : "false", classes ? "true" : "false", classes ? classes : -1);
    if (diffusion) k += snprintf(cfg + k, sizeof cfg - k, ", \"diffusion\": \"%s\", \"noise\": \"loglinear\"", diffusion);
    if (diffusion && !strcmp(diffusion, "mdlm")) k += snprintf(cfg + k, sizeof cfg - k, ", \"mask_id\": %d", STRAND_TOKEN_MASK);
    snprintf(cfg + k, sizeof cfg - k, "}");
    sft_writer *w = sft_writer_create();
    rc = pb_save(&m->pb, w, "");
    if (rc == 0) rc = sft_writer_meta(w, "strand.config", cfg);
    if (rc == 0) rc = st_tokenizer_write_meta(w, tok);
    if (rc == 0) rc = sft_writer_write(w, path);
    if (rc < 0) fprintf(stderr, "    make_model: %s\n", strand_last_error());
    sft_writer_free(w);
    strand_tokenizer_free(tok);
    dit_weights_free(m);
    return rc;
}

static int setup(void)
{
    snprintf(MDLM, sizeof MDLM, "%s", tu_tmp("sample_mdlm.safetensors"));
    snprintf(UDLM, sizeof UDLM, "%s", tu_tmp("sample_udlm.safetensors"));
    snprintf(PLAIN, sizeof PLAIN, "%s", tu_tmp("sample_plain_dit.safetensors"));
    if (make_model(MDLM, 0, 0, 2, "mdlm", 1) < 0) return 1;
    if (make_model(UDLM, 1, 1, 3, "udlm", 2) < 0) return 1;
    if (make_model(PLAIN, 1, 1, 0, NULL, 3) < 0) return 1;
    return 0;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* z_t for a model: MDLM mixes [MASK] and tokens; UDLM any ids. */
static void make_zt(int mdlm, size_t V, int32_t *zt)
{
    for (int l = 0; l < LEN; l++) zt[l] = mdlm ? (l % 3 == 1 ? (int32_t)(5 + l % 4) : STRAND_TOKEN_MASK) : (int32_t)((3 * l + 1) % 4 + (l > 6 ? 4 : 0));
    (void)V;
}

static double *run_posterior(const char *model, const char *zt_path, const char *extra, const char *name, double t,
                             double s)
{
    const char *out = tu_tmp(name);
    unlink(out);
    char msg[4096];
    int st = tu_runf(msg, sizeof msg, "%s posterior -m %s -i %s --t %.17g --s %.17g %s --float64 -o %s 2>&1", STRAND_BIN,
                     model, zt_path, t, s, extra, out);
    if (st != 0) {
        fprintf(stderr, "    strand posterior failed (%d): %s\n", st, msg);
        return NULL;
    }
    npy_array a = {0};
    if (npy_read(out, &a) < 0 || a.dtype != NPY_F64 || a.ndim != 3) {
        npy_free(&a);
        return NULL;
    }
    double *q = malloc(a.numel * sizeof *q);
    memcpy(q, a.data, a.numel * sizeof *q);
    npy_free(&a);
    return q;
}

/* Draws of one step t 0.6 -> 0.3 against `strand posterior --s S` for S = 0.3 (pv[0]: must fit)
 * and S = 0.2 (pv[1]: a wrong distribution, must be rejected). */
static void chi2_vs_cli(const char *model, int mdlm, double pv[2])
{
    strand_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_model_load(model, &m), 0);
    size_t V = strand_model_vocab_size(m);
    int32_t zt[LEN];
    make_zt(mdlm, V, zt);
    int64_t shape[2] = {1, LEN};
    const char *zp = tu_tmp(mdlm ? "post_zt_m.npy" : "post_zt_u.npy");
    CU_ASSERT_EQUAL_FATAL(npy_write(zp, NPY_I32, 2, shape, zt), 0);
    double t = 0.6, s = 0.3, s_cli[2] = {0.3, 0.2};
    strand_sampler_params p = strand_sampler_default_params();
    p.length = LEN, p.label = 1, p.gamma = 2, p.batch = 500;
    strand_sampler *smp = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_sampler_create(m, &p, &smp), 0);
    const size_t K = 12000;
    int32_t *zin = malloc(K * LEN * sizeof *zin), *zs = malloc(K * LEN * sizeof *zs);
    strand_rng *rngs = malloc(K * sizeof *rngs), cur;
    strand_rng_seed(&cur, 2024);
    for (size_t k = 0; k < K; k++) memcpy(zin + k * LEN, zt, sizeof zt), rngs[k] = cur, strand_rng_jump(&cur);
    CU_ASSERT_EQUAL(strand_sampler_step(smp, zin, K, t, s, rngs, zs), 0);
    uint64_t *cnt = calloc((size_t)LEN * V, sizeof *cnt);
    for (int l = 0; l < LEN; l++)
        for (size_t k = 0; k < K; k++) cnt[(size_t)l * V + zs[k * LEN + l]]++;
    for (int c = 0; c < 2; c++) {
        double *q = run_posterior(model, zp, "--label 1 --gamma 2", "post_q.npy", t, s_cli[c]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(q);
        double stat = 0;
        int dof = 0;
        for (int l = 0; l < LEN; l++) su_chi2_add(cnt + (size_t)l * V, q + (size_t)l * V, (int)V, K, &stat, &dof);
        pv[c] = su_chi2_sf(stat, dof);
        fprintf(stderr, "    %s: %zu draws of one step t 0.6 -> 0.3 vs `strand posterior --s %g`: chi2 %.1f on %d dof, "
                "p = %.3g\n", mdlm ? "MDLM" : "UDLM", K, s_cli[c], stat, dof, pv[c]);
        free(q);
    }
    free(cnt), free(zin), free(zs), free(rngs);
    strand_sampler_free(smp);
    strand_model_free(m);
}

static void test_step_frequencies_match_cli(void)
{
    double pv[2];
    for (int k = 0; k < 2; k++) {
        chi2_vs_cli(k == 0 ? MDLM : UDLM, k == 0, pv);
        CU_ASSERT(pv[0] > 1e-3); /* level 1e-3 */
        CU_ASSERT(pv[1] < 1e-3); /* the check can fail */
    }
}

static void test_posterior_cli(void)
{
    for (int k = 0; k < 2; k++) {
        const char *model = k == 0 ? MDLM : UDLM;
        int mdlm = k == 0;
        strand_model *m = NULL;
        CU_ASSERT_EQUAL_FATAL(strand_model_load(model, &m), 0);
        size_t V = strand_model_vocab_size(m);
        int32_t zt[2 * LEN];
        make_zt(mdlm, V, zt);
        for (int l = 0; l < LEN; l++) zt[LEN + l] = (zt[l] + 3) % (int32_t)V;
        int64_t shape[2] = {2, LEN};
        const char *zp = tu_tmp("post_zt2.npy");
        CU_ASSERT_EQUAL_FATAL(npy_write(zp, NPY_I32, 2, shape, zt), 0);
        double t = 0.5, s = 0.45;
        double *q0 = run_posterior(model, zp, "--label 1 --gamma 0", "q0.npy", t, s);
        double *qn = run_posterior(model, zp, "", "qn.npy", t, s);
        double *q1 = run_posterior(model, zp, "--label 1 --gamma 1", "q1.npy", t, s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(q0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(qn);
        CU_ASSERT_PTR_NOT_NULL_FATAL(q1);
        size_t n = 2 * LEN * V;
        CU_ASSERT(memcmp(q0, qn, n * sizeof *q0) == 0); /* gamma 0 = unconditional (null label) */
        /* gamma 1 = the conditional posterior from the model's logits with the label */
        float *lg = malloc(n * sizeof *lg), sig[2];
        int32_t lab[2] = {1, 1};
        diff_schedule sc = diff_schedule_default();
        sig[0] = sig[1] = diff_model_sigma(&sc, t, !mdlm);
        CU_ASSERT_EQUAL(strand_model_logits(m, zt, 2, LEN, sig, lab, lg), 0);
        diff_step_params sp = {mdlm ? DIFF_MASKED : DIFF_UNIFORM, (int)V, STRAND_TOKEN_MASK, diff_alpha(&sc, t),
                               diff_alpha(&sc, s), 1, 1};
        double *qr = malloc(n * sizeof *qr);
        CU_ASSERT_EQUAL(diff_step_ref(&sp, lg, NULL, zt, NULL, 2, LEN, qr), 0);
        double worst = 0, worst_sum = 0, d01 = 0;
        for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(q1[i] - qr[i])), d01 = fmax(d01, fabs(q1[i] - q0[i]));
        int onehot_ok = 1;
        for (size_t r = 0; r < 2 * LEN; r++) {
            double sum = 0;
            for (size_t v = 0; v < V; v++) sum += q1[r * V + v];
            worst_sum = fmax(worst_sum, fabs(sum - 1));
            if (mdlm && zt[r] != STRAND_TOKEN_MASK)
                for (size_t v = 0; v < V; v++) onehot_ok &= q1[r * V + v] == (v == (size_t)zt[r] ? 1.0 : 0.0);
        }
        fprintf(stderr, "    %s: |gamma1 - conditional| %.3g (tol 1e-12), |row sum - 1| %.3g, |gamma1 - gamma0| %.3g\n",
                mdlm ? "MDLM" : "UDLM", worst, worst_sum, d01);
        CU_ASSERT(worst < 1e-12);
        CU_ASSERT(worst_sum < 1e-12);
        CU_ASSERT(onehot_ok);
        CU_ASSERT(d01 > 1e-6); /* the label matters in these weights */
        free(q0), free(qn), free(q1), free(qr), free(lg);
        strand_model_free(m);
    }
}

static int read_ids(const char *path, int32_t **ids, size_t *n)
{
    npy_array a = {0};
    if (npy_read(path, &a) < 0 || a.dtype != NPY_I32) return -1;
    *n = a.numel;
    *ids = malloc(a.numel * sizeof **ids);
    memcpy(*ids, a.data, a.numel * sizeof **ids);
    npy_free(&a);
    return 0;
}

static void test_sample_cli(void)
{
    char msg[8192];
    const char *a = tu_tmp("samp_a.npy"), *b = tu_tmp("samp_b.npy");
    int st = tu_runf(msg, sizeof msg, "%s sample -m %s -n 22 --batch 4 --steps 16 --seed 7 --threads 1 --label 1 "
                     "--gamma 2 -o %s 2>&1", STRAND_BIN, MDLM, a);
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(strstr(msg, "samples/s") != NULL && strstr(msg, "NFE") != NULL);
    fprintf(stderr, "    %s", msg);
    st = tu_runf(msg, sizeof msg, "%s sample -m %s -n 22 --batch 4 --steps 16 --seed 7 --threads 2 --label 1 "
                 "--gamma 2 -q -o %s 2>&1", STRAND_BIN, MDLM, b);
    CU_ASSERT_EQUAL(st, 0);
    int32_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    CU_ASSERT_EQUAL_FATAL(read_ids(a, &x, &nx), 0);
    CU_ASSERT_EQUAL_FATAL(read_ids(b, &y, &ny), 0);
    CU_ASSERT_EQUAL(nx, 22 * LEN);
    CU_ASSERT(nx == ny && memcmp(x, y, nx * sizeof *x) == 0);
    int masks = 0;
    for (size_t i = 0; i < nx; i++) masks += x[i] == STRAND_TOKEN_MASK;
    CU_ASSERT_EQUAL(masks, 0); /* noise removal */
    free(x), free(y);
    /* one batch (the network's own loops get the threads): still the same */
    st = tu_runf(msg, sizeof msg, "%s sample -m %s -n 6 --batch 8 --steps 16 --seed 3 --threads 1 -q -o %s && "
                 "%s sample -m %s -n 6 --batch 8 --steps 16 --seed 3 --threads 2 -q -o %s", STRAND_BIN, UDLM, a,
                 STRAND_BIN, UDLM, b);
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT_EQUAL_FATAL(read_ids(a, &x, &nx), 0);
    CU_ASSERT_EQUAL_FATAL(read_ids(b, &y, &ny), 0);
    CU_ASSERT(nx == ny && nx == 6 * LEN && memcmp(x, y, nx * sizeof *x) == 0);
    free(x), free(y);
    /* SMILES text: one line per sample, no specials */
    const char *smi = tu_tmp("samp.smi");
    st = tu_runf(msg, sizeof msg, "%s sample -m %s -n 9 --steps 8 -q -o %s 2>&1 && wc -l < %s && grep -c '<' %s",
                 STRAND_BIN, MDLM, smi, smi, smi);
    CU_ASSERT(strncmp(msg, "9\n0\n", 4) == 0); /* grep -c finds 0 lines and exits 1 */
    /* FASTA from the DNA model: 5 records, only ACGTN */
    const char *fa = tu_tmp("samp.fa");
    st = tu_runf(msg, sizeof msg, "%s sample -m %s -n 5 --steps 8 --label 2 --gamma 1.5 -q -o %s 2>&1 && "
                 "grep -c '^>sample_' %s && grep -v '^>' %s | tr -d 'ACGTN\\n' | wc -c",
                 STRAND_BIN, UDLM, fa, fa, fa);
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(strncmp(msg, "5\n0\n", 4) == 0);
    if (strncmp(msg, "5\n0\n", 4) != 0) fprintf(stderr, "    FASTA check: %s\n", msg);
}

static void expect_fail(const char *args, const char *want)
{
    char msg[4096];
    const char *out = tu_tmp("bad_out.npy");
    unlink(out);
    int st = tu_runf(msg, sizeof msg, "%s %s -o %s 2>&1", STRAND_BIN, args, out);
    int ok = st != 0 && !exists(out) && strstr(msg, want) != NULL;
    if (!ok) fprintf(stderr, "    `strand %s`: status %d, output %s, message: %s\n", args, st, exists(out) ? "LEFT" : "none", msg);
    CU_ASSERT(ok);
}

static void test_bad_input(void)
{
    char a[2048];
    snprintf(a, sizeof a, "sample -m %s --steps 0", MDLM);
    expect_fail(a, "--steps");
    snprintf(a, sizeof a, "sample -m %s --label 1 --gamma -1", MDLM);
    expect_fail(a, "--gamma");
    snprintf(a, sizeof a, "sample -m %s --label 2", MDLM);
    expect_fail(a, "label 2 outside");
    snprintf(a, sizeof a, "sample -m %s/models/caduceus-ps-chr20.safetensors", STRAND_SOURCE_DIR);
    expect_fail(a, "not a diffusion model");
    snprintf(a, sizeof a, "sample -m %s", PLAIN);
    expect_fail(a, "not a diffusion model");
    snprintf(a, sizeof a, "posterior -m %s -i %s --t 0.5 --s 0.6", MDLM, tu_tmp("post_zt2.npy"));
    expect_fail(a, "s < t");
    snprintf(a, sizeof a, "posterior -m %s -i %s --t 0.5 --s 0.4 --label 7", UDLM, tu_tmp("post_zt2.npy"));
    expect_fail(a, "label 7 outside");
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("sample_cli", setup, NULL);
    ADD_TEST(s, test_step_frequencies_match_cli);
    ADD_TEST(s, test_posterior_cli);
    ADD_TEST(s, test_sample_cli);
    ADD_TEST(s, test_bad_input);
}
