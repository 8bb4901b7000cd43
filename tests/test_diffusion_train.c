/* guidance/diff_train + diff_data: gradients of the DiT under the MDLM and UDLM losses by central
 * finite differences, the training step's exact resume (straight run vs checkpoint + resume,
 * bitwise), the MC NELBO's independence of batching, and the SMILES table reader (property
 * classes, errors naming file and line, --skip-bad counts). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/train.h"
#include "guidance/diff_data.h"
#include "guidance/diff_train.h"
#include "strand.h"
#include "fixture_util.h"
#include "test_util.h"

enum { N = 7, B = 3, L = 5, MASK = 2, NC = 2 };

static void make_net(diff_model *net, diff_process proc, int time_cond, uint64_t seed)
{
    dit_config c = dit_default_config();
    c.vocab = N, c.dim = 16, c.depth = 1, c.heads = 2, c.cond_dim = 8, c.model_length = 8;
    c.time_cond = time_cond, c.num_classes = NC;
    diff_loss_spec sp = {proc, diff_schedule_default(), N, proc == DIFF_MASKED ? MASK : -1, 0};
    CU_ASSERT_FATAL(diff_model_create(net, &c, &sp) == 0);
    CU_ASSERT_FATAL(pb_alloc_grads(&net->w->pb) == 0);
    strand_rng r;
    strand_rng_seed(&r, seed);
    /* every weight random and non-zero (the default init zeroes adaLN and the output layer) */
    for (size_t i = 0; i < net->w->pb.total; i++) net->w->pb.params[i] = (float)(0.35 * strand_rng_normal(&r));
}

static double batch_loss(diff_model *net, const int32_t *x0, const int32_t *zt, const double *t, const int32_t *lab)
{
    float loss[B * L];
    CU_ASSERT_FATAL(diff_model_per_token(net, x0, zt, t, lab, B, L, loss) == 0);
    double s = 0;
    for (int i = 0; i < B * L; i++) s += loss[i];
    return s / (B * L);
}

typedef struct fd_ctx {
    diff_model *net;
    const int32_t *x0, *zt;
    const double *t;
    const int32_t *lab;
} fd_ctx;
static double fd_loss(void *c)
{
    fd_ctx *k = c;
    return batch_loss(k->net, k->x0, k->zt, k->t, k->lab);
}

static void grad_check(diff_process proc)
{
    diff_model net;
    make_net(&net, proc, 1, proc == DIFF_MASKED ? 11 : 12);
    int32_t x0[B * L] = {0, 1, 3, 4, 5, 6, 5, 4, 3, 1, 0, 3, 3, 6, 1};
    int32_t zt[B * L];
    for (int i = 0; i < B * L; i++) zt[i] = proc == DIFF_MASKED ? (i % 3 ? MASK : x0[i]) : (x0[i] + (i % 4 == 0)) % N;
    double t[B] = {0.2, 0.55, 0.9};
    int32_t lab[B] = {0, 1, NC};
    /* analytic: the trainer's path (dlogits scaled by 1/(B L), backward) */
    float logits[B * L * N], dlog[B * L * N], loss[B * L];
    CU_ASSERT_FATAL(diff_model_logits(&net, zt, t, lab, B, L, logits) == 0);
    memset(dlog, 0, sizeof dlog);
    CU_ASSERT_FATAL(diff_loss(&net.spec, logits, x0, zt, t, B, L, loss, dlog, 1.0f / (B * L)) == 0);
    pb_zero_grad(&net.w->pb);
    CU_ASSERT_FATAL(dit_backward(net.w, net.ctx, dlog, NULL, net.w->pb.grads) == 0);
    paramblock *pb = &net.w->pb;
    float *g = malloc(pb->total * sizeof *g);
    memcpy(g, pb->grads, pb->total * sizeof *g);
    /* central differences on a spread of entries of every tensor: |a - fd| <= 2e-2 |fd| + 5e-4 */
    fd_ctx fc = {&net, x0, zt, t, lab};
    double worst = 0;
    for (size_t e = 0; e < pb->n; e++) {
        size_t off = pb->entries[e].offset, n = pb->entries[e].numel;
        double w = fx_gradcheck(pb->entries[e].name, fd_loss, &fc, pb->params + off, g + off, n, 3, 3e-3,
                                (fx_tol){5e-4, 0, 2e-2, 0});
        if (w > worst || w != w) worst = w != w ? INFINITY : w;
    }
    fprintf(stderr, "    %s: %zu tensors, worst |a-fd| / (2e-2 |fd| + 5e-4) = %.3g\n", diff_process_name(proc), pb->n, worst);
    CU_ASSERT(worst <= 1.0);
    free(g);
    diff_model_free(&net);
}

