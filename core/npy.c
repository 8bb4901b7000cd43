/* numpy .npy reader/writer (see npy.h). The header is a small Python dict literal; we parse it
 * with a strict little scanner (strings, True/False, tuples of non-negative integers). */
#include "core/npy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"

#define NPY_MAX_HEADER (1u << 20)

static const char *const k_names[] = {"float32", "float64", "int64", "int32"};
static const char *const k_descr[] = {"<f4", "<f8", "<i8", "<i4"};
static const size_t k_sizes[] = {4, 8, 8, 4};

size_t npy_dtype_size(npy_dtype dt) { return (unsigned)dt < 4 ? k_sizes[dt] : 0; }
const char *npy_dtype_name(npy_dtype dt) { return (unsigned)dt < 4 ? k_names[dt] : "?"; }

void npy_free(npy_array *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- header scanner -------------------------------------------------------------------------- */
typedef struct scan {
    const char *p, *end, *name, *start;
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int expect(scan *s, char c)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...", no escapes needed for the keys/descr numpy writes). */
static int scan_string(scan *s, char *buf, size_t cap)
{
    skip_ws(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"')) return 0;
    char q = *s->p++;
    size_t k = 0;
    while (s->p < s->end && *s->p != q) {
        if (*s->p == '\\' || k + 1 >= cap) return 0;
        buf[k++] = *s->p++;
    }
    if (s->p >= s->end) return 0;
    s->p++;
    buf[k] = '\0';
    return 1;
}

static int scan_ident(scan *s, char *buf, size_t cap)
{
    skip_ws(s);
    size_t k = 0;
    while (s->p < s->end && isalpha((unsigned char)*s->p)) {
        if (k + 1 >= cap) return 0;
        buf[k++] = *s->p++;
    }
    buf[k] = '\0';
    return k > 0;
}

static int parse_header(scan *s, char *descr, size_t dcap, int *fortran, int *ndim, int64_t *shape)
{
    const char *nm = s->name;
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!expect(s, '{')) return st_err(NULL, STRAND_E_FORMAT, "%s: npy header is not a dict (no '{')", nm);
    for (;;) {
        skip_ws(s);
        if (expect(s, '}')) break;
        char key[32];
        if (!scan_string(s, key, sizeof key))
            return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: expected a quoted key at header byte %td", nm,
                          s->p - s->start);
        if (!expect(s, ':')) return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: no ':' after key '%s'", nm, key);
        if (!strcmp(key, "descr")) {
            if (have_descr) return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: duplicate key 'descr'", nm);
            if (!scan_string(s, descr, dcap))
                return st_err(NULL, STRAND_E_UNSUPPORTED,
                              "%s: npy header: 'descr' is not a simple dtype string (structured arrays are not supported)",
                              nm);
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            char v[8];
            if (have_order) return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: duplicate key 'fortran_order'", nm);
            if (!scan_ident(s, v, sizeof v) || (strcmp(v, "True") && strcmp(v, "False")))
                return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: 'fortran_order' must be True or False", nm);
            *fortran = !strcmp(v, "True");
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (have_shape) return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: duplicate key 'shape'", nm);
            if (!expect(s, '(')) return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: 'shape' is not a tuple", nm);
            *ndim = 0;
            for (;;) {
                skip_ws(s);
                if (expect(s, ')')) break;
                if (s->p >= s->end || !isdigit((unsigned char)*s->p))
                    return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: bad 'shape' entry (expected a non-negative integer)",
                                  nm);
                int64_t v = 0;
                while (s->p < s->end && isdigit((unsigned char)*s->p)) {
                    if (v > (INT64_MAX - 9) / 10)
                        return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: 'shape' entry too large", nm);
                    v = v * 10 + (*s->p++ - '0');
                }
                if (s->p < s->end && *s->p == 'L') s->p++; /* Python 2 longs */
                if (*ndim >= NPY_MAX_DIMS)
                    return st_err(NULL, STRAND_E_UNSUPPORTED, "%s: npy header: more than %d dimensions", nm, NPY_MAX_DIMS);
                shape[(*ndim)++] = v;
                skip_ws(s);
                if (expect(s, ',')) continue;
                if (expect(s, ')')) break;
                return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: bad 'shape' tuple", nm);
            }
            have_shape = 1;
        } else {
            return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: unexpected key '%s'", nm, key);
        }
        if (expect(s, ',')) continue;
        if (expect(s, '}')) break;
        return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: expected ',' or '}' after key '%s'", nm, key);
    }
    skip_ws(s);
    if (s->p != s->end) return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: trailing characters after the dict", nm);
    if (!have_descr || !have_order || !have_shape)
        return st_err(NULL, STRAND_E_FORMAT, "%s: npy header: missing key '%s'", nm,
                      !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return 0;
}

int npy_read_buffer(const void *buf, size_t len, const char *name, npy_array *out)
{
    const unsigned char *b = buf;
    const char *nm = name ? name : "<buffer>";
    if (!out) return st_err(NULL, STRAND_E_ARG, "npy_read: NULL output");
    memset(out, 0, sizeof *out);
    if (!b && len) return st_err(NULL, STRAND_E_ARG, "npy_read: NULL buffer");
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return st_err(NULL, STRAND_E_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", nm);
    int major = b[6], minor = b[7];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return st_err(NULL, STRAND_E_FORMAT, "%s: truncated .npy header", nm);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else {
        return st_err(NULL, STRAND_E_UNSUPPORTED, "%s: .npy format version %d.%d (supported: 1.0, 2.0, 3.0)", nm,
                      major, minor);
    }
    if (hlen > NPY_MAX_HEADER)
        return st_err(NULL, STRAND_E_FORMAT, "%s: .npy header length %zu is implausible (> %u)", nm, hlen,
                      NPY_MAX_HEADER);
    if (hlen > len - hstart)
        return st_err(NULL, STRAND_E_FORMAT, "%s: truncated .npy header (%zu bytes declared, %zu present)", nm, hlen,
                      len - hstart);
    scan s = {(const char *)b + hstart, (const char *)b + hstart + hlen, nm, (const char *)b + hstart};
    char descr[32];
    int fortran = 0, ndim = 0;
    int64_t shape[NPY_MAX_DIMS];
    int rc = parse_header(&s, descr, sizeof descr, &fortran, &ndim, shape);
    if (rc < 0) return rc;
    int dt = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(descr, k_descr[i])) dt = i;
    if (dt < 0 && descr[0] == '>' && (!strcmp(descr + 1, "f4") || !strcmp(descr + 1, "f8") ||
                                      !strcmp(descr + 1, "i8") || !strcmp(descr + 1, "i4")))
        return st_err(NULL, STRAND_E_UNSUPPORTED,
                      "%s: big-endian data ('%s') is not supported; convert with a.astype(a.dtype.newbyteorder('<'))",
                      nm, descr);
    if (dt < 0)
        return st_err(NULL, STRAND_E_UNSUPPORTED,
                      "%s: dtype '%s' is not supported (float32 '<f4', float64 '<f8', int64 '<i8', int32 '<i4')", nm,
                      descr);
    if (fortran)
        return st_err(NULL, STRAND_E_UNSUPPORTED,
                      "%s: Fortran-order array is not supported; save np.ascontiguousarray(a) instead", nm);
    size_t numel = 1, es = k_sizes[dt];
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != 0 && numel > (SIZE_MAX / es) / (uint64_t)shape[d])
            return st_err(NULL, STRAND_E_FORMAT, "%s: shape too large", nm);
        numel *= (size_t)shape[d];
    }
    size_t need = numel * es, have = len - hstart - hlen;
    if (have != need)
        return st_err(NULL, STRAND_E_FORMAT, "%s: data section has %zu bytes but shape x %s needs %zu (%s)", nm, have,
                      k_names[dt], need, have < need ? "truncated file" : "trailing bytes");
    void *data = NULL;
    size_t alloc = need ? (need + 63) / 64 * 64 : 64;
    if (posix_memalign(&data, 64, alloc) != 0) return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory (%zu bytes)", nm, need);
    if (need) memcpy(data, b + hstart + hlen, need);
    out->dtype = (npy_dtype)dt;
    out->ndim = ndim;
    for (int d = 0; d < ndim; d++) out->shape[d] = shape[d];
    out->numel = numel;
    out->data = data;
    return 0;
}

