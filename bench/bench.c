/* strand_bench: timing of strand kernels against a reference in the same process where the
 * reference is C (raw cblas_sgemm); PyTorch references run from bench/run (bench/dit_torch.py).
 * Prints one JSON object per line:
 *   {"name":..., "unit":..., "strand":x, "reference":y|null, "reference_name":..., "threads":T,
 *    "shape":"...", "higher_is_better":true|false}
 * The DiT rows add "strand_cpu": process CPU ms per call (all threads, median).
 * Never used by tests: timings only inform (these machines are shared and noisy: compare ratios).
 *
 *   strand_bench [--threads T] [--iters N] NAME...   (NAME: linear, dit_forward, dit_train_step)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/adamw.h"
#include "bench/bench_util.h"
#include "core/clock.h"
#include "core/dit.h"
#include "core/linear.h"
#include "core/softmax.h"
#include "strand.h"

static float *randn(size_t n, strand_rng *r, float scale)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = scale * (float)strand_rng_normal(r);
    return p;
}

/* linear_forward + linear_backward (dinp, dweight, dbias) vs the same three products as raw sgemm. */
static void bench_linear(int threads, int iters, size_t BT, size_t C, size_t OC)
{
    strand_rng r;
    strand_rng_seed(&r, 1);
    float *inp = randn(BT * C, &r, 1), *w = randn(OC * C, &r, 0.05f), *b = randn(OC, &r, 0.1f);
    float *out = malloc(BT * OC * sizeof *out), *dout = randn(BT * OC, &r, 1);
    float *dinp = calloc(BT * C, sizeof *dinp), *dw = calloc(OC * C, sizeof *dw), *db = calloc(OC, sizeof *db);
    double flops = 3.0 * 2.0 * (double)BT * (double)C * (double)OC;
    double *ts = malloc((size_t)iters * sizeof *ts), *tr = malloc((size_t)iters * sizeof *tr);
    for (int it = -1; it < iters; it++) { /* iteration -1 warms up */
        double t0 = st_clock_s();
        linear_forward(out, inp, w, b, BT, C, OC);
        linear_backward(dinp, dw, db, dout, inp, w, BT, C, OC);
        double t1 = st_clock_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)BT, (int)OC, (int)C, 1.0f, inp, (int)C, w, (int)C,
                    0.0f, out, (int)OC);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)BT, (int)C, (int)OC, 1.0f, dout, (int)OC, w,
                    (int)C, 1.0f, dinp, (int)C);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)OC, (int)C, (int)BT, 1.0f, dout, (int)OC, inp,
                    (int)C, 1.0f, dw, (int)C);
        double t2 = st_clock_s();
        if (it >= 0) ts[it] = t1 - t0, tr[it] = t2 - t1;
    }
    double s = flops / bench_median(ts, iters) * 1e-9, rf = flops / bench_median(tr, iters) * 1e-9;
    printf("{\"name\": \"linear\", \"unit\": \"GFLOP/s\", \"strand\": %.2f, \"reference\": %.2f, "
           "\"reference_name\": \"raw cblas_sgemm, same 3 products\", \"threads\": %d, "
           "\"shape\": \"fwd+bwd BT=%zu C=%zu OC=%zu\", \"higher_is_better\": true}\n",
           s, rf, threads, BT, C, OC);
    fflush(stdout);
    free(inp), free(w), free(b), free(out), free(dout), free(dinp), free(dw), free(db), free(ts), free(tr);
}

enum { DB = 32, DL = 128 };

/* train 0: an inference context (dit_ctx_create_inference), as PyTorch's forward runs under no_grad */
static int make_dit(dit_weights **out, dit_ctx **ctx, int train)
{
    dit_config cfg = dit_default_config();
    cfg.vocab = 16;
    cfg.dim = 256;
    cfg.depth = 6;
    cfg.heads = 4;
    cfg.cond_dim = 128;
    cfg.model_length = DL;
    int rc = dit_weights_create(out, &cfg, NULL);
    if (rc < 0 || (rc = pb_alloc_grads(&(*out)->pb)) < 0 || (rc = (train ? dit_ctx_create : dit_ctx_create_inference)(ctx, &cfg)) < 0)
        return rc;
    strand_rng r;
    strand_rng_seed(&r, 3);
    dit_init_weights(*out, &r);
    return dit_ctx_reserve(*ctx, DB, DL);
}

/* DiT forward (logits) or a full training step (forward, cross-entropy over all tokens, backward,
 * AdamW) at D=256, 6 blocks, 4 heads, L=128, B=32, vocab 16. Reported in ms per call. */
