/* safetensors reader/writer (docs/formats.md "safetensors"), optionally zstd-compressed (".zst").
 *
 * Layout: u64 little-endian header length N, N bytes of JSON, then the data section. Every
 * offset in the JSON is relative to the start of the data section. We validate the whole header
 * (JSON, dtypes, shapes, sizes, bounds, overlap, metadata) before handing out any pointer, so a
 * caller never reads outside the buffer whatever the file says. Hosts are little-endian (x86-64,
 * aarch64), so F32/I64/... data is copied with memcpy; data pointers may be unaligned. */
#include "core/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/atomic_file.h"
#include "core/error.h"

#define SFT_MAX_HEADER ((uint64_t)100000000) /* same limit as the reference implementation */

static uint64_t g_max_decompressed = (uint64_t)1 << 36; /* 64 GiB */

struct sft_file {
    unsigned char *buf; /* whole file: mapped (mapped != 0) or malloc'd */
    size_t len;
    int mapped;
    sft_tensor *t; /* sorted by data offset */
    size_t nt;
    size_t *by_name; /* indices into t, sorted by name: sft_find is a binary search */
    char **mkey, **mval; /* metadata in file order */
    size_t nm;
};

/* ---- dtypes ------------------------------------------------------------------------------- */
static const char *const k_dtype_names[] = {"F32", "F16", "BF16", "F64", "I64",
                                            "I32", "I16", "I8",   "U8",  "BOOL"};
static const size_t k_dtype_sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};
#define SFT_NDTYPES ((int)(sizeof k_dtype_sizes / sizeof k_dtype_sizes[0]))

const char *sft_dtype_name(sft_dtype dt)
{
    return (int)dt >= 0 && (int)dt < SFT_NDTYPES ? k_dtype_names[dt] : "?";
}

size_t sft_dtype_size(sft_dtype dt) { return (int)dt >= 0 && (int)dt < SFT_NDTYPES ? k_dtype_sizes[dt] : 0; }

static int dtype_from_name(const char *s, sft_dtype *out)
{
    for (int i = 0; i < SFT_NDTYPES; i++)
        if (!strcmp(s, k_dtype_names[i])) {
            *out = (sft_dtype)i;
            return 1;
        }
    return 0;
}

void sft_set_max_decompressed(uint64_t bytes) { g_max_decompressed = bytes ? bytes : (uint64_t)1 << 36; }
uint64_t sft_get_max_decompressed(void) { return g_max_decompressed; }

/* "[3,4]" into buf (always terminated). */
static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, d ? "," : "", shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

/* ---- opening ------------------------------------------------------------------------------- */
static void free_parsed(sft_file *f)
{
    for (size_t i = 0; i < f->nt; i++) free((char *)f->t[i].name);
    free(f->t);
    free(f->by_name);
    f->by_name = NULL;
    for (size_t i = 0; i < f->nm; i++) {
        free(f->mkey[i]);
        free(f->mval[i]);
    }
    free(f->mkey);
    free(f->mval);
    f->t = NULL;
    f->mkey = f->mval = NULL;
    f->nt = f->nm = 0;
}

void sft_close(sft_file *f)
{
    if (!f) return;
    free_parsed(f);
    if (f->mapped)
        munmap(f->buf, f->len);
    else
        free(f->buf);
    free(f);
}

static int cmp_offsets(const void *a, const void *b)
{
    const sft_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name); /* names are unique: a total order, so qsort is deterministic */
}

static _Thread_local const sft_tensor *g_sort_tensors; /* qsort has no context argument */
static int cmp_by_name(const void *a, const void *b)
{
    return strcmp(g_sort_tensors[*(const size_t *)a].name, g_sort_tensors[*(const size_t *)b].name);
}