int npy_read(const char *path, npy_array *out)
{
    if (!path || !out) return st_err(NULL, STRAND_E_ARG, "npy_read: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 65536;
            unsigned char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(fp);
                return st_err(NULL, STRAND_E_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = nc;
        }
        size_t r = fread(buf + len, 1, cap - len, fp);
        len += r;
        if (r == 0) break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        free(buf);
        return st_err(NULL, STRAND_E_IO, "cannot read \"%s\"", path);
    }
    int rc = npy_read_buffer(buf, len, path, out);
    free(buf);
    return rc;
}

int npy_write(const char *path, npy_dtype dt, int ndim, const int64_t *shape, const void *data)
{
    if (!path || (unsigned)dt >= 4 || ndim < 0 || ndim > NPY_MAX_DIMS || (ndim && !shape))
        return st_err(NULL, STRAND_E_ARG, "npy_write: invalid arguments for \"%s\"", path ? path : "(null)");
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return st_err(NULL, STRAND_E_SHAPE, "npy_write: \"%s\": negative dimension", path);
        numel *= (size_t)shape[d];
    }
    if (numel && !data) return st_err(NULL, STRAND_E_ARG, "npy_write: \"%s\": NULL data", path);
    /* the header exactly as numpy writes it: "(3,)" for 1-D, "(2, 3)" otherwise, "()" for 0-D */
    char tup[NPY_MAX_DIMS * 24 + 8], dict[NPY_MAX_DIMS * 24 + 96];
    size_t t = 0;
    for (int d = 0; d < ndim; d++)
        t += (size_t)snprintf(tup + t, sizeof tup - t, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (ndim == 1) t += (size_t)snprintf(tup + t, sizeof tup - t, ",");
    tup[t] = '\0';
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", k_descr[dt], tup);
    int major = 1;
    size_t pre = 10, total = pre + (size_t)k + 1;
    size_t padded = (total + 63) / 64 * 64;
    if (padded - pre > 65535) {
        major = 2;
        pre = 12;
        total = pre + (size_t)k + 1;
        padded = (total + 63) / 64 * 64;
    }
    size_t hlen = padded - pre;
    unsigned char head[1024];
    memcpy(head, "\x93NUMPY", 6);
    head[6] = (unsigned char)major;
    head[7] = 0;
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8 & 0xff);
    if (major == 2) {
        head[10] = (unsigned char)(hlen >> 16 & 0xff);
        head[11] = (unsigned char)(hlen >> 24 & 0xff);
    }
    memcpy(head + pre, dict, (size_t)k);
    memset(head + pre + k, ' ', hlen - (size_t)k - 1);
    head[padded - 1] = '\n';
    st_atomic_file af;
    int rc = st_atomic_open(&af, path, 1);
    if (rc < 0) return rc;
    size_t bytes = numel * k_sizes[dt];
    if (fwrite(head, 1, padded, af.fp) != padded || (bytes && fwrite(data, 1, bytes, af.fp) != bytes)) {
        st_atomic_abort(&af);
        return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", path, strerror(errno));
    }
    return st_atomic_commit(&af);
}