static void test_dit_grad_mdlm(void) { grad_check(DIFF_MASKED); }
static void test_dit_grad_udlm(void) { grad_check(DIFF_UNIFORM); }

static void synth(diff_seqs *s, size_t n, size_t len, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->L = len;
    strand_rng r;
    strand_rng_seed(&r, seed);
    int32_t ids[16];
    for (size_t i = 0; i < n; i++) {
        int y = (int)(i % NC);
        for (size_t l = 0; l < len; l++) ids[l] = (int32_t)((l + (size_t)y * 2 + strand_rng_below(&r, 2)) % N);
        for (size_t l = 0; l < len; l++)
            if (ids[l] == MASK) ids[l] = MASK + 1;
        CU_ASSERT_FATAL(diff_seqs_push(s, ids, y, NAN) == 0);
    }
}

typedef struct run_out { float loss[12]; float *params; size_t n; } run_out;

static int rec_loss(void *user, const train_progress *p)
{
    run_out *o = user;
    if (p->step >= 1 && p->step <= 12) o->loss[p->step - 1] = p->loss;
    return 0;
}

/* `steps` loop steps of an 8-step schedule (warmup 2, cosine), EMA 0.9, checkpoint at the end. */
static void run(diff_process proc, const diff_seqs *data, int steps, const char *resume, const char *ckpt, run_out *o)
{
    diff_model net;
    make_net(&net, proc, proc == DIFF_UNIFORM, 3);
    diff_trainer tr;
    CU_ASSERT_FATAL(diff_trainer_init(&tr, &net, 4, L) == 0);
    diff_source src;
    CU_ASSERT_FATAL(diff_source_init(&src, data, 7) == 0);
    train_params tp = train_default_params();
    tp.batch = 4, tp.seq_len = L, tp.steps = steps, tp.opt.lr = 3e-3f;
    tp.sched.warmup_steps = 2, tp.sched.total_steps = 8;
    tp.ema_decay = 0.9f, tp.seed = 5, tp.log_every = 0;
    tp.ckpt_path = ckpt, tp.resume_path = resume;
    tp.progress = rec_loss, tp.progress_user = o;
    train_model tm = {&net.w->pb, diff_trainer_fb, NULL, &tr};
    train_source ts = {diff_source_next, 1, &src};
    paramblock ema;
    memset(&ema, 0, sizeof ema);
    train_result res;
    CU_ASSERT_EQUAL(train_run(&tp, &tm, &ts, &ema, &res), 0);
    o->n = net.w->pb.total;
    o->params = malloc(2 * o->n * sizeof(float));
    memcpy(o->params, net.w->pb.params, o->n * sizeof(float));
    memcpy(o->params + o->n, ema.params, o->n * sizeof(float));
    pb_free(&ema);
    diff_source_free(&src);
    diff_trainer_free(&tr);
    diff_model_free(&net);
}

static void test_resume_exact(void)
{
    diff_seqs data;
    synth(&data, 40, L, 1);
    for (int p = 0; p < 2; p++) {
        diff_process proc = p ? DIFF_UNIFORM : DIFF_MASKED;
        char ck[512];
        snprintf(ck, sizeof ck, "%s/diff_resume_%d.ckpt", STRAND_TEST_TMP, p);
        unlink(ck);
        run_out full = {0}, first = {0}, rest = {0};
        run(proc, &data, 8, NULL, NULL, &full);
        run(proc, &data, 4, NULL, ck, &first); /* steps 1..4, checkpoint at 4 */
        run(proc, &data, 8, ck, NULL, &rest);  /* fresh process state, resumed: steps 5..8 */
        int same_loss = memcmp(full.loss + 4, rest.loss + 4, 4 * sizeof(float)) == 0 &&
                        memcmp(full.loss, first.loss, 4 * sizeof(float)) == 0;
        int same_w = full.n == rest.n && memcmp(full.params, rest.params, 2 * full.n * sizeof(float)) == 0;
        fprintf(stderr, "    %s: losses after resume bit-identical: %s; final weights and EMA: %s (loss 1 %.4f, 8 %.4f)\n",
                diff_process_name(proc), same_loss ? "yes" : "NO", same_w ? "identical" : "DIFFER", full.loss[0], full.loss[7]);
        CU_ASSERT(same_loss);
        CU_ASSERT(same_w);
        CU_ASSERT(full.loss[0] != full.loss[7]);
        free(full.params), free(first.params), free(rest.params);
    }
    diff_seqs_free(&data);
}

