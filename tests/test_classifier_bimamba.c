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
#include "clf_checks.h"
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

static void test_bimamba_input_grad_fd(void)
{
    for (int tc = 0; tc < 2; tc++) {
        clf_weights *w = random_bimamba(21 + tc, tc);
        clf_ctx *c = NULL;
        CU_ASSERT_FATAL(clf_ctx_create(&c, w) == 0);
        int32_t ids[2 * L], y[2] = {0, 2};
        for (size_t i = 0; i < 2 * L; i++) ids[i] = 7 + (int32_t)((i * 5 + 3) % 4);
        clf_check_input_grad(tc ? "BiMamba classifier d log p/d soft (time-cond)" : "BiMamba classifier d log p/d soft", w, c, V,
                             L, C, ids, y);
        /* the logits are the DiMamba pooled head's, sigma zeroed without time conditioning */
        const dimamba_weights *dw = *(dimamba_weights *const *)w->bw;
        dimamba_ctx *dc = NULL;
        CU_ASSERT_FATAL(dimamba_ctx_create(&dc, &dw->cfg, 0) == 0);
        float direct[2 * C], via[2 * C], sig[2] = {0.7f, 2.1f}, zero[2] = {0, 0};
        CU_ASSERT_FATAL(dimamba_forward(dw, dc, ids, NULL, tc ? sig : zero, NULL, 2, L, direct) == 0);
        CU_ASSERT_FATAL(clf_logits(w, c, ids, sig, 2, L, via) == 0);
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
        int32_t ids[2 * L];
        for (size_t i = 0; i < L; i++) ids[i] = ids[L + i] = 7 + (int32_t)(i % 4);
        clf_check_time_cond(w, L, C, ids, tc);
        clf_weights_free(w);
    }
}

static void test_bimamba_save_load_names(void)
{
    clf_weights *w = random_bimamba(61, 1);
    const char *names[] = {"classifier_model.output_layer.weight", "classifier_model.sigma_map.mlp.0.weight",
                           "classifier_model.model.backbone.layers.1.mixer.mamba_fwd.in_proj.weight",
                           "classifier_model.model.backbone.embeddings.word_embeddings.weight", NULL};
    CU_ASSERT(clf_row_bytes(w, L) > (size_t)L * 16 * sizeof(float));
    clf_check_save_load(w, names, C);
    clf_weights_free(w);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("classifier_bimamba", NULL, NULL);
    ADD_TEST(s, test_bimamba_input_grad_fd);
    ADD_TEST(s, test_bimamba_time_conditioning);
    ADD_TEST(s, test_bimamba_save_load_names);
}
