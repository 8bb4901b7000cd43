/* The trained score (docs/vep.md "Trained score"): core/logreg.c against numpy/scipy
 * (tests/reference/vep_head.py), stratified folds, the head file's exact round trip and refusals,
 * and `strand vep-train` + `strand vep --head` end to end on a tiny model (STRAND_P equal to the head
 * file's formula, bcftools-valid, independent of --batch/--threads, a mismatched head refused). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caduceus/vep_head.h"
#include "core/logreg.h"
#include "strand.h"
#include "test_util.h"
#include "fixture_util.h"

#define REF_SRC STRAND_TEST_DATA "/vep/ref.fa"

static char g_model[1024], g_ref[1024], g_vcf[1024];

/* A labelled VCF: SNVs every 37 bases of both contigs of ref.fa, TSSDIST = a deterministic spread
 * of distances, EQTL when |TSSDIST| < 20 kb except every 7th (label noise), so distance predicts. */
static int write_vcf(void)
{
    fx_contig cs[2];
    if (fx_read_fasta(g_ref, cs, 2) != 2) return -1;
    FILE *fp = fopen(g_vcf, "w");
    if (!fp) return -1;
    fprintf(fp, "##fileformat=VCFv4.2\n");
    for (int c = 0; c < 2; c++) fprintf(fp, "##contig=<ID=%s,length=%lld>\n", cs[c].name, (long long)cs[c].len);
    fprintf(fp, "##INFO=<ID=EQTL,Number=0,Type=Flag,Description=\"label\">\n"
                "##INFO=<ID=TSSDIST,Number=1,Type=Integer,Description=\"distance\">\n"
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    int k = 0;
    for (int c = 0; c < 2; c++)
        for (int64_t p = 60; p < cs[c].len - 60; p += 37) {
            char r = cs[c].seq[p];
            if (!strchr("ACGT", r)) continue;
            char a = r == 'A' ? 'G' : r == 'C' ? 'T' : r == 'G' ? 'A' : 'C';
            long d = (long)((k * 7919L) % 200000) - 100000;
            int lab = (labs(d) < 20000) != (k % 7 == 3);
            fprintf(fp, "%s\t%lld\t.\t%c\t%c\t.\t.\t%sTSSDIST=%ld\n", cs[c].name, (long long)p + 1, r, a,
                    lab ? "EQTL;" : "", d);
            k++;
        }
    fclose(fp);
    for (int c = 0; c < 2; c++) free(cs[c].seq);
    return k > 100 ? 0 : -1;
}

static int suite_init(void)
{
    snprintf(g_model, sizeof g_model, "%s", tu_tmp("head_ps.safetensors"));
    snprintf(g_ref, sizeof g_ref, "%s", tu_tmp("head_ref.fa"));
    snprintf(g_vcf, sizeof g_vcf, "%s", tu_tmp("head_labelled.vcf"));
    if (fx_tiny_caduceus(g_model, 1, 31, 3.0f) < 0) return 1;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -f '%s.fai' && cp '%s' '%s'", g_ref, REF_SRC, g_ref);
    if (tu_run(cmd, NULL, 0) != 0) return 1;
    return write_vcf() != 0;
}

/* ---- core/logreg.c vs scipy ----------------------------------------------------------------------- */
static void test_logreg_vs_scipy(void)
{
    sft_file *f = tu_fixture_open("vep", "logreg");
    size_t n = 0, F;
    float *Xf = fx_f32(f, "X", &n);
    int32_t *y32 = fx_i32(f, "y", NULL);
    float *l2 = fx_f32(f, "l2", NULL), *wr = fx_f32(f, "w", &F), *br = fx_f32(f, "b", NULL), *pr = fx_f32(f, "platt", NULL);
    float *ar = fx_f32(f, "auroc", NULL), *er = fx_f32(f, "ece", NULL);
    n /= F;
    double *X = malloc(n * F * sizeof *X), w[8], b, z[256], p[256], a, c;
    int y[256];
    for (size_t i = 0; i < n * F; i++) X[i] = Xf[i];
    for (size_t i = 0; i < n; i++) y[i] = y32[i];
    CU_ASSERT_EQUAL_FATAL(st_logreg_fit(X, y, n, (int)F, l2[0], w, &b), 0);
    double dw = fabs(b - br[0]);
    for (size_t j = 0; j < F; j++) dw = fmax(dw, fabs(w[j] - wr[j]));
    for (size_t i = 0; i < n; i++) {
        z[i] = b;
        for (size_t j = 0; j < F; j++) z[i] += X[i * F + j] * w[j];
    }
    CU_ASSERT_EQUAL_FATAL(st_platt_fit(z, y, n, &a, &c), 0);
    for (size_t i = 0; i < n; i++) p[i] = st_sigmoid(a * z[i] + c);
    double auc = st_auroc(z, y, n, NULL), ece = st_ece(p, y, n, 10, NULL, NULL, NULL);
    fprintf(stderr, "    n %zu F %zu: max |w,b - scipy| %.3g; Platt (%.6g, %.6g) vs (%.6g, %.6g); AUROC %.6f vs %.6f; "
            "ECE %.6f vs %.6f\n", n, F, dw, a, c, pr[0], pr[1], auc, ar[0], ece, er[0]);
    CU_ASSERT(dw <= 1e-6);  /* float32-stored reference values: ~1e-7 */
    CU_ASSERT(fabs(a - pr[0]) <= 1e-6 && fabs(c - pr[1]) <= 1e-6);
    CU_ASSERT(fabs(auc - ar[0]) <= 1e-7);
    CU_ASSERT(fabs(ece - er[0]) <= 1e-6);
    /* one class only is refused; ties in AUROC count one half */
    int y0[4] = {0, 0, 0, 0}, y1[4] = {1, 0, 1, 0};
    double s4[4] = {1, 1, 1, 1};
    CU_ASSERT_EQUAL(st_logreg_fit(X, y0, 4, (int)F, 1.0, w, &b), STRAND_E_ARG);
    CU_ASSERT(st_auroc(s4, y1, 4, NULL) == 0.5);
    CU_ASSERT(isnan(st_auroc(s4, y0, 4, NULL)));
    free(X), free(Xf), free(y32), free(l2), free(wr), free(br), free(pr), free(ar), free(er);
    sft_close(f);
}

static void test_kfold_stratified(void)
{
    int y[103], f1[103], f2[103], cnt[5][2] = {{0}};
    for (int i = 0; i < 103; i++) y[i] = i % 4 == 0;
    st_kfold(y, 103, 5, 9, f1);
    st_kfold(y, 103, 5, 9, f2);
    CU_ASSERT(!memcmp(f1, f2, sizeof f1));
    for (int i = 0; i < 103; i++) cnt[f1[i]][y[i]]++;
    int np = 26, nn = 77, ok = 1;
    for (int k = 0; k < 5; k++)
        ok &= cnt[k][1] >= np / 5 && cnt[k][1] <= (np + 4) / 5 && cnt[k][0] >= nn / 5 && cnt[k][0] <= (nn + 4) / 5;
    CU_ASSERT(ok);
}

/* ---- the head file ---------------------------------------------------------------------------------- */
static void test_head_round_trip(void)
{
    st_vep_head h = {.groups = ST_HEAD_ALL, .D = 16, .l2 = 10, .b = -0.123456789012345678, .platt_a = 0.9,
                     .platt_c = 1e-17, .window = 101, .pool_half_width = 20, .llr = 1, .cv_auroc = 0.61,
                     .cv_ece = 0.034, .n_train = 400, .n_pos = 200};
    snprintf(h.sha256, sizeof h.sha256, "%064d", 7);
    snprintf(h.dist_info, sizeof h.dist_info, "TSSDIST");
    h.F = st_vep_head_nfeat(h.groups, h.D);
    CU_ASSERT_EQUAL(h.F, 3 * 16 + 3);
    CU_ASSERT_EQUAL_FATAL(st_vep_head_alloc(&h), 0);
    strand_rng r;
    strand_rng_seed(&r, 3);
    for (int j = 0; j < h.F; j++)
        h.mean[j] = strand_rng_normal(&r) * 1e3, h.sd[j] = exp(strand_rng_normal(&r)), h.w[j] = strand_rng_normal(&r) / 3;
    const char *path = tu_tmp("rt.head");
    CU_ASSERT_EQUAL_FATAL(st_vep_head_write(&h, path), 0);
    st_vep_head g;
    CU_ASSERT_EQUAL_FATAL(st_vep_head_read(&g, path), 0);
    int same = g.groups == h.groups && g.D == h.D && g.F == h.F && g.window == h.window &&
               g.pool_half_width == h.pool_half_width && g.llr == h.llr && g.n_train == h.n_train &&
               g.n_pos == h.n_pos && !strcmp(g.sha256, h.sha256) && !strcmp(g.dist_info, h.dist_info) &&
               !memcmp(&g.b, &h.b, 8) && !memcmp(&g.platt_a, &h.platt_a, 8) && !memcmp(&g.platt_c, &h.platt_c, 8) &&
               !memcmp(&g.l2, &h.l2, 8) && !memcmp(&g.cv_auroc, &h.cv_auroc, 8) &&
               !memcmp(g.mean, h.mean, (size_t)h.F * 8) && !memcmp(g.sd, h.sd, (size_t)h.F * 8) &&
               !memcmp(g.w, h.w, (size_t)h.F * 8);
    CU_ASSERT(same);
    double x[64];
    for (int j = 0; j < h.F; j++) x[j] = h.mean[j] + h.sd[j] * strand_rng_normal(&r) / 4; /* P away from 0 and 1 */
    double p1 = st_vep_head_prob(&h, x), p2 = st_vep_head_prob(&g, x);
    fprintf(stderr, "    %d features written and read back bit for bit: %s; P %.17g == %.17g\n", h.F, same ? "yes" : "NO", p1, p2);
    CU_ASSERT(!memcmp(&p1, &p2, 8));
    st_vep_head_free(&g);
    /* damaged copies are refused with the file named */
    static char buf[1 << 16];
    size_t len;
    unsigned char *txt = tu_slurp(path, &len);
    CU_ASSERT_FATAL(txt != NULL && len < sizeof buf);
    const char *bad = tu_tmp("bad.head");
    struct { const char *from, *to; } edits[4] = {{"strand-vep-head 1", "strand-vep-head 2"},
                                                 {"n_features 51", "n_features 50"},
                                                 {"\nweight ", "\nwieght "},
                                                 {"features emb,llr,dist", "features emb,llr,dust"}};
    for (int e = 0; e < 4; e++) {
        memcpy(buf, txt, len), buf[len] = 0;
        char *at = strstr(buf, edits[e].from);
        CU_ASSERT_FATAL(at != NULL);
        FILE *fp = fopen(bad, "w");
        fwrite(buf, 1, (size_t)(at - buf), fp);
        fputs(edits[e].to, fp);
        fputs(at + strlen(edits[e].from), fp);
        fclose(fp);
        int rc = st_vep_head_read(&g, bad);
        fprintf(stderr, "    %s -> %s: %s\n", edits[e].from + (edits[e].from[0] == '\n'), edits[e].to + (edits[e].to[0] == '\n'),
                rc < 0 ? strand_last_error() : "accepted");
        CU_ASSERT(rc < 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(strand_last_error(), "bad.head"));
    }
    free(txt);
    st_vep_head_free(&h);
}

/* ---- CLI ---------------------------------------------------------------------------------------------- */
static const char *train(const char *features, const char *name, char *log, size_t cap)
{
    static char head[1024];
    char cmd[8192];
    snprintf(head, sizeof head, "%s", tu_tmp(name));
    unlink(head);
    snprintf(cmd, sizeof cmd, "%s vep-train -m %s -f %s --window 101 --pool-half-width 20 --label-info EQTL "
             "--distance-info TSSDIST --features %s --folds 3 --threads 1 -q -o %s %s 2>&1", STRAND_BIN, g_model, g_ref,
             features, head, g_vcf);
    int st = tu_run(cmd, log, cap);
    if (st) fprintf(stderr, "    %s\n", log);
    CU_ASSERT_EQUAL(st, 0);
    return head;
}

/* A dist-only head: STRAND_P of every record equals σ(a·z + c) computed here from the head file and
 * TSSDIST (bcftools prints 6 significant digits: rel 1e-5); the CV report shows distance predicting. */
static void test_cli_train_dist_head(void)
{
    static char log[1 << 16], q[1 << 18], cmd[8192];
    const char *head = train("dist", "dist.head", log, sizeof log);
    fprintf(stderr, "%s", log);
    char *line = strstr(log, "dist (head)");
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    double auc = 0;
    CU_ASSERT_EQUAL(sscanf(line, "dist (head)\t%*d\t%lf", &auc), 1);
    CU_ASSERT(auc > 0.75);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "reliability\t[0.0,0.1)"));
    st_vep_head h;
    CU_ASSERT_EQUAL_FATAL(st_vep_head_read(&h, head), 0);
    CU_ASSERT_EQUAL(h.F, 2);
    const char *out = tu_tmp("dist_p.vcf");
    snprintf(cmd, sizeof cmd, "%s vep -m %s -f %s --window 101 --pool-half-width 20 --head %s -q -O v -o %s %s 2>&1 && "
             "bcftools query -f '%%TSSDIST %%STRAND_P\\n' %s", STRAND_BIN, g_model, g_ref, head, out, g_vcf, out);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, q, sizeof q), 0);
    int n = 0, bad = 0;
    for (char *save = NULL, *ln = strtok_r(q, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        long d;
        double p;
        if (sscanf(ln, "%ld %lf", &d, &p) != 2) { bad++; continue; }
        double x[2] = {log10(1 + fabs((double)d)), d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0};
        double z = h.b + h.w[0] * (x[0] - h.mean[0]) / h.sd[0] + h.w[1] * (x[1] - h.mean[1]) / h.sd[1];
        double want = 1 / (1 + exp(-(h.platt_a * z + h.platt_c)));
        bad += !(fabs(p - want) <= 1e-5 * want + 1e-7);
        n++;
    }
    fprintf(stderr, "    STRAND_P of %d records vs the head's formula: %d off\n", n, bad);
    CU_ASSERT(n > 100);
    CU_ASSERT_EQUAL(bad, 0);
    st_vep_head_free(&h);
}