static void test_nelbo_batching(void)
{
    diff_seqs data;
    synth(&data, 6, L, 2);
    diff_model net;
    make_net(&net, DIFF_UNIFORM, 1, 4);
    double a[6], c[6];
    CU_ASSERT_FATAL(diff_nelbo(&net, data.ids, data.labels, 6, L, 3, 42, 4, a) == 0);
    CU_ASSERT_FATAL(diff_nelbo(&net, data.ids, data.labels, 6, L, 3, 42, 7, c) == 0);
    double worst = 0;
    for (int i = 0; i < 6; i++) {
        worst = fmax(worst, fabs(a[i] - c[i]) / fabs(a[i]));
        CU_ASSERT(a[i] > 0);
    }
    fprintf(stderr, "    NELBO batch 4 vs batch 7: max rel diff %.2e (tol 1e-5)\n", worst);
    CU_ASSERT(worst < 1e-5);
    diff_model_free(&net);
    diff_seqs_free(&data);
}

/* The MC NELBO averages its K samples: K = 1 (16 seeds) and K = 16 estimate the same expectation,
 * so their means over 24 sequences agree to MC noise (ratio within [0.6, 1.6]), while a sum over
 * the samples would give ~16. Both processes. */
static void test_nelbo_averages_samples(void)
{
    diff_seqs data;
    synth(&data, 24, L, 5);
    for (int proc = 0; proc < 2; proc++) {
        diff_model net;
        make_net(&net, (diff_process)proc, 1, 6);
        double a[24], c[24], ma = 0, mc = 0;
        for (uint64_t seed = 1; seed <= 16; seed++) { /* 16 single-sample estimates per sequence */
            CU_ASSERT_FATAL(diff_nelbo(&net, data.ids, data.labels, 24, L, 1, seed, 8, a) == 0);
            for (int i = 0; i < 24; i++) ma += a[i] / (24 * 16);
        }
        CU_ASSERT_FATAL(diff_nelbo(&net, data.ids, data.labels, 24, L, 16, 99, 8, c) == 0);
        for (int i = 0; i < 24; i++) mc += c[i] / 24;
        fprintf(stderr, "    %s: mean NELBO K=1 %.4f, K=16 %.4f (ratio %.3f, must be in [0.6, 1.6])\n",
                diff_process_name((diff_process)proc), ma, mc, mc / ma);
        CU_ASSERT(ma > 0 && mc / ma >= 0.6 && mc / ma <= 1.6);
        diff_model_free(&net);
    }
    diff_seqs_free(&data);
}

