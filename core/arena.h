/* One activation-layout idiom for every model (DiT, Mamba, BiMamba, Caduceus): a model's layout
 * function carves named views out of one float block and runs twice over the same code, first
 * counting (base NULL: every view is NULL, `used` sums the sizes), then pointing into a block of
 * that size. Size and pointers cannot disagree because one function produces both (llm.c's
 * fill_in_activation_sizes + malloc_and_point_activations, folded into one pass).
 *
 *     arena a = arena_count();            layout(&a, ...);   // a.used floats needed
 *     arena_block_reserve(&blk, a.used);  a = arena_on(blk.p); layout(&a, ...);
 *
 * Every view starts 16 floats (64 bytes) apart. arena_block is a block that grows on demand and
 * never shrinks: run contexts keep one and re-point it when the shape changes. */
#ifndef STRAND_CORE_ARENA_H
#define STRAND_CORE_ARENA_H
#include <stddef.h>

#define ARENA_ALIGN_FLOATS 16 /* 64 bytes */

typedef struct arena {
    float *base; /* NULL while counting */
    size_t used; /* floats carved so far (each view rounded up to 16) */
} arena;

static inline arena arena_count(void) { return (arena){NULL, 0}; }
static inline arena arena_on(float *base) { return (arena){base, 0}; }
static inline size_t arena_round(size_t n) { return (n + ARENA_ALIGN_FLOATS - 1) / ARENA_ALIGN_FLOATS * ARENA_ALIGN_FLOATS; }
/* A view of n floats (NULL while counting). */
static inline float *arena_take(arena *a, size_t n)
{
    float *p = a->base ? a->base + a->used : NULL;
    a->used += arena_round(n);
    return p;
}

/* The one aligned allocator: n floats (at least 16), 64-byte aligned, zeroed; release with free().
 * NULL when out of memory. */
float *arena_alloc_floats(size_t n);

typedef struct arena_block {
    float *p;
    size_t cap; /* floats */
} arena_block;
/* Make b hold at least n floats. Growing frees the old block and allocates a zeroed one (the old
 * contents are not kept: contexts re-carve after a reserve). Returns 0 or STRAND_E_NOMEM. */
int arena_block_reserve(arena_block *b, size_t n);
void arena_block_free(arena_block *b);
#endif
