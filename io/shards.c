/* Token shards and the streaming shuffling loader; format in io/shards.h. */
#include "io/shards.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/tokenizer_dna.h"

#define COORD_BYTES 12 /* i32 contig + i64 start per record */


const char *st_split_name(uint32_t split)
{
    switch (split) {
    case ST_SPLIT_TRAIN: return "train";
    case ST_SPLIT_VAL: return "val";
    case ST_SPLIT_TEST: return "test";
    default: return "none";
    }
}

/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320): the same value as zlib's crc32(). */
uint32_t st_crc32(uint32_t crc, const void *buf, size_t n)
{
    static uint32_t table[256];
    static int init;
    if (!init) { /* benign race: every thread computes the same table */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        init = 1;
    }
    const uint8_t *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint64_t st_dna_vocab_hash(void)
{
    uint64_t h = 1469598103934665603ULL;
    char line[64];
    for (int id = 0; id < ST_DNA_NTOKENS; id++) {
        int n = snprintf(line, sizeof line, "%d\t%s\n", id, st_dna_token(id));
        for (int i = 0; i < n; i++) {
            h ^= (uint8_t)line[i];
            h *= 1099511628211ULL;
        }
    }
    return h;
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

/* ---- writer ------------------------------------------------------------------------------- */

typedef struct chunk_ent { uint64_t off; uint32_t comp, n; } chunk_ent;

struct st_shard_writer {
    st_atomic_file af;
    st_shard_info info;
    uint8_t *raw;  /* records_per_chunk * (L + 12) */
    uint32_t nbuf; /* records in raw */
    void *comp;
    size_t comp_cap;
    chunk_ent *chunks;
    uint32_t cap_chunks;
    uint64_t off, payload_bytes;
    uint32_t crc;
    char *meta;
    ZSTD_CCtx *cctx;
};

static int wr(st_shard_writer *w, const void *p, size_t n)
{
    if (fwrite(p, 1, n, w->af.fp) != n)
        return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", w->af.final_path, strerror(errno));
    w->crc = st_crc32(w->crc, p, n);
    w->off += n;
    w->payload_bytes += n;
    return 0;
}

int st_shard_writer_open(st_shard_writer **out, const char *path, uint32_t kind, uint32_t split,
                         uint32_t record_len, uint64_t vocab_hash, uint32_t vocab_size,
                         uint32_t records_per_chunk)
{
    *out = NULL;
    if (record_len == 0 || records_per_chunk == 0 || record_len > (1u << 24) ||
        (uint64_t)records_per_chunk * (record_len + COORD_BYTES) > (1ULL << 31))
        return st_err(NULL, STRAND_E_ARG, "%s: bad record length %u or chunk size %u", path, record_len,
                      records_per_chunk);
    st_shard_writer *w = calloc(1, sizeof *w);
    if (!w) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    w->info = (st_shard_info){ST_SHARD_VERSION, kind, split, record_len, 0, vocab_hash, vocab_size,
                              records_per_chunk, 0, 0};
    size_t rawn = (size_t)records_per_chunk * (record_len + COORD_BYTES);
    w->raw = malloc(rawn);
    w->comp_cap = ZSTD_compressBound(rawn);
    w->comp = malloc(w->comp_cap);
    w->cctx = ZSTD_createCCtx();
    if (!w->raw || !w->comp || !w->cctx) {
        st_shard_writer_abort(w);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    int rc = st_atomic_open(&w->af, path, 1);
    if (rc) {
        free(w->raw); free(w->comp); ZSTD_freeCCtx(w->cctx); free(w);
        return rc;
    }
    uint8_t zero[ST_SHARD_HEADER_BYTES] = {0};
    if (fwrite(zero, 1, sizeof zero, w->af.fp) != sizeof zero) {
        st_shard_writer_abort(w);
        return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", path, strerror(errno));
    }
    w->off = ST_SHARD_HEADER_BYTES;
    *out = w;
    return 0;
}

static int flush_chunk(st_shard_writer *w)
{
    if (w->nbuf == 0) return 0;
    size_t L = w->info.record_len, n = w->nbuf, cap = w->info.records_per_chunk;
    /* coordinates were stored after the full-size token area: move them up behind n records */
    memmove(w->raw + n * L, w->raw + cap * L, n * COORD_BYTES);
    size_t z = ZSTD_compress2(w->cctx, w->comp, w->comp_cap, w->raw, n * (L + COORD_BYTES));
    if (ZSTD_isError(z))
        return st_err(NULL, STRAND_E_INTERNAL, "%s: zstd: %s", w->af.final_path, ZSTD_getErrorName(z));
    if (w->info.n_chunks == w->cap_chunks) {
        uint32_t nc = w->cap_chunks ? 2 * w->cap_chunks : 64;
        chunk_ent *c = realloc(w->chunks, nc * sizeof *c);
        if (!c) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
        w->chunks = c;
        w->cap_chunks = nc;
    }
    w->chunks[w->info.n_chunks++] = (chunk_ent){w->off, (uint32_t)z, (uint32_t)n};
    w->nbuf = 0;
    return wr(w, w->comp, z);
}

int st_shard_writer_add(st_shard_writer *w, const uint8_t *tokens, int32_t contig, int64_t start)
{
    size_t L = w->info.record_len, cap = w->info.records_per_chunk;
    memcpy(w->raw + (size_t)w->nbuf * L, tokens, L);
    uint8_t *c = w->raw + cap * L + (size_t)w->nbuf * COORD_BYTES;
    put32(c, (uint32_t)contig);
    put64(c + 4, (uint64_t)start);
    w->nbuf++;
    w->info.n_records++;
    return w->nbuf == cap ? flush_chunk(w) : 0;
}

int st_shard_writer_set_meta(st_shard_writer *w, const char *meta)
{
    free(w->meta);
    w->meta = strdup(meta ? meta : "");
    return w->meta ? 0 : st_err(NULL, STRAND_E_NOMEM, "out of memory");
}

uint64_t st_shard_writer_count(const st_shard_writer *w) { return w->info.n_records; }

int st_shard_writer_close(st_shard_writer *w)
{
    int rc = flush_chunk(w);
    for (uint32_t i = 0; rc == 0 && i < w->info.n_chunks; i++) {
        uint8_t e[16];
        put64(e, w->chunks[i].off);
        put32(e + 8, w->chunks[i].comp);
        put32(e + 12, w->chunks[i].n);
        rc = wr(w, e, sizeof e);
    }
    size_t mlen = w->meta ? strlen(w->meta) : 0;
    if (rc == 0 && mlen) rc = wr(w, w->meta, mlen);
    if (rc == 0) {
        uint8_t h[ST_SHARD_HEADER_BYTES] = {0};
        memcpy(h, ST_SHARD_MAGIC, 8);
        put32(h + 8, w->info.version);
        put32(h + 12, w->info.kind);
        put32(h + 16, w->info.split);
        put32(h + 20, w->info.record_len);
        put64(h + 24, w->info.n_records);
        put64(h + 32, w->info.vocab_hash);
        put32(h + 40, w->info.vocab_size);
        put32(h + 44, w->info.records_per_chunk);
        put32(h + 48, w->info.n_chunks);
        put32(h + 52, (uint32_t)mlen);
        put64(h + 56, w->payload_bytes);
        put32(h + 64, w->crc);
        put32(h + 68, st_crc32(0, h, 68));
        if (fseek(w->af.fp, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, w->af.fp) != sizeof h)
            rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", w->af.final_path, strerror(errno));
    }
    if (rc == 0) rc = st_atomic_commit(&w->af);
    else st_atomic_abort(&w->af);
    free(w->raw); free(w->comp); free(w->chunks); free(w->meta);
    ZSTD_freeCCtx(w->cctx);
    free(w);
    return rc;
}

void st_shard_writer_abort(st_shard_writer *w)
{
    if (!w) return;
    st_atomic_abort(&w->af);
    free(w->raw); free(w->comp); free(w->chunks); free(w->meta);
    ZSTD_freeCCtx(w->cctx);
    free(w);
}

/* ---- reader ------------------------------------------------------------------------------- */

struct st_shard {
    char *path;
    FILE *fp;
    st_shard_info info;
    chunk_ent *chunks;
    char *meta;
    void *comp;
    size_t comp_cap;
    ZSTD_DCtx *dctx;
};

void st_shard_close(st_shard *s)
{
    if (!s) return;
    if (s->fp) fclose(s->fp);
    free(s->path); free(s->chunks); free(s->meta); free(s->comp);
    ZSTD_freeDCtx(s->dctx);
    free(s);
}

int st_shard_open(st_shard **out, const char *path)
{
    *out = NULL;
    st_shard *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    int rc = 0;
    s->fp = fopen(path, "rb");
    if (!s->fp) {
        rc = st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
        goto fail;
    }
    fseeko(s->fp, 0, SEEK_END);
    int64_t size = ftello(s->fp);
    fseeko(s->fp, 0, SEEK_SET);
    uint8_t h[ST_SHARD_HEADER_BYTES];
    if (size < ST_SHARD_HEADER_BYTES || fread(h, 1, sizeof h, s->fp) != sizeof h) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: %lld bytes, shorter than a shard header (%d)", path,
                    (long long)size, ST_SHARD_HEADER_BYTES);
        goto fail;
    }
    if (memcmp(h, ST_SHARD_MAGIC, 8) != 0) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: not a strand shard (bad magic)", path);
        goto fail;
    }
    st_shard_info *I = &s->info;
    I->version = get32(h + 8);
    if (I->version != ST_SHARD_VERSION) {
        rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: shard version %u, this strand reads version %d", path,
                    I->version, ST_SHARD_VERSION);
        goto fail;
    }
    if (get32(h + 68) != st_crc32(0, h, 68)) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: header checksum mismatch (corrupt file)", path);
        goto fail;
    }
    I->kind = get32(h + 12);
    I->split = get32(h + 16);
    I->record_len = get32(h + 20);
    I->n_records = get64(h + 24);
    I->vocab_hash = get64(h + 32);
    I->vocab_size = get32(h + 40);
    I->records_per_chunk = get32(h + 44);
    I->n_chunks = get32(h + 48);
    uint32_t mlen = get32(h + 52);
    uint64_t payload = get64(h + 56);
    I->payload_crc = get32(h + 64);
    if ((uint64_t)size - ST_SHARD_HEADER_BYTES != payload) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: size %lld bytes, header says %llu (truncated or appended to)",
                    path, (long long)size, (unsigned long long)(payload + ST_SHARD_HEADER_BYTES));
        goto fail;
    }
    uint64_t tbl = (uint64_t)I->n_chunks * 16;
    if (I->record_len == 0 || I->records_per_chunk == 0 || I->record_len > (1u << 24) ||
        (uint64_t)I->records_per_chunk * (I->record_len + COORD_BYTES) > (1ULL << 31)) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: implausible record length %u / chunk size %u", path,
                    I->record_len, I->records_per_chunk);
        goto fail;
    }
    if (tbl + mlen > payload) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: inconsistent header (chunk table past the end)", path);
        goto fail;
    }
    /* checksum of everything after the header, read once in 1 MiB pieces */
    {
        uint8_t *buf = malloc(1 << 20);
        if (!buf) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
        uint32_t crc = 0;
        size_t r;
        while ((r = fread(buf, 1, 1 << 20, s->fp)) > 0) crc = st_crc32(crc, buf, r);
        free(buf);
        if (crc != I->payload_crc) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: payload checksum mismatch (crc32 %08x, header %08x): "
                        "corrupt file", path, crc, I->payload_crc);
            goto fail;
        }
    }
    s->chunks = calloc(I->n_chunks ? I->n_chunks : 1, sizeof *s->chunks);
    s->meta = calloc(mlen + 1, 1);
    if (!s->chunks || !s->meta) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
    fseeko(s->fp, (off_t)(size - (int64_t)mlen - (int64_t)tbl), SEEK_SET);
    uint64_t total = 0, maxcomp = 0;
    for (uint32_t i = 0; i < I->n_chunks; i++) {
        uint8_t e[16];
        if (fread(e, 1, 16, s->fp) != 16) { rc = st_err(NULL, STRAND_E_IO, "%s: read error", path); goto fail; }
        chunk_ent c = {get64(e), get32(e + 8), get32(e + 12)};
        if (c.off < ST_SHARD_HEADER_BYTES || c.off + c.comp > (uint64_t)size - mlen - tbl || c.n == 0 ||
            c.n > I->records_per_chunk) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: chunk %u: bad table entry", path, i);
            goto fail;
        }
        s->chunks[i] = c;
        total += c.n;
        if (c.comp > maxcomp) maxcomp = c.comp;
    }
    if (total != I->n_records) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: chunks hold %llu records, header says %llu", path,
                    (unsigned long long)total, (unsigned long long)I->n_records);
        goto fail;
    }
    if (mlen && fread(s->meta, 1, mlen, s->fp) != mlen) { rc = st_err(NULL, STRAND_E_IO, "%s: read error", path); goto fail; }
    s->comp_cap = maxcomp ? maxcomp : 1;
    s->comp = malloc(s->comp_cap);
    s->dctx = ZSTD_createDCtx();
    if (!s->comp || !s->dctx) { rc = st_err(NULL, STRAND_E_NOMEM, "out of memory"); goto fail; }
    *out = s;
    return 0;
