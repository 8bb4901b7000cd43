/* `strand train classifier`, `strand posterior` / `strand sample` with --classifier, and the
 * strand_classifier API, on a tiny MDLM (random weights, SMILES vocabulary) and a tiny table:
 *  - training: a TSV log, exact resume (stop at step 3 + resume to 6 == 6 straight: the same model
 *    bytes), a label column and a property percentile, --clean; the file loads as kind "classifier";
 *  - `strand posterior --classifier --cbg exact`: equals q ∝ q_unguided · p(y | z^{l<-v})^gamma with
 *    every edit scored through strand_classifier_log_probs (1e-6); first-order rows sum to 1; copied
 *    MDLM positions one-hot; gamma 0 equals the unguided output bitwise;
 *  - `strand sample --classifier` runs and reports the classifier rows;
 *  - `strand logits` on a classifier writes its class logits (n, C), whose log-softmax equals
 *    strand_classifier_log_probs (1e-6), for ids .npy and SMILES input;
 *  - bad input: class out of range, a diffusion model as --classifier, exact over --cbg-mem-mb,
 *    --class without --classifier: exit 1, a message, no output file. */
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
#include "strand.h"
#include "test_util.h"

enum { LEN = 12 };
static const char *SMI[] = {"CCO", "c1ccccc1", "CC(=O)N", "CCl", "C#N", "CCN", "OCCO", "c1ccncc1"};
static char MDLM[1024], TABLE[1024], CLF[1024];

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int make_mdlm(const char *path)
{
    strand_tokenizer *tok = NULL;
    int rc = strand_tokenizer_smiles_build(&tok, SMI, 8);
    if (rc < 0) return rc;
    dit_config c = dit_default_config();
    c.vocab = (int)strand_tokenizer_vocab_size(tok), c.dim = 16, c.depth = 1, c.heads = 2, c.cond_dim = 8;
    c.time_cond = 0, c.num_classes = 0, c.model_length = LEN;
    dit_weights *m = NULL;
    if ((rc = dit_weights_create(&m, &c, NULL)) < 0) return rc;
    strand_rng r;
    strand_rng_seed(&r, 7);
    for (size_t i = 0; i < m->pb.total; i++) m->pb.params[i] = (float)(0.4 * strand_rng_normal(&r));
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"kind\": \"dit\", \"vocab_size\": %d, \"hidden_dim\": 16, \"n_blocks\": 1, \"n_heads\": 2, "
             "\"cond_dim\": 8, \"model_length\": %d, \"time_conditioning\": false, \"diffusion\": \"mdlm\", "
             "\"noise\": \"loglinear\", \"mask_id\": %d}",
             c.vocab, LEN, STRAND_TOKEN_MASK);
    sft_writer *w = sft_writer_create();
    rc = pb_save(&m->pb, w, "");
    if (rc == 0) rc = sft_writer_meta(w, "strand.config", cfg);
    if (rc == 0) rc = st_tokenizer_write_meta(w, tok);
    if (rc == 0) rc = sft_writer_write(w, path);
    sft_writer_free(w);
    strand_tokenizer_free(tok);
    dit_weights_free(m);
    return rc;
}

static int setup(void)
{
    snprintf(MDLM, sizeof MDLM, "%s", tu_tmp("clf_mdlm.safetensors"));
    snprintf(TABLE, sizeof TABLE, "%s", tu_tmp("clf_table.tsv"));
    snprintf(CLF, sizeof CLF, "%s", tu_tmp("clf.safetensors"));
    if (make_mdlm(MDLM) < 0) return 1;
    FILE *f = fopen(TABLE, "w");
    if (!f) return 1;
    fprintf(f, "smiles\ty\tprop\n");
    for (int i = 0; i < 240; i++) fprintf(f, "%s\t%d\t%g\n", SMI[i % 8], (i % 8) >= 4, (double)(i % 8) + 0.1 * (i % 5));
    fclose(f);
    return 0;
}

static int train(const char *out, const char *extra)
{
    char msg[8192];
    int st = tu_runf(msg, sizeof msg,
                     "%s train classifier --like %s -i %s --val-hold 40 --val-rows 40 -B 8 --dim 16 --depth 1 "
                     "--heads 2 --cond-dim 8 --steps 6 --val-every 3 --log-every 1 --threads 1 --seed 3 %s -o %s 2>&1",
                     STRAND_BIN, MDLM, TABLE, extra, out);
    if (st != 0) fprintf(stderr, "    strand train classifier (%d): %s\n", st, msg);
    return st;
}

