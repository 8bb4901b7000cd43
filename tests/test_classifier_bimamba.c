/* The BiMamba classifier backbone (guidance/classifier_bimamba.c) behind guidance/classifier.h:
 *  - the input gradient d log p(y|soft)/d soft by central differences (random weights, adaLN and
 *    head active, with and without time conditioning); the one-hot path equals the soft path;
 *  - its logits are the DiMamba pooled head's (tests/test_dimamba.c checks that head against PyTorch);
 *  - sigma reaches it only with time conditioning; save/load round trip under the official
 *    DiMambaClassifier names, loadable as a strand_model of kind "classifier"; the row-bytes bound. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guidance/classifier.h"
#include "guidance/dimamba.h"
#include "fixture_util.h"
#include "strand.h"
#include "test_util.h"

enum { V = 12, L = 9, C = 3 };

static clf_weights *random_bimamba(uint64_t seed, int time_cond)
{
    clf_config cfg = clf_default_config();
    snprintf(cfg.backbone, sizeof cfg.backbone, "bimamba");
    cfg.num_classes = C, cfg.vocab = V, cfg.length = L, cfg.proc = DIFF_UNIFORM, cfg.mask_id = -1;
    cfg.time_cond = time_cond;
    clf_weights *w = NULL;
    CU_ASSERT_FATAL(clf_weights_create(&w, &cfg, "{\"hidden_dim\": 16, \"n_blocks\": 2, \"cond_dim\": 8}") == 0);
    strand_rng r;
    strand_rng_seed(&r, seed);
    clf_init_weights(w, &r);
    paramblock *pb = clf_params(w);
    for (size_t k = 0; k < pb->n; k++)
        for (size_t i = 0; i < pb->entries[k].numel; i++) pb_param(pb, (int)k)[i] += (float)(0.1 * strand_rng_normal(&r));
    return w;
}

typedef struct fd_ctx { const clf_weights *w; clf_ctx *c; float *soft; int32_t y[2]; float sig[2]; } fd_ctx;
static double fd_loss(void *u)
{
    fd_ctx *f = u;
    float lp[2], g[2 * L * V];
    CU_ASSERT_FATAL(clf_soft_grad(f->w, f->c, f->soft, f->sig, f->y, 2, L, lp, g) == 0);
    return (double)lp[0] + lp[1];
}

static void test_bimamba_input_grad_fd(void)
{
    for (int tc = 0; tc < 2; tc++) {
        clf_weights *w = random_bimamba(21 + tc, tc);
        clf_ctx *c = NULL;
        CU_ASSERT_FATAL(clf_ctx_create(&c, w) == 0);
        float soft[2 * L * V], grad[2 * L * V], lp[2], an[2 * L * V];
        strand_rng r;
        strand_rng_seed(&r, 3);
        for (size_t i = 0; i < 2 * L * V; i++) soft[i] = (float)strand_rng_uniform(&r);
        fd_ctx f = {w, c, soft, {0, 2}, {0.7f, 2.1f}};
        CU_ASSERT_FATAL(clf_soft_grad(w, c, soft, f.sig, f.y, 2, L, lp, grad) == 0);
        memcpy(an, grad, sizeof an);
        double e = fx_gradcheck(tc ? "BiMamba classifier d log p/d soft (time-cond)" : "BiMamba classifier d log p/d soft",
                                fd_loss, &f, soft, an, 2 * L * V, 2 * L * V, 1e-2, (fx_tol){1e-4, 0, 2e-2, 0});
        CU_ASSERT(e <= 1);
        int32_t ids[2 * L];
        for (size_t i = 0; i < 2 * L; i++) ids[i] = 7 + (int32_t)((i * 5 + 3) % 4);
        float g1[2 * L * V], lp1[2];
        CU_ASSERT_FATAL(clf_input_grad(w, c, ids, f.sig, f.y, 2, L, lp1, g1) == 0);
        for (size_t i = 0; i < 2 * L * V; i++) soft[i] = (float)(ids[i / V] == (int32_t)(i % V));
        CU_ASSERT_FATAL(clf_soft_grad(w, c, soft, f.sig, f.y, 2, L, lp, grad) == 0);
        CHECK_CLOSE("one-hot vs soft gradient", g1, grad, 2 * L * V, 0);
        /* the logits are the DiMamba pooled head's, sigma zeroed without time conditioning */
        const dimamba_weights *dw = *(dimamba_weights *const *)w->bw;
        dimamba_ctx *dc = NULL;
        CU_ASSERT_FATAL(dimamba_ctx_create(&dc, &dw->cfg, 0) == 0);
        float direct[2 * C], via[2 * C], zero[2] = {0, 0};
        CU_ASSERT_FATAL(dimamba_forward(dw, dc, ids, NULL, tc ? f.sig : zero, NULL, 2, L, direct) == 0);
        CU_ASSERT_FATAL(clf_logits(w, c, ids, f.sig, 2, L, via) == 0);
        CHECK_CLOSE("clf_logits == DiMamba pooled head", via, direct, 2 * C, 0);
        dimamba_ctx_free(dc);
        clf_ctx_free(c);
        clf_weights_free(w);
    }
}

