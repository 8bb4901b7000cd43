/* Training data as fixed-length token windows held in memory, and a train_source (core/train.h)
 * over them: what a trainer of a DNA model (masked LM, diffusion) reads.
 *
 * A window set is n records of len uint8 DNA ids, contiguous, read from a FASTA (cut by
 * io/windows.h) or from a DNA window shard (io/shards.h). The source cuts every record of length
 * len >= L into len / L items of L tokens and visits them in a shuffled, resumable order
 * (core/train_order.h): epoch e is a permutation drawn from (seed, e), the cursor holds
 * {epoch, position}. */
#ifndef STRAND_IO_WINDOW_SET_H
#define STRAND_IO_WINDOW_SET_H
#include <stddef.h>
#include <stdint.h>

#include "core/train.h"
#include "core/train_order.h"

typedef struct st_window_set {
    uint8_t *tok; /* (n, len) */
    size_t n, len;
} st_window_set;

void st_window_set_free(st_window_set *w);
/* Windows of L bases from a FASTA (io/windows.h policy: tiled at stride L, max_n 0.1, windows never
 * cross the train/validation boundary). Train windows come from `regions` (NULL/0: every contig)
 * minus the validation regions; validation windows from `val_regions` (may be 0). */
int st_window_set_from_fasta(const char *fasta, size_t L, const char *const *regions, int n_regions,
                             const char *const *val_regions, int n_val, st_window_set *train, st_window_set *val);
/* Every record of a DNA window shard. */
int st_window_set_from_shard(const char *path, st_window_set *out);

typedef struct st_window_source {
    const st_window_set *w;
    size_t L, per_rec, n_items; /* items of L tokens: per_rec in each record, n_items in all */
    train_order order;
} st_window_source;

/* STRAND_E_ARG when the records are shorter than L (or there are no items). */
int st_window_source_init(st_window_source *s, const st_window_set *w, size_t L, uint64_t seed);
void st_window_source_free(st_window_source *s);
/* train_source.next (user = st_window_source); no labels. */
int st_window_source_next(void *user, int32_t *ids, int32_t *labels, size_t B, size_t L,
                          uint64_t cursor[TRAIN_CURSOR_WORDS]);
#endif
