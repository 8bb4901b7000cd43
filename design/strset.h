/* A set of strings (open addressing, FNV-1a): training-set canonical SMILES for novelty, seen
 * samples for dedupe. Strings are copied. Read-only use from several threads is safe. */
#ifndef STRAND_DESIGN_STRSET_H
#define STRAND_DESIGN_STRSET_H
#include <stddef.h>

typedef struct dz_strset dz_strset;
dz_strset *dz_strset_create(void);
void dz_strset_free(dz_strset *s); /* accepts NULL */
/* 1 if added, 0 if already there, STRAND_E_NOMEM. */
int dz_strset_add(dz_strset *s, const char *str);
int dz_strset_has(const dz_strset *s, const char *str);
size_t dz_strset_size(const dz_strset *s);
#endif
