/* Rough forward throughput of Caduceus (inference path), not a test. Build against the static
 * library of a release build and run (from the repository root):
 *   RD=$(grep -E "RDKIT_[A-Za-z]+:FILEPATH" build-caduceus/CMakeCache.txt | cut -d= -f2 | tr '\n' ' ')
 *   gcc -O2 -fopenmp -Iinclude -I. -Ibuild-caduceus/generated bench/caduceus_forward_speed.c \
 *       build-caduceus/libstrand.a $(pkg-config --libs htslib libzstd jansson openblas) $RD -lstdc++ -lm \
 *       -o /tmp/cad_speed
 *   OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 /tmp/cad_speed [rcps=1] [d_model=256] [n_layer=4] [L=1024] [B=8] [reps=3]
 * Prints seconds per forward (best of reps, after one untimed call that allocates) and
 * tokens/s = B·L / seconds. */
#include <stdio.h>
#include <stdlib.h>

#include "caduceus/caduceus.h"
#include "core/clock.h"
#include "strand.h"

int main(int argc, char **argv)
{
    int rcps = argc > 1 ? atoi(argv[1]) : 1, D = argc > 2 ? atoi(argv[2]) : 256, nl = argc > 3 ? atoi(argv[3]) : 4;
    size_t L = argc > 4 ? (size_t)atol(argv[4]) : 1024, B = argc > 5 ? (size_t)atol(argv[5]) : 8;
    int reps = argc > 6 ? atoi(argv[6]) : 3;
    caduceus_config c;
    caduceus_default_config(&c);
    c.rcps = rcps, c.d_model = D, c.n_layer = nl;
    caduceus_weights *m;
    if (caduceus_create(&m, &c) < 0) {
        fprintf(stderr, "%s\n", strand_last_error());
        return 1;
    }
    caduceus_init_weights(m, 1);
    caduceus_ctx *cx = NULL;
    if (caduceus_ctx_create(&cx, &c) < 0) {
        fprintf(stderr, "%s\n", strand_last_error());
        return 1;
    }
    int32_t *ids = malloc(B * L * sizeof(int32_t));
    strand_rng r;
    strand_rng_seed(&r, 2);
    for (size_t i = 0; i < B * L; i++) ids[i] = 7 + (int32_t)strand_rng_below(&r, 4);
    float *logits = malloc(B * L * 16 * sizeof(float));
    double best = 1e30;
    for (int i = 0; i < reps + 1; i++) { /* first call allocates: not timed */
        double t0 = st_clock_s();
        if (caduceus_forward(m, cx, ids, B, L, CADUCEUS_INFER, logits, NULL, NULL) < 0) {
            fprintf(stderr, "%s\n", strand_last_error());
            return 1;
        }
        double t = st_clock_s() - t0;
        if (i > 0 && t < best) best = t;
    }
    printf("%s d=%d layers=%d L=%zu B=%zu threads=%d: %.3f s/forward, %.0f tokens/s\n", rcps ? "PS" : "PH", D, nl, L, B,
           strand_get_threads(), best, (double)(B * L) / best);
    free(ids), free(logits);
    caduceus_free(m);
    caduceus_ctx_free(cx);
    return 0;
}