static int bench_dit(int threads, int iters, int train)
{
    dit_weights *m = NULL;
    dit_ctx *ctx = NULL;
    if (make_dit(&m, &ctx, train) < 0) {
        fprintf(stderr, "strand_bench: %s\n", strand_last_error());
        return 1;
    }
    size_t BL = (size_t)DB * DL, V = 16;
    int32_t *ids = malloc(BL * sizeof *ids), *tgt = malloc(BL * sizeof *tgt);
    float sigma[DB], *logits = malloc(BL * V * sizeof *logits), *dlog = malloc(BL * V * sizeof *dlog);
    float *lse = malloc(BL * sizeof *lse);
    strand_rng r;
    strand_rng_seed(&r, 5);
    for (size_t i = 0; i < BL; i++) ids[i] = (int32_t)strand_rng_below(&r, V), tgt[i] = (int32_t)strand_rng_below(&r, V);
    for (int b = 0; b < DB; b++) sigma[b] = (float)strand_rng_uniform(&r);
    adamw_params ap = adamw_default_params();
    double *t = malloc((size_t)iters * sizeof *t), *tc = malloc((size_t)iters * sizeof *tc);
    int rc = 0;
    for (int it = -1; it < iters && rc == 0; it++) {
        double t0 = st_clock_s(), c0 = bench_cpu_s();
        rc = dit_forward(m, ctx, ids, NULL, sigma, NULL, DB, DL, logits);
        if (train && rc == 0) {
            float loss, norm;
            pb_zero_grad(&m->pb);
            crossentropy_forward(&loss, lse, &norm, logits, tgt, NULL, -100, 0.0f, BL, V);
            memset(dlog, 0, BL * V * sizeof *dlog);
            crossentropy_backward(dlog, 1.0f, logits, lse, tgt, NULL, -100, norm, BL, V);
            rc = dit_backward(m, ctx, dlog, NULL, m->pb.grads);
            if (rc == 0) rc = adamw_step(&m->pb, &ap, 1e-4, it + 2);
        }
        if (it >= 0) t[it] = st_clock_s() - t0, tc[it] = bench_cpu_s() - c0;
    }
    if (rc < 0) {
        fprintf(stderr, "strand_bench: %s\n", strand_last_error());
    } else {
        printf("{\"name\": \"%s\", \"unit\": \"ms\", \"strand\": %.1f, \"reference\": null, "
               "\"reference_name\": \"PyTorch CPU %s\", \"threads\": %d, "
               "\"shape\": \"D=256 blocks=6 heads=4 L=%d B=%d V=16\", \"higher_is_better\": false, "
               "\"strand_cpu\": %.1f}\n",
               train ? "dit_train_step" : "dit_forward", 1e3 * bench_median(t, iters),
               train ? "fwd+CE+bwd+AdamW" : "forward", threads, DL, DB, 1e3 * bench_median(tc, iters));
        fflush(stdout);
    }
    dit_weights_free(m);
    dit_ctx_free(ctx);
    free(ids), free(tgt), free(logits), free(dlog), free(lse), free(t), free(tc);
    return rc < 0;
}

int main(int argc, char **argv)
{
    int threads = 0, iters = 0, status = 0;
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--threads") && a + 1 < argc) threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--iters") && a + 1 < argc) iters = atoi(argv[++a]);
        else {
            fprintf(stderr, "usage: strand_bench [--threads T] [--iters N] NAME... (linear dit_forward dit_train_step)\n");
            return 2;
        }
    }
    strand_set_threads(threads);
    threads = strand_get_threads();
    if (a == argc) {
        fprintf(stderr, "usage: strand_bench [--threads T] [--iters N] NAME... (linear dit_forward dit_train_step)\n");
        return 2;
    }
    for (; a < argc; a++) {
        if (!strcmp(argv[a], "linear")) {
            bench_linear(threads, iters ? iters : 10, 4096, 256, 768);
            bench_linear(threads, iters ? iters : 10, 4096, 256, 1024);
        } else if (!strcmp(argv[a], "dit_forward")) {
            status |= bench_dit(threads, iters ? iters : 5, 0);
        } else if (!strcmp(argv[a], "dit_train_step")) {
            status |= bench_dit(threads, iters ? iters : 3, 1);
        } else {
            fprintf(stderr, "strand_bench: unknown benchmark \"%s\" (linear dit_forward dit_train_step)\n", argv[a]);
            status = 2;
        }
    }
    return status;
}
