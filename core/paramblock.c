/* Named parameters in one 64-byte-aligned block per kind (see paramblock.h). */
#include "core/paramblock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"

#define PB_ALIGN_FLOATS 16 /* 64 bytes */

void pb_init(paramblock *pb)
{
    memset(pb, 0, sizeof *pb);
}

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

int pb_add(paramblock *pb, const char *name, int ndim, const int64_t *shape, int decay)
{
    if (!pb || !name) return st_err(NULL, STRAND_E_ARG, "pb_add: NULL argument");
    size_t len = strlen(name);
    if (len == 0 || len >= PB_NAME_MAX)
        return st_err(NULL, STRAND_E_ARG, "pb_add: parameter name \"%.60s\" is empty or longer than %d bytes",
                      name, PB_NAME_MAX - 1);
    if (pb->params)
        return st_err(NULL, STRAND_E_ARG, "pb_add: \"%s\" declared after pb_alloc", name);
    if (ndim < 0 || ndim > PB_MAX_DIMS || (ndim > 0 && !shape))
        return st_err(NULL, STRAND_E_SHAPE, "pb_add: \"%s\": ndim %d outside 0..%d", name, ndim, PB_MAX_DIMS);
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 0)
            return st_err(NULL, STRAND_E_SHAPE, "pb_add: \"%s\": dimension %d is %lld (must be > 0)", name, d,
                          (long long)shape[d]);
        if (numel > (SIZE_MAX / 8) / (size_t)shape[d])
            return st_err(NULL, STRAND_E_SHAPE, "pb_add: \"%s\": shape too large", name);
        numel *= (size_t)shape[d];
    }
    if (pb_find(pb, name) >= 0)
        return st_err(NULL, STRAND_E_ARG, "pb_add: duplicate parameter name \"%s\"", name);
    if (pb->n == pb->cap) {
        size_t nc = pb->cap ? pb->cap * 2 : 16;
        pb_entry *ne = realloc(pb->entries, nc * sizeof *ne);
        if (!ne) return st_err(NULL, STRAND_E_NOMEM, "pb_add: out of memory");
        pb->entries = ne;
        pb->cap = nc;
    }
    pb_entry *e = &pb->entries[pb->n];
    memset(e, 0, sizeof *e);
    memcpy(e->name, name, len + 1);
    e->ndim = ndim;
    for (int d = 0; d < ndim; d++) e->shape[d] = shape[d];
    e->offset = pb->total; /* total is always a multiple of 16 floats */
    e->numel = numel;
    e->decay = decay ? 1 : 0;
    size_t padded = round_up(numel, PB_ALIGN_FLOATS);
    if (pb->total > SIZE_MAX / 8 - padded)
        return st_err(NULL, STRAND_E_SHAPE, "pb_add: \"%s\": block too large", name);
    pb->total += padded;
    return (int)pb->n++;
}

static float *alloc_zeroed(size_t nfloats) { return arena_alloc_floats(nfloats); }

int pb_alloc_params(paramblock *pb)
{
    if (!pb) return st_err(NULL, STRAND_E_ARG, "pb_alloc: NULL block");
    if (pb->params) return st_err(NULL, STRAND_E_ARG, "pb_alloc: block already allocated");
    pb->params = alloc_zeroed(pb->total);
    if (!pb->params) return st_err(NULL, STRAND_E_NOMEM, "pb_alloc: cannot allocate %zu floats", pb->total);
    return 0;
}

int pb_alloc_grads(paramblock *pb)
{
    if (!pb) return st_err(NULL, STRAND_E_ARG, "pb_alloc_grads: NULL block");
    if (pb->grads) return 0;
    pb->grads = alloc_zeroed(pb->total);
    if (!pb->grads) return st_err(NULL, STRAND_E_NOMEM, "pb_alloc_grads: cannot allocate %zu floats", pb->total);
    return 0;
}

int pb_alloc(paramblock *pb)
{
    int rc = pb_alloc_params(pb);
    if (rc < 0) return rc;
    if ((rc = pb_alloc_grads(pb)) < 0) {
        free(pb->params);
        pb->params = NULL;
        return st_err(NULL, STRAND_E_NOMEM, "pb_alloc: cannot allocate 2 x %zu floats", pb->total);
    }
    return 0;
}