/* Parse one tensor entry into *t (name already set). */
static int parse_tensor(const char *fn, const char *name, json_t *v, sft_tensor *t, uint64_t data_len)
{
    if (!json_is_object(v))
        return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": entry is not a JSON object", fn, name);
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    const char *miss = !jd ? "dtype" : !js ? "shape" : !jo ? "data_offsets" : NULL;
    if (miss)
        return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": missing \"%s\"", fn, name, miss);
    if (!json_is_string(jd))
        return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": dtype is not a string", fn, name);
    if (!dtype_from_name(json_string_value(jd), &t->dtype))
        return st_err(NULL, STRAND_E_FORMAT,
                      "%s: tensor \"%s\": unknown dtype \"%.40s\" (known: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
                      fn, name, json_string_value(jd));
    if (!json_is_array(js))
        return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": shape is not an array", fn, name);
    size_t nd = json_array_size(js);
    if (nd > SFT_MAX_DIMS)
        return st_err(NULL, STRAND_E_UNSUPPORTED, "%s: tensor \"%s\": %zu dimensions, at most %d supported",
                      fn, name, nd, SFT_MAX_DIMS);
    t->ndim = (int)nd;
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t d = 0; d < nd; d++) {
        json_t *e = json_array_get(js, d);
        if (!json_is_integer(e))
            return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": shape entry %zu is not an integer", fn,
                          name, d);
        json_int_t x = json_integer_value(e);
        if (x < 0)
            return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": shape entry %zu is negative (%lld)", fn,
                          name, d, (long long)x);
        t->shape[d] = (int64_t)x;
        if (x != 0 && numel > UINT64_MAX / (uint64_t)x) overflow = 1;
        numel = overflow ? 0 : numel * (uint64_t)x;
    }
    /* a zero dimension makes the tensor empty whatever the others say */
    for (size_t d = 0; d < nd; d++)
        if (t->shape[d] == 0) overflow = 0, numel = 0;
    size_t es = k_dtype_sizes[t->dtype];
    char sb[256];
    if (overflow || numel > (uint64_t)SIZE_MAX / es || numel > (uint64_t)INT64_MAX / es)
        return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": shape %s %s overflows a 64-bit byte size", fn,
                      name, shape_str(sb, sizeof sb, t->ndim, t->shape), k_dtype_names[t->dtype]);
    t->numel = (size_t)numel;
    uint64_t bytes = numel * es;
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_is_integer(json_array_get(jo, 0)) ||
        !json_is_integer(json_array_get(jo, 1)))
        return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": data_offsets is not [begin, end] (two integers)",
                      fn, name);
    json_int_t b = json_integer_value(json_array_get(jo, 0)), e = json_integer_value(json_array_get(jo, 1));
    if (b < 0 || e < b)
        return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": data_offsets [%lld, %lld] are not 0 <= begin <= end",
                      fn, name, (long long)b, (long long)e);
    if ((uint64_t)e > data_len)
        return st_err(NULL, STRAND_E_FORMAT,
                      "%s: tensor \"%s\": data_offsets [%lld, %lld] run past the end of the data section (%" PRIu64
                      " bytes; file truncated?)",
                      fn, name, (long long)b, (long long)e, data_len);
    if ((uint64_t)(e - b) != bytes)
        return st_err(NULL, STRAND_E_FORMAT, "%s: tensor \"%s\": shape %s %s needs %" PRIu64
                      " bytes, data_offsets give %lld",
                      fn, name, shape_str(sb, sizeof sb, t->ndim, t->shape), k_dtype_names[t->dtype], bytes,
                      (long long)(e - b));
    t->begin = (uint64_t)b;
    t->end = (uint64_t)e;
    return 0;
}

static int parse_metadata(const char *fn, sft_file *f, json_t *m)
{
    if (!json_is_object(m))
        return st_err(NULL, STRAND_E_FORMAT, "%s: __metadata__ is not an object of strings", fn);
    size_t n = json_object_size(m);
    f->mkey = calloc(n ? n : 1, sizeof *f->mkey);
    f->mval = calloc(n ? n : 1, sizeof *f->mval);
    if (!f->mkey || !f->mval) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory reading metadata", fn);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        if (!json_is_string(v))
            return st_err(NULL, STRAND_E_FORMAT, "%s: __metadata__ value of \"%s\" is not a string", fn, k);
        f->mkey[f->nm] = strdup(k);
        f->mval[f->nm] = strdup(json_string_value(v));
        f->nm++;
        if (!f->mkey[f->nm - 1] || !f->mval[f->nm - 1])
            return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory reading metadata", fn);
    }
    return 0;
}

