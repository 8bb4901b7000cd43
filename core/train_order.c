/* Shuffled, resumable item order (see train_order.h). */
#include "core/train_order.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int train_order_init(train_order *o, size_t n, uint64_t seed)
{
    memset(o, 0, sizeof *o);
    if (n == 0 || n > UINT32_MAX) return st_err(NULL, STRAND_E_ARG, "training order: %zu items (need 1..%u)", n, UINT32_MAX);
    o->perm = malloc(n * sizeof *o->perm);
    if (!o->perm) return st_err(NULL, STRAND_E_NOMEM, "training order: out of memory (%zu items)", n);
    o->seed = seed;
    o->n = n;
    o->perm_epoch = -1;
    return 0;
}

void train_order_free(train_order *o)
{
    if (!o) return;
    free(o->perm);
    memset(o, 0, sizeof *o);
}

static void make_perm(train_order *o, int64_t epoch)
{
    strand_rng r;
    strand_rng_seed(&r, o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(epoch + 1)));
    for (size_t i = 0; i < o->n; i++) o->perm[i] = (uint32_t)i;
    for (size_t i = o->n - 1; i > 0; i--) { /* Fisher–Yates */
        size_t j = (size_t)strand_rng_below(&r, (uint64_t)i + 1);
        uint32_t tmp = o->perm[i];
        o->perm[i] = o->perm[j];
        o->perm[j] = tmp;
    }
    o->perm_epoch = epoch;
}

size_t train_order_next(train_order *o, uint64_t cursor[TRAIN_CURSOR_WORDS])
{
    int64_t epoch = (int64_t)cursor[0];
    uint64_t pos = cursor[1];
    if (pos >= o->n) {
        epoch++;
        pos = 0;
    }
    if (epoch != o->perm_epoch) make_perm(o, epoch);
    size_t item = o->perm[pos++];
    cursor[0] = (uint64_t)epoch;
    cursor[1] = pos;
    return item;
}
