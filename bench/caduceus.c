/* bench_caduceus: strand side of the Caduceus-PS benchmarks (issue 4), driven by bench/run next to
 * bench/caduceus_torch.py (the PyTorch-CPU reference of the same model with the same weights).
 *
 *   bench_caduceus [--threads T] [--iters N] [--batch B] [--length L] [--dump DIR] NAME
 *
 * NAME (shapes; --batch/--length override B/L):
 *   caduceus_ps_forward       logits, d=256, 4 layers, L=1024, B=8          (CADUCEUS_INFER)
 *   caduceus_ps_forward_131k  logits, d=256, 16 layers, L=131072, B=1       (the published 7.7M shape)
 *   caduceus_mlm_step         forward + masked-LM cross-entropy + backward + AdamW,
 *                             d=256, 4 layers, L=1024, B=2                   (CADUCEUS_TRAIN)
 * Weights: caduceus_init_weights(seed 1). With --dump DIR the model is saved as DIR/model.safetensors
 * (published names, caduceus_save) and DIR/check.safetensors gets ids and logits of a small batch
 * (B=2, L=200) computed with those weights, so the reference can load the same weights and report
 * max |Δ logits|; for caduceus_mlm_step it also gets masked-LM targets, the loss and the gradients
 * of the embedding and of layer 0's in_proj on that batch (before any update).
 *
 * Prints one JSON object: tokens/s (B·L per call, median of N timed calls after one untimed
 * warm-up call, which also allocates the activations; caduceus_ps_forward_131k: one call, no
 * warm-up, unless --iters says otherwise), peak RSS (getrusage ru_maxrss, whole
 * process) and the timings; strand_cores_used = process CPU / wall over the timed calls (how many
 * cores the run actually got: below the thread count on a shared machine), the 1-minute load
 * average before and after, and whether autogroup scheduling is on (bench/bench_util.h: then a
 * 2-thread run beside another session's busy process gets about one core). Never used by tests:
 * timings only inform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "caduceus/caduceus.h"
#include "caduceus/mlm.h"
#include "core/adamw.h"
#include "bench/bench_util.h"
#include "core/clock.h"
#include "core/mamba_scan.h"
#include "core/safetensors.h"
#include "strand.h"

enum { CHECK_B = 2, CHECK_L = 200 };

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* Random DNA ids (A,C,G,T = 7..10, a few N = 11). */
static void random_ids(int32_t *ids, size_t n, strand_rng *r)
{
    for (size_t i = 0; i < n; i++) ids[i] = strand_rng_below(r, 50) == 0 ? 11 : 7 + (int32_t)strand_rng_below(r, 4);
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_caduceus: %s: %s\n", what, strand_last_error());
    return 1;
}