/* Validate f->buf/f->len and build the tables. */
static int parse(sft_file *f, const char *fn)
{
    if (f->len < 8)
        return st_err(NULL, STRAND_E_FORMAT,
                      "%s: file is %zu bytes, shorter than 8 bytes (the header length field); not a safetensors file",
                      fn, f->len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | f->buf[i];
    if (hlen > (uint64_t)(f->len - 8))
        return st_err(NULL, STRAND_E_FORMAT,
                      "%s: header length %" PRIu64 " runs past the end of the file (8 + %" PRIu64
                      " > %zu bytes; truncated or not a safetensors file)",
                      fn, hlen, hlen, f->len);
    if (hlen > SFT_MAX_HEADER)
        return st_err(NULL, STRAND_E_FORMAT, "%s: header length %" PRIu64 " exceeds the %" PRIu64 "-byte limit",
                      fn, hlen, SFT_MAX_HEADER);
    uint64_t data_len = (uint64_t)f->len - 8 - hlen;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)f->buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return st_err(NULL, STRAND_E_FORMAT, "%s: header is not valid JSON: line %d column %d: %s", fn, jerr.line,
                      jerr.column, jerr.text);
    int rc = 0;
    if (!json_is_object(root)) {
        rc = st_err(NULL, STRAND_E_FORMAT, "%s: header is not a JSON object", fn);
        goto done;
    }
    size_t n = json_object_size(root);
    f->t = calloc(n ? n : 1, sizeof *f->t);
    if (!f->t) {
        rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory (%zu header entries)", fn, n);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (!strcmp(key, "__metadata__")) {
            if ((rc = parse_metadata(fn, f, val))) goto done;
            continue;
        }
        sft_tensor *t = &f->t[f->nt];
        memset(t, 0, sizeof *t);
        if (!(t->name = strdup(key))) {
            rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", fn);
            goto done;
        }
        f->nt++;
        if ((rc = parse_tensor(fn, key, val, t, data_len))) goto done;
    }
    if (f->nt > 1) qsort(f->t, f->nt, sizeof *f->t, cmp_offsets);
    /* Overlap: sorted by begin, so each non-empty tensor must start at or after the end of the
     * previous non-empty one (empty tensors occupy no bytes). */
    const sft_tensor *prev = NULL;
    for (size_t i = 0; i < f->nt; i++) {
        sft_tensor *t = &f->t[i];
        t->data = f->buf + 8 + hlen + t->begin;
        if (t->begin == t->end) continue;
        if (prev && t->begin < prev->end) {
            rc = st_err(NULL, STRAND_E_FORMAT,
                        "%s: tensors \"%s\" (data_offsets [%" PRIu64 ", %" PRIu64 "]) and \"%s\" (data_offsets [%" PRIu64
                        ", %" PRIu64 "]) overlap",
                        fn, prev->name, prev->begin, prev->end, t->name, t->begin, t->end);
            goto done;
        }
        prev = t;
    }
    f->by_name = malloc((f->nt ? f->nt : 1) * sizeof *f->by_name);
    if (!f->by_name) {
        rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", fn);
        goto done;
    }
    for (size_t i = 0; i < f->nt; i++) f->by_name[i] = i;
    g_sort_tensors = f->t;
    if (f->nt > 1) qsort(f->by_name, f->nt, sizeof *f->by_name, cmp_by_name);
done:
    json_decref(root);
    return rc;
}

