/* A set of strings (open addressing, FNV-1a), for canonical-SMILES membership and duplicates. */
#ifndef STRAND_DESIGN_STRSET_H
#define STRAND_DESIGN_STRSET_H
#include <stddef.h>

typedef struct ds_strset {
    char **slot;    /* cap entries, NULL = empty; strings owned (copied) */
    size_t cap, n;
} ds_strset;

void ds_strset_init(ds_strset *s);
void ds_strset_clear(ds_strset *s);
/* 1 inserted, 0 already present, STRAND_E_NOMEM. */
int ds_strset_add(ds_strset *s, const char *str);
int ds_strset_contains(const ds_strset *s, const char *str);
#endif