/* A strand-feature head (emb,llr,dist): STRAND_P on every SNV, within [0, 1], the same bytes for
 * --batch 7 --threads 2 and --batch 64 --threads 1; a different window is refused. */
static void test_cli_train_strand_head(void)
{
    static char log[1 << 16], q[1 << 18], cmd[8192];
    const char *head = train("emb,llr,dist", "strand.head", log, sizeof log);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "emb,llr,dist (head)\t51\t"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "emb,llr\t"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "ECE"));
    const char *o1 = tu_tmp("strand_p1.vcf"), *o2 = tu_tmp("strand_p2.vcf");
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s vep -m %s -f %s --window 101 --pool-half-width 20 --head %s -q --no-version "
                 "%s -O v -o %s %s 2>&1", STRAND_BIN, g_model, g_ref, head, k ? "--batch 7 --threads 2" : "--batch 64 --threads 1",
                 k ? o2 : o1, g_vcf);
        int st = tu_run(cmd, log, sizeof log);
        if (st) fprintf(stderr, "    %s\n", log);
        CU_ASSERT_EQUAL_FATAL(st, 0);
    }
    size_t n1, n2;
    unsigned char *a = tu_slurp(o1, &n1), *b = tu_slurp(o2, &n2);
    CU_ASSERT(a && b && n1 == n2 && !memcmp(a, b, n1));
    free(a), free(b);
    snprintf(cmd, sizeof cmd, "bcftools query -f '%%STRAND_P\\n' %s", o1);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, q, sizeof q), 0);
    int n = 0, bad = 0;
    for (char *save = NULL, *ln = strtok_r(q, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        double p = strtod(ln, NULL);
        bad += !(p >= 0 && p <= 1) || ln[0] == '.';
        n++;
    }
    fprintf(stderr, "    STRAND_P on %d records, %d missing or outside [0,1]; --batch 7 --threads 2 byte-identical\n", n, bad);
    CU_ASSERT(n > 100);
    CU_ASSERT_EQUAL(bad, 0);
    snprintf(cmd, sizeof cmd, "bcftools view -h %s | grep '^##INFO=<ID=STRAND_P'", o1);
    CU_ASSERT_EQUAL(tu_run(cmd, log, sizeof log), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "strand.head"));
    snprintf(cmd, sizeof cmd, "%s vep -m %s -f %s --window 51 --pool-half-width 20 --head %s -q -o %s %s 2>&1",
             STRAND_BIN, g_model, g_ref, head, tu_tmp("strand_bad.vcf"), g_vcf);
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, log, sizeof log), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "--window 101"));
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("vep_head", suite_init, NULL);
    ADD_TEST(s, test_logreg_vs_scipy);
    ADD_TEST(s, test_kfold_stratified);
    ADD_TEST(s, test_head_round_trip);
    ADD_TEST(s, test_cli_train_dist_head);
    ADD_TEST(s, test_cli_train_strand_head);
}
