/* DiMamba as a diffusion backbone (guidance/diff_train.h backbone dispatch, docs/diffusion.md
 * "Backbones"): gradients of DiMamba under the MDLM and UDLM per-token losses by central finite
 * differences (every tensor); save → load (diff_model_load and strand_model_load, kind "dimamba")
 * gives bitwise the same logits; the library calls (strand_diffusion_per_token, strand_sampler_*)
 * equal the guidance/ calls on the same weights; the sampler over diff_model_net is the same at
 * threads 1 and 3. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guidance/diff_train.h"
#include "guidance/sampler.h"
#include "strand.h"
#include "fixture_util.h"
#include "test_util.h"

enum { N = 7, B = 3, L = 6, MASK = 2, NC = 2 };

static void make_net(diff_model *net, diff_process proc, int time_cond, uint64_t seed)
{
    dimamba_config c = dimamba_default_config();
    c.vocab = N, c.dim = 16, c.depth = 2, c.cond_dim = 8, c.model_length = 8;
    c.time_cond = time_cond, c.num_classes = NC;
    diff_loss_spec sp = {proc, diff_schedule_default(), N, proc == DIFF_MASKED ? MASK : -1, 0};
    CU_ASSERT_FATAL(diff_model_create_dimamba(net, &c, &sp) == 0);
    CU_ASSERT_STRING_EQUAL(diff_model_backbone(net), "dimamba");
    paramblock *pb = diff_model_params(net);
    CU_ASSERT_FATAL(pb_alloc_grads(pb) == 0);
    strand_rng r;
    strand_rng_seed(&r, seed);
    dimamba_init_weights(net->mw, &r);
    /* adaLN and the label table active (the init zeroes adaLN) */
    for (size_t k = 0; k < pb->n; k++)
        for (size_t i = 0; i < pb->entries[k].numel; i++) pb_param(pb, (int)k)[i] += (float)(0.1 * strand_rng_normal(&r));
}

typedef struct fd_ctx { diff_model *net; const int32_t *x0, *zt; const double *t; const int32_t *lab; } fd_ctx;
static double fd_loss(void *c)
{
    fd_ctx *k = c;
    float loss[B * L];
    CU_ASSERT_FATAL(diff_model_per_token(k->net, k->x0, k->zt, k->t, k->lab, B, L, loss) == 0);
    double s = 0;
    for (int i = 0; i < B * L; i++) s += loss[i];
    return s / (B * L);
}

static void grad_check(diff_process proc)
{
    diff_model net;
    make_net(&net, proc, 1, proc == DIFF_MASKED ? 11 : 12);
    int32_t x0[B * L] = {0, 1, 3, 4, 5, 6, 5, 4, 3, 1, 0, 3, 3, 6, 1, 4, 4, 0}, zt[B * L];
    for (int i = 0; i < B * L; i++) zt[i] = proc == DIFF_MASKED ? (i % 3 ? MASK : x0[i]) : (x0[i] + (i % 4 == 0)) % N;
    double t[B] = {0.2, 0.55, 0.9};
    int32_t lab[B] = {0, 1, NC};
    float logits[B * L * N], dlog[B * L * N], loss[B * L];
    CU_ASSERT_FATAL(diff_model_logits(&net, zt, t, lab, B, L, logits) == 0);
    memset(dlog, 0, sizeof dlog);
    CU_ASSERT_FATAL(diff_loss(&net.spec, logits, x0, zt, t, B, L, loss, dlog, 1.0f / (B * L)) == 0);
    paramblock *pb = diff_model_params(&net);
    pb_zero_grad(pb);
    CU_ASSERT_FATAL(dimamba_backward(net.mw, net.mctx, dlog, NULL, pb->grads) == 0);
    float *g = malloc(pb->total * sizeof *g);
    memcpy(g, pb->grads, pb->total * sizeof *g);
    fd_ctx fc = {&net, x0, zt, t, lab};
    double worst = 0;
    for (size_t e = 0; e < pb->n; e++) {
        size_t off = pb->entries[e].offset, n = pb->entries[e].numel;
        double w = fx_gradcheck(pb->entries[e].name, fd_loss, &fc, pb->params + off, g + off, n, 3, 3e-3,
                                (fx_tol){5e-4, 0, 2e-2, 0});
        if (w > worst || w != w) worst = w != w ? INFINITY : w;
    }
    fprintf(stderr, "    => %s loss through DiMamba: worst FD ratio %.3g (pass <= 1)\n", diff_process_name(proc), worst);
    CU_ASSERT(worst <= 1.0);
    free(g);
    diff_model_free(&net);
}