static void test_train_resume(void)
{
    char ex[2048];
    const char *log = tu_tmp("clf_log.tsv"), *ck = tu_tmp("clf.ckpt"), *a = tu_tmp("clf_a.safetensors");
    unlink(ck);
    snprintf(ex, sizeof ex, "--label-col y --log %s", log);
    CU_ASSERT_EQUAL_FATAL(train(CLF, ex), 0);
    size_t nl = 0;
    unsigned char *t = tu_slurp(log, &nl);
    CU_ASSERT(t && strstr((char *)t, "step\tlr\tloss") != NULL);
    int rows = 0;
    for (size_t i = 0; t && i < nl; i++) rows += t[i] == '\n';
    CU_ASSERT_EQUAL(rows, 7); /* header + 6 steps */
    free(t);
    snprintf(ex, sizeof ex, "--label-col y --ckpt %s --stop-at 3", ck);
    CU_ASSERT_EQUAL(train(a, ex), 0);
    snprintf(ex, sizeof ex, "--label-col y --ckpt %s --resume %s", ck, ck);
    CU_ASSERT_EQUAL(train(a, ex), 0);
    size_t n1 = 0, n2 = 0;
    unsigned char *b1 = tu_slurp(CLF, &n1), *b2 = tu_slurp(a, &n2);
    /* the metadata differ only where they must not: compare the tensors through the API */
    strand_classifier *c1 = NULL, *c2 = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_classifier_load(CLF, &c1), 0);
    CU_ASSERT_EQUAL_FATAL(strand_classifier_load(a, &c2), 0);
    int32_t ids[2 * LEN];
    for (int i = 0; i < 2 * LEN; i++) ids[i] = (int32_t)(i % 9);
    float l1[4], l2[4];
    CU_ASSERT_EQUAL(strand_classifier_log_probs(c1, ids, 2, LEN, NULL, l1), 0);
    CU_ASSERT_EQUAL(strand_classifier_log_probs(c2, ids, 2, LEN, NULL, l2), 0);
    CU_ASSERT(!memcmp(l1, l2, sizeof l1)); /* resume is exact: same weights */
    CU_ASSERT(n1 == n2 && b1 && b2 && !memcmp(b1, b2, n1));
    free(b1), free(b2);
    CU_ASSERT_EQUAL(strand_classifier_num_classes(c1), 2);
    int proc = -1, tc = -1, clean = -1;
    CU_ASSERT_EQUAL(strand_classifier_info(c1, &proc, &tc, &clean), 0);
    CU_ASSERT(proc == STRAND_DIFFUSION_MASKED && tc == 0 && clean == 0);
    strand_classifier_free(c1), strand_classifier_free(c2);
    strand_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_model_load(CLF, &m), 0);
    CU_ASSERT_STRING_EQUAL(strand_model_kind(m), "classifier");
    strand_model_free(m);
    /* property percentile, clean, time conditioning */
    CU_ASSERT_EQUAL(train(tu_tmp("clf_prop.safetensors"), "--prop-col prop --prop-quantile 0.5 --clean --time-cond"), 0);
    CU_ASSERT_EQUAL_FATAL(strand_classifier_load(tu_tmp("clf_prop.safetensors"), &c1), 0);
    CU_ASSERT_EQUAL(strand_classifier_info(c1, &proc, &tc, &clean), 0);
    CU_ASSERT(tc == 1 && clean == 1);
    strand_classifier_free(c1);
    CU_ASSERT_NOT_EQUAL(train(tu_tmp("clf_bad.safetensors"), ""), 0); /* no labels */
    CU_ASSERT(!exists(tu_tmp("clf_bad.safetensors")));
}

static double *posterior(const char *zt, const char *extra, const char *name)
{
    const char *out = tu_tmp(name);
    unlink(out);
    char msg[4096];
    int st = tu_runf(msg, sizeof msg, "%s posterior -m %s -i %s --t 0.6 --s 0.4 %s --float64 -o %s 2>&1", STRAND_BIN,
                     MDLM, zt, extra, out);
    if (st != 0) {
        fprintf(stderr, "    strand posterior (%d): %s\n", st, msg);
        return NULL;
    }
    npy_array a = {0};
    if (npy_read(out, &a) < 0 || a.dtype != NPY_F64) {
        npy_free(&a);
        return NULL;
    }
    double *q = malloc(a.numel * sizeof *q);
    memcpy(q, a.data, a.numel * sizeof *q);
    npy_free(&a);
    return q;
}

