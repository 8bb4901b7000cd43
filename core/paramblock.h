/* Named parameters in one 64-byte-aligned block per kind (llm.c malloc_and_point_parameters):
 * params, grads and the AdamW moments share one size table, so the optimiser is one flat loop,
 * zeroing gradients one memset and saving one pass over the table. */
#ifndef STRAND_CORE_PARAMBLOCK_H
#define STRAND_CORE_PARAMBLOCK_H
#include <stddef.h>
#include <stdint.h>

#include "core/safetensors.h"

#define PB_MAX_DIMS 4
#define PB_NAME_MAX 192

typedef struct pb_entry {
    char name[PB_NAME_MAX]; /* checkpoint name, e.g. "backbone.blocks.0.attn_qkv.weight" */
    int ndim;
    int64_t shape[PB_MAX_DIMS];
    size_t offset; /* in floats, from the start of the block (each entry 16-float aligned) */
    size_t numel;
    int decay;     /* 1: AdamW weight decay applies; 0: no decay (biases, norms, embeddings...) */
} pb_entry;

typedef struct paramblock {
    pb_entry *entries;
    size_t n, cap;
    size_t total;  /* floats in each block, including alignment padding */
    float *params; /* all NULL until pb_alloc */
    float *grads;
    float *m, *v;  /* AdamW moments: allocated by pb_alloc_moments (zeroed) */
} paramblock;

void pb_init(paramblock *pb);
/* Declare a tensor; returns its index (>= 0) or a negative STRAND_E_* (duplicate name, bad shape). */
int pb_add(paramblock *pb, const char *name, int ndim, const int64_t *shape, int decay);
/* Allocate params and grads (zeroed), 64-byte aligned. */
int pb_alloc(paramblock *pb);
/* Only the parameters (inference weights: grads stay NULL), and the grads later when a trainer
 * needs them (a no-op when present). */
int pb_alloc_params(paramblock *pb);
int pb_alloc_grads(paramblock *pb);
int pb_alloc_moments(paramblock *pb);
int pb_find(const paramblock *pb, const char *name); /* index or -1 */
static inline float *pb_param(const paramblock *pb, int i) { return pb->params + pb->entries[i].offset; }
static inline float *pb_grad(const paramblock *pb, int i) { return pb->grads + pb->entries[i].offset; }
void pb_zero_grad(paramblock *pb);
/* Add every tensor (as F32, shapes from the table) to a safetensors writer, names prefixed. */
int pb_save(const paramblock *pb, sft_writer *w, const char *prefix);
/* Fill params from a file: every entry must be present as prefix+name with the same shape
 * (F32/F16/BF16 accepted); a missing tensor or a shape mismatch is an error naming both. */
int pb_load(paramblock *pb, const sft_file *f, const char *prefix);
/* The same over another block with this table (grads, AdamW moments, an EMA copy): `block` holds
 * pb->total floats laid out like pb->params. */
int pb_save_data(const paramblock *pb, const float *block, sft_writer *w, const char *prefix);
int pb_load_data(const paramblock *pb, float *block, const sft_file *f, const char *prefix);
void pb_free(paramblock *pb);
#endif
