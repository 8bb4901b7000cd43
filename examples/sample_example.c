/* Sample from an MDLM/UDLM diffusion model through the public API (include/strand.h, experimental
 * section):
 *   example_sample_example MODEL [N [LABEL GAMMA]]
 * prints the model's process, N samples (token ids) with a progress line, the NFE per sample and
 * samples/s; then one step's distribution at t = 0.5 -> 0.45 (strand_sampler_posterior)
 * and a guided run whose guide function (the hook classifier-based guidance uses) favours id 0. */
#define STRAND_EXPERIMENTAL
#include <stdio.h>
#include <stdlib.h>

#include "strand.h"

static int progress(void *user, uint64_t done, uint64_t total)
{
    if (done == total) fprintf(stderr, "%llu batch steps done\n", (unsigned long long)done);
    return 0; /* non-zero would cancel */
}

/* Log-probability adjustments: +50 nats for id 0 everywhere. */
static int favour_id0(void *user, int thread, const int32_t *zt, size_t n, size_t L, size_t V, double t, double s,
                      double *adj)
{
    for (size_t i = 0; i < n * L; i++) adj[i * V + 0] += 50.0;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [N [LABEL GAMMA]]\n", argv[0]);
        return 1;
    }
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : 4;
    strand_model *m = NULL;
    if (strand_model_load(argv[1], &m) < 0) {
        fprintf(stderr, "sample_example: %s\n", strand_last_error());
        return 1;
    }
    int proc = 0, tc = 0;
    int32_t mask = -1;
    if (strand_diffusion_info(m, &proc, &mask, &tc) < 0) {
        fprintf(stderr, "sample_example: %s\n", strand_last_error());
        strand_model_free(m);
        return 1;
    }
    printf("%s process, [MASK] id %d, time-conditioned %d, %d classes\n",
           proc == STRAND_DIFFUSION_MASKED ? "masked (MDLM)" : "uniform (UDLM)", mask, tc, strand_model_num_classes(m));
    strand_sampler_params p = strand_sampler_default_params();
    p.steps = 16;
    p.batch = 8;
    p.seed = 1;
    p.progress = progress;
    if (argc > 4) {
        p.label = atoi(argv[3]);
        p.gamma = atof(argv[4]);
    }
    strand_sampler *s = NULL;
    if (strand_sampler_create(m, &p, &s) < 0) {
        fprintf(stderr, "sample_example: %s\n", strand_last_error());
        strand_model_free(m);
        return 1;
    }
    size_t L = strand_sampler_length(s), V = strand_model_vocab_size(m);
    int32_t *ids = malloc(n * L * sizeof *ids);
    double *q = malloc(L * V * sizeof *q);
    strand_sampler_stats st;
    int status = 1;
    if (!ids || !q || strand_sampler_run(s, n, ids, &st) < 0) {
        fprintf(stderr, "sample_example: %s\n", strand_sampler_last_error(s));
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        printf("sample %zu:", i);
        for (size_t l = 0; l < L; l++) printf(" %d", ids[i * L + l]);
        printf("\n");
    }
    printf("NFE %.2f per sample, %.1f samples/s\n", st.nfe, st.seconds > 0 ? (double)n / st.seconds : 0.0);
    /* z_t for the step: all [MASK] (masked process) or the first sample (uniform) */
    if (proc == STRAND_DIFFUSION_MASKED)
        for (size_t l = 0; l < L; l++) ids[l] = mask;
    if (strand_sampler_posterior(s, ids, 1, 0.5, 0.45, q) < 0) {
        fprintf(stderr, "sample_example: %s\n", strand_sampler_last_error(s));
        goto done;
    }
    printf("q(z_s | z_t) at position 0, t 0.5 -> 0.45:");
    for (size_t v = 0; v < V; v++) printf(" %.3g", q[v]);
    printf("\n");
    strand_sampler_set_guidance(s, favour_id0, NULL);
    if (strand_sampler_run(s, n, ids, &st) < 0) {
        fprintf(stderr, "sample_example: %s\n", strand_sampler_last_error(s));
        goto done;
    }
    size_t zeros = 0;
    for (size_t i = 0; i < n * L; i++) zeros += ids[i] == 0;
    printf("guided run (+50 nats for id 0): %zu of %zu positions are id 0\n", zeros, n * L);
    status = 0;
done:
    free(ids), free(q);
    strand_sampler_free(s);
    strand_model_free(m);
    return status;
}