/* Take ownership of buf (malloc'd, or mapped when mapped != 0) and validate. */
static int open_owned(sft_file **out, unsigned char *buf, size_t len, int mapped, const char *fn)
{
    *out = NULL;
    sft_file *f = calloc(1, sizeof *f);
    if (!f) {
        if (mapped)
            munmap(buf, len);
        else
            free(buf);
        return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", fn);
    }
    f->buf = buf;
    f->len = len;
    f->mapped = mapped;
    int rc = parse(f, fn);
    if (rc) {
        sft_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int zst_decompress(const char *fn, const unsigned char *src, size_t srclen, unsigned char **outp,
                          size_t *outlen);

/* zstd frame magic 28 B5 2F FD. A plain safetensors file cannot start with it: as a header length
 * those bytes mean more than 4 GB of JSON, far above SFT_MAX_HEADER. */
static int is_zstd(const unsigned char *b, size_t len)
{
    return len >= 4 && b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F && b[3] == 0xFD;
}

int sft_open_buffer(sft_file **out, const void *buf, size_t len, const char *name_for_errors)
{
    const char *fn = name_for_errors ? name_for_errors : "<buffer>";
    if (!out) return st_err(NULL, STRAND_E_ARG, "%s: sft_open_buffer: out is NULL", fn);
    *out = NULL;
    if (!buf && len) return st_err(NULL, STRAND_E_ARG, "%s: sft_open_buffer: NULL buffer", fn);
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory copying %zu bytes", fn, len);
    if (len) memcpy(copy, buf, len);
    if (is_zstd(copy, len)) {
        unsigned char *dec;
        size_t dlen;
        int rc = zst_decompress(fn, copy, len, &dec, &dlen);
        free(copy);
        if (rc) return rc;
        return open_owned(out, dec, dlen, 0, fn);
    }
    return open_owned(out, copy, len, 0, fn);
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* The output buffer is full: double it (up to limit + 1 bytes) or refuse past the limit. */
static int grow_output(ZSTD_outBuffer *ob, unsigned char **dst, uint64_t limit, const char *fn)
{
    if ((uint64_t)ob->size > limit)
        return st_err(NULL, STRAND_E_RANGE,
                      "%s: decompressed data exceeds the limit of %" PRIu64 " bytes (refusing; corrupt file?)", fn,
                      limit);
    size_t ncap = ob->size * 2;
    if (ncap > limit + 1) ncap = (size_t)limit + 1;
    unsigned char *nd = realloc(*dst, ncap);
    if (!nd) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory decompressing (%zu bytes)", fn, ncap);
    *dst = nd;
    ob->dst = nd;
    ob->size = ncap;
    return 0;
}

/* Streaming decompression of src (one or more zstd frames) into a malloc'd buffer. Works when the
 * frame does not record its content size; refuses output beyond g_max_decompressed. */
static int zst_decompress(const char *fn, const unsigned char *src, size_t srclen, unsigned char **outp,
                          size_t *outlen)
{
    *outp = NULL;
    *outlen = 0;
    uint64_t limit = g_max_decompressed;
    if (limit > SIZE_MAX / 2) limit = SIZE_MAX / 2;
    size_t cap = 1 << 20;
    unsigned long long fcs = ZSTD_getFrameContentSize(src, srclen);
    if (fcs == ZSTD_CONTENTSIZE_ERROR)
        return st_err(NULL, STRAND_E_FORMAT, "%s: not a zstd stream (bad magic, bad frame header or too short)", fn);
    if (fcs != ZSTD_CONTENTSIZE_UNKNOWN) {
        if (fcs > limit)
            return st_err(NULL, STRAND_E_RANGE,
                          "%s: zstd frame declares %llu decompressed bytes, above the limit of %" PRIu64
                          " (refusing; corrupt file?)",
                          fn, fcs, limit);
        /* trust the declared size when the ratio is plausible (model weights compress < 10x);
         * otherwise grow as data actually arrives, so a tiny file cannot make us allocate GBs */
        if (srclen < (SIZE_MAX >> 12) && fcs <= (unsigned long long)srclen * 1024 + (16u << 20))
            cap = (size_t)fcs + 1; /* +1: the final ZSTD_decompressStream call needs room to report the end */
        else
            cap = 16u << 20;
    } else if (srclen < (SIZE_MAX >> 4)) {
        size_t guess = srclen * 4;
        if (guess > cap) cap = guess;
        if (cap > limit + 1) cap = (size_t)limit + 1;
    }
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    unsigned char *dst = malloc(cap);
    /* accept frames made with `zstd --long` (windows up to 1 GiB; the library default is 128 MiB) */
    if (dctx) ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 30);
    if (!dctx || !dst) {
        ZSTD_freeDCtx(dctx);
        free(dst);
        return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory decompressing (%zu bytes)", fn, cap);
    }
    ZSTD_inBuffer in = {src, srclen, 0};
    ZSTD_outBuffer ob = {dst, cap, 0};
    size_t last = 1;
    int rc = 0;
    while (in.pos < in.size) {
        if (ob.pos == ob.size && (rc = grow_output(&ob, &dst, limit, fn)) < 0) goto fail;
        size_t prev_in = in.pos, prev_out = ob.pos;
        last = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(last)) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: zstd: %s (at compressed byte %zu)", fn, ZSTD_getErrorName(last),
                        in.pos);
            goto fail;
        }
        if (in.pos == prev_in && ob.pos == prev_out && ob.pos < ob.size) break; /* no progress */
    }
    /* flush whatever is still buffered inside the decoder */
    while (last != 0) {
        if (ob.pos == ob.size && (rc = grow_output(&ob, &dst, limit, fn)) < 0) goto fail;
        size_t prev_out = ob.pos;
        last = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(last)) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: zstd: %s", fn, ZSTD_getErrorName(last));
            goto fail;
        }
        if (last != 0 && ob.pos == prev_out && ob.pos < ob.size) {
            rc = st_err(NULL, STRAND_E_FORMAT, "%s: zstd stream is truncated (%zu compressed bytes)", fn, srclen);
            goto fail;
        }
    }
    if ((uint64_t)ob.pos > limit) {
        rc = st_err(NULL, STRAND_E_RANGE,
                    "%s: decompressed data exceeds the limit of %" PRIu64 " bytes (refusing; corrupt file?)", fn, limit);
        goto fail;
    }
    ZSTD_freeDCtx(dctx);
    *outp = dst;
    *outlen = ob.pos;
    return 0;