static void test_table(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/diff_table.tsv", STRAND_TEST_TMP);
    FILE *f = fopen(path, "w");
    fprintf(f, "smiles\tqed\nCCO\t0.4\nc1ccccc1\t0.9\nCC(=O)O\t0.1\nCCCCCCCCCCCCCCCC\t0.5\nCCN\tx\nCCl\t0.7\n");
    fclose(f);
    const char *sm[] = {"CCO", "c1ccccc1", "CC(=O)O", "CCl", "CCN"};
    strand_tokenizer *tok = NULL;
    CU_ASSERT_FATAL(strand_tokenizer_smiles_build(&tok, sm, 5) == 0);
    diff_table_opts o = {NULL, NULL, "qed", 0, 0};
    diff_seqs s = {0};
    size_t skipped = 0;
    /* line 5: the long SMILES does not fit L = 10 (12 ids with bos/eos) */
    int rc = diff_seqs_from_table(path, &o, tok, 10, &s, &skipped);
    fprintf(stderr, "    error: %s\n", strand_last_error());
    CU_ASSERT_EQUAL(rc, STRAND_E_FORMAT);
    CU_ASSERT(strstr(strand_last_error(), "diff_table.tsv: line 5") != NULL);
    diff_seqs_free(&s);
    o.skip_bad = 1;
    CU_ASSERT_FATAL(diff_seqs_from_table(path, &o, tok, 10, &s, &skipped) == 0);
    CU_ASSERT_EQUAL(skipped, 2); /* too long, and "x" is not a number */
    CU_ASSERT_EQUAL(s.n, 4);
    double thr = diff_seqs_quantile(&s, 0.5); /* values 0.4 0.9 0.1 0.7 -> sorted 0.1 0.4 0.7 0.9, index 1 */
    CU_ASSERT_DOUBLE_EQUAL(thr, 0.4, 1e-12);
    CU_ASSERT_FATAL(diff_seqs_threshold(&s, thr) == 0);
    int32_t want[4] = {1, 1, 0, 1};
    for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(s.labels[i], want[i]);
    /* ids: <bos> C C O <eos> <pad>... */
    CU_ASSERT_EQUAL(s.ids[0], STRAND_TOKEN_BOS);
    CU_ASSERT_EQUAL(s.ids[4], STRAND_TOKEN_EOS);
    CU_ASSERT_EQUAL(s.ids[9], STRAND_TOKEN_PAD);
    diff_seqs val;
    CU_ASSERT_FATAL(diff_seqs_split_tail(&s, 1, &val) == 0);
    CU_ASSERT(s.n == 3 && val.n == 1 && val.labels && val.labels[0] == 1);
    diff_seqs_free(&val);
    diff_seqs_free(&s);
    strand_tokenizer_free(tok);
}

/* The sampler's interface over a trained-model handle: same logits as diff_model_logits, and a
 * short MDLM sample ends with no [MASK] left. */
static void test_sampler_adapter(void)
{
    diff_model m;
    make_net(&m, DIFF_MASKED, 0, 21);
    diff_net net;
    diff_sampler_params sp = diff_sampler_default_params();
    diff_model_net(&m, &net, &sp);
    CU_ASSERT_EQUAL(sp.proc, DIFF_MASKED);
    CU_ASSERT_EQUAL(sp.mask_id, MASK);
    int32_t zt[B * L];
    for (int i = 0; i < B * L; i++) zt[i] = i % 2 ? MASK : i % N;
    double t[B] = {0.5, 0.5, 0.5};
    float sig[B] = {0, 0, 0}, a[B * L * N], b[B * L * N];
    int32_t lab[B] = {0, 1, NC};
    CU_ASSERT_FATAL(diff_model_logits(&m, zt, t, lab, B, L, a) == 0);
    void *ctx = NULL;
    CU_ASSERT_FATAL(net.ctx_create(net.self, &ctx) == 0);
    CU_ASSERT_FATAL(net.logits(net.self, ctx, zt, sig, lab, B, L, b) == 0);
    net.ctx_free(ctx);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
    sp.L = L;
    sp.steps = 4;
    sp.batch = 2;
    sp.threads = 1;
    int32_t out[5 * L];
    CU_ASSERT_FATAL(diff_sample(&net, &sp, 5, out, NULL) == 0);
    int masks = 0, bad = 0;
    for (int i = 0; i < 5 * L; i++) masks += out[i] == MASK, bad += out[i] < 0 || out[i] >= N;
    CU_ASSERT_EQUAL(masks, 0);
    CU_ASSERT_EQUAL(bad, 0);
    diff_model_free(&m);
}

void register_suites(void)
{
    CU_pSuite s = CU_add_suite("diffusion_train", NULL, NULL);
    ADD_TEST(s, test_dit_grad_mdlm);
    ADD_TEST(s, test_dit_grad_udlm);
    ADD_TEST(s, test_resume_exact);
    ADD_TEST(s, test_nelbo_batching);
    ADD_TEST(s, test_nelbo_averages_samples);
    ADD_TEST(s, test_table);
    ADD_TEST(s, test_sampler_adapter);
}