int pb_alloc_moments(paramblock *pb)
{
    if (!pb) return st_err(NULL, STRAND_E_ARG, "pb_alloc_moments: NULL block");
    if (pb->m && pb->v) { /* already there: reset to zero */
        memset(pb->m, 0, pb->total * sizeof(float));
        memset(pb->v, 0, pb->total * sizeof(float));
        return 0;
    }
    free(pb->m);
    free(pb->v);
    pb->m = alloc_zeroed(pb->total);
    pb->v = alloc_zeroed(pb->total);
    if (!pb->m || !pb->v) {
        free(pb->m);
        free(pb->v);
        pb->m = pb->v = NULL;
        return st_err(NULL, STRAND_E_NOMEM, "pb_alloc_moments: cannot allocate 2 x %zu floats", pb->total);
    }
    return 0;
}

int pb_find(const paramblock *pb, const char *name)
{
    if (!pb || !name) return -1;
    for (size_t i = 0; i < pb->n; i++)
        if (strcmp(pb->entries[i].name, name) == 0) return (int)i;
    return -1;
}

void pb_zero_grad(paramblock *pb)
{
    if (pb && pb->grads) memset(pb->grads, 0, pb->total * sizeof(float));
}

static int full_name(char *buf, size_t cap, const char *prefix, const char *name)
{
    int k = snprintf(buf, cap, "%s%s", prefix ? prefix : "", name);
    return k < 0 || (size_t)k >= cap ? -1 : 0;
}

int pb_save(const paramblock *pb, sft_writer *w, const char *prefix)
{
    if (!pb || !w) return st_err(NULL, STRAND_E_ARG, "pb_save: NULL argument");
    return pb_save_data(pb, pb->params, w, prefix);
}

int pb_save_data(const paramblock *pb, const float *block, sft_writer *w, const char *prefix)
{
    if (!pb || !w) return st_err(NULL, STRAND_E_ARG, "pb_save: NULL argument");
    if (!block) return st_err(NULL, STRAND_E_ARG, "pb_save: block not allocated");
    char nm[PB_NAME_MAX + 256];
    for (size_t i = 0; i < pb->n; i++) {
        const pb_entry *e = &pb->entries[i];
        if (full_name(nm, sizeof nm, prefix, e->name) != 0)
            return st_err(NULL, STRAND_E_ARG, "pb_save: prefix \"%.60s\" too long", prefix);
        int rc = sft_writer_add(w, nm, SFT_F32, e->ndim, e->shape, block + e->offset);
        if (rc < 0) return st_err_prefix("pb_save: \"%s\"", nm);
    }
    return 0;
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

int pb_load(paramblock *pb, const sft_file *f, const char *prefix)
{
    if (!pb || !f) return st_err(NULL, STRAND_E_ARG, "pb_load: NULL argument");
    return pb_load_data(pb, pb->params, f, prefix);
}

int pb_load_data(const paramblock *pb, float *block, const sft_file *f, const char *prefix)
{
    if (!pb || !f) return st_err(NULL, STRAND_E_ARG, "pb_load: NULL argument");
    if (!block) return st_err(NULL, STRAND_E_ARG, "pb_load: block not allocated (call pb_alloc first)");
    char nm[PB_NAME_MAX + 256];
    for (size_t i = 0; i < pb->n; i++) {
        const pb_entry *e = &pb->entries[i];
        if (full_name(nm, sizeof nm, prefix, e->name) != 0)
            return st_err(NULL, STRAND_E_ARG, "pb_load: prefix \"%.60s\" too long", prefix);
        const sft_tensor *t = sft_find(f, nm);
        if (!t) return st_err(NULL, STRAND_E_NOTFOUND, "pb_load: tensor \"%s\" missing from the file", nm);
        if (t->dtype != SFT_F32 && t->dtype != SFT_F16 && t->dtype != SFT_BF16)
            return st_err(NULL, STRAND_E_UNSUPPORTED, "pb_load: tensor \"%s\" has dtype %s (expected F32, F16 or BF16)",
                          nm, sft_dtype_name(t->dtype));
        int same = t->ndim == e->ndim;
        for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
        if (!same) {
            char a[256], b[256];
            format_shape(a, sizeof a, t->ndim, t->shape);
            format_shape(b, sizeof b, e->ndim, e->shape);
            return st_err(NULL, STRAND_E_SHAPE, "pb_load: tensor \"%s\" has shape %s in the file but the model expects %s",
                          nm, a, b);
        }
        int rc = sft_read_f32(f, nm, block + e->offset, e->numel);
        if (rc < 0) return st_err_prefix("pb_load: \"%s\"", nm);
    }
    return 0;
}

void pb_free(paramblock *pb)
{
    if (!pb) return;
    free(pb->entries);
    free(pb->params);
    free(pb->grads);
    free(pb->m);
    free(pb->v);
    memset(pb, 0, sizeof *pb);
}