fail:
    ZSTD_freeDCtx(dctx);
    free(dst);
    return rc;
}

int sft_open(sft_file **out, const char *path)
{
    if (!out || !path) return st_err(NULL, STRAND_E_ARG, "sft_open: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return st_err(NULL, STRAND_E_IO, "cannot stat \"%s\": %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return st_err(NULL, STRAND_E_IO, "\"%s\" is not a regular file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return st_err(NULL, STRAND_E_RANGE, "%s: file too large for this machine", path);
    }
    size_t len = (size_t)st.st_size;
    unsigned char *map = NULL;
    if (len > 0) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return st_err(NULL, STRAND_E_IO, "cannot map \"%s\": %s", path, strerror(e));
        }
        map = m;
    }
    close(fd);
    if (ends_with(path, ".zst") || is_zstd(map, len)) {
        if (len == 0) return st_err(NULL, STRAND_E_FORMAT, "%s: empty file (0 bytes), not a zstd stream", path);
        unsigned char *dec;
        size_t dlen;
        int rc = zst_decompress(path, map, len, &dec, &dlen);
        munmap(map, len);
        if (rc) return rc;
        return open_owned(out, dec, dlen, 0, path);
    }
    if (len == 0) {
        unsigned char *empty = malloc(1);
        if (!empty) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
        return open_owned(out, empty, 0, 0, path);
    }
    return open_owned(out, map, len, 1, path);
}

/* ---- queries ------------------------------------------------------------------------------- */
size_t sft_count(const sft_file *f) { return f ? f->nt : 0; }
const sft_tensor *sft_get(const sft_file *f, size_t i) { return f && i < f->nt ? &f->t[i] : NULL; }

const sft_tensor *sft_find(const sft_file *f, const char *name)
{
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[f->by_name[mid]].name, name);
        if (c == 0) return &f->t[f->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t sft_meta_count(const sft_file *f) { return f ? f->nm : 0; }
const char *sft_meta_key(const sft_file *f, size_t i) { return f && i < f->nm ? f->mkey[i] : NULL; }

const char *sft_meta_get(const sft_file *f, const char *key)
{
    if (!f || !key) return NULL;
    for (size_t i = 0; i < f->nm; i++)
        if (!strcmp(f->mkey[i], key)) return f->mval[i];
    return NULL;
}

/* ---- conversions --------------------------------------------------------------------------- */
/* IEEE binary16 -> binary32, exact for every input (normals, subnormals, zeros, inf, NaN). */
float sft_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf, or NaN keeping its payload */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13); /* rebias 15 -> 127 */
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal: value = man * 2^-24; normalise */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float sft_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* double -> float with IEEE round-to-nearest, defined for out-of-range values (-> +-inf). */
static float f64_to_f32(double d)
{
    if (d != d) return (float)d;
    if (fabs(d) >= 0x1.ffffffp127) return d > 0 ? INFINITY : -INFINITY;
    return (float)d;
}

static const sft_tensor *find_checked(const sft_file *f, const char *name, size_t n, const char *fnname)
{
    if (!f || !name) {
        st_err(NULL, STRAND_E_ARG, "%s: NULL argument", fnname);
        return NULL;
    }
    const sft_tensor *t = sft_find(f, name);
    if (!t) {
        st_err(NULL, STRAND_E_NOTFOUND, "tensor \"%s\" not found (%zu tensors in the file)", name, f->nt);
        return NULL;
    }
    if (t->numel != n) {
        char sb[256];
        st_err(NULL, STRAND_E_SHAPE, "tensor \"%s\" has shape %s (%zu elements) but the caller expects %zu", name,
               shape_str(sb, sizeof sb, t->ndim, t->shape), t->numel, n);
        return NULL;
    }
    return t;
}

int sft_read_f32(const sft_file *f, const char *name, float *dst, size_t n)
{
    const sft_tensor *t = find_checked(f, name, n, "sft_read_f32");
    if (!t) return strand_last_error_code();
    if (n && !dst) return st_err(NULL, STRAND_E_ARG, "sft_read_f32: NULL destination for \"%s\"", name);
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case SFT_F32:
        if (n) memcpy(dst, p, n * 4);
        return 0;
    case SFT_F16:
    case SFT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            dst[i] = t->dtype == SFT_F16 ? sft_f16_to_f32(h) : sft_bf16_to_f32(h);
        }
        return 0;
    case SFT_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = f64_to_f32(d);
        }
        return 0;
    default:
        return st_err(NULL, STRAND_E_UNSUPPORTED,
                      "tensor \"%s\" is %s; sft_read_f32 reads F32/F16/BF16/F64 (use sft_read_i64 for integers)",
                      name, sft_dtype_name(t->dtype));
    }
}

