/* bench_sample: strand side of the diffusion sampling benchmarks (issue 10), driven by bench/run
 * ("sample" entry, bench/sample_run.py) next to bench/sample_torch.py, a PyTorch-CPU sampler of the
 * same model with the same weights.
 *
 *   bench_sample [--threads T] [--iters N] [--n N] [--batch B] [--dump DIR] SHAPE PROC STEPS...
 *
 * SHAPE: smiles (V 40, L 64) or dna (V 16, L 128), both D 96, 3 blocks, 4 heads, cond 128 (the
 * bundled diffusion models' size, datasets/train-diffusion). PROC: mdlm (not time-conditioned,
 * [MASK] id 2) or udlm (time-conditioned). Weights: dit_init_weights(seed 1) then every tensor
 * perturbed by N(0, 0.05) so the network is not trivial. With --dump DIR the weights go to
 * DIR/model.safetensors (published names) and DIR/check.safetensors gets ids, sigma and the logits
 * of a check batch (B 2).
 * Prints one JSON object per row: dit_forward (ms per call of n sequences, median of N after a
 * warm-up) and, per STEPS, samples/s of diff_sample for n samples in batches of B (default n/T: one
 * batch per thread, the sampler's own parallelism; median of N runs, unguided, noise removal on
 * for MDLM) with its NFE per sample. "strand_cpu": the same on the process CPU clock (all threads):
 * CPU ms per forward, samples per CPU-second. Never used by tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/clock.h"
#include "core/dit.h"
#include "core/safetensors.h"
#include "guidance/sampler.h"
#include "strand.h"

static int net_ctx_create(void *self, void **ctx)
{
    dit_ctx *c = NULL;
    int rc = dit_ctx_create_inference(&c, &((dit_weights *)self)->cfg);
    *ctx = c;
    return rc;
}
static void net_ctx_free(void *ctx) { dit_ctx_free(ctx); }
static int net_logits(void *self, void *ctx, const int32_t *ids, const float *sigma, const int32_t *labels, size_t B,
                      size_t L, float *out)
{
    return dit_forward(self, ctx, ids, NULL, sigma, labels, B, L, out);
}

static int dump(const dit_weights *w, const char *dir, int udlm)
{
    char path[4096];
    sft_writer *sw = sft_writer_create();
    int rc = pb_save(&w->pb, sw, "");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (rc == 0) rc = sft_writer_write(sw, path);
    sft_writer_free(sw);
    if (rc < 0) return rc;
    /* check batch */
    size_t B = 2, L = (size_t)w->cfg.model_length, V = (size_t)w->cfg.vocab;
    int32_t *ids = malloc(B * L * sizeof *ids);
    float sigma[2] = {udlm ? 0.7f : 0.0f, udlm ? 2.5f : 0.0f}, *lg = malloc(B * L * V * sizeof *lg);
    strand_rng r;
    strand_rng_seed(&r, 11);
    for (size_t i = 0; i < B * L; i++) ids[i] = (int32_t)strand_rng_below(&r, V);
    dit_ctx *c = NULL;
    rc = dit_ctx_create(&c, &w->cfg);
    if (rc == 0) rc = dit_forward(w, c, ids, NULL, sigma, NULL, B, L, lg);
    dit_ctx_free(c);
    sw = sft_writer_create();
    int64_t s2[2] = {(int64_t)B, (int64_t)L}, s1[1] = {(int64_t)B}, s3[3] = {(int64_t)B, (int64_t)L, (int64_t)V};
    if (rc == 0) rc = sft_writer_add(sw, "ids", SFT_I32, 2, s2, ids);
    if (rc == 0) rc = sft_writer_add(sw, "sigma", SFT_F32, 1, s1, sigma);
    if (rc == 0) rc = sft_writer_add(sw, "logits", SFT_F32, 3, s3, lg);
    snprintf(path, sizeof path, "%s/check.safetensors", dir);
    if (rc == 0) rc = sft_writer_write(sw, path);
    sft_writer_free(sw);
    free(ids), free(lg);
    return rc;
}

