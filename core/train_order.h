/* A shuffled, resumable visiting order over n items for a train_source (core/train.h): epoch e
 * visits every item once, in a permutation drawn from (seed, e) (Fisher–Yates over strand_rng);
 * the position lives in the caller's cursor as {epoch, index}, so a source rebuilt from a saved
 * cursor continues the stream exactly, across epochs. The sources over window sets
 * (io/window_set.h) and over sequence sets use it. */
#ifndef STRAND_CORE_TRAIN_ORDER_H
#define STRAND_CORE_TRAIN_ORDER_H
#include <stddef.h>
#include <stdint.h>

#include "core/train.h"

typedef struct train_order {
    uint64_t seed;
    size_t n;          /* items, 1 .. UINT32_MAX */
    uint32_t *perm;    /* the permutation of perm_epoch */
    int64_t perm_epoch;
} train_order;

/* STRAND_E_ARG for 0 or more than UINT32_MAX items, STRAND_E_NOMEM. */
int train_order_init(train_order *o, size_t n, uint64_t seed);
void train_order_free(train_order *o);
/* The next item; cursor[0] (epoch) and cursor[1] (index in the epoch) advance. */
size_t train_order_next(train_order *o, uint64_t cursor[TRAIN_CURSOR_WORDS]);
#endif