/* DIR/check.safetensors: ids, logits (and for training: targets, mlm_loss, two gradients). */
static int write_check(caduceus_weights *m, const char *dir, int train)
{
    size_t B = CHECK_B, L = CHECK_L, V = (size_t)m->cfg.vocab, n = B * L;
    int32_t *ids = malloc(n * sizeof *ids), *tgt = malloc(n * sizeof *tgt);
    int64_t *ids64 = malloc(n * sizeof *ids64), *tgt64 = malloc(n * sizeof *tgt64);
    float *logits = malloc(n * V * sizeof *logits), *dlog = malloc(n * V * sizeof *dlog);
    int rc = ids && tgt && ids64 && tgt64 && logits && dlog ? 0 : STRAND_E_NOMEM;
    strand_rng r;
    strand_rng_seed(&r, 99);
    sft_writer *w = sft_writer_create();
    if (!w) rc = STRAND_E_NOMEM;
    double loss = 0;
    if (rc == 0) {
        random_ids(ids, n, &r);
        if (train) {
            mlm_params mp;
            mlm_default_params(&mp);
            long k = mlm_mask_batch(&mp, ids, tgt, B, L, &r);
            if (k < 0) rc = (int)k;
        }
    }
    caduceus_ctx *cx = NULL;
    if (rc == 0) rc = caduceus_ctx_create(&cx, &m->cfg);
    if (rc == 0 && train) rc = pb_alloc_grads(&m->pb);
    if (rc == 0) rc = caduceus_forward(m, cx, ids, B, L, train ? CADUCEUS_TRAIN : CADUCEUS_INFER, logits, NULL, NULL);
    if (rc == 0 && train) {
        memset(dlog, 0, n * V * sizeof *dlog);
        loss = caduceus_mlm_loss(logits, tgt, B, L, V, dlog);
        pb_zero_grad(&m->pb);
        rc = caduceus_backward(m, cx, dlog, m->pb.grads);
    }
    caduceus_ctx_free(cx);
    int64_t s2[2] = {(int64_t)B, (int64_t)L}, s3[3] = {(int64_t)B, (int64_t)L, (int64_t)V};
    for (size_t i = 0; rc == 0 && i < n; i++) ids64[i] = ids[i], tgt64[i] = tgt[i];
    if (rc == 0) rc = sft_writer_add(w, "ids", SFT_I64, 2, s2, ids64);
    if (rc == 0) rc = sft_writer_add(w, "logits", SFT_F32, 3, s3, logits);
    if (rc == 0 && train) {
        float lf = (float)loss;
        int64_t s1[1] = {1};
        rc = sft_writer_add(w, "targets", SFT_I64, 2, s2, tgt64);
        if (rc == 0) rc = sft_writer_add(w, "mlm_loss", SFT_F32, 1, s1, &lf);
        const char *names[2] = {"embeddings.word_embeddings.embedding.weight",
                                "layers.0.mixer.submodule.mamba_fwd.in_proj.weight"};
        for (int j = 0; rc == 0 && j < 2; j++) {
            int e = caduceus_find(m, names[j]);
            char key[160];
            snprintf(key, sizeof key, "grad.%s", names[j]);
            if (e < 0) {
                rc = st_err(NULL, STRAND_E_ARG, "no parameter %s", names[j]);
                break;
            }
            rc = sft_writer_add(w, key, SFT_F32, m->pb.entries[e].ndim, m->pb.entries[e].shape, pb_grad(&m->pb, e));
        }
        pb_zero_grad(&m->pb);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/check.safetensors", dir);
    if (rc == 0) rc = sft_writer_write(w, path);
    if (rc == STRAND_E_NOMEM) st_err(NULL, rc, "out of memory");
    sft_writer_free(w);
    free(ids), free(tgt), free(ids64), free(tgt64), free(logits), free(dlog);
    return rc;
}

int main(int argc, char **argv)
{
    int threads = 0, iters = 0;
    long Bo = 0, Lo = 0;
    const char *dump = NULL;
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--threads") && a + 1 < argc) threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--iters") && a + 1 < argc) iters = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--batch") && a + 1 < argc) Bo = atol(argv[++a]);
        else if (!strcmp(argv[a], "--length") && a + 1 < argc) Lo = atol(argv[++a]);
        else if (!strcmp(argv[a], "--dump") && a + 1 < argc) dump = argv[++a];
        else break;
    }
    if (a + 1 != argc) {
        fprintf(stderr, "usage: bench_caduceus [--threads T] [--iters N] [--batch B] [--length L] [--dump DIR] "
                        "caduceus_ps_forward|caduceus_ps_forward_131k|caduceus_mlm_step\n");
        return 2;
    }
    const char *name = argv[a];
    int nl, train = 0;
    size_t B, L;
    if (!strcmp(name, "caduceus_ps_forward")) nl = 4, B = 8, L = 1024;
    else if (!strcmp(name, "caduceus_ps_forward_131k")) nl = 16, B = 1, L = 131072;
    else if (!strcmp(name, "caduceus_mlm_step")) nl = 4, B = 2, L = 1024, train = 1;
    else {
        fprintf(stderr, "bench_caduceus: unknown benchmark \"%s\"\n", name);
        return 2;
    }
    if (Bo > 0) B = (size_t)Bo;
    if (Lo > 0) L = (size_t)Lo;
    /* the 131072-token forward takes minutes on 2 shared cores: one call, no warm-up, by default */
    int warm = strcmp(name, "caduceus_ps_forward_131k") != 0;
    if (iters <= 0) iters = warm ? 3 : 1;
    strand_set_threads(threads);
    threads = strand_get_threads();

    caduceus_config cfg;
    caduceus_default_config(&cfg); /* PS, d=256, vocab 16 */
    cfg.n_layer = nl;
    caduceus_weights *m = NULL;
    if (caduceus_create(&m, &cfg) < 0) return fail("create");
    caduceus_init_weights(m, 1);
    caduceus_ctx *cx = NULL;
    if (caduceus_ctx_create(&cx, &cfg) < 0 || (train && pb_alloc_grads(&m->pb) < 0)) return fail("create");
    if (dump) {
        char path[4096];
        snprintf(path, sizeof path, "%s/model.safetensors", dump);
        if (caduceus_save(m, path) < 0) return fail("save");
        if (write_check(m, dump, train) < 0) return fail("check batch");
    }

    size_t n = B * L, V = (size_t)cfg.vocab;
    int32_t *ids = malloc(n * sizeof *ids), *tgt = malloc(n * sizeof *tgt);
    float *logits = malloc(n * V * sizeof *logits), *dlog = train ? malloc(n * V * sizeof *dlog) : NULL;
    double *t = malloc((size_t)iters * sizeof *t);
    if (!ids || !tgt || !logits || (train && !dlog) || !t) {
        fprintf(stderr, "bench_caduceus: out of memory\n");
        return 1;
    }
    strand_rng r;
    strand_rng_seed(&r, 5);
    random_ids(ids, n, &r);
    if (train) {
        mlm_params mp;
        mlm_default_params(&mp);
        if (mlm_mask_batch(&mp, ids, tgt, B, L, &r) < 0) return fail("mask");
    }
    adamw_params ap = adamw_default_params();
    double t_fwd = 0, t_bwd = 0, t_opt = 0, loss = 0, cpu_total = 0, scan_total = 0, wall_total = 0;
    double load0 = bench_loadavg();
    for (int it = warm ? -1 : 0; it < iters; it++) { /* iteration -1 warms up and allocates */
        mamba_scan_timing(1);
        double c0 = cpu_s();
        double t0 = st_clock_s();
        int rc = caduceus_forward(m, cx, ids, B, L, train ? CADUCEUS_TRAIN : CADUCEUS_INFER, logits, NULL, NULL);
        if (rc < 0) return fail("forward");
        double t1 = st_clock_s(), t2 = t1, t3 = t1;
        if (train) {
            memset(dlog, 0, n * V * sizeof *dlog);
            loss = caduceus_mlm_loss(logits, tgt, B, L, V, dlog);
            pb_zero_grad(&m->pb);
            if (caduceus_backward(m, cx, dlog, m->pb.grads) < 0) return fail("backward");
            t2 = st_clock_s();
            if (adamw_step(&m->pb, &ap, 1e-4, it + 2) < 0) return fail("adamw");
            t3 = st_clock_s();
        }
        double c1 = cpu_s();
        mamba_scan_timing(0);
        if (it >= 0) {
            cpu_total += c1 - c0, scan_total += mamba_scan_timing_cpu_s();
            t[it] = t3 - t0, wall_total += t3 - t0;
            t_fwd += (t1 - t0) / iters, t_bwd += (t2 - t1) / iters, t_opt += (t3 - t2) / iters;
        }
    }
    double med = bench_median(t, iters);
    printf("{\"name\": \"%s\", \"unit\": \"tokens/s\", \"strand\": %.1f, \"reference\": null, "
           "\"reference_name\": \"PyTorch CPU\", \"threads\": %d, "
           "\"shape\": \"PS d=256 layers=%d L=%zu B=%zu%s\", \"higher_is_better\": true, "
           "\"strand_s\": %.4f, \"strand_runs_s\": [",
           name, (double)n / med, threads, nl, L, B, train ? " fwd+MLM CE+bwd+AdamW" : " forward", med);
    for (int i = 0; i < iters; i++) printf("%s%.4f", i ? ", " : "", t[i]);
    printf("], \"strand_mean_fwd_s\": %.4f, \"strand_mean_bwd_s\": %.4f, \"strand_mean_adamw_s\": %.4f, "
           "\"strand_cpu_s\": %.4f, \"scan_kernel\": \"%s\", \"scan_share\": %.4f, "
           "\"strand_cores_used\": %.3f, \"load_before\": %.2f, \"load_after\": %.2f, \"autogroup\": %d, "
           "\"strand_peak_rss_mb\": %.1f, \"strand_activation_mb\": %.1f, \"params\": %zu%s",
           t_fwd, t_bwd, t_opt, cpu_total / iters, mamba_scan_kernel_name(mamba_scan_kernel_active()),
           cpu_total > 0 ? scan_total / cpu_total : 0.0, wall_total > 0 ? cpu_total / wall_total : 0.0, load0,
           bench_loadavg(), bench_autogroup(), peak_rss_mb(),
           (double)caduceus_activation_floats(&cfg, B, L, train ? CADUCEUS_TRAIN : CADUCEUS_INFER) * 4.0 / 1048576.0,
           caduceus_param_count(m), train ? "" : "}\n");
    if (train) printf(", \"strand_loss\": %.5f}\n", loss);
    fflush(stdout);
    caduceus_free(m);
    caduceus_ctx_free(cx);
    free(ids), free(tgt), free(logits), free(dlog), free(t);
    return 0;
}
