/* The aligned allocator and growable block behind every model's activation carve (core/arena.h). */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

float *arena_alloc_floats(size_t n)
{
    size_t nf = arena_round(n ? n : 1);
    if (nf > SIZE_MAX / sizeof(float)) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, ARENA_ALIGN_FLOATS * sizeof(float), nf * sizeof(float)) != 0) return NULL;
    memset(p, 0, nf * sizeof(float));
    return p;
}

int arena_block_reserve(arena_block *b, size_t n)
{
    if (n <= b->cap && b->p) return 0;
    float *p = arena_alloc_floats(n);
    if (!p) return st_err(NULL, STRAND_E_NOMEM, "cannot allocate %zu floats of activations", n);
    free(b->p);
    b->p = p;
    b->cap = n;
    return 0;
}

void arena_block_free(arena_block *b)
{
    if (!b) return;
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}