static void test_posterior_cbg(void)
{
    if (!exists(CLF)) CU_ASSERT_EQUAL_FATAL(train(CLF, "--label-col y"), 0);
    strand_classifier *c = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_classifier_load(CLF, &c), 0);
    size_t V = strand_classifier_vocab_size(c);
    enum { n = 2 };
    int32_t zt[n * LEN];
    for (int i = 0; i < n * LEN; i++) zt[i] = i % 3 == 1 ? (int32_t)(5 + i % 4) : STRAND_TOKEN_MASK;
    const char *zp = tu_tmp("clf_zt.npy");
    int64_t sh[2] = {n, LEN};
    CU_ASSERT_EQUAL_FATAL(npy_write(zp, NPY_I32, 2, sh, zt), 0);
    char ex[2048];
    double *q0 = posterior(zp, "", "clf_q0.npy");
    snprintf(ex, sizeof ex, "--classifier %s --class 1 --gamma 0", CLF);
    double *qz = posterior(zp, ex, "clf_qz.npy");
    snprintf(ex, sizeof ex, "--classifier %s --class 1 --gamma 1.5 --cbg exact", CLF);
    double *qe = posterior(zp, ex, "clf_qe.npy");
    snprintf(ex, sizeof ex, "--classifier %s --class 1 --gamma 1.5 --cbg first-order", CLF);
    double *qf = posterior(zp, ex, "clf_qf.npy");
    CU_ASSERT_FATAL(q0 && qz && qe && qf);
    CU_ASSERT(!memcmp(q0, qz, n * LEN * V * sizeof *q0));
    double bf = 0, sum_err = 0, onehot = 0, dfo = 0;
    for (size_t i = 0; i < (size_t)n * LEN; i++) {
        double se = 0, sf = 0;
        for (size_t v = 0; v < V; v++) se += qe[i * V + v], sf += qf[i * V + v];
        sum_err = fmax(sum_err, fmax(fabs(se - 1), fabs(sf - 1)));
        if (zt[i] != STRAND_TOKEN_MASK) {
            for (size_t v = 0; v < V; v++) onehot = fmax(onehot, fabs(qe[i * V + v] - (v == (size_t)zt[i])));
            continue;
        }
        double lw[64], mx = -INFINITY, tot = 0;
        for (size_t v = 0; v < V; v++) {
            int32_t e[LEN];
            memcpy(e, zt + (i / LEN) * LEN, sizeof e);
            e[i % LEN] = (int32_t)v;
            float lp[2];
            CU_ASSERT_EQUAL_FATAL(strand_classifier_log_probs(c, e, 1, LEN, NULL, lp), 0);
            lw[v] = q0[i * V + v] > 0 ? log(q0[i * V + v]) + 1.5 * lp[1] : -INFINITY;
            mx = fmax(mx, lw[v]);
        }
        for (size_t v = 0; v < V; v++) tot += exp(lw[v] - mx);
        for (size_t v = 0; v < V; v++) {
            bf = fmax(bf, fabs(exp(lw[v] - mx) / tot - qe[i * V + v]));
            dfo = fmax(dfo, fabs(qf[i * V + v] - qe[i * V + v]));
        }
    }
    fprintf(stderr, "    strand posterior CBG: exact vs brute force %.3g, rows sum to 1 within %.2g, copied one-hot %.2g; "
                    "first-order vs exact max |dq| %.3g (an approximation)\n", bf, sum_err, onehot, dfo);
    CU_ASSERT(bf <= 1e-6);
    CU_ASSERT(sum_err <= 1e-12);
    CU_ASSERT(onehot == 0);
    free(q0), free(qz), free(qe), free(qf);
    strand_classifier_free(c);
}

