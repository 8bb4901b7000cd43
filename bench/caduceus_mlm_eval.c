/* Held-out masked-LM loss of a Caduceus model on a token shard: the same quantity as the
 * val_loss column of `strand train caduceus` (caduceus/mlm.h: mlm_trainer_set_val + mlm_validate,
 * masks drawn once from MLM_VAL_SEED, N rows of L tokens spread evenly over the shard), so curves
 * on other held-out sets are comparable with the training log. Used by datasets/train-caduceus-v2.
 *
 *   bench_caduceus_mlm_eval MODEL.safetensors SHARD [ROWS=64] [L=512] [B=8]
 *
 * Prints one line: "loss <nats per masked base> masked <count> rows <rows> L <L>". Built by the
 * bench harness (cmake -DSTRAND_BENCH=ON, target bench_caduceus_mlm_eval). */
#include <stdio.h>
#include <stdlib.h>

#include "caduceus/caduceus.h"
#include "caduceus/mlm.h"
#include "io/window_set.h"
#include "strand.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL SHARD [ROWS=64] [L=512] [B=8]\n", argv[0]);
        return 2;
    }
    size_t rows = argc > 3 ? (size_t)atol(argv[3]) : 64, L = argc > 4 ? (size_t)atol(argv[4]) : 512;
    size_t B = argc > 5 ? (size_t)atol(argv[5]) : 8;
    caduceus_weights *m = NULL;
    st_window_set w = {0};
    mlm_trainer t;
    int rc = 1;
    if (caduceus_load(&m, argv[1]) < 0 || st_window_set_from_shard(argv[2], &w) < 0) goto err;
    if (w.len < L) {
        fprintf(stderr, "%s: %s has records of %zu tokens, shorter than L %zu\n", argv[0], argv[2], w.len, L);
        goto out;
    }
    mlm_params mp;
    mlm_default_params(&mp);
    if (mlm_trainer_init(&t, m, &mp, B, L) < 0) goto err;
    float loss;
    if (mlm_trainer_set_val(&t, &w, rows, MLM_VAL_SEED) < 0 || mlm_validate(&t, &loss) < 0) {
        mlm_trainer_free(&t);
        goto err;
    }
    printf("loss %.6f masked %.0f rows %zu L %zu\n", loss, t.last_val_tokens, t.n_val, L);
    mlm_trainer_free(&t);
    rc = 0;
    goto out;
err:
    fprintf(stderr, "%s: %s\n", argv[0], strand_last_error());
out:
    st_window_set_free(&w);
    caduceus_free(m);
    return rc;
}