int main(int argc, char **argv)
{
    int threads = 2, iters = 3, a = 1;
    size_t n = 64, batch = 0;
    const char *dir = NULL;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--threads") && a + 1 < argc) threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--iters") && a + 1 < argc) iters = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--n") && a + 1 < argc) n = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--batch") && a + 1 < argc) batch = (size_t)atol(argv[++a]);
        else if (!strcmp(argv[a], "--dump") && a + 1 < argc) dir = argv[++a];
        else break;
    }
    if (argc - a < 3 || iters < 1 || n < 1) {
        fprintf(stderr, "usage: bench_sample [--threads T] [--iters N] [--n N] [--dump DIR] smiles|dna mdlm|udlm STEPS...\n");
        return 1;
    }
    int dna = !strcmp(argv[a], "dna"), udlm = !strcmp(argv[a + 1], "udlm");
    if (batch == 0) batch = (n + (size_t)threads - 1) / (size_t)(threads > 0 ? threads : 1);
    strand_set_threads(threads);
    dit_config cfg = dit_default_config();
    cfg.vocab = dna ? 16 : 40, cfg.dim = 96, cfg.depth = 3, cfg.heads = 4, cfg.cond_dim = 128;
    cfg.model_length = dna ? 128 : 64, cfg.time_cond = udlm, cfg.num_classes = 0;
    dit_weights *w = NULL;
    if (dit_weights_create(&w, &cfg, NULL) < 0) {
        fprintf(stderr, "bench_sample: %s\n", strand_last_error());
        return 1;
    }
    strand_rng r;
    strand_rng_seed(&r, 1);
    dit_init_weights(w, &r);
    for (size_t i = 0; i < w->pb.total; i++) w->pb.params[i] += (float)(0.05 * strand_rng_normal(&r));
    if (dir && dump(w, dir, udlm) < 0) {
        fprintf(stderr, "bench_sample: %s\n", strand_last_error());
        return 1;
    }
    size_t L = (size_t)cfg.model_length, V = (size_t)cfg.vocab;
    char shape[256];
    snprintf(shape, sizeof shape, "%s D=96 blocks=3 heads=4 L=%zu V=%zu n=%zu", udlm ? "UDLM" : "MDLM", L, V, n);
    /* forward */
    {
        dit_ctx *c = NULL;
        dit_ctx_create(&c, &cfg);
        int32_t *ids = malloc(n * L * sizeof *ids);
        float *sig = malloc(n * sizeof *sig), *lg = malloc(n * L * V * sizeof *lg);
        for (size_t i = 0; i < n * L; i++) ids[i] = (int32_t)strand_rng_below(&r, V);
        for (size_t i = 0; i < n; i++) sig[i] = (float)strand_rng_uniform(&r);
        double *t = malloc((size_t)iters * sizeof *t), *tc = malloc((size_t)iters * sizeof *tc);
        for (int it = -1; it < iters; it++) {
            double t0 = st_clock_s(), c0 = bench_cpu_s();
            dit_forward(w, c, ids, NULL, sig, NULL, n, L, lg);
            if (it >= 0) t[it] = st_clock_s() - t0, tc[it] = bench_cpu_s() - c0;
        }
        printf("{\"name\": \"dit_forward_%s\", \"unit\": \"ms\", \"strand\": %.2f, \"reference\": null, "
               "\"reference_name\": \"PyTorch CPU forward\", \"threads\": %d, \"shape\": \"%s\", "
               "\"higher_is_better\": false, \"strand_cpu\": %.2f}\n",
               dna ? "dna" : "smiles", 1e3 * bench_median(t, iters), threads, shape, 1e3 * bench_median(tc, iters));
        fflush(stdout);
        free(t), free(tc), free(ids), free(sig), free(lg);
        dit_ctx_free(c);
    }
    diff_net net = {w, cfg.vocab, 0, cfg.time_cond, L, net_ctx_create, net_ctx_free, net_logits};
    int32_t *out = malloc(n * L * sizeof *out);
    for (int k = a + 2; k < argc; k++) {
        diff_sampler_params p = diff_sampler_default_params();
        p.proc = udlm ? DIFF_UNIFORM : DIFF_MASKED;
        p.mask_id = 2;
        p.L = L, p.steps = atoi(argv[k]), p.batch = batch, p.threads = threads, p.seed = 5;
        double *t = malloc((size_t)iters * sizeof *t), *tc = malloc((size_t)iters * sizeof *tc);
        diff_sample_stats st = {0};
        int rc = 0;
        for (int it = 0; it < iters && rc == 0; it++) {
            double t0 = st_clock_s(), c0 = bench_cpu_s();
            rc = diff_sample(&net, &p, n, out, &st);
            t[it] = st_clock_s() - t0, tc[it] = bench_cpu_s() - c0;
        }
        if (rc < 0) {
            fprintf(stderr, "bench_sample: %s\n", strand_last_error());
            return 1;
        }
        double sec = bench_median(t, iters), csec = bench_median(tc, iters);
        printf("{\"name\": \"sample_%s_%s_%d\", \"unit\": \"samples/s\", \"strand\": %.2f, \"reference\": null, "
               "\"reference_name\": \"PyTorch CPU sampler\", \"threads\": %d, \"shape\": \"%s batch=%zu steps=%d\", "
               "\"higher_is_better\": true, \"nfe\": %.2f, \"steps\": %d, \"seconds\": %.3f, \"strand_cpu\": %.3f, "
               "\"cpu_seconds\": %.3f}\n",
               udlm ? "udlm" : "mdlm", dna ? "dna" : "smiles", p.steps, (double)n / sec, threads, shape, batch, p.steps, st.nfe,
               p.steps, sec, (double)n / csec, csec);
        fflush(stdout);
        free(t), free(tc);
    }
    free(out);
    dit_weights_free(w);
    return 0;
}