int npy_to_f32(const npy_array *a, float *dst)
{
    switch (a->dtype) {
    case NPY_F32: memcpy(dst, a->data, a->numel * 4); return 0;
    case NPY_F64:
        for (size_t i = 0; i < a->numel; i++) dst[i] = (float)((const double *)a->data)[i];
        return 0;
    case NPY_I64:
        for (size_t i = 0; i < a->numel; i++) dst[i] = (float)((const int64_t *)a->data)[i];
        return 0;
    case NPY_I32:
        for (size_t i = 0; i < a->numel; i++) dst[i] = (float)((const int32_t *)a->data)[i];
        return 0;
    }
    return st_err(NULL, STRAND_E_INTERNAL, "npy_to_f32: bad dtype");
}

int npy_to_i32(const npy_array *a, int32_t *dst, int64_t lo, int64_t hi, const char *name)
{
    const char *nm = name ? name : "array";
    if (a->dtype != NPY_I64 && a->dtype != NPY_I32)
        return st_err(NULL, STRAND_E_UNSUPPORTED, "%s: expected an integer array (int64 or int32), got %s", nm,
                      k_names[a->dtype]);
    if (lo > hi) lo = INT32_MIN, hi = INT32_MAX;
    for (size_t i = 0; i < a->numel; i++) {
        int64_t v = a->dtype == NPY_I64 ? ((const int64_t *)a->data)[i] : ((const int32_t *)a->data)[i];
        if (v < lo || v > hi || v < INT32_MIN || v > INT32_MAX)
            return st_err(NULL, STRAND_E_RANGE, "%s: element %zu is %" PRId64 ", outside [%" PRId64 ", %" PRId64 "]",
                          nm, i, v, lo, hi);
        dst[i] = (int32_t)v;
    }
    return 0;
}