int sft_read_i64(const sft_file *f, const char *name, int64_t *dst, size_t n)
{
    const sft_tensor *t = find_checked(f, name, n, "sft_read_i64");
    if (!t) return strand_last_error_code();
    if (n && !dst) return st_err(NULL, STRAND_E_ARG, "sft_read_i64: NULL destination for \"%s\"", name);
    if (t->dtype == SFT_F32 || t->dtype == SFT_F16 || t->dtype == SFT_BF16 || t->dtype == SFT_F64)
        return st_err(NULL, STRAND_E_UNSUPPORTED,
                      "tensor \"%s\" is %s; sft_read_i64 reads I64/I32/I16/I8/U8/BOOL (use sft_read_f32 for floats)",
                      name, sft_dtype_name(t->dtype));
    const unsigned char *p = t->data;
    for (size_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case SFT_I64: memcpy(&dst[i], p + 8 * i, 8); break;
        case SFT_I32: {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            dst[i] = v;
            break;
        }
        case SFT_I16: {
            int16_t v;
            memcpy(&v, p + 2 * i, 2);
            dst[i] = v;
            break;
        }
        case SFT_I8: dst[i] = (int8_t)p[i]; break;
        case SFT_U8: dst[i] = p[i]; break;
        default: dst[i] = p[i] != 0; break; /* BOOL */
        }
    }
    return 0;
}

/* ---- writer -------------------------------------------------------------------------------- */
typedef struct wtensor {
    char *name;
    sft_dtype dtype;
    int ndim;
    int64_t shape[SFT_MAX_DIMS];
    size_t bytes;
    void *data;
} wtensor;

struct sft_writer {
    wtensor *t;
    size_t nt, cap;
    char **mkey, **mval;
    size_t nm, mcap;
};

sft_writer *sft_writer_create(void) { return calloc(1, sizeof(sft_writer)); }

void sft_writer_free(sft_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->nt; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (size_t i = 0; i < w->nm; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->t);
    free(w->mkey);
    free(w->mval);
    free(w);
}

