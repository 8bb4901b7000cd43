/* design/strset.h: open addressing with linear probing, grown at 1/2 load. */
#include "design/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct dz_strset {
    char **slot;
    size_t cap, n;
};

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

dz_strset *dz_strset_create(void)
{
    dz_strset *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cap = 64;
    if (!(s->slot = calloc(s->cap, sizeof *s->slot))) {
        free(s);
        return NULL;
    }
    return s;
}

void dz_strset_free(dz_strset *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->cap; i++) free(s->slot[i]);
    free(s->slot);
    free(s);
}

static size_t find(char *const *slot, size_t cap, const char *str)
{
    size_t i = (size_t)fnv1a64(str) & (cap - 1);
    while (slot[i] && strcmp(slot[i], str)) i = (i + 1) & (cap - 1);
    return i;
}

int dz_strset_add(dz_strset *s, const char *str)
{
    size_t i = find(s->slot, s->cap, str);
    if (s->slot[i]) return 0;
    if (2 * (s->n + 1) > s->cap) {
        size_t nc = s->cap * 2;
        char **ns = calloc(nc, sizeof *ns);
        if (!ns) return st_err(NULL, STRAND_E_NOMEM, "string set: out of memory");
        for (size_t k = 0; k < s->cap; k++)
            if (s->slot[k]) ns[find(ns, nc, s->slot[k])] = s->slot[k];
        free(s->slot);
        s->slot = ns, s->cap = nc;
        i = find(s->slot, s->cap, str);
    }
    size_t len = strlen(str) + 1;
    if (!(s->slot[i] = malloc(len))) return st_err(NULL, STRAND_E_NOMEM, "string set: out of memory");
    memcpy(s->slot[i], str, len);
    s->n++;
    return 1;
}

int dz_strset_has(const dz_strset *s, const char *str) { return s && s->slot[find(s->slot, s->cap, str)] != NULL; }
size_t dz_strset_size(const dz_strset *s) { return s ? s->n : 0; }