fail:
    st_shard_close(s);
    return rc;
}

const st_shard_info *st_shard_get_info(const st_shard *s) { return &s->info; }
const char *st_shard_meta(const st_shard *s) { return s->meta; }
uint32_t st_shard_chunk_records(const st_shard *s, uint32_t chunk)
{
    return chunk < s->info.n_chunks ? s->chunks[chunk].n : 0;
}

int st_shard_read_chunk(st_shard *s, uint32_t chunk, uint8_t *tokens, int32_t *contig, int64_t *start)
{
    if (chunk >= s->info.n_chunks) return st_err(NULL, STRAND_E_RANGE, "%s: no chunk %u", s->path, chunk);
    chunk_ent c = s->chunks[chunk];
    size_t L = s->info.record_len, want = (size_t)c.n * (L + COORD_BYTES);
    if (fseeko(s->fp, (off_t)c.off, SEEK_SET) != 0 || fread(s->comp, 1, c.comp, s->fp) != c.comp)
        return st_err(NULL, STRAND_E_IO, "%s: chunk %u: read error", s->path, chunk);
    uint8_t *raw = malloc(want);
    if (!raw) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    size_t got = ZSTD_decompressDCtx(s->dctx, raw, want, s->comp, c.comp);
    if (ZSTD_isError(got) || got != want) {
        free(raw);
        return st_err(NULL, STRAND_E_FORMAT, "%s: chunk %u: %s", s->path, chunk,
                      ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong decompressed size");
    }
    memcpy(tokens, raw, (size_t)c.n * L);
    for (size_t i = 0; i < c.n; i++) {
        const uint8_t *p = raw + (size_t)c.n * L + i * COORD_BYTES;
        if (contig) contig[i] = (int32_t)get32(p);
        if (start) start[i] = (int64_t)get64(p + 4);
    }
    free(raw);
    return 0;
}

/* ---- loader ------------------------------------------------------------------------------- */

struct st_loader {
    st_shard *s;
    int batch;
    size_t L, cap;          /* cap: shuffle-buffer slots */
    strand_rng rng;
    uint32_t *order;        /* chunk order of this epoch */
    uint32_t next_chunk;    /* position in order */
    uint8_t *ctok;          /* current chunk */
    int32_t *ccontig;
    int64_t *cstart;
    uint32_t cn, cpos;
    uint8_t *btok;          /* shuffle buffer */
    int32_t *bcontig;
    int64_t *bstart;
    size_t bn;
};

static void shuffle_chunks(st_loader *ld)
{
    uint32_t n = ld->s->info.n_chunks;
    for (uint32_t i = 0; i < n; i++) ld->order[i] = i;
    if (ld->cap > 1)
        for (uint32_t i = n; i > 1; i--) {
            uint32_t j = (uint32_t)strand_rng_below(&ld->rng, i);
            uint32_t t = ld->order[i - 1]; ld->order[i - 1] = ld->order[j]; ld->order[j] = t;
        }
    ld->next_chunk = 0;
    ld->cn = ld->cpos = 0;
    ld->bn = 0;
}

int st_loader_open(st_loader **out, const char *path, int batch, size_t shuffle_buffer, uint64_t seed)
{
    *out = NULL;
    if (batch < 1) return st_err(NULL, STRAND_E_ARG, "batch size %d < 1", batch);
    st_loader *ld = calloc(1, sizeof *ld);
    if (!ld) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    int rc = st_shard_open(&ld->s, path);
    if (rc) { free(ld); return rc; }
    ld->batch = batch;
    ld->L = ld->s->info.record_len;
    ld->cap = shuffle_buffer ? shuffle_buffer : 1;
    strand_rng_seed(&ld->rng, seed);
    size_t rpc = ld->s->info.records_per_chunk;
    ld->order = malloc((ld->s->info.n_chunks + 1) * sizeof *ld->order);
    ld->ctok = malloc(rpc * ld->L);
    ld->ccontig = malloc(rpc * sizeof(int32_t));
    ld->cstart = malloc(rpc * sizeof(int64_t));
    ld->btok = malloc(ld->cap * ld->L);
    ld->bcontig = malloc(ld->cap * sizeof(int32_t));
    ld->bstart = malloc(ld->cap * sizeof(int64_t));
    if (!ld->order || !ld->ctok || !ld->ccontig || !ld->cstart || !ld->btok || !ld->bcontig || !ld->bstart) {
        st_loader_close(ld);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory (shuffle buffer of %zu records)", shuffle_buffer);
    }
    shuffle_chunks(ld);
    *out = ld;
    return 0;
}

void st_loader_close(st_loader *ld)
{
    if (!ld) return;
    st_shard_close(ld->s);
    free(ld->order); free(ld->ctok); free(ld->ccontig); free(ld->cstart);
    free(ld->btok); free(ld->bcontig); free(ld->bstart);
    free(ld);
}

const st_shard_info *st_loader_info(const st_loader *ld) { return &ld->s->info; }

int st_loader_new_epoch(st_loader *ld)
{
    shuffle_chunks(ld);
    return 0;
}

/* Next record of the stream into slot `slot` of the buffer: 1 if one came, 0 at the end. */
static int stream_next(st_loader *ld, size_t slot)
{
    while (ld->cpos == ld->cn) {
        if (ld->next_chunk == ld->s->info.n_chunks) return 0;
        uint32_t c = ld->order[ld->next_chunk++];
        int rc = st_shard_read_chunk(ld->s, c, ld->ctok, ld->ccontig, ld->cstart);
        if (rc) return rc;
        ld->cn = st_shard_chunk_records(ld->s, c);
        ld->cpos = 0;
    }
    memcpy(ld->btok + slot * ld->L, ld->ctok + (size_t)ld->cpos * ld->L, ld->L);
    ld->bcontig[slot] = ld->ccontig[ld->cpos];
    ld->bstart[slot] = ld->cstart[ld->cpos];
    ld->cpos++;
    return 1;
}

int st_loader_next(st_loader *ld, int32_t *ids, int32_t *contigs, int64_t *starts)
{
    int rows = 0;
    while (rows < ld->batch) {
        while (ld->bn < ld->cap) { /* top the buffer up */
            int r = stream_next(ld, ld->bn);
            if (r < 0) return r;
            if (r == 0) break;
            ld->bn++;
        }
        if (ld->bn == 0) break;
        size_t j = ld->cap > 1 ? (size_t)strand_rng_below(&ld->rng, ld->bn) : 0;
        const uint8_t *t = ld->btok + j * ld->L;
        int32_t *o = ids + (size_t)rows * ld->L;
        for (size_t i = 0; i < ld->L; i++) o[i] = t[i];
        if (contigs) contigs[rows] = ld->bcontig[j];
        if (starts) starts[rows] = ld->bstart[j];
        rows++;
        /* fill the hole with the last buffered record (order of the rest does not matter) */
        ld->bn--;
        if (j != ld->bn) {
            memcpy(ld->btok + j * ld->L, ld->btok + ld->bn * ld->L, ld->L);
            ld->bcontig[j] = ld->bcontig[ld->bn];
            ld->bstart[j] = ld->bstart[ld->bn];
        }
    }
    return rows;
}