/* Valid UTF-8 (what JSON readers require)? */
static int utf8_valid(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (n < 0) return 0;
        uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
        for (int k = 1; k <= n; k++) {
            if ((s[k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += n + 1;
    }
    return 1;
}

int sft_writer_add(sft_writer *w, const char *name, sft_dtype dt, int ndim, const int64_t *shape,
                   const void *data)
{
    if (!w || !name) return st_err(NULL, STRAND_E_ARG, "sft_writer_add: NULL argument");
    if (!name[0] || !strcmp(name, "__metadata__") || !utf8_valid((const unsigned char *)name))
        return st_err(NULL, STRAND_E_ARG, "sft_writer_add: invalid tensor name \"%s\"", name);
    if ((int)dt < 0 || (int)dt >= SFT_NDTYPES)
        return st_err(NULL, STRAND_E_ARG, "sft_writer_add: tensor \"%s\": invalid dtype %d", name, (int)dt);
    if (ndim < 0 || ndim > SFT_MAX_DIMS || (ndim > 0 && !shape))
        return st_err(NULL, STRAND_E_ARG, "sft_writer_add: tensor \"%s\": ndim %d not in 0..%d", name, ndim,
                      SFT_MAX_DIMS);
    for (size_t i = 0; i < w->nt; i++)
        if (!strcmp(w->t[i].name, name))
            return st_err(NULL, STRAND_E_ARG, "sft_writer_add: tensor \"%s\" added twice", name);
    size_t es = k_dtype_sizes[dt], numel = 1;
    int zero = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return st_err(NULL, STRAND_E_ARG, "sft_writer_add: tensor \"%s\": negative dimension %" PRId64, name,
                          shape[d]);
        if (shape[d] == 0) zero = 1;
    }
    for (int d = 0; d < ndim && !zero; d++) {
        if ((uint64_t)shape[d] > SIZE_MAX / es / numel)
            return st_err(NULL, STRAND_E_ARG, "sft_writer_add: tensor \"%s\": size overflows", name);
        numel *= (size_t)shape[d];
    }
    if (zero) numel = 0;
    size_t bytes = numel * es;
    if (bytes && !data) return st_err(NULL, STRAND_E_ARG, "sft_writer_add: tensor \"%s\": NULL data", name);
    if (w->nt == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 16;
        wtensor *nt = realloc(w->t, nc * sizeof *nt);
        if (!nt) return st_err(NULL, STRAND_E_NOMEM, "sft_writer_add: out of memory");
        w->t = nt;
        w->cap = nc;
    }
    wtensor *t = &w->t[w->nt];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = malloc(bytes ? bytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return st_err(NULL, STRAND_E_NOMEM, "sft_writer_add: tensor \"%s\": out of memory (%zu bytes)", name, bytes);
    }
    if (bytes) memcpy(t->data, data, bytes);
    t->dtype = dt;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->bytes = bytes;
    w->nt++;
    return 0;
}

int sft_writer_meta(sft_writer *w, const char *key, const char *value)
{
    if (!w || !key || !value) return st_err(NULL, STRAND_E_ARG, "sft_writer_meta: NULL argument");
    if (!utf8_valid((const unsigned char *)key) || !utf8_valid((const unsigned char *)value))
        return st_err(NULL, STRAND_E_ARG, "sft_writer_meta: key \"%s\" or its value is not valid UTF-8", key);
    char *v = strdup(value);
    if (!v) return st_err(NULL, STRAND_E_NOMEM, "sft_writer_meta: out of memory");
    for (size_t i = 0; i < w->nm; i++)
        if (!strcmp(w->mkey[i], key)) { /* setting a key again replaces its value */
            free(w->mval[i]);
            w->mval[i] = v;
            return 0;
        }
    if (w->nm == w->mcap) {
        size_t nc = w->mcap ? w->mcap * 2 : 8;
        char **nk = realloc(w->mkey, nc * sizeof *nk);
        if (nk) w->mkey = nk;
        char **nv = nk ? realloc(w->mval, nc * sizeof *nv) : NULL;
        if (nv) w->mval = nv;
        if (!nk || !nv) {
            free(v);
            return st_err(NULL, STRAND_E_NOMEM, "sft_writer_meta: out of memory");
        }
        w->mcap = nc;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return st_err(NULL, STRAND_E_NOMEM, "sft_writer_meta: out of memory");
    }
    w->mkey[w->nm] = k;
    w->mval[w->nm] = v;
    w->nm++;
    return 0;
}

/* A growable string for the JSON header. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* A JSON string exactly as Python's json.dumps writes it (ensure_ascii=True), so our headers are
 * byte-identical to tests/reference/fixture.py's for the same tensors. Input is valid UTF-8. */
static void sb_json_string(sbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    char tmp[16];
    sb_put(b, "\"", 1);
    while (*s) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            switch (c) {
            case '"': sb_put(b, "\\\"", 2); break;
            case '\\': sb_put(b, "\\\\", 2); break;
            case '\n': sb_put(b, "\\n", 2); break;
            case '\r': sb_put(b, "\\r", 2); break;
            case '\t': sb_put(b, "\\t", 2); break;
            case '\b': sb_put(b, "\\b", 2); break;
            case '\f': sb_put(b, "\\f", 2); break;
            default:
                if (c < 0x20) {
                    snprintf(tmp, sizeof tmp, "\\u%04x", c);
                    sb_str(b, tmp);
                } else {
                    char ch = (char)c;
                    sb_put(b, &ch, 1);
                }
            }
            continue;
        }
        int n = (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : 3;
        uint32_t cp = n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
        for (int k = 1; k <= n; k++) cp = cp << 6 | (s[k] & 0x3f);
        s += n + 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
        } else {
            snprintf(tmp, sizeof tmp, "\\u%04x", cp);
        }
        sb_str(b, tmp);
    }
    sb_put(b, "\"", 1);
}

