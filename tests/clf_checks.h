/* Checks every classifier backbone behind guidance/classifier.h must pass (tests/test_classifier.c
 * for the DiT, tests/test_classifier_bimamba.c for the BiMamba), on weights the test made random:
 *  - clf_check_input_grad: d log p(y|soft)/d soft by central differences (fx_gradcheck) at a random
 *    soft input, the one-hot path (clf_input_grad) equal to the soft path at a one-hot input, and its
 *    log p(y) equal to clf_log_probs';
 *  - clf_check_time_cond: sigma changes the output only with time conditioning;
 *  - clf_check_save_load: save, load back (same config, same parameters), load as a strand_model
 *    of kind "classifier", with the given tensor names present. */
#ifndef STRAND_TESTS_CLF_CHECKS_H
#define STRAND_TESTS_CLF_CHECKS_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture_util.h"
#include "guidance/classifier.h"
#include "strand.h"
#include "test_util.h"

typedef struct clf_fd_ctx {
    const clf_weights *w;
    clf_ctx *c;
    float *soft, *scratch;
    size_t L;
    int32_t y[2];
    float sig[2];
} clf_fd_ctx;

static double clf_fd_loss(void *u)
{
    clf_fd_ctx *f = u;
    float lp[2];
    CU_ASSERT_FATAL(clf_soft_grad(f->w, f->c, f->soft, f->sig, f->y, 2, f->L, lp, f->scratch) == 0);
    return (double)lp[0] + lp[1];
}

/* Two sequences of length L over V ids, C classes; ids: 2 * L one-hot inputs; y: the classes scored. */
static void clf_check_input_grad(const char *what, const clf_weights *w, clf_ctx *c, size_t V, size_t L, size_t C,
                                 const int32_t *ids, const int32_t y[2])
{
    size_t n = 2 * L * V;
    float *soft = malloc(n * sizeof *soft), *grad = malloc(n * sizeof *grad), *an = malloc(n * sizeof *an),
          *g1 = malloc(n * sizeof *g1), *scratch = malloc(n * sizeof *scratch);
    CU_ASSERT_FATAL(soft && grad && an && g1 && scratch);
    strand_rng r;
    strand_rng_seed(&r, 3);
    for (size_t i = 0; i < n; i++) soft[i] = (float)strand_rng_uniform(&r);
    clf_fd_ctx f = {w, c, soft, scratch, L, {y[0], y[1]}, {0.7f, 2.1f}};
    float lp[2], lp1[2];
    CU_ASSERT_FATAL(clf_soft_grad(w, c, soft, f.sig, f.y, 2, L, lp, grad) == 0);
    memcpy(an, grad, n * sizeof *an);
    double e = fx_gradcheck(what, clf_fd_loss, &f, soft, an, n, n, 1e-2, (fx_tol){1e-4, 0, 2e-2, 0});
    CU_ASSERT(e <= 1);
    CU_ASSERT_FATAL(clf_input_grad(w, c, ids, f.sig, f.y, 2, L, lp1, g1) == 0);
    for (size_t i = 0; i < n; i++) soft[i] = (float)(ids[i / V] == (int32_t)(i % V));
    CU_ASSERT_FATAL(clf_soft_grad(w, c, soft, f.sig, f.y, 2, L, lp, grad) == 0);
    CHECK_CLOSE("one-hot vs soft gradient", g1, grad, n, 0);
    float *all = malloc(2 * C * sizeof *all);
    CU_ASSERT_FATAL(all && clf_log_probs(w, c, ids, f.sig, 2, L, all) == 0);
    CU_ASSERT(fabsf(all[y[0]] - lp1[0]) < 1e-6f && fabsf(all[C + (size_t)y[1]] - lp1[1]) < 1e-6f);
    free(all);
    free(soft), free(grad), free(an), free(g1), free(scratch);
}

/* ids: 2 * L, the two sequences equal; C classes. */
static void clf_check_time_cond(const clf_weights *w, size_t L, size_t C, const int32_t *ids, int time_cond)
{
    clf_ctx *c = NULL;
    CU_ASSERT_FATAL(clf_ctx_create(&c, w) == 0);
    float sig[2] = {0.0f, 3.0f}, *lp = malloc(2 * C * sizeof *lp);
    CU_ASSERT_FATAL(lp && clf_log_probs(w, c, ids, sig, 2, L, lp) == 0);
    /* the two rows hold the same ids; without time conditioning they may differ only by the
     * rounding of a GEMM whose result depends on the row's position in the batch (OpenBLAS's
     * Haswell/Zen sgemm does on an AMD EPYC), with it sigma moves the log-probs by far more */
    double d = 0;
    for (size_t k = 0; k < C; k++) d = fmax(d, fabs((double)lp[k] - lp[C + k]));
    int ok = time_cond ? d > 1e-3 : d <= 1e-5;
    CU_ASSERT(ok);
    fprintf(stderr, "    time_cond %d: max |log p(sigma 0) - log p(sigma 3)| %.3g%s\n", time_cond, d, ok ? "" : " (bad)");
    free(lp);
    clf_ctx_free(c);
}

/* names: tensors that must be present, NULL-terminated. */
static void clf_check_save_load(const clf_weights *w, const char *const *names, int C)
{
    const paramblock *pb = clf_params((clf_weights *)w);
    for (const char *const *nm = names; *nm; nm++) CU_ASSERT(pb_find(pb, *nm) >= 0);
    char path[] = "/tmp/strand_test_clf_XXXXXX.safetensors";
    int fd = mkstemps(path, 12);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_FATAL(clf_save(w, NULL, NULL, NULL, path) == 0);
    clf_weights *w2 = NULL;
    CU_ASSERT_FATAL(clf_load_path(&w2, path, NULL) == 0);
    CU_ASSERT_STRING_EQUAL(w2->cfg.backbone, w->cfg.backbone);
    CU_ASSERT_EQUAL(w2->cfg.time_cond, w->cfg.time_cond);
    CU_ASSERT_EQUAL(w2->cfg.num_classes, C);
    CU_ASSERT(clf_params(w2)->total == pb->total && !memcmp(clf_params(w2)->params, pb->params, pb->total * sizeof(float)));
    strand_model *m = NULL;
    CU_ASSERT_FATAL(strand_model_load(path, &m) == 0);
    CU_ASSERT_STRING_EQUAL(strand_model_kind(m), "classifier");
    CU_ASSERT_EQUAL(strand_model_num_classes(m), C);
    strand_model_free(m);
    clf_weights_free(w2);
    unlink(path);
}
#endif