static void test_dimamba_udlm_gradients(void) { grad_check(DIFF_UNIFORM); }
static void test_dimamba_mdlm_gradients(void) { grad_check(DIFF_MASKED); }

static void test_dimamba_files_and_library(void)
{
    diff_model net;
    make_net(&net, DIFF_UNIFORM, 1, 5);
    char path[] = "/tmp/strand_test_dimamba_XXXXXX.safetensors";
    int fd = mkstemps(path, 12);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_FATAL(diff_model_save(&net, NULL, NULL, NULL, path) == 0);
    int32_t zt[B * L] = {0, 1, 3, 4, 5, 6, 5, 4, 3, 1, 0, 3, 3, 6, 1, 4, 4, 0}, lab[B] = {1, 0, NC};
    double t[B] = {0.1, 0.5, 0.95};
    float want[B * L * N], got[B * L * N], sig[B];
    CU_ASSERT_FATAL(diff_model_logits(&net, zt, t, lab, B, L, want) == 0);
    diff_model back;
    CU_ASSERT_FATAL(diff_model_load(&back, path, NULL) == 0);
    CU_ASSERT(back.mw != NULL && back.w == NULL);
    CU_ASSERT_FATAL(diff_model_logits(&back, zt, t, lab, B, L, got) == 0);
    CHECK_CLOSE("diff_model_load logits", got, want, B * L * N, 0);
    strand_model *m = NULL;
    CU_ASSERT_FATAL(strand_model_load(path, &m) == 0);
    CU_ASSERT_STRING_EQUAL(strand_model_kind(m), "dimamba");
    CU_ASSERT_EQUAL(strand_model_num_classes(m), NC);
    for (int b = 0; b < B; b++) sig[b] = (float)diff_model_sigma(&net.spec.sched, t[b], 1);
    CU_ASSERT_FATAL(strand_model_logits(m, zt, B, L, sig, lab, got) == 0);
    CHECK_CLOSE("strand_model_logits (kind dimamba)", got, want, B * L * N, 0);
    int32_t x0[B * L] = {1, 1, 3, 4, 5, 6, 5, 4, 3, 1, 0, 3, 3, 6, 1, 4, 4, 1};
    float l1[B * L], l2[B * L];
    CU_ASSERT_FATAL(diff_model_per_token(&net, x0, zt, t, lab, B, L, l1) == 0);
    CU_ASSERT_FATAL(strand_diffusion_per_token(m, x0, zt, t, lab, B, L, l2) == 0);
    CHECK_CLOSE("strand_diffusion_per_token", l2, l1, B * L, 0);
    /* the library sampler == diff_sample over diff_model_net, threads 1 == 3 */
    strand_sampler_params sp = strand_sampler_default_params();
    sp.steps = 5, sp.batch = 2, sp.seed = 9, sp.label = 1, sp.gamma = 2, sp.threads = 1;
    strand_sampler *s = NULL;
    CU_ASSERT_FATAL(strand_sampler_create(m, &sp, &s) == 0);
    int32_t a[5 * 8], b2[5 * 8], c[5 * 8];
    CU_ASSERT_FATAL(strand_sampler_length(s) == 8);
    CU_ASSERT_FATAL(strand_sampler_run(s, 5, a, NULL) == 0);
    strand_sampler_free(s);
    diff_net dn;
    diff_sampler_params p = diff_sampler_default_params();
    diff_model_net(&net, &dn, &p);
    p.L = 8, p.steps = 5, p.batch = 2, p.seed = 9, p.label = 1, p.gamma = 2, p.threads = 1;
    CU_ASSERT_FATAL(diff_sample(&dn, &p, 5, b2, NULL) == 0);
    p.threads = 3;
    CU_ASSERT_FATAL(diff_sample(&dn, &p, 5, c, NULL) == 0);
    CU_ASSERT(!memcmp(a, b2, sizeof a));
    CU_ASSERT(!memcmp(b2, c, sizeof c));
    int ok = 1;
    for (int i = 0; i < 5 * 8; i++) ok &= a[i] >= 0 && a[i] < N;
    CU_ASSERT(ok);
    strand_model_free(m);
    diff_model_free(&back);
    diff_model_free(&net);
    unlink(path);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("dimamba_diffusion", NULL, NULL);
    ADD_TEST(s, test_dimamba_udlm_gradients);
    ADD_TEST(s, test_dimamba_mdlm_gradients);
    ADD_TEST(s, test_dimamba_files_and_library);
}
