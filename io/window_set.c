/* Window sets and their shuffled source (see window_set.h). */
#include "io/window_set.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tokenizer_dna.h"
#include "io/fasta.h"
#include "io/shards.h"
#include "io/windows.h"

void st_window_set_free(st_window_set *w)
{
    if (!w) return;
    free(w->tok);
    memset(w, 0, sizeof *w);
}

static int win_push(st_window_set *w, size_t *cap, const uint8_t *tok)
{
    if (w->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        uint8_t *t = realloc(w->tok, nc * w->len);
        if (!t) return st_err(NULL, STRAND_E_NOMEM, "window set: out of memory (%zu windows of %zu)", nc, w->len);
        w->tok = t;
        *cap = nc;
    }
    memcpy(w->tok + w->n * w->len, tok, w->len);
    w->n++;
    return 0;
}

typedef struct fasta_collect {
    st_window_set *train, *val;
    size_t cap_train, cap_val;
} fasta_collect;

static int on_window(void *user, const uint8_t *tokens, uint32_t split, int contig, int64_t start)
{
    (void)contig;
    (void)start;
    fasta_collect *c = user;
    if (split == ST_SPLIT_TRAIN) return win_push(c->train, &c->cap_train, tokens) < 0 ? 1 : 0;
    if (split == ST_SPLIT_VAL) return win_push(c->val, &c->cap_val, tokens) < 0 ? 1 : 0;
    return 0;
}

int st_window_set_from_fasta(const char *fasta, size_t L, const char *const *regions, int n_regions,
                             const char *const *val_regions, int n_val, st_window_set *train, st_window_set *val)
{
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    if (L == 0) return st_err(NULL, STRAND_E_ARG, "window set: length 0");
    st_fasta *fa = NULL;
    int rc = st_fasta_open(&fa, fasta, 0);
    if (rc < 0) return rc;
    st_windows_params p = st_windows_default_params();
    p.len = (int64_t)L;
    p.stride = (int64_t)L;
    p.regions = n_regions > 0 ? regions : NULL;
    p.n_regions = n_regions;
    p.val_regions = n_val > 0 ? val_regions : NULL;
    p.n_val = n_val;
    train->len = val->len = L;
    fasta_collect c = {train, val, 0, 0};
    st_windows_stats stats;
    rc = st_windows_run(fa, &p, on_window, &c, &stats);
    if (rc > 0) rc = strand_last_error_code() < 0 ? strand_last_error_code() : STRAND_E_NOMEM;
    if (rc == 0 && train->n == 0)
        rc = st_err(NULL, STRAND_E_RANGE, "%s: no training window of %zu bases (regions too short or mostly N?)", fasta, L);
    st_fasta_close(fa);
    if (rc < 0) {
        st_window_set_free(train);
        st_window_set_free(val);
    }
    return rc;
}

int st_window_set_from_shard(const char *path, st_window_set *out)
{
    memset(out, 0, sizeof *out);
    st_shard *s = NULL;
    int rc = st_shard_open(&s, path);
    if (rc < 0) return rc;
    const st_shard_info *in = st_shard_get_info(s);
    if (in->kind != ST_SHARD_KIND_DNA_WINDOWS || in->vocab_hash != st_dna_vocab_hash()) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: not a DNA window shard (kind %u, vocabulary hash %016llx)", path,
                    in->kind, (unsigned long long)in->vocab_hash);
        st_shard_close(s);
        return rc;
    }
    out->len = in->record_len;
    out->tok = malloc((size_t)in->n_records * out->len + 1);
    size_t maxc = 0;
    for (uint32_t c = 0; c < in->n_chunks; c++)
        if (st_shard_chunk_records(s, c) > maxc) maxc = st_shard_chunk_records(s, c);
    int32_t *contig = malloc((maxc + 1) * sizeof *contig);
    int64_t *start = malloc((maxc + 1) * sizeof *start);
    if (!out->tok || !contig || !start) rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
    for (uint32_t c = 0; rc == 0 && c < in->n_chunks; c++) {
        size_t n = st_shard_chunk_records(s, c);
        if (out->n + n > in->n_records) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: chunk %u has more records than the header says", path, c);
            break;
        }
        rc = st_shard_read_chunk(s, c, out->tok + out->n * out->len, contig, start);
        out->n += n;
    }
    for (size_t i = 0; rc == 0 && i < out->n * out->len; i++)
        if (out->tok[i] >= ST_DNA_VOCAB)
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: record %zu position %zu: token id %u outside 0..15", path,
                        i / out->len, i % out->len, out->tok[i]);
    free(contig);
    free(start);
    st_shard_close(s);
    if (rc < 0) st_window_set_free(out);
    return rc;
}

int st_window_source_init(st_window_source *s, const st_window_set *w, size_t L, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (!w || L == 0 || w->len < L)
        return st_err(NULL, STRAND_E_ARG, "window source: windows of %zu tokens cannot give sequences of %zu",
                      w ? w->len : 0, L);
    s->w = w;
    s->L = L;
    s->per_rec = w->len / L;
    s->n_items = w->n * s->per_rec;
    return train_order_init(&s->order, s->n_items, seed);
}

void st_window_source_free(st_window_source *s)
{
    if (!s) return;
    train_order_free(&s->order);
    memset(s, 0, sizeof *s);
}

int st_window_source_next(void *user, int32_t *ids, int32_t *labels, size_t B, size_t L,
                          uint64_t cursor[TRAIN_CURSOR_WORDS])
{
    (void)labels;
    st_window_source *s = user;
    if (L != s->L) return st_err(NULL, STRAND_E_ARG, "window source: asked for length %zu, built for %zu", L, s->L);
    for (size_t b = 0; b < B; b++) {
        size_t item = train_order_next(&s->order, cursor);
        const uint8_t *src = s->w->tok + (item / s->per_rec) * s->w->len + (item % s->per_rec) * L;
        for (size_t t = 0; t < L; t++) ids[b * L + t] = src[t];
    }
    return 0;
}