/* The full header: 8-byte length + JSON padded with spaces to a multiple of 8. */
static int build_header(const sft_writer *w, sbuf *b, uint64_t *data_total)
{
    char tmp[64];
    sb_put(b, "\0\0\0\0\0\0\0\0", 8);
    sb_put(b, "{", 1);
    uint64_t off = 0;
    for (size_t i = 0; i < w->nt; i++) {
        const wtensor *t = &w->t[i];
        if (i) sb_put(b, ",", 1);
        sb_json_string(b, t->name);
        sb_str(b, ":{\"dtype\":\"");
        sb_str(b, k_dtype_names[t->dtype]);
        sb_str(b, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            snprintf(tmp, sizeof tmp, "%s%" PRId64, d ? "," : "", t->shape[d]);
            sb_str(b, tmp);
        }
        snprintf(tmp, sizeof tmp, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + t->bytes);
        sb_str(b, tmp);
        off += t->bytes;
    }
    if (w->nm) {
        if (w->nt) sb_put(b, ",", 1);
        sb_str(b, "\"__metadata__\":{");
        for (size_t i = 0; i < w->nm; i++) {
            if (i) sb_put(b, ",", 1);
            sb_json_string(b, w->mkey[i]);
            sb_put(b, ":", 1);
            sb_json_string(b, w->mval[i]);
        }
        sb_put(b, "}", 1);
    }
    sb_put(b, "}", 1);
    while (!b->oom && (b->n - 8) % 8) sb_put(b, " ", 1);
    if (b->oom) return st_err(NULL, STRAND_E_NOMEM, "sft_writer_write: out of memory building the header");
    uint64_t hl = b->n - 8;
    for (int i = 0; i < 8; i++) b->p[i] = (char)(hl >> (8 * i) & 0xff);
    *data_total = off;
    return 0;
}

static int write_plain(FILE *fp, const sbuf *hdr, const sft_writer *w)
{
    if (fwrite(hdr->p, 1, hdr->n, fp) != hdr->n) return -1;
    for (size_t i = 0; i < w->nt; i++)
        if (w->t[i].bytes && fwrite(w->t[i].data, 1, w->t[i].bytes, fp) != w->t[i].bytes) return -1;
    return 0;
}

/* Feed one chunk through the compressor (end != 0: finish the frame), writing output to fp. */
static int zst_feed(ZSTD_CCtx *cc, FILE *fp, unsigned char *obuf, size_t ocap, const void *src, size_t n, int end,
                    const char *path)
{
    ZSTD_inBuffer in = {src, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {obuf, ocap, 0};
        size_t r = ZSTD_compressStream2(cc, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(r)) return st_err(NULL, STRAND_E_INTERNAL, "%s: zstd: %s", path, ZSTD_getErrorName(r));
        if (out.pos && fwrite(obuf, 1, out.pos, fp) != out.pos)
            return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", path, strerror(errno));
        if (end ? r == 0 : in.pos == in.size) return 0;
    }
}

static int write_zst(FILE *fp, const sbuf *hdr, const sft_writer *w, uint64_t total, const char *path)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t ocap = ZSTD_CStreamOutSize();
    unsigned char *obuf = malloc(ocap);
    int rc = 0;
    if (!cc || !obuf) {
        rc = st_err(NULL, STRAND_E_NOMEM, "%s: out of memory (zstd)", path);
        goto done;
    }
    size_t e1 = ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
    size_t e2 = ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, 0); /* single-threaded (fails harmlessly without MT) */
    size_t e3 = ZSTD_CCtx_setPledgedSrcSize(cc, (unsigned long long)(hdr->n + total));
    if (ZSTD_isError(e1) || ZSTD_isError(e2) || ZSTD_isError(e3)) {
        rc = st_err(NULL, STRAND_E_INTERNAL, "%s: zstd: cannot set parameters", path);
        goto done;
    }
    if ((rc = zst_feed(cc, fp, obuf, ocap, hdr->p, hdr->n, 0, path))) goto done;
    for (size_t i = 0; i < w->nt; i++)
        if (w->t[i].bytes && (rc = zst_feed(cc, fp, obuf, ocap, w->t[i].data, w->t[i].bytes, 0, path))) goto done;
    rc = zst_feed(cc, fp, obuf, ocap, NULL, 0, 1, path);
done:
    ZSTD_freeCCtx(cc);
    free(obuf);
    return rc;
}

int sft_writer_write(sft_writer *w, const char *path)
{
    if (!w || !path) return st_err(NULL, STRAND_E_ARG, "sft_writer_write: NULL argument");
    sbuf hdr = {0};
    uint64_t total = 0;
    int rc = build_header(w, &hdr, &total);
    if (rc) {
        free(hdr.p);
        return rc;
    }
    st_atomic_file af;
    if ((rc = st_atomic_open(&af, path, 1))) {
        free(hdr.p);
        return rc;
    }
    if (ends_with(path, ".zst")) {
        rc = write_zst(af.fp, &hdr, w, total, path);
    } else if (write_plain(af.fp, &hdr, w) != 0) {
        rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", path, strerror(errno));
    }
    free(hdr.p);
    if (rc) {
        st_atomic_abort(&af);
        return rc;
    }
    return st_atomic_commit(&af);
}