static void test_sample_and_bad_input(void)
{
    if (!exists(CLF)) CU_ASSERT_EQUAL_FATAL(train(CLF, "--label-col y"), 0);
    char msg[8192];
    const char *out = tu_tmp("clf_s.smi");
    unlink(out);
    for (int mode = 0; mode < 2; mode++) {
        int st = tu_runf(msg, sizeof msg, "%s sample -m %s --classifier %s --class 1 --gamma 2 --cbg %s -n 4 --steps 4 "
                         "--threads 2 --batch 2 -o %s 2>&1", STRAND_BIN, MDLM, CLF, mode ? "exact" : "first-order", out);
        CU_ASSERT_EQUAL(st, 0);
        CU_ASSERT(strstr(msg, "classifier rows") != NULL);
        CU_ASSERT(exists(out));
        unlink(out);
    }
    struct { const char *args, *want; } bad[] = {
        {"--classifier %s --class 2", "outside the classifier's classes"},
        {"--classifier " "%s" " --class 1 --cbg exact --cbg-mem-mb 1", "first-order"},
        {"--class 1 %s", "--class needs --classifier"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char args[2048];
        snprintf(args, sizeof args, bad[k].args, k == 2 ? "" : CLF);
        int st = tu_runf(msg, sizeof msg, "%s sample -m %s %s -n 2 --steps 2 -o %s 2>&1", STRAND_BIN, MDLM, args, out);
        CU_ASSERT_NOT_EQUAL(st, 0);
        CU_ASSERT(strstr(msg, bad[k].want) != NULL);
        if (!strstr(msg, bad[k].want)) fprintf(stderr, "    want \"%s\" in: %s\n", bad[k].want, msg);
        CU_ASSERT(!exists(out));
    }
    int st = tu_runf(msg, sizeof msg, "%s sample -m %s --classifier %s --class 0 -n 2 -o %s 2>&1", STRAND_BIN, MDLM, MDLM,
                     out);
    CU_ASSERT_NOT_EQUAL(st, 0);
    CU_ASSERT(strstr(msg, "not a classifier") != NULL);
    CU_ASSERT(!exists(out));
}

static void test_logits_cli(void)
{
    if (!exists(CLF)) CU_ASSERT_EQUAL_FATAL(train(CLF, "--label-col y"), 0);
    enum { NS = 3 };
    int32_t ids[NS * LEN];
    for (int i = 0; i < NS * LEN; i++) ids[i] = (int32_t)((i * 7 + 3) % 9);
    const char *in = tu_tmp("clf_logits_ids.npy"), *out = tu_tmp("clf_logits.npy"), *smi = tu_tmp("clf_logits.smi");
    int64_t sh[2] = {NS, LEN};
    CU_ASSERT_EQUAL_FATAL(npy_write(in, NPY_I32, 2, sh, ids), 0);
    char msg[8192];
    unlink(out);
    int st = tu_runf(msg, sizeof msg, "%s logits -m %s -i %s -o %s --threads 1 2>&1", STRAND_BIN, CLF, in, out);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    npy_array a = {0};
    CU_ASSERT_EQUAL_FATAL(npy_read(out, &a), 0);
    CU_ASSERT_EQUAL(a.ndim, 2); /* (n, C), not (n, L, V) */
    CU_ASSERT(a.shape[0] == NS && a.shape[1] == 2 && a.dtype == NPY_F32 && a.numel == NS * 2);
    strand_classifier *c = NULL;
    CU_ASSERT_EQUAL_FATAL(strand_classifier_load(CLF, &c), 0);
    float lp[NS * 2];
    CU_ASSERT_EQUAL(strand_classifier_log_probs(c, ids, NS, LEN, NULL, lp), 0);
    if (a.ndim == 2 && a.numel == NS * 2) {
        const float *lg = a.data;
        float got[NS * 2];
        for (int i = 0; i < NS; i++) {
            double mx = fmax(lg[2 * i], lg[2 * i + 1]);
            double lse = mx + log(exp(lg[2 * i] - mx) + exp(lg[2 * i + 1] - mx));
            for (int k = 0; k < 2; k++) got[2 * i + k] = (float)(lg[2 * i + k] - lse);
        }
        CHECK_CLOSE("log_softmax(strand logits) vs strand_classifier_log_probs", got, lp, NS * 2, 1e-6);
    }
    npy_free(&a);
    strand_classifier_free(c);
    /* SMILES input: one row per record */
    FILE *f = fopen(smi, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "CCO\nc1ccccc1\n");
    fclose(f);
    unlink(out);
    st = tu_runf(msg, sizeof msg, "%s logits -m %s -i %s -o %s --threads 1 2>&1", STRAND_BIN, CLF, smi, out);
    CU_ASSERT_EQUAL(st, 0);
    if (st) fprintf(stderr, "    strand logits (SMILES): %s\n", msg);
    CU_ASSERT_EQUAL_FATAL(npy_read(out, &a), 0);
    CU_ASSERT(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 2);
    npy_free(&a);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("classifier_cli", setup, NULL);
    ADD_TEST(s, test_train_resume);
    ADD_TEST(s, test_posterior_cbg);
    ADD_TEST(s, test_sample_and_bad_input);
    ADD_TEST(s, test_logits_cli);
}
