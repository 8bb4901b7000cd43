/* Open-addressing string set with linear probing, load factor <= 1/2. */
#include "design/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void ds_strset_init(ds_strset *s) { memset(s, 0, sizeof *s); }

void ds_strset_clear(ds_strset *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->cap; i++) free(s->slot[i]);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

static size_t find(char *const *slot, size_t cap, const char *str)
{
    size_t i = (size_t)fnv1a(str) & (cap - 1);
    while (slot[i] && strcmp(slot[i], str) != 0) i = (i + 1) & (cap - 1);
    return i;
}

static int grow(ds_strset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **slot = calloc(cap, sizeof *slot);
    if (!slot) return st_err(NULL, STRAND_E_NOMEM, "string set: out of memory (%zu slots)", cap);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i]) slot[find(slot, cap, s->slot[i])] = s->slot[i];
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return 0;
}

int ds_strset_add(ds_strset *s, const char *str)
{
    if (2 * (s->n + 1) > s->cap) {
        int rc = grow(s);
        if (rc < 0) return rc;
    }
    size_t i = find(s->slot, s->cap, str);
    if (s->slot[i]) return 0;
    if (!(s->slot[i] = strdup(str))) return st_err(NULL, STRAND_E_NOMEM, "string set: out of memory");
    s->n++;
    return 1;
}

int ds_strset_contains(const ds_strset *s, const char *str)
{
    if (!s->cap) return 0;
    return s->slot[find(s->slot, s->cap, str)] != NULL;
}