static void test_bimamba_time_conditioning(void)
{
    for (int tc = 0; tc < 2; tc++) {
        clf_weights *w = random_bimamba(31, tc);
        clf_ctx *c = NULL;
        CU_ASSERT_FATAL(clf_ctx_create(&c, w) == 0);
        int32_t ids[2 * L];
        for (size_t i = 0; i < L; i++) ids[i] = ids[L + i] = 7 + (int32_t)(i % 4);
        float sig[2] = {0.0f, 3.0f}, lp[2 * C];
        CU_ASSERT_FATAL(clf_log_probs(w, c, ids, sig, 2, L, lp) == 0);
        CU_ASSERT_EQUAL(!memcmp(lp, lp + C, C * sizeof *lp), !tc);
        clf_ctx_free(c);
        clf_weights_free(w);
    }
}

static void test_bimamba_save_load_names(void)
{
    clf_weights *w = random_bimamba(61, 1);
    paramblock *pb = clf_params(w);
    CU_ASSERT(pb_find(pb, "classifier_model.output_layer.weight") >= 0);
    CU_ASSERT(pb_find(pb, "classifier_model.sigma_map.mlp.0.weight") >= 0);
    CU_ASSERT(pb_find(pb, "classifier_model.model.backbone.layers.1.mixer.mamba_fwd.in_proj.weight") >= 0);
    CU_ASSERT(pb_find(pb, "classifier_model.model.backbone.embeddings.word_embeddings.weight") >= 0);
    CU_ASSERT(clf_row_bytes(w, L) > (size_t)L * 16 * sizeof(float));
    char path[] = "/tmp/strand_test_clfbm_XXXXXX.safetensors";
    int fd = mkstemps(path, 12);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_FATAL(clf_save(w, NULL, NULL, NULL, path) == 0);
    clf_weights *w2 = NULL;
    CU_ASSERT_FATAL(clf_load_path(&w2, path, NULL) == 0);
    CU_ASSERT_STRING_EQUAL(w2->cfg.backbone, "bimamba");
    CU_ASSERT_EQUAL(w2->cfg.time_cond, 1);
    CU_ASSERT(clf_params(w2)->total == pb->total && !memcmp(clf_params(w2)->params, pb->params, pb->total * sizeof(float)));
    strand_model *m = NULL;
    CU_ASSERT_FATAL(strand_model_load(path, &m) == 0);
    CU_ASSERT_STRING_EQUAL(strand_model_kind(m), "classifier");
    CU_ASSERT_EQUAL(strand_model_num_classes(m), C);
    strand_model_free(m);
    clf_weights_free(w2);
    unlink(path);
    clf_weights_free(w);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("classifier_bimamba", NULL, NULL);
    ADD_TEST(s, test_bimamba_input_grad_fd);
    ADD_TEST(s, test_bimamba_time_conditioning);
    ADD_TEST(s, test_bimamba_save_load_names);
}
